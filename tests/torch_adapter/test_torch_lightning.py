"""The range test as a Lightning callback: clr_torch.LearningRateFinder.

Lightning is imported unconditionally: where it is missing the module fails to
collect instead of skipping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from _ranks import run_two_ranks
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

import clr_core
import clr_torch
from clr_core import rangetest

_DIGITS = None


def _data():
    global _DIGITS
    if _DIGITS is None:
        x, y = load_digits(return_X_y=True)
        _DIGITS = TensorDataset(torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y))
    return _DIGITS


def _loader(batch_size=64, n=None):
    ds = _data()
    if n is not None:
        ds = torch.utils.data.Subset(ds, range(n))
    return DataLoader(ds, batch_size=batch_size, shuffle=True)


class Digits(pl.LightningModule):
    """An MLP with dropout (uses the RNG) that logs in training_step."""

    def __init__(self, lr=0.05, optimizer="sgd", estimate=False, plan=None, scheduler=None):
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(32, 10)
        )
        self.optimizer_name = optimizer
        self.estimate = estimate
        self.plan = plan  # (schedules, momentum) to install by hand
        self.scheduler = scheduler
        self.step_losses = []
        self.seen_lrs = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self.net(x)
        loss = F.cross_entropy(out, y)
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_acc", (out.argmax(-1) == y).float().mean(), on_step=True, on_epoch=True)
        self.step_losses.append(float(loss.detach()))
        return {"loss": loss, "acc": (out.argmax(-1) == y).float().mean()}

    def on_train_batch_start(self, batch, batch_idx):
        self.seen_lrs.append(self.trainer.optimizers[0].param_groups[0]["lr"])

    def configure_optimizers(self):
        if self.estimate:
            self.estimated = self.trainer.estimated_stepping_batches  # builds the loader now
        if self.optimizer_name == "adam":
            opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        else:
            opt = torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)
        if self.plan is not None:
            sched = clr_torch.ScheduleLR(opt, self.plan[0], momentum=self.plan[1])
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if self.scheduler is not None:
            return {"optimizer": opt, "lr_scheduler": self.scheduler(opt)}
        return opt


def _trainer(callbacks=(), logger=False, **kw):
    kw.setdefault("max_epochs", 2)
    return pl.Trainer(
        accelerator="cpu", devices=1, logger=logger, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=list(callbacks),
        log_every_n_steps=5, **kw,
    )  # fmt: skip


class StopAfterOneEpoch(pl.Callback):
    """Saves a checkpoint to ``path`` at the end of the first epoch and stops the fit."""

    def __init__(self, path):
        self.path = path

    def on_train_epoch_end(self, trainer, pl_module):
        trainer.save_checkpoint(self.path)
        trainer.should_stop = True


def _fit(model, callbacks=(), loader_kw=None, **kw):
    pl.seed_everything(0, verbose=False)
    trainer = _trainer(callbacks, **kw)
    trainer.fit(model, _loader(**(loader_kw or {})))
    return trainer


def _model(**kw):
    pl.seed_everything(1, verbose=False)
    return Digits(**kw)


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def _equal(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*")
        yield


@pytest.mark.parametrize("name", ["LearningRateFinder", "CollapseGuardCallback"])
def test_import_clr_torch_does_not_import_lightning(name):
    code = (
        "import sys, clr_torch\n"
        "bad = sorted(m for m in sys.modules if 'lightning' in m)\n"
        "assert not bad, bad\n"
        "from clr_torch import *  # noqa\n"
        f"assert {name!r} in dir(clr_torch)\n"
        "assert not any('lightning' in m for m in sys.modules)\n"
        f"clr_torch.{name}\n"
        "assert 'pytorch_lightning' in sys.modules\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("estimate", [False, True])
def test_a_fit_with_the_finder_not_installing_trains_exactly_as_one_without(estimate):
    # The loader built in configure_optimizers (estimate=True) or at fit start: either
    # way the sweep uses its own and the fit then draws the same batches and dropout.
    plain = _model(estimate=estimate)
    _fit(plain)
    model = _model(estimate=estimate)
    finder = clr_torch.LearningRateFinder(num_training_steps=40, install=False)
    trainer = _fit(model, [finder])
    assert isinstance(finder.result, rangetest.RangeTestResult)
    assert len(finder.result.lrs) >= 20
    assert len(model.step_losses) == len(plain.step_losses) + len(finder.result.lrs)
    assert model.step_losses[len(finder.result.lrs) :] == plain.step_losses
    assert _equal(_weights(model), _weights(plain))
    assert trainer.global_step == 2 * 29
    assert trainer.optimizers[0].param_groups[0]["lr"] == 0.05
    assert finder.scheduler is None


def test_the_installed_plan_trains_exactly_as_the_same_plan_configured_by_hand():
    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=60)
    trainer = _fit(model, [finder], max_epochs=3)
    sched = finder.scheduler
    assert isinstance(sched, clr_torch.ScheduleLR)
    assert trainer.lr_scheduler_configs[0].scheduler is sched
    assert trainer.lr_scheduler_configs[0].interval == "step"
    plan = sched.schedules[0]
    assert plan == finder.result.recommend(29, 3).lr  # the fit's 87 optimizer steps
    assert plan.total_steps == 87
    assert sched.momentum_schedules[0] == plan.momentum(0.85, 0.95)
    sweep_points = len(finder.result.lrs)
    assert model.seen_lrs[sweep_points:] == [plan(t) for t in range(87)]
    by_hand = _model(plan=(plan, plan.momentum(0.85, 0.95)))
    _fit(by_hand, max_epochs=3)
    assert _equal(_weights(model), _weights(by_hand))
    assert model.step_losses[sweep_points:] == by_hand.step_losses


def test_sweep_rates_points_and_provenance():
    model = _model()
    finder = clr_torch.LearningRateFinder(
        min_lr=1e-4, max_lr=1.0, num_training_steps=30, mode="linear",
        early_stop_threshold=None, install=False,
    )  # fmt: skip
    _fit(model, [finder])
    r = finder.result
    sweep = rangetest.LinearSweep(1e-4, 1.0, 30)
    assert list(r.lrs) == [sweep(i) for i in range(30)]  # the whole sweep: no early stop
    assert model.seen_lrs[:30] == list(r.lrs)
    assert r.losses[0] == pytest.approx(model.step_losses[0], rel=1e-6)
    prov = r.provenance
    assert prov["batch_size"] == 64
    assert prov["strategy"] == "SingleDeviceStrategy"
    assert prov["world_size"] == 1
    assert prov["stop_reason"] == "sweep complete"
    assert prov["sweep"]["type"] == "LinearSweep"
    assert prov["momentum"] == pytest.approx(0.9)  # SGD's, for recommend


def test_accumulation_gives_one_point_per_optimizer_step():
    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=12, install=False,
                                          early_stop_threshold=None)  # fmt: skip
    _fit(model, [finder], accumulate_grad_batches=3, max_epochs=1)
    r = finder.result
    assert len(r.lrs) == 12
    # Each point is the mean loss of the batches of one optimizer step: 3, except the
    # last step of an epoch of 29 batches, which Lightning takes after 2.
    sizes = [3] * 9 + [2] + [3] * 2
    starts = [sum(sizes[:i]) for i in range(12)]
    expected = [sum(model.step_losses[a : a + n]) / n for a, n in zip(starts, sizes, strict=True)]
    assert list(r.losses) == pytest.approx(expected, rel=1e-6)
    assert model.seen_lrs[: sum(sizes)] == [
        lr for lr, n in zip(r.lrs, sizes, strict=True) for _ in range(n)
    ]
    assert r.provenance["batch_size"] == 64 * 3


def test_metric_from_the_returned_dict_or_from_self_log():
    for key in ("acc", "train_acc"):
        model = _model()
        finder = clr_torch.LearningRateFinder(num_training_steps=20, install=False,
                                              metric=key)  # fmt: skip
        _fit(model, [finder], max_epochs=1)
        assert finder.result.metrics is not None
        assert len(finder.result.metrics) == len(finder.result.lrs)
        assert finder.result.provenance["metric_name"] == key
    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=20, metric="f1")
    before = _weights(model)
    with pytest.raises(ValueError, match=r"metric='f1'.*self\.log"):
        _fit(model, [finder], max_epochs=1)
    assert _equal(before, _weights(model))


def test_logs_bounds_confidence_plot_and_json(tmp_path):
    logger = pl.loggers.CSVLogger(tmp_path)
    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    _fit(model, [finder], logger=logger, max_epochs=1)
    logger.save()
    log_dir = logger.log_dir
    with open(os.path.join(log_dir, "metrics.csv"), encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        first = dict(zip(header, f.readline().strip().split(","), strict=True))
    for key in ("base_lr", "max_lr", "lr", "one_cycle_peak", "confidence", "points"):
        assert float(first[f"lr_finder/{key}"]) == pytest.approx(
            float(getattr(finder.result, key) if key != "points" else len(finder.result.lrs))
        )
    assert "train_loss" not in first or first["train_loss"] == ""  # the sweep's self.log: nowhere
    assert os.path.getsize(os.path.join(log_dir, "lr_finder.png")) > 1000
    saved = rangetest.RangeTestResult.from_json(os.path.join(log_dir, "lr_finder.json"))
    assert saved == finder.result


class _ImageLogger(pl.loggers.Logger):
    """A logger that takes images (as W&B's log_image)."""

    def __init__(self):
        super().__init__()
        self.images, self.metrics = [], []

    name = "images"
    version = 0

    def log_metrics(self, metrics, step=None):
        self.metrics.append((dict(metrics), step))

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_image(self, key, images, step=None):
        self.images.append((key, images, step))


def test_a_logger_that_takes_images_gets_the_plot():
    logger = _ImageLogger()
    finder = clr_torch.LearningRateFinder(num_training_steps=30, install=False)
    _fit(_model(), [finder], logger=logger, max_epochs=1)
    ((key, images, step),) = logger.images
    assert key == "lr_finder"
    assert step == 0
    assert images[0].axes[0].get_title().startswith("LR range test")
    assert logger.metrics[0][0]["lr_finder/max_lr"] == finder.result.max_lr
    assert not any("train_loss" in m for m, _ in logger.metrics[:1])


def test_self_log_in_training_step_adds_no_warning(tmp_path):
    def caught(callbacks):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _fit(_model(), callbacks, logger=pl.loggers.CSVLogger(tmp_path), max_epochs=1)
        return {(x.category.__name__, str(x.message)) for x in w}

    without = caught([])
    with_finder = caught([clr_torch.LearningRateFinder(num_training_steps=30)])
    assert with_finder <= without, with_finder - without


def test_update_attr_and_the_attribute_name():
    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=40, update_attr=True,
                                          install=False)  # fmt: skip
    trainer = _fit(model, [finder], max_epochs=1)
    assert model.lr == finder.result.lr
    assert trainer.optimizers[0].param_groups[0]["lr"] == finder.result.lr
    with pytest.raises(AttributeError, match="attr_name='rate'"):
        _fit(_model(), [clr_torch.LearningRateFinder(update_attr=True, attr_name="rate")])


