"""Where the time of embedding a catalog goes, as numbers (the benchmark renders them; the index
measurements are kit/search/measure.py)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path


def decode_by_photo_size(photos: list[Path], folder: Path, sizes: tuple[int, ...] = (224, 512, 1024, 2048),
                         draft_size: int = 224) -> list[dict]:
    """Photos per second for decoding (full and JPEG draft) and preprocessing, per photo size: ``photos``
    resampled to each size (longer side) and saved as JPEG quality 90 in ``folder``."""
    from PIL import Image

    from kit.images import load_image

    def per_second(work, items) -> tuple[float, list]:
        started = time.perf_counter()
        out = [work(item) for item in items]
        return len(items) / (time.perf_counter() - started), out

    rows = []
    for size in sizes:
        paths = []
        for n, photo in enumerate(photos):
            image = load_image(photo)
            scale = size / max(image.size)
            path = folder / f"{size}-{n}.jpg"
            image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC).save(path, quality=90)
            paths.append(path)
        full, _ = per_second(load_image, paths)
        draft, images = per_second(lambda path: load_image(path, draft_size=draft_size), paths)
        rows.append({"size": size, "full_decode": full, "draft_decode": draft, "decoded_side": max(images[0].size)})
    return rows


def embedding_throughput(catalog: str, photos: int, out: Path, model: str | None = None,
                         engines: tuple[str, ...] = ("local", "ray")) -> dict:
    """Items per second of each stage alone on the first ``photos`` items with photos: the text tower, decoding
    (full and JPEG draft), preprocessing and the image tower; then the embedding job end to end with each
    engine (shards of 256)."""
    import torch

    from kit.clip.encoder import ItemEncoder
    from kit.images import load_image
    from kit.scale.job import JobSpec, embed, open_job_catalog

    spec = JobSpec(catalog, str(out / "profile"), model, limit=photos, shard_size=256)
    items = [i for i in open_job_catalog(spec).items if i.image is not None]
    encoder = ItemEncoder.from_pretrained(model)
    stages: dict[str, float] = {}

    def rate(name: str, work) -> list:
        started = time.perf_counter()
        result = [work(item) for item in items]
        stages[name] = len(items) / (time.perf_counter() - started)
        return result

    texts = [item.text for item in items]
    encoder.encode_texts(texts[:32])  # warm-up
    started = time.perf_counter()
    encoder.encode_texts(texts, batch_size=128)
    stages["text tower (batches of 128)"] = len(texts) / (time.perf_counter() - started)
    rate("decode (full JPEG)", lambda item: load_image(item.image))
    drafted = rate("decode (JPEG draft)", lambda item: load_image(item.image, draft_size=224))
    pixels = [encoder.preprocess(image) for image in drafted[:64]]
    started = time.perf_counter()
    for image in drafted:
        encoder.preprocess(image)
    stages["preprocess (resize, crop, normalize)"] = len(drafted) / (time.perf_counter() - started)
    with torch.inference_mode():
        encoder.encode_pixels(pixels[:32])  # warm-up
        started, done = time.perf_counter(), 0
        while done < len(items):
            encoder.encode_pixels(pixels[:32])
            done += 32
        stages["image tower alone (batches of 32)"] = done / (time.perf_counter() - started)
    jobs = {}
    for engine in engines:
        for workers in ((0, 1) if engine == "local" else (0,)):
            run = replace(spec, out=str(out / f"{engine}-{workers}"), decode_workers=workers)
            report = embed(run, engine)
            jobs[f"{engine}, {workers} decode workers"] = {
                "seconds": report.seconds, "startup_seconds": report.startup_seconds, "items": report.rows,
                "photos": report.photos, "items_per_second": report.items_per_second,
                "shard_items_per_second": report.rows / max(sum(r.seconds for r in report.embedded), 1e-9)}
    return {"photos": len(items), "device": str(encoder.device), "stages": stages, "jobs": jobs}
