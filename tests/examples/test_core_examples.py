"""Smoke tests of the framework-free examples, and of the Python snippets on the docs pages.

Run in the tox env ``examples-core`` (numpy, jax, optax, scikit-learn). numpy,
jax and optax are imported unconditionally: a missing one fails the run
instead of skipping it.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import jax  # noqa: F401
import numpy  # noqa: F401
import optax  # noqa: F401
import pytest
from example_runner import number, run_example

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def run(script: str, tmp_path: Path) -> str:
    return run_example(script, tmp_path, TF_CPP_MIN_LOG_LEVEL="2")


def test_core_numpy(tmp_path):
    out = run("core_numpy.py", tmp_path)
    assert "NumPy equals scalar: True" in out
    assert "config round trip: True" in out
    assert "Clear curve" in out or "confidence" in out
    assert number(out, "test accuracy") > 0.9


def test_core_jax_optax(tmp_path):
    out = run("core_jax_optax.py", tmp_path)
    assert "train step traced once: True" in out
    assert "optax rates match clr_core (float32): True" in out
    assert "optax momenta match clr_core (float32): True" in out
    assert number(out, "test accuracy") > 0.9


# Every ```python block on these pages is run, in order, one namespace per page.
# They use clr_core (and numpy) only; framework code on the docs is included from
# examples/*.py (the `--8<--` lines), which the other smoke tests run.
PAGES = ["index.md", "getting-started.md", "paper.md", "range-test.md", "core.md", "cli.md"]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
OUTPUT = re.compile(r"^```text\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES)
def test_docs_python_snippets_run(page, tmp_path, monkeypatch, capsys):
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = [b for b in BLOCK.findall(text) if "--8<--" not in b]
    assert blocks, f"{page}: no python blocks found"
    monkeypatch.chdir(tmp_path)
    # a real module, so classes defined on the page pickle like any user's would
    name = "docs_snippets_" + re.sub(r"\W", "_", page)
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page}[block {i}]", "exec"), module.__dict__)
        except Exception as e:  # pragma: no cover - the message is the point
            pytest.fail(f"{page}, python block {i} raised {e!r}:\n{block}")
    # output the page shows (```text blocks) is what its code really printed
    printed = capsys.readouterr().out.splitlines()
    for shown in OUTPUT.findall(text):
        for line in shown.strip().splitlines():
            assert line in printed, f"{page}: shown output line not printed: {line!r}"