def test_replacing_the_modules_scheduler_warns_and_install_false_keeps_it():
    def cosine(opt):
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10)

    finder = clr_torch.LearningRateFinder(num_training_steps=30)
    with pytest.warns(UserWarning, match=r"replaced the scheduler\(s\).*CosineAnnealingLR"):
        trainer = _fit(_model(scheduler=cosine), [finder], max_epochs=1)
    assert trainer.lr_scheduler_configs[0].scheduler is finder.scheduler
    keep = clr_torch.LearningRateFinder(num_training_steps=30, install=False)
    trainer = _fit(_model(scheduler=cosine), [keep], max_epochs=1)
    assert isinstance(
        trainer.lr_scheduler_configs[0].scheduler, torch.optim.lr_scheduler.CosineAnnealingLR
    )


def test_adam_gets_beta1_cycled_and_sgd_without_momentum_none():
    finder = clr_torch.LearningRateFinder(num_training_steps=30)
    trainer = _fit(_model(optimizer="adam", lr=1e-3), [finder], max_epochs=1)
    plan = finder.scheduler.schedules[0]
    assert finder.scheduler.momentum_key == "betas"
    assert trainer.optimizers[0].param_groups[0]["betas"][0] == pytest.approx(
        plan.momentum(0.85, 0.95)(29)
    )

    class NoMomentum(Digits):
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    pl.seed_everything(1, verbose=False)
    finder = clr_torch.LearningRateFinder(num_training_steps=30)
    _fit(NoMomentum(), [finder], max_epochs=1)
    assert finder.scheduler.momentum_schedules == [None]


