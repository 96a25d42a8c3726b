"""Ground a need in the catalog: search, keep only real matches, honour the shopper's constraints.

A search always returns *something*; a match must also be close enough: its dense similarity to the
query reaches ``min_similarity``, or the item's name (title or category) contains a word of what the
need asks for. Descriptions do not count: "good for grilling" in a tomato's description does not
make it a barbecue grill. A need without
such a match stays unmatched, and the plan says so instead of showing an unrelated product.
"""

from __future__ import annotations

import re

from kit.catalog import Item
from kit.planning.schema import Constraints, GroundedNeed, Match, NeedDraft
from kit.search.engine import CatalogSearch

# An excluded word also excludes these; "unless" words mark the plant-based look-alikes.
EXCLUSION_WORDS: dict[str, dict[str, list[str]]] = {
    "dairy": {"match": ["dairy", "milk", "yoghurt", "yogurt", "cheese", "cream", "butter"],
              "unless": ["soy", "oat", "oatly", "oatghurt", "vegetable", "plant"]},
    "meat": {"match": ["meat", "beef", "pork", "chicken", "ham", "sausage", "bacon"], "unless": []},
    "leather": {"match": ["leather"], "unless": ["faux", "synthetic"]},
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def is_excluded(item: Item, exclude: list[str]) -> bool:
    """Whether ``item`` matches a word the shopper excluded ("no dairy" leaves out milk, not soy milk)."""
    words = _words(item.text)
    for term in exclude:
        term = term.lower().strip()
        rule = EXCLUSION_WORDS.get(term, {"match": [term], "unless": []})
        hit = any((w in words) if " " not in w else (w in item.text.lower()) for w in rule["match"])
        if hit and not (words & set(rule["unless"])):
            return True
    return False


_STOP = {"and", "for", "the", "with", "some", "a", "an", "of", "to", "in", "on"}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def names_match(item: Item, wanted: str) -> bool:
    """Whether a word of ``wanted`` (plurals folded) occurs in the item's title or category."""
    name = {_stem(w) for w in _words(f"{item.title} {item.category}")}
    return any(_stem(w) in name for w in _words(wanted) if w not in _STOP and len(w) > 2)


def need_query(need: NeedDraft) -> str:
    return " ".join([*need.attributes, need.item]).strip()  # the category only guides the LLM's wording


def ground_need(search: CatalogSearch, step: str, need: NeedDraft, constraints: Constraints,
                max_price: float | None = None, k: int = 3, min_similarity: float = 0.6,
                depth: int = 50, context: str = "") -> GroundedNeed:
    """Up to ``k`` catalog matches for ``need``, best first, and the one chosen under ``constraints``.

    A need whose ``category`` is one of the catalog's categories is searched inside that category, with
    the goal (``context``) in the query, so "Sports Shoes" for "getting into running" finds running shoes;
    the category itself is then the proof of a match, and no similarity bar applies.
    """
    in_category = need.category if need.category and need.category in search.catalog.categories() else None
    query = need_query(need)
    if in_category and context:
        query = f"{query} for {context}"
    dense = {r.id: r.score for r in search.text(query, k=depth, category=in_category, max_price=max_price)}
    matches, named = [], []
    for result in search.hybrid(query, k=depth, category=in_category, max_price=max_price):
        item = result.item
        similarity = dense.get(result.id)
        is_named = in_category is not None or names_match(item, need.item)
        if similarity is None or (similarity < min_similarity and not is_named):
            continue
        if is_excluded(item, constraints.exclude):
            continue
        matches.append(Match(item_id=item.id, title=item.title, score=round(float(similarity), 4), price=item.price))
        named.append(is_named)
        if len(matches) == k:
            break
    grounded = GroundedNeed(step=step, need=need, query=query, matches=matches)
    if not matches:
        grounded.note = f"no item in the catalog matches '{query}'"
        if constraints.exclude:
            grounded.note += f" without {', '.join(constraints.exclude)}"
        if max_price is not None:
            grounded.note += f" at or under {max_price:.2f}"
        return grounded
    # "cheaper" picks the cheapest of the close matches: those named like the need, if any
    close = [m for m, n in zip(matches, named) if n] or matches
    priced = [m for m in close if m.price is not None]
    grounded.chosen = min(priced, key=lambda m: m.price) if constraints.prefer_cheaper and priced else matches[0]
    return grounded
