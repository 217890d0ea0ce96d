from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError, InvalidName
from recsys_algo.contracts.names import (
    check_name,
    is_valid_name,
    parse_day,
    parse_scope_key,
    scope_key,
)
from tests.support.strategies import invalid_names, valid_names

BAD_NAMES = [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    "a\\b",
    "A",
    "Demo",
    "-a",
    "_a",
    "a.b",
    "a b",
    " a",
    "a\n",
    "a\x00",
    "a" * 64,
    "café",
    "\uff44emo",
    "dé",
]


@pytest.mark.parametrize("value", BAD_NAMES)
def test_invalid_names_raise_invalid_name_naming_the_pattern(value: str) -> None:
    with pytest.raises(InvalidName, match=r"tenant .* is invalid: names must match"):
        check_name("tenant", value)
    assert not is_valid_name(value)


@pytest.mark.parametrize("value", [None, 5, b"demo", ["demo"]])
def test_non_string_names_raise_invalid_name(value: object) -> None:
    with pytest.raises(InvalidName):
        check_name("surface", value)
    assert not is_valid_name(value)


@pytest.mark.parametrize("value", ["a", "0", "demo", "a-b_c", "x" * 63, "9lives"])
def test_valid_names_are_returned_unchanged(value: str) -> None:
    assert check_name("tenant", value) == value


def test_invalid_name_is_a_config_error_with_exit_code_2() -> None:
    assert issubclass(InvalidName, ConfigError)
    assert InvalidName.exit_code == 2


def test_long_invalid_name_is_truncated_in_the_message() -> None:
    with pytest.raises(InvalidName) as info:
        check_name("tenant", "Z" * 10_000)
    assert len(str(info.value)) < 200


@given(valid_names())
def test_every_generated_valid_name_passes(name: str) -> None:
    assert check_name("tenant", name) == name


@given(invalid_names())
def test_every_generated_invalid_name_is_rejected(name: str) -> None:
    with pytest.raises(InvalidName):
        check_name("tenant", name)


@given(valid_names(), valid_names())
def test_scope_key_roundtrips(tenant: str, surface: str) -> None:
    assert parse_scope_key(scope_key(tenant, surface)) == (tenant, surface)


def test_scope_key_joins_with_a_dot() -> None:
    assert scope_key("demo", "home") == "demo.home"


@pytest.mark.parametrize(("tenant", "surface"), [("Demo", "home"), ("demo", "a/b"), ("", "x")])
def test_scope_key_rejects_invalid_parts(tenant: str, surface: str) -> None:
    with pytest.raises(InvalidName):
        scope_key(tenant, surface)


@pytest.mark.parametrize("key", ["demohome", "", "demo.", ".home", "demo.ho.me", "de/mo.home"])
def test_parse_scope_key_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(InvalidName):
        parse_scope_key(key)


def test_parse_day_accepts_strict_iso_dates() -> None:
    assert parse_day("2026-11-05") == dt.date(2026, 11, 5)
    assert parse_day("2024-02-29") == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    "value",
    [
        "2026-1-5",
        "2026-11-5",
        "20261105",
        " 2026-11-05",
        "2026-11-05 ",
        "2026-11-05T00:00:00",
        "2026-11-05T00:00:00Z",
        "2026-11-05 00:00",
        "2026-W47-5",
        "2026-13-01",
        "2025-02-29",
        "",
        "yesterday",
        "\uff12\uff10\uff12\uff16-11-05",
        "2026-\u0661\u0661-05",
        "2026/11/05",
    ],
)
def test_parse_day_rejects_anything_but_yyyy_mm_dd(value: str) -> None:
    with pytest.raises(ConfigError, match=r"is invalid: expected YYYY-MM-DD"):
        parse_day(value)


@pytest.mark.parametrize("value", [None, 20261105, dt.date(2026, 11, 5)])
def test_parse_day_rejects_non_strings_with_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="expected YYYY-MM-DD"):
        parse_day(value)  # type: ignore[arg-type]


@settings(max_examples=50)
@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_parse_day_roundtrips_isoformat(day: dt.date) -> None:
    assert parse_day(day.isoformat()) == day
