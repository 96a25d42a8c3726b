"""Training ``shopkit-lit-ft``: the top of the image tower unfrozen, trained on cached lower-stage activations.

``shopkit-lit`` (kit/clip/lit.py) keeps both towers frozen, and a linear probe on its pooled ImageNet
features stops near 0.70 on grocery photos: the features, not the heads, are the limit. Here the top
``unfrozen_stages`` MBConv stages of ``efficientnet_lite0`` (plus its 1x1 ``conv_head``) learn too.

On two CPU cores a full forward pass per step is too slow, so the frozen bottom runs **once**:

    a_v(x) = blocks[:s](stem(view_v(x)))           cached, float16, one per view v (kit/clip/cache.py shards)
    z(x)   = head_img(pool(conv_head(blocks[s:](a_v(x)))))   trained
    t(y)   = head_txt(pool(minilm(y)))             MiniLM frozen, its pooled features cached as in shopkit-lit

View 0 is the centre crop the model sees at inference; views 1.. are seeded random resized crops with
horizontal flips (no colour jitter: colour is what fashion shoppers ask for). Each epoch draws one view per
photo. Training is LP-FT (Kumar et al., ICLR 2022): the heads are first fitted on the frozen features (the
LiT step, seconds), then heads and top stages train together with open_clip's ``ClipLoss``, so the
pretrained features are not torn up by random heads. BatchNorm statistics stay frozen (eval mode).

Batches hold one catalog each. Grocery batches never repeat a product; in a quarter of the fashion batches
the items are sorted by (article type, gender), so their negatives are the same kind of garment in another
colour or for other shoppers: the hard negatives that teach colour and gender.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from kit.clip.cache import EmbeddingCache, file_key
from kit.bundled_catalogs import PHOTO_CATALOGS
from kit.clip.lit import (ContrastiveHeads, LitConfig, PairSet, _batches, create_untrained, product_features,
                          save_model_folder, text_trunk_features, top_k_accuracy, train_heads)
from kit.clip.pairs import PhotoPairs, query_photos, training_pairs, validation_catalog
from kit.clip.towers import fold_batch_norms
from kit.errors import BadInput
from kit.images import load_image
from kit.registry import REGISTRY, ModelRegistry
from kit.training import fit

log = logging.getLogger(__name__)
N_BLOCKS = 7  # efficientnet_lite0 has seven MBConv stages (timm's ``blocks``)
IMAGE_SIZE = 224  # the model config's image_size
CROP_SCALE, CROP_RATIO = (0.35, 1.0), (3 / 4, 4 / 3)


@dataclass
class FinetuneConfig:
    """Training settings; the defaults are the ones the shipped model card reports."""

    unfrozen_stages: int = 2  # top MBConv stages that learn (1..7), plus conv_head and the heads
    cached_stages: int = 2  # activations are cached below this many top stages (>= unfrozen_stages)
    views: int = 2  # views per training photo: the centre crop plus views-1 random resized crops
    probe_epochs: int = 20  # heads only, on the frozen features (the LP step of LP-FT)
    epochs: int = 6  # heads and top stages together
    batch_size: int = 128
    lr: float = 3e-4
    weight_decay: float = 0.05
    hard_negative_share: float = 0.25  # share of fashion batches sorted by (article type, gender); 0.5 measured worse
    seed: int = 0
    catalogs: tuple[str, ...] = PHOTO_CATALOGS  # every bundled catalog with photos
    max_items: int | None = None  # subsets for quick runs (tests, notebooks): training items per catalog,
    max_photos: int | None = None  # and labelled shopper photos (an even spread over the products)
    test_photos: int | None = None  # test-split shopper photos scored after training (None: all; grocery 2,485)

    def check(self) -> None:
        if not 1 <= self.unfrozen_stages <= self.cached_stages <= N_BLOCKS:
            raise BadInput(f"need 1 <= unfrozen_stages ({self.unfrozen_stages}) <= cached_stages "
                           f"({self.cached_stages}) <= {N_BLOCKS}")
        if self.views < 1 or self.epochs < 0 or self.probe_epochs < 0:
            raise BadInput("views must be >= 1 and epochs, probe_epochs >= 0")
        if not 0.0 <= self.hard_negative_share <= 1.0:
            raise BadInput(f"hard_negative_share must lie in [0, 1], got {self.hard_negative_share}")


@dataclass
class FinetuneHistory:
    probe_val_top1: float = 0.0  # grocery val top-1 after the heads-only step (= the frozen towers)
    losses: list[float] = field(default_factory=list)
    val_top1: list[float] = field(default_factory=list)
    best_epoch: int = -1  # -1: no fine-tuning epoch beat the probe
    seconds: dict[str, float] = field(default_factory=dict)  # caching, probe, finetune


# -- the tower, cut in two ------------------------------------------------------------------------
def lower_forward(trunk: torch.nn.Module, split: int, pixels: torch.Tensor) -> torch.Tensor:
    """Stem and the first ``split`` stages of timm's efficientnet: what stays frozen and is cached."""
    x = trunk.bn1(trunk.conv_stem(pixels))
    for block in trunk.blocks[:split]:
        x = block(x)
    return x


