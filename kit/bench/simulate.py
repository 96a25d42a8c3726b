"""Simulated shoppers (issue 20): the simulated A/B table of both simulators, and their validation against
real purchases."""

from __future__ import annotations

import time

import numpy as np

from kit.bench.records import Section, Table, Text
from kit.bench.roles import BUNDLES, SEQUENCES


def simulated_shoppers(quick: bool = False) -> Section:
    from kit.llm.factory import describe_llm, load_chat_model
    from kit.simulate import POLICIES, SimulationContext, build_shoppers, run_simulation
    from kit.simulate.experiment import validation_pages

    contexts = {name: SimulationContext.load(name) for name in (SEQUENCES, BUNDLES)}
    page_size, policies = 10, list(POLICIES)
    runs = [(SEQUENCES, "choice", 100 if quick else 1000), (SEQUENCES, "llm", 4 if quick else 30),
            (BUNDLES, "choice", 100 if quick else 1000)]
    ab_rows, validation_rows = [], []
    for dataset, simulator, users in runs:
        context = contexts[dataset]
        chat = load_chat_model() if simulator == "llm" else None
        started = time.perf_counter()
        report = run_simulation(context, simulator, policies, users, page_size, seed=0, chat=chat)
        seconds = time.perf_counter() - started
        v = report.validation
        for row in report.ab.rows:
            ab_rows.append([dataset, report.ab.simulator, row["policy"], users] + [
                f"{row[key]['rate']:.3f} [{row[key]['ci95'][0]:.2f}, {row[key]['ci95'][1]:.2f}]"
                for key in ("click_rate", "basket_rate", "leave_rate")] + [f"{v.offline_recall[row['policy']]:.4f}"])
        pages = validation_pages(build_shoppers(context.data, users, seed=0), context.data.num_items, page_size, 0)
        first = np.mean([d.chose and d.item == page[0] for d, page in zip(v.decisions, pages)])
        decisions = users * (len(policies) + 1)
        validation_rows.append([dataset, report.ab.simulator, users, f"{v.hit_rate:.3f} [{v.hit_rate_ci95[0]:.3f}, "
                                f"{v.hit_rate_ci95[1]:.3f}]", f"{v.chance:.3f}",
                                "undefined" if v.kendall_tau is None else f"{v.kendall_tau:.2f}",
                                "-" if v.kendall_tau_ci95 is None else "[{:.2f}, {:.2f}]".format(*v.kendall_tau_ci95),
                                f"{first:.2f}",
                                report.llm_failures if report.llm_failures is not None else "-",
                                f"{seconds / decisions:.3f}"])
    return Section(
        title="Simulated shoppers", quick=quick, numbers={"ab": ab_rows, "validation": validation_rows},
        settings={"page_size": page_size, "policies": policies, "runs": runs, "llm": describe_llm()},
        blocks=[
            Text(f"`python -m kit simulate` on {SEQUENCES}: each simulated shopper is a real test user (purchases "
                 f"before the held-out one); every policy shows them one page of {page_size} items they never bought; "
                 "the choice model is a conditional logit fitted on train pages, the LLM agent is "
                 f"`{describe_llm()}` decoding under the decision's JSON schema. Rates with 95% bootstrap intervals over "
                 "shoppers; offline Recall@10 is the share of all real test users ("
                 + ", ".join(f"{len(c.data.splits['test']):,} on {name}" for name, c in contexts.items())
                 + ") whose next purchase is on the policy's page."),
            Text(f"{BUNDLES} (`--dataset {BUNDLES}`): a shopper is a real test user of the bundle data, their train "
                 "bundles the history (file order; no timestamps), their first test bundle the held-out choice; bundles "
                 "are compared by their item sets (64-d truncated SVD of the bundle-item matrix), 'co-purchase' means "
                 "bundles chosen near each other in users' lists, 'content' bundles sharing items. Bundles have no "
                 "titles, so no LLM shopper; the trained bundle models (LightGCN, CrossCBR) score users, not histories, "
                 "and are not policies yet."),
            Table(["dataset", "simulator", "policy", "shoppers", "click or basket", "basket", "leave",
                   "offline Recall@10"], ab_rows),
            Text(f"Validation against real behaviour: (a) a page holds the shopper's real next purchase among "
                 f"{page_size - 1} sampled items; hit rate = share of pages where the simulator picks it (chance "
                 f"1/{page_size}); (b) Kendall tau between the policies' simulated click rates and their offline "
                 f"Recall@10 ({len(policies)} policies), with its interval over shopper resamples ('-' when tau is "
                 "undefined in most resamples). 'First item' is the share of validation pages where the pick was simply "
                 "the top of the page; invalid replies count as skips."),
            Table(["dataset", "simulator", "shoppers", "hit rate [95% CI]", "chance", "Kendall tau", "tau 95% CI",
                   "first item", "invalid replies", "seconds per decision"], validation_rows),
        ])
