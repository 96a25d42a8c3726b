"""Catalog enrichment (issue 34): attribute heads on the labelled catalog, against zero-shot and the majority label."""

from __future__ import annotations

import math

from kit.bench.records import Section, Table, Target, Text
from kit.bench.roles import LABELLED

PHOTO_TARGETS = {"articleType": 0.90, "baseColour": 0.75, "gender": 0.90, "usage": 0.85}  # issue 34, photo only


def catalog_enrichment(quick: bool = False) -> Section:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.enrich import hide_and_refill, measure, train_catalog_heads
    from kit.enrich.features import load_towers
    from kit.search import evaluate

    catalog = open_catalog(LABELLED, max_items=2_000 if quick else None)
    towers = load_towers()
    views = ("photo", "title", "photo+title")
    heads, quality, seconds, refills = {}, {}, {}, {}
    for view in views:
        heads[view], splits, seconds[view] = train_catalog_heads(catalog, view, save=not quick, towers=towers)
        quality[view] = measure(heads[view], splits.test, towers)
        refills[view] = hide_and_refill(heads[view], splits.test, towers=towers)
    encoder = ItemEncoder.from_pretrained()
    zero_shot = evaluate.zero_shot_attributes(encoder, limit=300 if quick else None)
    attributes = list(quality["photo"])
    cell = lambda x: "-" if x is None or (isinstance(x, float) and math.isnan(x)) else x  # noqa: E731
    photo, test_n = quality["photo"], next(iter(quality["photo"].values())).n
    return Section(
        title="Catalog enrichment (issue 34)",
        settings={"views": views, "attributes": attributes, "target_precision": 0.95, "items": len(catalog),
                  "fit/val/test": [len(splits.fit), len(splits.val), len(splits.test)]},
        numbers={"quality": {v: {a: vars(q) for a, q in qs.items()} for v, qs in quality.items()},
                 "zero_shot": zero_shot, "train_seconds": seconds,
                 "refill": {v: [vars(r) for r in rs] for v, rs in refills.items()},
                 "thresholds": {v: {a: h.threshold for a, h in hs.items()} for v, hs in heads.items()}},
        quick=quick,
        blocks=[
            Text(f"One logistic-regression head (scikit-learn) per attribute over cached tower features: the photo's "
                 f"pooled frozen efficientnet-lite0 features, the title's MiniLM features (the title only: the "
                 f"catalog's description is written from these labels), or both. Fit on {len(splits.fit):,} train "
                 f"items, operating point chosen on {len(splits.val):,} more (the lowest confidence whose 95% Wilson "
                 f"lower bound of precision reaches 0.95), measured on the {test_n:,} held-out test items that the "
                 "image-text model never trained on."),
            Table(["attribute", "photo", "title", "photo + title", f"zero-shot ({encoder.name}, photo)", "majority label"],
                  [[a, photo[a].accuracy, quality["title"][a].accuracy, quality["photo+title"][a].accuracy,
                    cell(zero_shot.get(a)), photo[a].majority_accuracy] for a in attributes],
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
            Table(["view", "seconds (all heads, features cached)"], [[v, seconds[v]] for v in views],
                  title="Training time", digits=1),
        ])
