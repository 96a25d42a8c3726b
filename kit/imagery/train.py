"""Train the kit's own text-to-image model on a catalog's photos (``python -m kit imagery train-text``).

DDPM training (Ho et al., 2020) in pixel space, step by step:
1. photos resized to ``resolution`` (cached as one array in $KIT_HOME/imagery), each paired with the
   MiniLM embedding of its product's text;
2. each step: a batch, a random timestep per image, noise added, the UNet predicts the noise
   (mean squared error); 10% of the text embeddings are zeroed so the model also learns the empty
   prompt that classifier-free guidance needs;
3. every ``checkpoint_every`` steps the loss on a fixed batch and a checkpoint (:func:`kit.training.fit`:
   model, optimizer, RNG states, losses): an interrupted run resumes where it stopped, drawing what it would have;
4. at the end the pipeline is saved with diffusers' ``save_pretrained`` (unet/, scheduler/) plus the
   training record that the model card reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler
from tqdm.auto import tqdm

from kit.bundled_catalogs import CATALOG_TABLE, PHOTO_CATALOGS, open_catalog
from kit.clip.towers import load_text_encoder
from kit.config import kit_home
from kit.errors import BadInput
from kit.files import load_npz, save_npz
from kit.images import load_image
from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline, tiny_unet
from kit.imagery.prompts import product_text
from kit.registry import REGISTRY
from kit.training import Trainable, fit, read_checkpoint_meta

log = logging.getLogger(__name__)
MODEL_NAME = "shopkit-tiny-diffusion"


@dataclass(frozen=True)
class DiffusionTrainConfig:
    catalog: str = PHOTO_CATALOGS[0]
    resolution: int = 64
    channels: tuple[int, ...] = (32, 64, 128)
    steps: int = 3000
    batch_size: int = 16
    lr: float = 3e-4
    p_uncond: float = 0.1
    checkpoint_every: int = 250
    max_images: int | None = None
    seed: int = 0


@dataclass
class TrainingData:
    pixels: torch.Tensor  # (N, 3, R, R) uint8
    text_embeddings: torch.Tensor  # (N, 384) float32
    texts: list[str]


def load_training_data(config: DiffusionTrainConfig) -> TrainingData:
    """The catalog's shopper photos (train split, when it has them) and catalog photos, with their products'
    text embeddings."""
    spec = CATALOG_TABLE.get(config.catalog)
    if spec is None or not spec.has_photos:
        raise BadInput(f"the tiny diffusion model trains on a bundled catalog with photos "
                       f"({', '.join(PHOTO_CATALOGS)}); got {config.catalog!r}")
    catalog = open_catalog(config.catalog)
    pairs = [(p.path, catalog[p.item_id]) for p in spec.photo_queries("train")] if spec.photo_queries else []
    pairs += [(item.image, item) for item in catalog if item.image is not None]
    if config.max_images:
        pairs = pairs[: config.max_images]
    cache = kit_home() / "imagery" / f"{config.catalog}_{config.resolution}px_{len(pairs)}.npz"
    cached = load_npz(cache, "pixels")  # None when missing or corrupt (then rebuilt)
    if cached is not None and len(cached["pixels"]) == len(pairs):
        pixels = cached["pixels"]
    else:
        size = (config.resolution, config.resolution)
        pixels = np.stack([np.asarray(load_image(path).convert("RGB").resize(size)) for path, _ in
                           tqdm(pairs, desc="resizing photos", unit="photo")]).transpose(0, 3, 1, 2)
        save_npz(cache, pixels=pixels)
    texts = [product_text(item) for _, item in pairs]
    unique = sorted(set(texts))
    vectors = dict(zip(unique, load_text_encoder("minilm").encode(unique)))
    return TrainingData(torch.from_numpy(pixels), torch.from_numpy(np.stack([vectors[t] for t in texts])), texts)


def noise_batch(pixels: torch.Tensor, scheduler: DDPMScheduler, generator: torch.Generator):
    """Images in [-1, 1], their noise, timesteps and noised versions: one DDPM training example each."""
    x0 = pixels.float() / 127.5 - 1.0
    noise = torch.randn(x0.shape, generator=generator)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator)
    return noise, t, scheduler.add_noise(x0, noise, t)


def denoising_loss(unet, scheduler, pixels, embeddings, generator) -> torch.Tensor:
    noise, t, noisy = noise_batch(pixels, scheduler, generator)
    pred = unet(noisy.to(unet.device), t.to(unet.device), encoder_hidden_states=embeddings[:, None, :].to(unet.device)).sample
    return torch.nn.functional.mse_loss(pred.float(), noise.to(unet.device))


@torch.no_grad()
def fixed_loss(unet, scheduler, data: TrainingData, n: int = 32, seed: int = 1234) -> float:
    """The loss on the same images, noise and timesteps every time: comparable across training."""
    g = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(data.pixels), generator=g)[:n]
    return float(denoising_loss(unet, scheduler, data.pixels[index], data.text_embeddings[index], g))


class Denoiser(Trainable):
    """The DDPM objective as a :class:`kit.training.Trainable`: predict the noise added to a batch of photos at
    random timesteps (noise and timesteps drawn from ``generator``, so a resumed run draws the same)."""

    def __init__(self, unet, scheduler: DDPMScheduler, generator: torch.Generator, lr: float) -> None:
        super().__init__()
        self.unet, self.noise_scheduler, self.generator, self.lr = unet, scheduler, generator, lr

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.unet.parameters(), lr=self.lr, weight_decay=0.01)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        pixels, embeddings = batch
        return denoising_loss(self.unet, self.noise_scheduler, pixels, embeddings, self.generator)


def train_diffusion(config: DiffusionTrainConfig = DiffusionTrainConfig(), out: str | Path | None = None,
                    device: str | None = None, progress: bool = True, data: TrainingData | None = None) -> Path:
    """Train (or resume) and save the pipeline into ``out`` (default: the registry's cache folder).

    :func:`kit.training.fit` runs it in chunks of ``checkpoint_every`` steps (its epochs): after each, the loss
    on a fixed batch and a checkpoint, so an interrupted run resumes at its last chunk.
    """
    out = Path(out) if out is not None else REGISTRY.get(MODEL_NAME).cache_dir
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    data = data or load_training_data(config)
    torch.manual_seed(config.seed)
    unet = tiny_unet(config.resolution, data.text_embeddings.shape[1], config.channels).to(device)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    generator = torch.Generator().manual_seed(config.seed)
    every = config.checkpoint_every
    checkpoint = out / "checkpoint.pt"
    settings = json.loads(json.dumps({k: v for k, v in asdict(config).items() if k != "steps"}))  # steps may grow
    saved = read_checkpoint_meta(checkpoint)
    if saved is not None:  # 3. resume
        if saved.get("settings") != settings:
            raise BadInput(f"{checkpoint} was made with another configuration; delete it to start over")
        if saved["steps"] % every and config.steps > saved["steps"]:
            raise BadInput(f"{checkpoint} ended mid-way through a {every}-step chunk ({saved['steps']} steps); "
                           "it cannot be extended. Delete it to start over.")
        log.info("resuming %s", MODEL_NAME)

    def batches(chunk: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The chunk's batches: random photos, 10% of their text embeddings zeroed (the empty prompt)."""
        for _ in range(chunk * every, min((chunk + 1) * every, config.steps)):  # 2. denoising steps
            index = torch.randint(0, len(data.pixels), (config.batch_size,), generator=generator)
            embeddings = data.text_embeddings[index].clone()
            embeddings[torch.rand(len(index), generator=generator) < config.p_uncond] = 0.0
            yield data.pixels[index], embeddings

    result = fit(Denoiser(unet, scheduler, generator, config.lr), batches, epochs=-(-config.steps // every),
                 validate=lambda: -fixed_loss(unet, scheduler, data), validate_first=True, keep_best=False,
                 max_grad_norm=1.0, checkpoint=checkpoint, rngs=(generator,),
                 meta={"settings": settings, "steps": config.steps}, valid_name="fixed", desc=f"training {MODEL_NAME}",
                 progress=progress)
    record = {"config": asdict(config), "step": len(result.step_losses),
              "losses": [round(loss, 5) for loss in result.step_losses], "images": len(data.pixels),
              "fixed_loss": [(min((h["epoch"] + 1) * every, config.steps), -h["fixed"]) for h in result.history]}
    # 4. save the pipeline the diffusers way, and the training record
    unet.eval()
    TextConditionedPixelPipeline(unet.to("cpu"), scheduler).save_pretrained(out, safe_serialization=True)
    (out / "training.json").write_text(json.dumps(record))
    return out
