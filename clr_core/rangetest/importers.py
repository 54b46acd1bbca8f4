r"""Read the LR range tests other tools leave behind, with their smoothing undone.

Each tool stores a *smoothed* loss, not the loss it measured. A smoothed curve
lags the real one (an exponential moving average with factor ``beta`` trails by
about ``beta / (1 - beta)`` points: 49 points, several decades of rate on a
100-point sweep), so reading bounds off it puts them too high. Each tool's
smoothing is a known linear recursion started from a known state, so it can be
inverted exactly: the importers recover the losses each tool measured, and
:func:`~clr_core.rangetest.analyze` then reads them as it reads its own.

What each tool stores (``l_k`` the loss measured at point ``k``, ``s_k`` the value stored):

* **torch-lr-finder**, ``lr_finder.history = {"lr": [...], "loss": [...]}``:
  ``s_0 = l_0``, ``s_k = f l_k + (1 - f) s_{k-1}`` with ``f = smooth_f = 0.05``.
* **Lightning**, ``lr_finder.results = {"lr": [...], "loss": [...]}``:
  ``a_k = beta a_{k-1} + (1 - beta) l_k`` from ``a_{-1} = 0``, and
  ``s_k = a_k / (1 - beta^(g + k + 2))`` with ``beta = 0.98`` (``g`` the global step
  ``lr_find`` started at, 0 before training).
* **fastai**, ``learn.recorder.lrs`` and ``learn.recorder.losses``: the same ``a_k``, and
  ``s_k = a_k / (1 - beta^(k + 1))`` with ``beta = 0.98``.

Lightning's bias correction runs one step ahead (it divides by
``1 - beta^(step + 1)`` after ``global_step`` has already counted the step), so
its stored curve starts at about half the real loss and climbs over its first
few dozen points: read as it is, a sweep looks flat or rising at the start.
Inverting with the exponent it used removes that artefact too.

Standard library only; the tools' own objects (``LRFinder``, Lightning's
``_LRFinder``, a fastai ``Recorder`` or ``Learner``) are read by attribute, and
their values (floats, NumPy scalars, 0-d tensors) with ``float()``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..validation import MAX_STEPS, fail, integer, short_repr
from ._io import MAX_FILE_CHARS, SweepFileError, decode_float, read_json_or_csv

__all__ = [
    "ImportedSweep",
    "from_torch_lr_finder",
    "from_lightning",
    "from_fastai",
    "import_sweep",
    "read_sweep_file",
    "TOOLS",
    "OPTIONS",
    "MAX_FILE_CHARS",
]

#: The tools whose sweeps can be imported, as ``clr analyze --from`` names them.
TOOLS = ("torch-lr-finder", "lightning", "fastai")
#: The keyword options each importer takes.
OPTIONS: dict[str, tuple[str, ...]] = {
    "torch-lr-finder": ("smooth_f",),
    "lightning": ("beta", "start_step"),
    "fastai": ("beta",),
}
_NAMES = {"torch-lr-finder": "torch-lr-finder", "lightning": "Lightning", "fastai": "fastai"}


@dataclasses.dataclass(frozen=True)
class ImportedSweep:
    """A sweep another tool recorded, with the losses it measured recovered.

    Attributes
    ----------
    lrs : tuple of float
        The rate of each point.
    losses : tuple of float
        The losses the tool measured, recovered by inverting its smoothing
        (``nan`` after the first non-finite one).
    recorded : tuple of float
        The losses as the tool stored them (smoothed).
    tool : str
        One of :data:`TOOLS`.
    smoothing : dict
        What the tool did: ``{"kind": "ema", ...}`` with its parameters, or
        ``{"kind": "none"}`` when it did not smooth (``smooth_f=0``, ``beta=0``).
    notes : tuple of str
        Plain-English notes for the result's reasons.
    dropped : int
        Points left out (Lightning's markers for skipped batches).
    """

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    recorded: tuple[float, ...]
    tool: str
    smoothing: dict[str, Any]
    notes: tuple[str, ...] = ()
    dropped: int = 0

    @property
    def presmoothed(self) -> bool:
        """Whether the tool stored a smoothed loss (then undone here)."""
        return self.smoothing.get("kind") != "none"

    def provenance(self) -> dict[str, Any]:
        """What to keep with the result: the tool, its smoothing, what was done about it."""
        return {
            "imported_from": self.tool,
            "presmoothed": self.presmoothed,
            "smoothing": dict(self.smoothing),
            "smoothing_undone": self.presmoothed,
            "dropped_points": self.dropped,
        }

    def annotate(self, result: Any) -> Any:
        """``result`` with this import's notes appended to its reasons."""
        return dataclasses.replace(result, reasons=(*result.reasons, *self.notes))

    def analyze(self, **kwargs: Any) -> Any:
        """:func:`~clr_core.rangetest.analyze` the recovered losses; the notes join the reasons.

        Keyword arguments go to ``analyze`` (``provenance`` is merged with
        :meth:`provenance`).
        """
        from ._analysis import analyze

        provenance = {**self.provenance(), **dict(kwargs.pop("provenance", None) or {})}
        return self.annotate(analyze(self.lrs, self.losses, provenance=provenance, **kwargs))


# --------------------------------------------------------------------------- values


def _float(where: str, v: Any) -> float:
    if isinstance(v, str):
        try:
            return decode_float(v)
        except ValueError:
            raise ValueError(f"`{where}` must be a number. Received: {short_repr(v)}") from None
    if isinstance(v, bool):
        raise TypeError(f"`{where}` must be a number. Received: {short_repr(v)}")
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"`{where}` must be a number. Received: {short_repr(v)}") from None


