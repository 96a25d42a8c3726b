"""``CatalogSearch``: text, image and hybrid search over one catalog.

- ``text(query)``: dense; the query's text embedding against each item's vector.
- ``image(image)``: dense; the photo's embedding against each item's vector.
- ``bm25(query)``: keywords only.
- ``sentences(query)``: text-to-text; a sentence model (MiniLM) over each item's own text (kit/search/sentences.py).
- ``hybrid(query)``: BM25, dense and sentence rankings fused by weighted reciprocal rank (the two meaning
  rankings weigh 1, not tuned). BM25's weight follows the
  query (:meth:`CatalogSearch.keyword_share`): a query in the catalog's label words ("navy blue shirts for
  men") gets ``keyword_weight`` and BM25 leads; a shopper's own words ("something to keep my neck warm") get
  at most plain RRF, as much as the share of their words the catalog's texts know.

``hybrid`` also reads the filters a query states ("for men", "black", "under 30"; kit/search/query_filters.py)
and applies them; an item without that label is judged by the label its trained attribute head reads off its
photo when confident (kit/enrich), else by its zero-shot label.

Item vectors are ``fused`` by default (normalized sum of the item's image and text embeddings, see
kit/clip/embed.py). Filters (category, price range) apply before ranking; a price bound leaves out
items without a price.

    >>> search = CatalogSearch.build(open_catalog("grocery_store"), ItemEncoder.from_pretrained())
    >>> [r.id for r in search.hybrid("green apple", k=3)]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from kit.catalog import Catalog, Item
from kit.clip.embed import CatalogEmbeddings, embed_catalog
from kit.clip.encoder import ItemEncoder
from kit.errors import BadInput
from kit.files import READ_ERRORS, save_npz
from kit.images import ImageInput
from kit.scale.shards import read_shards
from kit.search.bm25 import BM25Index
from kit.search.fusion import reciprocal_rank_fusion
from kit.search.index import VectorIndex, build_index, load_index
from kit.search.query_filters import FilterVocabulary, QueryFilters, attribute_values, read_filters
from kit.search.sentences import SentenceIndex
from kit.search.vocabulary import label_coverage, label_words, name_words

ItemMode = Literal["fused", "image", "text"]
Attributes = dict[str, frozenset[str]]
ZERO_SHOT_PROMPTS = {"baseColour": "a {} product", "colour": "a {} product", "color": "a {} product",
                     "gender": "a product for {}"}  # the prompts kit/search/evaluate.py measures


def _recall_queries(embeddings: CatalogEmbeddings, n: int = 200, seed: int = 0) -> np.ndarray:
    """Real queries for measuring an approximate index's recall: a sample of the items' text embeddings (what
    a shopper's words look like to the index)."""
    rng = np.random.default_rng(seed)
    return embeddings.text[np.sort(rng.choice(len(embeddings.ids), min(n, len(embeddings.ids)), replace=False))]


@dataclass(frozen=True)
class SearchResult:
    id: str
    title: str
    score: float
    item: Item
    why: str = ""  # the evidence the search used for this item (ranks, matched words, filters), never invented

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "score": round(float(self.score), 6), "why": self.why}


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def explain_hybrid(dense_rank: int | None, keyword_rank: int | None, matched: list[str],
                   filters: dict[str, list[str]], sentence_rank: int | None = None) -> str:
    """Why a hybrid result is shown, from what the fusion used: its ranks, the words BM25 matched, the
    filters the query stated."""
    parts = []
    if keyword_rank is not None:
        words = ", ".join(f"'{w}'" for w in matched)
        parts.append(f"{_ordinal(keyword_rank)} by keywords" + (f" (its text has {words})" if words else ""))
    if dense_rank is not None:
        parts.append(f"{_ordinal(dense_rank)} by meaning (the image-text model)")
    if sentence_rank is not None:
        parts.append(f"{_ordinal(sentence_rank)} by meaning of its text (the sentence model)")
    if filters:
        parts.append("kept by your filter " + ", ".join(f"{k} {'/'.join(v)}" for k, v in filters.items()))
    return "; ".join(parts)


