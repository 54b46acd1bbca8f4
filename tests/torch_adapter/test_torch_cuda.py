"""The torch adapter on a CUDA device: what the CPU tests cannot check.

float16 autocast with a real ``GradScaler``, the CUDA RNG, optimizer state on the device,
capturable and fused optimizers, a captured CUDA graph reading the rate the scheduler
writes, and Lightning on a GPU. Run by hand where torch sees a GPU::

    pytest tests/torch_adapter/test_torch_cuda.py

Elsewhere (CI has no GPU) every test here is skipped with that reason. docs/torch.md
records the last device run.
"""

from __future__ import annotations

import io
import math
import warnings

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

import clr_core
import clr_torch

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (a device check, run by hand)"
)


def _data(n: int = 1024, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A 4-class problem: 20 Gaussian features, the label the argmax of a random projection."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    y = (x @ torch.randn(20, 4, generator=g)).argmax(1)
    return x.cuda(), y.cuda()


def _batches(x: torch.Tensor, y: torch.Tensor, repeat: int = 4, size: int = 32) -> list:
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)] * repeat


def _mlp(dropout: float = 0.1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 4)).cuda()


def _stepped_sgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.optim.SGD:
    """SGD with momentum whose state (the momentum buffers, on the device) is not empty."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    F.cross_entropy(model(x[:32]), y[:32]).backward()
    opt.step()
    opt.zero_grad()
    return opt


def _state(model: nn.Module, opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    params = [p.detach().clone() for p in model.parameters()]
    return params + [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


def test_float16_range_test_reads_the_sweep_and_restores_everything():
    x, y = _data()
    model = _mlp()
    opt = _stepped_sgd(model, x, y)
    before = _state(model, opt)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**12)
    cpu_rng, cuda_rng = torch.get_rng_state(), torch.cuda.get_rng_state()
    result = clr_torch.range_test(
        model, opt, _batches(x, y), F.cross_entropy, start_lr=1e-4, end_lr=10.0,
        num_steps=100, autocast_dtype=torch.float16, scaler=scaler, progress=False,
    )  # fmt: skip
    assert 20 <= len(result.lrs) <= 100
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.losses)
    assert 1e-4 <= result.max_lr <= 10.0
    assert result.confidence > 0
    assert isinstance(result.provenance["skipped_steps"], int)
    # nothing the user had is lost: weights, device state, rate, scaler, both RNGs, mode
    assert _same(_state(model, opt), before)
    assert all(p.is_cuda for p in model.parameters())
    assert opt.param_groups[0]["lr"] == 0.05
    assert scaler.get_scale() == 2.0**12
    assert torch.equal(torch.get_rng_state(), cpu_rng)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng)
    assert model.training


def test_a_sweep_that_fails_midway_on_cuda_restores_weights_state_and_cuda_rng():
    x, y = _data()
    model = _mlp()  # dropout draws from the CUDA RNG at every step
    opt = _stepped_sgd(model, x, y)
    before = _state(model, opt)
    cuda_rng = torch.cuda.get_rng_state()
    calls = {"n": 0}

    def step(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("the user's step failed")
        return F.cross_entropy(model(batch[0]), batch[1])

    test = clr_torch.RangeTest(
        model, opt, step_fn=step, start_lr=1e-3, end_lr=1.0, num_steps=30, progress=False
    )
    with pytest.raises(RuntimeError, match="the user's step failed"):
        test.run(_batches(x, y))
    assert calls["n"] == 7
    assert _same(_state(model, opt), before)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng)
    assert opt.param_groups[0]["lr"] == 0.05


def _optimizer(kind: str, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    dev = torch.device("cuda")
    if kind == "adam-capturable":  # every hyper-parameter a device tensor
        betas = (torch.tensor(0.9, device=dev), torch.tensor(0.999, device=dev))
        return torch.optim.Adam(
            params, lr=torch.tensor(0.01, device=dev), betas=betas, capturable=True
        )
    if kind == "adamw-fused":
        return torch.optim.AdamW(params, lr=0.01, fused=True)
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, fused=True)


@pytest.mark.parametrize("kind", ["adam-capturable", "adamw-fused", "sgd-fused"])
def test_schedule_lr_drives_device_optimizers_and_resumes_from_a_weights_only_checkpoint(kind):
    x, y = _data()
    model = _mlp(dropout=0.0)
    opt = _optimizer(kind, list(model.parameters()))
    group = opt.param_groups[0]
    key = clr_torch.momentum_key_for(opt)
    rate = clr_core.OneCycle(max_lr=0.02, total_steps=40)
    mom = rate.momentum(0.85, 0.95)
    sched = clr_torch.ScheduleLR(opt, rate, momentum=mom)
    lr_obj, mom_obj = group["lr"], group[key]
    for t, (xb, yb) in enumerate(_batches(x, y)[:20]):
        assert float(group["lr"]) == pytest.approx(rate(t), rel=1e-6)
        m = group[key][0] if key == "betas" else group[key]
        assert float(m) == pytest.approx(mom(t), rel=1e-6)
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
        sched.step()
    assert group["lr"] is lr_obj or not isinstance(lr_obj, torch.Tensor)  # filled in place
    if kind == "adam-capturable":
        assert group[key][0] is mom_obj[0]
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    opt2 = _optimizer(kind, list(model.parameters()))
    opt2.load_state_dict(saved["opt"])
    resumed = clr_torch.ScheduleLR(opt2, rate, momentum=mom)
    resumed.load_state_dict(saved["sched"])
    for _ in range(10):
        assert resumed.get_last_lr() == pytest.approx(sched.get_last_lr(), rel=1e-6)
        sched.step()
        resumed.step()
    assert float(opt2.param_groups[0]["lr"]) == pytest.approx(rate(30), rel=1e-6)


def test_a_captured_cuda_graph_steps_at_the_rate_the_scheduler_writes():
    # Adam with a constant gradient of 1 moves every weight by lr / (1 + eps) a step, so
    # each replay's move is the rate in force. A scheduler that replaced the tensor instead
    # of filling it would leave the graph stepping at the first rate forever.
    dev = torch.device("cuda")
    p = torch.zeros(4096, device=dev, requires_grad=True)
    p.grad = torch.ones_like(p)
    opt = torch.optim.Adam([p], lr=torch.tensor(0.01, device=dev), capturable=True)
    rate = clr_core.Triangular(base_lr=1e-3, max_lr=1e-2, step_size_up=5)
    sched = clr_torch.ScheduleLR(opt, rate)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up steps outside the graph, as PyTorch asks
        for _ in range(3):
            opt.step()
            sched.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        opt.step()
    moves = []
    for t in range(3, 23):
        before = p.detach().clone()
        graph.replay()
        torch.cuda.synchronize()
        moves.append(float((before - p.detach()).mean()))
        assert moves[-1] == pytest.approx(rate(t), rel=1e-3)
        sched.step()
    assert max(moves) / min(moves) > 5  # the graph saw the rate move


def test_auto_one_cycle_takes_device_losses_and_its_state_loads_weights_only():
    x, y = _data()
    model = _mlp(dropout=0.0)
    opt = _optimizer("adam-capturable", list(model.parameters()))
    lr_obj, beta1 = opt.param_groups[0]["lr"], opt.param_groups[0]["betas"][0]
    sched = clr_torch.AutoOneCycleLR(opt, total_steps=128, start_lr=1e-5, end_lr=1.0)
    for xb, yb in _batches(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step(loss)  # a CUDA tensor
    assert sched.auto.decided
    assert opt.param_groups[0]["lr"] is lr_obj
    assert opt.param_groups[0]["betas"][0] is beta1
    assert float(lr_obj) == pytest.approx(sched.get_last_lr()[0], rel=1e-6)
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    again = clr_torch.AutoOneCycleLR(
        _optimizer("adam-capturable", list(model.parameters())), total_steps=128,
        start_lr=1e-5, end_lr=1.0,
    )  # fmt: skip
    again.load_state_dict(torch.load(buf, weights_only=True))
    assert again.state_dict() == sched.state_dict()


def test_lightning_finder_on_a_gpu_with_16_mixed_installs_the_plan():
    x, y = _data()
    data = torch.utils.data.TensorDataset(x.cpu(), y.cpu())

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _mlp().cpu()
            self.seen: list[float] = []
            self.where: set[tuple[str, bool]] = set()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            self.where.add((xb.device.type, torch.is_autocast_enabled("cuda")))
            return F.cross_entropy(self.net(xb), yb)

        def on_train_batch_start(self, batch, batch_idx):
            self.seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    module = Module()
    finder = clr_torch.LearningRateFinder(num_training_steps=60)
    trainer = pl.Trainer(
        accelerator="gpu", devices=1, precision="16-mixed", max_epochs=3, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[finder],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=32, shuffle=True))
    assert module.where == {("cuda", True)}  # the sweep and the fit: on the GPU, autocast
    assert finder.result.confidence > 0
    assert isinstance(finder.result.provenance["skipped_steps"], int)
    sched = finder.scheduler
    assert isinstance(sched, clr_torch.ScheduleLR)
    plan = sched.schedules[0]
    # the sweep's steps: one point each, and the steps the float16 scaler skipped
    sweep_steps = len(finder.result.lrs) + finder.result.provenance["skipped_steps"]
    assert plan == finder.result.recommend(32, 3).lr
    assert len(module.seen) == sweep_steps + 96
    assert module.seen[sweep_steps:] == [plan(t) for t in range(96)]
