"""Which facts a text states, and whether the item's labels say the same.

Every fact type is declared once in ``FACT_TYPES``. Catalog-backed types (colour, article type, gender, usage,
season) take their words from the catalog's own label values, plus a few spellings (grey/gray, t-shirt for
Tshirts, men's for Men); material and size have fixed word lists, because the fashion labels hold neither.
A claim is

- ``ok`` when it names the label, or a broader form of it ("blue" for Navy Blue, "shoes" for Casual Shoes), or
  repeats words of the item's own title (the catalog's words, even where title and label disagree);
- ``wrong`` when it names another value of the same type (a "red" shirt labelled Navy Blue);
- ``unsupported`` when no label can confirm it: a material the title does not name, any size, or a type whose
  label is missing. The writer was never told such a fact, so it was invented.

A text hallucinates when it holds at least one wrong or unsupported claim. What the checker cannot see: the
photo (a "striped" shirt, a print, a fit) and facts outside its word lists; it reads words, not meaning, so
"not red" counts as a claim of red, and naming another article ("pair it with jeans") counts against the item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from kit.catalog import Catalog
from kit.generate.facts import LABEL_OF, ItemFacts

Verdict = Literal["ok", "wrong", "unsupported"]
SPELLINGS = {  # label value (lower case) -> extra ways a text says it
    "tshirts": ("t-shirt", "t-shirts", "tee", "tees", "tshirt"), "men": ("men's", "mens", "man", "male"),
    "women": ("women's", "womens", "woman", "ladies", "female"), "boys": ("boy", "boy's"),
    "girls": ("girl", "girl's"), "grey": ("gray",), "grey melange": ("gray melange",), "fall": ("autumn",),
    "sports": ("sport", "sporty", "athletic"), "formal": ("formals",), "ethnic": ("traditional",),
}
MATERIALS = ("cotton", "leather", "silk", "denim", "wool", "woollen", "linen", "polyester", "suede", "canvas",
             "nylon", "rubber", "velvet", "satin", "chiffon", "lycra", "fleece", "cashmere", "jute", "khadi",
             "georgette", "crepe", "rayon", "viscose", "spandex", "mesh", "plastic", "steel", "stainless steel")
SIZES = ("xs", "xl", "xxl", "xxxl", "small", "medium", "large", "extra large", "plus size", "free size",
         "slim fit", "regular fit", "oversized")


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(value: str) -> set[str]:
    return {_singular(w) for w in re.findall(r"[a-z0-9']+", value.lower())}


@dataclass(frozen=True)
class FactType:
    name: str
    attribute: str | None  # the catalog attribute that labels it; None: checked against the title (material) or nothing
    fixed_words: tuple[str, ...] = ()  # the words that state it, when the catalog's values are not its vocabulary


FACT_TYPES: tuple[FactType, ...] = (
    *(FactType(name, attribute) for name, attribute in LABEL_OF.items()),
    FactType("material", None, MATERIALS),
    FactType("size", None, SIZES),
)


@dataclass(frozen=True)
class Claim:
    fact: str
    said: str  # the words in the text
    value: str  # the value they state (a label value for catalog-backed types)
    expected: str | None  # what the labels say (None: nothing)
    verdict: Verdict
    source: str = "labels"  # where ``expected`` comes from: labels, title, or photo (a zero-shot fill-in)

    @property
    def hallucinated(self) -> bool:
        return self.verdict != "ok"


@dataclass
class FactChecker:
    """Built from a catalog (its label values are the vocabulary); ``check`` is pure and fast.

    ``fact_types`` defaults to :data:`FACT_TYPES`; pass more to check more (a type with no catalog attribute is
    confirmed only by the item's title, as material is).
    """

    forms: list[tuple[str, str, str]] = field(default_factory=list)  # (surface form, fact, value), longest first
    title_checked: frozenset[str] = frozenset(t.name for t in FACT_TYPES if t.attribute is None)

    @classmethod
    def for_catalog(cls, catalog: Catalog, fact_types: tuple[FactType, ...] = FACT_TYPES) -> "FactChecker":
        values: dict[str, set[str]] = {t.name: set() for t in fact_types}
        for item in catalog.items:
            for t in fact_types:
                if t.attribute and item.attributes.get(t.attribute):
                    values[t.name].add(str(item.attributes[t.attribute]))
        return cls.from_values(values, fact_types)

    @classmethod
    def from_values(cls, values: dict[str, Iterable[str]], fact_types: tuple[FactType, ...] = FACT_TYPES
                    ) -> "FactChecker":
        forms: dict[str, tuple[str, str]] = {}
        for t in fact_types:
            for value in (*values.get(t.name, ()), *t.fixed_words):
                lower = value.lower().strip()
                if not lower or lower in ("na", "free items"):
                    continue
                *head, last = lower.split()
                for form in {lower, " ".join([*head, _singular(last)]), *SPELLINGS.get(lower, ())}:
                    forms.setdefault(form, (t.name, value))
        ordered = sorted(((form, fact, value) for form, (fact, value) in forms.items()), key=lambda f: -len(f[0]))
        return cls(ordered, frozenset(t.name for t in fact_types if t.attribute is None))

    def claims(self, text: str, facts: ItemFacts) -> list[Claim]:
        """Every fact ``text`` states, each with its verdict against ``facts``."""
        lower, taken, found = text.lower(), [], []
        for form, fact, value in self.forms:
            for match in re.finditer(rf"(?<![\w-]){re.escape(form)}(?![\w-])", lower):
                span = match.span()
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue  # inside a longer claim already read ("blue" in "navy blue")
                taken.append(span)
                found.append((span[0], fact, text[span[0]:span[1]], value))
        return [self._judge(fact, said, value, facts) for _, fact, said, value in sorted(found)]

    def _judge(self, fact: str, said: str, value: str, facts: ItemFacts) -> Claim:
        if _words(said) <= _words(facts.title):  # repeating the catalog's own title is not inventing
            return Claim(fact, said, value, facts.title, "ok", "title")
        if fact in self.title_checked:
            named = _words(facts.title)
            verdict: Verdict = "ok" if _words(value) <= named else "unsupported"
            return Claim(fact, said, value, facts.title if verdict == "ok" else None, verdict, "title")
        expected = facts.labels.get(fact)
        if expected is None:
            return Claim(fact, said, value, None, "unsupported")
        consistent = _words(value) <= _words(expected) or (fact == "gender" and expected.lower() == "unisex")
        return Claim(fact, said, value, expected, "ok" if consistent else "wrong",
                     "photo" if fact in facts.from_photo else "labels")

    def hallucinates(self, text: str, facts: ItemFacts) -> bool:
        return any(c.hallucinated for c in self.claims(text, facts))
