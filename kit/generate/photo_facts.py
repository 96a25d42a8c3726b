"""Facts read off the photo for the labels an item lacks: zero-shot attributes, stated only when confident.

A catalog row without a colour or an article type leaves the writer less to say. The kit's image-text model can
read those off the photo (zero-shot, kit/clip/zero_shot.py), but not reliably: its held-out accuracy is about
0.5 for article type and 0.3 for colour (docs/benchmarks.md), so a fill-in stated as a fact would often be
wrong. :class:`PhotoFacts` therefore fills a missing label only when the zero-shot probability reaches
``threshold``, and marks the fact as read from the photo, so the prompt, the checker's verdicts and the copy's
record all say where it came from. :func:`fill_precision` measures, on items whose labels are known, how
often a fill-in at a threshold would be right.

    photo = PhotoFacts.for_catalog(catalog, ItemEncoder.from_pretrained(), threshold=0.9)
    facts = photo.fill(ItemFacts.from_item(item), item)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kit.catalog import Catalog, Item
from kit.clip.encoder import ItemEncoder
from kit.clip.zero_shot import zero_shot
from kit.generate.facts import LABEL_OF, MISSING, ItemFacts

PROMPTS = {"colour": "a {} product", "article type": "a photo of {}", "gender": "a product for {}"}  # as measured


@dataclass
class PhotoFacts:
    """Zero-shot fill-ins for the fact types of ``PROMPTS``, over the catalog's own label values."""

    encoder: ItemEncoder
    values: dict[str, list[str]]  # fact type -> the label values it chooses among
    threshold: float = 0.9

    @classmethod
    def for_catalog(cls, catalog: Catalog, encoder: ItemEncoder, threshold: float = 0.9) -> "PhotoFacts":
        values = {fact: sorted({str(item.attributes.get(LABEL_OF[fact], "")).strip() for item in catalog.items}
                               - {""} - {v for v in MISSING}) for fact in PROMPTS}
        return cls(encoder, {fact: v for fact, v in values.items() if len(v) >= 2}, threshold)

    def read(self, image_vectors: np.ndarray) -> list[dict[str, tuple[str, float]]]:
        """Per image: fact type -> (most likely value, its probability)."""
        out: list[dict[str, tuple[str, float]]] = [{} for _ in range(len(image_vectors))]
        for fact, labels in self.values.items():
            scores = zero_shot(self.encoder, image_vectors, labels, PROMPTS[fact])
            for row, best in enumerate(scores.best()):
                out[row][fact] = (labels[best], float(scores.probs[row, best]))
        return out

    def fill(self, facts: ItemFacts, item: Item) -> ItemFacts:
        """``facts`` plus the missing labels the photo shows with probability >= threshold (marked as such)."""
        missing = [fact for fact in self.values if fact not in facts.labels]
        if not missing or item.image is None:
            return facts
        read = self.read(self.encoder.encode_image(item.image)[None])[0]
        confident = {fact: read[fact][0] for fact in missing if read[fact][1] >= self.threshold}
        if not confident:
            return facts
        return replace(facts, labels={**facts.labels, **confident},
                       from_photo=tuple(sorted({*facts.from_photo, *confident})))


def fill_precision(photo: PhotoFacts, items: Sequence[Item], image_vectors: np.ndarray,
                   thresholds: Sequence[float] = (0.5, 0.7, 0.9)) -> list[dict]:
    """As if each known label were missing: per fact type and threshold, the share of items the photo would fill
    (coverage) and the share of those fill-ins that equal the real label (precision)."""
    read = photo.read(image_vectors)
    rows = []
    for fact in photo.values:
        truth = [str(item.attributes.get(LABEL_OF[fact], "")).strip() for item in items]
        known = [i for i, value in enumerate(truth) if value and value.lower() not in MISSING]
        for threshold in thresholds:
            filled = [i for i in known if read[i][fact][1] >= threshold]
            right = sum(read[i][fact][0] == truth[i] for i in filled)
            rows.append({"fact": fact, "threshold": threshold, "items": len(known),
                         "coverage": len(filled) / max(len(known), 1),
                         "precision": right / len(filled) if filled else None})
    return rows


__all__ = ["PROMPTS", "PhotoFacts", "fill_precision"]
