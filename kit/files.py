"""Writing and reading the kit's own cache files safely: never a half-written file under the real name,
and a file that cannot be read back is reported (and removed) so that its owner rebuilds it."""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def save_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    """``np.savez`` to a temporary name in the same folder, then an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def load_npz(path: str | Path, *names: str) -> dict[str, np.ndarray] | None:
    """The named arrays of an ``.npz`` file, or None when it is missing; a corrupt file is removed (with a
    warning) and None returned, so the caller computes it again."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return {name: data[name] for name in names}
    except READ_ERRORS as error:
        log.warning("removed the unreadable cache file %s (%s); it will be rebuilt", path, error)
        path.unlink(missing_ok=True)
        return None


__all__ = ["READ_ERRORS", "load_npz", "save_npz"]
