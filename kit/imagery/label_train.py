"""Train the kit's label-conditioned product image model (``python -m kit imagery train --minutes 60``).

Diffusion training (Ho et al., 2020) on the fashion catalog's centred product photos, step by step:
1. the train split's photos (the catalog's own item split: test items are never drawn from) downscaled once to
   ``resolution`` and cached as one uint8 array in $KIT_HOME/imagery; each photo keeps its labels
   (article type, colour, gender; values with fewer than ``min_photos`` photos train the null row);
2. each step: a batch of photos, half of them mirrored; each label replaced by its null row with probability
   ``p_drop_label`` and the whole request with ``p_uncond`` (what guidance needs); a timestep per photo; the
   UNet predicts v = alpha_t * noise - sigma_t * x0 (v-prediction) and the squared error is weighted by
   min(SNR_t, 5) / (SNR_t + 1) (min-SNR weighting, Hang et al., 2023), in bfloat16 autocast where the CPU has it;
3. an exponential moving average of the weights (decay ramping to ``ema_decay``) is what gets saved and drawn
   with: on small data it is far less noisy than the last step's weights;
4. every ``checkpoint_every`` steps (a few minutes on 2 cores): the loss of the average on a fixed batch, a
   snapshot of the average (snapshots/, for the quality-against-minutes curve) and a checkpoint
   (:func:`kit.training.fit`: weights, average, optimizer, RNG states), so a run stopped by ``--minutes``
   or killed resumes exactly;
5. the pipeline (unet/, labels/, scheduler/) and training.json, which the model card reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler
from safetensors.torch import save_file
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from kit.bundled_catalogs import CATALOG_TABLE, item_split, open_catalog
from kit.catalog import Item
from kit.config import kit_home
from kit.errors import BadInput
from kit.files import load_npz, save_npz
from kit.images import load_image
from kit.imagery.conditions import LABEL_ATTRIBUTES, LabelEmbedding, item_indices, label_values
from kit.imagery.label_pipeline import LabelConditionedPipeline, product_unet, training_scheduler
from kit.registry import REGISTRY
from kit.training import Trainable, fit, read_checkpoint_meta

log = logging.getLogger(__name__)
MODEL_NAME = "shopkit-fashion-diffusion"


@dataclass(frozen=True)
class LabelDiffusionConfig:
    catalog: str = "fashion_products"
    resolution: int = 64
    channels: tuple[int, ...] = (32, 64, 64, 128)
    batch_size: int = 32
    lr: float = 3e-4
    warmup_steps: int = 200
    steps: int = 100_000  # a ceiling: --minutes is what usually stops a run
    checkpoint_every: int = 250  # about 4.5 minutes at 64 px on 2 cores
    p_uncond: float = 0.1
    p_drop_label: float = 0.1
    min_snr: float = 5.0
    ema_decay: float = 0.999
    min_photos: int = 20
    label_init_std: float = 1.0  # N(0, 1) like torch's and diffusers' class embeddings; 0.02 drowned in the timestep embedding
    bfloat16: bool = True  # autocast where the CPU computes bfloat16 natively (1.7x faster here), never on others
    max_images: int | None = None
    seed: int = 0


@dataclass
class LabelledPhotos:
    pixels: torch.Tensor  # (N, 3, R, R) uint8
    items: list[Item]


def native_bfloat16() -> bool:
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def downscaled(paths: list[Path], resolution: int, cache: Path) -> np.ndarray:
    """(N, 3, R, R) uint8 photos, decoded and resized once (the cache is rebuilt when missing or short)."""
    cached = load_npz(cache, "pixels")
    if cached is not None and len(cached["pixels"]) == len(paths):
        return cached["pixels"]
    size = (resolution, resolution)
    pixels = np.stack([np.asarray(load_image(p).convert("RGB").resize(size, resample=3)) for p in  # 3: bicubic
                       tqdm(paths, desc="downscaling photos", unit="photo")]).transpose(0, 3, 1, 2)
    save_npz(cache, pixels=pixels)
    return pixels


def training_photos(config: LabelDiffusionConfig) -> LabelledPhotos:
    """The catalog's train-split items with a photo and their downscaled photos."""
    spec = CATALOG_TABLE.get(config.catalog)
    catalog = open_catalog(config.catalog) if spec is not None else None
    if catalog is None or not spec.has_photos or not any(item.attributes.get(LABEL_ATTRIBUTES[0]) for item in catalog):
        raise BadInput(f"the label-conditioned model trains on a bundled catalog with photos and "
                       f"{', '.join(LABEL_ATTRIBUTES)} labels (fashion_products); got {config.catalog!r}")
    items = [item for item in item_split(catalog, spec.holdout or 0.2, 0)[0] if item.image is not None]
    items = items[: config.max_images] if config.max_images else items
    cache = kit_home() / "imagery" / f"{config.catalog}_train_{config.resolution}px_{len(items)}.npz"
    return LabelledPhotos(torch.from_numpy(downscaled([item.image for item in items], config.resolution, cache)), items)


