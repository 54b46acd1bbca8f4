"""The ``clr.commands`` entry points as the tests see them, installed or from the source tree.

Entry points exist only for an installed distribution. tox installs the wheel, so
there the real metadata is read and nothing is faked. A run from the source tree
(``PYTHONPATH=.``, nothing installed) writes the metadata a wheel would carry,
taken from ``pyproject.toml``, into a temporary ``.dist-info`` folder and puts
that on ``sys.path``: ``clr`` then discovers its commands through exactly the
code path an installed ``clr`` uses.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import sys

GROUP = "clr.commands"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def installed() -> bool:
    """Whether clr-core is installed (its metadata, and so its entry points, exist)."""
    try:
        importlib.metadata.distribution("clr-core")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _pyproject() -> dict:
    import tomllib  # Python 3.11+: source-tree runs use /work/venv-style 3.11 interpreters

    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def declared() -> dict[str, str]:
    """The ``clr.commands`` entry points pyproject.toml declares: name -> object reference.

    Python 3.10 has no tomllib: there the installed wheel's metadata (made from
    pyproject.toml) answers; a source-tree run on 3.10 fails on the import.
    """
    if sys.version_info < (3, 11) and installed():
        eps = importlib.metadata.distribution("clr-core").entry_points
        return {ep.name: ep.value for ep in eps if ep.group == GROUP}
    return dict(_pyproject()["project"]["entry-points"][GROUP])


def write_dist_info(folder: pathlib.Path, name: str = "clr-core") -> pathlib.Path:
    """Write ``name``'s metadata (version, extras, entry points) from pyproject.toml."""
    project = _pyproject()["project"]
    info = folder / f"{name.replace('-', '_')}-0.0.dev0.dist-info"
    info.mkdir(parents=True)
    extras = "".join(f"Provides-Extra: {e}\n" for e in project.get("optional-dependencies", {}))
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.dev0\n{extras}"
    )
    groups = project.get("entry-points", {})
    text = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
        for group, eps in groups.items()
    )
    (info / "entry_points.txt").write_text(text)
    return folder


def make_visible(monkeypatch, tmp_path_factory) -> str:
    """Make clr-core's entry points discoverable; return how ("installed" or "source tree").

    Under tox (``CLR_TOX_ENV`` set) the wheel must be installed: nothing is faked there.
    """
    if installed():
        return "installed"
    assert not os.environ.get("CLR_TOX_ENV"), "tox must test the installed wheel"
    folder = write_dist_info(tmp_path_factory.mktemp("site"))
    monkeypatch.syspath_prepend(str(folder))
    for adapter in ("torch", "keras"):  # the wheel holds clr_torch and clr_keras too
        if str(ROOT / "adapters" / adapter) not in sys.path:
            monkeypatch.syspath_prepend(str(ROOT / "adapters" / adapter))
    assert any(ep.name == "demo" for ep in importlib.metadata.entry_points(group=GROUP))
    return "source tree"


def subprocess_env(folder: pathlib.Path | None = None) -> dict[str, str]:
    """An environment whose ``python`` imports this checkout (and ``folder``'s metadata)."""
    paths = [str(ROOT), str(ROOT / "adapters" / "torch"), str(ROOT / "adapters" / "keras")]
    if folder is not None:
        paths.insert(0, str(folder))
    if installed():
        paths = [str(folder)] if folder is not None else []
    paths.append(os.environ.get("PYTHONPATH", ""))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
