"""`clr analyze` and `clr schedule`, in process and as a subprocess; hostile input.

Every refusal is one line on stderr and exit status 2 (`_one_error` checks both).
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import threading

import pytest
from clr_entry_points import subprocess_env

import clr_core
from clr_core.cli import main
from clr_core.rangetest import SweepFileError, read_sweep_csv
from clr_core.rangetest import _io as rangetest_io
from clr_core.rangetest._io import MAX_LINE_CHARS, json_depth, load_json

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "mnist1d_sgd_seed0.csv"


def _one_error(capsys, *words: str) -> str:
    """stderr is exactly one line holding ``words``, with no traceback; stdout is empty."""
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1, err
    assert err.endswith("\n")
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert captured.out == ""
    return err


def _sweep(path: pathlib.Path, n: int = 60, header: str = "lr,loss", extra: str = "") -> None:
    """A clean synthetic sweep: flat, falls, blows up."""
    rows = []
    for i in range(n):
        lr = 1e-4 * 1e5 ** (i / (n - 1))
        loss = 2.0 if lr < 1e-2 else (2.0 - 0.9 * (lr / 1e-2) ** 0.5 if lr < 0.2 else 5.0)
        rows.append(f"{lr!r},{loss!r}{extra}\n")
    path.write_text(header + "\n" + "".join(rows))


def test_analyze_prints_bounds_suggestions_confidence(capsys):
    assert main(["analyze", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    for word in ("base_lr", "max_lr", "lr ", "confidence", "steepest", "valley", "min_div_10"):
        assert word in out


def test_analyze_json_with_metric(capsys):
    assert main(["analyze", str(FIXTURE), "--metric", "accuracy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bounds_from"] == "metric"
    assert 0.0 < data["base_lr"] < data["lr"] < data["max_lr"]
    assert 0.0 <= data["confidence"] <= 1.0
    assert isinstance(data["reasons"], list)
    assert "metric_peak" in data["suggestions"]


BAD = {
    "missing.csv": ("lr,accuracy\n0.1,0.5\n", "missing column"),
    "text.csv": ("lr,loss\n0.1,2.0\n0.2,abc\n", "non-numeric"),
    "few.csv": ("lr,loss\n0.1,2.0\n0.2,1.9\n", "at least 5 points"),
    "decreasing.csv": ("lr,loss\n" + "".join(f"{1 / (i + 1)},{2.0}\n" for i in range(9)),
                       "strictly increasing"),
    "empty.csv": ("", "no header"),
    "comments_only.csv": ("# nothing\n\n# here\n", "no header"),
    "ragged.csv": ("lr,loss\n0.1,2.0,3\n", "expected 2 values"),
    "nul.csv": ("lr,loss\n0.1,2\x00\n", "NUL"),
    "bad_meta.csv": ("# clr-rangetest {not json\nlr,loss\n", "metadata"),
    "meta_list.csv": ("# clr-rangetest [1]\nlr,loss\n", "JSON object"),
    "deep_meta.csv": ("# clr-rangetest " + "[" * 5000 + "]" * 5000 + "\nlr,loss\n", "deep"),
    "negative_lr.csv": ("lr,loss\n" + "".join(f"{i - 3},{2.0}\n" for i in range(9)), "lrs[0]"),
    "nan_lr.csv": ("lr,loss\nnan,1\n" + "".join(f"{i},{2.0}\n" for i in range(1, 9)), "lrs[0]"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, name):
    text, message = BAD[name]
    path = tmp_path / name
    path.write_text(text)
    assert main(["analyze", str(path)]) == 2
    err = _one_error(capsys, message)
    assert err.count(name) == 1  # the file is named once, never twice


def test_missing_file_and_unknown_metric(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.csv")]) == 2
    err = _one_error(capsys, "nope.csv", "No such file")
    assert err.count("nope.csv") == 1
    assert main(["analyze", str(FIXTURE), "--metric", "f1"]) == 2
    _one_error(capsys, "'f1'")


@pytest.mark.parametrize("metric", ["lr", "loss", "LOSS ", ""])
def test_metric_naming_lr_or_loss_is_a_clear_error(capsys, metric):
    assert main(["analyze", str(FIXTURE), "--metric", metric]) == 2
    err = _one_error(capsys, "--metric")
    assert "length" not in err
    assert "as long as" not in err


def test_a_directory_is_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    _one_error(capsys, "Is a directory")


def test_duplicated_header_column_is_refused_not_silently_used(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    _sweep(path, header="lr,loss,loss", extra=",7.0")
    assert main(["analyze", str(path)]) == 2
    _one_error(capsys, "'loss' appears 2 times", "columns 2, 3")
    # a duplicated column nobody reads is harmless
    _sweep(path, header="lr,loss,note,note", extra=",a,b")
    assert main(["analyze", str(path)]) == 0


def test_utf8_bom_is_accepted(tmp_path, capsys):
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    _sweep(plain)
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert main(["analyze", str(plain), "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["analyze", str(bom), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["base_lr"] == want["base_lr"]
    assert got["max_lr"] == want["max_lr"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_give_one_clear_line(tmp_path, capsys, encoding):
    path = tmp_path / "wide.csv"
    _sweep(tmp_path / "plain.csv")
    path.write_bytes((tmp_path / "plain.csv").read_text().encode(encoding))
    assert main(["analyze", str(path)]) == 2
    err = _one_error(capsys, "UTF-8")
    assert "codec" not in err


def test_undecodable_bytes_give_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"lr,loss\n0.1,2\n# caf\xe9\n")
    assert main(["analyze", str(path)]) == 2
    _one_error(capsys, "not UTF-8", "0xe9")


def test_a_cell_over_128_kib_is_one_line(tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("lr,loss\n0.1," + "1" * 200_000 + "\n")
    assert main(["analyze", str(path)]) == 2
    _one_error(capsys, "longer than 131,072 characters", "line 2")


def test_a_line_over_the_limit_is_one_line(tmp_path, capsys):
    path = tmp_path / "long.csv"
    path.write_text("lr,loss\n" + "x" * (MAX_LINE_CHARS + 10) + "\n")
    assert main(["analyze", str(path)]) == 2
    _one_error(capsys, "line 2 is longer than")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero (POSIX)")
def test_dev_zero_is_refused_after_a_bounded_read(capsys):
    assert main(["analyze", "/dev/zero"]) == 2
    _one_error(capsys, "/dev/zero", "longer than")
    assert main(["schedule", "/dev/zero", "--steps", "3"]) == 2
    _one_error(capsys, "/dev/zero", "longer than")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_fifo_without_writer_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = []
    worker = threading.Thread(target=lambda: result.append(main(["analyze", str(fifo)])))
    worker.daemon = True
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "clr analyze hung on a FIFO with no writer"
    assert result == [2]
    _one_error(capsys, "no writer")


class _Rows(io.TextIOBase):
    """A sweep of ``n`` rows (``None``: endless) made line by line as it is read: the file
    never exists whole, and any read that is not a bounded ``readline`` fails."""

    def __init__(self, n: int | None) -> None:
        self.n, self.i, self.name = n, -1, "<rows>"
        self.limits: set[int] = set()

    def readline(self, size: int = -1) -> str:
        self.limits.add(size)
        self.i += 1
        if self.i == 0:
            return "lr,loss,step\n"
        if self.n is not None and self.i > self.n:
            return ""
        return f"{1e-6 * self.i!r},{2.0 - self.i * 1e-7!r},{self.i}\n"

    def read(self, size: int = -1) -> str:
        raise AssertionError("the reader must stream line by line")


def test_a_million_rows_are_streamed_in_one_bounded_pass():
    """10^6 rows (a per-step log) read in one pass of bounded lines: time and memory grow
    with the rows kept, never with the file (the analysis' speed is benchmarked apart)."""
    stream = _Rows(1_000_000)
    lrs, losses, metrics, _ = read_sweep_csv(stream)
    assert len(lrs) == len(losses) == 1_000_000
    assert metrics is None
    assert lrs[-1] == 1e-6 * 1_000_000
    assert stream.limits == {MAX_LINE_CHARS + 2}  # every read bounded


def test_an_endless_stream_stops_at_the_row_limit(monkeypatch):
    monkeypatch.setattr(rangetest_io, "MAX_ROWS", 1000)
    with pytest.raises(SweepFileError, match="more than 1,000 rows"):
        read_sweep_csv(_Rows(None))


def test_json_never_holds_nan_or_infinity(tmp_path, capsys):
    """Huge finite losses: whatever the analysis makes of them, --json stays strict JSON."""
    path = tmp_path / "huge.csv"
    path.write_text("lr,loss\n" + "".join(f"{10 ** (-4 + i / 10)!r},{1e308 * (1 - i / 100)!r}\n"
                                          for i in range(40)))  # fmt: skip
    rc = main(["analyze", str(path), "--json"])
    captured = capsys.readouterr()
    assert rc in (0, 2)
    if rc == 0:
        json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    else:
        assert captured.err.count("\n") == 1


def test_plot_without_matplotlib_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["analyze", str(FIXTURE), "--plot", str(tmp_path / "x.png")]) == 2
    _one_error(capsys, "pip install 'clr-core[plot]'")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", ["analyze", "schedule"])
