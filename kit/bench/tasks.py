"""Shopping tasks (issue 33): the public task file through the assistant with the scripted shopper, the
shopper's success rate per kind and catalog with bootstrap intervals, turns, wrong adds, turn latency and the
failures with their transcripts."""

from __future__ import annotations

import time
import numpy as np

from kit.bench.records import Section, Table, Target, Text

PLAN_TOOLS = ("plan", "steer")  # turns that run the LLM planner; their latency is held to its own bar
SHOWN_FAILURES = 20
NO_WRONG_ADDS = ("find", "reference", "refine")


def group_rows(results: list, key: str) -> list[list]:
    """One row per value of ``key``: tasks, success with its 95% bootstrap interval, mean turns to success,
    wrong adds."""
    from kit.eval.metrics import bootstrap_interval

    rows = []
    for value in sorted({getattr(r, key) for r in results}):
        group = [r for r in results if getattr(r, key) == value]
        success = [float(r.success) for r in group]
        low, high = bootstrap_interval(success)
        turns = [r.turns for r in group if r.success]
        rows.append([value, len(group), f"{np.mean(success):.3f} [{low:.2f}, {high:.2f}]",
                     f"{np.mean(turns):.1f}" if turns else "-", sum(r.wrong_adds for r in group)])
    return rows


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def shopping_tasks(quick: bool = False) -> Section:
    from kit.assistant import build_assistant
    from kit.bundled_catalogs import CATALOGS
    from kit.tasks import PUBLIC_TASKS, ScriptedShopper, load_tasks, summarize

    tasks, problems = load_tasks(PUBLIC_TASKS)
    if quick:
        tasks = tasks[::8]
    served = tuple(name for name in CATALOGS if any(task.catalog == name for task in tasks))
    started = time.perf_counter()
    assistant = build_assistant(served)
    assistant.warm_up()
    load_seconds = time.perf_counter() - started
    shopper = ScriptedShopper(assistant)
    results = [shopper.run(task) for task in tasks]
    report = summarize(results)
    plan_turns = [s for r in results for tool, s in r.turn_seconds if tool in PLAN_TOOLS]
    other_turns = [s for r in results for tool, s in r.turn_seconds if tool not in PLAN_TOOLS]
    failures = [r for r in results if not r.success]
    wrong = {kind: sum(r.wrong_adds for r in results if r.kind == kind) for kind in NO_WRONG_ADDS}
    latency = [["turns without the planner", len(other_turns), percentile(other_turns, 50), percentile(other_turns, 95)],
               ["plan and steer turns", len(plan_turns), percentile(plan_turns, 50), percentile(plan_turns, 95)]]
    blocks = [
        Text(f"`python -m kit tasks run tests/data/shopping_tasks.jsonl --json`: {len(tasks)} public tasks (written "
             "before the assistant ran on them) through the assistant over the catalogs they name, with the scripted "
             "shopper of kit/tasks/shopper.py: it says the task's turns, adds the first shown card that meets the "
             "goal, and judges the basket by the catalog's labels. Intervals: 95% percentile bootstrap over tasks. "
             f"Building the assistant took {load_seconds:.0f} s; seconds below are per assistant turn, warm."
             + (f" {len(problems)} task lines were malformed and skipped." if problems else "")),
        Table(["kind", "tasks", "success [95% CI]", "mean turns to success", "wrong adds"], group_rows(results, "kind"),
              title="By kind"),
        Table(["catalog", "tasks", "success [95% CI]", "mean turns to success", "wrong adds"],
              group_rows(results, "catalog"), title="By catalog"),
        Table(["turns", "n", "p50 s", "p95 s"], [[name, n, "-" if p50 is None else p50, "-" if p95 is None else p95]
                                                for name, n, p50, p95 in latency], title="Turn latency", digits=2),
        Target("success rate, all tasks", report["success_rate"], 0.90),
        Target("success rate, worst kind", min(report["by_kind"].values()), 0.80),
        Target("success rate, worst catalog", min(report["by_catalog"].values()), 0.80),
        Target(f"wrong adds in {', '.join(NO_WRONG_ADDS)} tasks", sum(wrong.values()), 0, at_most=True),
        Target("turn latency p50 without the planner (s)", percentile(other_turns, 50), 2.0, at_most=True),
        Target("plan turn latency p50 (s)", percentile(plan_turns, 50), 3.0, at_most=True),
    ]
    if failures:
        blocks.append(Text(f"### Failures ({len(failures)}; the first {min(len(failures), SHOWN_FAILURES)} with their "
                           "transcripts)\n\n" + "\n\n".join(
                               f"- **{r.id}** ({r.kind}, {r.catalog}): {r.why}\n" + "\n".join(
                                   f"    - {line.replace('|', '/')}" for line in r.transcript)
                               for r in failures[:SHOWN_FAILURES])))
    return Section(title="Shopping tasks", blocks=blocks, quick=quick,
                   settings={"file": PUBLIC_TASKS.name, "tasks": len(tasks)},
                   numbers={**report, "load_seconds": load_seconds, "wrong_adds": wrong,
                            "turn_latency": {name: {"n": n, "p50": p50, "p95": p95} for name, n, p50, p95 in latency}})
