"""The five kinds behind one interface: parameter overrides, compute, evaluation reuse."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from recsys_algo.contracts.catalog import CATALOG_SCHEMA
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.evaluation import evaluate
from recsys_algo.kinds import registry
from recsys_algo.kinds.kind import KINDS, Kind
from recsys_algo.kinds.registry import Inputs, compute_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic.generator import generate_catalog
from tests.support.builders import canonical_frame

END = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


def inputs() -> Inputs:
    rows = []
    for day in (1, 2):
        for u in range(30):
            for j in range(3):
                rows.append(
                    {
                        "event_id": f"e{day}-{u}-{j}",
                        "ts": dt.datetime(2026, 11, day, 10, u, j * 5, tzinfo=dt.UTC),
                        "user_id": f"u{u}",
                        "item_id": f"item-{(u + j * 7 + day) % 40}",
                        "event_type": "click",
                    }
                )
    catalog = pl.DataFrame(generate_catalog(3, 40, 5), schema=CATALOG_SCHEMA)
    return Inputs(canonical_frame(rows), catalog, END)


def test_overrides_replace_only_the_named_knobs() -> None:
    params = ModelParams.from_overrides(
        {"cooc": {"similarity": "lift"}, "evaluation": {"ks": [5, 10]}}
    )
    assert params.of(Kind.COOC).similarity == "lift"
    assert params.of(Kind.COOC).top_n == ModelParams().of(Kind.COOC).top_n
    assert params.evaluation.ks == (5, 10)
    assert params.of(Kind.IMPLICIT).num_threads == 2  # fixed: deterministic on any machine
    assert set(params.as_dict()) == {*KINDS, "blend", "evaluation"}


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"nope": {}}, "unknown section"),
        ({"cooc": {"nope": 1}}, "cooc has no nope"),
        ({"cooc": {"similarity": "euclid"}}, "similarity"),
        ({"implicit": {"factors": 0}}, "factors"),
    ],
)
def test_bad_overrides_are_config_errors_naming_the_knob(
    overrides: dict[str, dict[str, object]], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        ModelParams.from_overrides(overrides)


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown artifact kind 'bogus'"):
        compute_kind("bogus", inputs(), None)


def test_every_kind_computes_deterministic_bytes() -> None:
    params = ModelParams.from_overrides({"cooc": {"min_support": 1}})
    data = inputs()
    for kind in KINDS:
        first = compute_kind(kind, data, params.of(kind))
        assert first.rows > 0
        assert compute_kind(kind, data, params.of(kind)).data == first.data


def test_evaluation_reuses_event_free_kinds_and_retrains_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = ModelParams.from_overrides(
        {"cooc": {"min_support": 1}, "evaluation": {"min_users": 1}}
    )
    data = inputs()
    content = compute_kind(Kind.CONTENT_SIM, data, params.of(Kind.CONTENT_SIM))
    built = registry.tables_of({Kind.CONTENT_SIM: content.data})
    expected = evaluate.evaluate_window(data, params)

    def refuse(*_: object) -> pl.DataFrame:
        raise AssertionError("content_sim was recomputed")

    spec = dataclasses.replace(registry.SPECS[Kind.CONTENT_SIM], compute=refuse)
    monkeypatch.setitem(registry.SPECS, Kind.CONTENT_SIM, spec)  # type: ignore[arg-type]
    assert evaluate.evaluate_window(data, params, built) == expected
    assert expected["users"] > 0
    assert "blend.ndcg@20" in expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_kind_is_independent_of_input_row_order(seed: int) -> None:
    params = ModelParams.from_overrides({"cooc": {"min_support": 1}})
    data = inputs()
    shuffled = Inputs(
        data.events.sample(fraction=1.0, shuffle=True, seed=seed),
        data.catalog.sample(fraction=1.0, shuffle=True, seed=seed),
        data.as_of_end,
    )
    for kind in KINDS:
        p = params.of(kind)
        assert compute_kind(kind, shuffled, p).data == compute_kind(kind, data, p).data
