"""`import clr_core` loads only the standard library."""

from __future__ import annotations

import os
import subprocess
import sys

import clr_core


def test_import_loads_no_numpy_or_framework() -> None:
    code = (
        "import sys, clr_core, clr_core.cli\n"
        "bad = [m for m in ('numpy', 'torch', 'keras', 'tensorflow', 'jax', 'matplotlib')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tox_tests_the_installed_wheel_not_the_source_tree() -> None:
    if not os.environ.get("CLR_TOX_ENV"):
        return  # outside tox the source tree is the package under test
    assert "site-packages" in clr_core.__file__
