"""Training ``shopkit-lit``: the LiT recipe on frozen towers, built and trained with open_clip itself.

LiT (Zhai et al., "LiT: Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022) keeps a
pretrained image tower locked and tunes the text side. With no CLIP weights available offline we lock
*both* towers (timm's ``efficientnet_lite0`` with ImageNet weights, and MiniLM) and learn only the two
projection heads and the temperature, with open_clip's contrastive ``ClipLoss``:

    z_i = head_img(trunk_img(x_i)),  t_j = head_txt(pool(minilm(y_j))),  logits = exp(s) * ẑ_i · t̂_j
    loss = ½ [CE(logits, I) + CE(logitsᵀ, I)]

Frozen towers mean the trunk features are computed once and cached (kit/clip/cache.py), so training the
heads takes seconds per epoch on 2 cores. The result is an ordinary open_clip ``CustomTextCLIP`` saved
as a ``local-dir:`` folder (config + safetensors + model card), so ``ItemEncoder.from_pretrained``
loads it like any open_clip model.

Training pairs come from each catalog's spec (kit/clip/pairs.py): a catalog's labelled shopper photos
and item photos, batches never holding the same product twice (a duplicate would be a false negative),
or its items' photos on a seeded split by id whose held-out part is the title -> photo test.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from kit.bundled_catalogs import PHOTO_CATALOGS, open_catalog
from kit.clip.cache import EmbeddingCache, content_key, file_key
from kit.clip.pairs import PhotoPairs, item_text, query_photos, training_pairs, validation_catalog
from kit.clip.towers import fold_batch_norms
from kit.images import load_image
from kit.registry import REGISTRY, ModelRegistry
from kit.training import FitResult, Trainable, fit

log = logging.getLogger(__name__)
CONFIG_TEMPLATE = Path(__file__).parent / "model_configs" / "shopkit-lit.json"
IMAGE_TRUNK_KEY = REGISTRY.get("shopkit-lit").source["frozen_image_trunk"]  # the app reads the same cache
TEXT_TRUNK_KEY = REGISTRY.get("shopkit-lit").source["frozen_text_trunk"]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


@dataclass
class LitConfig:
    """Training settings; the defaults are the ones the shipped model card reports."""

    epochs: int = 40
    batch_size: int = 128  # a catalog with several photos per product holds at most one of each per batch
    lr: float = 1e-3
    weight_decay: float = 0.2
    seed: int = 0
    catalogs: tuple[str, ...] = PHOTO_CATALOGS  # every bundled catalog with photos
    max_items: int | None = None  # the first N training items per catalog, for quick runs (tests, notebooks)


@dataclass
class LitHistory:
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    val_top1: list[float] = field(default_factory=list)  # val shopper photos -> products, per epoch
    best_epoch: int = 0


def write_model_folder(folder: Path, registry: ModelRegistry = REGISTRY) -> Path:
    """Write ``open_clip_config.json`` with the ``registry:NAME`` placeholders resolved to local paths."""
    config = json.loads(CONFIG_TEMPLATE.read_text())
    config.pop("_comment", None)
    text_cfg = config["model_cfg"]["text_cfg"]
    for key in ("hf_model_name", "hf_tokenizer_name"):
        if str(text_cfg[key]).startswith("registry:"):
            text_cfg[key] = str(registry.resolve(text_cfg[key].split(":", 1)[1]).path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    tokenizer_source = Path(text_cfg["hf_tokenizer_name"])
    for name in TOKENIZER_FILES:  # open_clip reads a local-dir model's tokenizer from the folder itself
        if (tokenizer_source / name).is_file():
            shutil.copy(tokenizer_source / name, folder / name)
    return folder


def create_untrained(folder: Path, registry: ModelRegistry = REGISTRY):
    """(model, preprocess, tokenizer) with pretrained towers and freshly initialised heads."""
    import open_clip

    from kit.clip.towers import efficientnet_lite0_state_dict

    write_model_folder(folder, registry)
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}", load_weights=False)
    model.visual.trunk.load_state_dict(
        {k: v for k, v in efficientnet_lite0_state_dict(registry).items() if not k.startswith("classifier.")})
    # freeze_bn_stats would swap timm's fused BatchNormAct2d for a plain frozen BN and drop the ReLU6
    # activations; eval mode plus requires_grad=False already keeps the statistics fixed.
    model.lock_image_tower(unlocked_groups=0, freeze_bn_stats=False)
    model.lock_text_tower(unlocked_layers=0, freeze_layer_norm=True)
    for parameter in list(model.visual.head.parameters()) + list(model.text.proj.parameters()):
        parameter.requires_grad = True
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(f"local-dir:{folder}")


# -- frozen trunk features, cached ---------------------------------------------------------------
@torch.inference_mode()
def image_trunk_features(model, preprocess, paths: list[Path], batch_size: int = 8, shard_size: int = 256) -> np.ndarray:
    """Pooled 1280-d efficientnet features of each image (cached by file content, shared with the app).

    The trunk runs with its batch norms folded into its convolutions, on batches of 8 in channels-last layout:
    on 2 CPU cores about 75 photos/s against 14 photos/s for batches of 64 in the default layout (measured; a
    small batch stays in the CPU's cache), and folding takes off another fifth.
    Every ``shard_size`` photos become one cache shard (the resume point of a killed run).
    """
    parameter = next(model.visual.trunk.parameters())
    trunk = None  # folded on first use: a run whose photos are all cached never pays for it

    def encode(shard: list[Path]) -> np.ndarray:
        nonlocal trunk
        if trunk is None:
            trunk = fold_batch_norms(model.visual.trunk)
        out = []
        for start in range(0, len(shard), batch_size):
            pixels = torch.stack([preprocess(load_image(p)) for p in shard[start:start + batch_size]])
            pixels = pixels.to(parameter.device, parameter.dtype).contiguous(memory_format=torch.channels_last)
            out.append(trunk(pixels).float().cpu().numpy())
        return np.concatenate(out)

    return EmbeddingCache(IMAGE_TRUNK_KEY).embed([file_key(p) for p in paths], paths, encode, shard_size,
                                                 "image features")


@torch.no_grad()
def tokenize_to_longest(tokenizer, texts: list[str]) -> torch.Tensor:
    """open_clip's tokenizer, padded only to the longest text of ``texts`` (not to the context length).

    The MiniLM tower masks pad tokens (mean pooling over the attention mask), so the result is the same
    as with full padding while a short product title costs a fraction of the compute.
    """
    hf = getattr(tokenizer, "tokenizer", None)
    if hf is None or not hasattr(tokenizer, "clean_fn"):
        return tokenizer(texts)
    limit = tokenizer.context_length
    longest = max(len(hf(tokenizer.clean_fn(t), truncation=True, max_length=limit).input_ids) for t in texts)
    return tokenizer(texts, context_length=min(limit, longest))


@torch.inference_mode()
def text_trunk_features(model, tokenizer, texts: list[str], batch_size: int = 32, shard_size: int = 512) -> np.ndarray:
    """Mean-pooled 384-d MiniLM features of each text (cached by text, shared with the app).

    Each shard is sorted by length and cut into batches padded to their longest text, so short titles
    are not padded to the 96-token context (about 3x faster on the fashion titles, measured).
    """
    def encode(shard: list[str]) -> np.ndarray:
        order = sorted(range(len(shard)), key=lambda i: len(shard[i]))
        out = np.zeros((len(shard), model.text.config.hidden_size), np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            tokens = tokenize_to_longest(tokenizer, [shard[i] for i in rows])
            mask = (tokens != model.text.config.pad_token_id).long()
            hidden = model.text.transformer(input_ids=tokens.to(model.text.transformer.device), attention_mask=mask.to(
                model.text.transformer.device))
            out[rows] = model.text.pooler(hidden, mask.to(model.text.transformer.device)).float().cpu().numpy()
        return out

    return EmbeddingCache(TEXT_TRUNK_KEY).embed([content_key(t) for t in texts], texts, encode, shard_size,
                                                "text features")


@dataclass
class PairSet:
    """Cached trunk features of (image, text) pairs; ``group`` marks pairs that show the same product."""

    image: torch.Tensor  # (N, 1280)
    text: torch.Tensor  # (N, 384)
    group: np.ndarray  # (N,)


def trunk_pairs(model, preprocess, tokenizer, pairs: PhotoPairs) -> PairSet:
    """Cached trunk features of a catalog's (photo, text) pairs."""
    return PairSet(torch.from_numpy(image_trunk_features(model, preprocess, pairs.paths)),
                   torch.from_numpy(text_trunk_features(model, tokenizer, pairs.texts)), pairs.group)


def product_features(model, tokenizer, catalog: str) -> torch.Tensor:
    """Text trunk features of every item of a catalog, in catalog order: what a photo is matched against."""
    return torch.from_numpy(text_trunk_features(model, tokenizer, [item_text(i) for i in open_catalog(catalog)]))


def _batches(pairs: PairSet, batch_size: int, rng: np.random.Generator, distinct_groups: bool) -> list[np.ndarray]:
    order = rng.permutation(len(pairs.group))
    if not distinct_groups:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []  # greedy: put each pair in the first batch without its product
    for index in order:
        group = pairs.group[index]
        for batch in batches:
            if len(batch) < batch_size and all(pairs.group[j] != group for j in batch):
                batch.append(index)
                break
        else:
            batches.append([index])
    return [np.array(b) for b in batches if len(b) > 1]


# -- training ------------------------------------------------------------------------------------------
class ContrastiveHeads(Trainable):
    """The LiT recipe as a :class:`kit.training.Trainable`: open_clip's ``ClipLoss`` between a batch's projected
    image and text features; the two heads and the temperature learn, on cached trunk features.

    ``sets`` pairs each PairSet with whether its batches must hold distinct products. The towers stay in eval
    mode (frozen BatchNorm statistics, no dropout): only the heads switch between train and eval.
    kit/clip/finetune.py's recipe is this one with the top image stages learning too.
    """

    def __init__(self, clip, sets: list[tuple[PairSet, bool]], lr: float, weight_decay: float, total_steps: int) -> None:
        from open_clip.loss import ClipLoss

        super().__init__()
        self.clip, self.sets, self.loss_fn = clip, sets, ClipLoss()
        self.lr, self.weight_decay, self.total_steps = lr, weight_decay, total_steps

    def train(self, mode: bool = True) -> "ContrastiveHeads":
        self.training = mode
        self.clip.visual.head.train(mode)
        self.clip.text.proj.train(mode)
        return self

    def configure_optimizers(self):
        params = list(self.clip.visual.head.parameters()) + list(self.clip.text.proj.parameters()) + [self.clip.logit_scale]
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, self.lr, total_steps=self.total_steps)

    def image_features(self, pairs, index: np.ndarray) -> torch.Tensor:
        """The projected image features of a batch: the image head over the cached trunk features."""
        return self.clip.visual.head(pairs.image[index])

    def loss(self, batch: tuple[PairSet, np.ndarray]) -> torch.Tensor:
        pairs, index = batch
        image, text = self.image_features(pairs, index), self.clip.text.proj(pairs.text[index])
        return self.loss_fn(F.normalize(image, dim=-1), F.normalize(text, dim=-1), self.clip.logit_scale.exp())

    def on_step_end(self) -> None:
        with torch.no_grad():
            self.clip.logit_scale.clamp_(0, 4.6052)  # temperature at most 100, as CLIP does


