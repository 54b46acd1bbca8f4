"""Lossless text forms: floats that may be non-finite, and sweep CSV files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

__all__ = ["SweepFileError", "encode_float", "decode_float", "read_sweep_csv", "META_PREFIX"]

#: First line of a CSV written by :meth:`RangeTestResult.to_csv`, followed by JSON metadata.
META_PREFIX = "# clr-rangetest "


class SweepFileError(ValueError):
    """A sweep file that cannot be read: missing columns, non-numeric values and the like."""


def encode_float(x: float) -> float | str:
    """A float as strict JSON data: finite values as numbers, ``nan``/``inf``/``-inf`` as strings.

    >>> encode_float(0.5), encode_float(float("nan")), encode_float(float("-inf"))
    (0.5, 'nan', '-inf')
    """
    x = float(x)
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "nan"
    return "inf" if x > 0 else "-inf"


def decode_float(v: Any) -> float:
    """Invert :func:`encode_float` (``repr`` of a float read back is exact).

    >>> decode_float("inf"), decode_float(2)
    (inf, 2.0)
    """
    if isinstance(v, str):
        if v in ("nan", "inf", "-inf"):
            return float(v)
        raise ValueError(f"Expected a number or 'nan'/'inf'/'-inf'. Received: {v!r}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"Expected a number. Received: {v!r}")
    return float(v)


def _number(text: str, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SweepFileError(
            f"line {line}: column {column!r} holds a non-numeric value {text.strip()!r}"
        ) from None


def read_sweep_csv(
    source: str | os.PathLike[str] | io.TextIOBase, metric: str | None = None
) -> tuple[list[float], list[float], list[float] | None, dict[str, Any] | None]:
    """Read a recorded sweep: a CSV with a header naming columns ``lr`` and ``loss``.

    Column names match case-insensitively; other columns are ignored unless
    ``metric`` names one of them. Empty lines and lines starting with ``#`` are
    skipped, except that a first line starting with ``# clr-rangetest `` carries
    the JSON metadata written by :meth:`RangeTestResult.to_csv`.

    Returns
    -------
    (lrs, losses, metrics or None, metadata or None)

    Raises
    ------
    SweepFileError
        (a ``ValueError``) for a missing header or column, a non-numeric cell
        or a ragged row; ``OSError`` if the file cannot be opened.
    """
    if isinstance(source, io.TextIOBase):
        text = source.read()
        name = getattr(source, "name", "<stream>")
    else:
        name = os.fspath(source)
        with open(name, encoding="utf-8", newline="") as f:
            text = f.read()
    meta: dict[str, Any] | None = None
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if lineno == 1 and line.startswith(META_PREFIX):
            try:
                meta = json.loads(line[len(META_PREFIX) :])
            except json.JSONDecodeError as e:
                raise SweepFileError(f"line 1: unreadable clr-rangetest metadata ({e})") from None
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((lineno, next(csv.reader([line]))))
    if not rows:
        raise SweepFileError(f"{name}: no header line (expected columns lr,loss)")
    _header_line, header = rows[0]
    names = [h.strip().lower() for h in header]
    index = {h: i for i, h in enumerate(names)}
    wanted = ["lr", "loss"] + ([metric.strip().lower()] if metric is not None else [])
    missing = [w for w in wanted if w not in index]
    if missing:
        raise SweepFileError(
            f"{name}: missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {', '.join(repr(h) for h in names)}"
        )
    cols: dict[str, list[float]] = {w: [] for w in wanted}
    for lineno, cells in rows[1:]:
        if len(cells) != len(names):
            raise SweepFileError(f"line {lineno}: expected {len(names)} values, found {len(cells)}")
        for w in wanted:
            cols[w].append(_number(cells[index[w]], lineno, w))
    metrics = cols[wanted[2]] if metric is not None else None
    return cols["lr"], cols["loss"], metrics, meta
