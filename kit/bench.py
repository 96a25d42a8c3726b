"""``make bench``: measure, then rewrite docs/benchmarks.md. A benchmark measures; tests assert behaviour.

Each section records what it ran on (cores, torch version, date) next to its numbers. ``quick=True``
uses small subsets for a smoke run; the committed file comes from a full run.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch


def _machine() -> str:
    return (f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads, no GPU" if not torch.cuda.is_available() else
            f"GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}")


def _table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows])


def item_understanding(quick: bool = False) -> str:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.clip.lit import LitConfig, train_lit
    from kit.clip.model_card import write_model_card
    from kit.registry import REGISTRY
    from kit.search import CatalogSearch, evaluate

    limit = 300 if quick else None
    start = time.perf_counter()
    folder, history, train_metrics = train_lit(config=LitConfig(max_fashion_items=500 if quick else None, epochs=10 if quick else 40))
    train_seconds = time.perf_counter() - start
    encoder = ItemEncoder.from_pretrained("shopkit-lit")

    retrieval = {mode: evaluate.grocery_image_retrieval(encoder, "test", mode, limit) for mode in ("text", "image", "fused")}
    baseline = evaluate.iconic_baseline("test", limit)
    fashion_t2i = evaluate.fashion_text_to_image(encoder, limit=limit)
    zero_shot = evaluate.zero_shot_attributes(encoder, limit=limit)
    write_model_card(folder, {"grocery_test_top1_text": retrieval["text"]["top1"], "fashion_t2i_recall@10": fashion_t2i["recall@10"]})

    fashion = CatalogSearch.build(open_catalog("fashion_products"), encoder)
    queries = evaluate.attribute_queries(limit=60 if quick else 200)
    quality = evaluate.text_search_quality(fashion, queries)
    latency = {mode: evaluate.query_latency(fashion, [q.text for q in queries[:50]], mode) for mode in ("text", "hybrid", "bm25")}

    # throughput: embed fashion photos that are not cached (the encoder path, not the trunk cache)
    photos = [item.image for item in open_catalog("fashion_products").items[:64 if quick else 256]]
    encoder.encode_images(photos[:8])
    start = time.perf_counter()
    encoder.encode_images(photos, batch_size=32)
    images_per_second = len(photos) / (time.perf_counter() - start)

    trained_on = "grocery train photos + iconic images, fashion train split" + (" (500 items)" if quick else "")
    parts = [
        "## Item understanding (issue 4)",
        f"Measured {date.today()} on {_machine()}. Model: shopkit-lit trained on {trained_on}, "
        f"{len(history.losses)} epochs, best epoch {history.best_epoch}, training {train_seconds:.0f} s "
        "(including trunk-feature extraction when the feature cache was cold).",
        "",
        "### Grocery: store photo -> product (test split, ranked against all 81 products)",
        _table(["method", "top-1", "top-5", "photos"], [
            ["baseline: nearest iconic image, frozen ImageNet features (no training)", baseline["top1"], baseline["top5"], baseline["n"]],
            ["shopkit-lit, products as text (name + description)", retrieval["text"]["top1"], retrieval["text"]["top5"], retrieval["text"]["n"]],
            ["shopkit-lit, products as iconic image", retrieval["image"]["top1"], retrieval["image"]["top5"], retrieval["image"]["n"]],
            ["shopkit-lit, products as text + image (fused)", retrieval["fused"]["top1"], retrieval["fused"]["top5"], retrieval["fused"]["n"]],
        ]),
        "Target: top-1 >= 0.80.",
        "",
        "### Fashion: held-out title -> photo (ranked against all 9,583 photos)",
        _table(["model", "Recall@1", "Recall@10", "queries"], [["shopkit-lit", fashion_t2i["recall@1"], fashion_t2i["recall@10"], fashion_t2i["n"]]]),
        "",
        "### Fashion: shopper-style text queries, capped Recall@5",
        f"{len(queries)} queries such as \"{queries[0].text}\", built from held-out items' colour, article type and gender; "
        "relevant = every catalog item with those three labels; capped Recall@5 = hits in top 5 / min(5, relevant).",
        _table(["method", "capped Recall@5"], [["shopkit-lit (dense)", quality["dense"]], ["BM25 (bm25s)", quality["bm25"]], ["hybrid (RRF)", quality["hybrid"]]]),
        "",
        "### Fashion: zero-shot attributes on held-out photos (accuracy)",
        _table(["attribute", "accuracy", "photos"], [[a, zero_shot[a], zero_shot["n"]] for a in ("baseColour", "articleType", "gender")]),
        "",
        "### Speed on this CPU",
        _table(["what", "value"], [
            ["image embedding throughput (decode + preprocess + both heads, batch 32)", f"{images_per_second:.1f} images/s"],
            ["dense text query over 9,583 items, p50 / p99", f"{latency['text']['p50_ms']:.1f} / {latency['text']['p99_ms']:.1f} ms"],
            ["hybrid text query, p50 / p99", f"{latency['hybrid']['p50_ms']:.1f} / {latency['hybrid']['p99_ms']:.1f} ms"],
            ["BM25 query, p50 / p99", f"{latency['bm25']['p50_ms']:.1f} / {latency['bm25']['p99_ms']:.1f} ms"],
        ]),
        "Target: text query p50 under 25 ms.",
    ]
    results = {"train_seconds": train_seconds, "train_metrics": train_metrics, "retrieval": retrieval, "baseline": baseline,
               "fashion_t2i": fashion_t2i, "zero_shot": zero_shot, "text_quality": quality, "latency": latency,
               "images_per_second": images_per_second}
    (REGISTRY.get("shopkit-lit").cache_dir / "benchmark.json").write_text(json.dumps(results, indent=2, default=float))
    return "\n".join(parts)


def run_benchmarks(out: str | Path = "docs/benchmarks.md", quick: bool = False) -> str:
    sections = ["# Benchmarks", "",
                "Written by `make bench` (`python -m kit bench`); every number below was measured by that command "
                "on the machine it names. Tests assert behaviour; this file only measures.", "",
                item_understanding(quick)]
    text = "\n".join(sections) + "\n"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    return text
