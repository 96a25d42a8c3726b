"""Keyword search with bm25s over the items' text (English stopwords removed, plurals folded)."""

from __future__ import annotations

import numpy as np


def fold_plurals(words: list[str]) -> list[str]:
    """Harman's S-stemmer (1991): 'apples' -> 'apple', 'berries' -> 'berry', 'glasses' stays. Light on purpose:
    product names suffer from aggressive stemmers ('jeans' -> 'jean' is as far as it goes)."""
    out = []
    for w in words:
        if w.endswith("ies") and not w.endswith(("eies", "aies")) and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith("es") and not w.endswith(("aes", "ees", "oes")) and len(w) > 4:
            w = w[:-1]
        elif w.endswith("s") and not w.endswith(("us", "ss")) and len(w) > 3:
            w = w[:-1]
        out.append(w)
    return out


class BM25Index:
    def __init__(self, texts: list[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self.size = len(texts)
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=fold_plurals, show_progress=False),
                            show_progress=False)

    def known_words(self, query: str) -> list[str]:
        """The query's words (stopwords dropped, plurals folded) that occur in the indexed texts."""
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=fold_plurals, show_progress=False,
                                      return_ids=False)[0]
        return [t for t in tokens if t in self.retriever.vocab_dict]

    def matched_words(self, query: str, text: str) -> list[str]:
        """The query's indexed words that ``text`` holds: the evidence BM25 scored an item on."""
        words = set(self._bm25s.tokenize([text], stopwords="en", stemmer=fold_plurals, show_progress=False,
                                         return_ids=False)[0])
        return [w for w in dict.fromkeys(self.known_words(query)) if w in words]

    def coverage(self, query: str) -> float:
        """Share of the query's words (stopwords dropped) that occur somewhere in the indexed texts."""
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=fold_plurals, show_progress=False,
                                      return_ids=False)[0]
        return sum(t in self.retriever.vocab_dict for t in tokens) / len(tokens) if tokens else 0.0

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every item for ``query`` (zeros when no query word is in the vocabulary)."""
        known = self.known_words(query)
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)
