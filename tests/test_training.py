"""kit.training.fit: the one loop every model trains with (epochs, early stopping, exact resume, hooks)."""

import numpy as np
import pytest
import torch

from kit.errors import BadInput
from kit.training import Trainable, fit, read_checkpoint_meta


class NoisyRegression(Trainable):
    """y = x·w with dropout (torch's RNG), a one-cycle schedule, and hooks that count their calls."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(8, 1)
        self.dropout = torch.nn.Dropout(0.2)
        self.calls = {"epoch_start": 0, "step_end": 0, "epoch_end": 0}

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=100, cycle_momentum=False)

    def loss(self, batch):
        x, y = batch
        return ((self.linear(self.dropout(x)).squeeze(-1) - y) ** 2).mean()

    def on_epoch_start(self, epoch):
        self.calls["epoch_start"] += 1

    def on_step_end(self):
        self.calls["step_end"] += 1

    def on_epoch_end(self, epoch):
        self.calls["epoch_end"] += 1


def data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    return x, x @ torch.arange(8.0) + 0.1 * torch.randn(n, generator=g)


def run(epochs, checkpoint=None, validate=None, **kwargs):
    """A fresh model and fresh generators (as a new process would make them), trained with ``fit``."""
    torch.manual_seed(0)
    model, (x, y) = NoisyRegression(), data()
    generator, rng = torch.Generator().manual_seed(1), np.random.default_rng(2)

    def batches(epoch):
        order = torch.randperm(len(x), generator=generator)[rng.permutation(len(x))]  # both RNGs shape the order
        return [(x[order[i:i + 16]], y[order[i:i + 16]]) for i in range(0, len(x), 16)]

    valid = validate or (lambda: -model.loss((x, y)).item())
    return model, fit(model, batches, epochs=epochs, validate=valid, checkpoint=checkpoint, rngs=(generator, rng),
                      meta={"run": "test"}, progress=False, **kwargs)


def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_ends(tmp_path):
    whole, whole_result = run(8)
    checkpoint = tmp_path / "run.ckpt"
    run(3, checkpoint)  # killed after epoch 3, then started again with the full budget
    resumed, resumed_result = run(8, checkpoint)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    assert resumed_result.history == whole_result.history and resumed_result.step_losses == whole_result.step_losses
    assert resumed.calls["epoch_start"] == 5  # only the epochs it had left
    assert read_checkpoint_meta(checkpoint) == {"run": "test"} and read_checkpoint_meta(tmp_path / "none") is None


def test_without_a_checkpoint_every_hook_runs_and_the_loss_falls():
    model, result = run(6)
    assert model.calls == {"epoch_start": 6, "step_end": 24, "epoch_end": 6}  # 64 rows in batches of 16
    assert result.losses[-1] < result.losses[0] / 2 and len(result.step_losses) == 24
    assert not model.training  # handed back in eval mode


def test_early_stopping_counts_evaluations_and_keeps_the_best_weights():
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.9, 1.0])
    best = {}

    def validate():
        score = next(scores)
        if score == 0.5:
            best.update({k: v.clone() for k, v in model_ref[0].state_dict().items()})
        return score

    model_ref = []
    torch.manual_seed(0)
    model_ref.append(NoisyRegression())
    x, y = data()
    result = fit(model_ref[0], lambda epoch: [(x, y)], epochs=10, validate=validate, patience=3, progress=False)
    assert result.epochs_run == 5 and result.best_epoch == 1 and result.best_valid == 0.5  # 0.4, 0.3, 0.2: stop
    assert all(torch.equal(best[k], v) for k, v in model_ref[0].state_dict().items())


def test_validate_first_keeps_the_incoming_weights_when_training_never_beats_them():
    torch.manual_seed(0)
    model, (x, y) = NoisyRegression(), data()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scores = iter([1.0, 0.2, 0.3])
    result = fit(model, lambda epoch: [(x, y)], epochs=2, validate=lambda: next(scores), validate_first=True,
                 progress=False)
    assert result.best_epoch == -1 and result.history[0] == {"epoch": -1, "valid": 1.0}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_evaluation_every_n_epochs_and_after_the_last():
    _, result = run(7, eval_every=3)
    assert [h["epoch"] for h in result.history if "valid" in h] == [2, 5, 6]


@pytest.mark.parametrize("bad", [dict(epochs=-1), dict(epochs=2, eval_every=0), dict(epochs=2, patience=0)])
def test_nonsense_settings_are_refused(bad):
    with pytest.raises(BadInput):
        fit(NoisyRegression(), lambda epoch: [], progress=False, **bad)


def test_a_one_cycle_schedule_that_runs_out_holds_its_last_rate():
    """shopkit-lit sizes its schedule from an estimate of the batches; running past it must not stop the run."""

    class ShortSchedule(NoisyRegression):
        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
            return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=5, cycle_momentum=False)

    model, (x, y) = ShortSchedule(), data()
    result = fit(model, lambda epoch: [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)], epochs=3, progress=False)
    assert len(result.step_losses) == 12 and model.calls["step_end"] == 12
