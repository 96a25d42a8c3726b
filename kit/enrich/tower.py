"""The photo tower tuned on a catalog's own labels, so that the heads read features that know the catalog.

Linear heads on the frozen ImageNet trunk stop at article type 0.84, gender 0.88 and colour 0.64 on fashion
photos (docs/benchmarks.md, issue 34): the features, not the heads, are the limit, as they were for grocery
in kit/clip/finetune.py. Here the top ``unfrozen_stages`` stages of efficientnet-lite0 (and its 1x1
``conv_head``) learn every labelled attribute at once, on the cached activations of the frozen stages below
them (the same cache shopkit-lit-ft's training fills):

    z(x) = pool(conv_head(blocks[s:](a_v(x))))          a_v(x): cached activations of view v of photo x
    L(x) = sum_a CE_0.1(W_a z(x) + b_a, y_a(x))          over the attributes a that x has a label for

Two views per photo (the centre crop and a seeded random resized crop with flip; no colour jitter: colour is
a label), label smoothing 0.1, AdamW with a one-cycle schedule, BatchNorm statistics frozen, and the epoch
with the best mean validation accuracy kept. The linear layers ``W_a`` are then dropped: the kit's own heads
(kit/enrich/heads.py) are fitted on ``z`` like on any features, so calibration and operating points work as
before, and a tower is only ever a better feature reader.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from kit.catalog import Item
from kit.errors import BadInput
from kit.training import Trainable, fit

MIN_LABEL_ITEMS = 5  # a label with fewer training photos is not a class of the tower (as for the heads)


@dataclass
class TowerConfig:
    """Training settings; the defaults are the ones docs/benchmarks.md reports: about 19 minutes on 2 cores for
    fashion's 6,516 training photos (2 of them caching the frozen stages once, then 90 s an epoch). Measured
    on fashion's validation photos: 2 stages for 6 epochs (9 minutes) gave test article type 0.861, colour 0.676,
    gender 0.912; these 3 stages for 10 epochs 0.876, 0.698, 0.923."""

    unfrozen_stages: int = 3  # top MBConv stages that learn (1..7), plus conv_head
    views: int = 2  # the centre crop plus views-1 seeded random resized crops per photo
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    seed: int = 0

    def check(self) -> None:
        from kit.clip.finetune import N_BLOCKS

        if not 1 <= self.unfrozen_stages <= N_BLOCKS or self.views < 1 or self.epochs < 1 or self.batch_size < 2:
            raise BadInput(f"need 1 <= unfrozen_stages <= {N_BLOCKS}, views >= 1, epochs >= 1, batch_size >= 2; "
                           f"got {self.unfrozen_stages}, {self.views}, {self.epochs}, {self.batch_size}")


@dataclass
class PhotoTower:
    """A tuned top of the photo trunk: the weights of its trained stages and what it learned from."""

    state: dict[str, torch.Tensor]  # trunk state-dict entries of the trained stages, conv_head and bn2
    unfrozen_stages: int
    attributes: list[str]
    classes: dict[str, list[str]]
    config: dict
    history: dict = field(default_factory=dict)  # per-epoch loss and validation accuracy, seconds

    @property
    def digest(self) -> str:
        """A content id of the weights (the heads record it, and the feature cache is keyed by it)."""
        sha = hashlib.sha256()
        for name in sorted(self.state):
            sha.update(name.encode())
            sha.update(self.state[name].detach().float().cpu().numpy().tobytes())
        return sha.hexdigest()[:16]

    def trunk(self, model) -> torch.nn.Module:
        """A copy of ``model``'s image trunk with these weights in its top stages (eval mode, channels-last)."""
        trunk = copy.deepcopy(model.visual.trunk)
        missing = set(self.state) - set(trunk.state_dict())
        if missing:
            raise BadInput(f"the photo tower does not fit this trunk (unknown weights: {sorted(missing)[:3]})")
        trunk.load_state_dict(self.state, strict=False)
        return trunk.eval().to(memory_format=torch.channels_last)


def tower_file(digest: str) -> Path:
    """Where a tuned tower lives, by its digest (the heads trained on it find it there)."""
    from kit.config import models_dir

    return models_dir() / "enrich" / "photo-towers" / f"{digest}.pt"


