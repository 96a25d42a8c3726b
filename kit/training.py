"""One training protocol for every model the kit trains: a model says what to optimise, :func:`fit` does the rest.

A model is a :class:`Trainable` (a ``torch.nn.Module``) that brings, like nanoGPT's ``configure_optimizers``
and Lightning's ``training_step``:

- ``configure_optimizers()``: an optimizer, or ``(optimizer, scheduler)``; the scheduler steps after every
  optimizer step;
- ``loss(batch)``: a scalar tensor for one batch;
- optional hooks, no-ops by default: ``on_epoch_start(epoch)`` (e.g. draw this epoch's graph dropout),
  ``on_step_end()`` (e.g. clamp a temperature), ``on_epoch_end(epoch)`` (e.g. restart dead codewords),
  ``epoch_stats()`` (numbers for the progress bar, such as tokens/s; never part of the history).

:func:`fit` owns everything else: the epochs; validation every ``eval_every`` epochs in eval mode, with early
stopping after ``patience`` evaluations without a better score; an optional time budget (``max_seconds``, which a
resumed run can raise); the best weights kept; a progress bar and a log line per epoch; and, given a ``checkpoint`` path, an atomic checkpoint after every epoch (weights,
optimizer, scheduler, the loop's state, torch's RNG and the ``rngs`` the batches draw from), so a run killed
at any moment resumes from its last finished epoch and ends exactly where an uninterrupted run ends.
The loop never asks a model what it is.

    >>> result = fit(model, batches, epochs=40, validate=valid_recall, patience=4, checkpoint=path, rngs=(generator,))
    >>> result.best_epoch, result.history[-1]        # {"epoch": 39, "loss": 0.31, "valid": 0.094}
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kit.errors import BadInput

log = logging.getLogger(__name__)
RNG = torch.Generator | np.random.Generator


class Trainable(torch.nn.Module):
    """A model :func:`fit` can train: it brings its optimizer and its loss; the hooks are optional."""

    def configure_optimizers(self) -> torch.optim.Optimizer | tuple[torch.optim.Optimizer, Any]:
        raise NotImplementedError(f"{type(self).__name__} must say how it is optimised (configure_optimizers)")

    def loss(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define its loss(batch)")

    def on_epoch_start(self, epoch: int) -> None:
        """Called in train mode before the epoch's first batch."""

    def on_step_end(self) -> None:
        """Called after every optimizer (and scheduler) step."""

    def on_epoch_end(self, epoch: int) -> None:
        """Called after the epoch's last step, before validation."""

    def epoch_stats(self) -> dict[str, float]:
        """Numbers about the epoch just run for the progress bar and the log (throughput, say); not the history."""
        return {}


@dataclass
class FitResult:
    best_epoch: int  # -1: no epoch beat the weights as they were (validate_first), or no validation at all
    best_valid: float
    epochs_run: int
    seconds: float
    history: list[dict] = field(default_factory=list)  # per epoch: {"epoch", "loss", and the score when validated}
    step_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # training seconds when each epoch ended (a curve's x)

    @property
    def losses(self) -> list[float]:
        """The mean training loss of every epoch run."""
        return [entry["loss"] for entry in self.history if entry["epoch"] >= 0]


def _rng_state(rng: RNG) -> Any:
    return rng.get_state() if isinstance(rng, torch.Generator) else rng.bit_generator.state


def _set_rng_state(rng: RNG, state: Any) -> None:
    if isinstance(rng, torch.Generator):
        rng.set_state(state)
    else:
        rng.bit_generator.state = state


def _save(checkpoint: Path, model: Trainable, optimizer, scheduler, state: dict, rngs: Sequence[RNG], meta: dict) -> None:
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    torch.save({"weights": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None, "state": state,
                "torch_rng": torch.get_rng_state(), "rngs": [_rng_state(r) for r in rngs], "meta": meta}, tmp)
    tmp.replace(checkpoint)


def _step(scheduler: Any) -> None:
    """Step the learning-rate schedule; one of fixed length (one-cycle's ``total_steps``) holds its last rate
    once it has run out instead of raising, so a schedule sized from an estimate cannot stop a run."""
    if scheduler.last_epoch < getattr(scheduler, "total_steps", math.inf) - 1:
        scheduler.step()


def read_checkpoint_meta(checkpoint: Path) -> dict | None:
    """What the caller stored with a checkpoint (its settings), or None when there is none."""
    if not Path(checkpoint).is_file():
        return None
    return torch.load(checkpoint, weights_only=False, map_location="cpu").get("meta", {})


def read_checkpoint_state(checkpoint: Path) -> dict | None:
    """The loop's state in a checkpoint (``epoch``: epochs finished, ``seconds``: training seconds so far, ...),
    or None when there is none."""
    if not Path(checkpoint).is_file():
        return None
    return torch.load(checkpoint, weights_only=False, map_location="cpu")["state"]


