"""How many people a goal is for ("a picnic for four", "dinner for 6 people", "a family of five"), so a plan can
buy enough: one of each need per person on catalogs whose products are used up per person (food), and the
plan says so."""

from __future__ import annotations

import re

NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                "eleven": 11, "twelve": 12, "a couple": 2, "a dozen": 12}
MAX_PEOPLE = 12  # a need's quantity is at most 12 (kit/planning/schema.py)
_NUMBER = r"(\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_NOT_PEOPLE = r"(?!\s*(?:days?|nights?|weeks?|hours?|months?|years?|minutes?|kg|g|l|ml|euros?|dollars?|pounds?|of\s+(?:days|hours|weeks|nights))\b)"
_PATTERNS = (
    re.compile(rf"\bfor\s+(?:the\s+)?{_NUMBER}\b{_NOT_PEOPLE}"),
    re.compile(rf"\b{_NUMBER}\s+(?:people|persons|guests|friends|adults|of us)\b"),
    re.compile(rf"\bfamily\s+of\s+{_NUMBER}\b"),
    re.compile(r"\bfor\s+the\s+two\s+of\s+us\b"),
)


def party_size(goal: str) -> int | None:
    """The number of people ``goal`` names (capped at 12), or None when it names none."""
    text = goal.lower()
    for pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            said = match.group(1) if match.groups() else "two"
            people = int(said) if said.isdigit() else NUMBER_WORDS.get(said, 2)
            return min(people, MAX_PEOPLE) if people >= 1 else None
    return None


def party_note(people: int, goal: str) -> str:
    return f"Quantities are for {people} people, as the goal says ('{goal}'): one of each per person."