def test_empty_plot_path_is_an_error_not_a_silent_skip(capsys, command):
    config = '{"type": "Constant", "value": 0.1}'
    argv = [command, str(FIXTURE) if command == "analyze" else config, "--plot", ""]
    assert main(argv + (["--steps", "3"] if command == "schedule" else [])) == 2
    _one_error(capsys, "--plot needs a file name")


# --------------------------------------------------------------------------- schedule


def test_schedule_prints_values(capsys):
    config = json.dumps(clr_core.Triangular(0.1, 0.5, 2).to_config())
    assert main(["schedule", config, "--steps", "5"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert [float(line.split("\t")[1]) for line in lines[:5]] == pytest.approx(
        [0.1, 0.3, 0.5, 0.3, 0.1]
    )
    assert main(["schedule", '{"type": "Nope"}', "--steps", "3"]) == 2
    _one_error(capsys, "Unknown type 'Nope'")


def test_schedule_from_a_file_and_streaming_many_steps(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(clr_core.Triangular(0.001, 0.006, 2000).to_config()))
    assert main(["schedule", str(path), "--steps", "20000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20000
    assert lines[2000] == "2000\t0.006"
    assert lines[-1].startswith("19999\t")


def test_schedule_output_starts_before_the_end(monkeypatch):
    """Streaming: the first lines are written long before 10^8 steps are evaluated."""
    writes = []

    class Stop(Exception):
        pass

    class Out:
        def write(self, text):
            writes.append(text)
            raise Stop  # the first write: stop there

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Out())
    with pytest.raises(Stop):
        main(["schedule", '{"type": "Constant", "value": 0.1}', "--steps", str(10**8)])
    assert writes[0].startswith("0\t0.1\n1\t0.1\n")
    assert writes[0].count("\n") <= 4096


@pytest.mark.parametrize("steps", ["-5", "0", "ten", "1.5", "10**8"])
def test_bad_steps_exit_2(capsys, steps):
    assert main(["schedule", '{"type": "Constant", "value": 0.1}', "--steps", steps]) == 2
    _one_error(capsys, "--steps")


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('{"type": "Triangle"}', ["'Triangle' is a cycle shape", "not a schedule"]),
        ('{"type": "HalvingScale"}', ["amplitude scale", "not a schedule"]),
        ('{"type": "Constant", "value": 1' + "0" * 400 + "}", ["config"]),
        ("[" * 1000 + "]" * 1000, ["nested 1000 levels deep", "at most 100"]),
        ('{"a":' * 1000 + "1" + "}" * 1000, ["nested 1000 levels deep"]),
        ('{"type": "Constant", "value": 1' + "0" * 5000 + "}", ["config"]),
        ("[1, 2]", ["config"]),
        ('{"type": "Constant", "value": NaN}', ["config"]),
        ('{"type": "Constant"', ["not valid"]),
        ('{"type": "Constant", "value": "0.1"}', ["config"]),
    ],
)
def test_bad_configs_give_one_line(capsys, config, words):
    assert main(["schedule", config, "--steps", "3"]) == 2
    _one_error(capsys, *words)


def test_a_shape_config_in_a_file_is_one_line_naming_the_file(tmp_path, capsys):
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(clr_core.Welch().to_config()))
    assert main(["schedule", str(path), "--steps", "3"]) == 2
    err = _one_error(capsys, "'Welch' is a cycle shape", "not a schedule")
    assert err.count("shape.json") == 1


