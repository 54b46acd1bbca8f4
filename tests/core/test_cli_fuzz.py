"""Fuzz `clr`: random bytes, CSV-ish text, JSON configs and the tools' sweep files.

The only outcomes allowed: exit 0 with output (strict JSON under ``--json``), or exit
2 with exactly one line on stderr and nothing on stdout. Never a traceback, never
another status. The CLI runs in process (``main(argv)``) for speed; a few real
processes run at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from clr_entry_points import subprocess_env
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clr_core.cli import main

FUZZ = settings(
    max_examples=int(os.environ.get("CLR_FUZZ_EXAMPLES", "150")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


def _strict(text: str) -> None:
    def refuse(constant: str) -> None:
        raise AssertionError(f"non-strict JSON constant {constant}")

    json.loads(text, parse_constant=refuse)


def _check(capsys, argv: list[str], *, json_out: bool = False) -> int:
    try:
        rc = main(argv)
    except SystemExit as e:  # main must return, not exit
        raise AssertionError(f"main raised SystemExit({e.code})") from None
    captured = capsys.readouterr()
    assert rc in (0, 2), (rc, captured.err)
    assert "Traceback" not in captured.err
    if rc == 2:
        assert captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith("clr"), captured.err
        assert captured.out == ""
    else:
        assert captured.out
        if json_out:
            _strict(captured.out)
    return rc


def _file(data: bytes | str, suffix: str = ".csv") -> str:
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------- strategies

_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(1e-8, 10.0).map(lambda v: f"{v:.6g}"),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "nan", "-inf", "1e999", "-0", "0x10", "1_0", "abc", '"1"', "1e-400",
                     "１", "1,5", "\t2", "NaN", "Infinity"]),
)  # fmt: skip
_NAMES = st.sampled_from(["lr", "loss", "LR", " Loss ", "accuracy", "acc", "smoothed", "", "x",
                          '"lr"', "lr\ufeff", "loss"])  # fmt: skip


_GOOD = st.floats(-1e3, 1e3).map(repr)
_CELLS = st.one_of(_GOOD, _GOOD, _GOOD, _GOOD, _GOOD, _GOOD, _NUMBERS)  # mostly numbers


@st.composite
def csv_text(draw) -> str:
    if draw(st.integers(0, 3)):  # usually a header that can work, sometimes anything
        more = st.lists(st.sampled_from(["accuracy", "x", "smoothed"]), max_size=2, unique=True)
        names = ["lr", "loss", *draw(more)]
        names = draw(st.permutations(names))
    else:
        names = draw(st.lists(_NAMES, min_size=0, max_size=5))
    rows = []
    cell = _GOOD if draw(st.integers(0, 2)) else _CELLS  # most files hold only numbers
    if draw(st.integers(0, 3)):  # usually an increasing sweep, so the analysis runs
        n = draw(st.integers(0, 80))
        ragged = -1 if draw(st.integers(0, 5)) else draw(st.integers(0, n))  # one ragged row
        for i in range(n):
            lr = 1e-5 * 10 ** (6 * i / max(n, 1))
            cells = [repr(lr) if name == "lr" else draw(cell) for name in names]
            if i == ragged:
                cells = cells[: draw(st.integers(0, len(cells)))]
            rows.append(",".join(cells))
    else:
        rows = [
            ",".join(draw(st.lists(_NUMBERS, max_size=6))) for _ in range(draw(st.integers(0, 30)))
        ]
    lines = [",".join(names), *rows]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):  # comments, odd lines
        junk = draw(st.sampled_from(["# note", "", "# clr-rangetest {", "# clr-rangetest {}",
                                     "\r", "a,\"b", "\x00", "\ufeff"]))  # fmt: skip
        lines.insert(draw(st.integers(0, len(lines))), junk)
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return sep.join(lines) + draw(st.sampled_from(["", sep]))


_PLAIN = st.lists(
    st.sampled_from([["--json"], ["--json"], ["--metric", "accuracy"], ["--metric", "loss"],
                     ["--metric", "x"], ["--metric-mode", "min"], ["--batch-size", "64"],
                     ["--batch-size", "0"]]),
    max_size=2,
).map(lambda groups: [a for g in groups for a in g])  # fmt: skip
_OPTIONS = st.lists(
    st.sampled_from([["--json"], ["--metric", "accuracy"], ["--metric", "loss"], ["--metric", "x"],
                     ["--metric-mode", "min"], ["--batch-size", "64"], ["--batch-size", "0"],
                     ["--from", "lightning"], ["--from", "fastai"], ["--from", "torch-lr-finder"],
                     ["--beta", "0.9"], ["--smooth-f", "0.05"], ["--start-step", "3"]]),
    max_size=3,
).map(lambda groups: [a for g in groups for a in g])  # fmt: skip

_LEAVES = st.none() | st.booleans() | st.floats() | st.integers(-(10**400), 10**400)
_JSON = st.recursive(
    _LEAVES | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_TYPES = st.sampled_from(["Triangular", "Triangle", "Constant", "Join", "OneCycle", "Cyclic",
                          "HalvingScale", "Linear", "warmup", "ExpRange",
                          "CosineRestarts"])  # fmt: skip
_KEYS = st.sampled_from(["base_lr", "max_lr", "value", "step_size_up", "step_size_down",
                         "schedules", "boundaries", "total_steps", "shape", "scale", "start",
                         "end", "steps"])  # fmt: skip


@st.composite
def config_text(draw) -> str:
    if draw(st.booleans()):
        value = draw(st.dictionaries(_KEYS, _JSON, max_size=6))
        value["type"] = draw(_TYPES)
    else:
        value = draw(_JSON)
    return json.dumps(value, allow_nan=True)


# --------------------------------------------------------------------------- tests


@FUZZ
@given(data=st.binary(max_size=600), options=_OPTIONS)
@example(data=b"\xff\xfe" + "lr,loss\n".encode("utf-16-le"), options=[])
@example(data=b"\x00" * 64, options=["--json"])
@example(data=b"lr,loss,loss\n" + b"".join(b"%r,1,2\n" % (10 ** (i / 9 - 4)) for i in range(30)),
         options=[])  # fmt: skip
def test_random_bytes(capsys, data, options):
    path = _file(data)
    try:
        _check(capsys, ["analyze", path, *options], json_out="--json" in options)
    finally:
        os.unlink(path)


@FUZZ
@given(text=csv_text(), options=st.one_of(_PLAIN, _PLAIN, _PLAIN, _OPTIONS))
@example(text="lr,loss\n" + "".join(f"{10 ** (-4 + i / 10)!r},{1e308 * (1 - i / 100)!r}\n"
                                   for i in range(40)), options=["--json"])  # fmt: skip
@example(text="lr,loss\n0.1," + "1" * 140_000 + "\n", options=[])
@example(text="\ufefflr,loss\n" + "".join(f"{10 ** (-4 + i / 10)!r},2\n" for i in range(40)),
         options=["--json"])  # fmt: skip
def test_random_csv_text(capsys, text, options):
    path = _file(text)
    try:
        _check(capsys, ["analyze", path, *options], json_out="--json" in options)
    finally:
        os.unlink(path)


@FUZZ
@given(
    tool=st.sampled_from(["lightning", "fastai", "torch-lr-finder"]),
    body=st.one_of(
        _JSON.map(lambda v: json.dumps(v, allow_nan=True)),
        st.fixed_dictionaries({
            "lr": st.lists(st.floats(1e-6, 10.0), max_size=60).map(sorted),
            "loss": st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=60),
        }).map(lambda d: json.dumps(d, allow_nan=True)),
    ),
)  # fmt: skip
@example(tool="lightning", body=json.dumps({"lr": [1e-4 * 1.2**i for i in range(50)],
                                            "loss": [float("nan")] * 50}))  # fmt: skip
def test_random_sweep_files_of_other_tools(capsys, tool, body):
    path = _file(body, ".json")
    try:
        _check(capsys, ["analyze", path, "--from", tool, "--json"], json_out=True)
    finally:
        os.unlink(path)


@FUZZ
@given(text=config_text(), steps=st.integers(1, 50), inline=st.booleans())
@example(text='{"type": "Triangle"}', steps=3, inline=True)
@example(text="[" * 1000 + "]" * 1000, steps=3, inline=False)
@example(text='{"type": "Constant", "value": ' + "9" * 400 + "}", steps=3, inline=True)
def test_random_schedule_configs(capsys, text, steps, inline):
    if inline and text.lstrip().startswith(("{", "[")):
        _check(capsys, ["schedule", text, "--steps", str(steps)])
        return
    path = _file(text, ".json")
    try:
        _check(capsys, ["schedule", path, "--steps", str(steps)])
    finally:
        os.unlink(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_config_bytes(capsys, data):
    path = _file(data, ".json")
    try:
        _check(capsys, ["schedule", path, "--steps", "2"])
    finally:
        os.unlink(path)


def test_a_few_real_processes(tmp_path):
    """The same rule for real `python -m clr_core.cli` processes (exit status, one line)."""
    env = subprocess_env()  # the installed wheel under tox, else this checkout
    cases = [
        (b"\x89PNG\r\n\x1a\n\x00\x00", ["analyze"]),
        (b"lr,loss\n" + b"1,2\n" * 3, ["analyze", "--json"]),
        ("lr,loss\n".encode("utf-16"), ["analyze"]),
        (b"[" * 5000 + b"]" * 5000, ["schedule", "--steps", "2"]),
        (b'{"lr": [1, 2], "loss": [1]}', ["analyze", "--from", "lightning"]),
    ]
    for i, (data, argv) in enumerate(cases):
        path = tmp_path / f"case{i}"
        path.write_bytes(data)
        cmd = [sys.executable, "-m", "clr_core.cli", argv[0], str(path), *argv[1:]]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert r.returncode == 2, (argv, r.stderr)
        assert r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr
        assert r.stdout == ""