class LabelDenoiser(Trainable):
    """The v-prediction objective with min-SNR weighting, plus the weights' moving average (a submodule, so
    :func:`kit.training.fit` checkpoints it with the rest)."""

    def __init__(self, unet, labels: LabelEmbedding, config: LabelDiffusionConfig, generator: torch.Generator,
                 snapshots: Path | None = None) -> None:
        super().__init__()
        self.snapshots = snapshots
        self.net = torch.nn.ModuleDict({"unet": unet, "labels": labels})
        decay = config.ema_decay

        def ema(average: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
            d = min(decay, (1 + int(n)) / (10 + int(n)))  # warm-up: early averages forget the random start
            return d * average + (1 - d) * current

        self.average = AveragedModel(self.net, avg_fn=ema, use_buffers=True)
        self.noise_scheduler, self.config, self.generator = training_scheduler(), config, generator
        self.autocast = config.bfloat16 and native_bfloat16()
        alphas = self.noise_scheduler.alphas_cumprod
        self.register_buffer("snr", alphas / (1 - alphas), persistent=False)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.config.lr, weight_decay=0.01)
        warmup = max(1, self.config.warmup_steps)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return v_loss(self.net["unet"], self.net["labels"], self.noise_scheduler, self.snr, batch, self.generator,
                      self.config.min_snr, self.autocast)

    def on_step_end(self) -> None:
        self.average.update_parameters(self.net)

    def on_epoch_end(self, epoch: int) -> None:
        """4. the average's weights after every chunk, for the quality-against-minutes curve."""
        if self.snapshots is not None:
            self.snapshots.mkdir(parents=True, exist_ok=True)
            weights = {k: v.contiguous() for k, v in self.average.module.state_dict().items()}
            save_file(weights, self.snapshots / f"step-{(epoch + 1) * self.config.checkpoint_every:06d}.safetensors")


def v_loss(unet, labels: LabelEmbedding, scheduler, snr: torch.Tensor, batch, generator: torch.Generator,
           min_snr: float, autocast: bool) -> torch.Tensor:
    """Min-SNR-weighted v-prediction loss of one batch of (uint8 photos, label rows)."""
    pixels, rows = batch
    x0 = pixels.float() / 127.5 - 1.0
    noise = torch.randn(x0.shape, generator=generator)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator)
    noisy, target = scheduler.add_noise(x0, noise, t), scheduler.get_velocity(x0, noise, t)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        prediction = unet(noisy, t, class_labels=labels(rows)).sample
    weight = torch.clamp(snr[t], max=min_snr) / (snr[t] + 1)
    return (weight * (prediction.float() - target).pow(2).mean(dim=(1, 2, 3))).mean()


