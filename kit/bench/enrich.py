"""Catalog enrichment (issue 34): attribute heads on the labelled catalog, against zero-shot and the majority label."""

from __future__ import annotations

import math

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import LABELLED, PHOTOS

PHOTO_TARGETS = {"articleType": 0.90, "baseColour": 0.75, "gender": 0.90, "usage": 0.85}  # issue 34, photo only
SHELF_PROBE = 0.778  # shopkit-lit-ft's linear probe, grocery test top-1 (docs/benchmarks.md, issue 16): the bar


def shelf_photo_items(split: str, limit: int | None = None) -> list:
    """The store photos of one split of the photo catalog as items labelled with their product (fine class) and
    coarse class, so heads and towers learn them like any catalog's labels."""
    from kit.bundled_catalogs import CATALOG_TABLE
    from kit.catalog import Item

    photos = CATALOG_TABLE[PHOTOS].photo_queries(split)
    photos = photos[::max(1, len(photos) // limit)][:limit] if limit else photos
    return [Item(id=f"{split}-{n}", title="", category=p.coarse_class, image=p.path,
                 attributes={"product": p.item_id, "coarse class": p.coarse_class}) for n, p in enumerate(photos)]


def shelf_photos(frozen, config) -> dict:
    """Product and coarse class from the store photos: photo heads on the frozen trunk and on a tuned tower."""
    from kit.enrich import measure, train_heads
    from kit.enrich.features import Towers
    from kit.enrich.tower import tune_photo_tower

    limit = 300 if config.epochs == 1 else None  # quick
    fit, val, test = shelf_photo_items("train", limit), shelf_photo_items("val"), shelf_photo_items("test", limit)
    attributes = ["product", "coarse class"]
    tower = tune_photo_tower(fit, val, attributes, config, frozen)
    tuned = Towers(frozen.model, frozen.preprocess, frozen.tokenizer, tower, tower.digest)
    out = {"n": [len(fit), len(val), len(test)], "tower": tower.history}
    for name, towers in (("frozen", frozen), ("tuned", tuned)):
        heads = train_heads(fit, attributes, "photo", val, towers=towers)
        out[name] = {a: vars(q) for a, q in measure(heads, test, towers).items()}
    return out


def catalog_enrichment(quick: bool = False) -> Section:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.enrich import catalog_splits, hide_and_refill, measure, train_catalog_heads
    from kit.enrich.features import Towers, load_towers
    from kit.enrich.recipe import attributes_for
    from kit.enrich.tower import TowerConfig, save_tower, tune_photo_tower
    from kit.search import evaluate

    catalog = open_catalog(LABELLED, max_items=2_000 if quick else None)
    frozen = load_towers()
    splits = catalog_splits(catalog)
    tower_config = TowerConfig(epochs=1) if quick else TowerConfig()
    tower = tune_photo_tower(splits.fit, splits.val, attributes_for(catalog), tower_config, frozen)
    if not quick:
        save_tower(tower)  # the saved photo heads read with it
    tuned = Towers(frozen.model, frozen.preprocess, frozen.tokenizer, tower, tower.digest)
    views = ("photo", "title", "photo+title")
    heads, quality, seconds, refills = {}, {}, {}, {}
    for view in views:
        towers = tuned if view == "photo" else frozen  # photo + title: see train_catalog_heads
        heads[view], splits, seconds[view] = train_catalog_heads(catalog, view, save=not quick, towers=towers)
        quality[view] = measure(heads[view], splits.test, towers)
        refills[view] = hide_and_refill(heads[view], splits.test, towers=towers)
    frozen_heads, _, frozen_seconds = train_catalog_heads(catalog, "photo", save=False, towers=frozen)
    frozen_quality = measure(frozen_heads, splits.test, frozen)
    tower_minutes = {k: v / 60 for k, v in tower.history["seconds"].items()}
    shelf = shelf_photos(frozen, tower_config)
    shelf_minutes = sum(shelf["tower"]["seconds"].values()) / 60
    encoder = ItemEncoder.from_pretrained()
    zero_shot = evaluate.zero_shot_attributes(encoder, limit=300 if quick else None)
    attributes = list(quality["photo"])
    cell = lambda x: "-" if x is None or (isinstance(x, float) and math.isnan(x)) else x  # noqa: E731
    photo, test_n = quality["photo"], next(iter(quality["photo"].values())).n
    return Section(
        title="Catalog enrichment (issue 34)",
        settings={"tower": tower.config, "views": views, "attributes": attributes, "target_precision": 0.95, "items": len(catalog),
                  "fit/val/test": [len(splits.fit), len(splits.val), len(splits.test)]},
        numbers={"quality": {v: {a: vars(q) for a, q in qs.items()} for v, qs in quality.items()},
                 "zero_shot": zero_shot, "train_seconds": seconds, "tower": tower.history,
                 "frozen_photo": {a: vars(q) for a, q in frozen_quality.items()}, "shelf_photos": shelf,
                 "refill": {v: [vars(r) for r in rs] for v, rs in refills.items()},
                 "thresholds": {v: {a: h.threshold for a, h in hs.items()} for v, hs in heads.items()}},
        quick=quick,
        blocks=[
            Text(f"One logistic-regression head (scikit-learn) per attribute over cached tower features: the photo's "
                 f"pooled efficientnet-lite0 features with the top {tower.unfrozen_stages} stages tuned on the same "
                 f"labels ({tower_config.epochs} epochs, {tower_config.views} views per photo; kit/enrich/tower.py), "
                 f"beside a colour histogram of the product's pixels; the title's MiniLM features (the title only: the "
                 f"catalog's description is written from these labels); or both (with the frozen photo trunk: heads "
                 f"fitted on the items the tower learned lean on its features more than new items deserve, and "
                 f"photo + title fell from 0.971 to 0.953 on article type with the tuned one). Fit on {len(splits.fit):,} train "
                 f"items, operating point chosen on {len(splits.val):,} more (the lowest confidence whose 95% Wilson "
                 f"lower bound of precision reaches 0.95), measured on the {test_n:,} held-out test items that the "
                 "image-text model never trained on."),
            Table(["attribute", "photo (tuned tower)", "photo (frozen ImageNet trunk)", "title", "photo + title",
                   f"zero-shot ({encoder.name}, photo)", "majority label"],
                  [[a, photo[a].accuracy, frozen_quality[a].accuracy, quality["title"][a].accuracy,
                    quality["photo+title"][a].accuracy, cell(zero_shot.get(a)), photo[a].majority_accuracy]
                   for a in attributes],
                  title=f"{LABELLED}: top-1 accuracy on the test split", digits=3),
            *[Target(f"{a} top-1 from the photo", photo[a].accuracy, bar) for a, bar in PHOTO_TARGETS.items() if a in photo],
            Table(["view", "attribute", "threshold", "precision", "coverage"],
                  [[v, a, cell(heads[v][a].threshold if heads[v][a].threshold != math.inf else None), cell(q.precision),
                    q.coverage] for v in views for a, q in quality[v].items()],
                  title="At the stored operating points (test split)", digits=3),
            *[Target(f"{a} precision at the operating point, photo", q.precision, 0.95)
              for a, q in photo.items() if q.coverage > 0],
            *[Text(f"{a} from the photo: no confidence threshold kept the 95% lower bound of precision at 0.95 on the "
                   "validation items, so the photo head fills none (coverage 0; a missing label beats a wrong one); "
                   "the title and photo + title heads fill it (above).") for a, q in photo.items() if q.coverage == 0],
            Table(["view", "attribute", "hidden", "filled share", "accuracy of the fills"],
                  [[v, r.attribute, r.hidden, r.filled_share, cell(r.accuracy)] for v in views for r in refills[v]],
                  title="A quarter of the test labels hidden, then enriched back", digits=3),
            Table(["label", "photo (tuned tower)", "photo (frozen ImageNet trunk)", "majority label"],
                  [[a, shelf["tuned"][a]["accuracy"], shelf["frozen"][a]["accuracy"], shelf["tuned"][a]["majority_accuracy"]]
                   for a in shelf["tuned"]],
                  title=(f"{PHOTOS}: product (fine class) and coarse class from store photos (test top-1; "
                         f"{shelf['n'][0]:,} train / {shelf['n'][1]:,} val / {shelf['n'][2]:,} test photos; the tower "
                         f"tuned in {shelf_minutes:.1f} min)"), digits=3),
            Target("grocery product from store photos, photo heads on the tuned tower (bar: shopkit-lit-ft's "
                   "linear probe)", shelf["tuned"]["product"]["accuracy"], SHELF_PROBE),
            Table(["view", "seconds (all heads, features cached)"],
                  [[v, seconds[v]] for v in views] + [["photo, frozen trunk", frozen_seconds]],
                  title="Training time", digits=1),
            Table(["epoch", "training loss (sum over attributes)", "val accuracy (mean over attributes, tower's own layers)"],
                  [[e, loss, cell(acc)] for e, (loss, acc) in
                   enumerate(zip(tower.history["losses"], tower.history["val_accuracy"]))],
                  title=(f"The photo tower's tuning: {tower_minutes['caching']:.1f} min caching the frozen stages' "
                         f"activations (once; shared with shopkit-lit-ft), {tower_minutes['training']:.1f} min "
                         f"training on {tower.history['train_photos']:,} photos; epoch {tower.history['best_epoch']} kept"),
                  digits=3),
        ])
