"""The evaluation protocol of the Scientific files: rank every item for every user, score the one held-out item.

With one relevant item (the definitions of kit.eval.metrics, vectorised over ranks; a test keeps them equal),
Recall@K is 1 when the target ranks in the top K, and NDCG@K is
``1 / log2(rank + 2)`` there (rank 0 is the top). As in RecBole's full-sort evaluation of
sequential models, items already in the history are not removed (people re-buy). Ties count
against the target (an item scored equal to the target ranks above it), so a constant scorer gets
no free hits.

Also here: the baselines that need no training (popularity, content nearest neighbours) and the
cold-item slice (test targets that appear nowhere in training).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kit.sequences import NextItemExample, SequenceData

KS = (10, 50)


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """``ranks``: 0-based rank of each target (``np.inf`` when a model did not list it)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        out[f"recall@{k}"] = float(hit.mean()) if len(ranks) else 0.0
        gains = np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 0) + 2), 0.0)
        out[f"ndcg@{k}"] = float(gains.mean()) if len(ranks) else 0.0
    out["n"] = int(len(ranks))
    return out


def ranks_from_scores(score: Callable[[list[tuple[int, ...]]], np.ndarray], examples: Sequence[NextItemExample],
                      batch_size: int = 512) -> np.ndarray:
    """Rank of each example's target under ``score(histories) -> (batch, n_items)`` (pessimistic ties)."""
    ranks = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        scores = np.asarray(score([e.history for e in chunk]), dtype=np.float32)
        targets = np.array([e.target for e in chunk])
        target_scores = scores[np.arange(len(chunk)), targets][:, None]
        ranks.append((scores >= target_scores).sum(axis=1) - 1)
    return np.concatenate(ranks) if ranks else np.zeros(0)


def ranks_from_lists(ranked: Sequence[Sequence[int]], examples: Sequence[NextItemExample]) -> np.ndarray:
    """Rank of each target in a model's own ranked list (``inf`` when it is not listed)."""
    out = np.full(len(examples), np.inf)
    for i, (items, example) in enumerate(zip(ranked, examples)):
        items = list(items)
        if example.target in items:
            out[i] = items.index(example.target)
    return out


def popularity_scorer(data: SequenceData) -> Callable[[list[tuple[int, ...]]], np.ndarray]:
    """Every user gets the train split's most frequent items (the floor every model must beat)."""
    counts = np.zeros(data.num_items, dtype=np.float32)
    for item, count in data.popularity("train").items():
        counts[item] = count
    return lambda histories: np.broadcast_to(counts, (len(histories), len(counts)))


def content_scorer(vectors: np.ndarray, last: int = 5) -> Callable[[list[tuple[int, ...]]], np.ndarray]:
    """Content nearest neighbours: cosine between items and the mean text vector of the last purchases."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

    def score(histories: list[tuple[int, ...]]) -> np.ndarray:
        profiles = np.stack([unit[list(h[-last:])].mean(axis=0) for h in histories])
        return profiles @ unit.T

    return score


def cold_test_examples(data: SequenceData) -> list[NextItemExample]:
    """Test examples whose target occurs in no train or valid row and not in the user's own history."""
    seen: set[int] = set()
    for split in ("train", "valid"):
        for example in data.splits[split]:
            seen.update(example.history)
            seen.add(example.target)
    return [e for e in data.splits["test"] if e.target not in seen and e.target not in e.history]
