"""What the heads read: an item's photo, its title, or both, as the kit's cached tower features.

Photo: the pooled 1280-d features of the efficientnet-lite0 trunk, either frozen with its ImageNet weights (the
image tower of shopkit-lit, cached by file content and shared with its training, the app and the search) or
with its top stages tuned on the catalog's own labels (:mod:`kit.enrich.tower`), beside a
colour histogram of the product's own pixels: pooled deep features keep shape far better than colour
(fashion colour from the photo: 0.51 top-1 with the trunk alone, 0.64 with the histogram beside it,
article type and gender unchanged; measured on the test split). Title: the
mean-pooled 384-d MiniLM features of the title alone (never the description: on the bundled fashion
catalog the description is written from the very labels the heads predict). Both: the two, each
L2-normalized, side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence, get_args

import numpy as np

from kit.catalog import Item
from kit.errors import BadInput

FeatureView = Literal["photo", "title", "photo+title"]
VIEWS: tuple[str, ...] = get_args(FeatureView)


@dataclass
class Towers:
    """What the heads read features with: the pretrained towers, and the photo trunk's top stages as tuned on a
    catalog's labels (None: the frozen ImageNet trunk)."""

    model: Any
    preprocess: Any
    tokenizer: Any
    photo_tower: Any = None  # a kit.enrich.tower.PhotoTower
    photo_tower_id: str = ""  # its digest, recorded by the heads trained on its features


def load_towers(photo_tower_id: str = "") -> Towers:
    """The towers whose features the heads read (create once, pass to every call); ``photo_tower_id``: a saved
    tuned photo tower (kit/enrich/tower.py) to read photos with instead of the frozen trunk (heads record it)."""
    from kit.clip.lit import create_untrained
    from kit.config import kit_home

    model, preprocess, tokenizer = create_untrained(kit_home() / "tmp" / "enrich-towers")
    if not photo_tower_id:
        return Towers(model, preprocess, tokenizer)
    from kit.enrich.tower import load_tower, tower_file

    tower = load_tower(tower_file(photo_tower_id))
    if tower.digest != photo_tower_id:
        raise BadInput(f"the photo tower in {tower_file(photo_tower_id)} is not {photo_tower_id}; tune it again")
    return Towers(model, preprocess, tokenizer, tower, photo_tower_id)


HISTOGRAM_KEY = "colour-histogram__hsv-12x4x4"  # the feature cache's name for colour_histograms (change with it)
HISTOGRAM_BINS = (12, 4, 4)  # hue, saturation, value
BACKGROUND = 0.92  # a pixel whose darkest channel is above this is the white studio background


def colour_histograms(paths: Sequence[Path]) -> np.ndarray:
    """A hue x saturation x value histogram of each photo's non-background pixels (square roots of shares, so a
    small patch of colour still counts), cached by file content like the trunk features."""
    from PIL import Image

    from kit.clip.cache import EmbeddingCache, file_key
    from kit.images import load_image

    def encode(batch: list[Path]) -> np.ndarray:
        out = np.zeros((len(batch), int(np.prod(HISTOGRAM_BINS))), np.float32)
        for row, path in enumerate(batch):
            pixels = np.asarray(load_image(path).convert("RGB").resize((48, 64)), dtype=np.float32).reshape(-1, 3) / 255
            product = pixels.min(axis=1) < BACKGROUND
            product = product if product.sum() >= 20 else np.ones(len(pixels), bool)  # an all-white photo: use all
            rgb = (pixels[product] * 255).astype(np.uint8)[None]
            hsv = np.asarray(Image.fromarray(rgb).convert("HSV"), dtype=np.float32)[0] / 255
            counts, _ = np.histogramdd(hsv, bins=HISTOGRAM_BINS, range=((0, 1), (0, 1), (0, 1)))
            out[row] = np.sqrt(counts.ravel() / product.sum())
        return out

    paths = list(paths)
    return EmbeddingCache(HISTOGRAM_KEY).embed([file_key(p) for p in paths], paths, encode, 512, "colour histograms")


def _normalized(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def item_features(items: Sequence[Item], view: FeatureView, towers: Towers | None = None) -> np.ndarray:
    """(len(items), D) features of ``items`` as ``view`` sees them; an item without a photo is refused for a
    photo view (filter first: ``[i for i in items if i.image]``)."""
    from kit.clip.lit import image_trunk_features, text_trunk_features
    from kit.enrich.tower import tower_features

    if view not in VIEWS:
        raise BadInput(f"unknown view {view!r}; the views are {', '.join(VIEWS)}")
    items = list(items)
    if not items:
        raise BadInput("no items to read features from")
    towers = towers or load_towers()
    model, preprocess, tokenizer = towers.model, towers.preprocess, towers.tokenizer
    parts = []
    if "photo" in view:
        missing = [item.id for item in items if item.image is None]
        if missing:
            raise BadInput(f"{len(missing)} items have no photo (first: {missing[0]}); use view='title' for them")
        paths = [item.image for item in items]
        trunk = (tower_features(towers.photo_tower, model, preprocess, paths) if towers.photo_tower is not None
                 else image_trunk_features(model, preprocess, paths))
        parts += [_normalized(trunk), _normalized(colour_histograms(paths))]
    if "title" in view:
        parts.append(_normalized(text_trunk_features(model, tokenizer, [item.title or item.id for item in items])))
    return np.concatenate(parts, axis=1).astype(np.float32)
