"""clr_torch.CollapseGuardCallback: the collapse guard as a Lightning callback.

Lightning is imported unconditionally: where it is missing the module fails to collect
instead of skipping.
"""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import clr_core
import clr_torch

REPEATS = 10  # optimizer steps an epoch: the whole data set as one batch, ten times


def _problem() -> tuple[torch.Tensor, torch.Tensor, float]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(128, 1, generator=g)
    lam = float(torch.linalg.eigvalsh(2.0 * x.T @ x / len(x)).max())
    return x, y, lam


X, Y, LAM = _problem()


class Regression(pl.LightningModule):
    """Least squares; three epochs at 0.5 / lam, then ``high / lam``."""

    def __init__(self, high: float, returns: str = "loss") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(8, 1, bias=False)
        self.high = high
        self.returns = returns
        self.epoch_losses: list[float] = []
        self._sum = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self.net(x), y)
        self._sum += float(loss.detach())
        return None if self.returns == "none" else {"loss": loss}

    def on_train_epoch_end(self) -> None:
        self.epoch_losses.append(self._sum / REPEATS)
        self._sum = 0.0

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        plan = clr_core.Join(
            (clr_core.Constant(0.5 / LAM), clr_core.Constant(self.high / LAM)), (3 * REPEATS,)
        )
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": clr_torch.ScheduleLR(opt, plan), "interval": "step"},
        }

    def train_dataloader(self):
        data = TensorDataset(X.repeat(REPEATS, 1), Y.repeat(REPEATS, 1))
        return DataLoader(data, batch_size=len(X), shuffle=False)


def _fit(module, epochs, callbacks=(), ckpt_path=None, **kwargs):
    trainer = pl.Trainer(
        max_epochs=epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=kwargs.pop("enable_checkpointing", False),
        accelerator="cpu",
        **kwargs,
    )
    trainer.fit(module, ckpt_path=ckpt_path)
    return trainer


def test_a_fit_it_never_fires_on_is_the_unguarded_fit():
    plain = Regression(1.5)
    _fit(plain, 8)
    guarded = Regression(1.5)
    callback = clr_torch.CollapseGuardCallback()
    _fit(guarded, 8, [callback])
    assert callback.guard is not None
    assert callback.guard.fired == ()
    assert plain.epoch_losses == guarded.epoch_losses
    assert torch.equal(plain.net.weight, guarded.net.weight)


def test_it_rescues_a_fit_that_collapses():
    plain = Regression(3.0)
    _fit(plain, 12)
    guarded = Regression(3.0)
    callback = clr_torch.CollapseGuardCallback()
    _fit(guarded, 12, [callback])
    assert not (plain.epoch_losses[-1] < plain.epoch_losses[0])  # diverged, or not finite
    assert callback.guard is not None
    assert callback.guard.fired
    assert callback.guard.scale == 0.5
    assert guarded.epoch_losses[-1] < 0.05 * guarded.epoch_losses[0]


def test_its_state_goes_through_a_checkpoint_and_a_resume_ends_where_a_whole_fit_does(tmp_path):
    whole = Regression(3.0)
    w = clr_torch.CollapseGuardCallback()
    _fit(whole, 12, [w])
    assert w.guard is not None
    split = w.guard.fired[0] + 2
    first = Regression(3.0)
    f = clr_torch.CollapseGuardCallback()
    trainer = _fit(first, split, [f])
    path = str(tmp_path / "run.ckpt")
    trainer.save_checkpoint(path)
    resumed = Regression(3.0)
    r = clr_torch.CollapseGuardCallback()
    _fit(resumed, 12, [r], ckpt_path=path)
    assert r.guard is not None
    assert r.guard.fired == w.guard.fired
    assert r.guard.scale == w.guard.scale
    assert torch.allclose(resumed.net.weight, whole.net.weight, rtol=1e-6, atol=1e-8)


def test_a_step_that_returns_no_loss_is_refused_at_the_epochs_end():
    with pytest.raises(ValueError, match="return it from training_step"):
        _fit(Regression(1.5, returns="none"), 1, [clr_torch.CollapseGuardCallback()])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"lost": 0.0}, "lost"), ({"rise": -1.0}, "rise"), ({"offload": 1}, "offload"),
     ({"patience": 2}, "patience")],
)  # fmt: skip
def test_bad_arguments_are_refused_at_construction_naming_them(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        clr_torch.CollapseGuardCallback(**kwargs)


def test_a_tampered_checkpoint_state_is_refused():
    callback = clr_torch.CollapseGuardCallback()
    for bad, name in (([], "state_dict"), ({"guard": 3}, "guard"),
                      ({"guard": {"guard": {"format": "x"}}}, "state")):  # fmt: skip
        with pytest.raises((ValueError, TypeError), match=name):
            callback.load_state_dict(bad)
    assert callback.state_dict() == {"guard": None}


class Unscheduled(pl.LightningModule):
    """Least squares with no schedule: the finder supplies it. Its hooks also run during the
    finder's sweep, so it records only the fit's epochs (``finder.sweeping`` false)."""

    def __init__(self, finder: clr_torch.LearningRateFinder) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(8, 1, bias=False)
        self.finder = finder
        self.epoch_losses: list[float] = []
        self._sum = 0.0

    def training_step(self, batch, batch_idx):
        loss = F.mse_loss(self.net(batch[0]), batch[1])
        self._sum += float(loss.detach())
        return loss

    def on_train_epoch_start(self) -> None:
        self._sum = 0.0

    def on_train_epoch_end(self) -> None:
        if not self.finder.sweeping:
            self.epoch_losses.append(self._sum / REPEATS)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)

    def train_dataloader(self):
        data = TensorDataset(X.repeat(REPEATS, 1), Y.repeat(REPEATS, 1))
        return DataLoader(data, batch_size=len(X), shuffle=False)


@pytest.mark.parametrize("guard_first", [True, False])
def test_the_recipe_finder_and_guard_in_one_trainer_is_the_finder_s_fit(guard_first):
    """The recommended recipe in Lightning: the finder installs the plan, the guard watches
    it. The guard (whichever callback comes first) hooks the optimizer the fit trains, is fed
    the fit's epochs and none of the sweep's, and a fit it never fires on is the finder's fit
    without it."""
    pl.seed_everything(0, verbose=False)
    finder = clr_torch.LearningRateFinder(num_training_steps=60)
    alone = Unscheduled(finder)
    _fit(alone, 6, [finder])
    pl.seed_everything(0, verbose=False)
    second = clr_torch.LearningRateFinder(num_training_steps=60)
    guard, both = clr_torch.CollapseGuardCallback(), Unscheduled(second)
    trainer = _fit(both, 6, [guard, second] if guard_first else [second, guard])
    assert guard.guard is not None
    assert guard.guard.fired == ()
    assert guard.guard.decision.epochs == 6  # fed the fit's epochs, not the sweep
    assert len(alone.epoch_losses) == 6
    assert guard.guard.decision.first == pytest.approx(alone.epoch_losses[0])
    assert guard.guard.optimizer is trainer.optimizers[0]
    assert second.result is not None
    assert finder.result is not None
    assert second.result.lrs == finder.result.lrs
    assert both.epoch_losses == alone.epoch_losses
    assert both.epoch_losses[-1] < both.epoch_losses[0]
    assert torch.equal(both.net.weight, alone.net.weight)