def lit_history(result: FitResult) -> LitHistory:
    """The per-epoch losses and scores of a fit; without validation every epoch scores its negative loss."""
    scores = [h["valid"] for h in result.history if h["epoch"] >= 0 and "valid" in h] or [-loss for loss in result.losses]
    best = result.best_epoch if result.best_epoch >= 0 or not result.losses else len(result.losses) - 1
    return LitHistory(result.losses, scores, best)


def train_heads(model, train_sets: list[tuple[PairSet, bool]], config: LitConfig,
                val: Callable[[], float] | None = None) -> LitHistory:
    """Train the two projection heads and the temperature on cached trunk features.

    ``train_sets`` pairs each PairSet with whether its batches must hold distinct products. ``val`` is
    called after every epoch (higher is better); the best epoch's weights are kept (without it, the last).
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    steps_per_epoch = sum(max(1, len(s.group) // config.batch_size) for s, _ in train_sets)
    recipe = ContrastiveHeads(model, train_sets, config.lr, config.weight_decay, config.epochs * steps_per_epoch * 2)

    def batches(epoch: int) -> list[tuple[PairSet, np.ndarray]]:
        out = [(s, b) for s, distinct in train_sets
               for b in _batches(s, min(config.batch_size, len(np.unique(s.group))) if distinct else config.batch_size,
                                 rng, distinct)]
        rng.shuffle(out)
        return out

    result = fit(recipe, batches, epochs=config.epochs, validate=val, rngs=(rng,), desc="training shopkit-lit heads")
    return lit_history(result)


@torch.no_grad()
def top_k_accuracy(model, photos: PairSet, products: torch.Tensor, k: int = 1) -> float:
    """Share of photos whose product is among the k best products (products: text trunk features)."""
    image = F.normalize(model.visual.head(photos.image), dim=-1)
    text = F.normalize(model.text.proj(products), dim=-1)
    top = (image @ text.T).topk(k, dim=-1).indices.numpy()
    return float(np.mean([g in row for g, row in zip(photos.group, top)]))


def save_model_folder(model, staging: Path, output: Path, training: dict, pairs: list[PhotoPairs]) -> Path:
    """Write the weights and training.json (with what it trained on) into ``staging``, then put it in ``output``'s
    place: a reader never sees a half-written model folder."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(staging / "open_clip_model.safetensors"))
    training = {**training, "n_pairs": sum(len(p) for p in pairs), "data": [p.about for p in pairs]}
    (staging / "training.json").write_text(json.dumps(training, indent=2))
    if output.exists():
        shutil.rmtree(output)
    staging.rename(output)
    return output


