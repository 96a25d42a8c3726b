"""Prompts built from catalog items and the shopper's wish, and the mask that separates a product
from its background (for background replacement)."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from kit.catalog import Item
from kit.errors import BadInput

ATTRIBUTE_KEYS = ("baseColour", "colour", "color", "gender", "usage", "season", "group")


def product_text(item: Item) -> str:
    """The product's name and kind: the text the kit's own model is trained on (e.g. 'Valio Vanilla Yoghurt, Yoghurt')."""
    return ", ".join(p for p in (item.title, item.category) if p)


def product_prompt(item: Item, wish: str | None = None, max_wish: int = 120) -> str:
    """'Valio Vanilla Yoghurt, Yoghurt, white, on a picnic table': item text, a few attributes, the wish."""
    attrs = [str(item.attributes[k]) for k in ATTRIBUTE_KEYS if isinstance(item.attributes.get(k), str)]
    parts = [product_text(item), *attrs[:2]]
    if wish:
        wish = " ".join(re.sub(r"[\x00-\x1f]", " ", wish).split())[:max_wish]
        parts.append(wish)
    return ", ".join(p for p in parts if p)


def background_mask(image: Image.Image, tolerance: float = 40.0) -> np.ndarray:
    """1 where the photo shows background, 0 on the product.

    The background colour is the median of the border pixels; a pixel belongs to the background when it
    is within ``tolerance`` of it (RGB distance). Suits catalog shots on a plain backdrop; a busy photo
    gives a poor mask, and an image that is all background is refused.
    """
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    distance = np.linalg.norm(rgb - np.median(border, axis=0), axis=-1)
    mask = (distance < tolerance).astype(np.uint8)
    if mask.all():
        raise BadInput("the image looks empty: no product stands out from the background")
    return mask
