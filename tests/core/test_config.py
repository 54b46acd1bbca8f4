"""from_config treats a config as untrusted data."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

import clr_core as C


def test_unknown_type_is_rejected_without_importing_anything() -> None:
    with pytest.raises(ValueError, match=r"Unknown type 'os\.system'"):
        C.from_config({"type": "os.system", "command": "echo hacked"})


@pytest.mark.parametrize("cfg", [[], "Triangular", None, 3])
def test_non_dict_config_is_a_type_error(cfg) -> None:
    with pytest.raises(TypeError):
        C.from_config(cfg)


def test_missing_type_key() -> None:
    with pytest.raises(ValueError, match="'type'"):
        C.from_config({"base_lr": 0.1})


def test_unknown_and_missing_keys_are_rejected() -> None:
    cfg = C.Triangular(0.1, 1.0, 10).to_config()
    with pytest.raises(ValueError, match="Unknown key"):
        C.from_config({**cfg, "extra": 1})
    del cfg["max_lr"]
    with pytest.raises(ValueError, match="Missing key"):
        C.from_config(cfg)


def test_wrong_value_types_are_rejected() -> None:
    cfg = C.Triangular(0.1, 1.0, 10).to_config()
    with pytest.raises(TypeError, match="`base_lr`"):
        C.from_config({**cfg, "base_lr": "0.1"})
    with pytest.raises(TypeError, match="JSON data"):
        C.from_config({**cfg, "base_lr": object()})


def test_nested_configs_are_validated_too() -> None:
    cfg = C.Join([C.Constant(0.1), C.Triangular(0.1, 1.0, 10)], [5]).to_config()
    cfg["schedules"][1]["type"] = "Nope"
    with pytest.raises(ValueError, match=r"config\.schedules\[1\]"):
        C.from_config(cfg)


def test_config_is_exactly_the_constructor_keywords() -> None:
    s = C.Cyclic(0.1, 1.0, 10, 20, shape="hann", scale=C.ExpScale(0.99), scale_mode="iterations")
    cfg = s.to_config()
    assert cfg == {
        "type": "Cyclic",
        "base_lr": 0.1,
        "max_lr": 1.0,
        "step_size_up": 10,
        "step_size_down": 20,
        "shape": {"type": "Hann"},
        "scale": {"type": "ExpScale", "gamma": 0.99},
        "scale_mode": "iterations",
        "scale_target": "amplitude",
    }
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    kwargs["shape"] = C.from_config(kwargs["shape"], kind=C.Shape)
    kwargs["scale"] = C.from_config(kwargs["scale"], kind=C.Scale)
    assert C.Cyclic(**kwargs) == s


@C.register
@dataclasses.dataclass(frozen=True)
class Sawtooth(C.Shape):
    """A user shape: rises on the up ramp, drops at once on the way down."""

    def profile(self, f, xp):
        return xp.where(f >= 1.0, 1.0, f * f)


@C.register
@dataclasses.dataclass(frozen=True)
class StepDecay(C.Scale):
    """A user scale with a parameter: multiply by `factor` every `every` cycles."""

    rate: float = 0.5
    every: int = 2

    def factor(self, x, xp):
        return xp.power(self.rate, xp.floor((x - 1.0) / self.every))


def test_user_shape_and_scale_round_trip_through_config_and_pickle() -> None:
    s = C.Cyclic(0.1, 1.0, 4, shape=Sawtooth(), scale=StepDecay(0.5, 2))
    values = [s(t) for t in range(40)]
    back = C.from_config(json.loads(json.dumps(s.to_config())))
    assert back == s
    assert [back(t) for t in range(40)] == values
    assert pickle.loads(pickle.dumps(s)) == s
    # the scale is really applied: cycle 3 peaks at base + amplitude * 0.5
    assert s(2 * 8 + 4) == pytest.approx(0.1 + 0.9 * 0.5)


def test_register_refuses_non_components() -> None:
    with pytest.raises(TypeError, match=r"clr_core\.Component"):
        C.register(int)  # type: ignore[arg-type]


def test_register_refuses_a_second_class_with_a_taken_name() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @C.register
        @dataclasses.dataclass(frozen=True)
        class Triangle(C.Shape):  # same name as the library's Triangle
            def profile(self, f, xp):
                return f
