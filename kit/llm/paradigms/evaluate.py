"""The four paradigms side by side on one task, with the baselines and the ranker's biases.

    report = compare_paradigms(load_chat_model(), ParadigmSettings(n_users=50))
    print(report.markdown())
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from kit.eval.metrics import (catalog_coverage, hit_rate_at_k, intra_list_diversity, long_tail_items, long_tail_share,
                              mrr, ndcg_at_k, novelty, popularity_gini)
from kit.llm.chat import CallLog, ChatModel
from kit.llm.paradigms.embeddings import EmbeddingRecommender
from kit.llm.paradigms.features import ProfileFeatureRecommender
from kit.llm.paradigms.rag import RAGRecommender
from kit.llm.paradigms.reranker import LLMRanker, popularity_bias, position_bias
from kit.llm.paradigms.task import (ItemTexts, PopularityRanker, RandomRanker, Ranker, RankingCase,
                                    build_ranking_cases, user_popularity)
from kit.sequences import SequenceData, load_amazon_scientific


@dataclass(frozen=True)
class ParadigmSettings:
    n_users: int = 50  # test cases
    n_fit_users: int = 30  # validation cases that fit paradigm 2's scorer
    n_candidates: int = 20
    n_shuffles: int = 3  # orders per case for the bootstrapped ranker
    seed: int = 0
    top: int = 5  # the shown list whose beyond-accuracy measures are reported


def beyond_accuracy_metrics(rankings: list[list[int]], texts: ItemTexts, popularity: dict[int, int], users: int,
                            top: int) -> dict[str, float]:
    """Diversity (text vectors), novelty and long-tail share (train buyers), coverage and Gini of each top list.

    The candidates are the real next item plus sampled ones, so coverage and Gini are over the whole catalog
    but bounded by what was sampled; they compare paradigms on the same candidates, not with full-ranking models.
    """
    lists = [list(r[:top]) for r in rankings]
    catalog = list(range(len(texts.data.texts)))
    return {"diversity": float(np.mean([intra_list_diversity(texts.vectors(items)) for items in lists])),
            "novelty": novelty(lists, popularity, users),
            "long_tail": long_tail_share(lists, long_tail_items(popularity, catalog)),
            "coverage": catalog_coverage(lists, len(catalog)), "gini": popularity_gini(lists, catalog)}


def ranking_metrics(rankings: list[list[int]], cases: list[RankingCase]) -> dict[str, float]:
    rows = [(r, {c.target}) for r, c in zip(rankings, cases)]
    return {"HitRate@1": float(np.mean([hit_rate_at_k(r, t, 1) for r, t in rows])),
            "HitRate@5": float(np.mean([hit_rate_at_k(r, t, 5) for r, t in rows])),
            "NDCG@10": float(np.mean([ndcg_at_k(r, t, 10) for r, t in rows])),
            "MRR": float(np.mean([mrr(r, t) for r, t in rows]))}


@dataclass
class ParadigmReport:
    model: str
    settings: ParadigmSettings
    rows: list[dict] = field(default_factory=list)  # name, metrics, popularity bias, seconds
    position_bias_single: list[float] = field(default_factory=list)
    position_bias_bootstrap: list[float] = field(default_factory=list)
    log: CallLog = field(default_factory=CallLog)

    def to_dict(self) -> dict:
        return {"model": self.model, "settings": asdict(self.settings), "rows": self.rows,
                "position_bias_single": self.position_bias_single,
                "position_bias_bootstrap": self.position_bias_bootstrap, "llm_calls": len(self.log)}

    def markdown(self) -> str:
        s = self.settings
        lines = [f"Next-item ranking on Amazon Scientific: {s.n_users} test users, {s.n_candidates} candidates "
                 f"(the real next item + {s.n_candidates - 1} sampled), LLM `{self.model}`.", "",
                 "| paradigm | HitRate@1 | HitRate@5 | NDCG@10 | MRR | popularity bias (Spearman) | seconds |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['name']} | {r['HitRate@1']:.3f} | {r['HitRate@5']:.3f} | {r['NDCG@10']:.3f} | "
                         f"{r['MRR']:.3f} | {r['popularity_bias']:+.3f} | {r['seconds']:.0f} |")
        lines += ["", f"Beyond accuracy of each paradigm's top {s.top} (text-vector diversity, novelty in bits, long-tail "
                      "share, catalog coverage, popularity Gini; the same sampled candidates for every row):", "",
                  "| paradigm | diversity | novelty | long tail | coverage | Gini |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['name']} | {r['diversity']:.3f} | {r['novelty']:.2f} | {r['long_tail']:.3f} | "
                         f"{r['coverage']:.4f} | {r['gini']:.3f} |")
        if self.position_bias_single:
            first = sum(self.position_bias_single[:3])
            lines += ["", f"Position bias of the single-order LLM ranker: its top choice was shown in the first 3 "
                          f"of {s.n_candidates} positions {first:.0%} of the time (no bias: "
                          f"{3 / s.n_candidates:.0%}); after bootstrapping over {s.n_shuffles} orders: "
                          f"{sum(self.position_bias_bootstrap[:3]):.0%}."]
        return "\n".join(lines)


def run_ranker(ranker: Ranker, cases: list[RankingCase]) -> tuple[list[list[int]], float]:
    started = time.perf_counter()
    rankings = [ranker.rank(case) for case in cases]
    return rankings, time.perf_counter() - started


def compare_paradigms(llm: ChatModel, settings: ParadigmSettings = ParadigmSettings(),
                      data: SequenceData | None = None, texts: ItemTexts | None = None) -> ParadigmReport:
    # 1. the task and the shared pieces
    data = data or load_amazon_scientific()
    texts = texts or ItemTexts(data)
    popularity = user_popularity(data)
    cases = build_ranking_cases(data, "test", settings.n_users, settings.n_candidates, seed=settings.seed)
    fit_cases = build_ranking_cases(data, "valid", settings.n_fit_users, settings.n_candidates, seed=settings.seed)
    report = ParadigmReport(llm.name, settings)
    # 2. the rankers: baselines, then paradigms 1 to 4
    single = LLMRanker(llm, texts, n_shuffles=1, seed=settings.seed, log=report.log)
    bootstrap = LLMRanker(llm, texts, n_shuffles=settings.n_shuffles, seed=settings.seed, log=report.log)
    started = time.perf_counter()
    profile = ProfileFeatureRecommender(llm, texts, popularity, log=report.log).fit(fit_cases)
    fit_seconds = time.perf_counter() - started
    rankers: list[Ranker] = [RandomRanker(settings.seed), PopularityRanker(popularity), EmbeddingRecommender(texts),
                             profile, single, bootstrap, RAGRecommender(llm, texts, log=report.log)]
    # 3. rank, score, and measure popularity bias for each
    results = {}
    for ranker in rankers:
        rankings, seconds = run_ranker(ranker, cases)
        results[ranker.name] = rankings
        seconds += fit_seconds if ranker is profile else 0.0
        report.rows.append({"name": ranker.name, **ranking_metrics(rankings, cases),
                            "popularity_bias": popularity_bias(rankings, popularity), "seconds": seconds,
                            **beyond_accuracy_metrics(rankings, texts, popularity, data.user_count(), settings.top)})
    # 4. position bias, before and after bootstrapping
    presented = [c.candidates for c in cases]
    report.position_bias_single = position_bias(presented, results[single.name]).tolist()
    report.position_bias_bootstrap = position_bias(presented, results[bootstrap.name]).tolist()
    return report
