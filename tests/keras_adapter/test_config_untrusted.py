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


def test_keras_deserialize_prints_the_whole_config_so_docs_advise_from_config() -> None:
    """docs/keras.md ("A config from an untrusted source"): Keras' wrapper re-raises a
    TypeError from ``from_config`` with the whole config in it; calling ``from_config``
    directly keeps the message short. If Keras stops doing this, the advice can go."""
    import keras

    schedule = clr_keras.OneCycleSchedule(0.1, 100)
    outer = keras.saving.serialize_keras_object(schedule)
    config = dict(outer["config"], max_lr="9" * 100_000)
    with pytest.raises(TypeError) as wrapped:
        keras.saving.deserialize_keras_object(dict(outer, config=config))
    assert len(str(wrapped.value)) > 100_000
    with pytest.raises(TypeError, match="max_lr") as direct:
        type(schedule).from_config(config)
    assert len(str(direct.value)) < 1000
