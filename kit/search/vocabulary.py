"""The words a catalog names things with: titles, categories and short attribute values.

Descriptions are left out on purpose: their everyday words ("all", "table", "keep") match any request.
Two consumers: hybrid search weighs BM25 by how much of a query is made of these words (a query in the
catalog's own labels is a keyword query; a paraphrase is a dense one), and the assistant's clarifier asks
back when a request has none of them.
"""

from __future__ import annotations

import re

from kit.catalog import Catalog
from kit.search.bm25 import fold_plurals

# Words that say *that* the shopper wants something, not *what*.
VAGUE_WORDS = frozenset("""
a an the some any my me i we you it this that these those for to of and or with please can could would
like want wanted need needs looking look find show get got buy buying shop shopping have has something
anything stuff things thing item items product products good nice best cool new cheap great gift gifts
present presents idea ideas recommend recommendation suggest suggestion help what whatever is are be do
""".split())


def words(text: str) -> list[str]:
    """Lower-case words of two letters or more, plurals folded ('Apples!' -> ['apple'])."""
    return fold_plurals(re.findall(r"[^\W\d_]{2,}", text.lower()))


def content_words(text: str) -> list[str]:
    """The words of a request that could name a product (the vague ones dropped)."""
    return [w for w in words(text) if w not in VAGUE_WORDS]


def label_words(catalog: Catalog) -> frozenset[str]:
    """The words of the catalog's *labels* only: categories and short attribute values, no titles. A query
    made of them ("navy blue tshirts for men") asks for exactly what the labels say."""
    found: set[str] = set()
    for item in catalog:
        short = [str(v) for v in item.attributes.values() if isinstance(v, str) and len(v) < 40]
        found.update(words(" ".join([item.category, *short])))
    return frozenset(found)


def name_words(catalog: Catalog) -> frozenset[str]:
    """The label words plus every word of the titles (plurals folded): how the catalog names its products."""
    return label_words(catalog) | {w for item in catalog for w in words(item.title)}


def label_coverage(query: str, names: frozenset[str]) -> float:
    """Share of the query's content words that the catalog uses in its names (0 when it has none)."""
    content = content_words(query)
    return sum(w in names for w in content) / len(content) if content else 0.0
