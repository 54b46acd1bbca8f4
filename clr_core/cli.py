"""The ``clr`` command line: ``clr analyze`` a recorded sweep, ``clr schedule`` a config.

Other packages add commands through the ``clr.commands`` entry-point group: each
entry point, named after its command, is a function ``register(subparsers)``
that adds one argparse parser of that name and sets its ``func`` default to a
callable ``func(args) -> int`` (the exit status). A command whose entry point
cannot be loaded still answers, on one line, with what to install.

Every error in the input prints one line to stderr and exits with status 2;
there is never a traceback for bad input. Reads are bounded (see
:mod:`clr_core.rangetest._io`): no file, FIFO or device makes ``clr`` hang or
exhaust memory.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import io
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["main", "SUBCOMMANDS", "ENTRY_POINT_GROUP"]

#: The entry-point group other distributions add ``clr`` commands to.
ENTRY_POINT_GROUP = "clr.commands"
#: The largest config file ``clr schedule`` reads (a 20,000-piece Join is 0.85 MB).
MAX_CONFIG_CHARS = 4 << 20
#: ``clr schedule --plot`` draws every step up to this many, then the min-max envelope.
MAX_PLOT_POINTS = 10_000
#: Lines ``clr schedule`` writes at once (output is streamed, never held).
_CHUNK = 4096


class _UsageError(Exception):
    """Bad input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the usage block too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


#: An error message longer than this is cut (a config's repr can be megabytes).
_MAX_MESSAGE = 1000


def _one_line(text: str) -> str:
    line = " ".join(str(text).replace("\r", "\n").split("\n")).strip()
    if len(line) > _MAX_MESSAGE:
        line = line[:_MAX_MESSAGE] + f"... ({len(line) - _MAX_MESSAGE:,} more characters)"
    return line


def _os_reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


# --------------------------------------------------------------------------- output


def _strict_json(value: Any) -> Any:
    """``value`` as strict JSON data: non-finite floats become ``"nan"``/``"inf"``/``"-inf"``."""
    from .rangetest._io import encode_float

    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


def _plot_format(path: str | None) -> str | None:
    """The file format ``--plot path`` asks for (its extension, else PNG), checked up front."""
    if path is None:
        return None
    if not path.strip():
        raise _UsageError("--plot needs a file name (it was given an empty one)")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise _UsageError("--plot needs matplotlib: pip install 'clr-core[plot]'") from None
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    supported = Figure().canvas.get_supported_filetypes()
    if fmt not in supported:
        raise _UsageError(
            f"--plot {path}: cannot write the format {fmt!r} (from the extension); "
            f"use one of {', '.join(sorted(supported))}"
        )
    return fmt


