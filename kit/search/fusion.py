"""Reciprocal rank fusion (Cormack, Clarke, Büttcher, SIGIR 2009): score(d) = Σ_lists 1 / (k + rank(d))."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int = 60) -> list[tuple[Hashable, float]]:
    """Fuse best-first lists into one best-first list of (id, fused score); ranks start at 1."""
    fused: dict[Hashable, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] += 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], str(pair[0])))
