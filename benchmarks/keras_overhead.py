"""Cost of a clr_keras schedule inside a compiled Keras train step vs Keras's CosineDecay.

Two identical small MLPs (digits-sized: 64 -> 256 -> 256 -> 10, batch 64) are
compiled with SGD(momentum=0.9): one with ``clr_keras.CoreSchedule`` over a
clr_core schedule, one with ``keras.optimizers.schedules.CosineDecay``. Each
round times ``model.fit`` over the same N batches for both, in alternating
order (A B, B A, ...), after a warm-up fit that traces the train functions.
Reported: median time per step for each and the per-round ratio
ours / CosineDecay (median and 10th-90th percentiles). Goal: within 10%.

Run:  KERAS_BACKEND=tensorflow python benchmarks/keras_overhead.py [--jit] [--schedule one_cycle]
(``--json`` prints the figures as one JSON line instead; benchmarks/overhead.py uses it.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path[:0] = [
    os.path.join(os.path.dirname(__file__), ".."),
    os.path.join(os.path.dirname(__file__), "..", "adapters", "keras"),
]

import keras
import numpy as np

import clr_core
import clr_keras

SCHEDULES = {
    "triangular2": lambda n: clr_core.Triangular2(1e-3, 0.1, step_size_up=max(1, n // 8)),
    "one_cycle": lambda n: clr_core.OneCycle(0.1, total_steps=max(2, n)),
    "exp_range": lambda n: clr_core.ExpRange(1e-3, 0.1, step_size_up=max(1, n // 8), gamma=0.999),
}


def build(lr, jit):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    return model


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Time both models and print (or, with ``--json``, emit) the ratio; return the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=200, help="train steps per timed fit")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--jit", action="store_true", help="jit_compile=True (XLA / jax.jit)")
    p.add_argument("--schedule", choices=sorted(SCHEDULES), default="triangular2")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(argv)

    bs, n = 64, args.steps
    rng = np.random.default_rng(0)
    x = rng.normal(size=(bs * n, 64)).astype("float32")
    y = rng.integers(0, 10, size=bs * n).astype("int32")
    ours = build(clr_keras.CoreSchedule(SCHEDULES[args.schedule](n)), args.jit)
    ref = build(keras.optimizers.schedules.CosineDecay(0.1, decay_steps=n), args.jit)

    def timed(model):
        t = time.perf_counter()
        model.fit(x, y, batch_size=bs, epochs=1, verbose=0, shuffle=False)
        return (time.perf_counter() - t) / n

    for m in (ours, ref):  # warm-up: trace and compile
        timed(m)
    t_ours, t_ref, ratios = [], [], []
    for r in range(args.rounds):
        pair = (ours, ref) if r % 2 == 0 else (ref, ours)
        a, b = (timed(m) for m in pair)
        to, tr = (a, b) if r % 2 == 0 else (b, a)
        t_ours.append(to)
        t_ref.append(tr)
        ratios.append(to / tr)
    q10, q50, q90 = np.percentile(ratios, [10, 50, 90])
    out = {
        "backend": keras.backend.backend(),
        "jit": args.jit,
        "schedule": args.schedule,
        "steps": n,
        "rounds": args.rounds,
        "ours_us": float(np.median(t_ours) * 1e6),
        "ref_us": float(np.median(t_ref) * 1e6),
        "ratio": float(q50),
        "ratio_q10": float(q10),
        "ratio_q90": float(q90),
    }
    if args.json:
        print(json.dumps(out))
        return out
    print(
        f"backend={keras.backend.backend()} jit={args.jit} schedule={args.schedule} "
        f"steps={n} rounds={args.rounds}"
    )
    print(f"  clr_keras.CoreSchedule : {out['ours_us']:8.1f} us/step (median)")
    print(f"  keras CosineDecay      : {out['ref_us']:8.1f} us/step (median)")
    print(f"  ratio ours/CosineDecay : {q50:.3f}  (10-90%: {q10:.3f}-{q90:.3f})  goal <= 1.10")
    return out


if __name__ == "__main__":
    main()