def test_resuming_from_a_checkpoint_installs_the_same_plan_without_sweeping(tmp_path):
    ckpt = tmp_path / "mid.ckpt"

    model = _model()
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    _fit(model, [finder, StopAfterOneEpoch(ckpt)], max_epochs=3)
    plan = finder.scheduler.schedules[0]
    resumed = _model()
    finder2 = clr_torch.LearningRateFinder(num_training_steps=40)
    pl.seed_everything(0, verbose=False)
    trainer = _trainer([finder2], max_epochs=3)
    trainer.fit(resumed, _loader(), ckpt_path=ckpt)
    assert finder2.result == finder.result
    assert finder2.scheduler.schedules[0] == plan
    assert len(resumed.step_losses) == 2 * 29  # no sweep: only the remaining epochs
    assert resumed.seen_lrs == [plan(t) for t in range(29, 87)]


def test_a_one_shot_iterable_is_used_and_marked_cut_short():
    def one_shot():
        g = torch.Generator().manual_seed(0)
        ds = _data()
        for _ in range(20):
            idx = torch.randint(0, len(ds), (32,), generator=g)
            yield ds.tensors[0][idx], ds.tensors[1][idx]

    finder = clr_torch.LearningRateFinder(num_training_steps=50, install=False)
    pl.seed_everything(0, verbose=False)
    trainer = _trainer([finder], max_epochs=1)
    trainer.fit(_model(), one_shot())
    r = finder.result
    assert len(r.lrs) == 20
    assert r.provenance["stop_reason"] == "cut short: train_dataloader ran out, at point 20 of 50"
    assert any("cut short" in reason for reason in r.reasons)


