"""Raw range-test sweeps for designing the reading: every point, nothing stopped early.

For each task of the suite and each seed, an exponential sweep ``start -> end`` in
``steps`` optimizer steps on a fresh model, recording at every step the rate, the
training loss of the batch (before the step, as ``clr_torch.range_test`` records
it), and the loss and metric on a fixed held-out set carved from the end of the
*training* set (after the step). The sweep runs to its end unless the training loss
turns non-finite or exceeds 20 times its first value, so any stop rule can be
replayed on the recording afterwards.

These recordings are research data for docs/benchmarks.md ("the reading"): the
readings compared there are computed from them by ``benchmarks/readings.py``.
Cached in ``$CLR_BENCH_CACHE/suite/sweeps-<task>.json``.

Usage::

    python benchmarks/raw_sweeps.py [--tasks ...] [--config NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from suite import CACHE_DIR, SEEDS, Cache, key_of

from clr_torch.demo.tasks import SUITE, batches, load_task, make_model, make_optimizer, run_jobs


@dataclass(frozen=True)
class Raw:
    """A raw sweep's settings: ``start -> end`` in ``steps``, held-out set of ``held_out``
    examples (0: none)."""

    start: float
    end: float
    steps: int
    held_out: int = 512
    slow: float = 0.0  # > 0: two speeds, ``slow`` decades a step once the loss moves


CONFIGS = {
    "wide300": Raw(1e-6, 10.0, 300),
    "wide100": Raw(1e-6, 10.0, 100),
    "mid100": Raw(1e-5, 10.0, 100),
    "demo200": Raw(1e-4, 10.0, 200),
    "two100": Raw(1e-6, 10.0, 100, slow=0.025),
    "two100f": Raw(1e-6, 10.0, 100, slow=0.02),
}


class Pace:
    """Two speeds: ``fast`` decades a step until the loss has clearly started to fall, then
    ``slow`` decades a step. "Clearly": a running median of 5 losses below the median of
    the first 5 by 4 robust standard deviations of those first losses (at least 1%)."""

    def __init__(self, cfg: Raw) -> None:
        self.cfg = cfg
        self.fast = (math.log10(cfg.end) - math.log10(cfg.start)) / (cfg.steps - 1)
        self.fast = max(self.fast, 0.2)
        self.lr = cfg.start
        self.losses: list[float] = []
        self.switched_at: int | None = None

    def next(self, loss: float) -> float:
        import statistics

        self.losses.append(loss)
        if self.switched_at is None and len(self.losses) >= 10:
            head = self.losses[:5]
            m0 = statistics.median(head)
            mad = statistics.median(abs(v - m0) for v in head) * 1.4826
            now = statistics.median(self.losses[-5:])
            if m0 - now > max(4 * mad, 0.01 * abs(m0)):
                self.switched_at = len(self.losses)
        rate = self.cfg.slow if self.switched_at is not None else self.fast
        self.lr *= 10**rate
        return self.lr


def record(task_name: str, seed: int, raw: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    cfg = Raw(**raw)
    task = load_task(task_name)
    n_val = min(cfg.held_out, len(task.x) // 4)
    x, y = task.x[: len(task.x) - n_val], task.y[: len(task.y) - n_val]
    xv, yv = task.x[len(task.x) - n_val :], task.y[len(task.y) - n_val :]
    from clr_torch.demo.tasks import Task

    sub = Task(task.name, x, y, xv, yv, task.batch_size, task.spec)
    torch.manual_seed(seed)
    model = make_model(task.spec.name)
    opt = make_optimizer(task.spec.optimizer, model.parameters(), cfg.start, task.spec.weight_decay)
    stream = batches(sub, torch.Generator().manual_seed(seed))
    out: dict[str, list[float]] = {"lr": [], "loss": [], "val_loss": [], "val_metric": []}
    t0 = time.perf_counter()
    first = None
    pace = Pace(cfg) if cfg.slow else None
    lr = cfg.start
    for i in range(cfg.steps):
        if pace is None:
            lr = cfg.start * (cfg.end / cfg.start) ** (i / (cfg.steps - 1))
        elif i:
            lr = pace.next(out["loss"][-1])
        if lr > cfg.end:
            break
        for g in opt.param_groups:
            g["lr"] = lr
        xb, yb = next(stream)
        loss = task.loss_fn(model(xb), yb)
        value = float(loss.detach())
        out["lr"].append(lr)
        out["loss"].append(value if math.isfinite(value) else None)  # type: ignore[arg-type]
        if not math.isfinite(value):
            break
        first = value if first is None else first
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if n_val:
            with torch.no_grad():
                model.eval()
                o = model(xv)
                vl = float(task.loss_fn(o, yv))
                vm = float((o.argmax(1) == yv).float().mean()) if task.metric == "accuracy" else vl
                model.train()
            out["val_loss"].append(vl if math.isfinite(vl) else None)  # type: ignore[arg-type]
            out["val_metric"].append(vm if math.isfinite(vm) else None)  # type: ignore[arg-type]
        if value > 20 * first:
            break
    out["seconds"] = [round(time.perf_counter() - t0, 3)]
    if pace is not None:
        out["switched_at"] = [pace.switched_at if pace.switched_at is not None else -1]
    return out


def raw_key(cfg: Raw, seed: int) -> str:
    d = asdict(cfg)
    if not d["slow"]:
        del d["slow"]  # single-speed sweeps were recorded before the field existed
    return key_of("raw", d, f"s{seed}")


def sweeps(task: str, config: str, seeds: tuple[int, ...], jobs: int) -> list[dict[str, Any]]:
    cache = Cache(f"sweeps-{task}")
    raw = asdict(CONFIGS[config])
    keys = [raw_key(CONFIGS[config], s) for s in seeds]
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]

    def done(j: int, result: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], result)

    run_jobs(record, [(task, seeds[i], raw) for i in todo], jobs, on_done=done)
    return [cache.get(k) for k in keys]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tasks", nargs="*", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--config", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args()
    for task in args.tasks:
        for config in args.config:
            sweeps(task, config, SEEDS, args.jobs)
            print(f"{task} {config}: done", flush=True)
    print(json.dumps(str(CACHE_DIR)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
