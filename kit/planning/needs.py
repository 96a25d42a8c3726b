"""What a goal needs, drawn from what the catalog really has.

A small model asked "what do you need for a week of school lunches?" names bread and ham, which a
fruit-and-dairy shop does not sell. So the planner never lets it name a need freely: the needs are the
catalog's own category (article type) names, and the model only chooses among the ones that a text
encoder finds closest to the goal.

How a category is scored for a goal: every item text of the category (up to ``per_category``, so a
9,583-item catalog costs about 2,000 encodings, cached by text hash) is embedded with a sentence
encoder (MiniLM by default); the category's score is the mean cosine similarity of the goal to its
``top`` closest items. Measured on tests/data/planning_goals.jsonl (docs/benchmarks.md ## Planning),
this beats scoring the category names alone, the image-text search tower, e5-small, and the 135M
model's own likelihood of each name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from kit.catalog import Catalog
from kit.clip.cache import EmbeddingCache, content_key
from kit.clip.towers import TextEncoder, load_text_encoder


@dataclass(frozen=True)
class RankedNeed:
    category: str
    score: float


@dataclass
class NeedVocabulary:
    """A catalog's categories with the item vectors that speak for them; :meth:`rank` orders them for a goal."""

    catalog: str
    categories: list[str]
    item_category: np.ndarray  # (n,) index into categories
    item_vectors: np.ndarray  # (n, d) L2-normalised
    encoder: TextEncoder
    top: int = 10

    @classmethod
    def build(cls, catalog: Catalog, text_model: str = "minilm", per_category: int = 32, top: int = 10,
              encoder: TextEncoder | None = None) -> "NeedVocabulary":
        """The vocabulary of ``catalog`` (items without a category are left out: they cannot be asked for)."""
        members: dict[str, list] = defaultdict(list)
        for item in sorted(catalog, key=lambda i: i.id):
            if item.category and len(members[item.category]) < per_category:
                members[item.category].append(item)
        categories = sorted(members)
        items = [(index, item) for index, name in enumerate(categories) for item in members[name]]
        texts = [item.text for _, item in items]
        holder: dict[str, TextEncoder] = {}

        def encode(batch: list[str]) -> np.ndarray:
            holder.setdefault("encoder", encoder or load_text_encoder(text_model))
            return holder["encoder"].encode(batch, kind="passage")

        cache = EmbeddingCache(f"text-{text_model}")  # shared with the LLM paradigms and semantic IDs
        vectors = cache.embed([content_key(t) for t in texts], texts, encode, desc=f"need vocabulary ({text_model})")
        return cls(catalog.name, categories, np.array([i for i, _ in items], dtype=np.int64),
                   np.asarray(vectors, dtype=np.float32), encoder or holder.get("encoder") or load_text_encoder(text_model),
                   top)

    def rank(self, goal: str, n: int | None = None) -> list[RankedNeed]:
        """The categories best suited to ``goal``, best first (all of them when ``n`` is None)."""
        query = self.encoder.encode([goal], kind="query")[0]
        similarity = self.item_vectors @ query
        scores = []
        for index, name in enumerate(self.categories):
            own = np.sort(similarity[self.item_category == index])[::-1][: self.top]
            scores.append(RankedNeed(name, round(float(own.mean()), 4)))
        scores.sort(key=lambda r: -r.score)
        return scores if n is None else scores[:n]
