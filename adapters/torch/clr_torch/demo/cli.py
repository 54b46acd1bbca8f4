"""``clr demo``: the demo's command line, registered with ``clr`` through an entry point.

clr-core declares, in its ``pyproject.toml``::

    [project.entry-points."clr.commands"]
    demo = "clr_torch.demo.cli:register"

and ``clr`` (:mod:`clr_core.cli`) calls :func:`register` with its subparsers
when ``clr demo`` (or ``clr --help``) runs. ``python -m clr_torch.demo`` runs
the same command without ``clr`` (:func:`main`), e.g. from a source checkout
that was never installed, where no entry point exists.

Requirements this module is written against:

* importing it loads the standard library only (and ``clr_torch``'s package
  file, which imports nothing without torch): the demo itself
  (:mod:`clr_torch.demo.run`, which needs torch, numpy, tqdm, matplotlib and
  mnist1d or scikit-learn) is imported when the command runs, never before;
  so ``clr demo --help`` works without torch;
* a missing dependency is reported on one line naming it and the command that
  installs it, with exit status 2 and no traceback;
* every option is declared here.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["register", "add_arguments", "main", "INSTALL_HINT", "PRESETS"]

#: What to run when a dependency of the demo is missing (from the source checkout).
INSTALL_HINT = 'pip install "torch==2.13.0" ".[demo]"'

#: Preset name -> one line for ``--help`` (the numbers live in ``clr_torch.demo.run``).
PRESETS = {
    "quick": "2 seeds, 12 epochs (about 15 s; the CI smoke test)",
    "default": "5 seeds, 30 epochs (about 40 s; 70 s with --jobs 1)",
    "full": "10 seeds, 50 epochs, 5 longer range tests (publication grade; about 3.5x the "
    "default's training)",
}

# module to import -> distribution to name in the message
_NEEDED = (
    ("torch", "torch"),
    ("numpy", "numpy"),
    ("tqdm", "tqdm"),
    ("matplotlib", "matplotlib"),
)
_PER_DATASET = {"mnist1d": ("mnist1d", "mnist1d"), "digits": ("sklearn", "scikit-learn")}

_DESCRIPTION = (
    "Run an LR range test on a small 1-D CNN (MNIST-1D, offline), then train with the "
    "suggested fixed rate, with triangular, triangular2, exp_range and 1cycle between the "
    "bounds found, and with the plan result.recommend() gives for the budget, over several "
    "seeds, in --jobs worker processes. Prints the paper's table (final accuracy, iterations to "
    "reach the fixed rate's best accuracy, speed-up) and writes it with figures to --out. "
    "Presets (one torch thread a process, times measured on a 2-core machine): default "
    + PRESETS["default"]
    + "; --quick "
    + PRESETS["quick"]
    + "; --full "
    + PRESETS["full"]
    + ". Needs the demo extra: "
    + INSTALL_HINT
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, or sys.modules[module] is None
        return False


def _missing(dataset: str) -> list[str]:
    needed = [*_NEEDED, _PER_DATASET.get(dataset, _PER_DATASET["mnist1d"])]
    return [dist for module, dist in needed if not _importable(module)]


def _say_missing(names: list[str]) -> int:
    what = ", ".join(names)
    print(
        f"clr demo: error: missing {what}; install the demo with: {INSTALL_HINT}", file=sys.stderr
    )
    return 2


def _cmd_demo(args: argparse.Namespace) -> int:
    missing = _missing(args.dataset)
    if missing:
        return _say_missing(missing)
    try:
        run = importlib.import_module(".run", __package__)
    except ImportError as e:  # present but broken
        return _say_missing([e.name or str(e)])
    try:
        return int(run.main(args))
    except ImportError as e:  # a lazy import inside the demo (data set, plotting)
        return _say_missing([e.name or str(e)])


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare every ``clr demo`` option on ``p``."""
    preset = p.add_mutually_exclusive_group()
    preset.add_argument(
        "--quick", dest="preset", action="store_const", const="quick", help=PRESETS["quick"]
    )
    preset.add_argument(
        "--full", dest="preset", action="store_const", const="full", help=PRESETS["full"]
    )
    p.set_defaults(preset="default")
    p.add_argument(
        "--dataset",
        choices=("mnist1d", "digits"),
        default="mnist1d",
        help="MNIST-1D generated offline (default) or scikit-learn's bundled digits",
    )
    p.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default="sgd",
        help="SGD with momentum 0.9 (default), or Adam: the paper's adaptive-optimizer "
        "comparison (the range test is redone with Adam)",
    )
    p.add_argument(
        "--seeds", type=_positive_int, metavar="N", help="training seeds per policy (overrides)"
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="epoch budget of the cyclic policies (overrides; the fixed rate gets twice this)",
    )
    p.add_argument(
        "--out",
        default="clr-demo-out",
        metavar="DIR",
        help="output folder for results.md, results.json and the figures "
        "(default: clr-demo-out; files appear only when the run completes)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout (no progress bars)"
    )
    p.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="worker processes running the independent runs (default: one per core); "
        "every run is seeded, so the numbers do not depend on it",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="torch intra-op threads in each process (default 1)",
    )


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand to ``clr``'s subparsers (the ``clr.commands`` entry point)."""
    p = subparsers.add_parser(
        "demo",
        help="re-run the CLR paper's Table 1 in miniature (offline, CPU)",
        description=_DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_demo)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clr_torch.demo [options]``: ``clr demo`` without ``clr``; the exit status."""
    p = argparse.ArgumentParser(prog="clr demo", description=_DESCRIPTION)
    add_arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help, or argparse's usage error (already printed)
        return e.code if isinstance(e.code, int) else 2
    return _cmd_demo(args)
