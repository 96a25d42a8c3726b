"""What the tuned chat model learned, measured against the strongest simple baselines.

- **Ranking** (paradigm 3): the paradigms' protocol (the real next item among sampled candidates, kit/llm/
  paradigms), the tuned model ranking by P(" Yes") to "would this shopper buy X?", beside random,
  popularity and embeddings + kNN on the same cases, with bootstrap intervals, and its position bias (the
  share of top picks shown in the first 3 positions; 3/20 = 0.15 for a ranker that ignores position).
- **Where a training step's time goes**: drawing and packing the batch, forward, backward, optimizer.
- **Steering**: "like my purchases, but by BRAND / in CATEGORY": the share of the constrained beams' top 10
  that satisfies the constraint, and the recall of the real next item (which satisfies it), against a
  sequential recommender's ranking filtered by the same constraint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kit.eval.metrics import ndcg_at_k
from kit.llm.paradigms.embeddings import EmbeddingRecommender
from kit.llm.paradigms.evaluate import ranking_metrics
from kit.llm.paradigms.task import (ItemTexts, PopularityRanker, RandomRanker, RankingCase, build_ranking_cases,
                                    user_popularity)
from kit.semids.chat_items import ItemChat
from kit.semids.item_tasks import ItemFacts, steered_prompt
from kit.sequences import NextItemExample, SequenceData

Scorer = Callable[[list[tuple[int, ...]]], np.ndarray]  # histories -> (n, num_items) scores


class TunedRanker:
    """Paradigm 3, pointwise: candidates ordered by the tuned model's P(" Yes") (TALLRec)."""

    name = "3 tuned LLM ranker (Yes/No)"

    def __init__(self, chat: ItemChat) -> None:
        self.chat = chat

    def rank(self, case: RankingCase) -> list[int]:
        scores = self.chat.would_buy_scores(case.history, list(case.candidates))
        return [case.candidates[i] for i in np.argsort(-scores, kind="stable")]


def bootstrap_interval(values: np.ndarray, seed: int = 0, draws: int = 1000) -> tuple[float, float]:
    """The 95% percentile interval of the mean over resampled users."""
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(draws, len(values)), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def first_positions_share(cases: list[RankingCase], rankings: list[list[int]], first: int = 3) -> float:
    """The share of top picks that were shown in the first ``first`` positions."""
    return float(np.mean([case.candidates.index(ranking[0]) < first for case, ranking in zip(cases, rankings)]))


@dataclass
class RankingReport:
    users: int
    candidates: int
    rows: dict[str, dict[str, float]]  # ranker -> HitRate@1/5, NDCG@10, MRR, their intervals, top-3 share


def ranking_report(chat: ItemChat, data: SequenceData, users: int = 1000, candidates: int = 20, seed: int = 0,
                   extra: tuple = ()) -> RankingReport:
    """The tuned ranker beside random, popularity and embeddings + kNN (and ``extra`` rankers) on the same cases."""
    cases = build_ranking_cases(data, "test", users, candidates, seed=seed)
    rankers = [RandomRanker(seed), PopularityRanker(user_popularity(data)), EmbeddingRecommender(ItemTexts(data)),
               *extra, TunedRanker(chat)]
    rows = {}
    for ranker in rankers:
        rankings = [ranker.rank(case) for case in cases]
        hits = np.array([r[0] == c.target for r, c in zip(rankings, cases)], dtype=float)
        ndcg = np.array([ndcg_at_k(r, {c.target}, 10) for r, c in zip(rankings, cases)])
        rows[ranker.name] = {**ranking_metrics(rankings, cases), "HitRate@1 95%": bootstrap_interval(hits, seed),
                             "NDCG@10 95%": bootstrap_interval(ndcg, seed),
                             "top pick in first 3": first_positions_share(cases, rankings)}
    return RankingReport(len(cases), candidates, rows)


def steering_examples(data: SequenceData, facts: ItemFacts, users: int, seed: int = 0
                      ) -> list[tuple[NextItemExample, str, str]]:
    """Test purchases with a constraint their item satisfies (its brand or its category, drawn at random)."""
    rng = np.random.default_rng(seed)
    usable = [e for e in data.splits["test"] if facts.constraints(e.target)]
    picks = rng.choice(len(usable), min(users, len(usable)), replace=False)
    out = []
    for i in sorted(picks):
        options = facts.constraints(usable[i].target)
        kind, value = options[int(rng.integers(len(options)))]
        out.append((usable[i], kind, value))
    return out


def steering_report(chat: ItemChat, data: SequenceData, facts: ItemFacts, baseline: Scorer, users: int = 300,
                    seed: int = 0, k: int = 10) -> dict[str, dict[str, float]]:
    """Share of the top ``k`` that satisfies the constraint and Recall@k of the real next item: the tuned model
    steered in words, the ``baseline`` scorer without the constraint, and the baseline filtered by it."""
    examples = steering_examples(data, facts, users, seed)
    prompts = [steered_prompt(chat.prompts, e.history, kind, value) for e, kind, value in examples]
    steered, _ = chat.recommend_prompts(prompts, k)
    scores = baseline([e.history for e, _, _ in examples])
    plain = [list(np.argsort(-row)[:k]) for row in scores]
    filtered = []
    for row, (_, kind, value) in zip(scores, examples):
        allowed = np.flatnonzero([facts.satisfies(i, kind, value) for i in range(len(row))])
        filtered.append(list(allowed[np.argsort(-row[allowed], kind="stable")][:k]))  # fewer when few items match

    def measure(lists: list[list[int]]) -> dict[str, float]:
        share = [np.mean([facts.satisfies(i, kind, value) for i in items]) if items else 0.0
                 for items, (_, kind, value) in zip(lists, examples)]
        recall = np.array([e.target in items[:k] for items, (e, _, _) in zip(lists, examples)], dtype=float)
        return {"satisfies": float(np.mean(share)), f"recall@{k}": float(recall.mean()),
                f"recall@{k} 95%": bootstrap_interval(recall, seed)}

    return {"users": len(examples), "tuned LLM, steered in words": measure(steered),
            "baseline, unconstrained": measure(plain), "baseline filtered by the constraint": measure(filtered)}


def step_profile(chat: ItemChat, data: SequenceData, steps: int = 5, seed: int = 0) -> dict[str, float]:
    """Mean seconds per training step spent drawing and packing the batch, in the forward, the backward and the
    optimizer, and the answer and total tokens per step, over ``steps`` steps on a copy of the optimizer state
    (the weights move: profile a model you are about to train or throw away)."""
    rng = np.random.default_rng(seed)
    optimizer, _ = chat.configure_optimizers()  # the schedule is not stepped: these steps are thrown away
    chat.train()
    totals = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0, "tokens": 0.0, "answer_tokens": 0.0}
    for _ in range(steps):
        started = time.perf_counter()
        batch = chat.examples(data, "train", rng, chat.config.batch_size)
        tokens, _, _, targets = chat.pack(batch)
        totals["tokens"] += tokens.shape[1]
        totals["answer_tokens"] += len(targets)
        totals["data"] += time.perf_counter() - started
        started = time.perf_counter()
        loss = chat.loss(batch)  # packs the batch again (tokenizing is cheap next to the model)
        totals["forward"] += time.perf_counter() - started
        started = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        totals["backward"] += time.perf_counter() - started
        started = time.perf_counter()
        optimizer.step()
        totals["optimizer"] += time.perf_counter() - started
    chat.eval()
    return {name: value / steps for name, value in totals.items()}