def upper_forward(trunk: torch.nn.Module, split: int, x: torch.Tensor) -> torch.Tensor:
    """Stages ``split..6``, conv_head and the average pool: the pooled 1280-d feature the image head reads."""
    for block in trunk.blocks[split:]:
        x = block(x)
    return trunk.forward_head(trunk.bn2(trunk.conv_head(x)))


def trainable_trunk_parameters(trunk: torch.nn.Module, unfrozen_stages: int) -> list[torch.nn.Parameter]:
    modules = list(trunk.blocks[N_BLOCKS - unfrozen_stages:]) + [trunk.conv_head, trunk.bn2]
    return [p for module in modules for p in module.parameters()]


# -- views and the activation cache ---------------------------------------------------------------
def view_of(image, key: str, view: int, preprocess) -> torch.Tensor:
    """View 0: the model's own preprocessing (centre crop). View v > 0: a random resized crop and flip whose
    randomness is seeded by (image content, v), so a resumed or repeated run sees the same pixels."""
    if view == 0:
        return preprocess(image)
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"{key}:{view}".encode()).digest()[:8], "little"))
    width, height = image.size
    for _ in range(10):  # the RandomResizedCrop recipe, drawn from our own generator
        area = width * height * rng.uniform(*CROP_SCALE)
        ratio = float(np.exp(rng.uniform(np.log(CROP_RATIO[0]), np.log(CROP_RATIO[1]))))
        w, h = int(round(np.sqrt(area * ratio))), int(round(np.sqrt(area / ratio)))
        if 0 < w <= width and 0 < h <= height:
            top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            break
    else:
        top, left, h, w = 0, 0, height, width
    crop = TF.resized_crop(image, top, left, h, w, [IMAGE_SIZE, IMAGE_SIZE], InterpolationMode.BICUBIC)
    if rng.random() < 0.5:
        crop = TF.hflip(crop)
    return preprocess(crop)  # resize and centre crop are no-ops at this size; normalisation as at inference


def activation_cache(split: int) -> EmbeddingCache:
    """Where the frozen stages' activations live (one cache per cut point, float16)."""
    return EmbeddingCache(f"shopkit-lit-ft-stages/efficientnet-lite0-blocks{split}", dtype=np.float16)


