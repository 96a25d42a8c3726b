"""Zero-shot attributes: score images against any label set through prompts, CLIP style.

    >>> scores = zero_shot(encoder, image_vectors, ["black", "blue", "white"], "a photo of a {} product")
    >>> scores.labels[scores.best()]            # the winning label per image
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.clip.encoder import ItemEncoder
from kit.errors import BadInput


@dataclass
class ZeroShotScores:
    labels: list[str]
    probs: np.ndarray  # (N images, L labels), softmax over labels

    def best(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    def top(self, row: int, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs[row])[:k]
        return [(self.labels[i], float(self.probs[row, i])) for i in order]


def zero_shot(encoder: ItemEncoder, image_vectors: np.ndarray, labels: list[str],
              template: str = "a photo of {}", temperature: float = 100.0) -> ZeroShotScores:
    """Softmax over labels of ``temperature * cos(image, prompt(label))``."""
    labels = [str(label) for label in labels]
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise BadInput(f"zero-shot needs at least two distinct labels, got {labels}")
    if "{}" not in template:
        raise BadInput(f"the template must contain '{{}}' where the label goes, got {template!r}")
    prompts = encoder.encode_texts([template.format(label) for label in labels])
    logits = temperature * np.asarray(image_vectors) @ prompts.T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return ZeroShotScores(labels, probs / probs.sum(axis=1, keepdims=True))


def zero_shot_accuracy(encoder: ItemEncoder, image_vectors: np.ndarray, truth: list[str],
                       template: str = "a photo of {}") -> float:
    """Accuracy of zero-shot labels against ``truth`` (the label set is the distinct truth values)."""
    labels = sorted(set(truth))
    scores = zero_shot(encoder, image_vectors, labels, template)
    predicted = [labels[i] for i in scores.best()]
    return float(np.mean([p == t for p, t in zip(predicted, truth)]))
