"""Filters a shopper says in words: "for men", "under 30", "black".

:func:`read_filters` finds them in a query against what the catalog actually has: the gender words map to
the catalog's own ``gender`` values (plus ``Unisex`` when it has one), colours are the catalog's own
``baseColour`` values (longest first, so "navy blue" is not read as "blue"), and prices only count when
the catalog has prices. The query text itself is left whole: the colour and the audience still help
the dense and keyword rankings.

    >>> read_filters("black running shoes for men under 60", FilterVocabulary.of(fashion))
    QueryFilters(attributes={'baseColour': frozenset({'Black'}), 'gender': frozenset({'Men', 'Unisex'})}, ...)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kit.catalog import Catalog

GENDER_WORDS = {  # what shoppers say -> the values catalogs use (Myntra's: Men, Women, Boys, Girls, Unisex)
    "men": "Men", "man": "Men", "mens": "Men", "male": "Men", "him": "Men", "boyfriend": "Men", "husband": "Men",
    "women": "Women", "woman": "Women", "womens": "Women", "ladies": "Women", "female": "Women", "her": "Women",
    "girlfriend": "Women", "wife": "Women",
    "boy": "Boys", "boys": "Boys", "son": "Boys", "girl": "Girls", "girls": "Girls", "daughter": "Girls",
}
GENDER = re.compile(r"\b(?:for|for a|for my|to)\s+(?:young\s+|little\s+)?(" + "|".join(GENDER_WORDS) + r")\b|\b(men|women)'?s\b")
PRICE_BELOW = re.compile(r"\b(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?)\s*[$€£]?\s*(\d+(?:\.\d+)?)")
PRICE_ABOVE = re.compile(r"\b(?:over|above|more than|at least|min(?:imum)?)\s*[$€£]?\s*(\d+(?:\.\d+)?)")
COLOUR_ATTRIBUTES = ("baseColour", "colour", "color")


@dataclass(frozen=True)
class QueryFilters:
    attributes: dict[str, frozenset[str]] = field(default_factory=dict)
    min_price: float | None = None
    max_price: float | None = None
    rest: str = ""  # the query without the phrases read as filters: what is left to rank by

    def __bool__(self) -> bool:
        return bool(self.attributes) or self.min_price is not None or self.max_price is not None

    def describe(self) -> str:
        parts = [f"{key} in {sorted(values)}" for key, values in self.attributes.items()]
        parts += [f"price >= {self.min_price:g}"] if self.min_price is not None else []
        parts += [f"price <= {self.max_price:g}"] if self.max_price is not None else []
        return ", ".join(parts) or "none"


def attribute_values(catalog: Catalog, key: str) -> Counter:
    return Counter(v for item in catalog if isinstance(v := item.attributes.get(key), str) and v)


@dataclass(frozen=True)
class FilterVocabulary:
    """What a catalog can be filtered on, read once: its gender values, its colours, whether it has prices."""

    genders: frozenset[str]
    colours: tuple[tuple[str, tuple[str, ...]], ...]  # (attribute, values longest first)
    has_prices: bool

    @classmethod
    def of(cls, catalog: Catalog) -> "FilterVocabulary":
        colours = tuple((key, tuple(sorted(values, key=len, reverse=True)))
                        for key in COLOUR_ATTRIBUTES if (values := attribute_values(catalog, key)))
        return cls(frozenset(attribute_values(catalog, "gender")), colours,
                   any(item.price is not None for item in catalog))


def read_filters(query: str, vocabulary: FilterVocabulary) -> QueryFilters:
    """The gender, colour and price bounds that ``query`` states and the catalog can filter on."""
    text = rest = query.lower()
    attributes: dict[str, frozenset[str]] = {}
    if vocabulary.genders and (found := GENDER.search(text)):
        wanted = GENDER_WORDS.get(found.group(1) or found.group(2))
        if wanted in vocabulary.genders:
            attributes["gender"] = frozenset({wanted} | ({"Unisex"} & vocabulary.genders))
            rest = rest.replace(found.group(0), " ")
    for key, colours in vocabulary.colours:
        for colour in colours:
            if found := re.search(rf"\b{re.escape(colour.lower())}\b", text):
                attributes[key] = frozenset({colour})
                rest = rest.replace(found.group(0), " ")
                break
    below, above = PRICE_BELOW.search(text), PRICE_ABOVE.search(text)
    below, above = (below, above) if vocabulary.has_prices else (None, None)
    for found in (below, above):
        rest = rest.replace(found.group(0), " ") if found else rest
    return QueryFilters(attributes, float(above.group(1)) if above else None, float(below.group(1)) if below else None,
                        " ".join(rest.split()))
