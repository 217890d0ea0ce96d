"""Recipes: the document, its storage (versions and a pointer), and how a scope's parameters
are resolved from the deployment's, the default recipe's and the scope's own."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConcurrentPublishError, ConfigError, NotFoundError
from recsys_algo.contracts.recipe import (
    MAX_RECIPE_BYTES,
    decode_recipe,
    encode_recipe,
    new_recipe,
)
from recsys_algo.kinds.kind import Kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.resolve import check_parameters, resolve
from recsys_algo.stages.recipes import scope_params, set_recipe
from recsys_algo.store.recipes import (
    read_current_recipe,
    read_recipe_version,
    recipe_versions,
    write_recipe,
)
from recsys_algo.store.storage import Storage

NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
SCOPE = ("acme", "home")


def test_the_version_stamps_the_time_and_a_digest_of_the_content() -> None:
    recipe = new_recipe(SCOPE, {"cooc": {"top_n": 10}}, source="cli", created_at=NOW)
    assert recipe.version.startswith("20261120T060000000Z-")
    assert recipe.scope == "acme/home"
    again = new_recipe(SCOPE, {"cooc": {"top_n": 10}}, source="cli", created_at=NOW)
    other = new_recipe(SCOPE, {"cooc": {"top_n": 11}}, source="cli", created_at=NOW)
    assert again.version == recipe.version != other.version
    assert decode_recipe(encode_recipe(recipe), "here", SCOPE) == recipe


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "not a valid recipe"),
        (b"[]", "not a valid recipe"),
        (b" " * (MAX_RECIPE_BYTES + 1), "bytes"),
    ],
)
def test_a_broken_stored_recipe_is_a_config_error_naming_where(raw: bytes, needle: str) -> None:
    with pytest.raises(ConfigError, match=f"here: .*{needle}"):
        decode_recipe(raw, "here", SCOPE)


def test_a_recipe_of_another_scope_or_schema_is_refused() -> None:
    recipe = new_recipe(("other", "home"), {}, source="cli", created_at=NOW)
    with pytest.raises(ConfigError, match="belongs to other/home, not acme/home"):
        decode_recipe(encode_recipe(recipe), "here", SCOPE)
    future = msgspec.structs.replace(
        new_recipe(SCOPE, {}, source="cli", created_at=NOW), schema_version=2
    )
    with pytest.raises(ConfigError, match="schema_version 2"):
        decode_recipe(encode_recipe(future), "here", SCOPE)
    with pytest.raises(ConfigError, match="source"):
        new_recipe(SCOPE, {}, source="someone", created_at=NOW)


def test_writing_keeps_every_version_and_moves_the_pointer(storage: Storage) -> None:
    assert read_current_recipe(storage, SCOPE) is None
    first = set_recipe(storage, SCOPE, {"cooc": {"top_n": 10}}, source="cli", now=NOW)
    later = NOW + dt.timedelta(minutes=1)
    second = set_recipe(storage, SCOPE, {"cooc": {"top_n": 20}}, source="tuning", now=later)
    assert read_current_recipe(storage, SCOPE) == second
    assert recipe_versions(storage, SCOPE) == [first.version, second.version]
    assert read_recipe_version(storage, SCOPE, first.version) == first
    assert read_current_recipe(storage, None) is None  # the default is its own
    with pytest.raises(NotFoundError, match="no recipe version"):
        read_recipe_version(storage, SCOPE, "20261120T060000000Z-00000000")


def test_a_writer_that_lost_the_race_is_told_and_nothing_it_wrote_serves(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_recipe(storage, SCOPE, {"cooc": {"top_n": 10}}, source="cli", now=NOW)
    winner = new_recipe(SCOPE, {"cooc": {"top_n": 20}}, source="tuning", created_at=NOW)
    late = new_recipe(SCOPE, {"cooc": {"top_n": 30}}, source="cli", created_at=NOW)
    original = storage.compare_and_swap

    def race(key: str, data: bytes, token: str | None) -> str:
        # Someone else moves the pointer between this writer's read and its swap.
        original(key, encode_recipe(winner), token)
        return original(key, data, token)

    monkeypatch.setattr(storage, "compare_and_swap", race)
    with pytest.raises(ConcurrentPublishError, match="another recipe was set"):
        write_recipe(storage, late, SCOPE)
    assert read_current_recipe(storage, SCOPE) == winner
    assert late.version in recipe_versions(storage, SCOPE)  # kept, not current


@pytest.mark.parametrize(
    ("parameters", "needle"),
    [
        ({"nope": {}}, "unknown section"),
        ({"session_knn": {"neighbors": 0}}, "neighbors"),
        ({"session_knn": {"neighbors": "5"}}, "must be an integer"),
        ({"blend": []}, "parameters must be"),
        ([], "parameters must be"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_written(
    storage: Storage, parameters: object, needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        set_recipe(storage, SCOPE, parameters, source="cli", now=NOW)
    assert storage.list(layout.RECIPE_ROOT) == []


def test_the_scope_recipe_wins_over_the_default_which_wins_over_the_deployment(
    storage: Storage,
) -> None:
    base = ModelParams.from_overrides({"cooc": {"top_n": 5, "min_support": 3}})
    default = set_recipe(
        storage, None, {"cooc": {"top_n": 7}, "blend": {"rank_offset": 2}}, source="cli", now=NOW
    )
    own = set_recipe(storage, SCOPE, {"cooc": {"top_n": 9}}, source="cli", now=NOW)
    resolved = scope_params(storage, *SCOPE, base)
    cooc = resolved.params.of(Kind.COOC)
    assert (cooc.top_n, cooc.min_support, resolved.params.blend.rank_offset) == (9, 3, 2.0)
    assert resolved.lineage == {"default": default.version, "scope": own.version}
    other = scope_params(storage, "acme", "other", base)
    assert other.params.of(Kind.COOC).top_n == 7
    assert other.lineage == {"default": default.version, "scope": None}
    bare = resolve(base, None, None)
    assert bare.params == base and bare.lineage == {"default": None, "scope": None}


def test_check_parameters_returns_plain_sections() -> None:
    assert check_parameters({"cooc": {"top_n": 3}}) == {"cooc": {"top_n": 3}}
