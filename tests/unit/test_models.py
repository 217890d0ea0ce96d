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


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"session_knn": {"neighbors": "100"}}, "session_knn.neighbors must be an integer"),
        ({"revisit": {"collapse_repeats": 1}}, "revisit.collapse_repeats must be true or false"),
        ({"cooc": {"top_n": None}}, "cooc.top_n must not be null"),
        ({"cooc": {"top_n": True}}, "cooc.top_n must be an integer"),
        ({"blend": {"rank_offset": "10"}}, "blend.rank_offset must be a number"),
        ({"blend": {"weights": ["cooc"]}}, "blend.weights must be an object"),
        ({"blend": {"weights": {"cooc": "high"}}}, "blend.weights.cooc must be a number"),
        ({"evaluation": {"ks": [10, "20"]}}, r"evaluation.ks\[\] must be an integer"),
        ({"cooc": {"event_types": "click"}}, "cooc.event_types must be a list"),
        ({"cooc": [1]}, "cooc must be an object"),
        ({"item_model": {"model": 3}}, "item_model.model must be a string"),
    ],
)
def test_override_values_of_the_wrong_type_name_the_knob(
    overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        ModelParams.from_overrides(overrides)  # type: ignore[arg-type]


def test_typed_overrides_convert_and_merge() -> None:
    params = ModelParams.from_overrides(
        {
            "blend": {"weights": {"cooc": 0.5}, "rank_offset": 5},
            "cooc": {"event_types": ["click"]},
            "content_sim": {"title_stop_words": None},
        }
    )
    assert params.blend.weights == {**ModelParams().blend.weights, "cooc": 0.5}
    assert params.blend.rank_offset == 5.0 and isinstance(params.blend.rank_offset, float)
    assert params.of(Kind.COOC).event_types == ("click",)
    assert params.of(Kind.CONTENT_SIM).title_stop_words is None
    # On top of other parameters, not of the defaults.
    again = params.with_overrides({"blend": {"weights": {"implicit": 0.25}}})
    assert again.blend.weights["cooc"] == 0.5 and again.blend.weights["implicit"] == 0.25
    assert again.blend.rank_offset == 5.0


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