def test_bad_options_are_refused_at_construction():
    with pytest.raises(ValueError, match="mode"):
        clr_torch.LearningRateFinder(mode="cubic")
    with pytest.raises(ValueError, match="epochs"):
        clr_torch.LearningRateFinder(epochs=0)
    with pytest.raises(TypeError, match="metric"):
        clr_torch.LearningRateFinder(metric=3)
    with pytest.raises(ValueError, match="`max_lr` must be > min_lr"):
        clr_torch.LearningRateFinder(min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="diverge_threshold"):
        clr_torch.LearningRateFinder(early_stop_threshold=-1.0)
    with pytest.raises(ValueError, match="base_momentum"):
        clr_torch.LearningRateFinder(base_momentum=0.99)
    assert clr_torch.LearningRateFinder(mode="exp")._mode == "exponential"


def test_two_optimizers_are_refused_and_everything_is_restored():
    class Two(Digits):
        def configure_optimizers(self):
            return [torch.optim.SGD(self.parameters(), lr=0.1)] * 2

        automatic_optimization = False

    pl.seed_everything(1, verbose=False)
    model = Two()
    with pytest.raises(ValueError, match="single optimizer"):
        _fit(model, [clr_torch.LearningRateFinder()])


def test_an_error_mid_sweep_restores_the_module_and_trainer():
    class Failing(Digits):
        def training_step(self, batch, batch_idx):
            if len(self.step_losses) == 7:
                raise RuntimeError("injected")
            return super().training_step(batch, batch_idx)

    pl.seed_everything(1, verbose=False)
    model = Failing()
    before = _weights(model)
    trainer = _trainer([clr_torch.LearningRateFinder()])
    with pytest.raises(RuntimeError, match="injected"):
        trainer.fit(model, _loader())
    assert _equal(before, _weights(model))
    assert trainer.global_step == 0
    assert trainer.optimizers[0].param_groups[0]["lr"] == 0.05
    assert not trainer.optimizers[0].state  # no momentum buffers left behind


