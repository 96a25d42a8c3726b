"""Item understanding (issue 4): shopkit-lit trained from scratch, then measured on both photo catalogs."""

from __future__ import annotations

import time

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import LABELLED, PHOTOS


def image_throughput(encoder, catalog, photos: int) -> tuple[float, int]:
    """Images per second through the whole image tower (decode, preprocess, encode; batches of 8), warm."""
    images = [item.image for item in catalog.items if item.image is not None][:photos]
    encoder.encode_images(images[:8])
    start = time.perf_counter()
    encoder.encode_images(images)
    return len(images) / (time.perf_counter() - start), len(images)


def item_understanding(quick: bool = False) -> Section:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.clip.lit import LitConfig, train_lit
    from kit.clip.model_card import write_model_card
    from kit.search import CatalogSearch, evaluate

    limit = 300 if quick else None
    config = LitConfig(max_items=500 if quick else None, epochs=10 if quick else 40)
    start = time.perf_counter()
    folder, history, train_metrics = train_lit(config=config)
    train_seconds = time.perf_counter() - start
    encoder = ItemEncoder.from_pretrained("shopkit-lit")

    retrieval = {mode: evaluate.grocery_image_retrieval(encoder, "test", mode, limit) for mode in ("text", "image", "fused")}
    baseline = evaluate.iconic_baseline("test", limit)
    probe = evaluate.linear_probe_ceiling("test", limit)
    fashion_t2i = evaluate.fashion_text_to_image(encoder, limit=limit)
    zero_shot = evaluate.zero_shot_attributes(encoder, limit=limit)
    card = write_model_card(folder, {"grocery_test_top1_text": retrieval["text"]["top1"], "grocery_test_top5_text": retrieval["text"]["top5"],
                                     "fashion_t2i_recall@10": fashion_t2i["recall@10"]})

    labelled = open_catalog(LABELLED)
    fashion = CatalogSearch.build(labelled, encoder)
    queries = evaluate.attribute_queries(limit=60 if quick else 200)
    quality = evaluate.text_search_quality(fashion, queries)
    latency = {mode: evaluate.query_latency(fashion, [q.text for q in queries[:50]], mode) for mode in ("text", "hybrid", "bm25")}
    images_per_second, photos = image_throughput(encoder, labelled, 64 if quick else 256)
    products = len(open_catalog(PHOTOS))

    ms = lambda mode: f"{latency[mode]['p50_ms']:.1f} / {latency[mode]['p99_ms']:.1f} ms"  # noqa: E731
    return Section(
        title="Item understanding (issue 4)",
        settings={"epochs": config.epochs, "max_items": config.max_items, "limit": limit},
        numbers={"train_seconds": train_seconds, "train_metrics": train_metrics, "retrieval": retrieval, "baseline": baseline,
                 "probe": probe, "fashion_t2i": fashion_t2i, "zero_shot": zero_shot, "text_quality": quality,
                 "latency": latency, "images_per_second": images_per_second},
        files={"model_cards/shopkit-lit.md": card.read_text()},
        quick=quick,
        blocks=[
            Text(f"Model: shopkit-lit trained on the {PHOTOS} train photos and iconic images and the {LABELLED} train split"
                 f"{f' ({config.max_items} items)' if config.max_items else ''}, {len(history.losses)} epochs, best epoch "
                 f"{history.best_epoch}, training {train_seconds:.0f} s (including trunk-feature extraction when the "
                 "feature cache was cold)."),
            Table(["method", "top-1", "top-5", "photos"], [
                ["baseline: nearest iconic image, frozen ImageNet features (no training)", baseline["top1"], baseline["top5"], baseline["n"]],
                ["shopkit-lit, products as text (name + description)", retrieval["text"]["top1"], retrieval["text"]["top5"], retrieval["text"]["n"]],
                ["shopkit-lit, products as iconic image", retrieval["image"]["top1"], retrieval["image"]["top5"], retrieval["image"]["n"]],
                ["shopkit-lit, products as text + image (fused)", retrieval["fused"]["top1"], retrieval["fused"]["top5"], retrieval["fused"]["n"]],
                ["reference: linear probe (logistic regression, train photos) on the same frozen image features", probe["top1"], "-", probe["n"]],
            ], title=f"{PHOTOS}: store photo -> product (test split, ranked against all {products} products)"),
            Target("top-1, products as text", retrieval["text"]["top1"], 0.80),
            Text("shopkit-lit trains only heads on frozen efficientnet-lite0 features; the linear probe row is what a "
                 "supervised classifier gets from the same features (the fine-tuned tower is in the next section)."),
            Table(["model", "Recall@1", "Recall@10", "queries"],
                  [["shopkit-lit", fashion_t2i["recall@1"], fashion_t2i["recall@10"], fashion_t2i["n"]]],
                  title=f"{LABELLED}: held-out title -> photo (ranked against all {len(fashion.catalog):,} items)"),
            Text(f"{len(queries)} queries such as \"{queries[0].text}\", built from held-out items' colour, article type and "
                 "gender; relevant = every catalog item with those three labels; capped Recall@5 = hits in top 5 / "
                 "min(5, relevant)."),
            Table(["method", "capped Recall@5"], [["shopkit-lit (dense)", quality["dense"]], ["BM25 (bm25s)", quality["bm25"]],
                                                 ["hybrid (adaptive RRF + the query's filters)", quality["hybrid"]]],
                  title=f"{LABELLED}: shopper-style text queries, capped Recall@5"),
            Table(["attribute", "accuracy", "majority label (train split) baseline", "photos"],
                  [[a, zero_shot[a], zero_shot["majority"][a], zero_shot["n"]] for a in ("baseColour", "articleType", "gender")],
                  title=f"{LABELLED}: zero-shot attributes on held-out photos (accuracy)"),
            Table(["what", "value"], [
                [f"image embedding throughput (decode + preprocess + full image tower, default batch 8, channels-last, {photos} photos)",
                 f"{images_per_second:.1f} images/s"],
                [f"dense text query over {len(fashion.catalog):,} items, p50 / p99", ms("text")],
                ["hybrid text query, p50 / p99", ms("hybrid")],
                ["BM25 query, p50 / p99", ms("bm25")],
            ], title="Speed on this CPU"),
            Target("dense text query p50 (ms)", latency["text"]["p50_ms"], 25, at_most=True),
        ])
