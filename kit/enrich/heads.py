"""One supervised head per attribute, and the confidence above which its labels can be trusted.

A head is a multinomial logistic regression (scikit-learn) over an item's features (:mod:`kit.enrich.features`).
Its operating point is a confidence threshold chosen on validation items so that the labels it keeps are
right at least ``target_precision`` of the time, judged by the 95% Wilson lower bound rather than the
raw share: a threshold chosen on a few hundred items has to hold on the next few hundred, so it buys that
margin with coverage instead of hoping.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from kit.catalog import Item
from kit.enrich.features import FeatureView, item_features, load_towers
from kit.errors import BadInput

MIN_EXAMPLES = 5  # a label seen fewer times in training is not learned (reported in ``AttributeHead.too_few``)


@dataclass
class AttributeHead:
    """A trained head: ``predict`` gives a label and its confidence; ``trusted`` says which to keep."""

    attribute: str
    view: FeatureView
    classifier: object  # a fitted sklearn LogisticRegression
    threshold: float  # the operating point (math.inf: no threshold reached the target; nothing is trusted)
    target_precision: float
    val_precision: float  # of the validation labels at or above the threshold
    val_coverage: float  # the share of validation items at or above it
    majority: str  # the commonest training label: the trivial baseline
    too_few: dict[str, int] = field(default_factory=dict)  # labels with fewer than MIN_EXAMPLES training items
    seconds: float = 0.0
    photo_tower_id: str = ""  # the tuned photo tower whose features it reads ("": the frozen ImageNet trunk)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def predict(self, features: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(label, confidence) per row: the most probable label and its probability."""
        probs = self.classifier.predict_proba(features)
        best = probs.argmax(axis=1)
        return [self.classes[i] for i in best], probs[np.arange(len(best)), best]

    def trusted(self, confidence: np.ndarray) -> np.ndarray:
        return np.asarray(confidence) >= self.threshold


@dataclass(frozen=True)
class HeadQuality:
    """How a head does on labelled items it never saw."""

    attribute: str
    view: str
    n: int
    accuracy: float  # top-1 over every labelled item (a label the head never learned counts as wrong)
    majority_accuracy: float  # always saying the commonest training label
    precision: float  # of the labels at or above the operating point (nan when none is)
    coverage: float  # the share of items at or above it


def labels_of(items: Sequence[Item], attribute: str) -> list[str | None]:
    """Each item's label for ``attribute`` as text (None when it has none), refusing a column that is not
    categorical: one value only, fractional numbers, or nearly one value per item (an id or free text)."""
    raw = [item.attributes.get(attribute) for item in items]
    values = [v for v in raw if v not in (None, "")]
    distinct = set(map(str, values))
    if not values:
        raise BadInput(f"no item has a value for {attribute!r}; attributes seen: "
                       f"{', '.join(sorted({k for item in items for k in item.attributes})[:12])}")
    if len(distinct) < 2:
        raise BadInput(f"{attribute!r} has one value ({next(iter(distinct))!r}); there is nothing to predict")
    if any(isinstance(v, float) and not float(v).is_integer() for v in values):
        raise BadInput(f"{attribute!r} holds fractional numbers; a head predicts categories, not quantities")
    if len(values) >= 20 and len(distinct) > 0.5 * len(values):
        raise BadInput(f"{attribute!r} is not categorical: {len(distinct)} distinct values in {len(values)} items "
                       "(like an id or free text)")
    return [None if v in (None, "") else str(v) for v in raw]


def wilson_lower(successes: np.ndarray, totals: np.ndarray, z: float = 1.96) -> np.ndarray:
    """The lower end of the Wilson score interval of a proportion (95% by default)."""
    totals = np.maximum(totals, 1)
    p = successes / totals
    centre = p + z * z / (2 * totals)
    spread = z * np.sqrt(p * (1 - p) / totals + z * z / (4 * totals * totals))
    return (centre - spread) / (1 + z * z / totals)


