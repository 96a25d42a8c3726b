"""The shopping assistant: a declared tool table, routing, state and an error-bounded turn (no UI here; see apps/)."""

from kit.assistant.orchestrator import Assistant, build_assistant, catalog_search, prepare_completion
from kit.assistant.router import route, route_by_rules
from kit.assistant.state import ConversationState
from kit.assistant.tools import TOOLS, ProductCard, Reply, Tool, ToolChoice

__all__ = ["Assistant", "ConversationState", "ProductCard", "Reply", "TOOLS", "Tool", "ToolChoice", "build_assistant",
           "catalog_search", "prepare_completion", "route", "route_by_rules"]
