"""Multi-step planning: a goal becomes steps, needs, real catalog items and a basket with reasons."""

from kit.planning.planner import Planner, read_edit
from kit.planning.schema import Constraints, Plan, PlanDraft

__all__ = ["Constraints", "Plan", "PlanDraft", "Planner", "read_edit"]
