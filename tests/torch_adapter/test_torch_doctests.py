"""The examples in clr_torch's docstrings run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from clr_torch import _auto, _dropin, _guard, _rangetest, _scheduler


@pytest.mark.parametrize(
    "module", [_scheduler, _dropin, _rangetest, _auto, _guard], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried > 0 or module is _rangetest
