"""Multi-step planning: a goal becomes steps, needs, real catalog items and a basket with reasons.

The planner (which loads search and torch) is imported on first use, so that light consumers such as
the CLI's argument parser can read :mod:`kit.planning.schema` without that cost.
"""

from kit.planning.schema import Constraints, NeedsMode, Plan, PlanDraft

__all__ = ["Constraints", "NeedsMode", "Plan", "PlanDraft", "Planner", "PlanProgress", "read_edit"]


def __getattr__(name: str):
    if name in ("Planner", "PlanProgress", "read_edit"):
        from kit.planning import planner

        return getattr(planner, name)
    raise AttributeError(f"module 'kit.planning' has no attribute {name!r}")