def test_a_huge_config_error_is_one_short_line(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"type": 5, "pad": list(range(200_000))}))
    assert main(["schedule", str(path), "--steps", "3"]) == 2
    err = _one_error(capsys, "big.json", "'type' key")  # the core shortens the value it shows
    assert len(err) < 1200


def test_deep_config_file_gives_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["schedule", str(path), "--steps", "3"]) == 2
    err = _one_error(capsys, "deep.json", "nested 100000 levels deep")
    assert err.count("deep.json") == 1


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth('"\\"[[["') == 0
    assert load_json('{"x": [[1]]}') == {"x": [[1]]}
    with pytest.raises(ValueError, match="101 levels"):
        load_json("[" * 101 + "]" * 101)


def test_usage_errors_exit_2_with_one_line(capsys):
    assert main([]) == 2
    _one_error(capsys, "give a command", "analyze", "schedule")
    assert main(["analyze"]) == 2
    _one_error(capsys, "the following arguments are required: file", "clr analyze --help")
    assert main(["frobnicate"]) == 2
    _one_error(capsys, "invalid choice: 'frobnicate'")
    assert main(["analyze", str(FIXTURE), "--batch-size", "0"]) == 2
    _one_error(capsys, "--batch-size")


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert main(["analyze", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--from", "torch-lr-finder", "--plot", "--json"):
        assert word in out


def test_read_sweep_csv_errors_name_the_file_once(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("lr,loss\n0.1,x\n")
    with pytest.raises(SweepFileError) as info:
        read_sweep_csv(path)
    assert str(info.value).count("t.csv") == 1
    assert str(info.value).startswith(str(path))
    with pytest.raises(ValueError, match="other than 'lr' and 'loss'"):
        read_sweep_csv(path, "LR")


def test_decode_float_names_the_field_for_every_refusal():
    decode = rangetest_io.decode_float
    assert decode("-inf") == -math.inf
    assert decode(10**300) == 1e300
    with pytest.raises(ValueError, match=r"`lrs\[3\]` must be a number within the float range"):
        decode(10**400, "lrs[3]")  # raised a bare OverflowError
    with pytest.raises(ValueError, match=r"`loss` must be a number or 'nan'"):
        decode("fast", "loss")
    with pytest.raises(TypeError, match="`value` must be a number"):
        decode(True)


@pytest.mark.parametrize("bad", ["1" + "0" * 400, '"fast"'])
def test_a_huge_or_text_value_in_an_imported_sweep_is_one_line(tmp_path, capsys, bad):
    lrs = [1e-4 * 1.2**i for i in range(30)]
    losses = [repr(2.0 - 0.01 * i) for i in range(30)]
    losses[3] = bad
    path = tmp_path / "recorder.json"
    path.write_text(f'{{"lrs": {json.dumps(lrs)}, "losses": [{", ".join(losses)}]}}')
    assert main(["analyze", str(path), "--from", "fastai"]) == 2
    _one_error(capsys, "recorder.json", "loss[3]", "must be a number")


def _subprocess(args, cwd):
    env = subprocess_env()  # the installed wheel under tox, else this checkout
    return subprocess.run(
        [sys.executable, "-m", "clr_core.cli", *args],
        capture_output=True, text=True, env=env, check=False, cwd=cwd, timeout=120,
    )  # fmt: skip


def test_python_dash_m_subprocess(tmp_path):
    ok = _subprocess(["analyze", str(FIXTURE), "--json"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["max_lr"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("lr,loss\n0.3,1\n0.2,1\n0.1,1\n0.05,1\n0.01,1\n")
    err = _subprocess(["analyze", str(bad)], tmp_path)
    assert err.returncode == 2
    assert err.stderr.count("\n") == 1
    assert "Traceback" not in err.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_subprocess_fifo_and_broken_pipe(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    r = _subprocess(["analyze", str(fifo)], tmp_path)  # the timeout fails it if it hangs
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    # a reader that leaves early (`| head -1`) is not an error and prints no traceback
    env = subprocess_env()
    cmd = [sys.executable, "-m", "clr_core.cli", "schedule", '{"type":"Constant","value":1}',
           "--steps", "1000000"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
        assert p.stdout.readline() == b"0\t1.0\n"
        p.stdout.close()
        err = p.stderr.read()
        assert p.wait(timeout=120) == 0
    assert b"Traceback" not in err


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for <(...)")
def test_a_pipe_with_a_writer_is_read(tmp_path):
    """`clr analyze <(zcat sweep.csv.gz)`: a pipe whose writer is there is read in full."""
    plain = tmp_path / "plain.csv"
    _sweep(plain)
    env = subprocess_env()
    script = f'"{sys.executable}" -m clr_core.cli analyze --json <(cat "{plain}")'
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                       timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["max_lr"] > 0
