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
`python -m kit imagery train-text --steps 3000`, which resumes from this checkpoint). It cannot
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


LABEL_CARD = """---
model_name: shopkit-fashion-diffusion
library_name: diffusers
license: MIT (weights); the fashion catalog's photos keep their license
datasets: [Fashion Product Images (Myntra listings, via ../shared/data/fashion_products)]
---

# shopkit-fashion-diffusion

## Model details
A small label-conditioned diffusion model trained from scratch by the kit on 2 CPU cores: diffusers'
`UNet2DModel` ({params:.1f}M parameters, block channels {channels}, self-attention at the lowest level)
denoising RGB pixels at {resolution} px (no VAE). The request is three labels (article type, colour,
gender), each an embedding (initialised N(0, {init_std:g})) added to the timestep embedding; an attribute left
open uses its null row.
Training: cosine noise schedule (1,000 steps), v-prediction, min-SNR-{min_snr:g} loss weighting, label dropout
({p_drop:.0%} per label, {p_uncond:.0%} the whole request) for classifier-free guidance, an exponential moving
average of the weights (decay {ema_decay}) is what is saved. Sampling: DDIM, 25 steps, guidance 3.

## Uses
Teaching and prototyping: how a conditional diffusion model is trained, resumed and sampled on a laptop
CPU, and a rough picture of "a navy blue T-shirt for men" where no public text-to-image weights install.
Every image it makes is labelled as generated, in the kit's UI and in the PNG file's metadata.

### Out of scope
Product photos: it draws an impression of a kind of product, never a real one, and must not be shown as
a photo of an item for sale. It knows only the labels listed below; anything else is refused.

## Labels it knows
- article types: {types}
- colours: {colours}
- genders: {genders}

## Training data
{images} photos: the fashion catalog's train split (the kit's item split, seed 0; the 20% held-out items
are never drawn from), downscaled to {resolution} px; mirrored at random.

## Training procedure
{steps} steps of batch {batch_size} in {minutes} minutes of training time (bfloat16 autocast: {bf16}), AdamW
lr {lr} after {warmup} warm-up steps, gradient norm clipped at 1. Resumable:
`python -m kit imagery train --resume --minutes M` continues from the last checkpoint.
Loss of the averaged weights on a fixed batch against training minutes: {curve}.

## Evaluation
{evaluation}

## Bias, risks and limitations
Myntra's 2011-2017 Indian catalog, centred on white: it draws that kind of picture only, and its
idea of "for women" or "for men" is that catalog's. At {resolution} px and after an hour on a CPU, shapes are
soft and small details (logos, prints, laces, text) are missing or invented.
"""


def write_label_model_card(folder: str | Path, copy_to: str | Path | None = None) -> Path:
    """The card of a trained shopkit-fashion-diffusion folder: training.json, and evaluation.json when the
    benchmark has written one."""
    folder = Path(folder)
    record = json.loads((folder / "training.json").read_text())
    config = record["config"]
    evaluation_file = folder / "evaluation.json"
    evaluation = (json.loads(evaluation_file.read_text())["summary"] if evaluation_file.is_file() else
                  "Not measured yet: `python -m kit bench --only imagery` writes the attribute read-back, the "
                  "Frechet distance to real test photos and the sampling speed here and in docs/benchmarks.md.")
    types, colours, genders = record["label_values"]
    text = LABEL_CARD.format(
        params=_count_parameters(folder) / 1e6, init_std=config.get("label_init_std", 0.02),
        channels=tuple(config["channels"]), resolution=config["resolution"],
        min_snr=config["min_snr"], p_drop=config["p_drop_label"], p_uncond=config["p_uncond"],
        ema_decay=config["ema_decay"], types=", ".join(types), colours=", ".join(colours), genders=", ".join(genders),
        images=record["images"], steps=record["steps"], batch_size=config["batch_size"], minutes=record["minutes"],
        bf16=record["autocast_bfloat16"], lr=config["lr"], warmup=config["warmup_steps"],
        curve=", ".join(f"{p['minutes']:.0f} min: {p['fixed_loss']:.4f}" for p in record["curve"]),
        evaluation=evaluation)
    (folder / "README.md").write_text(text)
    if copy_to is not None:
        Path(copy_to).write_text(text)
    return folder / "README.md"
