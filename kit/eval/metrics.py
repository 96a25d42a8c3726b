"""Ranking metrics for one ranked list against a set of relevant ids; average them over queries yourself.

All take ``ranked`` (best first) and ``relevant`` (a set, binary relevance). Definitions follow the
usual recommender conventions (Microsoft Recommenders, RecBole):

- Recall@K = |top-K ∩ relevant| / |relevant|
- Precision@K = |top-K ∩ relevant| / K
- HitRate@K = 1 if top-K ∩ relevant ≠ ∅
- NDCG@K = Σ_{i≤K, r_i relevant} 1/log2(i+1) / Σ_{i≤min(K,|relevant|)} 1/log2(i+1)
- MRR = 1 / rank of the first relevant item (0 when none is ranked)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Sequence

import numpy as np
from kit.errors import BadInput


def _check(k: int) -> None:
    if k <= 0:
        raise BadInput(f"k must be positive, got {k}")


def recall_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    _check(k)
    if not relevant:
        raise BadInput("recall is undefined for a query with no relevant items")
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def precision_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    _check(k)
    return len(set(ranked[:k]) & set(relevant)) / k


def hit_rate_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    _check(k)
    return float(bool(set(ranked[:k]) & set(relevant)))


def ndcg_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    _check(k)
    if not relevant:
        raise BadInput("NDCG is undefined for a query with no relevant items")
    relevant = set(relevant)
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def mrr(ranked: Sequence[Hashable], relevant: Collection[Hashable]) -> float:
    relevant = set(relevant)
    for i, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (i + 1)
    return 0.0


def catalog_coverage(recommendations: Iterable[Sequence[Hashable]], catalog_size: int) -> float:
    """Share of the catalog that appears in at least one recommendation list."""
    if catalog_size <= 0:
        raise BadInput("catalog_size must be positive")
    return len({item for ranked in recommendations for item in ranked}) / catalog_size


def intra_list_diversity(vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance (1 - cosine) between the items of one list; 0 for fewer than 2."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < 2:
        return 0.0
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    sims = unit @ unit.T
    n = len(unit)
    return float((1.0 - sims)[~np.eye(n, dtype=bool)].mean())


# -- beyond accuracy: what a set of recommendation lists does to the catalog --------------------------
# Definitions (Kaminskas and Bridge, "Diversity, Serendipity, Novelty, and Coverage", TiiS 2016):
# - novelty: mean self-information -log2 p(i) of the recommended items, p(i) = share of users who
#   interacted with i in training (Zhou et al., PNAS 2010); higher = less obvious items
# - popularity Gini: inequality of how often each catalog item is recommended (0 = every item equally
#   often, 1 = one item in every slot)
# - long-tail share: share of recommended slots that go to items outside the most popular ``head_fraction``
#   of the catalog (by training interactions)


def novelty(recommendations: Iterable[Sequence[Hashable]], interactions: dict[Hashable, int], users: int) -> float:
    """Mean self-information (bits) of the recommended items; an item nobody interacted with counts as seen once."""
    if users <= 0:
        raise BadInput("users must be positive")
    bits = [-math.log2(max(interactions.get(item, 0), 1) / users) for ranked in recommendations for item in ranked]
    return float(np.mean(bits)) if bits else 0.0


def popularity_gini(recommendations: Iterable[Sequence[Hashable]], catalog: Sequence[Hashable]) -> float:
    """Gini coefficient of recommendation counts over the whole catalog (items never recommended count 0)."""
    if not catalog:
        raise BadInput("catalog must not be empty")
    counts = dict.fromkeys(catalog, 0)
    for ranked in recommendations:
        for item in ranked:
            counts[item] = counts.get(item, 0) + 1
    values = np.sort(np.asarray(list(counts.values()), dtype=np.float64))
    if values.sum() == 0:
        return 0.0
    n = len(values)
    return float((2 * np.arange(1, n + 1) - n - 1) @ values / (n * values.sum()))


def long_tail_items(interactions: dict[Hashable, int], catalog: Sequence[Hashable], head_fraction: float = 0.2) -> set:
    """The catalog minus its ``head_fraction`` most interacted-with items (ties broken by catalog order)."""
    if not 0 <= head_fraction < 1:
        raise BadInput("head_fraction must be in [0, 1)")
    order = sorted(range(len(catalog)), key=lambda i: -interactions.get(catalog[i], 0))
    head = {catalog[i] for i in order[:int(round(head_fraction * len(catalog)))]}
    return set(catalog) - head


def long_tail_share(recommendations: Iterable[Sequence[Hashable]], tail: Collection[Hashable]) -> float:
    """Share of recommended slots filled by long-tail items."""
    slots = [item in tail for ranked in recommendations for item in ranked]
    return float(np.mean(slots)) if slots else 0.0


# Comparing systems on a sample: a percentile bootstrap interval of a mean (Efron and Tibshirani 1993), and
# Kendall's tau-b between two orderings of the same systems (1 = same order, -1 = reversed).


def bootstrap_interval(values: Sequence[float], level: float = 0.95, resamples: int = 1000,
                       seed: int = 0) -> tuple[float, float]:
    """The ``level`` percentile interval of the mean of ``values`` over ``resamples`` resamples with replacement."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        raise BadInput("a bootstrap needs at least one value")
    if not 0 < level < 1:
        raise BadInput("level must be in (0, 1)")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def kendall_tau(first: Sequence[float], second: Sequence[float]) -> float:
    """Kendall's tau-b of two scorings of the same systems (ties handled); nan when either is constant."""
    if len(first) != len(second) or len(first) < 2:
        raise BadInput("kendall_tau needs two equally long sequences of at least 2 values")
    from scipy.stats import kendalltau

    return float(kendalltau(first, second).statistic)