def test_the_plan_is_a_clr_core_value():
    finder = clr_torch.LearningRateFinder(num_training_steps=30, epochs=5)
    _fit(_model(), [finder], max_epochs=1)
    plan = finder.scheduler.schedules[0]
    assert isinstance(plan, clr_core.OneCycle)
    assert plan.total_steps == 5 * 29  # epochs= overrides the fit's length
    assert clr_core.from_config(json.loads(json.dumps(plan.to_config()))) == plan


def test_ddp_two_gloo_processes_share_the_loss_and_install_the_same_plan(tmp_path):
    logs = run_two_ranks(Path(__file__).with_name("lightning_ddp_worker.py"), tmp_path)
    assert "range test" in logs[0]  # only rank 0 shows the sweep's progress
    assert "range test" not in logs[1]
    outs = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert outs[0]["json"] == outs[1]["json"]  # the same points and reading
    assert outs[0]["plan"] == outs[1]["plan"]  # the same plan on every rank
    assert outs[0]["momentum"] == outs[1]["momentum"]
    assert all(o["installed"] and o["restored"] for o in outs)
    assert outs[0]["global_step"] == outs[1]["global_step"] == 2 * 20  # 320 samples a rank
    assert _equal(outs[0]["final"], outs[1]["final"])  # DDP kept the ranks in step
    r = rangetest.RangeTestResult.from_json(outs[0]["json"])
    # The shards differ, and the first point is the mean over the ranks.
    assert abs(outs[0]["first_loss"] - outs[1]["first_loss"]) > 1e-4
    mean = (outs[0]["first_loss"] + outs[1]["first_loss"]) / 2
    assert r.losses[0] == pytest.approx(mean, rel=1e-6)
    assert r.provenance["world_size"] == 2
    assert r.provenance["batch_size"] == 16 * 2
    assert r.provenance["strategy"] == "DDPStrategy"
    assert clr_core.from_config(outs[0]["plan"][0]).total_steps == 40


class NanFirst(Digits):
    """A module whose loss is NaN at the sweep's second step: a reading without confidence."""

    def training_step(self, batch, batch_idx):
        out = super().training_step(batch, batch_idx)
        if len(self.step_losses) == 2:  # the sweep's second step
            out["loss"] = out["loss"] * float("nan")
        return out


def test_a_sweep_that_diverges_at_once_installs_nothing_and_says_why():
    pl.seed_everything(1, verbose=False)
    model = NanFirst()
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    with pytest.warns(UserWarning, match="no usable reading.*diverged at once"):
        trainer = _fit(model, [finder], max_epochs=1)
    assert len(finder.result.lrs) == 2
    assert finder.result.confidence == 0.0
    assert finder.scheduler is None
    assert trainer.lr_scheduler_configs == []
    assert model.seen_lrs[2:] == [0.05] * 29  # the module's own rate, restored


