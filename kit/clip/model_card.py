"""The model card of a trained shopkit-lit or shopkit-lit-ft folder (Hugging Face template sections), from its
training.json."""

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


FINETUNED = """---
model_name: shopkit-lit-ft
library_name: open_clip
license: MIT (the trained weights); the towers keep their own licenses (Apache-2.0 image, MIT text)
base_model: [efficientnet-lite0 (ImageNet-1k), sentence-transformers/all-MiniLM-L6-v2]
datasets: {datasets}
---

# shopkit-lit-ft

## Model details
shopkit-lit with the top {stages} of timm's `efficientnet_lite0` (and its 1x1 `conv_head`) fine-tuned: an
open_clip `CustomTextCLIP` whose image tower learns where shopkit-lit's stays frozen. MiniLM stays frozen;
both projection heads (MLP, 256-d) and the temperature are trained with open_clip's `ClipLoss`. The kit's
default image-text model (`default_for: clip` in its registry config); shopkit-lit is the fallback while it
is not trained. It is *not* CLIP: it has seen {n_pairs} image-text pairs from two small catalogs.

## Uses
Product search inside the kit's catalogs: shelf photo to product, text to product, zero-shot attributes.

### Out of scope
Open-world recognition, images unlike grocery shelves or product photos, any decision about people.

## Training data
{data}

## Training procedure
1. The frozen bottom of the image tower (stem and stages below {split}) runs once over {views} view(s) of
   every training photo: the centre crop and seeded random resized crops with flips (no colour jitter);
   the float16 activations are cached in resumable shards.
2. LP: the heads are fitted on the frozen features ({probe_epochs} epochs), as shopkit-lit.
3. FT: heads and top stages train together on the cached activations, one random view per photo and
   epoch; BatchNorm statistics frozen; grocery batches never repeat a product; {hard:.0%} of the fashion
   batches are sorted by (article type, gender), so their negatives differ only in colour or audience.
Settings: {config}. Best fine-tuning epoch by grocery val top-1: {best_epoch} (-1: the LP heads were kept).
Time on this machine: {seconds}.

## Evaluation
{metrics}
The stages-unfrozen curve and the full table are in docs/benchmarks.md and docs/model_cards/shopkit-lit-ft.md.

## Bias, risks and limitations
What the model knows is what 81 Swedish grocery products and one Indian fashion retailer's catalog show:
it will confuse products outside them, and colour names follow the retailer's labels. Fine-tuning on
these catalogs trades away some of ImageNet's generality for them.

## How to use
```python
from kit.clip.encoder import ItemEncoder
encoder = ItemEncoder.from_pretrained()            # the registry default: shopkit-lit-ft when trained
encoder.encode_texts(["green apple"]), encoder.encode_image("photo.jpg")
```
"""


def write_model_card(folder: Path, extra_metrics: dict | None = None) -> Path:
    training = json.loads((Path(folder) / "training.json").read_text())
    config, metrics = training["config"], {**training["metrics"], **(extra_metrics or {})}
    # each catalog's pairs describe themselves (kit/clip/pairs.py); older folders name the catalogs only
    data = training.get("data") or [f"- {name}" for name in config["catalogs"]]
    n_pairs = f"{training['n_pairs']:,}" if "n_pairs" in training else "a few thousand"
    metric_lines = "\n".join(f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in metrics.items())
    if "unfrozen_stages" in config:  # a fine-tuned model (kit/clip/finetune.py)
        history = training["history"]
        text = FINETUNED.format(
            datasets=list(config["catalogs"]), data="\n".join(data), n_pairs=n_pairs,
            stages=f"{config['unfrozen_stages']} MBConv stage" + ("s" if config["unfrozen_stages"] > 1 else ""),
            split=7 - config["cached_stages"], views=config["views"], probe_epochs=config["probe_epochs"],
            hard=config["hard_negative_share"], config=", ".join(f"{k}={v}" for k, v in config.items()),
            best_epoch=history["best_epoch"], metrics=metric_lines,
            seconds=", ".join(f"{k} {v / 60:.1f} min" for k, v in history["seconds"].items()))
        path = Path(folder) / "README.md"
        path.write_text(text)
        return path
    text = CARD.format(datasets=list(config["catalogs"]), data="\n".join(data), n_pairs=n_pairs,
                       config=", ".join(f"{k}={v}" for k, v in config.items()), best_epoch=metrics.get("best_epoch"), metrics=metric_lines)
    path = Path(folder) / "README.md"
    path.write_text(text)
    return path
