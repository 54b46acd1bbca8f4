"""The range test under torch.distributed: 2 CPU processes, gloo backend, torchrun-style."""

from __future__ import annotations

from pathlib import Path

import torch
from _ranks import run_two_ranks

from clr_core import rangetest

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_ddp_two_gloo_processes_agree(tmp_path):
    logs = run_two_ranks(WORKER, tmp_path, timeout=180)
    # Only rank 0 shows a progress bar.
    assert "range test" in logs[0]
    assert "range test" not in logs[1]

    outs = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert outs[0]["json"] == outs[1]["json"]  # the same points, decision and result
    assert all(o["restored"] for o in outs)
    r0 = rangetest.RangeTestResult.from_json(outs[0]["json"])
    # The shards differ, and the first point is the mean over the ranks.
    assert abs(outs[0]["first_loss"] - outs[1]["first_loss"]) > 1e-4
    mean_loss = (outs[0]["first_loss"] + outs[1]["first_loss"]) / 2
    mean_acc = (outs[0]["first_acc"] + outs[1]["first_acc"]) / 2
    assert abs(r0.losses[0] - mean_loss) <= 1e-6 * abs(mean_loss)
    assert abs(r0.metrics[0] - mean_acc) <= 1e-9
    assert r0.provenance["batch_size"] == 32 * 2