def test_steps_the_precision_plugins_scaler_skips_record_no_point():
    class Poisoned(Digits):
        calls = 0

        def on_after_backward(self):
            type(self).calls += 1
            if type(self).calls in (3, 4, 9):  # inf gradients: the scaler skips the step
                self.net[0].weight.grad.fill_(float("inf"))

    plugin = pl.plugins.precision.MixedPrecision(
        "16-mixed", device="cpu", scaler=torch.amp.GradScaler("cpu", init_scale=2.0**8)
    )
    pl.seed_everything(1, verbose=False)
    model = Poisoned()
    finder = clr_torch.LearningRateFinder(min_lr=1e-4, max_lr=1e-2, num_training_steps=12,
                                          early_stop_threshold=None, install=False)  # fmt: skip
    trainer = _trainer([finder], plugins=[plugin], max_epochs=1)
    trainer.fit(model, _loader())
    r = finder.result
    sweep = rangetest.ExponentialSweep(1e-4, 1e-2, 12)
    assert list(r.lrs) == [sweep(i) for i in range(12)]  # no gap, no repeat
    assert r.provenance["skipped_steps"] == 3
    assert model.seen_lrs[:15] == [sweep(i) for i in (0, 1, 2, 2, 2, 3, 4, 5, 6, 6)] + [
        sweep(i) for i in range(7, 12)
    ]
    assert plugin.scaler.get_scale() == 2.0**8  # restored (each skip halved it)


def _reading():
    return rangetest.analyze(
        [10 ** (-4 + 4 * i / 29) for i in range(30)], [2.0 - 0.05 * i for i in range(30)]
    )


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("budget", ["ab", 3.0]),  # was a bare int() error, after the result had changed
        ("budget", [10]),  # was IndexError
        ("budget", [0, 3.0]),  # loaded; the resumed fit then raised in recommend()
        ("budget", [10, -1.0]),
        ("budget", [10, "nan"]),
        ("budget", [10, 0.1]),  # a budget of 1 step: no plan fits it
        ("budget", [10**400, 3.0]),
        ("budget", [True, 3.0]),
        ("budget", "10,3"),
        ("result", {"format": "clr-rangetest/1"}),
        ("state_dict", []),  # was AttributeError
        ("extra", 1),
    ],
)
def test_a_tampered_finder_state_is_refused_naming_the_field_and_changes_nothing(field, bad):
    finder = clr_torch.LearningRateFinder(num_training_steps=40)
    good = {"result": _reading().to_dict(), "budget": [29, 3.0]}
    finder.load_state_dict(good)
    before = finder.state_dict()
    state = bad if field == "state_dict" else {**good, field: bad}
    with pytest.raises((ValueError, TypeError), match=field):
        finder.load_state_dict(state)
    assert finder.state_dict() == before


@pytest.mark.parametrize("steps", [2**53, "100", None])
def test_finder_without_early_stop_checks_num_training_steps_itself(steps):
    # with early_stop_threshold=None the monitor's min_steps was num_training_steps + 1:
    # 2**53 steps were refused naming a `min_steps` nobody gave, and "100" or None gave
    # Python's own "can only concatenate str" / "unsupported operand" TypeErrors
    if steps == 2**53:
        finder = clr_torch.LearningRateFinder(num_training_steps=steps, early_stop_threshold=None)
        assert finder.sweep.num_steps == steps
        return
    with pytest.raises(TypeError, match=r"`num_training_steps` must be an integer"):
        clr_torch.LearningRateFinder(num_training_steps=steps, early_stop_threshold=None)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"min_lr": -1e-3}, "min_lr"),
        ({"min_lr": 1.0, "max_lr": 0.5}, "max_lr"),
        ({"num_training_steps": 1}, "num_training_steps"),
        ({"num_training_steps": 2.5}, "num_training_steps"),
    ],
)
def test_finder_names_its_own_arguments_when_the_sweep_refuses_them(kwargs, named):
    # the core sweep validates them as start_lr / end_lr / num_steps; Lightning's user
    # wrote min_lr / max_lr / num_training_steps
    with pytest.raises((TypeError, ValueError)) as info:
        clr_torch.LearningRateFinder(**kwargs)
    message = str(info.value)
    assert f"`{named}`" in message
    assert not any(f"`{core}`" in message for core in ("start_lr", "end_lr", "num_steps"))
