"""The shopping assistant: routing, state and tools over every capability (no UI here; see apps/)."""

from kit.assistant.orchestrator import Assistant, ProductCard, Reply, build_assistant
from kit.assistant.router import ToolChoice, route, route_by_rules
from kit.assistant.state import ConversationState

__all__ = ["Assistant", "ConversationState", "ProductCard", "Reply", "ToolChoice", "build_assistant", "route",
           "route_by_rules"]
