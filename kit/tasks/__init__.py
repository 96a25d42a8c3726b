"""Shopping tasks, end to end: task files, and (issue #33) a scripted shopper that runs them through the assistant."""

from kit.tasks.shopper import ScriptedShopper, TaskResult, summarize
from kit.tasks.taskfile import KINDS, ShoppingTask, load_tasks, meets

__all__ = ["KINDS", "ScriptedShopper", "ShoppingTask", "TaskResult", "load_tasks", "meets", "summarize"]
