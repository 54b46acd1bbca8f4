"""A Keras schedule config is untrusted data: a refusal is one short ValueError/TypeError."""

from __future__ import annotations

import pytest

import clr_keras


def _deep(n: int) -> list:
    x: list = []
    for _ in range(n):
        x = [x]
    return x


@pytest.mark.parametrize(
    "config",
    [
        {"initial_learning_rate": _deep(5000)},  # repr() raised RecursionError
        {"initial_learning_rate": 10**5000},  # repr() of the int raised, the name lost
        {"k" * 100_000: 1},  # the key was repeated in full, twice
        _deep(5000),
        [10**5000],
    ],
)
def test_a_refused_config_gives_a_short_message_naming_the_config(config) -> None:
    cls = clr_keras.TriangularCyclicalLearningRate
    with pytest.raises((ValueError, TypeError), match="Argument `config`") as info:
        cls.from_config(config)
    assert len(str(info.value)) < 1000
