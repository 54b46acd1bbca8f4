"""`clr` finds commands through the ``clr.commands`` entry points; the core names no adapter.

The demo registers ``clr demo`` from the torch side (``clr_torch.demo.cli``); these
tests need no torch: where it is installed they block it, as the core env lacks it.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest
from clr_entry_points import declared, make_visible, subprocess_env, write_dist_info

import clr_core
from clr_core import cli
from clr_core.cli import ENTRY_POINT_GROUP, main

PACKAGE = pathlib.Path(clr_core.__file__).resolve().parent


def test_the_core_names_no_adapter():
    """No arrow from clr_core to an adapter: no file in the package names one."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".pyi", ".typed", ".txt", ".json", ""):
            text = path.read_text(encoding="utf-8", errors="replace")
            for name in ("clr_torch", "clr_keras"):
                if name in text:
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []
    assert not (PACKAGE / "_demo.py").exists()


def test_pyproject_declares_the_demo_command():
    assert ENTRY_POINT_GROUP == "clr.commands"
    assert declared() == {"demo": "clr_torch.demo.cli:register"}


@pytest.fixture
def visible(monkeypatch, tmp_path_factory):
    return make_visible(monkeypatch, tmp_path_factory)


@pytest.fixture
def no_torch(monkeypatch):
    """As in the core env: torch cannot be imported (and clr_torch is imported afresh)."""
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in [m for m in sys.modules if m == "clr_torch" or m.startswith("clr_torch.")]:
        monkeypatch.delitem(sys.modules, name)


def _one_line(capsys, code, *words):
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    for word in words:
        assert word in captured.err, (word, captured.err)
    return captured.err


def test_demo_is_discovered_through_the_entry_point(visible):
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert eps["demo"].value == "clr_torch.demo.cli:register"
    assert "demo" not in cli.SUBCOMMANDS  # not built in: the core does not know it


def test_demo_help_works_without_torch(visible, no_torch, capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--quick", "--full", "--dataset", "--optimizer", "--seeds", "--epochs",
                   "--out", "--json", "--threads", "torch==2.13.0"):  # fmt: skip
        assert option in out
    assert main(["--help"]) == 0
    assert "re-run the CLR paper's Table 1" in capsys.readouterr().out


def test_demo_without_torch_is_one_line_with_the_install_command(visible, no_torch, capsys):
    assert main(["demo", "--quick", "--out", "never-written"]) == 2
    _one_line(capsys, 2, "missing torch", 'pip install "torch==2.13.0" ".[demo]"')
    assert not os.path.exists("never-written")


def test_demo_whose_entry_point_cannot_load_says_what_to_install(visible, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "clr_torch", None)  # the package itself is gone
    for name in [m for m in sys.modules if m.startswith("clr_torch.")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["demo", "--quick"]) == 2
    _one_line(capsys, 2, "clr demo: error:", "clr_torch", "pip install 'clr-core[demo]'")
    assert main(["demo", "--help"]) == 2  # no options to list: the same one line
    _one_line(capsys, 2, "pip install 'clr-core[demo]'")
    assert main(["analyze", "--help"]) == 0  # built-in commands never load a plugin


def _plugin_dist(tmp_path, monkeypatch, entry_points: str, extras=("hello",)) -> None:
    info = tmp_path / "site" / "clr_hello-1.0.dist-info"
    info.mkdir(parents=True)
    provides = "".join(f"Provides-Extra: {e}\n" for e in extras)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: clr-hello\nVersion: 1.0\n{provides}"
    )
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")
    (tmp_path / "site" / "clr_hello_cmd.py").write_text(
        "def register(sub):\n"
        "    p = sub.add_parser('hello', help='say hello')\n"
        "    p.add_argument('--name', default='world')\n"
        "    p.set_defaults(func=lambda args: print(f'hello {args.name}') or 0)\n"
        "def wrong_name(sub):\n"
        "    sub.add_parser('other')\n"
        "def half(sub):\n"
        "    sub.add_parser('half')\n"
        "    raise RuntimeError('registration failed half-way')\n"
        "def analyze(sub):\n"
        "    raise AssertionError('a plugin never replaces a built-in command')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "clr_hello_cmd", raising=False)


def test_a_third_party_command_is_found_and_runs(tmp_path, monkeypatch, capsys):
    _plugin_dist(
        tmp_path, monkeypatch, "hello = clr_hello_cmd:register\nanalyze = clr_hello_cmd:analyze"
    )
    assert main(["hello", "--name", "clr"]) == 0
    assert capsys.readouterr().out == "hello clr\n"
    assert main(["--help"]) == 0
    assert "say hello" in capsys.readouterr().out
    assert main(["analyze", "--help"]) == 0  # the built-in, not the plugin's


@pytest.mark.parametrize(
    ("entry", "command", "words"),
    [
        ("hello = no_such_module_xyz:register", "hello",
         ["needs no_such_module_xyz", "pip install 'clr-hello[hello]'"]),
        ("hello = clr_hello_cmd:nope", "hello", ["AttributeError", "clr-hello[hello]"]),
        ("hello = clr_hello_cmd:wrong_name", "hello", ["did not add a command named 'hello'"]),
        ("half = clr_hello_cmd:half", "half",
         ["registration failed half-way", "pip install --force-reinstall 'clr-hello'"]),
    ],
)  # fmt: skip
def test_a_broken_command_answers_one_line(tmp_path, monkeypatch, capsys, entry, command, words):
    _plugin_dist(tmp_path, monkeypatch, entry)
    assert main([command, "--anything"]) == 2
    _one_line(capsys, 2, f"clr {command}: error:", "cannot load", *words)
    assert main(["--help"]) == 0  # a broken plugin never breaks clr itself
    assert main(["schedule", '{"type": "Constant", "value": 1}', "--steps", "1"]) == 0


def test_subprocess_demo_without_torch(tmp_path):
    """A real `clr demo` process where torch cannot be imported: one line, exit 2."""
    folder = None if _installed() else write_dist_info(tmp_path / "site")
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from clr_core.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    run = [sys.executable, "-c", code]
    env = subprocess_env(folder)
    r = subprocess.run([*run, "demo", "--quick"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120, check=False)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "missing torch" in r.stderr
    h = subprocess.run([*run, "demo", "--help"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120, check=False)  # fmt: skip
    assert h.returncode == 0, h.stderr
    assert "--quick" in h.stdout


def _installed() -> bool:
    try:
        importlib.metadata.distribution("clr-core")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