def train_label_diffusion(config: LabelDiffusionConfig = LabelDiffusionConfig(), out: str | Path | None = None,
                          minutes: float | None = None, resume: bool = False, progress: bool = True,
                          data: LabelledPhotos | None = None) -> Path:
    """Train for at most ``minutes`` of training time and save the pipeline into ``out`` (default: the registry's
    cache folder); ``resume`` continues the run checkpointed there (give it more minutes than it has used)."""
    out = Path(out) if out is not None else REGISTRY.get(MODEL_NAME).cache_dir
    data = data or training_photos(config)
    torch.manual_seed(config.seed)
    labels = LabelEmbedding(LABEL_ATTRIBUTES, label_values(data.items, LABEL_ATTRIBUTES, config.min_photos),
                            dim=4 * config.channels[0], init_std=config.label_init_std)
    rows = item_indices(data.items, labels)
    generator = torch.Generator().manual_seed(config.seed)
    model = LabelDenoiser(product_unet(config.resolution, config.channels), labels, config, generator, out / "snapshots")
    every, checkpoint = config.checkpoint_every, out / "checkpoint.pt"
    settings = json.loads(json.dumps({k: v for k, v in asdict(config).items() if k != "steps"}))
    saved = read_checkpoint_meta(checkpoint)
    if saved is not None and not resume:
        raise BadInput(f"{checkpoint} holds a run already: resume it (--resume, with more --minutes than it used) "
                       "or delete the folder to start over")
    if saved is None and resume:
        raise BadInput(f"nothing to resume in {out}: no checkpoint.pt there")
    if saved is not None and saved.get("settings") != settings:
        raise BadInput(f"{checkpoint} was made with other settings ({saved.get('settings')}); delete it to start over")

    def batches(chunk: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(chunk * every, min((chunk + 1) * every, config.steps)):
            index = torch.randint(0, len(data.pixels), (config.batch_size,), generator=generator)
            pixels = data.pixels[index]
            mirrored = torch.rand(len(index), generator=generator) < 0.5
            pixels = torch.where(mirrored[:, None, None, None], pixels.flip(-1), pixels)
            batch_rows = rows[index].clone()
            null = torch.tensor(labels.null())
            dropped = torch.rand(batch_rows.shape, generator=generator) < config.p_drop_label
            dropped |= (torch.rand(len(index), generator=generator) < config.p_uncond)[:, None]
            yield pixels, torch.where(dropped, null.expand_as(batch_rows), batch_rows)

    fixed = _fixed_batch(data, rows, config)

    @torch.no_grad()
    def validate() -> float:
        average = model.average.module
        g = torch.Generator().manual_seed(1234)
        return -float(v_loss(average["unet"], average["labels"], model.noise_scheduler, model.snr, fixed, g,
                             config.min_snr, False))

    result = fit(model, batches, epochs=-(-config.steps // every), validate=validate, keep_best=False,
                 max_grad_norm=1.0, checkpoint=checkpoint, rngs=(generator,), meta={"settings": settings},
                 valid_name="fixed", desc=f"training {MODEL_NAME}", progress=progress,
                 max_seconds=None if minutes is None else minutes * 60)
    steps = min(result.epochs_run * every, config.steps)
    record = {"config": asdict(config), "steps": steps, "images": len(data.pixels), "minutes": round(result.seconds / 60, 1),
              "autocast_bfloat16": model.autocast, "label_values": labels.config["values"],
              "curve": [{"step": min((h["epoch"] + 1) * every, config.steps), "fixed_loss": round(-h["fixed"], 5),
                         "minutes": round(result.epoch_seconds[h["epoch"]] / 60, 2)}
                        for h in result.history if "fixed" in h and h["epoch"] >= 0]}
    average = model.average.module
    pipeline = LabelConditionedPipeline(average["unet"], average["labels"],
                                        DDIMScheduler.from_config(model.noise_scheduler.config))
    pipeline.save_pretrained(out)
    (out / "training.json").write_text(json.dumps(record))
    return out


def _fixed_batch(data: LabelledPhotos, rows: torch.Tensor, config: LabelDiffusionConfig, n: int = 64):
    index = torch.randperm(len(data.pixels), generator=torch.Generator().manual_seed(99))[:n]
    return data.pixels[index], rows[index]
