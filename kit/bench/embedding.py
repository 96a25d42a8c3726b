"""Scale, the other half (issue 19): where the time of embedding photos goes, per stage, per photo size and
per engine of `python -m kit embed`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kit.bench.records import Section, Table, Text
from kit.bench.roles import LABELLED, PHOTOS


def scale_embedding(quick: bool = False) -> Section:
    from kit.bundled_catalogs import photo_query_catalog
    from kit.scale.measure import decode_by_photo_size, embedding_throughput

    photos = 256 if quick else 2048
    with tempfile.TemporaryDirectory() as folder:
        speed = embedding_throughput(LABELLED, photos, Path(folder))
    stage_rows = [[name, f"{value:,.1f}"] for name, value in speed["stages"].items()]
    job_rows = [[name, f"{j['items']:,}", f"{j['seconds']:.1f}", f"{j['startup_seconds']:.1f}",
                 f"{j['items_per_second']:.1f}", f"{j['shard_items_per_second']:.1f}"] for name, j in speed["jobs"].items()]
    local = speed["jobs"]["local, 0 decode workers"]
    ray_job = speed["jobs"].get("ray, 0 decode workers")
    overhead = "" if ray_job is None else (
        f"Ray against the local engine on this machine: {ray_job['seconds'] / local['seconds'] - 1:+.0%} wall time end "
        f"to end; {local['shard_items_per_second'] / ray_job['shard_items_per_second'] - 1:+.0%} time per shard inside "
        f"the actor. Ray's start-up (starting Ray here) is {ray_job['startup_seconds']:.1f} s, against "
        f"{local['startup_seconds']:.1f} s for the local engine (opening the catalog; both load the encoder once).")
    shelf = [p.path for p in photo_query_catalog().photo_queries("test")[:16 if quick else 48]]
    with tempfile.TemporaryDirectory() as folder:
        sizes = decode_by_photo_size(shelf, Path(folder))
    size_rows = [[f"{r['size']:,}", f"{r['full_decode']:,.0f}", f"{r['draft_decode']:,.0f}", r["decoded_side"]]
                 for r in sizes]
    return Section(
        title="Scale: embedding throughput", quick=quick, settings={"photos": photos},
        numbers={"throughput": speed, "decode_by_size": sizes},
        blocks=[
            Text(f"### Embedding photos: where the time goes\nThe first {speed['photos']:,} {LABELLED} items with photos "
                 f"on {speed['device']}, the default encoder; each stage alone, in items per second (an item is its text "
                 "and its photo):"),
            Table(["stage", "items/s"], stage_rows),
            Text("The embedding job end to end (`python -m kit embed`, shards of 256, text and photo of every item):"),
            Table(["engine", "items", "seconds", "start-up s", "items/s end to end", "items/s inside shards"], job_rows),
            Text(overhead),
            Text(f"Decoding by photo size: {len(shelf)} {PHOTOS} shopper photos (test split) resampled so the longer side "
                 "is each size, saved as JPEG quality 90; photos per second. Draft decoding lets the JPEG decoder skip "
                 "to 1/2, 1/4 or 1/8 scale while both sides stay at least 224 pixels (what the model sees)."),
            Table(["longer side px", "full decode/s", "draft decode/s", "decoded longer side"], size_rows),
        ])
