"""``python -m kit embed``: every item of a catalog embedded into Parquet shards, here or on a Ray cluster.

One code path from a laptop to a cluster. The catalog is cut into shards of ``shard_size`` rows; a
:class:`ShardEmbedder` (one encoder, loaded once) embeds whole shards and writes each under a temporary
name, renamed when complete. The local engine runs one embedder in this process. The Ray engine hands the
missing shards to Ray Data, whose ``map_batches`` keeps a pool of embedder actors (one encoder each, a GPU
each when the cluster has GPUs); without an address it starts Ray on this machine, so the same command is
tested here and runs unchanged on a cluster. A killed job run again embeds only the shards that are missing.

Photos are decoded in DataLoader worker processes (``decode_workers``), JPEGs at reduced size through
PIL's ``draft`` (the decoder skips the detail the model's 224-pixel input throws away); a photo that cannot
be read is recorded in its row's ``error`` and the item keeps its text vector. Nothing a row holds stops a job.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from kit.bundled_catalogs import CATALOG_TABLE, open_catalog
from kit.catalog import Catalog, load_catalog
from kit.clip.encoder import ItemEncoder
from kit.errors import BadInput
from kit.images import load_image
from kit.scale.shards import Manifest, finished_shards, shard_name, write_manifest, write_shard

log = logging.getLogger(__name__)
Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


@dataclass(frozen=True)
class JobSpec:
    """Everything an embedder needs to rebuild the job on another machine (plain values, so Ray can ship it)."""

    catalog: str  # a bundled catalog's name or a catalog file's path (visible to every worker)
    out: str
    model: str | None = None  # a registry image-text model; None: the registry's default
    images_dir: str | None = None
    limit: int | None = None
    shard_size: int = 1024
    batch_size: int = 32
    decode_workers: int = 0
    draft: bool = True

    def __post_init__(self) -> None:
        """Refuse a job that cannot run before any model loads."""
        for name in ("shard_size", "batch_size"):
            if getattr(self, name) < 1:
                raise BadInput(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise BadInput(f"--limit must be at least 1, got {self.limit}")
        if self.decode_workers < 0:
            raise BadInput(f"--decode-workers must be 0 or more, got {self.decode_workers}")
        if self.catalog not in CATALOG_TABLE and not Path(self.catalog).is_file():
            open_catalog(self.catalog)  # raises the error that names the bundled catalogs


@dataclass
class ShardResult:
    shard: int
    rows: int
    photos: int
    seconds: float
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EmbedReport:
    out: Path
    engine: str
    rows: int
    shards: int
    embedded: list[ShardResult]  # shards embedded by this run
    resumed: int  # shards that were already finished
    seconds: float  # wall time of this run, start-up included
    startup_seconds: float  # opening the catalog, starting Ray (ray engine), loading the encoder (local engine)

    @property
    def photos(self) -> int:
        return sum(r.photos for r in self.embedded)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [e for r in self.embedded for e in r.errors]

    @property
    def items_per_second(self) -> float:
        return sum(r.rows for r in self.embedded) / max(self.seconds, 1e-9)

    def to_dict(self) -> dict:
        return {"out": str(self.out), "engine": self.engine, "rows": self.rows, "shards": self.shards,
                "embedded_shards": len(self.embedded), "resumed_shards": self.resumed, "photos": self.photos,
                "seconds": round(self.seconds, 2), "startup_seconds": round(self.startup_seconds, 2),
                "items_per_second": round(self.items_per_second, 2),
                "errors": [{"id": i, "reason": r} for i, r in self.errors]}


def open_job_catalog(spec: JobSpec) -> Catalog:
    """The job's items. A catalog file's photos are not opened here (a million headers, in one process):
    the embedders open each photo once, in parallel, and report per row what they could not read."""
    if spec.catalog in CATALOG_TABLE:
        catalog = open_catalog(spec.catalog)
    else:
        catalog = load_catalog(Path(spec.catalog), images_dir=spec.images_dir, check_images="none")
    if spec.limit is not None:
        catalog = Catalog(catalog.items[:spec.limit], name=catalog.name)
    if len(catalog) == 0:
        raise BadInput(f"catalog {spec.catalog!r} has no items to embed")
    return catalog


class _Photos(torch.utils.data.Dataset):
    """One shard's photos: (row, pixels or None, sha256 of the file, why it failed or None)."""

    def __init__(self, paths: list[Path | None], preprocess, draft_size: int | None) -> None:
        self.paths, self.preprocess, self.draft_size = paths, preprocess, draft_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, row: int):
        path = self.paths[row]
        if path is None:
            return row, None, "", None
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            return row, None, "", f"cannot read {path}: {error}"
        digest = hashlib.sha256(data).hexdigest()
        try:
            return row, self.preprocess(load_image(path, draft_size=self.draft_size)), digest, None
        except BadInput as error:
            return row, None, digest, str(error)


