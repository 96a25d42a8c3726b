"""The recommenders a simulated A/B test compares: each turns purchase histories into pages of items.

Declared once as data (``POLICIES``): the CLI's ``--policies`` choices, the notebook and the benchmark all read
this table. A page never repeats an item the shopper already bought. ``content+diversity`` is the content
recommender's top 50 re-ranked by :class:`kit.rerank.MMRReranker`, so the A/B test can weigh the trade-off that
re-ranking makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from kit.rerank import MMRReranker
from kit.semids.ranking import content_scorer, popularity_scorer
from kit.sequences import SequenceData

Histories = list[tuple[int, ...]]
Pages = Callable[[Histories, int], list[list[int]]]  # (histories, page size) -> one page per history


def top_pages(scores: np.ndarray, histories: Histories, k: int) -> list[list[int]]:
    """The ``k`` best-scored items per row, best first, skipping each history's own items."""
    scores = np.array(scores, dtype=np.float64)
    for row, history in enumerate(histories):
        scores[row, list(history)] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [list(map(int, row)) for row in top]


def _scored(score: Callable[[Histories], np.ndarray]) -> Pages:
    return lambda histories, k: top_pages(score(histories), histories, k)


def random_pages(data: SequenceData, vectors: np.ndarray, seed: int) -> Pages:
    rng = np.random.default_rng(seed)
    return _scored(lambda histories: rng.random((len(histories), data.num_items)))


def popularity_pages(data: SequenceData, vectors: np.ndarray, seed: int) -> Pages:
    return _scored(popularity_scorer(data))


def co_purchase_pages(data: SequenceData, vectors: np.ndarray, seed: int, window: int = 3, last: int = 3) -> Pages:
    """Items bought within ``window`` purchases of the history's last ``last`` items by train users."""
    sequences: dict[int, tuple[int, ...]] = {}
    for example in data.splits["train"]:
        sequence = (*example.history, example.target)
        if len(sequence) > len(sequences.get(example.user, ())):
            sequences[example.user] = sequence  # a user's train rows are prefixes of the longest one
    rows, cols = [], []
    for sequence in sequences.values():
        for i, item in enumerate(sequence):
            for other in sequence[i + 1:i + 1 + window]:
                rows += [item, other]
                cols += [other, item]
    n = data.num_items
    counts = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))
    popularity = popularity_scorer(data)([()])[0]
    tie_break = 1e-3 * popularity / max(float(popularity.max()), 1.0)  # also fills pages of unknown items

    def score(histories: Histories) -> np.ndarray:
        picks = sparse.csr_matrix((np.ones(sum(min(len(h), last) for h in histories)),
                                   ([r for r, h in enumerate(histories) for _ in h[-last:]],
                                    [i for h in histories for i in h[-last:]])), shape=(len(histories), n))
        return np.asarray((picks @ counts).todense()) + tie_break

    return _scored(score)


def content_pages(data: SequenceData, vectors: np.ndarray, seed: int) -> Pages:
    return _scored(content_scorer(vectors, last=5))


def diverse_content_pages(data: SequenceData, vectors: np.ndarray, seed: int, candidates: int = 50,
                          diversity: float = 0.5) -> Pages:
    score, reranker = content_scorer(vectors, last=5), MMRReranker(diversity=diversity)

    def pages(histories: Histories, k: int) -> list[list[int]]:
        scores = score(histories)
        out = []
        for row, top in zip(scores, top_pages(scores, histories, candidates)):
            out.append(reranker.rerank(top, row[top], vectors[top], k))
        return out

    return pages


@dataclass(frozen=True)
class Policy:
    name: str
    help: str
    make: Callable[[SequenceData, np.ndarray, int], Pages]  # (data, item vectors, seed) -> page maker


POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("random", "items drawn uniformly (the floor)", random_pages),
    Policy("popularity", "the most bought items in train", popularity_pages),
    Policy("co-purchase", "items bought near the last purchases by other users", co_purchase_pages),
    Policy("content", "text nearest neighbours of the last five purchases", content_pages),
    Policy("content+diversity", "the content top 50 re-ranked by MMR (diversity 0.5)", diverse_content_pages),
)}
