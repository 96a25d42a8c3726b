"""Item text vectors for semantic IDs, from the registry's text encoders, cached by text hash.

The codes are only as good as the vectors they quantize: items whose texts land close together
should share prefixes. Both registry encoders (``minilm``, ``e5-small``) return L2-normalised 384-d
vectors; :func:`neighbour_agreement` measures which one puts co-purchased items closer.
"""

from __future__ import annotations

import numpy as np

from kit.clip.cache import EmbeddingCache, content_key
from kit.clip.towers import load_text_encoder


def item_text_embeddings(texts: list[str], model: str = "minilm") -> np.ndarray:
    """``(len(texts), dim)`` float32 vectors; only texts not cached yet are encoded."""
    encoder = None

    def encode(batch: list[str]) -> np.ndarray:
        nonlocal encoder
        encoder = encoder or load_text_encoder(model)
        return encoder.encode(batch, kind="passage")

    cache = EmbeddingCache(f"text-{model}")  # the passage cache the LLM paradigms share
    return cache.embed([content_key(t) for t in texts], texts, encode, desc=f"item texts ({model})")
