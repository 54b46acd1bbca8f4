"""A range test's reading as files: plain dict data, strict JSON text, CSV.

These functions work on the plain-data form (:meth:`RangeTestResult.to_dict`),
never on the result class, so the value, the analysis and the files stay
apart: a CSV written by :meth:`RangeTestResult.to_csv` is read back as data;
a plain sweep CSV is analysed by :func:`~clr_core.rangetest.analyze`, not here.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import Any

from ..validation import boolean, fail, instance, real, short_repr
from . import _io
from ._io import META_PREFIX, SweepFileError, decode_float, encode_float, load_json, read_sweep_csv

__all__ = ["FORMAT", "to_dict", "from_dict", "write_json", "read_json", "write_csv", "read_csv"]

#: The ``"format"`` tag of the data.
FORMAT = "clr-rangetest/1"
_ARRAYS = ("lrs", "losses", "smoothed", "metrics")


def _arr(values: Any) -> list[float | str] | None:
    return None if values is None else [encode_float(x) for x in values]


def json_data(value: Any) -> Any:
    """``value`` as strict JSON data: non-finite floats become ``"nan"``/``"inf"`` strings,
    tuples lists (for diagnostics that hold numbers a huge loss overflowed)."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {k: json_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_data(v) for v in value]
    return value