@torch.inference_mode()
def stage_activations(model, preprocess, paths: list[Path], split: int, views: int = 1, batch_size: int = 8,
                      shard_size: int = 128) -> torch.Tensor:
    """(views, N, C, H, W) float16 activations after stage ``split``, cached by (file content, view).

    Each finished shard of ``shard_size`` activations is written atomically, so a run killed here resumes
    where it stopped; a shard cut short is discarded and recomputed (kit/clip/cache.py).
    """
    trunk = model.visual.trunk
    parameter = next(trunk.parameters())
    shape: list[int] = []
    folded = None  # the frozen stages with their batch norms folded, made on first use (kit/clip/towers.py)

    def encode(jobs: list[tuple[Path, str, int]]) -> np.ndarray:
        nonlocal folded
        if folded is None:
            folded = fold_batch_norms(trunk)
        out = []
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start:start + batch_size]
            pixels = torch.stack([view_of(load_image(path), key, view, preprocess) for path, key, view in chunk])
            pixels = pixels.to(parameter.device, parameter.dtype).contiguous(memory_format=torch.channels_last)
            acts = lower_forward(folded, split, pixels)
            shape[:] = acts.shape[1:]
            out.append(acts.float().cpu().flatten(1).numpy())
        return np.concatenate(out)

    keys = [file_key(p) for p in paths]
    jobs = [(p, k, v) for v in range(views) for p, k in zip(paths, keys)]
    flat = activation_cache(split).embed([f"{k}:{v}" for _, k, v in jobs], jobs, encode, shard_size,
                                         f"activations (stages below {split})")
    if not shape:  # everything came from the cache: one forward pass to learn the shape
        probe = torch.zeros(1, 3, 224, 224, dtype=parameter.dtype, device=parameter.device)
        shape[:] = lower_forward(trunk, split, probe.contiguous(memory_format=torch.channels_last)).shape[1:]
    return torch.from_numpy(flat).view(views, len(paths), *shape)


