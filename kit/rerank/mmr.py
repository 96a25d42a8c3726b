"""Re-ranking a candidate list for more than accuracy: maximal marginal relevance with more objectives.

Carbonell and Goldstein's MMR picks items one at a time, trading the next item's relevance against how
much it repeats what is already picked. Here each candidate's value at a step is

    w_rel * rel(i) + w_nov * nov(i) - w_price * price(i) - w_div * max_{j picked} sim(i, j)

with relevance, novelty (self-information of the item's popularity) and price each min-max scaled to
[0, 1] over the candidates, and sim the cosine of the items' vectors. With only ``relevance`` weighted
the order is the recommender's own; raising ``diversity`` spreads the list over kinds of items, raising
``novelty`` moves it towards the long tail, raising ``price`` towards cheaper items. Any recommender's
top candidates can be re-ranked: the candidates, their scores and their vectors are all it needs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from kit.errors import BadInput


def _scaled(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min() if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


@dataclass(frozen=True)
class MMRReranker:
    """Weights of the four objectives (non-negative; only their ratios matter)."""

    relevance: float = 1.0
    diversity: float = 0.0
    novelty: float = 0.0
    price: float = 0.0

    def __post_init__(self) -> None:
        weights = (self.relevance, self.diversity, self.novelty, self.price)
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) == 0:
            raise BadInput(f"re-ranking weights must be non-negative, finite and not all zero, got {weights}")

    def rerank(self, items: Sequence[Hashable], scores: Sequence[float], vectors: np.ndarray, k: int,
               interactions: dict[Hashable, int] | None = None, users: int | None = None,
               prices: Sequence[float | None] | None = None) -> list[Hashable]:
        """The best ``k`` of ``items`` (with the recommender's ``scores`` and one vector each), in order.

        ``interactions``/``users`` give novelty (needed when ``novelty`` > 0); ``prices`` (None where unknown,
        treated as the median) are needed when ``price`` > 0."""
        n = len(items)
        scores = np.asarray(scores, dtype=np.float64)
        vectors = np.asarray(vectors, dtype=np.float64)
        if len(scores) != n or len(vectors) != n:
            raise BadInput(f"{n} items but {len(scores)} scores and {len(vectors)} vectors; give one of each per item")
        if k < 1:
            raise BadInput(f"k must be at least 1, got {k}")
        value = self.relevance * _scaled(scores)
        if self.novelty > 0:
            if interactions is None or not users:
                raise BadInput("novelty needs the training interactions per item and the number of users")
            bits = np.array([-math.log2(max(interactions.get(item, 0), 1) / users) for item in items])
            value = value + self.novelty * _scaled(bits)
        if self.price > 0:
            if prices is None or len(prices) != n:
                raise BadInput("price needs one price (or None) per item")
            known = [p for p in prices if p is not None and math.isfinite(p)]
            if not known:
                raise BadInput("price weighting needs at least one known price")
            middle = float(np.median(known))
            value = value - self.price * _scaled(np.array([middle if p is None or not math.isfinite(p) else p
                                                           for p in prices], dtype=np.float64))
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        picked: list[int] = []
        redundancy = np.zeros(n)  # max similarity to what is picked so far
        available = np.ones(n, dtype=bool)
        for _ in range(min(k, n)):
            gain = np.where(available, value - self.diversity * redundancy, -np.inf)
            best = int(np.argmax(gain))
            picked.append(best)
            available[best] = False
            redundancy = np.maximum(redundancy, unit @ unit[best])
        return [items[i] for i in picked]
