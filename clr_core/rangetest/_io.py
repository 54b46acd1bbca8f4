"""Lossless text forms: floats that may be non-finite, sweep CSV files, bounded reads.

Everything here reads untrusted files, so every read is bounded:

* a line longer than :data:`MAX_LINE_CHARS` characters, a file of more than
  :data:`MAX_ROWS` rows and a JSON text longer than the caller's limit or nested
  deeper than :data:`MAX_JSON_DEPTH` are refused with one clear
  :class:`SweepFileError` (``/dev/zero`` and endless streams included);
* a FIFO is opened without blocking, so one with no writer reads as empty
  instead of hanging (one with a writer, such as a shell's ``<(...)``, is read);
* text is UTF-8, with or without a byte-order mark; UTF-16 and UTF-32 (a BOM, or
  NUL characters) and undecodable bytes are refused with one line saying so.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from typing import IO, Any

from ..validation import fail, short_repr

__all__ = [
    "SweepFileError",
    "encode_float",
    "decode_float",
    "read_sweep_csv",
    "read_text",
    "load_json",
    "read_json_or_csv",
    "json_depth",
    "META_PREFIX",
    "MAX_LINE_CHARS",
    "MAX_ROWS",
    "MAX_JSON_DEPTH",
    "MAX_FILE_CHARS",
]

#: First line of a CSV written by :meth:`RangeTestResult.to_csv`, followed by JSON metadata.
META_PREFIX = "# clr-rangetest "
#: The longest line a sweep file may hold (1 MiB of text).
MAX_LINE_CHARS = 1 << 20
#: The most data rows a sweep file may hold (ten million: a per-step log of a long run fits).
MAX_ROWS = 10_000_000
#: The deepest nesting of arrays and objects a JSON text may have.
MAX_JSON_DEPTH = 100
#: The largest whole file read into memory (a JSON result or sweep, a result CSV): 256 Mi
#: characters.
MAX_FILE_CHARS = 1 << 28

_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


class SweepFileError(ValueError):
    """A sweep file that cannot be read: missing columns, non-numeric values and the like.

    The message starts with the file's name (once) and, where it applies, the line.
    """


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


def decode_float(v: Any, name: str = "value") -> float:
    """Invert :func:`encode_float` (``repr`` of a float read back is exact).

    ``name`` is the field the error names: a string other than
    ``'nan'``/``'inf'``/``'-inf'`` or an int beyond the float range (a JSON
    integer such as ``10**400``) raises :class:`ValueError`, anything but a
    number or a string :class:`TypeError`.

    >>> decode_float("inf"), decode_float(2)
    (inf, 2.0)
    >>> decode_float(10**400, "lrs[3]")
    Traceback (most recent call last):
    ...
    ValueError: Argument `lrs[3]` must be a number within the float range. Received: lrs[3]=1000...
    """
    if isinstance(v, str):
        if v in ("nan", "inf", "-inf"):
            return float(v)
        raise fail(name, "a number or 'nan'/'inf'/'-inf'", v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise fail(name, "a number", v, TypeError)
    try:
        return float(v)
    except OverflowError:
        raise fail(name, "a number within the float range", v) from None


# --------------------------------------------------------------------------- opening


def _open_binary(path: str) -> IO[bytes]:
    """Open ``path`` for reading without ever blocking on a FIFO that has no writer."""
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", path)
        if nonblock:
            os.set_blocking(fd, True)  # a FIFO without writers now reads as end of file
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_text(path: str) -> IO[str]:
    """``path`` as UTF-8 text (a BOM is dropped); UTF-16/32 refused with one line."""
    raw = _open_binary(path)
    try:
        head = raw.peek(4)[:4]  # type: ignore[attr-defined]
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                raise SweepFileError(
                    f"{path}: the file is {encoding} text; save it as UTF-8 (e.g. "
                    f"iconv -f {encoding} -t UTF-8)"
                )
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    except BaseException:
        raw.close()
        raise


def _undecodable(name: str, e: UnicodeDecodeError) -> SweepFileError:
    byte = e.object[e.start : e.start + 1].hex()
    return SweepFileError(
        f"{name}: not UTF-8 text (byte 0x{byte} cannot be decoded); save it as UTF-8"
    )


def read_text(path: str | os.PathLike[str], max_chars: int) -> str:
    """The whole of a UTF-8 text file, refusing one longer than ``max_chars`` characters.

    Raises
    ------
    SweepFileError
        Too long, not UTF-8 (UTF-16 and UTF-32 are named).
    OSError
        The file cannot be opened or read.
    """
    name = os.fspath(path)
    with _open_text(name) as f:
        try:
            text = f.read(max_chars + 1)
        except UnicodeDecodeError as e:
            raise _undecodable(name, e) from None
    if len(text) > max_chars:
        raise SweepFileError(f"{name}: longer than {max_chars:,} characters; refusing to read it")
    return text


# --------------------------------------------------------------------------- JSON

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON text (strings ignored), in one pass.

    >>> json_depth('{"a": [1, {"b": "]]]"}]}')
    3
    """
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(text: str, *, what: str = "JSON", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` with a ``ValueError``.

    ``NaN`` and ``Infinity`` (which Python's ``json.dump`` writes) are accepted.
    Integers longer than Python's limit (4300 digits) give a ``ValueError`` too.

    >>> load_json("[" * 101 + "]" * 101)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested 101 levels deep; at most 100 are allowed.
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise ValueError(f"{what} nested {depth} levels deep; at most {max_depth} are allowed.")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError(f"{what} nested too deeply.") from None
    except ValueError as e:  # JSONDecodeError, or an integer over the digit limit
        raise ValueError(f"not valid {what}: {e}") from None


# --------------------------------------------------------------------------- sweep CSV


def _lines(f: IO[str], name: str, where: list[int]) -> Iterator[str]:
    """The data lines of ``f`` (comments and blank lines dropped), each bounded in length.

    ``where[0]`` tracks the physical line number, for messages.
    """
    while True:
        try:
            line = f.readline(MAX_LINE_CHARS + 2)
        except UnicodeDecodeError as e:
            raise _undecodable(name, e) from None
        if not line:
            return
        where[0] += 1
        body = line.rstrip("\r\n")
        if len(body) > MAX_LINE_CHARS:
            raise SweepFileError(
                f"{name}: line {where[0]} is longer than {MAX_LINE_CHARS:,} characters"
            )
        if "\x00" in body:
            raise _nul(name, where[0])
        if where[0] == 1:
            body = body.lstrip("\ufeff")
        stripped = body.strip()
        if stripped and not stripped.startswith("#"):
            yield body


def _read_meta(f: IO[str], name: str, where: list[int]) -> tuple[dict[str, Any] | None, str]:
    """The ``# clr-rangetest`` metadata of the first line, if any, and that line's text."""
    try:
        first = f.readline(MAX_LINE_CHARS + 2)
    except UnicodeDecodeError as e:
        raise _undecodable(name, e) from None
    if not first:
        return None, ""
    where[0] = 1
    body = first.rstrip("\r\n").lstrip("\ufeff")
    if len(body) > MAX_LINE_CHARS:
        raise SweepFileError(f"{name}: line 1 is longer than {MAX_LINE_CHARS:,} characters")
    if "\x00" in body:
        raise _nul(name, 1)
    if not body.startswith(META_PREFIX):
        return None, body
    try:
        meta = load_json(body[len(META_PREFIX) :], what="clr-rangetest metadata")
    except ValueError as e:
        raise SweepFileError(f"{name}: line 1: unreadable clr-rangetest metadata ({e})") from None
    if not isinstance(meta, dict):
        raise SweepFileError(f"{name}: line 1: clr-rangetest metadata must be a JSON object")
    return meta, ""


def _fifo_hint(name: str) -> str:
    try:
        fifo = stat.S_ISFIFO(os.stat(name).st_mode)
    except (OSError, ValueError):
        return ""
    return " (a FIFO or pipe with no writer reads as empty)" if fifo else ""


def _nul(name: str, line: int) -> SweepFileError:
    return SweepFileError(
        f"{name}: line {line} contains a NUL character: not UTF-8 text "
        "(UTF-16 without a byte-order mark?); save it as UTF-8"
    )


def _csv_error(name: str, line: int, e: csv.Error) -> SweepFileError:
    text = str(e)
    if "NUL" in text:  # pragma: no cover - NUL is caught per line first
        return _nul(name, line)
    if "new-line character" in text:
        return SweepFileError(
            f"{name}: line {line}: a line break inside a cell (mixed line endings?)"
        )
    if "field larger than field limit" in text:
        limit = csv.field_size_limit()
        return SweepFileError(f"{name}: line {line} has a cell longer than {limit:,} characters")
    return SweepFileError(f"{name}: line {line}: {text}")


def wanted_columns(metric: str | None) -> list[str]:
    """The columns a sweep file must have: ``lr``, ``loss`` and the ``metric`` (checked)."""
    wanted = ["lr", "loss"]
    if metric is None:
        return wanted
    if not isinstance(metric, str):
        raise TypeError(f"Argument `metric` must be a column name (str). Received: {metric!r}")
    m = metric.strip().lower()
    if not m:
        raise ValueError(f"Argument `metric` must name a column. Received: metric={metric!r}")
    if m in wanted:
        raise ValueError(
            "Argument `metric` must name a column other than 'lr' and 'loss' (those are "
            f"always read). Received: metric={metric!r}"
        )
    return [*wanted, m]


def _header_index(name: str, line: int, header: list[str], wanted: list[str]) -> list[int]:
    names = [h.strip().lower() for h in header]
    columns = []
    for w in wanted:
        where = [i for i, h in enumerate(names) if h == w]
        if len(where) > 1:
            raise SweepFileError(
                f"{name}: line {line}: column {w!r} appears {len(where)} times "
                f"(columns {', '.join(str(i + 1) for i in where)}); keep one"
            )
        columns.append(where[0] if where else -1)
    missing = [w for w, c in zip(wanted, columns, strict=True) if c < 0]
    if missing:
        found = ", ".join(short_repr(h) for h in names[:20]) + (", ..." if len(names) > 20 else "")
        raise SweepFileError(
            f"{name}: missing column(s) {', '.join(repr(m) for m in missing)} in the header "
            f"(line {line}); found {found}"
        )
    return columns


def _parse(
    f: IO[str], name: str, wanted: list[str]
) -> tuple[list[list[float]], dict[str, Any] | None]:
    where = [0]
    meta, first = _read_meta(f, name, where)
    head = [first] if first.strip() and not first.strip().startswith("#") else []
    lines = _lines(f, name, where)
    reader = csv.reader(_chain(head, lines))
    cols: list[list[float]] = [[] for _ in wanted]
    try:
        header = next(reader, None)
        if header is None:
            raise SweepFileError(
                f"{name}: empty{_fifo_hint(name)}: no header line (expected columns lr,loss)"
            )
        index = _header_index(name, where[0], header, wanted)
        width = len(header)
        for rows, cells in enumerate(reader, start=1):
            if rows > MAX_ROWS:
                raise SweepFileError(f"{name}: more than {MAX_ROWS:,} rows; refusing to read on")
            if len(cells) != width:
                raise SweepFileError(
                    f"{name}: line {where[0]}: expected {width} values, found {len(cells)}"
                )
            for col, i, w in zip(cols, index, wanted, strict=True):
                try:
                    col.append(float(cells[i]))
                except ValueError:
                    text = cells[i].strip()
                    shown = repr(text if len(text) <= 40 else text[:40] + "...")
                    raise SweepFileError(
                        f"{name}: line {where[0]}: column {w!r} holds a non-numeric value {shown}"
                    ) from None
    except csv.Error as e:
        raise _csv_error(name, where[0], e) from None
    return cols, meta


class _Rejoined:
    """A text stream whose first characters were already read: ``head``, then ``rest``."""

    def __init__(self, head: str, rest: IO[str]) -> None:
        self._head = io.StringIO(head)
        self._rest = rest

    def readline(self, limit: int = -1) -> str:
        line = self._head.readline(limit)
        if line.endswith(("\n", "\r")) or 0 <= limit <= len(line):
            return line
        return line + self._rest.readline(limit - len(line) if limit >= 0 else -1)


def read_json_or_csv(path: str | os.PathLike[str], *, max_json_chars: int) -> dict[str, Any]:
    """A JSON object (a file whose text starts with ``{``, at most ``max_json_chars``
    characters) or, from a CSV, ``{"lr": [...], "loss": [...]}`` (read as a stream).

    Raises
    ------
    SweepFileError
        Anything wrong in the file (its message names the file).
    OSError
        The file cannot be opened or read.
    """
    name = os.fspath(path)
    with _open_text(name) as f:
        try:
            head = f.read(4096)
        except UnicodeDecodeError as e:
            raise _undecodable(name, e) from None
        if not head.lstrip("\ufeff \t\r\n").startswith("{"):
            cols, _ = _parse(_Rejoined(head, f), name, ["lr", "loss"])  # type: ignore[arg-type]
            return {"lr": cols[0], "loss": cols[1]}
        try:
            text = head + f.read(max_json_chars + 1 - len(head))
        except UnicodeDecodeError as e:
            raise _undecodable(name, e) from None
    if len(text) > max_json_chars:
        raise SweepFileError(
            f"{name}: longer than {max_json_chars:,} characters; refusing to read it"
        )
    try:
        data = load_json(text.lstrip("\ufeff"))
    except ValueError as e:
        raise SweepFileError(f"{name}: {e}") from None
    if not isinstance(data, dict):  # pragma: no cover - the text starts with "{"
        raise SweepFileError(f"{name}: expected a JSON object")
    return data


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def read_sweep_csv(
    source: str | os.PathLike[str] | io.TextIOBase, metric: str | None = None
) -> tuple[list[float], list[float], list[float] | None, dict[str, Any] | None]:
    """Read a recorded sweep: a CSV with a header naming columns ``lr`` and ``loss``.

    Column names match case-insensitively; other columns are ignored unless
    ``metric`` names one of them. Empty lines and lines starting with ``#`` are
    skipped, except that a first line starting with ``# clr-rangetest `` carries
    the JSON metadata written by :meth:`RangeTestResult.to_csv`.

    The file is UTF-8 (a byte-order mark is fine) and is read as a stream: time
    and memory grow linearly with the rows (about 70 bytes a row kept), and no
    line may exceed :data:`MAX_LINE_CHARS` characters nor the file
    :data:`MAX_ROWS` rows. A FIFO with no writer reads as empty.

    Returns
    -------
    (lrs, losses, metrics or None, metadata or None)

    Raises
    ------
    SweepFileError
        (a ``ValueError``, its message starting with the file's name) for a
        missing header or column, a column named twice, a non-numeric cell, a
        ragged row, text that is not UTF-8, and the limits above.
    ValueError
        ``metric`` names ``lr`` or ``loss``, or nothing.
    OSError
        The file cannot be opened or read.
    """
    wanted = wanted_columns(metric)
    if isinstance(source, io.TextIOBase):
        cols, meta = _parse(source, getattr(source, "name", "<stream>"), wanted)  # type: ignore[arg-type]
    else:
        name = os.fspath(source)
        with _open_text(name) as f:
            cols, meta = _parse(f, name, wanted)
    metrics = cols[2] if metric is not None else None
    return cols[0], cols[1], metrics, meta
