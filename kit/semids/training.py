"""One training loop for every sequence model here: epochs, early stopping on valid Recall@10, resumable checkpoints.

A model brings ``loss(batch)`` and ``configure_optimizers()``; the loop knows nothing else about
it. After every epoch the whole state (weights, optimizer, epoch, best score, best weights) is
written to a temporary file and renamed over the checkpoint, so a run killed at any moment resumes
from its last finished epoch and gives the same result as an uninterrupted one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm


@dataclass
class FitResult:
    best_epoch: int
    best_valid: float
    epochs_run: int
    seconds: float
    history: list[dict] = field(default_factory=list)


def fit(model: torch.nn.Module, batches: Callable[[int], list], validate: Callable[[], float], *, epochs: int,
        patience: int, checkpoint: Path | None = None, desc: str = "training", progress: bool = True) -> FitResult:
    """Train until ``epochs`` or ``patience`` epochs without a better ``validate()``; keeps the best weights.

    ``batches(epoch)`` returns that epoch's batches (seeded by the epoch, so a resumed run sees the
    same ones); ``validate()`` returns the score to maximise (valid Recall@10).
    """
    optimizer = model.configure_optimizers()
    state = {"epoch": 0, "best": -1.0, "best_epoch": -1, "best_weights": None, "history": [], "seconds": 0.0}
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(saved["weights"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        torch.set_rng_state(saved["rng"])  # dropout and shuffles continue as if never stopped
    bar = tqdm(total=epochs, initial=state["epoch"], desc=desc, disable=not progress)
    while state["epoch"] < epochs and state["epoch"] - state["best_epoch"] <= patience:
        started = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch in batches(state["epoch"]):
            loss = model.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item(), count + 1
        score = validate()
        if score > state["best"]:
            state.update(best=score, best_epoch=state["epoch"], best_weights=copy.deepcopy(model.state_dict()))
        state["seconds"] += time.perf_counter() - started
        state["history"].append({"epoch": state["epoch"], "loss": total / max(count, 1), "valid_recall@10": score})
        state["epoch"] += 1
        bar.update(1)
        bar.set_postfix(loss=f"{total / max(count, 1):.3f}", valid=f"{score:.4f}", best=f"{state['best']:.4f}")
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"weights": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                        "rng": torch.get_rng_state()}, tmp)
            tmp.replace(checkpoint)
    bar.close()
    if state["best_weights"] is not None:
        model.load_state_dict(state["best_weights"])
    model.eval()
    return FitResult(state["best_epoch"], state["best"], state["epoch"], state["seconds"], state["history"])
