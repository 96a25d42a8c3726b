"""The accuracy-diversity trade-off of re-ranking, measured on held-out next purchases.

For each test example the base recommender's top ``candidates`` items are re-ranked to ``k`` by
:class:`MMRReranker` with one weight setting; the lists are then scored for accuracy (Recall@k: the
held-out item is in the list) and for what they do to the catalog (intra-list diversity, novelty, long-tail
share, coverage, popularity Gini; kit/eval/metrics.py). One row per setting: the curve a plot draws.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

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
    """One row per re-ranker setting on next-item examples: its weights, Recall@k, :func:`beyond_accuracy`."""
    return tradeoff_for(list(e.history for e in examples), [{e.target} for e in examples], score, vectors,
                        interactions, users, settings, k, candidates, head_fraction, batch)


def tradeoff_for(queries: Sequence, relevant: Sequence[Collection[int]], score: Callable[[list], np.ndarray],
                 vectors: np.ndarray, interactions: dict[int, int], users: int, settings: Sequence[MMRReranker],
                 k: int = 20, candidates: int = 100, head_fraction: float = 0.2, batch: int = 512,
                 exclude: Sequence[Collection[int]] | None = None) -> list[dict]:
    """The general form: ``score(queries[i:j])`` gives (rows, num_items) scores (a history, a user id, ...);
    ``relevant[i]`` is what row i really chose (Recall@k = share of it in the list); ``exclude[i]`` items are
    never recommended to row i (e.g. a user's train bundles)."""
    tail = long_tail_items(interactions, list(range(len(vectors))), head_fraction)
    tops, top_scores = [], []
    for start in range(0, len(queries), batch):
        scores = np.array(score(list(queries[start:start + batch])), dtype=np.float64)
        if exclude is not None:
            for row, items in enumerate(exclude[start:start + batch]):
                scores[row, list(items)] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :candidates]
        tops += list(top)
        top_scores += list(np.take_along_axis(scores, top, 1))
    rows = []
    for reranker in settings:
        lists = [reranker.rerank(list(top), s, vectors[top], k, interactions=interactions, users=users)
                 for top, s in zip(tops, top_scores)]
        recall = float(np.mean([len(set(ranked) & set(real)) / len(real) for ranked, real in zip(lists, relevant)]))
        rows.append({"relevance": reranker.relevance, "diversity_weight": reranker.diversity,
                     "novelty_weight": reranker.novelty, f"recall@{k}": recall,
                     **beyond_accuracy(lists, vectors, interactions, users, tail)})
    return rows
