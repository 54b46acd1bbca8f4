"""Overhead: the three cost figures of issue 6 in one run, each against its goal.

1. **torch**: ``clr_torch.ScheduleLR.step()`` (rate and inverse momentum cycle)
   against ``torch.optim.lr_scheduler.CyclicLR.step()`` with momentum cycling,
   timed interleaved in one process by ``torch_overhead.run`` (shuffled order
   each repeat, per-repeat ratio). Goal: <= 1/3. One SGD step of a small MLP is
   timed as a yardstick.
2. **keras**: a compiled Keras train step with ``clr_keras.CoreSchedule`` against
   the same model with ``keras.optimizers.schedules.CosineDecay``, alternating
   fits (``keras_overhead.py --json``, run in a child process so TensorFlow and
   torch do not share one). Goal: <= 1.1x.
3. **analysis**: ``clr_core.rangetest.analyze`` on a 1,000-point sweep
   (``analysis_speed.measure``), pure Python.

Ratios are medians of per-repeat ratios; the spread is the 25-75% range (torch)
or the 10-90% range (keras) of those ratios.

Run::

    PYTHONPATH=. python benchmarks/overhead.py            # a few minutes
    PYTHONPATH=. python benchmarks/overhead.py --quick    # sanity, ~1 minute
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import analysis_speed
import torch
import torch_overhead

import clr_core

OURS = "ScheduleLR (+momentum)"


def keras_figures(schedule: str, steps: int, rounds: int, jit: bool) -> dict[str, Any]:
    """Run keras_overhead.py in a child process and read its JSON line."""
    env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"))
    env.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    env.setdefault("TF_NUM_INTEROP_THREADS", "1")
    cmd = [
        sys.executable,
        str(HERE / "keras_overhead.py"),
        "--json",
        "--schedule",
        schedule,
        "--steps",
        str(steps),
        "--rounds",
        str(rounds),
    ] + (["--jit"] if jit else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=31, help="torch: interleaved repeats")
    p.add_argument("--number", type=int, default=2000, help="torch: calls per timing")
    p.add_argument("--keras-steps", type=int, default=200, help="keras: steps per timed fit")
    p.add_argument("--keras-rounds", type=int, default=15, help="keras: alternating rounds")
    p.add_argument(
        "--keras-schedules",
        nargs="*",
        default=["triangular2", "one_cycle"],
        choices=["triangular2", "one_cycle", "exp_range"],
    )
    p.add_argument("--jit", action="store_true", help="keras: jit_compile=True as well")
    p.add_argument("--analysis-repeats", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="few repeats: a sanity run")
    p.add_argument("--out", type=Path, default=Path("/tmp/clr_bench/overhead.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.number, args.keras_rounds, args.analysis_repeats = 5, 500, 3, 5
        args.keras_steps = 50
    torch.set_num_threads(1)
    print(
        f"# overhead  {datetime.date.today()}  {os.cpu_count()} cores, python "
        f"{sys.version.split()[0]}, torch {torch.__version__}, clr_core {clr_core.__version__}"
    )
    data: dict[str, Any] = {"date": str(datetime.date.today())}

    # 1. torch
    data["torch"] = {g: torch_overhead.run(args.repeats, args.number, g) for g in (1, 4)}
    data["torch_optimizer_step_us"] = torch_overhead._optimizer_step_cost(args.number)
    print(f"\n## torch scheduler step ({args.repeats} interleaved repeats x {args.number} calls)\n")
    print("| scheduler | groups | us/step | ratio to torch CyclicLR (+momentum) [q25-q75] |")
    print("|:--|--:|--:|--:|")
    for g, res in data["torch"].items():
        for name, r in res.items():
            print(
                f"| {name} | {g} | {r['us']:.2f} | {r['ratio']:.3f} "
                f"[{r['ratio_q25']:.3f}-{r['ratio_q75']:.3f}] |"
            )
    print(f"\nyardstick: one SGD step of a 64-128-10 MLP {data['torch_optimizer_step_us']:.1f} us")

    # 2. keras
    data["keras"] = []
    for sched in args.keras_schedules:
        for jit in (False, True) if args.jit else (False,):
            data["keras"].append(keras_figures(sched, args.keras_steps, args.keras_rounds, jit))
    print(
        f"\n## keras compiled train step ({args.keras_rounds} alternating rounds x "
        f"{args.keras_steps} steps)\n"
    )
    print("| schedule | backend | jit | ours us/step | CosineDecay us/step | ratio [q10-q90] |")
    print("|:--|:--|:--|--:|--:|--:|")
    for k in data["keras"]:
        print(
            f"| {k['schedule']} | {k['backend']} | {k['jit']} | {k['ours_us']:.1f} | "
            f"{k['ref_us']:.1f} | {k['ratio']:.3f} [{k['ratio_q10']:.3f}-{k['ratio_q90']:.3f}] |"
        )

    # 3. analysis
    data["analysis"] = analysis_speed.measure(args.analysis_repeats)
    print("\n## analyze(), 1,000-point sweep\n")
    for label, t in data["analysis"].items():
        print(
            f"- {label}: median {t['median'] * 1e3:.1f} ms, min {t['min'] * 1e3:.1f} ms "
            f"({t['runs']} runs)"
        )

    # goals
    t1 = data["torch"][1][OURS]
    print("\n## against the goals\n")
    print(
        f"- torch ScheduleLR (+momentum) / CyclicLR (+momentum), 1 group: {t1['ratio']:.3f} "
        f"[{t1['ratio_q25']:.3f}-{t1['ratio_q75']:.3f}], goal <= 0.333: "
        + ("met" if t1["ratio"] <= 1 / 3 else "MISSED")
    )
    for k in data["keras"]:
        print(
            f"- keras {k['schedule']} (jit={k['jit']}) / CosineDecay: {k['ratio']:.3f}, "
            "goal <= 1.10: " + ("met" if k["ratio"] <= 1.1 else "MISSED")
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, default=str))
    print(f"\nwritten: {args.out}")
    return data


if __name__ == "__main__":
    main()
