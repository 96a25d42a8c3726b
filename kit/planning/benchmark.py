"""The planning benchmark: public goals over both bundled catalogs, scored by what the basket holds.

Each goal in tests/data/planning_goals.jsonl names the catalog categories (grocery classes, fashion
article types) that a sensible basket for it draws from, written by hand before any planner was run.
A plan is scored on three numbers:

- fitting share: the share of basket items whose category is one of the goal's;
- category coverage: the share of the goal's categories the basket touches;
- items per plan: basket entries (a need without a catalog match adds nothing).

Timing is measured per plan (seconds to the finished plan, and to the first visible progress event).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.catalog import Catalog
from kit.files import read_jsonl
from kit.planning.planner import Planner
from kit.planning.schema import Plan

GOALS = Path(__file__).resolve().parents[2] / "tests" / "data" / "planning_goals.jsonl"


@dataclass(frozen=True)
class Goal:
    id: str
    catalog: str
    goal: str
    categories: frozenset[str]


@dataclass(frozen=True)
class PlanScore:
    goal: str
    fitting_share: float
    coverage: float
    items: int
    seconds: float
    first_step_seconds: float
    basket: list[tuple[str, str]]  # (title, category)


@dataclass
class PlanningReport:
    """Scores of one planner on one catalog's goals, with the means the benchmark table shows."""

    planner: str
    catalog: str
    scores: list[PlanScore] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        seconds = [s.seconds for s in self.scores]
        return {"goals": len(self.scores),
                "fitting_share": round(float(np.mean([s.fitting_share for s in self.scores])), 3),
                "coverage": round(float(np.mean([s.coverage for s in self.scores])), 3),
                "items_per_plan": round(float(np.mean([s.items for s in self.scores])), 2),
                "p50_s": round(float(np.percentile(seconds, 50)), 2),
                "p90_s": round(float(np.percentile(seconds, 90)), 2),
                "first_step_p50_s": round(float(np.percentile([s.first_step_seconds for s in self.scores], 50)), 2)}


def load_goals(path: str | Path = GOALS, catalog: str | None = None) -> list[Goal]:
    """The benchmark's goals (of one ``catalog`` when given)."""
    goals = read_jsonl(path, lambda row: Goal(row["id"], row["catalog"], row["goal"], frozenset(row["categories"])),
                       "a goal record (id, catalog, goal, categories)")
    return [g for g in goals if catalog is None or g.catalog == catalog]


def score_plan(plan: Plan, goal: Goal, catalog: Catalog, seconds: float = 0.0,
               first_step_seconds: float = 0.0) -> PlanScore:
    """How well ``plan``'s basket fits ``goal`` (categories are read from the catalog, not the plan)."""
    basket = [(e.title, catalog[e.item_id].category) for e in plan.basket]
    fitting = [category in goal.categories for _, category in basket]
    covered = {category for _, category in basket} & goal.categories
    return PlanScore(goal.goal, float(np.mean(fitting)) if fitting else 0.0, len(covered) / len(goal.categories),
                     len(basket), seconds, first_step_seconds, basket)


def run_planning_benchmark(planner: Planner, name: str, goals: list[Goal]) -> PlanningReport:
    """Plan every goal of ``planner``'s catalog with ``planner`` (streamed, so the first event is timed)."""
    catalog = planner.search.catalog
    report = PlanningReport(name, catalog.name)
    for goal in goals:
        if goal.catalog != catalog.name:
            continue
        started = time.perf_counter()
        first = None
        for progress in planner.stream(goal.goal):
            first = first if first is not None else time.perf_counter() - started
        report.scores.append(score_plan(progress.plan, goal, catalog, time.perf_counter() - started, first))
    return report