def fit(model: Trainable, batches: Callable[[int], Iterable], *, epochs: int,
        validate: Callable[[], float] | None = None, eval_every: int = 1, patience: int | None = None,
        validate_first: bool = False, keep_best: bool = True, max_grad_norm: float | None = None,
        checkpoint: Path | None = None, rngs: Sequence[RNG] = (), meta: dict | None = None,
        valid_name: str = "valid", desc: str = "training", progress: bool = True,
        max_seconds: float | None = None) -> FitResult:
    """Train ``model`` for ``epochs`` epochs of ``batches(epoch)``; returns a :class:`FitResult`.

    ``validate()`` returns a score to maximise, computed in eval mode every ``eval_every`` epochs and after the
    last; ``patience`` evaluations in a row without a better score stop the run. ``validate_first`` scores the
    weights as they are before training (epoch -1), so training must beat them. With ``keep_best`` the best
    weights are restored at the end, else the last. ``rngs`` are the generators ``batches`` (or the loss)
    draw from: they are checkpointed with torch's own RNG, so a resumed run draws exactly what an
    uninterrupted one would. ``meta`` (the caller's settings) is stored with the checkpoint
    (:func:`read_checkpoint_meta`); ``valid_name`` names the score in the history. ``max_seconds``: no epoch starts
    once this many training seconds (counted across resumed runs) have passed, so a run fits a time budget and a
    later run with a larger budget continues it from its checkpoint.
    """
    if epochs < 0 or eval_every < 1 or (patience is not None and patience < 1):
        raise BadInput(f"need epochs >= 0, eval_every >= 1 and patience >= 1 or None; got {epochs}, {eval_every}, {patience}")
    configured = model.configure_optimizers()
    optimizer, scheduler = configured if isinstance(configured, tuple) else (configured, None)
    state: dict[str, Any] = {"epoch": 0, "best": -math.inf, "best_epoch": -1, "best_weights": None, "bad_evals": 0,
                             "history": [], "step_losses": [], "seconds": 0.0, "epoch_seconds": []}
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(saved["weights"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved["scheduler"] is not None:
            scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        torch.set_rng_state(saved["torch_rng"])
        for rng, rng_state in zip(rngs, saved["rngs"]):
            _set_rng_state(rng, rng_state)
        log.info("%s: resuming after epoch %d of %d", desc, state["epoch"], epochs)
    elif validate_first and validate is not None:
        model.eval()
        score = validate()
        state.update(best=score, best_weights=copy.deepcopy(model.state_dict()) if keep_best else None)
        state["history"].append({"epoch": -1, valid_name: score})

    def stopped() -> bool:
        return patience is not None and state["bad_evals"] >= patience

    def out_of_time() -> bool:
        return max_seconds is not None and state["seconds"] >= max_seconds

    bar = tqdm(total=epochs if max_seconds is None else None,  # under a time budget the epoch count says nothing
               initial=min(state["epoch"], epochs), desc=desc, unit="epoch", disable=not progress)
    while state["epoch"] < epochs and not stopped() and not out_of_time():
        epoch, started = state["epoch"], time.perf_counter()
        model.train()
        model.on_epoch_start(epoch)
        losses = []
        for batch in batches(epoch):
            loss = model.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            if scheduler is not None:
                _step(scheduler)
            model.on_step_end()
            losses.append(loss.item())
        model.on_epoch_end(epoch)
        entry = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else float("nan")}
        if validate is not None and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            model.eval()
            entry[valid_name] = score = validate()
            if score > state["best"]:
                state.update(best=score, best_epoch=epoch, bad_evals=0)
                if keep_best:
                    state["best_weights"] = copy.deepcopy(model.state_dict())
            else:
                state["bad_evals"] += 1
        state["history"].append(entry)
        state["step_losses"] += losses
        state["epoch"] += 1
        state["seconds"] += time.perf_counter() - started
        state.setdefault("epoch_seconds", []).append(round(state["seconds"], 2))
        stats = model.epoch_stats()
        bar.update(1)
        bar.set_postfix({**{k: f"{v:.4f}" for k, v in entry.items() if k != "epoch"}, **{k: f"{v:.0f}" for k, v in stats.items()}})
        log.debug("%s: %s %s", desc, entry, stats)
        if checkpoint is not None:
            _save(Path(checkpoint), model, optimizer, scheduler, state, rngs, meta or {})
    bar.close()
    if out_of_time() and state["epoch"] < epochs and not stopped():
        log.info("%s: time budget of %.0f s used after epoch %d", desc, max_seconds, state["epoch"] - 1)
    if stopped():
        log.info("%s: early stop after epoch %d (best epoch %d, %s %.4f)", desc, state["epoch"] - 1,
                 state["best_epoch"], valid_name, state["best"])
    if keep_best and state["best_weights"] is not None:
        model.load_state_dict(state["best_weights"])
    model.eval()
    return FitResult(state["best_epoch"], state["best"], state["epoch"], state["seconds"], state["history"],
                     state["step_losses"], state.get("epoch_seconds", []))
