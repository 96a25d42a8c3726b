"""Refinements keep context: "in black", "for women", "the red ones" narrow what was searched last.

A search turn is read as a refinement of the previous search when it names no product of its own: it
states only filters the catalog can apply ("for men", "grey"), or it refers back ("ones", "that kind",
"instead") with one or two words of its own ("the red ones"; "something" alone is not a refinement). The refined query is the previous one plus the new words,
so the reply says what it searched for ("sweaters grey for men") and the next refinement builds on it.
"""

from __future__ import annotations

import re

from kit.search.engine import CatalogSearch
from kit.search.vocabulary import content_words, words

REFERRING = frozenset("one ones kind sort those them these that instead but only same similar".split())
NARROWING = re.compile(r"^(in|for|with|without|but|only|and|just|make it)\b")


def refined_query(previous: str, text: str, search: CatalogSearch) -> str:
    """``text`` alone when it names a product (or nothing was searched before), else ``previous`` narrowed by it."""
    text = text.strip()
    if not previous or not text:
        return text
    filters = search.filters_in(text)
    own = [w for w in content_words(filters.rest) if w not in REFERRING]
    refers = any(w in REFERRING for w in words(text))
    if (filters and not own) or ((refers or NARROWING.match(text.lower())) and 1 <= len(own) <= 2):
        return f"{previous} {text}"
    return text