def save_tower(tower: PhotoTower, path: str | Path | None = None) -> Path:
    """Write ``tower`` (atomically) to ``path``, by default :func:`tower_file` of its digest."""
    path = Path(path) if path is not None else tower_file(tower.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(asdict(tower), partial)
    partial.replace(path)
    path.with_suffix(".md").write_text(tower_card(tower), encoding="utf-8")
    return path


def tower_card(tower: PhotoTower) -> str:
    """A model card for a tuned tower (written beside its weights)."""
    history, config = tower.history, tower.config
    scores = ", ".join(f"{a:.3f}" for a in history.get("val_accuracy", []) if a is not None)
    minutes = sum(history.get("seconds", {}).values()) / 60
    return f"""---
base_model: efficientnet-lite0 (ImageNet-1k)
tags: [shopkit, attribute-classification, catalog-enrichment]
---
# Photo tower {tower.digest}

The top {tower.unfrozen_stages} MBConv stages (and the 1x1 conv_head) of efficientnet-lite0, tuned on a catalog's
own labels to read {", ".join(tower.attributes)} from product photos (kit/enrich/tower.py). The kit's attribute heads
(logistic regressions, kit/enrich/heads.py) read its pooled features; they record this tower's id.

- Data: {history.get("train_photos", "?")} training photos, {history.get("val_photos", "?")} validation photos;
  classes: {", ".join(f"{a} {len(c)}" for a, c in tower.classes.items())} (labels with fewer than
  {MIN_LABEL_ITEMS} training photos are left out).
- Training: {config.get("epochs")} epochs, {config.get("views")} views per photo, batch {config.get("batch_size")},
  AdamW lr {config.get("lr")} (one-cycle), label smoothing {config.get("label_smoothing")}, seed {config.get("seed")};
  {minutes:.1f} minutes on this machine (caching the frozen stages included); epoch {history.get("best_epoch")} kept.
- Validation accuracy of its own linear layers, mean over the attributes, per epoch: {scores}.
- Limitations: it knows only the labels above, as the catalog's photographers shot them (centred products on
  white for fashion); the heads' operating points, not this tower, say which labels can be trusted.
"""


def load_tower(path: str | Path) -> PhotoTower:
    try:
        return PhotoTower(**torch.load(Path(path), weights_only=False))
    except (OSError, EOFError, RuntimeError, TypeError, KeyError, ValueError, pickle.UnpicklingError) as error:
        raise BadInput(f"cannot read a photo tower from {path} ({error}); train the heads again with "
                       "python -m kit enrich train --tune-photo-tower") from error


# -- the recipe -----------------------------------------------------------------------------------
class LabelledStages(Trainable):
    """The top stages and one linear layer per attribute, trained by the sum of the attributes' cross-entropies
    over cached activations (views, N, C, H, W); a label of -1 (none, or too rare) does not count."""

    def __init__(self, trunk, acts: torch.Tensor, labels: torch.Tensor, n_classes: list[int], config: TowerConfig,
                 total_steps: int, rng: np.random.Generator) -> None:
        from kit.clip.finetune import N_BLOCKS

        super().__init__()
        self.trunk, self.acts, self.labels, self.config, self.rng = trunk, acts, labels, config, rng
        self.train_from, self.total_steps = N_BLOCKS - config.unfrozen_stages, total_steps
        width = trunk.num_features
        self.heads = torch.nn.ModuleList(torch.nn.Linear(width, n) for n in n_classes)

    def train(self, mode: bool = True) -> "LabelledStages":
        self.training = mode  # the trunk stays in eval mode: frozen BatchNorm statistics, as in kit/clip/finetune.py
        self.heads.train(mode)
        return self

    def configure_optimizers(self):
        from kit.clip.finetune import trainable_trunk_parameters

        trunk = trainable_trunk_parameters(self.trunk, self.config.unfrozen_stages)
        optimizer = torch.optim.AdamW([{"params": trunk}, {"params": list(self.heads.parameters())}],
                                      lr=self.config.lr, weight_decay=self.config.weight_decay)
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, self.config.lr, total_steps=self.total_steps,
                                                              pct_start=0.1)

    def features(self, acts: torch.Tensor) -> torch.Tensor:
        from kit.clip.finetune import upper_forward

        return upper_forward(self.trunk, self.train_from, acts.float().contiguous(memory_format=torch.channels_last))

    def loss(self, index: np.ndarray) -> torch.Tensor:
        views = torch.from_numpy(self.rng.integers(0, self.acts.shape[0], len(index)))
        z = self.features(self.acts[views, torch.from_numpy(index)])
        labels = self.labels[torch.from_numpy(index)]
        losses = [F.cross_entropy(head(z), labels[:, a], ignore_index=-1, label_smoothing=self.config.label_smoothing)
                  for a, head in enumerate(self.heads) if (labels[:, a] >= 0).any()]
        return torch.stack(losses).sum()

    @torch.no_grad()
    def accuracy(self, acts: torch.Tensor, labels: torch.Tensor) -> float:
        """Mean over attributes of top-1 on view 0 of ``acts`` (labelled rows only)."""
        z = torch.cat([self.features(chunk) for chunk in acts[0].split(256)])
        scores = []
        for a, head in enumerate(self.heads):
            known = labels[:, a] >= 0
            if known.any():
                scores.append(float((head(z[known]).argmax(1) == labels[known, a]).float().mean()))
        return float(np.mean(scores))


def _encode_labels(items: Sequence[Item], attributes: Sequence[str], classes: dict[str, list[str]]) -> torch.Tensor:
    out = torch.full((len(items), len(attributes)), -1, dtype=torch.long)
    for a, name in enumerate(attributes):
        index = {c: i for i, c in enumerate(classes[name])}
        for row, item in enumerate(items):
            out[row, a] = index.get(str(item.attributes.get(name, "")), -1)
    return out


