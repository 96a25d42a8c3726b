"""A disk cache of embeddings keyed by (model name, content hash), safe to kill at any moment.

Vectors are stored in shards: each finished batch becomes one ``.npz`` file, written to a temporary
name and renamed into place, so an interrupted run leaves only whole shards and the next run embeds
only what is missing (or what changed: the key is the sha256 of the image bytes or the text).
A shard that cannot be read back (truncated, zero bytes, keys and vectors of different lengths) is
removed with a warning and its vectors are computed again; temporary files left by a killed run are
cleaned up once they are an hour old (a younger one may belong to a run still writing).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from kit.config import kit_home
from kit.files import load_npz, save_npz
from kit.errors import BadInput

log = logging.getLogger(__name__)
STALE_TMP_SECONDS = 3600


def content_key(content: bytes | str) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


def file_key(path: Path) -> str:
    return content_key(Path(path).read_bytes())


class EmbeddingCache:
    """All vectors one model produced, by content key. ``root`` defaults to ``$KIT_HOME/embeddings``."""

    def __init__(self, model_name: str, root: Path | None = None, dtype: type = np.float32) -> None:
        """``dtype``: how vectors are stored (float16 halves the disk and memory of large activations)."""
        safe = model_name.replace("/", "__").replace(":", "_")
        self.folder = (root or kit_home() / "embeddings") / safe
        self.dtype = dtype
        self._vectors: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            for shard in sorted(self.folder.glob("*.npz")):
                data = load_npz(shard, "keys", "vectors")  # None: unreadable, removed, computed again
                if data is None:
                    continue
                keys, vectors = data["keys"].tolist(), data["vectors"]
                if len(keys) != len(vectors) or vectors.ndim != 2:
                    log.warning("removed the cache shard %s: %d keys but vectors of shape %s; they will be computed "
                                "again", shard, len(keys), vectors.shape)
                    shard.unlink(missing_ok=True)
                    continue
                self._vectors.update(zip(keys, vectors))
            now = time.time()
            for stray in self.folder.glob("*.tmp"):  # left by a run that was killed mid-write
                if now - stray.stat().st_mtime > STALE_TMP_SECONDS:
                    stray.unlink(missing_ok=True)
        return self._vectors

    def __contains__(self, key: str) -> bool:
        return key in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def get(self, keys: Sequence[str]) -> np.ndarray:
        vectors = self._load()
        return np.stack([vectors[k] for k in keys]) if keys else np.zeros((0, 0), self.dtype)

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Write one shard atomically (temp file, then rename)."""
        if len(keys) != len(vectors):
            raise BadInput(f"{len(keys)} keys but {len(vectors)} vectors: refusing to write a misaligned shard")
        if len(keys) == 0:
            return
        vectors = np.asarray(vectors, dtype=self.dtype)
        save_npz(self.folder / f"{uuid.uuid4().hex}.npz", keys=np.asarray(keys), vectors=vectors)
        self._load().update(zip(keys, vectors))

    def embed(self, keys: Sequence[str], inputs: Sequence, encode: Callable[[list], np.ndarray],
              batch_size: int = 64, desc: str = "embedding") -> np.ndarray:
        """Vectors for ``inputs`` (one key each), encoding only the keys not cached yet."""
        missing = [i for i, k in enumerate(keys) if k not in self]
        seen: set[str] = set()
        todo = [i for i in missing if not (keys[i] in seen or seen.add(keys[i]))]
        for start in tqdm(range(0, len(todo), batch_size), desc=desc, unit="batch", disable=len(todo) <= batch_size):
            chunk = todo[start:start + batch_size]
            self.put([keys[i] for i in chunk], encode([inputs[i] for i in chunk]))
        return self.get(list(keys))