def _render(draw: Callable[[Any], None], fmt: str) -> bytes:
    """Draw on a fresh figure (no pyplot state) and return the file's bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in tick maths: noise
            draw(ax)
            fig.savefig(buf, format=fmt, dpi=120, bbox_inches="tight")
    except (ValueError, ArithmeticError, RuntimeError) as e:  # LinAlgError is a ValueError
        raise _UsageError(f"cannot draw the plot: {type(e).__name__}: {e}") from None
    return buf.getvalue()


def _write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` exactly (no extension added); any failure is an error."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)  # a FIFO with no reader fails instead of hanging
    try:
        fd = os.open(path, flags | nonblock, 0o666)
        try:
            if nonblock:
                os.set_blocking(fd, True)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as e:
        raise _UsageError(f"cannot write the plot to {path}: {_os_reason(e)}") from None


def _save_plot(path: str, fmt: str, draw: Callable[[Any], None]) -> str:
    _write_file(path, _render(draw, fmt))
    shown = "" if os.path.splitext(path)[1] else f" ({fmt.upper()})"
    return f"plot written to {path}{shown}"


# --------------------------------------------------------------------------- analyze


def _read_for_analysis(args: argparse.Namespace) -> tuple[Any, ...]:
    """``(lrs, losses, metrics, provenance, imported)`` from the file ``args`` names."""
    if args.source is None:
        for option, value in (("--beta", args.beta), ("--smooth-f", args.smooth_f),
                              ("--start-step", args.start_step)):  # fmt: skip
            if value is not None:
                raise _UsageError(f"{option} applies to --from files only")
        from .rangetest._io import read_sweep_csv, wanted_columns

        try:
            wanted_columns(args.metric)
        except ValueError as e:
            raise _UsageError(f"--metric: {e}") from None
        lrs, losses, metrics, _ = read_sweep_csv(args.file, args.metric)
        return lrs, losses, metrics, {"source": str(args.file)}, None
    from .rangetest.importers import OPTIONS, read_sweep_file

    if args.metric is not None:
        raise _UsageError(f"--metric: a {args.source} sweep holds no metric, only lr and loss")
    options = {"beta": args.beta, "smooth_f": args.smooth_f, "start_step": args.start_step}
    for key, value in options.items():
        if value is not None and key not in OPTIONS[args.source]:
            flag = "--" + key.replace("_", "-")
            raise _UsageError(
                f"{flag} does not apply to --from {args.source} "
                f"(it takes {', '.join('--' + o.replace('_', '-') for o in OPTIONS[args.source])})"
            )
    imported = read_sweep_file(
        args.file, args.source, **{k: v for k, v in options.items() if v is not None}
    )
    prov = {"source": str(args.file), **imported.provenance()}
    return imported.lrs, imported.losses, None, prov, imported


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .rangetest import analyze
    from .rangetest._io import SweepFileError

    fmt = _plot_format(args.plot)
    try:
        lrs, losses, metrics, provenance, imported = _read_for_analysis(args)
        result = analyze(
            lrs,
            losses,
            metrics,
            batch_size=args.batch_size,
            metric_mode=args.metric_mode,
            metric_name=args.metric,
            provenance=provenance,
        )
    except SweepFileError as e:  # names the file itself
        raise _UsageError(str(e)) from None
    except OSError as e:
        raise _UsageError(f"{args.file}: {_os_reason(e)}") from None
    except (ValueError, TypeError, ArithmeticError) as e:
        raise _UsageError(f"{args.file}: {e}") from None
    if imported is not None:
        result = imported.annotate(result)
    written = None
    if args.plot is not None and fmt is not None:
        written = _save_plot(args.plot, fmt, lambda ax: result.plot(ax))
    if args.json:
        out = result.to_dict()
        for key in ("lrs", "losses", "smoothed", "metrics"):
            out.pop(key)
        print(json.dumps(_strict_json(out), indent=1, allow_nan=False))
    else:
        print(result.summary())
        if written:
            print(written)
    return 0


# --------------------------------------------------------------------------- schedule


def _load_schedule(text: str) -> Any:
    """The schedule a config describes (from_config refuses a shape or a scale)."""
    from . import from_config
    from .rangetest._io import SweepFileError, load_json, read_text

    inline = text.lstrip().startswith(("{", "["))
    label = "config" if inline else text
    try:
        if not inline:
            text = read_text(text, MAX_CONFIG_CHARS)
        config = load_json(text, what="the config")
        schedule = from_config(config)
    except SweepFileError as e:
        raise _UsageError(str(e)) from None
    except OSError as e:
        raise _UsageError(f"{label}: {_os_reason(e)}") from None
    except RecursionError:
        raise _UsageError(f"{label}: the config nests too deeply") from None
    except OverflowError as e:
        raise _UsageError(f"{label}: a number in it is too large ({e})") from None
    except (ValueError, TypeError, ArithmeticError) as e:
        raise _UsageError(f"{label}: {e}") from None
    return schedule


class _Envelope:
    """Min and max of a schedule over bins of steps: a faithful plot of any length."""

    def __init__(self, steps: int) -> None:
        self.size = max(1, math.ceil(steps / MAX_PLOT_POINTS))
        self.x: list[int] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, t: int, v: float) -> None:
        if t % self.size == 0:
            self.x.append(t)
            self.lo.append(v)
            self.hi.append(v)
        else:
            self.lo[-1] = min(self.lo[-1], v)
            self.hi[-1] = max(self.hi[-1], v)

    def draw(self, ax: Any, title: str) -> None:
        if self.size == 1:
            ax.plot(self.x, self.lo)
        else:
            ax.fill_between(self.x, self.lo, self.hi, step="post", lw=0.8)
            title += f" (min-max over each {self.size:,} steps)"
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        ax.set_title(title)


def _cmd_schedule(args: argparse.Namespace) -> int:
    fmt = _plot_format(args.plot)
    schedule = _load_schedule(args.config)
    envelope = _Envelope(args.steps) if fmt is not None else None
    out = sys.stdout
    lines: list[str] = []
    t = 0
    try:
        for t in range(args.steps):
            v = schedule(t)
            lines.append(f"{t}\t{v!r}\n")
            if envelope is not None:
                envelope.add(t, v)
            if len(lines) == _CHUNK:
                out.write("".join(lines))
                out.flush()
                lines.clear()
    except (ValueError, TypeError, ArithmeticError) as e:
        raise _UsageError(f"cannot evaluate the schedule at step {t}: {e}") from None
    finally:
        out.write("".join(lines))
        out.flush()
    if envelope is not None and fmt is not None:
        name = type(schedule).__name__
        print(_save_plot(args.plot, fmt, lambda ax: envelope.draw(ax, name)), file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- parsers


def _whole(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _add_analyze(sub: Any) -> None:
    from .rangetest.importers import TOOLS

    p = sub.add_parser(
        "analyze",
        help="read the CLR bounds off a recorded range test",
        description="Analyse a recorded LR range test: a CSV with columns lr and loss "
        "(and optionally a metric), or with --from the curve another tool left behind. "
        "Prints base_lr, max_lr, the single-rate suggestions, the confidence and its reasons.",
    )
    p.add_argument("file", help="CSV file with a header naming columns lr and loss")
    p.add_argument("--metric", help="column holding a metric (e.g. accuracy) to read bounds from")
    p.add_argument(
        "--metric-mode", choices=("max", "min"), default="max", help="is the metric better high?"
    )
    p.add_argument("--batch-size", type=_whole(1), help="batch size of the sweep (for the record)")
    p.add_argument("--plot", metavar="FILE.png", help="draw the curve with the bounds marked")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    g = p.add_argument_group("sweeps recorded by other tools")
    g.add_argument(
        "--from",
        dest="source",
        choices=TOOLS,
        help="FILE is a curve that tool recorded (JSON, or CSV with lr,loss); its smoothing "
        "is undone before the analysis",
    )
    g.add_argument(
        "--beta",
        type=_fraction,
        help="the smoothing factor Lightning or fastai used (default: theirs, 0.98)",
    )
    g.add_argument(
        "--smooth-f",
        type=_fraction,
        help="the smooth_f torch-lr-finder used (default: its own, 0.05)",
    )
    g.add_argument(
        "--start-step",
        type=_whole(0),
        help="Lightning only: the trainer's global_step when lr_find started (default 0)",
    )
    p.set_defaults(func=_cmd_analyze)


def _add_schedule(sub: Any) -> None:
    p = sub.add_parser(
        "schedule",
        help="print a schedule's values from its JSON config",
        description="Evaluate a schedule given as to_config() JSON (a file or inline JSON) "
        "and print step<TAB>value lines as they are computed.",
    )
    p.add_argument("config", help="JSON file or inline JSON from Schedule.to_config()")
    p.add_argument("--steps", type=_whole(1), required=True, help="number of steps to print (>= 1)")
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help=f"also draw it (every step up to {MAX_PLOT_POINTS:,}, then the min-max envelope)",
    )
    p.set_defaults(func=_cmd_schedule)


#: Built-in subcommands, name -> function adding its parser.
SUBCOMMANDS: dict[str, Callable[[Any], None]] = {
    "analyze": _add_analyze,
    "schedule": _add_schedule,
}


# --------------------------------------------------------------------------- plugins


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The ``clr.commands`` entry points, first of each name, built-in names excluded."""
    seen = set(SUBCOMMANDS)
    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in seen:
            seen.add(ep.name)
            found.append(ep)
    return found


