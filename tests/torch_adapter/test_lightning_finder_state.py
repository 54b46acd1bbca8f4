"""LearningRateFinder's checkpoint state is untrusted data: findings of a seeded mutation
fuzz of ``load_state_dict`` and of the resumed fit that uses what it loaded."""

from __future__ import annotations

import pytest
import torch
from test_torch_lightning import (
    Digits,
    NanFirst,
    StopAfterOneEpoch,
    _fit,
    _loader,
    _trainer,
    pl,
)

import clr_torch
from clr_core import rangetest


def test_resuming_a_fit_whose_reading_had_no_confidence_keeps_the_modules_scheduler(tmp_path):
    # A fresh fit with a no-confidence reading keeps the scheduler from
    # configure_optimizers; the resumed fit installed a Constant plan in its place,
    # and Lightning then failed to load the StepLR state from the checkpoint into it.
    ckpt = tmp_path / "mid.ckpt"

    def step_lr(opt):
        return torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)  # per epoch

    pl.seed_everything(1, verbose=False)
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    with pytest.warns(UserWarning, match="no usable reading"):
        _fit(NanFirst(scheduler=step_lr), [finder, StopAfterOneEpoch(ckpt)], max_epochs=3)
    assert finder.result.confidence == 0.0

    pl.seed_everything(1, verbose=False)
    resumed = Digits(scheduler=step_lr)
    finder2 = clr_torch.LearningRateFinder(num_training_steps=40)
    trainer = _trainer([finder2], max_epochs=2)
    with pytest.warns(UserWarning, match="no usable reading"):
        trainer.fit(resumed, _loader(), ckpt_path=ckpt)
    assert finder2.result == finder.result
    assert finder2.scheduler is None
    [config] = trainer.lr_scheduler_configs
    assert type(config.scheduler) is torch.optim.lr_scheduler.StepLR
    assert resumed.seen_lrs == [0.05 * 0.5] * 29  # its state restored: one epoch done


@pytest.mark.parametrize("budget", [[1, 2], [1, 3], [2, 1.5], [7, 0.4]])
def test_a_budget_too_short_for_the_plan_is_refused_at_load_and_changes_nothing(budget):
    # 2 or 3 steps were loaded; the resumed fit then raised in recommend() (OneCycle
    # refused a pct_start nobody gave)
    reading = rangetest.analyze(
        [10 ** (-4 + 4 * i / 29) for i in range(30)], [2.0 - 0.05 * i for i in range(30)]
    )
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    good = {"result": reading.to_dict(), "budget": [29, 3.0]}
    finder.load_state_dict(good)
    with pytest.raises(ValueError, match=r"`state_dict\['budget'\]` must be a budget of 4 to"):
        finder.load_state_dict({**good, "budget": budget})
    assert finder.state_dict() == good
    finder.load_state_dict({**good, "budget": [1, 4]})  # the shortest the plan fits
    assert reading.recommend(*finder.state_dict()["budget"]).lr.total_steps == 4
