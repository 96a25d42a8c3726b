"""Why a sequence model recommends an item: the history items it really used, found by taking each one away.

An explanation that the model did not use is a story. For a next-item recommender the honest evidence is
counterfactual (occlusion, as in Zeiler & Fergus 2014; the "leave-one-out" explanations of recommenders):
score the recommended item with the whole history, then once with each history item removed; the items
whose removal costs the recommendation most rank places are the ones the model relied on::

    rank_without(h) = rank of the item when history item h is left out
    evidence        = history items with rank_without(h) > rank, most places lost first

It works for every scorer with the kit's ``score(histories) -> (batch, n_items)`` signature (popularity,
content neighbours, co-purchase, SASRec, and TIGER through :meth:`kit.semids.tiger.Tiger.score`), one
batched call of ``len(history) + 1`` rows. When no removal moves the item (popularity), the explanation
says the history did not matter instead of inventing a reason.

Measuring an explanation with the quantity that chose it proves nothing: the named item is by construction
the one whose removal costs most, so "removing it hurts more than removing another" cannot fail.
:func:`faithfulness` therefore also measures *sufficiency* (DeYoung et al., ERASER 2020), which the
explainer never looked at: the item's rank when the history is the named item alone, against the same for
the simplest explainer ("because you just bought X", the most recent purchase) and for a random other
history item::

    rank_only(h) = rank of the item when the history is just (h,)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

Histories = list[tuple[int, ...]]
Scorer = Callable[[Histories], np.ndarray]  # histories -> (batch, n_items) scores, higher is better


@dataclass(frozen=True)
class HistoryEvidence:
    """One history item and what leaving it out does to the recommendation."""

    position: int  # in the history, 0 = oldest
    item: int
    title: str
    rank_without: int  # 0-based rank of the recommended item without this history item


@dataclass(frozen=True)
class Explanation:
    """A recommended item, its rank, the evidence behind it and the sentence a product card shows."""

    item: int
    title: str
    rank: int
    model: str
    why: str
    evidence: list[HistoryEvidence] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def rank_of(scores: np.ndarray, item: int) -> int:
    """0-based rank of ``item`` in one row of scores; ties count against it (as in kit.semids.ranking).

    A score that is not a number (a scorer given an empty history) ranks last.
    """
    if not np.isfinite(scores[item]):
        return len(scores) - 1
    return int((scores >= scores[item]).sum() - 1)


def _short(title: str, words: int = 8) -> str:
    parts = title.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def explain_next(score: Scorer, history: Sequence[int], item: int, titles: Sequence[str], model: str,
                 top: int = 2, exclude_history: bool = True) -> Explanation:
    """Explain why ``model`` (scored by ``score``) recommends ``item`` after ``history``.

    The ``top`` history items whose removal costs the item most places become the sentence; every item
    that costs at least one place is kept in ``evidence``. With ``exclude_history`` ranks are among the
    items not bought yet (what a page shows), in every occluded row too.
    """
    history = tuple(int(i) for i in history)
    occluded = [history[:p] + history[p + 1:] for p in range(len(history))]
    scores = np.array(score([history, *occluded]), dtype=np.float64)
    if exclude_history:
        scores[:, [i for i in history if i != item]] = -np.inf
    rank = rank_of(scores[0], item)
    evidence = sorted((HistoryEvidence(p, history[p], titles[history[p]], rank_of(scores[p + 1], item))
                       for p in range(len(history)) if rank_of(scores[p + 1], item) > rank),
                      key=lambda e: (-e.rank_without, -e.position))
    if not evidence:
        why = f"{model} ranks it #{rank + 1} whatever you bought before (your history did not change its score)"
    else:
        reasons = "; ".join(f"'{_short(e.title)}' (without it: #{e.rank_without + 1})" for e in evidence[:top])
        why = f"{model} ranks it #{rank + 1} because you bought {reasons}"
    return Explanation(int(item), titles[item], rank, model, why, evidence)


def recommend_with_reasons(score: Scorer, history: Sequence[int], titles: Sequence[str], model: str, k: int = 5,
                           exclude_history: bool = True) -> list[Explanation]:
    """The ``k`` best items after ``history`` (not re-recommending what was bought), each explained."""
    scores = np.array(score([tuple(history)]), dtype=np.float64)[0]
    if exclude_history:
        scores[list(history)] = -np.inf
    best = np.argsort(-scores, kind="stable")[:k]
    return [explain_next(score, history, int(i), titles, model, exclude_history=exclude_history) for i in best]


@dataclass(frozen=True)
class Faithfulness:
    """Ranks (1-based) of each explained user's top recommendation under occlusions of its history.

    ``without_*``: that history item removed (comprehensiveness; for the named item the largest cost by
    construction, so it is a description, not a test). ``only_*``: the history is that item alone
    (sufficiency, which the explainer never measured). ``named_is_recent``: users whose named item is their
    most recent purchase (there the two explainers agree).
    """

    model: str
    users: int
    explained: int
    without_named: list[int]
    without_other: list[int]
    only_named: list[int]
    only_recent: list[int]
    only_other: list[int]
    named_is_recent: list[bool]

    def summary(self) -> dict:
        """Medians, and the share of explained users whose named item alone keeps the pick at least as high
        as the most recent purchase alone, counted where the two differ."""
        median = lambda v: float(np.median(v)) if v else None  # noqa: E731
        differ = [(n, r) for n, r, same in zip(self.only_named, self.only_recent, self.named_is_recent) if not same]
        return {"model": self.model, "users": self.users, "explained": self.explained,
                "median_without_named": median(self.without_named), "median_without_other": median(self.without_other),
                "median_only_named": median(self.only_named), "median_only_recent": median(self.only_recent),
                "median_only_other": median(self.only_other),
                "named_is_recent": float(np.mean(self.named_is_recent)) if self.named_is_recent else None,
                "named_beats_recent_where_they_differ": float(np.mean([n <= r for n, r in differ])) if differ else None,
                "differ": len(differ)}


def faithfulness(score: Scorer, examples: Sequence, titles: Sequence[str], model: str, seed: int = 0) -> Faithfulness:
    """Occlusion measurements of each example's top recommendation (``examples``: objects with a ``history``
    of at least 2 items), one batched scorer call per example."""
    rng = random.Random(seed)
    out: dict[str, list] = {k: [] for k in ("without_named", "without_other", "only_named", "only_recent",
                                            "only_other", "named_is_recent")}
    explained = 0
    for example in examples:
        history = tuple(int(i) for i in example.history)
        top = recommend_with_reasons(score, history, titles, model, k=1)[0]
        if not top.evidence:
            continue
        explained += 1
        named = top.evidence[0].position
        other = rng.choice([p for p in range(len(history)) if p != named])
        recent = len(history) - 1
        rows = [history[:other] + history[other + 1:], (history[named],), (history[recent],), (history[other],)]
        scores = np.array(score(rows), dtype=np.float64)
        scores[:, [i for i in history if i != top.item]] = -np.inf  # ranks among items not bought yet
        without_other, only_named, only_recent, only_other = (rank_of(row, top.item) + 1 for row in scores)
        out["without_named"].append(top.evidence[0].rank_without + 1)
        for key, value in (("without_other", without_other), ("only_named", only_named),
                           ("only_recent", only_recent), ("only_other", only_other), ("named_is_recent", named == recent)):
            out[key].append(value)
    return Faithfulness(model, len(examples), explained, **out)


__all__ = ["Explanation", "Faithfulness", "HistoryEvidence", "Scorer", "explain_next", "faithfulness", "rank_of",
           "recommend_with_reasons"]