def _floats(where: str, values: Any) -> list[float]:
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise TypeError(f"`{where}` must be a list of numbers. Received: {type(values).__name__}")
    return [_float(f"{where}[{i}]", v) for i, v in enumerate(values)]


def _pick(data: Any, where: str, attr: str, keys: Sequence[tuple[str, str]]) -> tuple[Any, Any]:
    """``(lrs, losses)`` from a dict with one of the key pairs, or an object holding one."""
    if not isinstance(data, dict) and hasattr(data, attr):
        data = getattr(data, attr)
    if isinstance(data, dict):
        for lr_key, loss_key in keys:
            if lr_key in data and loss_key in data:
                return data[lr_key], data[loss_key]
        wanted = " or ".join(f"{a!r} and {b!r}" for a, b in keys)
        got = sorted(map(str, data))
        raise ValueError(f"`{where}` must hold the keys {wanted}. Received keys: {got}")
    for lr_key, loss_key in keys:  # an object with list attributes (a fastai Recorder)
        if hasattr(data, lr_key) and hasattr(data, loss_key):
            return getattr(data, lr_key), getattr(data, loss_key)
    raise TypeError(
        f"`{where}` must be a dict with {keys[0][0]!r} and {keys[0][1]!r} (or the tool's object). "
        f"Received: {type(data).__name__}"
    )


def _pair(where: str, lrs_raw: Any, losses_raw: Any) -> tuple[list[float], list[float]]:
    lrs = _floats(f"{where} lr", lrs_raw)
    losses = _floats(f"{where} loss", losses_raw)
    if len(lrs) != len(losses):
        raise ValueError(
            f"`{where}` holds {len(lrs)} rates but {len(losses)} losses; they must pair up"
        )
    return lrs, losses


def _factor(name: str, value: Any) -> float:
    v = _float(name, value)
    if not 0.0 <= v < 1.0:
        raise fail(name, "in [0, 1)", value)
    return v


# --------------------------------------------------------------------------- inversion


def _invert(stored: list[float], beta: float, correction: Callable[[int], float]) -> list[float]:
    """The inputs ``l`` of ``a_k = beta a_{k-1} + (1 - beta) l_k`` from ``a_{-1} = 0``, given
    ``s_k = a_k / correction(k)``; ``nan`` after the first non-finite one."""
    out: list[float] = []
    previous = 0.0
    for s in stored:
        a = s * correction(len(out))
        value = (a - beta * previous) / (1.0 - beta)
        out.append(value)
        if not math.isfinite(value):
            break
        previous = a
    return out + [math.nan] * (len(stored) - len(out))


def _sanity(tool: str, stored: list[float], raw: list[float], param: str) -> list[str]:
    """A note when the recovered losses look like the wrong smoothing factor was assumed."""
    finite_stored = [s for s in stored if math.isfinite(s)]
    if not finite_stored or min(finite_stored) < 0:
        return []
    negative = sum(1 for v in raw if math.isfinite(v) and v < 0)
    if not negative:
        return []
    return [
        f"{negative} recovered loss(es) are negative though {_NAMES[tool]} stored none: "
        f"the sweep may not have been smoothed with this {param}; give the value it used."
    ]


def _undone(tool: str, how: str) -> str:
    return (
        f"Imported from {_NAMES[tool]}, which stores a smoothed loss ({how}); the measured "
        "losses were recovered by inverting it, and read as usual."
    )


