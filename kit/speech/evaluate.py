"""Word error rate on spoken shopping requests: the kit's test clips and benchmark share this set."""

from __future__ import annotations

import re

SHOPPING_REQUESTS = [
    "I need green apples and a bottle of milk",
    "show me red running shoes for women",
    "find a cheap black backpack",
    "add two lemons to my basket",
    "I am hosting a brunch for four on Sunday",
    "what goes well with orange juice",
    "do you have vanilla yoghurt",
    "going hiking in the mountains next week",
    "remove the cucumber from my basket",
    "show me blue jeans for men",
]


def normalize(text: str) -> str:
    """Lower case, punctuation and hyphens to spaces: 'Red-running shoes.' -> 'red running shoes'."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    return jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses])
