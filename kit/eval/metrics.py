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


def _check(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")


def recall_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    _check(k)
    if not relevant:
        raise ValueError("recall is undefined for a query with no relevant items")
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
        raise ValueError("NDCG is undefined for a query with no relevant items")
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
        raise ValueError("catalog_size must be positive")
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