def to_dict(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The strict-JSON data of a result's ``fields`` (non-finite floats as strings)."""
    return {
        "format": FORMAT,
        "base_lr": fields["base_lr"],
        "max_lr": fields["max_lr"],
        "lr": fields["lr"],
        "confidence": fields["confidence"],
        "reasons": list(fields["reasons"]),
        "suggestions": {k: encode_float(v) for k, v in fields["suggestions"].items()},
        "diverged": fields["diverged"],
        "bounds_from": fields["bounds_from"],
        "diagnostics": json_data(fields["diagnostics"]),
        "provenance": json_data(fields["provenance"]),
        **{k: _arr(fields[k]) for k in _ARRAYS},
    }


_KEYS = frozenset(
    ("format", "base_lr", "max_lr", "lr", "confidence", "reasons", "suggestions", "diverged",
     "bounds_from", "diagnostics", "provenance", *_ARRAYS)
)  # fmt: skip
#: The deepest the diagnostics and provenance may nest.
MAX_NESTING = 32


def _floats(name: str, values: Any) -> tuple[float, ...]:
    if not isinstance(values, list):
        raise fail(name, "a list of numbers", values, TypeError)
    try:
        return tuple(decode_float(v) for v in values)
    except (TypeError, ValueError, OverflowError):
        bad = next(i for i, v in enumerate(values) if not _decodes(v))
        raise fail(
            f"{name}[{bad}]", "a number or 'nan'/'inf'/'-inf'", values[bad], TypeError
        ) from None


def _decodes(v: Any) -> bool:
    try:
        decode_float(v)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _check_json(name: str, value: Any, depth: int = 0) -> Any:
    """``value`` itself when it is JSON data (str keys, ints within the float range, as
    JSON writers and readers take them), nested at most MAX_NESTING deep."""
    if depth > MAX_NESTING:
        raise fail(name, f"JSON data nested at most {MAX_NESTING} deep", "...")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise fail(name, "JSON data with string keys", k, TypeError)
            _check_json(f"{name}[{k!r}]", v, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(f"{name}[{i}]", v, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool):
        real(name, value)  # 10**5000 cannot be written back (nor read by json)
    elif not (value is None or isinstance(value, (bool, float, str))):
        raise fail(name, "JSON data", value, TypeError)
    return value


def from_dict(data: Any) -> dict[str, Any]:
    """The result's constructor keywords from :func:`to_dict` data, all of it checked.

    Every field is validated before anything is built: a wrong type, a
    missing or unknown key, ``base_lr > max_lr``, a confidence outside
    ``[0, 1]``, arrays of different lengths raise ``ValueError`` or
    ``TypeError`` naming the field.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"Not a clr-rangetest result (missing format {FORMAT!r}).")
    missing = sorted(_KEYS - set(data))
    unknown = sorted(map(str, set(data) - _KEYS))
    if missing or unknown:
        raise ValueError(
            f"A clr-rangetest result lacks key(s) {missing} or has unknown {short_repr(unknown)}."
        )
    reasons = data["reasons"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise fail("reasons", "a list of str", reasons, TypeError)
    suggestions = data["suggestions"]
    if not isinstance(suggestions, dict) or not all(isinstance(k, str) for k in suggestions):
        raise fail("suggestions", "a dict of named rates", suggestions, TypeError)
    arrays = {k: _floats(k, data[k]) for k in ("lrs", "losses", "smoothed")}
    metrics = None if data["metrics"] is None else _floats("metrics", data["metrics"])
    n = len(arrays["lrs"])
    for k, v in (*arrays.items(), ("metrics", metrics)):
        if v is not None and len(v) != n:
            raise fail(k, f"as long as lrs ({n} points)", f"{len(v)} points")
    return {
        "base_lr": data["base_lr"],
        "max_lr": data["max_lr"],
        "lr": data["lr"],
        "confidence": data["confidence"],
        "reasons": tuple(reasons),
        "suggestions": dict(
            zip(suggestions, _floats("suggestions", list(suggestions.values())), strict=True)
        ),
        **arrays,
        "metrics": metrics,
        "diverged": boolean("diverged", data["diverged"]),
        "bounds_from": data["bounds_from"],
        "diagnostics": dict(
            _check_json("diagnostics", instance("diagnostics", data["diagnostics"], dict, "a dict"))
        ),
        "provenance": dict(
            _check_json("provenance", instance("provenance", data["provenance"], dict, "a dict"))
        ),
    }


def _write(path: str | os.PathLike[str] | None, text: str, newline: str | None = None) -> None:
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8", newline=newline) as f:
            f.write(text)


def _read(source: str | os.PathLike[str], is_text: bool) -> tuple[str, str | None]:
    """``(text, file name)``: ``source`` itself when ``is_text`` (no name), else the file's
    text, read bounded (:func:`~clr_core.rangetest._io.read_text`: a FIFO without a writer
    reads as empty, ``/dev/zero`` is refused once past the limit)."""
    if not isinstance(source, (str, os.PathLike)):
        raise fail("source", "the text itself or a path (str or os.PathLike)", source, TypeError)
    if is_text:
        assert isinstance(source, str)
        return source, None
    name = os.fspath(source)
    return _io.read_text(name, _io.MAX_FILE_CHARS), name


def write_json(
    data: dict[str, Any], path: str | os.PathLike[str] | None, indent: int | None
) -> str:
    """Strict JSON text of ``data``; also written to ``path`` (with a final newline)."""
    text = json.dumps(data, indent=indent, allow_nan=False)
    _write(path, text + "\n")
    return text


def read_json(source: str | os.PathLike[str]) -> Any:
    """The data in JSON text (a string starting with ``{``) or in the file at ``source``.

    Raises
    ------
    ValueError
        Text that is not JSON or nests deeper than 100 levels; for a file, a
        :class:`SweepFileError` naming it (also for a file that is not UTF-8 or is
        longer than :data:`~clr_core.rangetest._io.MAX_FILE_CHARS` characters).
    OSError
        The file cannot be opened or read.
    """
    text, name = _read(source, isinstance(source, str) and source.lstrip().startswith("{"))
    try:
        return load_json(text)
    except ValueError as e:
        if name is None:
            raise
        raise SweepFileError(f"{name}: {e}") from None


def write_csv(data: dict[str, Any], path: str | os.PathLike[str] | None) -> str:
    """CSV text: a ``# clr-rangetest {json}`` metadata line, then one row per point.

    Columns ``lr,loss,smoothed`` (and ``metric`` when present), floats written
    with ``repr`` so they read back exactly.
    """
    meta = {k: v for k, v in data.items() if k not in _ARRAYS}
    meta["has_metric"] = data["metrics"] is not None
    columns = [data["lrs"], data["losses"], data["smoothed"]]
    names = ["lr", "loss", "smoothed"]
    if data["metrics"] is not None:
        columns.append(data["metrics"])
        names.append("metric")
    buf = io.StringIO()
    buf.write(META_PREFIX + json.dumps(meta, allow_nan=False) + "\n")
    buf.write(",".join(names) + "\n")
    for row in zip(*columns, strict=True):
        buf.write(",".join(repr(decode_float(v)) for v in row) + "\n")
    text = buf.getvalue()
    _write(path, text, newline="")
    return text


def read_csv(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The :func:`to_dict` data of a CSV that :func:`write_csv` wrote (text or a path).

    Raises
    ------
    SweepFileError
        For a CSV without the ``# clr-rangetest`` metadata line: a plain sweep
        is read with :func:`~clr_core.rangetest.read_sweep_csv` and analysed
        with :func:`~clr_core.rangetest.analyze`.
    """
    text, name = _read(source, isinstance(source, str) and "\n" in source)

    def stream() -> io.StringIO:
        buf = io.StringIO(text)
        if name is not None:
            buf.name = name  # read_sweep_csv's messages start with it
        return buf

    lrs, losses, _, meta = read_sweep_csv(stream())
    if meta is None:
        raise SweepFileError(
            ("" if name is None else f"{name}: ")
            + "not a RangeTestResult.to_csv() file (no '# clr-rangetest' metadata line); "
            "analyse a plain sweep with analyze(*read_sweep_csv(path)[:2])"
        )
    if not isinstance(meta, dict):
        raise SweepFileError("line 1: the clr-rangetest metadata must be a JSON object")
    data = {k: v for k, v in meta.items() if k != "has_metric"}
    smoothed = read_sweep_csv(stream(), "smoothed")[2] or []
    metrics = read_sweep_csv(stream(), "metric")[2] if meta.get("has_metric") else None
    data["lrs"] = _arr(lrs)
    data["losses"] = _arr(losses)
    data["smoothed"] = _arr(smoothed)
    data["metrics"] = _arr(metrics)
    return data
