"""What goes with a basket: the graph model where a catalog has real co-purchases, content embeddings otherwise.

- :class:`GraphCompletion`: LightGCN trained on the catalog's purchase sequences
  (kit/bundles/copurchase.py); every suggestion names the basket item it was bought with and how many
  shoppers bought both. Basket items the graph has never seen (cold) fall back to the embeddings.
- :class:`EmbeddingCompletion`: items close to the basket's centre in the item embedding space but of
  other categories (what goes *with* it, not more of it). The cold fallback, and the only option for
  catalogs without purchase data (grocery, fashion). Its reason says which basket item it is closest to.

Both return :class:`Completion` records with the model's name in ``source``, so product cards say which
model suggested an item and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.bundles.copurchase import CoPurchaseCompleter
from kit.catalog import Catalog
from kit.search.engine import CatalogSearch
from kit.errors import BadInput


@dataclass(frozen=True)
class Completion:
    item_id: str
    score: float
    reason: str
    source: str


class EmbeddingCompletion:
    source = "embedding neighbours (no purchase data)"

    def __init__(self, search: CatalogSearch, other_categories: bool = True) -> None:
        self.search, self.other_categories = search, other_categories
        self._vectors = search.embeddings.item_vectors(search.item_mode)
        self._position = {item_id: p for p, item_id in enumerate(search.catalog.ids)}

    def rank(self, basket_positions: list[int], k: int) -> list[tuple[int, float, int]]:
        """(position, score, closest basket position) of the k best items for the basket."""
        if not basket_positions:
            return []
        centre = self._vectors[basket_positions].mean(0)
        centre = centre / (np.linalg.norm(centre) + 1e-12)
        scores = self._vectors @ centre
        items = self.search.catalog.items
        taken_categories = {items[p].category for p in basket_positions} if self.other_categories else set()
        taken = set(basket_positions)
        out = []
        for p in np.argsort(-scores, kind="stable"):
            if p in taken or items[p].category in taken_categories:
                continue
            closest = basket_positions[int(np.argmax(self._vectors[basket_positions] @ self._vectors[p]))]
            out.append((int(p), float(scores[p]), closest))
            if self.other_categories:
                taken_categories.add(items[p].category)
            if len(out) == k:
                break
        return out

    def complete(self, basket: list[str], k: int) -> list[Completion]:
        catalog = self.search.catalog
        positions = [self._position[i] for i in basket if i in self._position]
        return [Completion(catalog.items[p].id, score, f"similar in content to {catalog.items[closest].title}", self.source)
                for p, score, closest in self.rank(positions, k)]


class GraphCompletion:
    """The co-purchase graph model, with the embedding heuristic for cold baskets."""

    def __init__(self, model: CoPurchaseCompleter, catalog: Catalog, fallback: EmbeddingCompletion) -> None:
        if model.num_items != len(catalog):
            raise BadInput(f"the graph has {model.num_items} items but catalog {catalog.name!r} {len(catalog)}")
        self.model, self.catalog, self.fallback = model, catalog, fallback
        self.source = f"{model.name} (trained on co-purchases)"
        self._position = {item_id: p for p, item_id in enumerate(catalog.ids)}

    def complete(self, basket: list[str], k: int) -> list[Completion]:
        positions = [self._position[i] for i in basket if i in self._position]
        if all(self.model.is_cold(p) for p in positions):
            return self.fallback.complete(basket, k)
        items = self.catalog.items
        out = []
        for s in self.model.complete(positions, k):
            if s.bought_with is not None:
                reason = f"bought together with {items[s.bought_with].title} by {s.shoppers} shopper(s)"
            else:
                reason = "bought by shoppers who bought the same things as you (2 hops in the purchase graph)"
            out.append(Completion(items[s.item].id, s.score, reason, self.source))
        return out


__all__ = ["Completion", "EmbeddingCompletion", "GraphCompletion"]
