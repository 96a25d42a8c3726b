"""Text-to-text search: a sentence model (MiniLM) reading each item's own text.

The image-text model's text side is a projection trained on photo captions, and it forgets what the sentence
model knew: for a shopper's own words ("the yellow fruit monkeys love", "something to keep my neck warm") the
plain sentence model over the items' names and descriptions finds the product far more often (docs/benchmarks.md,
"Search that understands needs"). ``hybrid`` fuses this ranking with the image-text and keyword ones.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from kit.catalog import Item
from kit.clip.cache import EmbeddingCache, content_key

SENTENCE_MODEL = "minilm"


@cache
def sentence_model(name: str = SENTENCE_MODEL):
    """The registry's sentence encoder, loaded once per process (it is read-only)."""
    from kit.clip.towers import load_text_encoder

    return load_text_encoder(name)


class SentenceIndex:
    """L2-normalized sentence vectors of item texts (cached on disk by text) and cosine scores for a query."""

    def __init__(self, items: list[Item], model: str = SENTENCE_MODEL) -> None:
        self.model = model
        texts = [item.text for item in items]
        encoder = sentence_model(model)
        self.vectors = EmbeddingCache(f"sentences/{model}").embed(
            [content_key(t) for t in texts], texts, lambda batch: encoder.encode(batch, kind="passage"), 256,
            "item texts (sentence model)") if texts else np.zeros((0, 384), np.float32)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of ``query`` with every item text, in catalog order."""
        return self.vectors @ sentence_model(self.model).encode([query], kind="query")[0]