@torch.inference_mode()
def run_frozen(trunk, start: int, stop: int, acts: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Stages ``start..stop-1`` over cached activations (float16 in, float16 out); for stop == 7, pooled."""
    out = []
    for chunk in acts.flatten(0, 1).split(batch_size):
        x = chunk.float().contiguous(memory_format=torch.channels_last)
        x = upper_forward(trunk, start, x) if stop == N_BLOCKS else _blocks(trunk, start, stop, x)
        out.append(x.to(torch.float16 if stop < N_BLOCKS else torch.float32))
    return torch.cat(out).view(*acts.shape[:2], *out[0].shape[1:])


def _blocks(trunk, start: int, stop: int, x: torch.Tensor) -> torch.Tensor:
    for block in trunk.blocks[start:stop]:
        x = block(x)
    return x


# -- the data -------------------------------------------------------------------------------------
@dataclass
class ActivationPairs:
    """Cached activations of photos (views, N, C, H, W) with their texts' frozen features and groups."""

    acts: torch.Tensor
    text: torch.Tensor  # (N, 384)
    group: np.ndarray  # (N,) photos of the same product share a group
    hard_key: np.ndarray | None = None  # (N,) fashion: "articleType|gender", the hard-negative sort key

    def pooled(self, trunk, split: int) -> PairSet:
        """View 0 through the frozen top: the features shopkit-lit's heads see."""
        return PairSet(run_frozen(trunk, split, N_BLOCKS, self.acts[:1])[0], self.text, self.group)


def activation_pairs(model, preprocess, tokenizer, split: int, pairs: PhotoPairs, views: int) -> ActivationPairs:
    """A catalog's (photo, text) pairs as cached activations of the frozen stages, ``views`` per photo."""
    acts = stage_activations(model, preprocess, pairs.paths, split, views)
    text = torch.from_numpy(text_trunk_features(model, tokenizer, pairs.texts))
    return ActivationPairs(acts, text, pairs.group, pairs.hard_key)


def hard_negative_batches(keys: np.ndarray, batch_size: int, share: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Each index once: a random ``share`` of them sorted by key (batches of look-alikes), the rest random."""
    order = rng.permutation(len(keys))
    n_hard = int(round(len(order) * share))
    hard = order[:n_hard][np.lexsort((rng.random(n_hard), keys[order[:n_hard]]))]
    rest = order[n_hard:]
    batches = [part[i:i + batch_size] for part in (hard, rest) for i in range(0, len(part), batch_size)]
    return [b for b in batches if len(b) > 1]


# -- training -------------------------------------------------------------------------------------
class TopStages(ContrastiveHeads):
    """The LiT recipe with the top ``unfrozen_stages`` of the image trunk learning too, on cached activations.

    Each step draws one cached view per photo (from ``rng``) and runs it through the trained stages. Three
    parameter groups: trunk stages, heads, and the temperature (no weight decay); a one-cycle schedule with
    a 10% warm-up.
    """

    def __init__(self, clip, sets: list[tuple[ActivationPairs, bool]], config: FinetuneConfig, total_steps: int,
                 train_from: int, rng: np.random.Generator) -> None:
        super().__init__(clip, sets, config.lr, config.weight_decay, total_steps)
        self.unfrozen_stages, self.train_from, self.rng = config.unfrozen_stages, train_from, rng

    def configure_optimizers(self):
        trunk = trainable_trunk_parameters(self.clip.visual.trunk, self.unfrozen_stages)
        heads = list(self.clip.visual.head.parameters()) + list(self.clip.text.proj.parameters())
        optimizer = torch.optim.AdamW([{"params": trunk}, {"params": heads},
                                       {"params": [self.clip.logit_scale], "weight_decay": 0.0}],
                                      lr=self.lr, weight_decay=self.weight_decay)
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, self.lr, total_steps=self.total_steps,
                                                              pct_start=0.1)

    def image_features(self, pairs: ActivationPairs, index: np.ndarray) -> torch.Tensor:
        views = torch.from_numpy(self.rng.integers(0, pairs.acts.shape[0], len(index)))
        x = pairs.acts[views, torch.from_numpy(index)].float().contiguous(memory_format=torch.channels_last)
        return self.clip.visual.head(upper_forward(self.clip.visual.trunk, self.train_from, x))


def finetune(model, sets: list[tuple[ActivationPairs, bool]], config: FinetuneConfig, split: int,
             val: Callable[[], float] | None) -> FinetuneHistory:
    """Train heads and the top stages on cached activations; the best epoch by ``val`` is kept, and the
    weights as they came in (the LP heads) when no epoch beats them.

    ``split`` is where the given activations were cut; stages between it and the trained top run frozen
    once, up front, so each step costs only the trained stages.
    """
    trunk = model.visual.trunk.to(memory_format=torch.channels_last)  # 2-3x faster convolutions on CPU (measured)
    train_from = N_BLOCKS - config.unfrozen_stages
    if train_from > split:  # frozen middle stages: run them once over every cached view
        sets = [(ActivationPairs(run_frozen(trunk, split, train_from, s.acts), s.text, s.group, s.hard_key), d)
                for s, d in sets]
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    trunk_params = trainable_trunk_parameters(trunk, config.unfrozen_stages)
    for parameter in trunk_params:
        parameter.requires_grad = True

    def epoch_batches(epoch: int = 0) -> list[tuple[ActivationPairs, np.ndarray]]:
        out = []
        for pairs, distinct in sets:
            if distinct:
                size = min(config.batch_size, len(np.unique(pairs.group)))
                out += [(pairs, b) for b in _batches(PairSet(None, None, pairs.group), size, rng, True)]
            elif pairs.hard_key is not None:
                out += [(pairs, b) for b in hard_negative_batches(pairs.hard_key, config.batch_size,
                                                                  config.hard_negative_share, rng)]
            else:
                out += [(pairs, b) for b in _batches(PairSet(None, None, pairs.group), config.batch_size, rng, False)]
        rng.shuffle(out)
        return out

    steps = config.epochs * len(epoch_batches())  # one epoch's draw, to size the schedule (as the shipped run did)
    recipe = TopStages(model, sets, config, max(steps, 1), train_from, rng)
    result = fit(recipe, epoch_batches, epochs=config.epochs, validate=val, validate_first=val is not None,
                 rngs=(rng,), desc="fine-tuning shopkit-lit-ft")
    for parameter in trunk_params:
        parameter.requires_grad = False
    history = FinetuneHistory()
    history.losses = result.losses
    history.val_top1 = [h["valid"] for h in result.history if h["epoch"] >= 0 and "valid" in h]
    history.best_epoch = result.best_epoch
    return history


@torch.no_grad()
def pooled_top1(model, pairs: ActivationPairs, split: int, products: torch.Tensor) -> float:
    """Grocery photos (view 0) -> products top-1 through the current top stages and heads."""
    return top_k_accuracy(model, pairs.pooled(model.visual.trunk, split), products, 1)


def train_finetuned(output: Path | None = None, config: FinetuneConfig | None = None,
                    registry: ModelRegistry = REGISTRY) -> tuple[Path, FinetuneHistory, dict]:
    """Train shopkit-lit-ft and save it (open_clip config, safetensors, training.json) into ``output``.

    Steps: 1. cache the frozen stages' activations of every view; 2. fit the heads on the frozen
    features; 3. fine-tune heads and top stages; 4. measure grocery test top-1 and save.
    """
    config = config or FinetuneConfig()
    config.check()
    output = Path(output) if output is not None else registry.get("shopkit-lit-ft").cache_dir
    staging = output.with_name(output.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    torch.manual_seed(config.seed)
    model, preprocess, tokenizer = create_untrained(staging, registry)
    split = N_BLOCKS - config.cached_stages
    history, started = FinetuneHistory(), time.perf_counter()

    # 1. activations of the frozen stages (the slow part, cached and resumable)
    pairs = training_pairs(config.catalogs, config.seed, config.max_items, config.max_photos)
    sets = [(activation_pairs(model, preprocess, tokenizer, split, p, config.views), p.distinct) for p in pairs]
    val_pairs, val_catalog = None, validation_catalog(config.catalogs)
    if val_catalog is not None:
        products = product_features(model, tokenizer, val_catalog)
        val_pairs = activation_pairs(model, preprocess, tokenizer, split, query_photos(val_catalog, "val"), 1)
    history.seconds["caching"] = time.perf_counter() - started
    val = (lambda: pooled_top1(model, val_pairs, split, products)) if val_pairs is not None else None

    # 2. the heads on the frozen features of the centre crops (LP: what shopkit-lit trains); the towers do not move
    # in this step, so the validation photos go through the top stages once, not once per epoch
    started = time.perf_counter()
    probe_sets = [(s.pooled(model.visual.trunk, split), distinct) for s, distinct in sets]
    val_pooled = val_pairs.pooled(model.visual.trunk, split) if val_pairs is not None else None
    probe_val = (lambda: top_k_accuracy(model, val_pooled, products, 1)) if val_pooled is not None else None
    probe = train_heads(model, probe_sets, LitConfig(epochs=config.probe_epochs, batch_size=config.batch_size,
                                                     seed=config.seed), probe_val)
    history.probe_val_top1 = probe.val_top1[probe.best_epoch] if val is not None and probe.val_top1 else 0.0
    history.seconds["probe"] = time.perf_counter() - started

    # 3. heads and top stages together (FT)
    started = time.perf_counter()
    tuned = finetune(model, sets, config, split, val)
    history.losses, history.val_top1, history.best_epoch = tuned.losses, tuned.val_top1, tuned.best_epoch
    history.seconds["finetune"] = time.perf_counter() - started

    # 4. test and save
    metrics = {"grocery_val_top1": max([history.probe_val_top1] + history.val_top1) if val else None,
               "probe_val_top1": history.probe_val_top1 if val else None}
    if val_catalog is not None:
        test = activation_pairs(model, preprocess, tokenizer, split, query_photos(val_catalog, "test", config.test_photos), 1)
        metrics["grocery_test_top1"] = pooled_top1(model, test, split, products)
    metrics["training_minutes"] = round(sum(history.seconds.values()) / 60, 2)
    return save_model_folder(model, staging, output, {"config": asdict(config), "history": asdict(history),
                                                      "metrics": metrics}, pairs), history, metrics
