"""Train the kit's own text-to-image model on a catalog's photos (``python -m kit imagery train``).

DDPM training (Ho et al., 2020) in pixel space, step by step:
1. photos resized to ``resolution`` (cached as one array in $KIT_HOME/imagery), each paired with the
   MiniLM embedding of its product's text;
2. each step: a batch, a random timestep per image, noise added, the UNet predicts the noise
   (mean squared error); 10% of the text embeddings are zeroed so the model also learns the empty
   prompt that classifier-free guidance needs;
3. a checkpoint every ``checkpoint_every`` steps (model, optimizer, step, losses): an interrupted run
   resumes where it stopped;
4. at the end the pipeline is saved with diffusers' ``save_pretrained`` (unet/, scheduler/) plus the
   training record that the model card reads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler
from tqdm.auto import tqdm

from kit.bundled_catalogs import grocery_photos, open_catalog
from kit.clip.towers import load_text_encoder
from kit.config import kit_home
from kit.errors import BadInput
from kit.files import load_npz, save_npz
from kit.images import load_image
from kit.imagery.pixel_pipeline import TextConditionedPixelPipeline, tiny_unet
from kit.imagery.prompts import product_text
from kit.registry import REGISTRY

log = logging.getLogger(__name__)
MODEL_NAME = "shopkit-tiny-diffusion"


@dataclass(frozen=True)
class DiffusionTrainConfig:
    catalog: str = "grocery_store"
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
    """The catalog's store photos (train split) and catalog photos, with their products' text embeddings."""
    if config.catalog != "grocery_store":
        raise BadInput(f"the tiny diffusion model trains on grocery_store photos; got {config.catalog!r}")
    catalog = open_catalog(config.catalog)
    pairs = [(p.path, catalog[p.item_id]) for p in grocery_photos("train")]
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


def train_diffusion(config: DiffusionTrainConfig = DiffusionTrainConfig(), out: str | Path | None = None,
                    device: str | None = None, progress: bool = True, data: TrainingData | None = None) -> Path:
    """Train (or resume) and save the pipeline into ``out`` (default: the registry's cache folder)."""
    out = Path(out) if out is not None else REGISTRY.get(MODEL_NAME).cache_dir
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    data = data or load_training_data(config)
    torch.manual_seed(config.seed)
    unet = tiny_unet(config.resolution, data.text_embeddings.shape[1], config.channels).to(device)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(config.seed)
    record = {"config": asdict(config), "step": 0, "losses": [], "fixed_loss": [], "images": len(data.pixels)}
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():  # 3. resume
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        same = {k: v for k, v in state["record"]["config"].items() if k != "steps"}
        if same != {k: v for k, v in record["config"].items() if k != "steps"}:
            raise BadInput(f"{checkpoint} was made with another configuration; delete it to start over")
        state["record"]["config"]["steps"] = config.steps  # resuming may extend the run
        unet.load_state_dict(state["unet"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        record = state["record"]
        log.info("resuming %s at step %d", MODEL_NAME, record["step"])
    if record["step"] == 0:
        record["fixed_loss"].append((0, fixed_loss(unet, scheduler, data)))
    bar = tqdm(range(record["step"], config.steps), desc=f"training {MODEL_NAME}", unit="step", disable=not progress,
               initial=record["step"], total=config.steps)
    unet.train()
    for step in bar:  # 2. denoising steps
        index = torch.randint(0, len(data.pixels), (config.batch_size,), generator=generator)
        embeddings = data.text_embeddings[index].clone()
        embeddings[torch.rand(len(index), generator=generator) < config.p_uncond] = 0.0
        loss = denoising_loss(unet, scheduler, data.pixels[index], embeddings, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        record["losses"].append(round(loss.item(), 5))
        record["step"] = step + 1
        bar.set_postfix(loss=f"{np.mean(record['losses'][-50:]):.4f}")
        if record["step"] % config.checkpoint_every == 0 or record["step"] == config.steps:
            unet.eval()
            record["fixed_loss"].append((record["step"], fixed_loss(unet, scheduler, data)))
            unet.train()
            out.mkdir(parents=True, exist_ok=True)
            torch.save({"unet": unet.state_dict(), "optimizer": optimizer.state_dict(),
                        "generator": generator.get_state(), "record": record}, checkpoint)
    # 4. save the pipeline the diffusers way, and the training record
    unet.eval()
    TextConditionedPixelPipeline(unet.to("cpu"), scheduler).save_pretrained(out, safe_serialization=True)
    (out / "training.json").write_text(json.dumps(record))
    return out
