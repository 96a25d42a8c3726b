"""The accuracy-diversity trade-off of re-ranking, measured on held-out next purchases.

For each test example the base recommender's top ``candidates`` items are re-ranked to ``k`` by
:class:`MMRReranker` with one weight setting; the lists are then scored for accuracy (Recall@k: the
held-out item is in the list) and for what they do to the catalog (intra-list diversity, novelty, long-tail
share, coverage, popularity Gini; kit/eval/metrics.py). One row per setting: the curve a plot draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kit.eval import catalog_coverage, intra_list_diversity, long_tail_items, long_tail_share, novelty, popularity_gini
from kit.rerank.mmr import MMRReranker
from kit.sequences import NextItemExample

Scorer = Callable[[list[tuple[int, ...]]], np.ndarray]  # histories -> (len, num_items) scores


def beyond_accuracy(lists: Sequence[Sequence[int]], vectors: np.ndarray, interactions: dict[int, int], users: int,
                    tail: set[int]) -> dict[str, float]:
    """Every beyond-accuracy measure of a set of recommendation lists (item indices into ``vectors``)."""
    catalog = list(range(len(vectors)))
    return {"diversity": float(np.mean([intra_list_diversity(vectors[list(ranked)]) for ranked in lists])),
            "novelty": novelty(lists, interactions, users), "long_tail": long_tail_share(lists, tail),
            "coverage": catalog_coverage(lists, len(vectors)), "gini": popularity_gini(lists, catalog)}


def tradeoff(examples: Sequence[NextItemExample], score: Scorer, vectors: np.ndarray, interactions: dict[int, int],
             users: int, settings: Sequence[MMRReranker], k: int = 20, candidates: int = 100,
             head_fraction: float = 0.2, batch: int = 512) -> list[dict]:
    """One row per re-ranker setting: its weights, Recall@k and :func:`beyond_accuracy` of its lists."""
    tail = long_tail_items(interactions, list(range(len(vectors))), head_fraction)
    tops, top_scores = [], []
    for start in range(0, len(examples), batch):
        chunk = examples[start:start + batch]
        scores = np.asarray(score([e.history for e in chunk]), dtype=np.float64)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :candidates]
        tops += list(top)
        top_scores += list(np.take_along_axis(scores, top, 1))
    rows = []
    for reranker in settings:
        lists = [reranker.rerank(list(top), s, vectors[top], k, interactions=interactions, users=users)
                 for top, s in zip(tops, top_scores)]
        recall = float(np.mean([e.target in ranked for e, ranked in zip(examples, lists)]))
        rows.append({"relevance": reranker.relevance, "diversity_weight": reranker.diversity,
                     "novelty_weight": reranker.novelty, f"recall@{k}": recall,
                     **beyond_accuracy(lists, vectors, interactions, users, tail)})
    return rows