def from_torch_lr_finder(history: Any, *, smooth_f: float = 0.05) -> ImportedSweep:
    """Import torch-lr-finder's ``lr_finder.history`` (``{"lr": [...], "loss": [...]}``).

    torch-lr-finder stores ``s_0 = l_0`` and ``s_k = f l_k + (1 - f) s_{k-1}``
    (``f = smooth_f``, 0.05 unless ``range_test`` was given another); this
    recovers ``l_k = (s_k - (1 - f) s_{k-1}) / f``. Pass the ``LRFinder`` itself
    or its ``history`` dict.

    Examples
    --------
    >>> raw = [2.0, 1.9, 1.5, 1.2, 3.0]
    >>> stored = [raw[0]]
    >>> for l in raw[1:]:
    ...     stored.append(0.05 * l + 0.95 * stored[-1])
    >>> [round(v, 9) for v in from_torch_lr_finder({"lr": [1, 2, 3, 4, 5], "loss": stored}).losses]
    [2.0, 1.9, 1.5, 1.2, 3.0]
    """
    tool = "torch-lr-finder"
    f = _factor("smooth_f", smooth_f)
    lrs, stored = _pair("history", *_pick(history, "history", "history", [("lr", "loss")]))
    if f == 0.0 or not stored:
        return ImportedSweep(tuple(lrs), tuple(stored), tuple(stored), tool, {"kind": "none"})
    # s_0 = l_0: the same recursion from a_{-1} = s_0 with no bias correction.
    raw = [stored[0]]
    for k in range(1, len(stored)):
        if not math.isfinite(raw[-1]):
            raw.append(math.nan)
        else:
            raw.append((stored[k] - (1.0 - f) * stored[k - 1]) / f)
    smoothing = {"kind": "ema", "smooth_f": f, "start": "first loss"}
    notes = [
        _undone(tool, f"moving average, smooth_f={f:g}"),
        *_sanity(tool, stored, raw, "smooth_f"),
    ]
    return ImportedSweep(tuple(lrs), tuple(raw), tuple(stored), tool, smoothing, tuple(notes))


def _skipped_batches(lrs: list[float], stored: list[float]) -> tuple[list[float], list[float], int]:
    """Drop Lightning's ``nan`` markers for skipped batches: a ``nan`` that a finite value
    follows (an average that met a real ``nan`` stays ``nan`` to the end)."""
    finite = [i for i, s in enumerate(stored) if math.isfinite(s)]
    last = finite[-1] if finite else -1
    keep = [i for i in range(len(stored)) if i > last or math.isfinite(stored[i])]
    return [lrs[i] for i in keep], [stored[i] for i in keep], len(stored) - len(keep)


def from_lightning(results: Any, *, beta: float = 0.98, start_step: int = 0) -> ImportedSweep:
    """Import Lightning's ``lr_finder.results`` (``{"lr": [...], "loss": [...]}``).

    Lightning's ``_LRCallback`` keeps ``a_k = beta a_{k-1} + (1 - beta) l_k``
    from ``a_{-1} = 0`` and stores ``s_k = a_k / (1 - beta^(g + k + 2))``, where
    ``g + k + 1`` is the trainer's ``global_step`` after the k-th step (``g``,
    ``start_step``, is 0 when ``Tuner.lr_find`` runs before training). This
    recovers ``l_k = (a_k - beta a_{k-1}) / (1 - beta)``. A ``nan`` that a finite
    value follows marks a batch whose ``training_step`` returned ``None``; those
    points are dropped. Pass the object ``lr_find`` returned or its ``results``.

    Examples
    --------
    >>> raw = [2.0, 1.9, 1.5, 1.2, 3.0]
    >>> a, stored = 0.0, []
    >>> for k, l in enumerate(raw):
    ...     a = 0.98 * a + 0.02 * l
    ...     stored.append(a / (1 - 0.98 ** (k + 2)))
    >>> [round(v, 9) for v in from_lightning({"lr": [1, 2, 3, 4, 5], "loss": stored}).losses]
    [2.0, 1.9, 1.5, 1.2, 3.0]
    """
    tool = "lightning"
    b = _factor("beta", beta)
    start_step = integer("start_step", start_step, low=0, high=MAX_STEPS)
    lrs, stored = _pair("results", *_pick(results, "results", "results", [("lr", "loss")]))
    lrs, stored, dropped = _skipped_batches(lrs, stored)
    notes = []
    if dropped:
        notes.append(f"{dropped} point(s) Lightning marked as skipped batches (nan) were dropped.")
    if b == 0.0:
        return ImportedSweep(
            tuple(lrs), tuple(stored), tuple(stored), tool, {"kind": "none"}, tuple(notes), dropped
        )
    raw = _invert(stored, b, lambda k: 1.0 - b ** (start_step + k + 2))
    smoothing = {"kind": "ema", "beta": b, "bias_correction": "1 - beta^(start_step + k + 2)",
                 "start_step": start_step}  # fmt: skip
    how = f"moving average, beta={b:g}, bias-corrected one step ahead"
    notes = [_undone(tool, how), *notes, *_sanity(tool, stored, raw, "beta")]
    return ImportedSweep(
        tuple(lrs), tuple(raw), tuple(stored), tool, smoothing, tuple(notes), dropped
    )