def tune_photo_tower(items: Sequence[Item], val_items: Sequence[Item], attributes: Sequence[str],
                     config: TowerConfig | None = None, towers=None, checkpoint: Path | None = None) -> PhotoTower:
    """Train the top of the photo trunk on ``items``' labels, keeping the epoch best on ``val_items``.

    The frozen stages' activations are computed once per photo and view and cached by file content
    (kit/clip/finetune.py), so a second run, or a run killed and started again, pays only for training;
    with ``checkpoint`` the training itself resumes from its last finished epoch.
    """
    from kit.clip.finetune import N_BLOCKS, stage_activations, trainable_trunk_parameters
    from kit.enrich.features import load_towers

    config = config or TowerConfig()
    config.check()
    items, val_items = [i for i in items if i.image], [i for i in val_items if i.image]
    if len(items) < 20 or not val_items:
        raise BadInput(f"tuning a photo tower needs at least 20 training photos and some validation photos; "
                       f"got {len(items)} and {len(val_items)}")
    classes = {}
    for name in attributes:
        counts: dict[str, int] = {}
        for item in items:
            value = item.attributes.get(name)
            if value not in (None, ""):
                counts[str(value)] = counts.get(str(value), 0) + 1
        classes[name] = sorted(v for v, n in counts.items() if n >= MIN_LABEL_ITEMS)
        if len(classes[name]) < 2:
            raise BadInput(f"{name!r} has fewer than two labels with {MIN_LABEL_ITEMS}+ training photos: "
                           "too few labels to tune a photo tower on")
    towers = towers or load_towers()
    model, preprocess = towers.model, towers.preprocess
    split = N_BLOCKS - config.unfrozen_stages
    started = time.perf_counter()
    acts = stage_activations(model, preprocess, [i.image for i in items], split, config.views)
    val_acts = stage_activations(model, preprocess, [i.image for i in val_items], split, 1)
    caching = time.perf_counter() - started

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    trunk = copy.deepcopy(model.visual.trunk).eval().to(memory_format=torch.channels_last)
    trained = trainable_trunk_parameters(trunk, config.unfrozen_stages)
    for parameter in trunk.parameters():
        parameter.requires_grad = False
    for parameter in trained:
        parameter.requires_grad = True
    labels, val_labels = _encode_labels(items, attributes, classes), _encode_labels(val_items, attributes, classes)

    def batches(epoch: int = 0) -> list[np.ndarray]:
        order = rng.permutation(len(items))
        return [b for b in np.array_split(order, max(1, len(items) // config.batch_size)) if len(b) > 1]

    steps = config.epochs * len(np.array_split(np.arange(len(items)), max(1, len(items) // config.batch_size)))
    recipe = LabelledStages(trunk, acts, labels, [len(classes[a]) for a in attributes], config, steps, rng)
    result = fit(recipe, batches, epochs=config.epochs, validate=lambda: recipe.accuracy(val_acts, val_labels),
                 checkpoint=checkpoint, rngs=(rng,), meta=asdict(config), valid_name="val_accuracy",
                 desc="tuning the photo tower")
    state = {k: v.detach().clone() for k, v in trunk.state_dict().items()
             if k.split(".")[0] in ("conv_head", "bn2") or (k.startswith("blocks.") and int(k.split(".")[1]) >= split)}
    return PhotoTower(state, config.unfrozen_stages, list(attributes), classes, asdict(config),
                      {"losses": result.losses, "val_accuracy": [h.get("val_accuracy") for h in result.history],
                       "best_epoch": result.best_epoch, "seconds": {"caching": caching, "training": result.seconds},
                       "train_photos": len(items), "val_photos": len(val_items)})


@torch.inference_mode()
def tower_features(tower: PhotoTower, model, preprocess, paths: Sequence[Path], shard_size: int = 512) -> np.ndarray:
    """Pooled features of the tuned trunk for each photo (view 0), cached by (tower, file content)."""
    from kit.clip.cache import EmbeddingCache, file_key
    from kit.clip.finetune import N_BLOCKS, stage_activations, upper_forward

    split = N_BLOCKS - tower.unfrozen_stages
    trunk = None

    def encode(batch: list[Path]) -> np.ndarray:
        nonlocal trunk
        trunk = trunk if trunk is not None else tower.trunk(model)
        acts = stage_activations(model, preprocess, list(batch), split, 1)[0]
        return torch.cat([upper_forward(trunk, split, chunk.float().contiguous(memory_format=torch.channels_last))
                          for chunk in acts.split(128)]).numpy()

    paths = list(paths)
    return EmbeddingCache(f"enrich-photo-tower/{tower.digest}").embed([file_key(p) for p in paths], paths, encode,
                                                                       shard_size, "tuned photo features")
