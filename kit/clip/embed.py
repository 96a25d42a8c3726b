"""Embedding a whole catalog, cached on disk by (encoder fingerprint, content hash).

Re-running embeds only what changed; a killed run resumes from its last finished batch. Items with
an unreadable image keep their text embedding, and the skipped images are listed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from kit.catalog import Catalog
from kit.clip.cache import EmbeddingCache, content_key, file_key
from kit.clip.encoder import ItemEncoder
from kit.errors import BadInput

log = logging.getLogger(__name__)


@dataclass
class CatalogEmbeddings:
    ids: list[str]
    text: np.ndarray  # (N, D) embedding of each item's text
    image: np.ndarray  # (N, D) embedding of each item's image; zero rows where there is none
    has_image: np.ndarray  # (N,) bool
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item id, why its image was skipped)

    def item_vectors(self, mode: str = "fused") -> np.ndarray:
        """One vector per item: ``image``, ``text``, or ``fused`` (normalized sum; text where no image)."""
        if mode == "text":
            return self.text
        if mode == "image":
            return self.image
        if mode != "fused":
            raise BadInput(f"mode must be fused, image or text, got {mode!r}")
        fused = self.text + self.image
        return fused / np.linalg.norm(fused, axis=1, keepdims=True).clip(min=1e-12)


def embed_catalog(catalog: Catalog, encoder: ItemEncoder, batch_size: int = 8) -> CatalogEmbeddings:
    from kit.clip.pairs import item_text

    texts = [item_text(item) for item in catalog]
    text_cache = EmbeddingCache(f"{encoder.fingerprint}/text")
    text = text_cache.embed([content_key(t) for t in texts], texts, encoder.encode_item_texts, 512, "item texts")

    image_cache = EmbeddingCache(f"{encoder.fingerprint}/image")
    image = np.zeros_like(text)
    has_image = np.zeros(len(catalog), dtype=bool)
    skipped: list[tuple[str, str]] = []
    rows, keys, paths = [], [], []
    for row, item in enumerate(catalog):
        if item.image is None:
            continue
        try:
            keys.append(file_key(item.image))
            rows.append(row)
            paths.append(item.image)
        except OSError as exc:
            skipped.append((item.id, f"cannot read {item.image}: {exc}"))

    def encode(batch: list) -> np.ndarray:  # a bad image fails its chunk; the chunk then goes one by one
        return encoder.encode_image_files(batch, batch_size)

    for start in range(0, len(rows), 512):  # chunks, so one bad image costs only its own chunk
        chunk = slice(start, start + 512)
        try:
            vectors = image_cache.embed(keys[chunk], paths[chunk], encode, 256, "item images")
            image[rows[chunk]] = vectors
            has_image[rows[chunk]] = True
        except BadInput:
            for row, key, path in zip(rows[chunk], keys[chunk], paths[chunk]):
                try:
                    image[row] = image_cache.embed([key], [path], encode, 1)[0]
                    has_image[row] = True
                except BadInput as exc:
                    skipped.append((catalog.items[row].id, str(exc)))
    if skipped:
        log.warning("%d item images skipped (first: %s)", len(skipped), skipped[0])
    return CatalogEmbeddings(catalog.ids, text, image, has_image, skipped)
