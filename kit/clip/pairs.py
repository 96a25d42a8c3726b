"""The (photo, text) pairs both CLIP recipes train and validate on, read from each catalog's spec.

``shopkit-lit`` (kit/clip/lit.py) turns the photos into cached trunk features and ``shopkit-lit-ft``
(kit/clip/finetune.py) into cached stage activations; the pairs themselves are built here, once, from
:data:`kit.bundled_catalogs.CATALOG_TABLE`:

- a catalog with labelled shopper photos (``CatalogSpec.photo_queries``) trains on its train-split photos and
  then each item's own photo, every one paired with the item's text. Several photos show one product, so a
  batch must not hold two of them (a duplicate would be a false negative): ``distinct=True``.
- a catalog whose items are their own queries (``CatalogSpec.holdout`` > 0) trains on the items of a seeded
  split by id (:func:`kit.bundled_catalogs.item_split`), each photo paired with its item's text; the held-out
  items are the title -> photo test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.bundled_catalogs import CATALOG_TABLE, CatalogSpec, item_split, open_catalog
from kit.catalog import Item
from kit.errors import BadInput


def item_text(item: Item) -> str:
    """What the text tower reads for a product: the name, category, attributes and description."""
    return item.text


@dataclass(frozen=True)
class PhotoPairs:
    """Photos with the texts they are paired with; photos of one item share a ``group`` (with shopper photos: the
    item's index in the catalog)."""

    catalog: str
    paths: list[Path]
    texts: list[str]
    group: np.ndarray  # (N,)
    distinct: bool  # batches must not repeat a group
    hard_key: np.ndarray | None = None  # (N,) the look-alike key of hard-negative batches, e.g. "Tshirts|Men"
    about: str = ""  # one line for the model card

    def __len__(self) -> int:
        return len(self.paths)


def _spec(name: str) -> CatalogSpec:
    spec = CATALOG_TABLE.get(name)
    if spec is None or not spec.has_photos:
        valid = ", ".join(n for n, s in CATALOG_TABLE.items() if s.has_photos)
        raise BadInput(f"no bundled catalog with photos called {name!r}; choose from {valid}")
    return spec


def query_photos(name: str, split: str, limit: int | None = None, spread: bool = False) -> PhotoPairs:
    """A catalog's labelled shopper photos of ``split``, each paired with its item's text. ``limit`` keeps the
    first N, or with ``spread`` an even spread (the splits are sorted by product, so every product stays)."""
    spec = _spec(name)
    if spec.photo_queries is None:
        raise BadInput(f"{name} has no labelled shopper photos")
    catalog, photos = open_catalog(name), spec.photo_queries(split)
    if limit and spread:
        photos = photos[::max(1, len(photos) // limit)][:limit]
    elif limit:
        photos = photos[:limit]
    return PhotoPairs(name, [p.path for p in photos], [item_text(catalog[p.item_id]) for p in photos],
                      np.array([catalog.ids.index(p.item_id) for p in photos]), distinct=True)


def catalog_pairs(name: str, seed: int = 0, max_items: int | None = None, max_photos: int | None = None) -> PhotoPairs:
    """The training pairs of one catalog (see the module docstring); ``max_*`` take subsets for quick runs."""
    spec = _spec(name)
    catalog = open_catalog(name)
    if spec.photo_queries is not None:
        photos = query_photos(name, "train", max_photos, spread=True)
        items = [item for item in catalog if item.image][:max_items]
        about = (f"- {name}: {len(photos):,} train-split shopper photos and {len(items):,} catalog photos, each paired "
                 "with its product's name, category and description; batches never repeat a product.")
        return PhotoPairs(name, photos.paths + [i.image for i in items], photos.texts + [item_text(i) for i in items],
                          np.concatenate([photos.group, [catalog.ids.index(i.id) for i in items]]).astype(int),
                          distinct=True, about=about)
    train, _ = item_split(catalog, spec.holdout, seed)
    items = [item for item in train if item.image][:max_items]
    hard = (np.array(["|".join(i.attributes.get(a, "") for a in spec.hard_negatives) for i in items])
            if spec.hard_negatives else None)
    limit = f" (first {max_items:,} only)" if max_items else ""
    about = (f"- {name}: photo paired with title + attributes, on the seeded (seed {seed}) {1 - spec.holdout:.0%} "
             f"train split by item id{limit}; the rest is held out.")
    return PhotoPairs(name, [i.image for i in items], [item_text(i) for i in items], np.arange(len(items)),
                      distinct=False, hard_key=hard, about=about)


def training_pairs(catalogs: tuple[str, ...], seed: int = 0, max_items: int | None = None,
                   max_photos: int | None = None) -> list[PhotoPairs]:
    """One :class:`PhotoPairs` per named catalog, in the order given."""
    if not catalogs:
        raise BadInput("no catalog to train on; choose from " + ", ".join(n for n, s in CATALOG_TABLE.items() if s.has_photos))
    return [catalog_pairs(name, seed, max_items, max_photos) for name in catalogs]


def validation_catalog(catalogs: tuple[str, ...]) -> str | None:
    """The first of ``catalogs`` with labelled shopper photos: its val split picks the best epoch."""
    return next((name for name in catalogs if name in CATALOG_TABLE and CATALOG_TABLE[name].photo_queries), None)
