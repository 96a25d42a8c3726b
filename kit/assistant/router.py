"""Decide what a turn asks for: a :class:`ToolChoice` from the LLM's structured output or from plain rules.

Both read the tool table (kit/assistant/tools.py): the LLM prompt lists every tool's help and examples
and its JSON schema is ``ToolChoice``, built from the table. The rules are the deterministic fallback
(no LLM configured, or its answer failed validation); they also read references such as "the second
one", "the one before last" or "all of them" against the results shown last. Raw user text is never
validated against a schema: it is cleaned and cut first, so routing itself cannot fail on what a
shopper types.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import ValidationError

from kit.assistant.tools import MAX_QUERY, TOOLS, ToolChoice
from kit.llm.chat import CallLog, ChatModel, StructuredOutputError
from kit.llm.prompting import PromptTemplate, quote_data
from kit.planning import read_edit

MAX_TURN = 20_000  # characters of a turn that are read at all


def clean_text(text: object) -> str:
    """The turn as one line of printable text: control characters dropped, spaces folded, NFC, cut to MAX_TURN."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFC", text[:MAX_TURN])
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit (not only emoji, punctuation or symbols)."""
    return any(c.isalnum() for c in text)


_ORDINALS = {"zeroth": 0, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10}
_FROM_END = [(r"\b(one |the one )?before (the )?last\b|\bsecond[- ]to[- ]last\b|\bpenultimate\b|\bsecond[- ]last\b", -2),
             (r"\bthird[- ]to[- ]last\b", -3), (r"\b(last|final)\b", -1)]
_NUMBERED = r"(?:#|\bnumber |\bno\. ?|\bitem |\bproduct )(-?\d+)\b|\b(\d+)(?:st|nd|rd|th)\b"
_ALL = r"\b(all( of)? (them|those|these)|all|everything|every one|each of them|the lot)\b"


def find_position(text: str) -> int | None:
    """'the second one' -> 2, 'number 3' / '#3' / 'the 3rd' -> 3, 'the last one' -> -1, 'one before last' -> -2.

    'the 0th one' -> 0 (no such position: the tool says so). Numbers are clamped to +-1000.
    """
    lowered = text.lower()
    for pattern, position in _FROM_END:
        if re.search(pattern, lowered):
            return position
    if m := re.search(_NUMBERED, lowered):
        return max(-1000, min(1000, int(m.group(1) or m.group(2))))
    if m := re.search(rf"\b({'|'.join(_ORDINALS)})\b", lowered):
        return _ORDINALS[m.group(1)]
    return None


_PICK_WORDS = frozenset("the one ones please pls plz and too also as well then that this item number no product ok okay "
                        "yes thanks thank you".split()) | frozenset(_ORDINALS) | {"last", "final", "before", "to", "penultimate"}


def is_bare_pick(text: str) -> bool:
    """True for a turn that only names a shown position ('the 2nd one please', 'and the second too', 'number 3'):
    in a list of results that is a choice, so the rules add it; asking about it needs a word such as 'tell'."""
    words = re.sub(r"#?\d+(st|nd|rd|th)?\b|\bno\.", " ", text.lower())
    words = re.sub(r"[^\w\s']", " ", words).split()
    return all(word in _PICK_WORDS for word in words)


def wants_all(text: str) -> bool:
    return re.search(_ALL, text.lower()) is not None


def route_by_rules(text: str, has_image: bool = False, has_plan: bool = False) -> ToolChoice:
    """The rule router on any text (cleaned here; :func:`route` gives it text cleaned once by the turn)."""
    return _rules(clean_text(text), has_image, has_plan)


def _rules(text: str, has_image: bool, has_plan: bool) -> ToolChoice:
    lowered = text.lower()
    query = text[:MAX_QUERY]
    position, every = find_position(lowered), wants_all(lowered)
    if has_image and len(lowered.split()) <= 3:
        return ToolChoice(tool="image_search", query=query)
    if not has_words(lowered) or re.fullmatch(r"(help|\?|what can you do\??|hi|hello|hey)[.!]*", lowered):
        return ToolChoice(tool="help")
    if re.search(r"\b(basket|cart)\b", lowered) and re.search(r"\b(remove|delete|drop|take out|empty|clear)\b", lowered):
        every = every or re.search(r"\b(empty|clear)\b", lowered) is not None
        return ToolChoice(tool="remove", query=_strip_verbs(lowered)[:MAX_QUERY], position=position, every=every)
    if re.fullmatch(r"(show |what'?s in |view |open )?(me )?(my |the )?(basket|cart)\??", lowered):
        return ToolChoice(tool="basket")
    if re.search(r"\b(imagine|generate|draw|paint|picture of|image of)\b", lowered):
        wish = re.sub(r"\b(please|imagine|generate|draw|paint|show me)\b|\b(an? )?(picture|image|photo) of\b", " ", lowered)
        return ToolChoice(tool="imagine", query=" ".join(wish.split())[:MAX_QUERY], position=position)
    if re.search(r"\b(remove|delete|drop)\b", lowered) and (position is not None or every):
        return ToolChoice(tool="remove", position=position, every=every)
    if (position is not None or every) and re.search(r"\b(add|buy|take|put|want|get|i'?ll have)\b", lowered):
        return ToolChoice(tool="add", position=position, every=every)
    if position is not None and re.search(r"\b(tell|about|what is|what's|describe|details|more|info|show|see|look)\b",
                                          lowered):
        return ToolChoice(tool="item_info", position=position)
    if position is not None and is_bare_pick(lowered):  # 'the 2nd one', 'and the second too': the shopper picks it
        return ToolChoice(tool="add", position=position)
    if position is not None and len(lowered.split()) <= 4:
        return ToolChoice(tool="item_info", position=position)
    if has_plan and read_edit(text) is not None:
        return ToolChoice(tool="steer", query=query)
    if re.search(r"\b(go(es)? (well |nicely |together )?with|complete|what else|recommend a bundle|bundle|complete the look|"
                 r"bought together|also buy)\b", lowered):
        return ToolChoice(tool="complete", query=query)
    if is_goal(lowered):
        return ToolChoice(tool="plan", query=query)
    if has_image:
        return ToolChoice(tool="image_search", query=query)
    return ToolChoice(tool="search", query=query)


# A goal (an occasion or an activity that needs several things) is planned; a product or a need is searched.
GOAL_ACTIVITY = re.compile(  # the turn starts with doing something, not with a product
    r"^(?:(?:i'?m|i am|we'?re|we are|i want to|i need to|we need to|help me|let'?s|time to|how do i|how to)\s+)?"
    r"(?:plan|planning|host|hosting|throw|throwing|organi[sz]e|organi[sz]ing|prepare|preparing|make|making|cook|"
    r"cooking|bake|baking|build|building|set up|setting up|pack|packing|get (?:me )?ready|getting ready|going|"
    r"get(?:ting)? (?:into|over|back)|fix|fixing|repair|repairing|stock|stocking|clean|cleaning|celebrate|"
    r"celebrating|start|starting|stay|staying|wire up|wiring|equip|equipping|kit out|renovate|decorate|lounging)\b")
GOAL_OCCASION = re.compile(
    r"\b(?:plan|party|parties|wedding|birthday|anniversary|holiday|holidays|vacation|trip|journey|city break|"
    r"interview|picnic|barbecue|bbq|brunch|breakfasts?|lunch(?:es)?|dinner|supper|roast|feast|festival|diwali|"
    r"christmas|easter|eid|halloween|movie night|game night|date night|camping|hike|hiking|trek|gym|workout|yoga|"
    r"marathon|beach|pool|monsoon|college|school|first day|first week|weekend|tonight|outfit|meals?|"
    r"stir[- ]fry|soup|stew|curry|ratatouille|salad|smoothies|snack box|guacamole|pancakes|tacos|risotto|"
    r"for (?:two|three|four|five|six|eight|ten|twelve|\d+)(?: people| of us| guests)?$|for (?:two|three|four|five|"
    r"six|eight|ten|twelve|\d+) (?:people|of us|guests))\b")
NEED = re.compile(r"^(?:something|anything|a thing|stuff|show|find|search|do you have|have you got)\b")


def is_goal(text: str) -> bool:
    """True for a goal to plan ("a beach holiday in Goa", "build a small robot with my kids"); false for a
    product or a need ("black shoes for the office", "something to keep my neck warm")."""
    if NEED.match(text):
        return False
    return GOAL_ACTIVITY.match(text) is not None or GOAL_OCCASION.search(text) is not None


def _strip_verbs(text: str) -> str:
    return " ".join(re.sub(r"\b(remove|delete|drop|take out|from|my|the|basket|cart|please)\b", " ", text).split())


def _routing_examples() -> list[tuple[str, str]]:
    """The LLM's worked examples, read from the tool table: each tool's example utterances with the choice the
    rules make for them (in a conversation with products shown and a plan), where the rules pick that tool."""
    examples = []
    for tool in TOOLS.values():
        for utterance in tool.examples:
            choice = _rules(clean_text(utterance), has_image=False, has_plan=True)
            if choice.tool == tool.name:
                examples.append((f"Turn: {utterance}", choice.model_dump_json(exclude_defaults=True)))
    return examples


ROUTE = PromptTemplate(
    name="route",
    version=3,
    system="You route a shopping assistant's turn to one tool. Tools: " +
           "; ".join(f"{t.name}: {t.help}" for t in TOOLS.values()) +
           ". Positions: 1 = the first product shown, -1 = the last. Reply with JSON only.",
    examples=_routing_examples(),
    user="Turn: {turn}",
)


def route(text: str, llm: ChatModel | None = None, has_image: bool = False, has_plan: bool = False,
          log: CallLog | None = None) -> tuple[ToolChoice, str]:
    """The tool for this turn and who chose it ("llm" or "rules"). ``text`` is the turn as :func:`clean_text`
    left it (the orchestrator cleans once)."""
    if llm is None or has_image or not has_words(text):
        return _rules(text, has_image, has_plan), "rules"
    try:
        choice = llm.structured(ROUTE.render(turn=quote_data(text, MAX_QUERY)), ToolChoice, retries=1,
                                log=log, purpose=ROUTE.id, max_new_tokens=96)
    except (StructuredOutputError, ValidationError):
        return _rules(text, has_image, has_plan), "rules"
    if choice.tool == "plan" and has_plan and read_edit(text) is not None:
        choice = ToolChoice(tool="steer", query=text[:MAX_QUERY])
    return choice, "llm"


__all__ = ["ROUTE", "ToolChoice", "clean_text", "find_position", "has_words", "is_goal", "route", "route_by_rules", "wants_all"]
