"""The model card of a trained shopkit-lit folder (Hugging Face template sections), from its training.json."""

from __future__ import annotations

import json
from pathlib import Path

CARD = """---
model_name: shopkit-lit
library_name: open_clip
license: MIT (the trained heads); the frozen towers keep their own licenses (Apache-2.0 image, MIT text)
base_model: [efficientnet-lite0 (ImageNet-1k), sentence-transformers/all-MiniLM-L6-v2]
datasets: {datasets}
---

# shopkit-lit

## Model details
An image-text embedding model built with open_clip (`CustomTextCLIP`): timm's `efficientnet_lite0` with
ImageNet weights as the image tower, MiniLM (all-MiniLM-L6-v2) as the text tower, both **frozen**, and
two projection heads (MLP, 256-d output) plus the temperature trained with open_clip's `ClipLoss`.
The recipe is LiT (Zhai et al., CVPR 2022) with both towers locked. It is *not* CLIP: it has seen
{n_pairs} image-text pairs from two small catalogs, not hundreds of millions from the web.

## Uses
Product search inside the kit's catalogs: shelf photo to product, text to product, zero-shot product
attributes. It is the kit's offline default because no public CLIP weights install on this machine;
where a cache holds open_clip weights (`ViT-B-32/laion2b_s34b_b79k`), use those by name instead.

### Out of scope
Open-world recognition, images unlike grocery shelves or product photos, any decision about people.

## Training data
{data}

## Training procedure
Trunk features are computed once (frozen towers) and cached; the heads train on them.
Settings: {config}. Best epoch by grocery val top-1: {best_epoch}.

## Evaluation
{metrics}
See docs/benchmarks.md for the full, measured table (with baselines).

## Bias, risks and limitations
What the model knows is what 81 Swedish grocery products and one Indian fashion retailer's catalog
show: it will confuse products outside them, and colour names follow the retailer's labels. The frozen
ImageNet tower sees 224-px center crops, so small products in cluttered photos are hard.

## How to use
```python
from kit.clip.encoder import ItemEncoder
encoder = ItemEncoder.from_pretrained("shopkit-lit")
encoder.encode_texts(["green apple"]), encoder.encode_image("photo.jpg")
```
"""


def write_model_card(folder: Path, extra_metrics: dict | None = None) -> Path:
    training = json.loads((Path(folder) / "training.json").read_text())
    config, metrics = training["config"], {**training["metrics"], **(extra_metrics or {})}
    data = []
    if "grocery_store" in config["catalogs"]:
        data.append("- grocery_store: the 2,640 train-split store photos and the 81 iconic images, each paired with its "
                    "product's name, category and description; batches never repeat a product.")
    if "fashion_products" in config["catalogs"]:
        limit = f" (first {config['max_fashion_items']} only)" if config.get("max_fashion_items") else ""
        data.append(f"- fashion_products: photo paired with title + attributes, on the seeded (seed {config['seed']}) "
                    f"{1 - config['fashion_holdout']:.0%} train split by item id{limit}; the rest is held out.")
    n_pairs = f"{training['n_pairs']:,}" if "n_pairs" in training else "a few thousand"
    text = CARD.format(datasets=list(config["catalogs"]), data="\n".join(data), n_pairs=n_pairs,
                       config=", ".join(f"{k}={v}" for k, v in config.items()), best_epoch=metrics.get("best_epoch"),
                       metrics="\n".join(f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in metrics.items()))
    path = Path(folder) / "README.md"
    path.write_text(text)
    return path