def operating_point(confidence: np.ndarray, correct: np.ndarray, target: float) -> tuple[float, float, float]:
    """(threshold, precision, coverage): the lowest confidence threshold whose kept labels' Wilson lower
    bound of precision reaches ``target`` (the most coverage that can be trusted); (inf, nan, 0) if none."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    kept = np.arange(1, len(order) + 1)
    ranked = confidence[order]
    boundary = np.append(ranked[1:] != ranked[:-1], True)  # ties: a threshold keeps all of a value or none
    good = np.flatnonzero((wilson_lower(hits, kept) >= target) & boundary)
    if not len(good):
        return math.inf, math.nan, 0.0
    last = int(good[-1])
    return float(confidence[order[last]]), float(hits[last] / kept[last]), float(kept[last] / len(order))


def train_head(features: np.ndarray, labels: Sequence[str | None], val_features: np.ndarray,
               val_labels: Sequence[str | None], attribute: str, view: FeatureView, target_precision: float = 0.95,
               c: float = 10.0, seed: int = 0) -> AttributeHead:
    """Fit one head on the labelled rows of ``features`` and choose its operating point on the validation rows."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    counts = Counter(label for label in labels if label is not None)
    learnable = {label for label, n in counts.items() if n >= MIN_EXAMPLES}
    if len(learnable) < 2:
        raise BadInput(f"{attribute!r} has fewer than two labels with {MIN_EXAMPLES}+ training items ({dict(counts)}); "
                       "there are too few labels to learn from")
    rows = [i for i, label in enumerate(labels) if label in learnable]
    classifier = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    classifier.fit(features[rows], [labels[i] for i in rows])
    head = AttributeHead(attribute, view, classifier, math.inf, target_precision, math.nan, 0.0,
                         counts.most_common(1)[0][0], {k: n for k, n in counts.items() if k not in learnable})
    val_rows = [i for i, label in enumerate(val_labels) if label is not None]
    if val_rows:
        predicted, confidence = head.predict(val_features[val_rows])
        correct = np.array([p == val_labels[i] for p, i in zip(predicted, val_rows)])
        head.threshold, head.val_precision, head.val_coverage = operating_point(confidence, correct, target_precision)
    head.seconds = time.perf_counter() - started
    return head


def train_heads(items: Sequence[Item], attributes: Sequence[str], view: FeatureView, val_items: Sequence[Item],
                target_precision: float = 0.95, c: float = 10.0, towers=None) -> dict[str, AttributeHead]:
    """One head per attribute over the same features (read once): trained on ``items``, calibrated on
    ``val_items``. Items without a photo are left out of a photo view."""
    if not 0 < target_precision < 1:
        raise BadInput(f"the target precision is a share between 0 and 1, got {target_precision}")
    if "photo" in view:
        items, val_items = [i for i in items if i.image], [i for i in val_items if i.image]
    towers = towers or load_towers()
    features, val_features = item_features(items, view, towers), item_features(val_items, view, towers)
    heads = {attribute: train_head(features, labels_of(items, attribute), val_features,
                                   labels_of(val_items, attribute), attribute, view, target_precision, c)
             for attribute in attributes}
    for head in heads.values():
        head.photo_tower_id = towers.photo_tower_id if "photo" in view else ""
    return heads


def evaluate_head(head: AttributeHead, features: np.ndarray, labels: Sequence[str | None]) -> HeadQuality:
    """Accuracy, the majority baseline and precision/coverage at the operating point on labelled rows."""
    rows = [i for i, label in enumerate(labels) if label is not None]
    if not rows:
        raise BadInput(f"no labelled item to evaluate the {head.attribute!r} head on")
    predicted, confidence = head.predict(features[rows])
    truth = [labels[i] for i in rows]
    correct = np.array([p == t for p, t in zip(predicted, truth)])
    kept = head.trusted(confidence)
    return HeadQuality(head.attribute, head.view, len(rows), float(correct.mean()),
                       float(np.mean([t == head.majority for t in truth])),
                       float(correct[kept].mean()) if kept.any() else math.nan, float(kept.mean()))


def save_heads(heads: dict[str, AttributeHead], path: str | Path) -> Path:
    """Write heads with joblib (scikit-learn's own format for fitted models)."""
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(heads, path)
    return path


def load_heads(path: str | Path) -> dict[str, AttributeHead]:
    import joblib

    try:
        heads = joblib.load(Path(path))
    except (OSError, EOFError, ValueError, KeyError) as error:
        raise BadInput(f"cannot read attribute heads from {path} ({error}); train them again: "
                       "python -m kit enrich train") from error
    if not isinstance(heads, dict) or not all(isinstance(h, AttributeHead) for h in heads.values()):
        raise BadInput(f"{path} does not hold attribute heads")
    return heads
