"""Readings of the raw sweeps (benchmarks/raw_sweeps.py): landmarks, their spread, cost.

For each task, sweep configuration and seed, the recorded points are replayed
through the core's online stop rule (:class:`clr_core.rangetest.SweepMonitor`, as
``clr_torch.range_test`` would have stopped) and read by
:func:`clr_core.rangetest.analyze` from

* the training loss alone (``loss``),
* the held-out loss as the metric (``val_loss``),
* the held-out accuracy as the metric (``val_acc``, classification only).

Printed per task and reading: the median of each landmark over the seeds, its
spread (largest / smallest across seeds) and the steps the sweep took.

    python benchmarks/readings.py [--tasks ...] [--config wide100 ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from raw_sweeps import CONFIGS, raw_key
from suite import SEEDS, Cache

from clr_core.rangetest import ExponentialSweep, RangeTestResult, SweepMonitor, analyze
from clr_torch.demo.tasks import SUITE


def replay(rec: dict[str, Any], cfg: Any, **monitor_kw: Any) -> int:
    """Points the online stop rule would have taken (the sweep's cost in steps)."""
    mon = SweepMonitor(ExponentialSweep(cfg.start, cfg.end, num_steps=cfg.steps), **monitor_kw)
    for i, (lr, loss) in enumerate(zip(rec["lr"], rec["loss"], strict=True)):
        value = math.nan if loss is None else loss
        if mon.update(lr, value):
            return i + 1
    return len(rec["lr"])


def read(rec: dict[str, Any], stop: int, kind: str, task: str) -> RangeTestResult:
    lrs = rec["lr"][:stop]
    losses = [math.nan if v is None else v for v in rec["loss"][:stop]]
    if kind == "loss":
        return analyze(lrs, losses)
    key = "val_loss" if kind == "val_loss" else "val_metric"
    vals = [math.nan if v is None else v for v in rec[key][:stop]]
    vals += [math.nan] * (len(lrs) - len(vals))
    mode = "min" if (kind == "val_loss" or not SUITE[task].higher_is_better) else "max"
    return analyze(lrs, losses, vals, metric_mode=mode)


def landmarks(r: RangeTestResult) -> dict[str, float]:
    out = {"max_lr": r.max_lr, "lr": r.lr, "base_lr": r.base_lr}
    for k in ("minimum", "metric_peak"):
        if k in r.suggestions:
            out[k] = r.suggestions[k]
    return out


def spread(values: list[float]) -> float:
    return max(values) / min(values) if values and min(values) > 0 else math.inf


def gmedian(values: list[float]) -> float:
    return math.exp(statistics.median(math.log(v) for v in values))


def table(task: str, config: str) -> list[str]:
    cfg = CONFIGS[config]
    cache = Cache(f"sweeps-{task}")
    recs = [cache.get(raw_key(cfg, s)) for s in SEEDS]
    recs = [r for r in recs if r is not None]
    if not recs:
        return []
    stops = [replay(r, cfg) for r in recs]
    kinds = ["loss", "val_loss"] + (["val_acc"] if SUITE[task].higher_is_better else [])
    lines = []
    for kind in kinds:
        marks = [landmarks(read(r, s, kind, task)) for r, s in zip(recs, stops, strict=True)]
        names = sorted({k for m in marks for k in m})
        cells = []
        for k in names:
            vals = [m[k] for m in marks if k in m]
            cells.append(f"{k} {gmedian(vals):.3g} x{spread(vals):.2f}")
        lines.append(
            f"{task:18s} {config:8s} {kind:8s} steps {statistics.median(stops):5.0f} "
            f"(n={len(recs)}) | " + " | ".join(cells)
        )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tasks", nargs="*", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--config", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    args = p.parse_args()
    for task in args.tasks:
        for config in args.config:
            for line in table(task, config):
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