def from_fastai(recorder: Any, *, beta: float = 0.98) -> ImportedSweep:
    """Import fastai's ``learn.recorder`` (``lrs`` and ``losses``) after ``lr_find``.

    fastai's ``AvgSmoothLoss`` keeps ``a_k = beta a_{k-1} + (1 - beta) l_k`` from
    ``a_{-1} = 0`` and the recorder stores ``s_k = a_k / (1 - beta^(k + 1))``
    (``beta`` is the ``Recorder``'s, 0.98 by default). This recovers
    ``l_k = (a_k - beta a_{k-1}) / (1 - beta)``. Pass the ``Learner``, its
    ``recorder``, or a dict ``{"lrs": [...], "losses": [...]}`` (``"lr"`` and
    ``"loss"`` are read too).

    Examples
    --------
    >>> raw = [2.0, 1.9, 1.5, 1.2, 3.0]
    >>> a, stored = 0.0, []
    >>> for k, l in enumerate(raw):
    ...     a = 0.98 * a + 0.02 * l
    ...     stored.append(a / (1 - 0.98 ** (k + 1)))
    >>> [round(v, 9) for v in from_fastai({"lrs": [1, 2, 3, 4, 5], "losses": stored}).losses]
    [2.0, 1.9, 1.5, 1.2, 3.0]
    """
    tool = "fastai"
    keys = [("lrs", "losses"), ("lr", "loss")]
    b = _factor("beta", beta)
    lrs, stored = _pair("recorder", *_pick(recorder, "recorder", "recorder", keys))
    if b == 0.0:
        return ImportedSweep(tuple(lrs), tuple(stored), tuple(stored), tool, {"kind": "none"})
    raw = _invert(stored, b, lambda k: 1.0 - b ** (k + 1))
    smoothing = {"kind": "ema", "beta": b, "bias_correction": "1 - beta^(k + 1)"}
    notes = [_undone(tool, f"moving average, beta={b:g}, bias-corrected"),
             *_sanity(tool, stored, raw, "beta")]  # fmt: skip
    return ImportedSweep(tuple(lrs), tuple(raw), tuple(stored), tool, smoothing, tuple(notes))


_IMPORTERS: dict[str, Callable[..., ImportedSweep]] = {
    "torch-lr-finder": from_torch_lr_finder,
    "lightning": from_lightning,
    "fastai": from_fastai,
}


def import_sweep(tool: str, data: Any, **options: Any) -> ImportedSweep:
    """Import ``data`` recorded by ``tool`` (one of :data:`TOOLS`) with its importer."""
    if tool not in _IMPORTERS:
        raise fail("tool", f"one of {TOOLS}", tool)
    unknown = sorted(set(options) - set(OPTIONS[tool]))
    if unknown:
        raise TypeError(f"{tool} takes the options {OPTIONS[tool]}. Received: {unknown}")
    return _IMPORTERS[tool](data, **options)


def read_sweep_file(path: str | os.PathLike[str], tool: str, **options: Any) -> ImportedSweep:
    """Import a file holding a sweep ``tool`` recorded: JSON (the tool's dict, dumped with
    ``json.dump``; ``NaN`` allowed) or CSV with columns ``lr`` and ``loss``.

    Raises
    ------
    SweepFileError
        (a ``ValueError`` naming the file) for anything wrong in the file.
    OSError
        The file cannot be opened or read.
    """
    if tool not in _IMPORTERS:
        raise fail("tool", f"one of {TOOLS}", tool)
    name = os.fspath(path)
    data = read_json_or_csv(name, max_json_chars=MAX_FILE_CHARS)
    try:
        return import_sweep(tool, data, **options)
    except (ValueError, TypeError) as e:
        raise SweepFileError(f"{name}: {e}") from None
