"""The ``clr`` command line: ``clr analyze`` a recorded sweep, ``clr schedule`` a config.

Subcommands register themselves in :data:`SUBCOMMANDS`; ``clr demo`` is added by
``clr_core._demo`` when that module is present (its ``register(subparsers)``
function adds the parser and sets ``func``). Errors in the input print one line
to stderr and exit with status 2; there is never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main", "SUBCOMMANDS"]

#: Modules that may add subcommands: each defines ``register(subparsers) -> None``.
#: Missing modules are skipped silently (``clr_core._demo`` ships with the demo work).
PLUGIN_MODULES = ("clr_core._demo",)


class _UsageError(Exception):
    """Bad input: reported on one line, exit status 2."""


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .rangetest import analyze, read_sweep_csv

    try:
        lrs, losses, metrics, _ = read_sweep_csv(args.file, args.metric)
        result = analyze(
            lrs,
            losses,
            metrics,
            batch_size=args.batch_size,
            metric_mode=args.metric_mode,
            metric_name=args.metric,
            provenance={"source": str(args.file)},
        )
    except (OSError, ValueError, TypeError) as e:
        raise _UsageError(f"{args.file}: {e}") from None
    if args.json:
        out = result.to_dict()
        for key in ("lrs", "losses", "smoothed", "metrics"):
            out.pop(key)
        print(json.dumps(out, indent=1, allow_nan=False))
    else:
        print(result.summary())
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError:
            raise _UsageError("--plot needs matplotlib: pip install 'clr-core[plot]'") from None
        ax = result.plot()
        try:
            ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as e:
            raise _UsageError(f"cannot write {args.plot}: {e}") from None
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def _cmd_schedule(args: argparse.Namespace) -> int:
    from . import from_config

    try:
        if args.config.lstrip().startswith("{"):
            config = json.loads(args.config)
        else:
            with open(args.config, encoding="utf-8") as f:
                config = json.load(f)
        schedule = from_config(config)
    except (OSError, ValueError, TypeError) as e:
        raise _UsageError(f"{args.config}: {e}") from None
    values = [schedule(t) for t in range(args.steps)]
    for t, v in enumerate(values):
        print(f"{t}\t{v!r}")
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise _UsageError("--plot needs matplotlib: pip install 'clr-core[plot]'") from None
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(range(args.steps), values)
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        ax.set_title(type(schedule).__name__)
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
    return 0


def _add_analyze(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help="read the CLR bounds off a recorded range test",
        description="Analyse a recorded LR range test: a CSV with columns lr and loss "
        "(and optionally a metric). Prints base_lr, max_lr, the single-rate suggestions, "
        "the confidence and its reasons.",
    )
    p.add_argument("file", help="CSV file with a header naming columns lr and loss")
    p.add_argument("--metric", help="column holding a metric (e.g. accuracy) to read bounds from")
    p.add_argument(
        "--metric-mode", choices=("max", "min"), default="max", help="is the metric better high?"
    )
    p.add_argument("--batch-size", type=int, help="batch size of the sweep (for the record)")
    p.add_argument("--plot", metavar="FILE.png", help="draw the curve with the bounds marked")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_cmd_analyze)


def _add_schedule(sub: Any) -> None:
    p = sub.add_parser(
        "schedule",
        help="print a schedule's values from its JSON config",
        description="Evaluate a schedule given as to_config() JSON (a file or inline JSON).",
    )
    p.add_argument("config", help="JSON file or inline JSON from Schedule.to_config()")
    p.add_argument("--steps", type=int, required=True, help="number of steps to print")
    p.add_argument("--plot", metavar="FILE.png", help="also draw it")
    p.set_defaults(func=_cmd_schedule)


#: Built-in subcommands, name -> function adding its parser.
SUBCOMMANDS: dict[str, Callable[[Any], None]] = {
    "analyze": _add_analyze,
    "schedule": _add_schedule,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clr", description="Cyclical learning rates and the LR range test."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS.values():
        add(sub)
    for name in PLUGIN_MODULES:  # e.g. `clr demo`, when its module is installed
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``clr`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed its one-line usage error
        return int(e.code) if isinstance(e.code, int) else 2
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except _UsageError as e:
        print(f"clr {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
