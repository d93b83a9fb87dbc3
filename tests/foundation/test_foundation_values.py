"""hwscale_tui.values: the one typed conversion behind the experiment file, the TUI's fields,
the trainer's overrides and the optimizer's settings."""

from __future__ import annotations

import dataclasses

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.search.protein import ProteinSettings
from hwscale_tui.values import ValueType, ValueTypeError


def test_every_settings_annotation_has_a_value_type():
    for section in cfgmod.SECTIONS:
        for f in cfgmod.field_specs(section).values():
            vt = ValueType.of(f.type)
            assert vt.describe()
    for f in dataclasses.fields(ProteinSettings):
        assert not ValueType.of(f.type).optional
    assert ValueType.of("float | None") == ValueType("float", optional=True)
    assert ValueType.of(int) == ValueType("int")
    assert ValueType.of(list[str]) == ValueType("list[str]")
    with pytest.raises(TypeError):
        ValueType.of("dict[str, int]")


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("bool", True, True),
        ("int", 7, 7),
        ("float", 3, 3.0),
        ("float", 2.5, 2.5),
        ("str", "x", "x"),
        ("list[int]", [1, 2], [1, 2]),
        ("list[str]", ["a"], ["a"]),
    ],
)
def test_check_accepts_values_of_the_type(kind, value, expected):
    out = ValueType(kind).check(value)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("bool", 1),
        ("bool", "true"),
        ("int", True),  # a bool is never a number
        ("int", 2.0),
        ("int", "3"),
        ("float", True),
        ("float", float("nan")),
        ("float", float("inf")),
        ("float", 10**400),  # too large for a float
        ("str", 3),
        ("list[int]", [1, True]),
        ("list[int]", (1, 2)),
        ("list[str]", ["a", 1]),
        ("int", None),
    ],
)
def test_check_refuses_other_values_and_says_what_is_accepted(kind, value):
    with pytest.raises(ValueTypeError) as e:
        ValueType(kind).check(value)
    assert e.value.accepted == ValueType(kind).describe()


def test_none_is_a_value_only_for_optional_types():
    assert ValueType("float", optional=True).check(None) is None
    with pytest.raises(ValueTypeError):
        ValueType("float").check(None)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("int", " 4096 ", 4096),
        ("int", "1_000", 1000),
        ("int", "1e6", 1_000_000),
        ("int", "3.0", 3),
        ("float", "2.5e-3", 0.0025),
        ("bool", "TRUE", True),
        ("bool", "false", False),
        ("list[int]", "1, 2 4", [1, 2, 4]),
        ("list[int]", "", []),
        ("list[str]", "--a 'b c'", ["--a", "b c"]),
        ("str", "  as typed ", "  as typed "),
    ],
)
def test_from_text(kind, text, expected):
    assert ValueType(kind).from_text(text) == expected


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("int", "3.5"),
        ("int", "many"),
        ("int", "inf"),
        ("float", "nan"),
        ("float", ""),
        ("bool", "yes"),
        ("list[int]", "1 two"),
        ("list[str]", "'unclosed"),
    ],
)
def test_from_text_refuses_what_does_not_parse(kind, text):
    with pytest.raises(ValueTypeError):
        ValueType(kind).from_text(text)


def test_the_four_users_agree():
    """An integral float typed as text is an integer everywhere text is typed; a typed value
    must already have the field's type (the file, the optimizer's settings)."""
    from hwscale_tui.errors import ConfigError, UsageError
    from hwscale_tui.train.overrides import parse_overrides
    from hwscale_tui.tui.session import parse_field_text

    assert parse_field_text("sweep.max_trials", "1e2") == 100
    assert parse_field_text("sweep.max_trials", "lots") == "lots"  # validation names it
    assert parse_overrides(["trainer.total_timesteps=1e5"]).total_timesteps == 100_000
    with pytest.raises(UsageError):
        parse_overrides(["trainer.total_timesteps=1.5e0"])
    cfg = cfgmod.default_config(env={})
    with pytest.raises(ConfigError):
        cfgmod.apply_overrides(cfg, {"sweep.max_trials": 100.0})
    assert cfgmod.apply_overrides(cfg, {"sweep.max_trials": 100}).sweep.max_trials == 100
    with pytest.raises(UsageError, match="resample_frequency must be an integer"):
        ProteinSettings.from_mapping({"resample_frequency": 2.5})
