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

from ._io import META_PREFIX, SweepFileError, decode_float, encode_float, read_sweep_csv

__all__ = ["FORMAT", "to_dict", "from_dict", "write_json", "read_json", "write_csv", "read_csv"]

#: The ``"format"`` tag of the data.
FORMAT = "clr-rangetest/1"
_ARRAYS = ("lrs", "losses", "smoothed", "metrics")


def _arr(values: Any) -> list[float | str] | None:
    return None if values is None else [encode_float(x) for x in values]


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
        "diagnostics": fields["diagnostics"],
        "provenance": fields["provenance"],
        **{k: _arr(fields[k]) for k in _ARRAYS},
    }


def from_dict(data: Any) -> dict[str, Any]:
    """The result's constructor keywords from :func:`to_dict` data."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"Not a clr-rangetest result (missing format {FORMAT!r}).")

    def arr(v: Any) -> tuple[float, ...] | None:
        return None if v is None else tuple(decode_float(x) for x in v)

    return {
        "base_lr": float(data["base_lr"]),
        "max_lr": float(data["max_lr"]),
        "lr": float(data["lr"]),
        "confidence": float(data["confidence"]),
        "reasons": tuple(data["reasons"]),
        "suggestions": {k: decode_float(v) for k, v in data["suggestions"].items()},
        "lrs": arr(data["lrs"]) or (),
        "losses": arr(data["losses"]) or (),
        "smoothed": arr(data["smoothed"]) or (),
        "metrics": arr(data["metrics"]),
        "diverged": bool(data["diverged"]),
        "bounds_from": str(data["bounds_from"]),
        "diagnostics": dict(data["diagnostics"]),
        "provenance": dict(data["provenance"]),
    }


def _write(path: str | os.PathLike[str] | None, text: str, newline: str | None = None) -> None:
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8", newline=newline) as f:
            f.write(text)


def _read(source: str | os.PathLike[str], is_text: bool) -> str:
    if is_text:
        assert isinstance(source, str)
        return source
    with open(os.fspath(source), encoding="utf-8", newline="") as f:
        return f.read()


def write_json(
    data: dict[str, Any], path: str | os.PathLike[str] | None, indent: int | None
) -> str:
    """Strict JSON text of ``data``; also written to ``path`` (with a final newline)."""
    text = json.dumps(data, indent=indent, allow_nan=False)
    _write(path, text + "\n")
    return text


def read_json(source: str | os.PathLike[str]) -> Any:
    """The data in JSON text (a string starting with ``{``) or in the file at ``source``."""
    return json.loads(_read(source, isinstance(source, str) and source.lstrip().startswith("{")))


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
    text = _read(source, isinstance(source, str) and "\n" in source)
    lrs, losses, _, meta = read_sweep_csv(io.StringIO(text))
    if meta is None:
        raise SweepFileError(
            "not a RangeTestResult.to_csv() file (no '# clr-rangetest' metadata line); "
            "analyse a plain sweep with analyze(*read_sweep_csv(path)[:2])"
        )
    if not isinstance(meta, dict):
        raise SweepFileError("line 1: the clr-rangetest metadata must be a JSON object")
    data = {k: v for k, v in meta.items() if k != "has_metric"}
    smoothed = read_sweep_csv(io.StringIO(text), "smoothed")[2] or []
    metrics = read_sweep_csv(io.StringIO(text), "metric")[2] if meta.get("has_metric") else None
    data["lrs"] = _arr(lrs)
    data["losses"] = _arr(losses)
    data["smoothed"] = _arr(smoothed)
    data["metrics"] = _arr(metrics)
    return data
