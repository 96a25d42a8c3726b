"""What goes with a basket: the graph model where a catalog has real co-purchases, content embeddings otherwise.

- :class:`GraphCompletion`: LightGCN trained on the catalog's purchase sequences
  (kit/bundles/copurchase.py); every suggestion names the basket item it was bought with and how many
  shoppers bought both. Basket items the graph has never seen (cold) fall back to the embeddings.
- :class:`EmbeddingCompletion`: items close to the basket's centre in the item embedding space but of
  other categories (what goes *with* it, not more of it). The cold fallback, and the only option for
  catalogs without purchase data (grocery, fashion). Its reason says which basket item it is closest to.
  Where the catalog declares a :class:`~kit.bundled_catalogs.ComplementTable` (fashion: what is worn with
  what), only kinds that go with a basket item are proposed, agreeing with it on gender and preferring its
  usage and season: trousers and belts for a formal shirt, not more shirts or T-shirts.

Both return :class:`Completion` records with the model's name in ``source``, so product cards say which
model suggested an item and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.bundled_catalogs import ComplementTable
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

    PREFER_BONUS = 0.05  # per shared preferred attribute (usage, season): a tie-breaker, not a filter

    def __init__(self, search: CatalogSearch, other_categories: bool = True,
                 complements: ComplementTable | None = None) -> None:
        self.search, self.other_categories, self.complements = search, other_categories, complements
        if complements is not None:
            self.source = f"what is worn or used with what ({complements.attribute}), then embedding neighbours " \
                          "(no purchase data)"
        self._vectors = search.embeddings.item_vectors(search.item_mode)
        self._position = {item_id: p for p, item_id in enumerate(search.catalog.ids)}

    def _goes_with(self, basket_positions: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """For each item, the basket position it goes with under the complement table (-1: none), and its bonus
        for sharing that basket item's preferred attributes."""
        items, table = self.search.catalog.items, self.complements
        partner = np.full(len(items), -1)
        bonus = np.zeros(len(items), dtype=np.float32)
        for b in basket_positions:
            wanted = set(table.partners(str(items[b].attributes.get(table.attribute, ""))))
            for p, item in enumerate(items):
                if partner[p] < 0 and str(item.attributes.get(table.attribute, "")) in wanted \
                        and table.agree(items[b].attributes, item.attributes):
                    partner[p] = b
                    bonus[p] = self.PREFER_BONUS * sum(
                        bool(item.attributes.get(a)) and item.attributes.get(a) == items[b].attributes.get(a)
                        for a in table.prefer_same)
        return partner, bonus

    def rank(self, basket_positions: list[int], k: int) -> list[tuple[int, float, int]]:
        """(position, score, closest basket position) of the k best items for the basket."""
        if not basket_positions:
            return []
        centre = self._vectors[basket_positions].mean(0)
        centre = centre / (np.linalg.norm(centre) + 1e-12)
        scores = self._vectors @ centre
        partner = None
        if self.complements is not None:
            partner, bonus = self._goes_with(basket_positions)
            if (partner >= 0).any():  # a basket the table knows: only what goes with it
                scores = np.where(partner >= 0, scores + bonus, -np.inf)
            else:
                partner = None
        items = self.search.catalog.items
        taken_categories = {items[p].category for p in basket_positions} if self.other_categories else set()
        taken = set(basket_positions)
        out = []
        for p in np.argsort(-scores, kind="stable"):
            if not np.isfinite(scores[p]):
                break
            if p in taken or items[p].category in taken_categories:
                continue
            closest = (int(partner[p]) if partner is not None else
                       basket_positions[int(np.argmax(self._vectors[basket_positions] @ self._vectors[p]))])
            out.append((int(p), float(scores[p]), closest))
            if self.other_categories:
                taken_categories.add(items[p].category)
            if len(out) == k:
                break
        return out

    def complete(self, basket: list[str], k: int) -> list[Completion]:
        catalog = self.search.catalog
        positions = [self._position[i] for i in basket if i in self._position]
        return [Completion(catalog.items[p].id, score, self._reason(p, closest), self.source)
                for p, score, closest in self.rank(positions, k)]

    def _reason(self, p: int, closest: int) -> str:
        items = self.search.catalog.items
        if self.complements is None:
            return f"similar in content to {items[closest].title}"
        shared = [str(items[p].attributes[a]) for a in self.complements.agree_on + self.complements.prefer_same
                  if items[p].attributes.get(a) and items[p].attributes.get(a) == items[closest].attributes.get(a)]
        return (f"{items[p].category} go with {items[closest].category} ({items[closest].title})"
                + (f"; both {', '.join(shared)}" if shared else ""))


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