class CatalogSearch:
    # BM25's weight in ``hybrid`` for a query made only of label words (chosen on the fashion shopper
    # queries, reported on the paraphrase needs; docs/benchmarks.md).
    keyword_weight: float = 8.0

    def __init__(self, catalog: Catalog, encoder: ItemEncoder, embeddings: CatalogEmbeddings,
                 item_mode: ItemMode = "fused", index_kind: str = "auto", index: VectorIndex | None = None) -> None:
        if embeddings.ids != catalog.ids:
            raise BadInput(f"the embeddings do not belong to catalog {catalog.name!r} (different item ids)")
        self.catalog, self.encoder, self.embeddings, self.item_mode = catalog, encoder, embeddings, item_mode
        self.index: VectorIndex = index or build_index(embeddings.item_vectors(item_mode), index_kind,
                                                       queries=_recall_queries(embeddings))
        self.keywords = BM25Index([item.text for item in catalog])
        self._labels: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, frozenset[str]], np.ndarray] = {}

    @classmethod
    def build(cls, catalog: Catalog, encoder: ItemEncoder, item_mode: ItemMode = "fused",
              index_kind: str = "auto") -> "CatalogSearch":
        return cls(catalog, encoder, embed_catalog(catalog, encoder), item_mode, index_kind)

    @classmethod
    def from_shards(cls, folder: str | Path, catalog: Catalog, encoder: ItemEncoder, item_mode: ItemMode = "fused",
                    index_kind: str = "auto") -> "CatalogSearch":
        """Search what ``python -m kit embed`` wrote into ``folder`` (its Parquet shards), without re-embedding."""
        shards = read_shards(folder)
        if shards.model != encoder.fingerprint:
            raise BadInput(f"{folder} was embedded with {shards.model}, not {encoder.fingerprint}; search it with "
                           "that model or embed again")
        embeddings = CatalogEmbeddings(shards.ids, shards.text, shards.image, shards.has_image, shards.errors)
        return cls(catalog, encoder, embeddings, item_mode, index_kind)

    def save(self, folder: str | Path) -> Path:
        """Write the embeddings and the vector index (with the encoder's fingerprint) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        e = self.embeddings
        save_npz(folder / "embeddings.npz", ids=np.asarray(e.ids), text=e.text, image=e.image, has_image=e.has_image)
        self.index.save(folder / ("index.npy" if self.index.kind == "exact" else "index.faiss"))  # + its card
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
            index = load_index(folder / ("index.npy" if meta["index"] == "exact" else "index.faiss"))
        except (*READ_ERRORS, RuntimeError) as error:
            raise BadInput(f"the saved search in {folder} is missing or corrupt ({error}); rebuild it with "
                           "CatalogSearch.build(...).save(folder)") from error
        return cls(catalog, encoder, embeddings, meta["item_mode"], index=index)

    @cached_property
    def names(self) -> frozenset[str]:
        """The words this catalog names things with (titles, categories, short attribute values)."""
        return name_words(self.catalog)

    def filters_in(self, query: str) -> QueryFilters:
        """The filters ``query`` states that this catalog can apply ("for men", "black", "under 30")."""
        return read_filters(query, self.filter_vocabulary)

    @cached_property
    def filter_vocabulary(self) -> FilterVocabulary:
        return FilterVocabulary.of(self.catalog)

    @cached_property
    def label_words(self) -> frozenset[str]:
        """The words of this catalog's labels only (categories, short attribute values)."""
        return label_words(self.catalog)

    def keyword_share(self, query: str, keyword_weight: float | None = None) -> float:
        """BM25's weight in :meth:`hybrid` for ``query``.

        Two readings of the query after its filter phrases ("for men", "black") are taken out: made of the
        catalog's labels ("tshirts") it is a keyword query and BM25 leads, ``keyword_weight`` x coverage³;
        otherwise BM25 weighs as much as the share of its words that occur anywhere in the catalog's texts
        (at most plain RRF). The larger reading wins.
        """
        rest = self.filters_in(query).rest or query
        weight = self.keyword_weight if keyword_weight is None else keyword_weight
        return max(weight * label_coverage(rest, self.label_words) ** 3, self.keywords.coverage(rest))

    # -- filters -------------------------------------------------------------------------------------
    def labels(self, key: str) -> np.ndarray:
        """Every item's value of attribute ``key``. An item without one gets the label that the catalog's trained
        attribute head reads off its photo when the head is confident, else none (a filter then leaves it out:
        a missing label beats a wrong one; kit/enrich); without a head for ``key``, its zero-shot label (from
        its photo, else its text) among the values the catalog uses, so a filter does not drop it unseen."""
        if key not in self._labels:
            values = [item.attributes.get(key) for item in self.catalog]
            missing = [i for i, v in enumerate(values) if not (isinstance(v, str) and v)]
            choices = sorted(attribute_values(self.catalog, key))
            enriched = self._enriched(key, missing) if missing else None
            if enriched is not None:
                for i, label in zip(missing, enriched):
                    values[i] = label
            elif missing and choices:
                from kit.clip.zero_shot import zero_shot

                e = self.embeddings
                vectors = np.where(e.has_image[missing, None], e.image[missing], e.text[missing])
                scores = zero_shot(self.encoder, vectors, choices, ZERO_SHOT_PROMPTS.get(key, "a photo of {}"))
                for row, i in enumerate(missing):
                    values[i] = scores.top(row, 1)[0][0]
            self._labels[key] = np.array([v if isinstance(v, str) else "" for v in values], dtype=object)
        return self._labels[key]

    def _enriched(self, key: str, rows: list[int]) -> list[str] | None:
        """The confident labels of the catalog's saved photo head for ``key`` ("" where it is not confident or
        there is no photo), or None when no head for ``key`` was trained for this catalog."""
        from kit.enrich.recipe import trained_heads

        head = trained_heads(self.catalog.name).get(key)
        if head is None:
            return None
        out = [""] * len(rows)
        readable = [n for n, i in enumerate(rows) if self.catalog.items[i].image is not None]
        if readable:
            from kit.enrich.features import item_features, load_towers

            towers = load_towers(head.photo_tower_id)
            labels, confidence = head.predict(item_features([self.catalog.items[rows[n]] for n in readable], "photo",
                                                            towers))
            for n, label, trusted in zip(readable, labels, head.trusted(confidence)):
                out[n] = label if trusted else ""
        return out

    def _allowed(self, category: str | None, min_price: float | None, max_price: float | None,
                 attributes: Attributes | None = None) -> np.ndarray | None:
        if category is None and min_price is None and max_price is None and not attributes:
            return None
        allowed = np.ones(len(self.catalog), dtype=bool)
        if category is not None or min_price is not None or max_price is not None:
            kept = set(self.catalog.filter(category=category, min_price=min_price, max_price=max_price).ids)
            allowed &= np.array([item_id in kept for item_id in self.catalog.ids])
        for key, accepted in (attributes or {}).items():
            accepted = frozenset(accepted)
            if (key, accepted) not in self._masks:  # a query's filters repeat: "for men" is one mask
                self._masks[(key, accepted)] = np.isin(self.labels(key), list(accepted))
            allowed &= self._masks[(key, accepted)]
        return allowed

    def _results(self, positions, scores, why: str = "") -> list[SearchResult]:
        items = self.catalog.items
        return [SearchResult(items[p].id, items[p].title, float(s), items[p], why.format(score=float(s)))
                for p, s in zip(positions, scores) if p >= 0 and np.isfinite(s)]

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
             max_price: float | None = None, attributes: Attributes | None = None) -> list[SearchResult]:
        k = self._check_k(k)
        vector = self.encoder.encode_texts([self._check_query(query)])
        scores, positions = self.index.search(vector, k, self._allowed(category, min_price, max_price, attributes))
        return self._results(positions[0], scores[0], "text-image similarity {score:.2f} (the image-text model)")

    def image(self, image: ImageInput, k: int = 10, category: str | None = None, min_price: float | None = None,
              max_price: float | None = None, attributes: Attributes | None = None) -> list[SearchResult]:
        k = self._check_k(k)
        vector = self.encoder.encode_image(image)[None]
        scores, positions = self.index.search(vector, k, self._allowed(category, min_price, max_price, attributes))
        return self._results(positions[0], scores[0], "looks like your photo (similarity {score:.2f})")

    @cached_property
    def sentence_index(self) -> SentenceIndex:
        """The sentence model over the items' texts, built on the first query that needs it (kit/search/sentences.py)."""
        return SentenceIndex(self.catalog.items)

    def sentences(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
                  max_price: float | None = None, attributes: Attributes | None = None) -> list[SearchResult]:
        """Text-to-text: the items whose own text a sentence model (MiniLM) reads closest to ``query``."""
        order, scores = self._best(self.sentence_index.scores(self._check_query(query)), self._check_k(k),
                                   self._allowed(category, min_price, max_price, attributes))
        return self._results(order, scores, "its text reads like your words (similarity {score:.2f}, the sentence model)")

    def bm25(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
             max_price: float | None = None, attributes: Attributes | None = None) -> list[SearchResult]:
        order, scores = self._best(self.keywords.scores(self._check_query(query)), self._check_k(k),
                                   self._allowed(category, min_price, max_price, attributes))
        return [replace(r, why="its text has " + ", ".join(f"'{w}'" for w in self.keywords.matched_words(query, r.item.text)))
                for r in self._results(order, scores)]

    @staticmethod
    def _best(scores: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the ``k`` best scores among the allowed items, best first (ties in catalog order)."""
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:k]
        return order, scores[order]

    def hybrid(self, query: str, k: int = 10, category: str | None = None, min_price: float | None = None,
               max_price: float | None = None, depth: int = 100, rrf_k: int = 60,
               bm25_weight: float | None = None, query_filters: bool = True, attributes: Attributes | None = None,
               keyword_weight: float | None = None) -> list[SearchResult]:
        """BM25, image-text dense and sentence-model rankings (each ``depth`` deep) fused by weighted
        reciprocal rank fusion; the two meaning rankings weigh 1, BM25 ``bm25_weight`` when given (1.0 is plain
        RRF), else :meth:`keyword_share` of the query (with ``keyword_weight`` instead of the class's when given).
        With ``query_filters`` the gender, colour and price bounds the query states apply too (arguments win)."""
        k = self._check_k(k)
        said = self.filters_in(query) if query_filters else QueryFilters()
        filters = {"category": category, "min_price": said.min_price if min_price is None else min_price,
                   "max_price": said.max_price if max_price is None else max_price,
                   "attributes": {**said.attributes, **(attributes or {})} or None}
        dense = [r.id for r in self.text(query, depth, **filters)]
        keyword = [r.id for r in self.bm25(query, depth, **filters) if r.score > 0]
        sentence = [r.id for r in self.sentences(query, depth, **filters)]
        weight = self.keyword_share(query, keyword_weight) if bm25_weight is None else bm25_weight
        fused = reciprocal_rank_fusion([dense, keyword, sentence], k=rrf_k, weights=[1.0, weight, 1.0])[:k]
        dense_rank = {item_id: n for n, item_id in enumerate(dense, start=1)}
        keyword_rank = {item_id: n for n, item_id in enumerate(keyword, start=1)}
        sentence_rank = {item_id: n for n, item_id in enumerate(sentence, start=1)}
        stated = {key: sorted(values) for key, values in (filters["attributes"] or {}).items()}
        return [SearchResult(i, self.catalog[i].title, score, self.catalog[i],
                             explain_hybrid(dense_rank.get(i), keyword_rank.get(i),
                                            self.keywords.matched_words(query, self.catalog[i].text), stated,
                                            sentence_rank.get(i)))
                for i, score in fused]
