"""The embedding job's output: Parquet shards, each written under a temporary name and renamed when whole.

One row per item, in catalog order:

========================  =====================================================================
``id``                    the item's id
``vector``                the item vector the index uses (normalized sum of text and image; text
                          alone where the photo is missing or unreadable), float32[dim]
``text_vector``           the item text's embedding, float32[dim]
``image_vector``          the photo's embedding, float32[dim]; null without a readable photo
``model``                 the encoder's fingerprint (name and weights hash)
``content_hash``          sha256 of the item's text and photo bytes; a changed item has a new hash
``error``                 why the photo was not embedded (missing, corrupt, too large), else null
========================  =====================================================================

``manifest.json`` beside the shards records the catalog, the model, the row count and the shard size; a
job only resumes into a folder whose manifest matches. A folder of shards is read back by
:func:`read_shards`, and ``CatalogSearch.from_shards`` searches it directly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kit.errors import BadInput
from kit.files import written_atomically

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    catalog: str
    model: str  # encoder fingerprint
    rows: int
    shard_size: int
    dim: int

    @property
    def shards(self) -> int:
        return -(-self.rows // self.shard_size)

    def shard_rows(self, shard: int) -> range:
        return range(shard * self.shard_size, min(self.rows, (shard + 1) * self.shard_size))


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}.parquet"


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Start a job in ``folder``, or check that the job already there is this one (so it can resume)."""
    path = Path(folder) / MANIFEST
    if path.is_file():
        found = read_manifest(folder)
        if found != manifest:
            raise BadInput(f"{folder} holds another embedding job ({found}); use a new --out folder or delete it "
                           f"to embed {manifest.catalog!r} with {manifest.model!r} in shards of {manifest.shard_size}")
        return
    with written_atomically(path) as tmp:
        tmp.write_text(json.dumps(asdict(manifest), indent=1))


def read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest(**json.loads((Path(folder) / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise BadInput(f"{folder} is not a folder of embedding shards ({error}); run `python -m kit embed` first")


def finished_shards(folder: Path, manifest: Manifest) -> set[int]:
    """Shards already written whole (a shard only gets its name when complete)."""
    return {s for s in range(manifest.shards) if (Path(folder) / shard_name(s)).is_file()}


def write_shard(path: Path, columns: dict[str, list]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = len(columns["vector"][0]) if columns["vector"] else 0
    vector = pa.list_(pa.float32(), dim)
    schema = pa.schema([("id", pa.string()), ("vector", vector), ("text_vector", vector), ("image_vector", vector),
                        ("model", pa.string()), ("content_hash", pa.string()), ("error", pa.string())])
    table = pa.table({name: columns[name] for name in schema.names}, schema=schema)
    with written_atomically(path) as tmp:
        pq.write_table(table, tmp)


@dataclass
class ShardedVectors:
    """All shards of a folder, in catalog order."""

    ids: list[str]
    vectors: np.ndarray  # (N, D) item vectors
    text: np.ndarray  # (N, D)
    image: np.ndarray  # (N, D), zero rows where has_image is False
    has_image: np.ndarray  # (N,) bool
    model: str
    errors: list[tuple[str, str]]  # (id, why its photo was not embedded)


def read_shards(folder: str | Path) -> ShardedVectors:
    """Read a finished job's shards; a job with shards still missing is refused (resume it first)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    manifest = read_manifest(folder)
    missing = sorted(set(range(manifest.shards)) - finished_shards(folder, manifest))
    if missing:
        raise BadInput(f"{folder} is missing {len(missing)} of {manifest.shards} shards (first: {shard_name(missing[0])}); "
                       "run the same `python -m kit embed` command again to finish it")
    tables = [pq.read_table(folder / shard_name(s)) for s in range(manifest.shards)]
    ids = [i for t in tables for i in t.column("id").to_pylist()]

    def matrix(name: str) -> np.ndarray:
        rows = [np.asarray(t.column(name).combine_chunks().flatten().to_numpy(zero_copy_only=False), np.float32)
                .reshape(-1, manifest.dim) for t in tables]
        return np.concatenate(rows) if rows else np.zeros((0, manifest.dim), np.float32)

    has_image = np.concatenate([t.column("image_vector").is_valid().to_numpy(zero_copy_only=False) for t in tables])
    image = np.zeros((len(ids), manifest.dim), np.float32)
    image[has_image] = matrix("image_vector")  # flatten() drops the null rows
    errors = [(i, e) for t in tables for i, e in zip(t.column("id").to_pylist(), t.column("error").to_pylist()) if e]
    return ShardedVectors(ids, matrix("vector"), matrix("text_vector"), image, has_image, manifest.model, errors)
