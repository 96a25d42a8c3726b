"""The catalog's own words, for speech: a prompt that biases whisper toward them, and a snapper that fixes
near misses afterwards.

Whisper loses exactly the words a shop needs ("soyghurt", "Oatly", "aubergine"): they are rare in its
training text. Two cheap remedies, both measured in the `## Speech` benchmark:

1. **Biasing** (:meth:`CatalogVocabulary.prompt`): the catalog's most frequent terms, bounded in length,
   are given to faster-whisper as ``initial_prompt`` (previous text the decoder conditions on) or as
   ``hotwords``. Terms the conversation already used go first.
2. **Snapping** (:meth:`CatalogVocabulary.snap`): a transcript word (or a run of two or three) that is
   close to a catalog term both in spelling (rapidfuzz) and in sound (jellyfish's metaphone) is replaced
   by the term. Words that are not near any term, and everyday English words (Zipf frequency >= 4 in
   wordfreq, about ten per million words: "father" is never snapped to the catalog's "feather"), are
   never touched.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, cached_property

from kit.catalog import Catalog

MAX_DISTINCT_VALUES = 60  # attribute columns with more distinct values than this are names, not vocabulary
SHORT_TITLE_WORDS = 3  # a title this short is a product name ("Granny Smith"), kept whole as a term
SNAP_SCORE = 80.0  # mean of spelling and sound similarity (0-100) needed to snap
SNAP_MIN_SPELLING = 70.0  # and never when the spelling alone is further than this
EVERYDAY_ZIPF = 4.0  # wordfreq Zipf frequency from which a heard word is taken as meant, never snapped
SHOPPING_WORDS = frozenset("""show find need want add remove put buy get basket cart please size pair pairs cheap
cheapest price like looking would could have sell much many swap something""".split())


def words_of(text: str) -> list[str]:
    """Lower-case words, hyphens and punctuation as spaces: 'Oat-Milk' -> ['oat', 'milk']."""
    return re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()


@dataclass(frozen=True)
class SnapResult:
    """A transcript after snapping, and each (heard, catalog term) replacement made."""

    text: str
    changes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CatalogVocabulary:
    """Catalog terms (lower-case phrases of one to three words), how many items carry each, and which of
    them are category names (the product words, offered to whisper first)."""

    terms: dict[str, int]
    categories: frozenset[str] = frozenset()

    @classmethod
    def from_catalog(cls, catalog: Catalog, min_title_word_count: int | None = None) -> "CatalogVocabulary":
        """Terms from category names, short attribute values (colour, usage, gender ...), whole short
        titles, and title words that at least ``min_title_word_count`` items share (brands, materials).

        By default every title word counts in a catalog of under 1,000 items; in a larger one a word must
        be shared by two items, which drops model numbers and one-off names."""
        if min_title_word_count is None:
            min_title_word_count = 1 if len(catalog.items) < 1000 else 2
        counts: Counter[str] = Counter()
        categories = {" ".join(words_of(item.category)) for item in catalog.items}
        distinct: dict[str, set[str]] = {}
        for item in catalog.items:
            for key, value in item.attributes.items():
                if isinstance(value, str):
                    distinct.setdefault(key, set()).add(value)
        small_columns = {key for key, values in distinct.items() if len(values) <= MAX_DISTINCT_VALUES}
        title_words: Counter[str] = Counter()
        for item in catalog.items:
            phrases = {item.category} | {str(item.attributes[k]) for k in small_columns if k in item.attributes}
            title = words_of(item.title)
            if len(title) <= SHORT_TITLE_WORDS:
                phrases.add(item.title)
            for phrase in phrases:
                term = " ".join(words_of(phrase))
                if _is_term(term):
                    counts[term] += 1
            title_words.update(set(title))
        for word, count in title_words.items():
            if count >= min_title_word_count and _is_term(word):
                counts[word] += count
        return cls(dict(counts), frozenset(categories & set(counts)))

    def with_terms(self, *terms: str, count: int = 1) -> "CatalogVocabulary":
        """A copy that also knows ``terms`` (a new product's name, say), offered to whisper first."""
        added = Counter(self.terms)
        new = {" ".join(words_of(term)) for term in terms}
        for term in new:
            added[term] += count
        return CatalogVocabulary(dict(added), self.categories | new)

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(word for term in self.terms for word in term.split())

    @cached_property
    def _snap_keys(self) -> dict[str, str]:
        """Spelling without spaces -> the term it stands for: whole terms, and each of their words."""
        keys = {word: word for word in self.words if not _is_everyday(word)}
        keys.update({term.replace(" ", ""): term for term in self.terms})
        return keys

    def ranked(self, context: str = "") -> list[str]:
        """Terms the ``context`` (the conversation so far) mentions first, then category names, then the
        rest; the most frequent first within each group."""
        mentioned = set(words_of(context)) - _everyday()
        return sorted(self.terms, key=lambda t: (not (set(t.split()) & mentioned), t not in self.categories,
                                                 -self.terms[t], t))

    def prompt(self, max_words: int = 60, context: str = "") -> str:
        """An ``initial_prompt`` for whisper: a comma-separated list of at most ``max_words`` words."""
        chosen, used = [], 0
        for term in self.ranked(context):
            size = len(term.split())
            if used + size > max_words:
                continue
            chosen.append(term)
            used += size
        return ", ".join(chosen) + "." if chosen else ""

    def hotwords(self, max_words: int = 30, context: str = "") -> str:
        """faster-whisper ``hotwords``: the same choice, shorter (they are prepended to every window)."""
        return self.prompt(max_words, context).rstrip(".")

    def snap(self, text: str) -> SnapResult:
        """Replace near-miss runs of one to three words by the catalog term they sound like.

        The longest confident match wins; a word that already is a catalog word (or its plural), or an
        everyday word, is left as it is. Punctuation inside a replaced run is dropped."""
        tokens = text.split()
        keys = [" ".join(words_of(token)) for token in tokens]
        out, changes, i = [], [], 0
        while i < len(tokens):
            for n in (3, 2, 1):
                span = [k for k in keys[i:i + n] if k]
                if len(keys[i:i + n]) < n or len(span) < n or any(_is_everyday(k) or self._known(k) for k in span):
                    continue
                term = self._closest("".join(span))
                if term is not None:
                    replacement = term + ("s" if span[-1].endswith("s") and not term.endswith("s") else "")
                    changes.append((" ".join(span), replacement))
                    out.append(replacement + _trailing_punctuation(tokens[i + n - 1]))
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return SnapResult(" ".join(out), changes)

    def knows(self, word: str) -> bool:
        """Whether ``word`` (or its singular: 'avocados', 'potatoes') is a catalog word."""
        words = self.words
        return word in words or word.removesuffix("s") in words or word.removesuffix("es") in words

    def _known(self, word: str) -> bool:
        return self.knows(word) or len(word) < 4  # words this short are too ambiguous to snap

    def _closest(self, heard: str) -> str | None:
        import jellyfish
        from rapidfuzz import fuzz, process

        keys = self._snap_keys
        spelled = process.extract(heard, list(keys), scorer=fuzz.ratio, limit=5, score_cutoff=SNAP_MIN_SPELLING)
        best, best_score = None, SNAP_SCORE
        sound = jellyfish.metaphone(heard)
        for key, spelling, _ in spelled:
            for variant in (key, key + "s"):
                score = (max(spelling, fuzz.ratio(heard, variant)) + fuzz.ratio(sound, jellyfish.metaphone(variant))) / 2
                if score >= best_score:
                    best, best_score = keys[key], score
        return best


def _is_term(term: str) -> bool:
    """One to three words, no digits (pack sizes such as '1l' are not words anyone says), not an everyday word."""
    return (bool(term) and term not in _everyday() and term not in {"na", "nan"} and len(term.split()) <= 3
            and not any(c.isdigit() for c in term))


def _trailing_punctuation(token: str) -> str:
    return token[len(token.rstrip(".,!?;:")):]


@cache
def _is_everyday(word: str) -> bool:
    from wordfreq import zipf_frequency

    return word in _everyday() or zipf_frequency(word, "en") >= EVERYDAY_ZIPF


@cache
def _everyday() -> frozenset[str]:
    """Words never snapped or used for context: scikit-learn's English stop words and shopping verbs."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | SHOPPING_WORDS
