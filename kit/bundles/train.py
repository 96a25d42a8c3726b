"""Training bundle recommenders with BPR, early stopping on the tune split, checkpoints in the cache.

Every trainable model is a :class:`kit.training.Trainable` trained by :func:`kit.training.fit`: this module
gives it the batches (one negative bundle per train interaction, uniform over the bundles the user has
not taken in train) and the score (Recall@20 on tune every ``eval_every`` epochs; the best weights kept,
a stop after ``patience`` evaluations without improvement). Non-trainable baselines are simply built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import HeteroData

from kit.bundles.data import UB, BPRBatch
from kit.bundles.models import MODELS
from kit.bundles.protocol import evaluate_ranking
from kit.config import models_dir
from kit.errors import KitError
from kit.training import Trainable, fit



@dataclass
class BundleTrainConfig:
    """Defaults are CrossCBR's published Youshu settings (batch 2048, lr 1e-3, L2 1e-4, 100 epochs)."""

    model: str = "crosscbr"
    epochs: int = 100
    batch_size: int = 2048
    lr: float = 1e-3
    l2: float = 1e-4
    eval_every: int = 5
    patience: int = 4
    seed: int = 0
    model_args: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    model: object
    config: BundleTrainConfig
    history: list[dict] = field(default_factory=list)  # {"epoch", "loss", "tune_recall@20"}
    best_epoch: int = 0
    seconds: float = 0.0
    seconds_per_epoch: float = 0.0


def build_model(name: str, data: HeteroData, **kwargs):
    if name not in MODELS:
        raise KitError(f"unknown bundle model {name!r}; models: {', '.join(MODELS)}")
    return MODELS[name](data, **kwargs)


def sample_negatives(users: torch.Tensor, num_bundles: int, taken: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One bundle per user that the user has not taken in train (``taken``: sorted user*B+bundle codes)."""
    negatives = torch.randint(num_bundles, users.shape, generator=generator)
    for _ in range(10):  # resample collisions; after a few rounds practically none remain
        codes = users * num_bundles + negatives
        position = torch.searchsorted(taken, codes).clamp(max=len(taken) - 1)
        clash = taken[position] == codes
        if not clash.any():
            break
        negatives[clash] = torch.randint(num_bundles, (int(clash.sum()),), generator=generator)
    return negatives


def train_bundle_model(data: HeteroData, config: BundleTrainConfig | None = None, progress: bool = True) -> TrainResult:
    config = config or BundleTrainConfig()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config.model, data, l2=config.l2, lr=config.lr, **config.model_args)
    if not isinstance(model, Trainable):  # a baseline: built, nothing to learn
        return TrainResult(model, config)

    users, bundles = data[UB].edge_index
    num_bundles = data["bundle"].num_nodes
    taken = (users * num_bundles + bundles).unique()

    def batches(epoch: int) -> Iterator[BPRBatch]:
        """The train interactions in a new order, each with a fresh negative bundle (drawn as the batch is used)."""
        for chunk in torch.randperm(len(users), generator=generator).split(config.batch_size):
            u = users[chunk]
            yield BPRBatch(u, bundles[chunk], sample_negatives(u, num_bundles, taken, generator))

    def tune_recall() -> float:
        return evaluate_ranking(model.score, data, "tune", ks=(20,))["recall@20"]

    result = fit(model, batches, epochs=config.epochs, validate=tune_recall, eval_every=config.eval_every,
                 patience=config.patience, rngs=(generator,), valid_name="tune_recall@20",
                 desc=f"training {config.model}", progress=progress)
    return TrainResult(model, config, result.history, max(result.best_epoch, 0), result.seconds,
                       result.seconds / max(len(result.history), 1))


def checkpoint_path(dataset: str, model: str, seed: int) -> Path:
    return models_dir() / "bundles" / f"{dataset}-{model}-seed{seed}.pt"


def save_checkpoint(result: TrainResult, dataset: str, metrics: dict) -> Path:
    path = checkpoint_path(dataset, result.config.model, result.config.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = result.model.state_dict() if isinstance(result.model, torch.nn.Module) else {}
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": state, "config": asdict(result.config), "metrics": metrics, "history": result.history,
                "best_epoch": result.best_epoch, "seconds": result.seconds}, tmp)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps({"config": asdict(result.config), "metrics": metrics,
                                                     "best_epoch": result.best_epoch, "seconds": result.seconds}, indent=2))
    return path


def load_checkpoint(data: HeteroData, dataset: str, model: str, seed: int = 0):
    """(model with its trained weights, saved metrics), or KitError when there is no checkpoint."""
    path = checkpoint_path(dataset, model, seed)
    if not path.is_file():
        raise KitError(f"no trained {model} for {dataset} (seed {seed}) at {path}; run "
                       f"`python -m kit bundles train --dataset {dataset} --model {model}`")
    saved = torch.load(path, weights_only=False)
    config = BundleTrainConfig(**saved["config"])
    instance = build_model(model, data, l2=config.l2, lr=config.lr, **config.model_args)
    if isinstance(instance, torch.nn.Module):
        instance.load_state_dict(saved["state_dict"])
        instance.eval()
    return instance, saved["metrics"]
