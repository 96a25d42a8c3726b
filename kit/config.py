"""Where the kit keeps things, read from the environment each time (no module state).

- ``KIT_HOME``: the cache for fetched/trained models and processed data (default ``~/.cache/shopkit``).
- ``KIT_DATA``: a folder of datasets that wins over every other location.
- ``KIT_OFFLINE``: when set to anything but ``0``/``false``, nothing is ever downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def kit_home() -> Path:
    """The kit's cache folder (created on demand by whoever writes into it)."""
    return Path(os.environ.get("KIT_HOME") or Path.home() / ".cache" / "shopkit").expanduser()


def models_dir() -> Path:
    return kit_home() / "models"


def data_cache_dir() -> Path:
    return kit_home() / "data"


def is_offline() -> bool:
    """True when downloads are forbidden (``KIT_OFFLINE`` set to a true-ish value)."""
    value = os.environ.get("KIT_OFFLINE", "").strip().lower()
    return value not in ("", "0", "false", "no")


def user_data_dir() -> Path | None:
    value = os.environ.get("KIT_DATA")
    return Path(value).expanduser() if value else None


def shared_data_dirs() -> list[Path]:
    """The workplace mirror ``../shared/data``, seen from the project root and from the cwd."""
    candidates = [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    unique: list[Path] = []
    for path in candidates:
        resolved = path.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique
