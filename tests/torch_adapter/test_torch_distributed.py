"""The range test under torch.distributed: 2 CPU processes, gloo backend, torchrun-style."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from clr_core import rangetest

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_gloo_processes_agree(tmp_path):
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
            OMP_NUM_THREADS="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    logs = []
    for p in procs:
        try:
            _out, err = p.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        logs.append(err)
        assert p.returncode == 0, err[-3000:]
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
