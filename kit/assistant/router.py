"""Decide what a turn asks for: a tool choice, from the LLM's structured output or from plain rules.

The rules are the deterministic fallback (no LLM configured, or its answer failed validation); they
also resolve references such as "the second one" against the results shown last.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from kit.llm.chat import CallLog, ChatModel, StructuredOutputError
from kit.llm.prompting import PromptTemplate, quote_data
from kit.planning import read_edit

Tool = Literal["search", "image_search", "plan", "steer", "complete", "add", "remove", "basket", "item_info",
               "imagine", "help"]
TOOLS_HELP = {
    "search": "find products for a description", "image_search": "find the product in an uploaded photo",
    "plan": "plan a goal such as a brunch or a trip and fill a basket", "steer": "change the current plan",
    "complete": "suggest what goes with the basket", "add": "put a shown product in the basket",
    "remove": "take a product out of the basket", "basket": "show the basket",
    "item_info": "tell more about a shown product", "imagine": "generate an image of a product",
    "help": "say what the assistant can do",
}


class ToolChoice(BaseModel):
    tool: Tool
    query: str = Field(default="", max_length=200)
    position: int | None = Field(default=None, ge=1, le=50, description="1 = the first product shown")


ROUTE = PromptTemplate(
    name="route",
    version=1,
    system="You route a shopping assistant's turn to one tool. Tools: " +
           "; ".join(f"{k}: {v}" for k, v in TOOLS_HELP.items()) + ". Reply with JSON only.",
    examples=[("Turn: red sneakers for running", ToolChoice(tool="search", query="red sneakers for running").model_dump_json()),
              ("Turn: add the second one", ToolChoice(tool="add", position=2).model_dump_json()),
              ("Turn: we are hosting a dinner for six", ToolChoice(tool="plan", query="a dinner for six").model_dump_json())],
    user="Turn: {turn}",
)

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "last": -1, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6}


def find_position(text: str) -> int | None:
    """'the second one' -> 2, 'number 3' / '#3' -> 3, 'the last one' -> -1."""
    lowered = text.lower()
    for word, n in _ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered):
            return n
    if m := re.search(r"(?:#|number |no\. ?)(\d+)", lowered):
        return int(m.group(1))
    return None


def route_by_rules(text: str, has_image: bool = False, has_plan: bool = False) -> ToolChoice:
    lowered = " ".join(text.lower().split())
    position = find_position(lowered)
    if has_image and len(lowered.split()) <= 3:
        return ToolChoice(tool="image_search", query=text)
    if not lowered or re.fullmatch(r"(help|\?|what can you do\??|hi|hello)", lowered):
        return ToolChoice(tool="help")
    if re.search(r"\b(basket|cart)\b", lowered) and re.search(r"\b(remove|delete|drop|take out)\b", lowered):
        return ToolChoice(tool="remove", query=_strip_verbs(lowered), position=position)
    if re.fullmatch(r"(show |what'?s in |view )?(my |the )?(basket|cart)\??", lowered):
        return ToolChoice(tool="basket")
    if re.search(r"\b(imagine|generate|draw|paint|picture of|image of)\b", lowered):
        wish = re.sub(r"\b(please|imagine|generate|draw|paint|show me)\b|\b(an? )?(picture|image|photo) of\b", " ", lowered)
        return ToolChoice(tool="imagine", query=" ".join(wish.split()), position=position)
    if position is not None and re.search(r"\b(add|buy|take|put|want)\b", lowered):
        return ToolChoice(tool="add", position=position)
    if position is not None and re.search(r"\b(tell|about|what is|describe|details|more)\b", lowered):
        return ToolChoice(tool="item_info", position=position)
    if has_plan and read_edit(text) is not None:
        return ToolChoice(tool="steer", query=text)
    if re.search(r"\b(goes? (well )?with|complete|what else|recommend a bundle|bundle|complete the look)\b", lowered):
        return ToolChoice(tool="complete", query=text)
    if re.search(r"\b(plan|hosting|host|party|brunch|dinner for|lunch for|picnic|trip|going (hiking|to)|next week|"
                 r"weekend|for (two|three|four|five|six|\d+) people)\b", lowered):
        return ToolChoice(tool="plan", query=text)
    if has_image:
        return ToolChoice(tool="image_search", query=text)
    return ToolChoice(tool="search", query=text)


def _strip_verbs(text: str) -> str:
    return re.sub(r"\b(remove|delete|drop|take out|from|my|the|basket|cart|please)\b", " ", text).strip()


def route(text: str, llm: ChatModel | None = None, has_image: bool = False, has_plan: bool = False,
          log: CallLog | None = None) -> tuple[ToolChoice, str]:
    """The tool for this turn and who chose it ("llm" or "rules")."""
    if llm is None or has_image:
        return route_by_rules(text, has_image, has_plan), "rules"
    try:
        choice = llm.structured(ROUTE.render(turn=quote_data(text, 300)), ToolChoice, retries=1, log=log,
                                purpose=ROUTE.id, max_new_tokens=96)
    except StructuredOutputError:
        return route_by_rules(text, has_image, has_plan), "rules"
    if choice.tool == "plan" and has_plan and read_edit(text) is not None:
        choice = ToolChoice(tool="steer", query=text)
    return choice, "llm"
