"""Griffe extension for the docs build: the reStructuredText bits of clr-core's docstrings.

The docstrings are numpy style (which griffe parses) but use a few
reStructuredText constructs that Markdown does not know:

* ``.. math::`` blocks become ``$$ ... $$`` blocks, typeset by MathJax through
  ``pymdownx.arithmatex``, so the formulas appear on the API pages as formulas;
* cross-reference roles (``:class:`~clr_core.Cyclic```, ``:meth:``, ``:func:``,
  ``:data:``, ``:mod:``, ``:attr:``) become code spans with the name as RST
  would show it (``~`` keeps the last component only);
* a paragraph ending in ``::`` (an RST literal block follows) ends in ``:``;
  the indented block after it is a Markdown code block already.

Loaded by ``mkdocs.yml`` (``extensions: [docs/_griffe_rst.py:RstToMarkdown]``);
it only rewrites docstring text in memory, never a source file.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|data|mod|attr|obj|exc):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2).strip()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def convert(text: str) -> str:
    """Rewrite one docstring (see the module docstring)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped == ".. math::":
            base = _indent(line)
            i += 1
            body: list[str] = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            # each paragraph of the block is one displayed equation
            chunks: list[list[str]] = [[]]
            for b in body:
                if b.strip():
                    chunks[-1].append(b.strip())
                elif chunks[-1]:
                    chunks.append([])
            pad = " " * base
            for chunk in chunks:
                if chunk:
                    out += [pad + "$$", *(pad + c for c in chunk), pad + "$$", ""]
            continue
        line = _ROLE.sub(_role, line)
        if line.rstrip().endswith("::") and not stripped.startswith(".."):
            line = line.rstrip()[:-1]
        out.append(line)
        i += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Convert every docstring once the object tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # a package's own docstring (its __init__) is not always seen by on_object
        self.on_object(obj=pkg)
        for module in pkg.modules.values():
            self.on_object(obj=module)
