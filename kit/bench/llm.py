"""LLMs for recommendation: the four paradigms side by side on sampled candidates, and one plan's cost."""

from __future__ import annotations

import time

import numpy as np

from kit.bench.records import Section, Table, Text
from kit.bench.roles import PHOTOS, SEQUENCES

PLAN_GOAL = "I'm hosting a brunch for four on Sunday"


def llm_paradigms(quick: bool = False) -> Section:
    from kit.bundled_catalogs import open_catalog
    from kit.clip.encoder import ItemEncoder
    from kit.llm.factory import describe_llm, load_chat_model
    from kit.llm.paradigms.evaluate import ParadigmSettings, compare_paradigms
    from kit.planning import Planner
    from kit.search import CatalogSearch

    llm = load_chat_model()
    settings = ParadigmSettings(n_users=5 if quick else 30, n_fit_users=5 if quick else 20, n_shuffles=3)
    report = compare_paradigms(llm, settings)
    calls = report.log.records
    per_call = float(np.mean([r.seconds for r in calls]))
    invalid = sum(r.error is not None for r in calls)
    planner = Planner(llm, CatalogSearch.build(open_catalog(PHOTOS), ItemEncoder.from_pretrained()))
    started = time.perf_counter()
    plan = planner.plan(PLAN_GOAL)
    plan_seconds = time.perf_counter() - started
    single, shuffled = report.position_bias_single, report.position_bias_bootstrap
    blocks = [
        Text(f"LLM: `{describe_llm()}` (set `KIT_LLM` or `--llm` to run the same benchmark with another backend: "
             "`python -m kit llm paradigms --llm openai:http://HOST/v1/MODEL`). Next-item ranking on "
             f"{SEQUENCES}: {settings.n_users} test users, {settings.n_candidates} candidates (the real next item + "
             f"{settings.n_candidates - 1} sampled)."),
        Table(["paradigm", "HitRate@1", "HitRate@5", "NDCG@10", "MRR", "popularity bias (Spearman)", "seconds"],
              [[r["name"], f"{r['HitRate@1']:.3f}", f"{r['HitRate@5']:.3f}", f"{r['NDCG@10']:.3f}", f"{r['MRR']:.3f}",
                f"{r['popularity_bias']:+.3f}", f"{r['seconds']:.0f}"] for r in report.rows]),
        Text(f"Beyond accuracy of each paradigm's top {settings.top} (text-vector diversity, novelty in bits, long-tail "
             "share, catalog coverage, popularity Gini; the same sampled candidates for every row):"),
        Table(["paradigm", "diversity", "novelty", "long tail", "coverage", "Gini"],
              [[r["name"], f"{r['diversity']:.3f}", f"{r['novelty']:.2f}", f"{r['long_tail']:.3f}", f"{r['coverage']:.4f}",
                f"{r['gini']:.3f}"] for r in report.rows]),
    ]
    if single:
        blocks.append(Text(
            f"Position bias of the single-order LLM ranker: its top choice was shown in the first 3 of "
            f"{settings.n_candidates} positions {sum(single[:3]):.0%} of the time (no bias: {3 / settings.n_candidates:.0%}); "
            f"after bootstrapping over {settings.n_shuffles} orders: {sum(shuffled[:3]):.0%}. Per presented position "
            f"(share of top choices), single order: {[round(v, 2) for v in single]}; bootstrapped: "
            f"{[round(v, 2) for v in shuffled]}."))
    blocks.append(Text(
        f"{len(calls)} LLM calls, {per_call:.1f} s each on average; {invalid} replies failed validation and were retried.\n\n"
        f"Planning: '{PLAN_GOAL}' on {PHOTOS} took {plan_seconds:.1f} s: {sum(len(s.needs) for s in plan.steps)} needs, "
        f"{len(plan.basket)} basket items, {len(plan.unmatched)} needs without a catalog match."))
    return Section(title="LLMs for recommendation", blocks=blocks, quick=quick,
                   settings={"llm": describe_llm(), "n_users": settings.n_users, "n_fit_users": settings.n_fit_users,
                             "n_candidates": settings.n_candidates, "n_shuffles": settings.n_shuffles},
                   numbers={"rows": report.rows, "position_bias_single": single, "position_bias_bootstrap": shuffled,
                            "calls": len(calls), "seconds_per_call": per_call, "invalid": invalid, "plan_seconds": plan_seconds})
