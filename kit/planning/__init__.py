"""Multi-step planning: a goal becomes steps, needs, real catalog items and a basket with reasons."""

from kit.planning.planner import Planner, PlanProgress, read_edit
from kit.planning.schema import Constraints, NeedsMode, Plan, PlanDraft

__all__ = ["Constraints", "NeedsMode", "Plan", "PlanDraft", "Planner", "PlanProgress", "read_edit"]
