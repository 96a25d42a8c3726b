"""Writing and reading the kit's own cache files safely: never a half-written file under the real name,
and a file that cannot be read back is reported (and removed) so that its owner rebuilds it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


@contextmanager
def written_atomically(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block succeeds, deleted
    when it fails. Readers never see a half-written file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def building(path: str | Path) -> Iterator[None]:
    """Hold a lock on ``path`` while it is being built, so two processes sharing one ``$KIT_HOME`` (two notebooks,
    or the test suite's workers) build it once: the second waits, then finds it built. The caller checks again
    whether ``path`` exists once inside the block. The lock files live in ``$KIT_HOME/locks``, never beside what
    they guard, so a cache folder holds only what was built into it."""
    from filelock import FileLock

    from kit.config import kit_home

    path = Path(path).resolve()
    key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    locks = kit_home() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(locks / f"{path.name}-{key}.lock"):
        yield


def save_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    """``np.savez`` through :func:`written_atomically`."""
    with written_atomically(path) as tmp, open(tmp, "wb") as out:
        np.savez(out, **arrays)
    return Path(path)


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


__all__ = ["READ_ERRORS", "building", "load_npz", "save_npz", "written_atomically"]


Record = TypeVar("Record")


def read_jsonl(path: str | Path, record: Callable[[dict[str, Any]], Record], what: str) -> list[Record]:
    """Each non-blank line of a JSON-lines file made into a record by ``record``. A line that is not JSON or
    lacks a field raises BadInput naming the file, the line number and ``what`` a line should be."""
    from kit.errors import BadInput

    records = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(record(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BadInput(f"{path} line {number} is not {what}: {error}") from None
    return records
