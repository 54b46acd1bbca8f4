"""Scheduler step overhead: clr_torch against torch.optim.lr_scheduler.

Measures the cost of one ``scheduler.step()`` call for

* torch's ``CyclicLR`` with momentum cycling (the reference),
* ``clr_torch.ScheduleLR`` over ``clr_core.Triangular`` (rate only, and with the
  inverse momentum schedule),
* the drop-in ``clr_torch.CyclicLR`` with momentum cycling,
* torch's and clr_torch's ``OneCycleLR`` (momentum cycling on),

all attached to the same SGD optimizer (1 and 4 param groups), interleaved in one
run: every repeat times each variant once, in a shuffled order, so machine noise
hits them alike. Times are the process's CPU time (``time.process_time_ns``): on
a shared machine the time this process waits for a core is not counted, which
wall-clock timing would charge to whichever variant ran then. Reported: the
median cost per call (microseconds) and the median (with the 25-75% range) of
the per-repeat ratio to torch's CyclicLR. One SGD optimizer step of a small MLP
is timed as a yardstick.

Run by hand (not a test)::

    python benchmarks/torch_overhead.py [--repeats 31] [--number 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "adapters" / "torch")]

import torch
from torch.optim import lr_scheduler as tls

import clr_core
import clr_torch

BASE, TOP, UP = 0.001, 0.1, 2000


def _optimizer(groups: int) -> torch.optim.SGD:
    params = [torch.nn.Parameter(torch.zeros(4)) for _ in range(groups)]
    return torch.optim.SGD([{"params": [p]} for p in params], lr=0.1, momentum=0.9)


def _variants(opt: torch.optim.Optimizer) -> dict[str, object]:
    tri = clr_core.Triangular(BASE, TOP, UP)
    big = 10**8  # torch's OneCycleLR raises past its end
    out = {
        "torch CyclicLR (+momentum)": tls.CyclicLR(opt, BASE, TOP, UP),
        "ScheduleLR (rate only)": clr_torch.ScheduleLR(opt, tri),
        "ScheduleLR (+momentum)": clr_torch.ScheduleLR(opt, tri, momentum=tri.momentum()),
        "clr_torch CyclicLR (+momentum)": clr_torch.CyclicLR(opt, BASE, TOP, UP),
        "torch OneCycleLR (+momentum)": tls.OneCycleLR(opt, TOP, total_steps=big),
        "clr_torch OneCycleLR (+momentum)": clr_torch.OneCycleLR(opt, TOP, total_steps=big),
    }
    opt.step()  # no call-order warnings
    return out


def _time(fn: Callable[[], object], number: int) -> float:
    start = time.process_time_ns()
    for _ in range(number):
        fn()
    return (time.process_time_ns() - start) / number / 1e3  # us per call (CPU time)


def _optimizer_step_cost(number: int) -> float:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    opt.step()
    return _time(opt.step, number)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    i = (len(s) - 1) * q
    lo, hi = int(i), min(int(i) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)


def run(repeats: int, number: int, groups: int, seed: int = 0) -> dict[str, dict[str, float]]:
    opt = _optimizer(groups)
    variants = _variants(opt)
    ref = "torch CyclicLR (+momentum)"
    for sched in variants.values():  # warm up
        _time(sched.step, number // 10 + 1)  # type: ignore[attr-defined]
    rng = random.Random(seed)
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for _ in range(repeats):
        rng.shuffle(names)
        for name in names:
            times[name].append(_time(variants[name].step, number))  # type: ignore[attr-defined]
    out = {}
    for name, ts in times.items():
        ratios = [t / r for t, r in zip(ts, times[ref], strict=True)]
        out[name] = {
            "us": statistics.median(ts),
            "ratio": statistics.median(ratios),
            "ratio_q25": _pct(ratios, 0.25),
            "ratio_q75": _pct(ratios, 0.75),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    py = sys.version.split()[0]
    print(f"torch {torch.__version__}, clr_core {clr_core.__version__}, python {py}")
    print(
        f"{args.repeats} interleaved repeats x {args.number} calls; ratio = per-repeat time / "
        "torch CyclicLR (+momentum), median [25%-75%]"
    )
    for groups in (1, 4):
        print(f"\n{groups} param group(s)")
        print(f"  {'scheduler':34s} {'us/step':>8s}  {'ratio':>6s}  [q25 - q75]")
        for name, r in run(args.repeats, args.number, groups).items():
            print(
                f"  {name:34s} {r['us']:8.2f}  {r['ratio']:6.3f}  "
                f"[{r['ratio_q25']:.3f} - {r['ratio_q75']:.3f}]"
            )
    print(
        f"\nyardstick: one SGD step of a 64-128-10 MLP: {_optimizer_step_cost(args.number):.1f} us"
    )


if __name__ == "__main__":
    main()
