"""Facts read off the photo for the labels an item lacks, stated only when confident.

A catalog row without a colour or an article type leaves the writer less to say. Two readers fill them:
- the catalog's **trained attribute heads** (kit/enrich, ``python -m kit enrich train``) where they exist, at
  the operating point stored with each head (chosen on validation items for a target precision, 0.95 by
  default); a head that trusts nothing (fashion colour) fills nothing;
- otherwise the image-text model **zero-shot** (kit/clip/zero_shot.py), which is not reliable (held-out accuracy
  about 0.5 for article type and 0.3 for colour, docs/benchmarks.md), so it fills a label only when its
  probability reaches ``threshold`` (``math.inf``: never).
Either way the fact is marked as read from the photo, so the prompt, the checker's verdicts and the copy's record
all say where it came from. :func:`fill_precision` measures, on items whose labels are known, how often a fill-in
would be right.

    photo = PhotoFacts.for_catalog(catalog, ItemEncoder.from_pretrained(), threshold=0.9)
    facts = photo.fill(ItemFacts.from_item(item), item)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from kit.catalog import Catalog, Item
from kit.clip.encoder import ItemEncoder
from kit.clip.zero_shot import zero_shot
from kit.enrich.features import item_features, load_towers
from kit.enrich.fill import photo_tower_of
from kit.enrich.heads import AttributeHead
from kit.enrich.recipe import trained_heads
from kit.generate.facts import LABEL_OF, MISSING, ItemFacts

PROMPTS = {"colour": "a {} product", "article type": "a photo of {}", "gender": "a product for {}"}  # as measured


@dataclass
class PhotoFacts:
    """Fill-ins for the fact types of ``PROMPTS``: by a trained head where ``heads`` has one, else zero-shot over
    the catalog's own label values at ``threshold``."""

    encoder: ItemEncoder
    values: dict[str, list[str]]  # fact type -> the label values zero-shot chooses among
    threshold: float = 0.9  # zero-shot only; a head keeps its own operating point
    heads: dict[str, AttributeHead] = field(default_factory=dict)  # fact type -> the catalog's trained photo head
    towers: object = field(default=None, repr=False)  # the heads' feature towers, loaded on the first read (seconds)

    @classmethod
    def for_catalog(cls, catalog: Catalog, encoder: ItemEncoder, threshold: float = 0.9,
                    use_heads: bool = True) -> "PhotoFacts":
        """Zero-shot over the labels ``catalog`` uses, and the catalog's saved photo heads when ``use_heads``."""
        values = {fact: sorted({str(item.attributes.get(LABEL_OF[fact], "")).strip() for item in catalog.items}
                               - {""} - {v for v in MISSING}) for fact in PROMPTS}
        values = {fact: v for fact, v in values.items() if len(v) >= 2}
        saved = trained_heads(catalog.name) if use_heads else {}
        heads = {fact: saved[LABEL_OF[fact]] for fact in PROMPTS if LABEL_OF[fact] in saved}
        return cls(encoder, values, threshold, heads)

    @property
    def facts(self) -> list[str]:
        """The fact types this reader can fill, in ``PROMPTS`` order."""
        return [fact for fact in PROMPTS if fact in self.values or fact in self.heads]

    def read(self, image_vectors: np.ndarray, facts: Sequence[str] | None = None) -> list[dict[str, tuple[str, float]]]:
        """Zero-shot, per image: fact type -> (most likely value, its probability), for ``facts`` (default: every
        fact type with values; a fact a head answers need not be read again)."""
        out: list[dict[str, tuple[str, float]]] = [{} for _ in range(len(image_vectors))]
        for fact in self.values if facts is None else facts:
            labels = self.values[fact]
            scores = zero_shot(self.encoder, image_vectors, labels, PROMPTS[fact])
            for row, best in enumerate(scores.best()):
                out[row][fact] = (labels[best], float(scores.probs[row, best]))
        return out

    def read_by_heads(self, items: Sequence[Item]) -> list[dict[str, tuple[str, bool]]]:
        """By the trained heads, per item (each with a photo): fact type -> (label, trusted at the operating point)."""
        if not self.heads or not items:
            return [{} for _ in items]
        if self.towers is None:  # once per reader, not once per item: a copy run fills item after item
            self.towers = load_towers(photo_tower_of(self.heads))
        features = item_features(items, "photo", self.towers)
        out: list[dict[str, tuple[str, bool]]] = [{} for _ in items]
        for fact, head in self.heads.items():
            labels, confidence = head.predict(features)
            for row, (label, trusted) in enumerate(zip(labels, head.trusted(confidence))):
                out[row][fact] = (label, bool(trusted))
        return out

    def fill(self, facts: ItemFacts, item: Item) -> ItemFacts:
        """``facts`` plus the missing labels the photo shows confidently (marked as such); given labels stay."""
        missing = [fact for fact in self.facts if fact not in facts.labels]
        if not missing or item.image is None:
            return facts
        confident: dict[str, str] = {}
        if any(fact in self.heads for fact in missing):
            read = self.read_by_heads([item])[0]
            confident.update({fact: read[fact][0] for fact in missing if fact in self.heads and read[fact][1]})
        by_zero_shot = [fact for fact in missing if fact not in self.heads and fact in self.values]
        if by_zero_shot and self.threshold <= 1:
            read = self.read(self.encoder.encode_image(item.image)[None], by_zero_shot)[0]
            confident.update({fact: read[fact][0] for fact in by_zero_shot if read[fact][1] >= self.threshold})
        if not confident:
            return facts
        return replace(facts, labels={**facts.labels, **confident},
                       from_photo=tuple(sorted({*facts.from_photo, *confident})))


def fill_precision(photo: PhotoFacts, items: Sequence[Item], image_vectors: np.ndarray,
                   thresholds: Sequence[float] = (0.5, 0.7, 0.9)) -> list[dict]:
    """As if each known label were missing: per fact type, the share of items the photo would fill (coverage) and
    the share of those fill-ins that equal the real label (precision). Zero-shot facts get a row per threshold,
    facts with a trained head one row at the head's operating point (``reader`` says which)."""
    zero_shot_read = photo.read(image_vectors, [fact for fact in photo.values if fact not in photo.heads])
    head_read = photo.read_by_heads(items)
    rows = []
    for fact in photo.facts:
        truth = [str(item.attributes.get(LABEL_OF[fact], "")).strip() for item in items]
        known = [i for i, value in enumerate(truth) if value and value.lower() not in MISSING]
        if fact in photo.heads:
            points = [(photo.heads[fact].threshold, "trained head", [i for i in known if head_read[i][fact][1]],
                       lambda i: head_read[i][fact][0])]
        else:
            points = [(t, "zero-shot", [i for i in known if zero_shot_read[i][fact][1] >= t],
                       lambda i: zero_shot_read[i][fact][0]) for t in thresholds]
        for threshold, reader, filled, label in points:
            right = sum(label(i) == truth[i] for i in filled)
            rows.append({"fact": fact, "reader": reader, "threshold": threshold, "items": len(known),
                         "coverage": len(filled) / max(len(known), 1),
                         "precision": right / len(filled) if filled else None})
    return rows


__all__ = ["PROMPTS", "PhotoFacts", "fill_precision"]