def _install_hint(ep: importlib.metadata.EntryPoint) -> str:
    """What to install for a command: the extra named like it, if its distribution has one."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return f"reinstall the package that provides {ep.value!r}"
    extras = dist.metadata.get_all("Provides-Extra") or []
    if ep.name in extras:
        return f"pip install '{dist.name}[{ep.name}]'"
    return f"pip install --force-reinstall '{dist.name}'"


def _unavailable(message: str, args: argparse.Namespace) -> int:
    raise _UsageError(message)


def _register(sub: Any, ep: importlib.metadata.EntryPoint) -> None:
    """Add the command ``ep`` provides; one that fails to load answers with what to install."""
    try:
        register = ep.load()
        register(sub)
        if ep.name in sub.choices:
            return
        problem = f"{ep.value} did not add a command named {ep.name!r}"
    except Exception as e:  # anything a broken plugin raises: reported, never a traceback
        if isinstance(e, ModuleNotFoundError) and e.name:
            problem = f"it needs {e.name}, which is not installed"
        else:
            problem = f"{type(e).__name__}: {e}"
    message = f"this command cannot load ({_one_line(problem)}); install it with: "
    func = functools.partial(_unavailable, message + _install_hint(ep))
    # no options (prefix "\x00"): every argument, --help too, reaches the message
    if ep.name in sub.choices:  # the plugin added its parser, then failed: replace it
        p = _Parser(prog=f"clr {ep.name}", add_help=False, prefix_chars="\x00")
        sub.choices[ep.name] = p
    else:
        help_ = "(cannot load: run it for details)"
        p = sub.add_parser(ep.name, help=help_, add_help=False, prefix_chars="\x00")
    p.add_argument("args", nargs="*")
    p.set_defaults(func=func)


def _parser(command: str | None) -> tuple[argparse.ArgumentParser, Any]:
    parser = _Parser(prog="clr", description="Cyclical learning rates and the LR range test.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS.values():
        add(sub)
    if command not in SUBCOMMANDS:  # a built-in command never loads a plugin
        for ep in _entry_points():
            if command is None or command == ep.name or command.startswith("-"):
                _register(sub, ep)
    return parser, sub


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``clr`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else None
    if (
        command is not None
        and command not in SUBCOMMANDS
        and not command.startswith("-")
        and all(ep.name != command for ep in _entry_points())
    ):
        command = None  # unknown: list every command in the error
    parser, sub = _parser(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0), or the one-line usage error already printed (2)
        return e.code if isinstance(e.code, int) else 2
    func = getattr(args, "func", None)
    if func is None:
        choices = ", ".join(sorted(sub.choices))
        print(f"clr: error: give a command: {choices} (see clr --help)", file=sys.stderr)
        return 2
    try:
        return int(func(args))
    except _UsageError as e:
        print(f"clr {args.command}: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clr {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `clr schedule ... | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
