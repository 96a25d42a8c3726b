"""Bundle completion: which items complete a partial bundle?

Two signals, summed after scaling each to [0, 1]:

- co-occurrence: items that share bundles with the given ones. With X the binary bundle-item matrix,
  C = Xᵀ X with cosine normalization C_ij / sqrt(n_i n_j), and co(i) = Σ_{j ∈ S} C_ij;
- embeddings (optional): cosine between the mean embedding of the given items and each item's
  embedding, e.g. CrossCBR's item-view embeddings (items no user touched take their bundles' mean).

    >>> completer = BundleCompleter.from_dataset("youshu")
    >>> completer.complete([32604, 30492], k=5)        # [(item, score), ...], best first
    >>> completer.explain([32604, 30492], k=5)         # the same items, each with the evidence that put it there

Every suggestion can say why from the two parts of its own score: the given item it shares most bundles with
(and how many), and how much of the score came from the embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import BI, default_bundle_dataset, load_bundles
from kit.errors import BadInput


@dataclass(frozen=True)
class BundleSuggestion:
    """One completing item, the two parts of its score, and the sentence that explains it."""

    item: int
    score: float
    co_occurrence: float  # the scaled co-occurrence part of the score, in [0, 1]
    embedding: float  # the weighted embedding part (0 without embeddings)
    together_with: int | None  # the given item it shares the most bundles with (None: it shares none)
    shared_bundles: int
    why: str


class BundleCompleter:
    def __init__(self, data: HeteroData, item_embeddings: torch.Tensor | None = None, embedding_weight: float = 0.5,
                 bundles: np.ndarray | None = None) -> None:
        """``bundles``: build co-occurrence from these bundle ids only (hold the others out for evaluation)."""
        bundle_ids, item_ids = data[BI].edge_index.numpy()
        if bundles is not None:
            keep = np.isin(bundle_ids, bundles)
            bundle_ids, item_ids = bundle_ids[keep], item_ids[keep]
        self.num_items = data["item"].num_nodes
        X = sp.csr_matrix((np.ones(len(item_ids), np.float32), (bundle_ids, item_ids)),
                          shape=(data["bundle"].num_nodes, self.num_items))
        X.data[:] = 1.0
        counts = np.asarray(X.sum(axis=0)).ravel()
        norm = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        cooc = (X.T @ X).tocsr()
        cooc.setdiag(0)
        self.shared = cooc  # (I, I): bundles holding both items
        self.cooc = sp.diags(norm) @ cooc @ sp.diags(norm)
        self.embeddings = None
        if item_embeddings is not None:
            self.embeddings = torch.nn.functional.normalize(item_embeddings.float(), dim=-1).numpy()
        self.embedding_weight = embedding_weight

    @classmethod
    def from_dataset(cls, name: str | None = None, model_seed: int = 0) -> "BundleCompleter":
        """Co-occurrence from the dataset (default: the first bundle dataset), plus CrossCBR item embeddings when a
        trained model is cached."""
        from kit.bundles.train import load_checkpoint
        from kit.errors import KitError

        name = name or default_bundle_dataset()
        data = load_bundles(name)
        try:
            model, _ = load_checkpoint(data, name, "crosscbr", model_seed)
            embeddings = model.item_embeddings()
        except KitError:
            embeddings = None
        return cls(data, embeddings)

    def _checked(self, bundle_items: list[int]) -> np.ndarray:
        items = np.asarray(sorted(set(int(i) for i in bundle_items)))
        if items.size == 0:
            raise BadInput("bundle completion needs at least one item in the partial bundle")
        if items.min() < 0 or items.max() >= self.num_items:
            raise BadInput(f"item ids must be within 0..{self.num_items - 1}; got {items.min()}..{items.max()}")
        return items

    def parts(self, bundle_items: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(co-occurrence part, embedding part) of every item's score; their sum is :meth:`scores`."""
        items = self._checked(bundle_items)
        co = np.asarray(self.cooc[items].sum(axis=0)).ravel()
        co = co / co.max() if co.max() > 0 else co
        embedding = np.zeros_like(co)
        if self.embeddings is not None:
            similarity = self.embeddings @ self.embeddings[items].mean(axis=0)
            embedding = self.embedding_weight * (similarity - similarity.min()) / (np.ptp(similarity) + 1e-12)
        return co, embedding

    def scores(self, bundle_items: list[int]) -> np.ndarray:
        co, embedding = self.parts(bundle_items)
        score = co + embedding
        score[self._checked(bundle_items)] = -np.inf
        return score

    def complete(self, bundle_items: list[int], k: int = 10) -> list[tuple[int, float]]:
        score = self.scores(bundle_items)
        top = np.argsort(-score)[:k]
        return [(int(i), float(score[i])) for i in top]


    def explain(self, bundle_items: list[int], k: int = 10) -> list[BundleSuggestion]:
        """The :meth:`complete` items, each with the parts of its score and the given item behind it."""
        items = self._checked(bundle_items)
        co, embedding = self.parts(bundle_items)
        out = []
        for item, score in self.complete(bundle_items, k):
            shared = np.asarray(self.shared[item, items].todense()).ravel()
            best = int(np.argmax(shared))
            together, count = (int(items[best]), int(shared[best])) if shared[best] > 0 else (None, 0)
            reasons = []
            if together is not None:
                reasons.append(f"in {count} bundle(s) together with item {together} of yours")
            if embedding[item] > 0:
                reasons.append(f"close to your items in the learned item embeddings ({embedding[item]:.2f} of "
                               f"its score {score:.2f})")
            out.append(BundleSuggestion(item, score, float(co[item]), float(embedding[item]), together, count,
                                        "; ".join(reasons) or "no given item shares a bundle with it"))
        return out


def complete(bundle_items: list[int], k: int = 10, completer: BundleCompleter | None = None) -> list[tuple[int, float]]:
    """Items that complete ``bundle_items`` (Youshu ids). Pass a ``completer`` to reuse one across calls."""
    return (completer or BundleCompleter.from_dataset()).complete(bundle_items, k)


def evaluate_completion(data: HeteroData, held_out: float = 0.1, k: int = 10, seed: int = 0, max_bundles: int = 500,
                        item_embeddings: torch.Tensor | None = None) -> dict[str, float]:
    """Leave-one-out HitRate@k on held-out bundles, co-occurrence built from the other bundles only."""
    rng = np.random.default_rng(seed)
    bundle_ids, item_ids = data[BI].edge_index.numpy()
    all_bundles = np.unique(bundle_ids)
    test = rng.choice(all_bundles, size=int(len(all_bundles) * held_out), replace=False)
    completer = BundleCompleter(data, item_embeddings, bundles=np.setdiff1d(all_bundles, test))
    hits, n = 0, 0
    for bundle in test[:max_bundles]:
        items = item_ids[bundle_ids == bundle]
        if len(items) < 3:
            continue
        hidden = rng.choice(items)
        ranked = [i for i, _ in completer.complete([i for i in items if i != hidden], k)]
        hits += int(hidden in ranked)
        n += 1
    return {f"hit_rate@{k}": hits / max(n, 1), "bundles": n}
