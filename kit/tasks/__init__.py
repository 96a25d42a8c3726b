"""Shopping tasks, end to end: task files, and (issue #33) a scripted shopper that runs them through the assistant."""

from kit.tasks.shopper import ScriptedShopper, TaskResult, summarize
from kit.tasks.taskfile import KINDS, PUBLIC_TASKS, ShoppingTask, load_tasks, meets

__all__ = ["KINDS", "PUBLIC_TASKS", "ScriptedShopper", "ShoppingTask", "TaskResult", "load_tasks", "meets", "summarize"]
