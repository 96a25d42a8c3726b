"""When to ask back instead of guessing: a search request with no product in it, or none this catalog knows.

Two checks, in order:
1. the request has no word that names a kind of product (only 'something', 'a gift', 'anything good?');
2. none of its words (or a close spelling of one: 'yogurt') occurs in the catalog's *names* (titles,
   categories, attribute values; not the long descriptions, whose everyday words such as 'all' or
   'table' match anything) and the closest item is not close either, neither in the image-text
   embedding space (``min_dense``) nor to the sentence model reading the items' own texts
   (``min_sentence``: a need in a shopper's words, "something sour to squeeze over fish", names no
   product but reads close to the lemon's description): another language, a typo, a product the shop
   does not sell, or text that is not a request at all.
Measured on tests/data/odd_utterances.jsonl (docs/benchmarks.md): how many vague requests get a question,
and how many clear ones wrongly do.
"""

from __future__ import annotations

from difflib import get_close_matches
from functools import cached_property

from kit.search.engine import CatalogSearch
from kit.search.vocabulary import content_words


class Clarifier:
    """Decides, per catalog, whether a search request deserves a question back (and words it)."""

    def __init__(self, search: CatalogSearch, min_dense: float = 0.5, min_sentence: float = 0.42) -> None:
        """``min_sentence``: the sentence model's cosine (MiniLM) above which a request is searched. The requests
        tests/data/odd_utterances.jsonl says deserve a question reach at most 0.38 on any bundled catalog; the
        dev shopping tasks' needs reach 0.43-0.56 where their words are not in the catalog's names."""
        self.search, self.min_dense, self.min_sentence = search, min_dense, min_sentence

    @property
    def names(self) -> frozenset[str]:
        """Every word of the catalog's titles, categories and short attribute values (plurals folded)."""
        return self.search.names

    def knows(self, word: str) -> bool:
        """The word, or a close spelling of it ('yogurt' for 'yoghurt'), is in the catalog's names."""
        if word in self.names or (word.endswith("oe") and word[:-1] in self.names):  # Harman folds 'potatoes' to 'potatoe'
            return True
        return len(word) >= 5 and bool(get_close_matches(word, self.sorted_names, n=1, cutoff=0.85))

    @cached_property
    def sorted_names(self) -> list[str]:
        return sorted(self.names)

    def examples(self, n: int = 6) -> str:
        return ", ".join(name for name, _ in self.search.catalog.categories().most_common(n) if name)

    def question(self, query: str) -> str | None:
        catalog = self.search.catalog.name
        content = content_words(query)
        if not content:
            return (f"What kind of product are you looking for? In {catalog} there are for example: "
                    f"{self.examples()}. Tell me a product, a colour or an occasion.")
        if any(self.knows(w) for w in content):
            return None
        best = self.search.text(query, k=1)
        if best and best[0].score >= self.min_dense:
            return None
        closest_text = self.search.sentences(query, k=1)
        if closest_text and closest_text[0].score >= self.min_sentence:
            return None
        return (f"I could not match '{query[:60]}' to anything in {catalog}. Did you mean one of: {self.examples()}? "
                "(I understand product names in English.)")


__all__ = ["Clarifier"]
