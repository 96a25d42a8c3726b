"""Heads for a whole catalog: its splits, training every labelled attribute, where the heads live, and the
hidden-label check (hide some labels a shop has, enrich them back, count what came back right)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

from kit.catalog import Catalog, Item
from kit.enrich.features import FeatureView, Towers, item_features, load_towers
from kit.enrich.fill import enrich, photo_tower_of
from kit.enrich.heads import AttributeHead, HeadQuality, evaluate_head, labels_of, load_heads, train_heads
from kit.enrich.tower import TowerConfig, save_tower, tune_photo_tower
from kit.errors import BadInput


@dataclass
class Splits:
    """Heads fit on ``fit``, choose their operating point on ``val`` and are measured on ``test``."""

    fit: list[Item]
    val: list[Item]
    test: list[Item]


def catalog_splits(catalog: Catalog, holdout: float = 0.2, val_share: float = 0.15, seed: int = 0) -> Splits:
    """The catalog's own item split (:func:`kit.bundled_catalogs.item_split`, so the test items are the ones the
    image-text model never trained on), with the last ``val_share`` of the train items set aside to calibrate."""
    from kit.bundled_catalogs import item_split

    train, test = item_split(catalog, holdout, seed)
    cut = int(round(len(train) * (1 - val_share)))
    if cut < 2 or cut >= len(train) or not test:
        raise BadInput(f"catalog {catalog.name!r} has {len(catalog)} items: too few to split for training heads")
    return Splits(train[:cut], train[cut:], test)


def heads_path(catalog_name: str, view: FeatureView) -> Path:
    from kit.config import models_dir

    return models_dir() / "enrich" / f"{catalog_name}-{view.replace('+', '-')}.joblib"


def attributes_for(catalog: Catalog, attributes: list[str] | None = None) -> list[str]:
    """The attributes to learn: those asked for, else the bundled catalog's declared ``label_attributes``."""
    from kit.bundled_catalogs import CATALOG_TABLE

    spec = CATALOG_TABLE.get(catalog.name)
    chosen = list(attributes or (spec.label_attributes if spec else ()))
    if not chosen:
        known = sorted({k for item in catalog for k in item.attributes})
        raise BadInput(f"say which attributes to learn (--attributes); {catalog.name!r} has: {', '.join(known[:15])}")
    return chosen


def measure(heads: dict[str, AttributeHead], items: list[Item], towers=None) -> dict[str, HeadQuality]:
    """Each head's quality on ``items`` (features read once)."""
    view = next(iter(heads.values())).view
    items = [i for i in items if i.image] if "photo" in view else items
    towers = towers or load_towers(photo_tower_of(heads))
    if "photo" in view and photo_tower_of(heads) != towers.photo_tower_id:
        raise BadInput("these heads read photos with another photo tower than the one given")
    features = item_features(items, view, towers)
    return {name: evaluate_head(head, features, labels_of(items, name)) for name, head in heads.items()}


@dataclass(frozen=True)
class Refill:
    """Hidden labels enriched back: how many were hidden, the share filled, and how many fills were right."""

    attribute: str
    hidden: int
    filled: int
    right: int

    @property
    def filled_share(self) -> float:
        return self.filled / self.hidden if self.hidden else 0.0

    @property
    def accuracy(self) -> float:
        return self.right / self.filled if self.filled else float("nan")


def hide_and_refill(heads: dict[str, AttributeHead], items: list[Item], share: float = 0.25, seed: int = 0,
                    towers=None) -> list[Refill]:
    """Hide ``share`` of each attribute's labels on ``items``, enrich, and compare the fills with the truth."""
    rng = random.Random(seed)
    hidden: dict[str, set[str]] = {}
    for name in heads:
        labelled = [item.id for item in items if item.attributes.get(name) not in (None, "")]
        hidden[name] = set(rng.sample(labelled, int(round(len(labelled) * share))))
    masked = [replace(item, attributes={k: v for k, v in item.attributes.items() if item.id not in hidden.get(k, ())})
              for item in items]
    truth = {item.id: item.attributes for item in items}
    result = enrich(Catalog(masked, name="hidden"), heads, towers)
    out = []
    for name in heads:
        fills = [f for f in result.fills if f.attribute == name and f.item_id in hidden[name]]
        out.append(Refill(name, len(hidden[name]), len(fills), sum(f.value == truth[f.item_id][name] for f in fills)))
    return out


def train_catalog_heads(catalog: Catalog, view: FeatureView = "photo", attributes: list[str] | None = None,
                        target_precision: float = 0.95, save: bool = True, towers: Towers | None = None,
                        tune_tower: TowerConfig | None = None) -> tuple[dict[str, AttributeHead], Splits, float]:
    """(heads, splits, seconds): every attribute's head on the catalog's splits, saved where ``fill`` finds them.

    ``tune_tower``: for the photo view, first tune the photo trunk's top stages on the same labels
    (kit/enrich/tower.py; minutes, not seconds) and read the photos with it; the tower is saved beside the heads,
    which record it. The seconds count the tower's training too. Photo + title heads keep the frozen trunk: fitted
    on the very items the tower learned, they would trust its photo features more than new items deserve and
    lean less on the title (fashion test, measured: article type 0.971 -> 0.953, colour 0.935 -> 0.899).
    """
    splits = catalog_splits(catalog)
    chosen = attributes_for(catalog, attributes)
    started = time.perf_counter()
    if tune_tower is not None and view == "photo":
        tower = tune_photo_tower(splits.fit, splits.val, chosen, tune_tower, towers)
        digest = tower.digest
        if save:
            save_tower(tower)
        base = towers or load_towers()
        towers = Towers(base.model, base.preprocess, base.tokenizer, tower, digest)
    towers = towers or load_towers()
    heads = train_heads(splits.fit, chosen, view, splits.val, target_precision, towers=towers)
    seconds = time.perf_counter() - started
    if save:
        from kit.enrich.heads import save_heads

        save_heads(heads, heads_path(catalog.name, view))
    return heads, splits, seconds


def trained_heads(catalog_name: str, view: FeatureView = "photo") -> dict[str, AttributeHead]:
    """The catalog's saved heads for ``view`` by attribute, or {} when none were trained (no error: the callers fall
    back to what they did before heads existed)."""
    return load_heads(heads_path(catalog_name, view)) if heads_path(catalog_name, view).is_file() else {}


def saved_heads(catalog_name: str, view: FeatureView) -> dict[str, AttributeHead]:
    path = heads_path(catalog_name, view)
    if not path.is_file():
        raise BadInput(f"no attribute heads for {catalog_name!r} ({view}) yet; train them: "
                       f"python -m kit enrich train --catalog {catalog_name} --view {view}")
    return load_heads(path)
