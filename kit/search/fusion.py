"""Reciprocal rank fusion (Cormack, Clarke, Büttcher, SIGIR 2009), weighted:

    score(d) = Σ_lists w_list / (k + rank_list(d))

With equal weights this is plain RRF. A weight of 0 drops a list; a weight above 1 lets a list's order
win most ties (the hybrid search gives BM25 more weight the more of a query is in the catalog's own words).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from kit.errors import BadInput


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """Fuse best-first lists into one best-first list of (id, fused score); ranks start at 1."""
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise BadInput(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[Hashable, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        if weight <= 0:
            continue
        for rank, item in enumerate(ranking, start=1):
            fused[item] += weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], str(pair[0])))
