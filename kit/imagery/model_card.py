"""The model card of a trained shopkit-tiny-diffusion folder (Hugging Face template sections)."""

from __future__ import annotations

import json
from pathlib import Path

CARD = """---
model_name: shopkit-tiny-diffusion
library_name: diffusers
license: MIT (weights); GroceryStoreDataset photos keep their license
datasets: [GroceryStoreDataset (Klasson et al., WACV 2019)]
---

# shopkit-tiny-diffusion

## Model details
A small text-conditioned diffusion model trained from scratch by the kit: diffusers'
`UNet2DConditionModel` ({params:.1f}M parameters, block channels {channels}) denoising RGB pixels at
{resolution} px (no VAE), conditioned on the MiniLM embedding of the product text ("Valio Vanilla
Yoghurt, Yoghurt") through `encoder_hid_dim`, DDPM noise schedule (squared cosine, 1,000 steps),
classifier-free guidance with the zero vector as the empty prompt.

## Uses
Teaching: how text-conditioned diffusion is trained and sampled, end to end on a laptop CPU. It runs
offline where no public text-to-image weights can be installed. Every image it makes is labelled as
generated, in the kit's UI and in the PNG file's metadata.

### What it can and cannot draw
At best it draws a blurry {resolution}-px impression of the 81 grocery products it was trained on. After
the {steps} steps of this run (CPU) it draws shelf-like textures in roughly the product's colours
(greens for a Granny Smith), not recognisable shapes: shapes need thousands of steps (a GPU run of
`python -m kit imagery train --steps 3000`, which resumes from this checkpoint). It cannot
draw legible text or labels, products it has not seen, people, scenes, or follow a wish such as "on a
picnic table": wishes go into the prompt but the model was only trained on product names. For real
product imagery use a public model by name (`stabilityai/sd-turbo` once cached) through the same classes.

## Training data
{images} photos: the GroceryStoreDataset train split (store shelf photos) plus the 81 catalog photos,
each paired with its product's name and category. The val/test photos were not used.

## Training procedure
{steps} steps, batch size {batch_size}, AdamW lr {lr}, {p_uncond:.0%} of the prompts dropped for
classifier-free guidance. Loss on a fixed evaluation batch (same images, noise and timesteps):
{fixed_losses}.

## Evaluation
No image-quality metric is claimed. docs/benchmarks.md and notebook 05 show generated images next to
real photos per class, and the measured speed.

## Bias, risks and limitations
Trained on 81 Swedish supermarket products photographed in a few stores: everything it draws looks
like them. Its images must never be shown as photos of real products.
"""


def write_model_card(folder: str | Path, copy_to: str | Path | None = None) -> Path:
    folder = Path(folder)
    record = json.loads((folder / "training.json").read_text())
    config = record["config"]
    params = _count_parameters(folder)
    text = CARD.format(params=params / 1e6, channels=tuple(config["channels"]), resolution=config["resolution"],
                       images=record["images"], steps=record["step"], batch_size=config["batch_size"], lr=config["lr"],
                       p_uncond=config["p_uncond"],
                       fixed_losses=", ".join(f"step {s}: {loss:.4f}" for s, loss in record["fixed_loss"]))
    (folder / "README.md").write_text(text)
    if copy_to is not None:
        Path(copy_to).write_text(text)
    return folder / "README.md"


def _count_parameters(folder: Path) -> int:
    from safetensors import safe_open

    import math

    with safe_open(str(folder / "unet" / "diffusion_pytorch_model.safetensors"), "pt") as weights:
        return sum(math.prod(weights.get_slice(k).get_shape()) for k in weights.keys())