def train_lit(output: Path | None = None, config: LitConfig | None = None,
              registry: ModelRegistry = REGISTRY) -> tuple[Path, LitHistory, dict]:
    """Train shopkit-lit and save it (config, safetensors, metrics, model card) into ``output``.

    Returns (folder, history, metrics). The default folder is the registry's cache for shopkit-lit.
    """
    config = config or LitConfig()
    output = Path(output) if output is not None else registry.get("shopkit-lit").cache_dir
    staging = output.with_name(output.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    torch.manual_seed(config.seed)  # the heads are initialised when the model is built
    model, preprocess, tokenizer = create_untrained(staging, registry)

    pairs = training_pairs(config.catalogs, config.seed, config.max_items)
    sets = [(trunk_pairs(model, preprocess, tokenizer, p), p.distinct) for p in pairs]
    val = None
    if (val_catalog := validation_catalog(config.catalogs)) is not None:
        products = product_features(model, tokenizer, val_catalog)
        val_pairs = trunk_pairs(model, preprocess, tokenizer, query_photos(val_catalog, "val"))
        val = lambda: top_k_accuracy(model, val_pairs, products, 1)  # noqa: E731
    history = train_heads(model, sets, config, val)

    # the key keeps its round-1 name: the validation catalog's shopper photos -> products, top-1
    metrics = {"grocery_val_top1": history.val_top1[history.best_epoch] if val else None,
               "best_epoch": history.best_epoch, "final_loss": history.losses[-1]}
    return save_model_folder(model, staging, output, {"config": asdict(config), "history": asdict(history),
                                                      "metrics": metrics}, pairs), history, metrics