class ShardEmbedder:
    """One encoder, loaded once, embedding whole shards. The local engine makes one; each Ray actor makes
    one (``__call__`` is Ray Data's ``map_batches`` interface: a batch of shard numbers in, results out)."""

    def __init__(self, spec: JobSpec, catalog: Catalog | None = None, encoder: ItemEncoder | None = None,
                 threads: int | None = None, manifest: Manifest | None = None) -> None:
        """``threads``: torch threads for this embedder (a Ray actor gets the CPUs it was allotted);
        ``manifest``: the job's, for :meth:`__call__`."""
        if threads is not None:
            torch.set_num_threads(threads)
        self.spec, self.manifest = spec, manifest
        self.catalog = catalog or open_job_catalog(spec)
        self.encoder = encoder or ItemEncoder.from_pretrained(spec.model)
        size = getattr(self.encoder.model.visual, "image_size", 224)
        self.draft_size = (max(size) if isinstance(size, (tuple, list)) else int(size)) if spec.draft else None

    @torch.inference_mode()
    def embed(self, shard: int, manifest: Manifest) -> ShardResult:
        if manifest.model != self.encoder.fingerprint:
            raise BadInput(f"this worker's encoder is {self.encoder.fingerprint}, the job's is {manifest.model}; "
                           "give every worker the same model files")
        began = time.perf_counter()
        items = [self.catalog.items[r] for r in manifest.shard_rows(shard)]
        texts = [item.text.strip() or item.id for item in items]
        text = self.encoder.encode_texts(texts, batch_size=128)
        image = np.zeros_like(text)
        has_image = np.zeros(len(items), bool)
        photo_hash, errors = [""] * len(items), [None] * len(items)
        loader = torch.utils.data.DataLoader(_Photos([item.image for item in items], self.encoder.preprocess,
                                                     self.draft_size),
                                             batch_size=self.spec.batch_size, num_workers=self.spec.decode_workers,
                                             collate_fn=list)
        for batch in loader:
            good = [(row, pixels) for row, pixels, _, _ in batch if pixels is not None]
            for row, _, digest, error in batch:
                photo_hash[row], errors[row] = digest, error
            if good:
                rows = [row for row, _ in good]
                image[rows] = self.encoder.encode_pixels([pixels for _, pixels in good])
                has_image[rows] = True
        fused = text + image
        fused /= np.linalg.norm(fused, axis=1, keepdims=True).clip(min=1e-12)
        write_shard(Path(self.spec.out) / shard_name(shard), {
            "id": [item.id for item in items], "vector": list(fused), "text_vector": list(text),
            "image_vector": [image[r] if has_image[r] else None for r in range(len(items))],
            "model": [self.encoder.fingerprint] * len(items),
            "content_hash": [hashlib.sha256(f"{t}\0{h}".encode()).hexdigest() for t, h in zip(texts, photo_hash)],
            "error": errors})
        failed = [(item.id, error) for item, error in zip(items, errors) if error]
        for item_id, error in failed:
            log.warning("item %s: photo not embedded: %s", item_id, error)
        return ShardResult(shard, len(items), int(has_image.sum()), time.perf_counter() - began, failed)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [self.embed(int(s), self.manifest) for s in batch["shard"]]
        return {"shard": np.array([r.shard for r in results]), "rows": np.array([r.rows for r in results]),
                "photos": np.array([r.photos for r in results]), "seconds": np.array([r.seconds for r in results]),
                "errors": np.array(["\n".join(f"{i}\t{e}" for i, e in r.errors) for r in results], dtype=object)}


def embed(spec: JobSpec, engine: Engine = "local", address: str | None = None, actors: int | None = None) -> EmbedReport:
    """Run (or resume) the job ``spec`` describes with ``engine``; see the module docstring."""
    if engine not in ENGINES:
        raise BadInput(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    began = time.perf_counter()
    catalog = open_job_catalog(spec)
    encoder = ItemEncoder.from_pretrained(spec.model)
    manifest = Manifest(spec.catalog, encoder.fingerprint, len(catalog), spec.shard_size, encoder.dim)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, manifest)
    done = finished_shards(out, manifest)
    todo = [s for s in range(manifest.shards) if s not in done]
    if engine == "local":
        embedder = ShardEmbedder(spec, catalog, encoder)
        startup = time.perf_counter() - began
        results = [embedder.embed(s, manifest) for s in todo]
    else:
        del encoder  # each actor loads its own
        results, startup = _run_on_ray(spec, manifest, todo, address, actors, began)
    return EmbedReport(out, engine, manifest.rows, manifest.shards, results, len(done),
                       time.perf_counter() - began, startup)


def _run_on_ray(spec: JobSpec, manifest: Manifest, todo: list[int], address: str | None, actors: int | None,
                began: float) -> tuple[list[ShardResult], float]:
    """The missing shards through Ray Data actors; a Ray this call started is shut down when it returns."""
    import ray

    if not todo:
        return [], time.perf_counter() - began
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # progress lines every 10 s are noise in a CLI
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": os.cpu_count()}))
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise BadInput(f"cannot reach a Ray cluster at {address!r}: {error}") from error
    try:
        startup = time.perf_counter() - began
        ray.data.DataContext.get_current().enable_progress_bars = False
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        pool = actors or max(1, gpus)  # one actor per GPU; on CPUs one actor with every core
        threads = max(1, cpus // pool)
        embedded = ray.data.from_items([{"shard": s} for s in todo]).map_batches(
            ShardEmbedder, fn_constructor_kwargs={"spec": spec, "threads": threads, "manifest": manifest},
            batch_size=1, concurrency=pool,
            num_gpus=1 if gpus else 0, num_cpus=threads)
        results = [ShardResult(int(r["shard"]), int(r["rows"]), int(r["photos"]), float(r["seconds"]),
                               [tuple(line.split("\t", 1)) for line in str(r["errors"]).splitlines()])
                   for r in embedded.take_all()]
        return sorted(results, key=lambda r: r.shard), startup
    finally:
        if started_here:
            ray.shutdown()
