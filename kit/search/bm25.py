"""Keyword search with bm25s over the items' text (English stopwords removed, no stemming)."""

from __future__ import annotations

import numpy as np


class BM25Index:
    def __init__(self, texts: list[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self.size = len(texts)
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every item for ``query`` (zeros when no query word is in the vocabulary)."""
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
        known = [t for t in tokens if t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)
