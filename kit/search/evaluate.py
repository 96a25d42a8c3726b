"""The item-understanding evaluations behind ``python -m kit eval`` and docs/benchmarks.md.

- :func:`grocery_image_retrieval`: each store photo of a split ranked against all 81 products
  (top-1 / top-5 accuracy). Products are represented by ``product_mode``: their text (name and
  description), their iconic image, or both fused.
- :func:`iconic_baseline`: the same task without any training: the nearest iconic image by frozen
  ImageNet (efficientnet-lite0) features.
- :func:`fashion_text_to_image`: each held-out title ranked against all 9,583 photos (Recall@1/@10),
  the FashionCLIP-style protocol.
- :func:`attribute_queries`: shopper-style text queries ("black sports shoes for men") built from the
  held-out items' labels; relevant = every catalog item with those labels. Reports Recall@5 capped
  at 5 relevant (= Precision@5 when a query has 5 or more relevant items) for dense, BM25 and hybrid.
- :func:`zero_shot_attributes`: zero-shot accuracy on baseColour, articleType and gender.
- :func:`load_needs` and :func:`needs_search_quality`: shopper needs written without the catalog's label
  words ("something to keep my neck warm"; tests/data/paraphrase_needs.jsonl) and what answers them (item ids,
  or article types and genders); Precision@5 and capped Recall@5 for dense, BM25 and hybrid.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kit.bundled_catalogs import CatalogSpec, held_out_catalog, item_split, open_catalog, photo_query_catalog
from kit.catalog import Catalog, Item
from kit.clip.cache import EmbeddingCache, file_key
from kit.clip.embed import embed_catalog
from kit.clip.encoder import ItemEncoder
from kit.clip.zero_shot import zero_shot_accuracy
from kit.errors import BadInput
from kit.eval import recall_at_k
from kit.search.engine import CatalogSearch


def _topk_accuracy(scores: np.ndarray, truth: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    order = np.argsort(-scores, axis=1)
    return {f"top{k}": float(np.mean([t in row[:k] for t, row in zip(truth, order)])) for k in ks}


def _grocery_scores(encoder: ItemEncoder, split: str, product_mode: str, limit: int | None):
    """(photo x product similarities, true product index per photo, the catalog) for a split of the shopper
    photos of the catalog that has them."""
    spec = photo_query_catalog()
    catalog = open_catalog(spec.name)
    products = embed_catalog(catalog, encoder).item_vectors(product_mode)
    photos = spec.photo_queries(split)[:limit]
    cache = EmbeddingCache(f"{encoder.fingerprint}/image")  # the same cache embed_catalog uses
    paths = [p.path for p in photos]
    vectors = cache.embed([file_key(p) for p in paths], paths, encoder.encode_image_files, 256, "photos")
    truth = np.array([catalog.ids.index(p.item_id) for p in photos])
    return vectors @ products.T, truth, catalog


def grocery_image_retrieval(encoder: ItemEncoder, split: str = "test", product_mode: str = "text",
                            limit: int | None = None) -> dict:
    scores, truth, _ = _grocery_scores(encoder, split, product_mode, limit)
    return {**_topk_accuracy(scores, truth), "n": len(truth), "products": product_mode}


def grocery_confusions(encoder: ItemEncoder, split: str = "test", product_mode: str = "text",
                       limit: int | None = None, top: int = 8) -> list[tuple[str, str, int]]:
    """The most frequent mistakes: (true product, product ranked first instead, how many photos)."""
    scores, truth, catalog = _grocery_scores(encoder, split, product_mode, limit)
    predicted = scores.argmax(axis=1)
    mistakes = Counter((catalog.ids[t], catalog.ids[p]) for t, p in zip(truth, predicted) if t != p)
    return [(true, guess, n) for (true, guess), n in mistakes.most_common(top)]


@torch.no_grad()
def iconic_baseline(split: str = "test", limit: int | None = None) -> dict:
    """Nearest iconic image by frozen ImageNet features: the no-training baseline."""
    from kit.clip.towers import load_image_tower
    from kit.images import load_image

    model, transform = load_image_tower("efficientnet-lite0")

    def trunk(paths: list) -> torch.Tensor:
        """L2-normalized pooled ImageNet features (the classifier's input), in batches of 64."""
        features = []
        for i in range(0, len(paths), 64):
            batch = torch.stack([transform(load_image(p)) for p in paths[i:i + 64]])
            features.append(model.forward_head(model.forward_features(batch), pre_logits=True))
        return F.normalize(torch.cat(features), dim=-1)

    spec = photo_query_catalog()
    catalog = open_catalog(spec.name)
    products = trunk([item.image for item in catalog])
    photos = spec.photo_queries(split)[:limit]
    truth = np.array([catalog.ids.index(p.item_id) for p in photos])
    return {**_topk_accuracy((trunk([p.path for p in photos]) @ products.T).numpy(), truth), "n": len(photos)}


def linear_probe_ceiling(split: str = "test", limit: int | None = None, encoder: ItemEncoder | None = None) -> dict:
    """Reference for what a linear head on fixed image features can do: logistic regression on the train
    photos' features, evaluated on ``split``. Without ``encoder``: the pooled *frozen* efficientnet-lite0
    features, shopkit-lit's practical ceiling for photo -> product (it learns only heads on them). With an
    encoder: its image embeddings (e.g. shopkit-lit-ft's, whose top stages learned)."""
    from sklearn.linear_model import LogisticRegression

    from kit.clip.lit import create_untrained, image_trunk_features
    from kit.config import kit_home

    spec = photo_query_catalog()
    catalog = open_catalog(spec.name)
    train, test = spec.photo_queries("train"), spec.photo_queries(split)[:limit]
    if encoder is None:
        model, preprocess, _ = create_untrained(kit_home() / "tmp" / "probe-model")
        embed = lambda paths: image_trunk_features(model, preprocess, paths)  # noqa: E731
    else:
        cache = EmbeddingCache(f"{encoder.fingerprint}/image")
        embed = lambda paths: cache.embed([file_key(p) for p in paths], paths, encoder.encode_image_files, 256, "photos")  # noqa: E731
    features = lambda photos: F.normalize(torch.from_numpy(embed([p.path for p in photos])), dim=-1).numpy()  # noqa: E731
    labels = lambda photos: np.array([catalog.ids.index(p.item_id) for p in photos])  # noqa: E731
    probe = LogisticRegression(C=100, max_iter=3000).fit(features(train), labels(train))
    return {"top1": float(probe.score(features(test), labels(test))), "n": len(test)}


def _held_out(spec: CatalogSpec | None, seed: int,
              max_items: int | None = None) -> tuple[CatalogSpec, Catalog, list[Item], list[Item]]:
    """(spec, catalog, train items, held-out items) of a catalog whose held-out items are its queries.

    ``max_items``: the catalog is a slice of at most that many items (:meth:`Catalog.sample`) and both splits
    keep only its items; the split itself is the whole catalog's, so a held-out item stays one the image-text
    model never trained on."""
    spec = spec or held_out_catalog()
    if spec.holdout <= 0:
        raise BadInput(f"{spec.name} holds no items out; its queries are {'photos' if spec.photo_queries else 'none'}")
    catalog = open_catalog(spec.name)
    train, held_out = item_split(catalog, spec.holdout, seed)
    if max_items:
        catalog = catalog.sample(max_items)
        train, held_out = ([item for item in part if item.id in catalog] for part in (train, held_out))
    return spec, catalog, train, held_out


def fashion_text_to_image(encoder: ItemEncoder, seed: int = 0, limit: int | None = None,
                          spec: CatalogSpec | None = None, max_items: int | None = None) -> dict:
    """Held-out titles -> photos on the catalog whose held-out items are its queries (the first such by default);
    ``max_items``: against the photos of a slice of the catalog (:func:`_held_out`)."""
    _, catalog, _, held_out = _held_out(spec, seed, max_items)
    return title_to_image(encoder, catalog, held_out[:limit])


def title_to_image(encoder: ItemEncoder, catalog, queries: list | None = None, limit: int | None = None) -> dict:
    """Each query item's title ranked against every photo of ``catalog`` (Recall@1/@10); default: all items
    with a photo (your own catalog, which the encoder never trained on)."""
    embeddings = embed_catalog(catalog, encoder)
    held_out = (queries if queries is not None else [i for i, ok in zip(catalog, embeddings.has_image) if ok])[:limit]
    if not held_out:
        raise BadInput(f"catalog {catalog.name!r} has no item with a readable photo to retrieve")
    queries = encoder.encode_texts([item.title for item in held_out])
    truth = np.array([catalog.ids.index(item.id) for item in held_out])
    order = np.argsort(-(queries @ embeddings.image.T), axis=1)[:, :10]
    return {"recall@1": float(np.mean(order[:, 0] == truth)),
            "recall@10": float(np.mean([t in row for t, row in zip(truth, order)])), "n": len(truth)}


@dataclass(frozen=True)
class AttributeQuery:
    text: str
    relevant: frozenset[str]


def attribute_queries(seed: int = 0, limit: int = 200, spec: CatalogSpec | None = None) -> list[AttributeQuery]:
    """Distinct label combinations of held-out items as shopper queries, written by the catalog's
    ``attribute_query`` (fashion: colour, article type, gender: "black sports shoes for men")."""
    spec, catalog, _, held_out = _held_out(spec, seed)
    if not spec.attribute_query:
        raise BadInput(f"{spec.name} declares no attribute_query to write shopper queries with")
    names = spec.query_attributes
    key_of = lambda item: tuple(item.attributes.get(name, "") for name in names)  # noqa: E731
    groups: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for item in catalog:
        groups[key_of(item)].add(item.id)
    queries, seen = [], set()
    for item in held_out:
        key = key_of(item)
        if key in seen or not all(key):
            continue
        seen.add(key)
        text = spec.attribute_query.format(**{name: value.lower() for name, value in zip(names, key)})
        queries.append(AttributeQuery(text, frozenset(groups[key])))
    return queries[:limit]


def text_search_quality(search: CatalogSearch, queries: list[AttributeQuery], k: int = 5) -> dict[str, float]:
    """Capped Recall@k (|top-k ∩ relevant| / min(k, |relevant|)) of dense, BM25 and hybrid search."""
    out = {}
    for mode in ("text", "bm25", "hybrid"):
        scores = []
        for query in queries:
            ranked = [r.id for r in getattr(search, mode)(query.text, k=k)]
            scores.append(recall_at_k(ranked, query.relevant, k) * len(query.relevant) / min(k, len(query.relevant)))
        out[{"text": "dense", "bm25": "bm25", "hybrid": "hybrid"}[mode]] = float(np.mean(scores))
    return out


def query_latency(search: CatalogSearch, queries: list[str], mode: str = "text", repeats: int = 3) -> dict[str, float]:
    """p50 / p99 wall time in milliseconds of one query, end to end (encode + rank)."""
    timings = []
    getattr(search, mode)(queries[0])  # warm up
    for _ in range(repeats):
        for query in queries:
            start = time.perf_counter()
            getattr(search, mode)(query, k=10)
            timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p99_ms": float(np.percentile(timings, 99)), "n": len(timings)}


def zero_shot_attributes(encoder: ItemEncoder, seed: int = 0, limit: int | None = None,
                         spec: CatalogSpec | None = None, max_items: int | None = None) -> dict:
    """Zero-shot accuracy per attribute of the catalog's ``zero_shot`` table on held-out photos, and under
    ``"majority"`` the strongest trivial baseline: always answering the label most common in the train split
    (fashion colour: Black)."""
    spec, catalog, train, held_out = _held_out(spec, seed, max_items)
    embeddings = embed_catalog(catalog, encoder)
    held_out = held_out[:limit]
    rows = [catalog.ids.index(item.id) for item in held_out]
    vectors = embeddings.image[rows]
    out, majority = {}, {}
    for attribute, template in spec.zero_shot:
        truth = [item.attributes.get(attribute, "") for item in held_out]
        out[attribute] = zero_shot_accuracy(encoder, vectors, truth, template)
        most_common = Counter(item.attributes.get(attribute, "") for item in train).most_common(1)[0][0]
        majority[attribute] = sum(label == most_common for label in truth) / max(len(truth), 1)
    out["majority"] = majority
    out["n"] = len(held_out)
    return out


@dataclass(frozen=True)
class Need:
    """A shopper's need in their own words, and every catalog item that answers it."""

    text: str
    relevant: frozenset[str]


def answers(item: Item, relevant: dict[str, list[str]]) -> bool:
    """Does ``item`` answer a need whose answers are given as ``{"id": [...]}`` or attribute value lists?"""
    for key, accepted in relevant.items():
        value = item.id if key == "id" else item.attributes.get(key, "")
        if value not in accepted:
            return False
    return True


def load_needs(catalog: Catalog, path: str | Path) -> list[Need]:
    """The rows of a needs file (JSON lines: catalog, need, relevant) that belong to ``catalog``."""
    needs = []
    for line_number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        if row["catalog"] != catalog.name:
            continue
        relevant = frozenset(item.id for item in catalog if answers(item, row["relevant"]))
        if not relevant:
            raise BadInput(f"{path}:{line_number}: no item of {catalog.name!r} answers {row['need']!r}")
        needs.append(Need(row["need"], relevant))
    return needs


def needs_search_quality(search: CatalogSearch, needs: list, k: int = 5,
                         rankers: dict[str, Callable[..., list]] | None = None) -> dict[str, dict[str, float]]:
    """Precision@k and capped Recall@k (|top-k ∩ relevant| / min(k, |relevant|)) per ranker (default:
    dense, BM25 and hybrid search); ``needs`` are :class:`Need` or :class:`AttributeQuery` records."""
    rankers = rankers or {"dense": search.text, "bm25": search.bm25, "hybrid": search.hybrid}
    out = {}
    for name, rank in rankers.items():
        precision, recall = [], []
        for need in needs:
            hits = sum(r.id in need.relevant for r in rank(need.text, k=k))
            precision.append(hits / k)
            recall.append(hits / min(k, len(need.relevant)))
        out[name] = {f"precision@{k}": float(np.mean(precision)), f"recall@{k}": float(np.mean(recall))}
    return out
