"""``CatalogSearch``: text, image and hybrid search over one catalog.

- ``text(query)``: dense; the query's text embedding against each item's vector.
- ``image(image)``: dense; the photo's embedding against each item's vector.
- ``bm25(query)``: keywords only.
- ``hybrid(query)``: BM25 and dense rankings fused by reciprocal rank.

Item vectors are ``fused`` by default (normalized sum of the item's image and text embeddings, see
kit/clip/embed.py). Filters (category, price range) apply before ranking; a price bound leaves out
items without a price.

    >>> search = CatalogSearch.build(open_catalog("grocery_store"), ItemEncoder.from_pretrained())
    >>> [r.id for r in search.hybrid("green apple", k=3)]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kit.catalog import Catalog, Item
from kit.clip.embed import CatalogEmbeddings, embed_catalog
from kit.clip.encoder import ItemEncoder
from kit.errors import BadInput
from kit.files import READ_ERRORS, save_npz
from kit.images import ImageInput
from kit.search.bm25 import BM25Index
from kit.search.fusion import reciprocal_rank_fusion
from kit.search.index import ExactIndex, HNSWIndex, VectorIndex, build_index

ItemMode = Literal["fused", "image", "text"]


@dataclass(frozen=True)
class SearchResult:
    id: str
    title: str
    score: float
    item: Item

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "score": round(float(self.score), 6)}


class CatalogSearch:
    def __init__(self, catalog: Catalog, encoder: ItemEncoder, embeddings: CatalogEmbeddings,
                 item_mode: ItemMode = "fused", index_kind: str = "auto", index: VectorIndex | None = None) -> None:
        if embeddings.ids != catalog.ids:
            raise BadInput(f"the embeddings do not belong to catalog {catalog.name!r} (different item ids)")
        self.catalog, self.encoder, self.embeddings, self.item_mode = catalog, encoder, embeddings, item_mode
        self.index: VectorIndex = index or build_index(embeddings.item_vectors(item_mode), index_kind)
        self.keywords = BM25Index([item.text for item in catalog])

    @classmethod
    def build(cls, catalog: Catalog, encoder: ItemEncoder, item_mode: ItemMode = "fused",
              index_kind: str = "auto") -> "CatalogSearch":
        return cls(catalog, encoder, embed_catalog(catalog, encoder), item_mode, index_kind)

    def save(self, folder: str | Path) -> Path:
        """Write the embeddings and the vector index (with the encoder's fingerprint) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        e = self.embeddings
        save_npz(folder / "embeddings.npz", ids=np.asarray(e.ids), text=e.text, image=e.image, has_image=e.has_image)
        self.index.save(folder / ("index.npy" if self.index.kind == "exact" else "index.faiss"))
        (folder / "search.json").write_text(json.dumps({"encoder": self.encoder.fingerprint, "item_mode": self.item_mode,
                                                        "index": self.index.kind, "catalog": self.catalog.name}))
        return folder

    @classmethod
    def load(cls, folder: str | Path, catalog: Catalog, encoder: ItemEncoder) -> "CatalogSearch":
        """Load what :meth:`save` wrote; refuses embeddings made by another encoder or for another catalog."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "search.json").read_text())
            if meta["encoder"] != encoder.fingerprint:
                raise BadInput(f"{folder} was built with encoder {meta['encoder']}, not {encoder.fingerprint}; rebuild it")
            with np.load(folder / "embeddings.npz") as data:
                embeddings = CatalogEmbeddings(data["ids"].tolist(), data["text"], data["image"], data["has_image"])
            index = ExactIndex.load(folder / "index.npy") if meta["index"] == "exact" else HNSWIndex.load(folder / "index.faiss")
        except (*READ_ERRORS, RuntimeError) as error:
            raise BadInput(f"the saved search in {folder} is missing or corrupt ({error}); rebuild it with "
                           "CatalogSearch.build(...).save(folder)") from error
        return cls(catalog, encoder, embeddings, meta["item_mode"], index=index)

    # -- filters -------------------------------------------------------------------------------------
    def _allowed(self, category: str | None, min_price: float | None, max_price: float | None) -> np.ndarray | None:
        if category is None and min_price is None and max_price is None:
            return None
        kept = set(self.catalog.filter(category=category, min_price=min_price, max_price=max_price).ids)
        return np.array([item_id in kept for item_id in self.catalog.ids])

    def _results(self, positions, scores) -> list[SearchResult]:
        items = self.catalog.items
        return [SearchResult(items[p].id, items[p].title, float(s), items[p]) for p, s in zip(positions, scores)
                if p >= 0 and np.isfinite(s)]

    @staticmethod
    def _check_query(query: str) -> str:
        if not isinstance(query, str) or not query.strip():
            raise BadInput("the search query is empty; type what you are looking for")
        if not any(c.isalnum() for c in query):
            raise BadInput(f"the search query {query[:40]!r} has no letters or digits; type what you are looking for")
        return query.strip()

    @staticmethod
    def _check_k(k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise BadInput(f"k (how many results) must be a whole number of at least 1, got {k!r}")
        return int(k)

    # -- searches ------------------------------------------------------------------------------------
    def text(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
             max_price: float | None = None) -> list[SearchResult]:
        k = self._check_k(k)
        vector = self.encoder.encode_texts([self._check_query(query)])
        scores, positions = self.index.search(vector, k, self._allowed(category, min_price, max_price))
        return self._results(positions[0], scores[0])

    def image(self, image: ImageInput, k: int = 10, category: str | None = None, min_price: float | None = None,
              max_price: float | None = None) -> list[SearchResult]:
        k = self._check_k(k)
        vector = self.encoder.encode_image(image)[None]
        scores, positions = self.index.search(vector, k, self._allowed(category, min_price, max_price))
        return self._results(positions[0], scores[0])

    def bm25(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
             max_price: float | None = None) -> list[SearchResult]:
        k = self._check_k(k)
        scores = self.keywords.scores(self._check_query(query))
        allowed = self._allowed(category, min_price, max_price)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:k]
        return self._results(order, scores[order])

    def hybrid(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
               max_price: float | None = None, depth: int = 100, rrf_k: int = 60) -> list[SearchResult]:
        """BM25 and dense rankings (each ``depth`` deep) fused by reciprocal rank fusion."""
        k = self._check_k(k)
        filters = {"category": category, "min_price": min_price, "max_price": max_price}
        dense = [r.id for r in self.text(query, depth, **filters)]
        keyword = [r.id for r in self.bm25(query, depth, **filters) if r.score > 0]
        fused = reciprocal_rank_fusion([dense, keyword], k=rrf_k)[:k]
        return [SearchResult(i, self.catalog[i].title, score, self.catalog[i]) for i, score in fused]
