from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.events import EVENT_TYPES
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.popularity import (
    DEFAULT_WEIGHTS,
    SCHEMA_VERSION,
    PopularityParams,
    compute_popularity,
)
from recsys_algo.kinds.registry import validate_artifact
from tests.support.builders import DAY_START, canonical_frame

END = DAY_START + dt.timedelta(days=1)
ONE_DAY = PopularityParams(half_life_days=1.0)


def ago(days: float) -> dt.datetime:
    return END - dt.timedelta(days=days)


def scores(frame: pl.DataFrame) -> dict[str, float]:
    return dict(zip(frame["item_id"].to_list(), frame["score"].to_list(), strict=True))


def test_one_purchase_one_half_life_old_scores_half_its_weight() -> None:
    events = canonical_frame([{"item_id": "a", "event_type": "purchase", "ts": ago(1)}])
    result = compute_popularity(events, END, ONE_DAY)
    assert result.rows() == [("a", 2.5, 1)]


def test_hand_computed_decayed_weighted_sums() -> None:
    events = canonical_frame(
        [
            {"item_id": "a", "event_type": "purchase", "ts": ago(1)},  # 5 * 0.5 = 2.5
            {"item_id": "a", "event_type": "click", "ts": ago(2)},  # 1 * 0.25
            {"item_id": "b", "event_type": "add_to_cart", "ts": ago(0.5)},  # 3 * 2**-0.5
            {"item_id": "c", "event_type": "rating", "ts": ago(3), "value": 1.0},  # 2 * 0.125
            {"item_id": "c", "event_type": "exposure", "ts": ago(0)},  # weight 0
        ]
    )
    result = compute_popularity(events, END, ONE_DAY)
    assert result["item_id"].to_list() == ["a", "b", "c"]
    got = scores(result)
    assert got["a"] == pytest.approx(2.75, rel=1e-12)
    assert got["b"] == pytest.approx(3 * 2**-0.5, rel=1e-12)
    assert got["c"] == pytest.approx(0.25, rel=1e-12)
    assert result["events"].to_list() == [2, 1, 1]


def test_longer_half_life_decays_less() -> None:
    events = canonical_frame([{"item_id": "a", "event_type": "click", "ts": ago(7)}])
    result = compute_popularity(events, END, PopularityParams(half_life_days=7.0))
    assert scores(result)["a"] == pytest.approx(0.5)


def test_exposures_alone_produce_no_rows() -> None:
    events = canonical_frame([{"event_type": "exposure"}] * 3)
    result = compute_popularity(events, END, PopularityParams())
    assert result.height == 0
    assert dict(result.schema) == {
        "item_id": pl.String(),
        "score": pl.Float64(),
        "events": pl.Int64(),
    }


def test_exposures_do_not_count_towards_events() -> None:
    events = canonical_frame([{"event_type": "exposure"}, {"event_type": "click", "ts": ago(0.5)}])
    assert compute_popularity(events, END, ONE_DAY)["events"].to_list() == [1]


def test_events_at_or_after_the_end_are_ignored() -> None:
    events = canonical_frame(
        [{"item_id": "now", "ts": END}, {"item_id": "future", "ts": END + dt.timedelta(days=1)}]
    )
    assert compute_popularity(events, END, ONE_DAY).height == 0


def test_ties_are_broken_by_item_id_ascending() -> None:
    events = canonical_frame([{"item_id": i, "ts": ago(1)} for i in ["c", "a", "b"]])
    assert compute_popularity(events, END, ONE_DAY)["item_id"].to_list() == ["a", "b", "c"]


def test_top_n_keeps_the_highest_scores_with_ties_by_id() -> None:
    rows = [{"item_id": "z", "event_type": "purchase", "ts": ago(0.5)}]
    rows += [{"item_id": i, "ts": ago(1)} for i in ["d", "b", "c", "a"]]
    result = compute_popularity(canonical_frame(rows), END, PopularityParams(top_n=3))
    assert result["item_id"].to_list() == ["z", "a", "b"]


def test_custom_weights_replace_defaults_and_missing_types_count_zero() -> None:
    events = canonical_frame(
        [
            {"item_id": "a", "event_type": "exposure", "ts": ago(1)},
            {"item_id": "b", "event_type": "click", "ts": ago(1)},
        ]
    )
    params = PopularityParams(half_life_days=1.0, weights={"exposure": 0.1})
    assert compute_popularity(events, END, params).rows() == [("a", pytest.approx(0.05), 1)]


def test_as_of_end_in_another_offset_means_the_same_instant() -> None:
    events = canonical_frame([{"item_id": "a", "event_type": "purchase", "ts": ago(1)}])
    shifted = END.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert compute_popularity(events, shifted, ONE_DAY).rows() == [("a", 2.5, 1)]


def test_output_passes_the_popularity_artifact_check() -> None:
    events = canonical_frame([{"item_id": f"i{i % 5}", "ts": ago(i / 10)} for i in range(20)])
    blob = encode_artifact(compute_popularity(events, END, ONE_DAY), "popularity", SCHEMA_VERSION)
    assert validate_artifact("popularity", blob.data, "test").num_rows == 5


event_rows = st.lists(
    st.fixed_dictionaries(
        {
            "item_id": st.sampled_from([f"i{i}" for i in range(12)]),
            "event_type": st.sampled_from(EVENT_TYPES),
            "ts": st.integers(0, 30 * 86_400_000).map(
                lambda ms: END - dt.timedelta(milliseconds=ms)
            ),
        }
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(event_rows, st.integers(1, 15), st.randoms(use_true_random=False))
def test_properties_sorted_bounded_positive_and_order_independent(
    rows: list[dict[str, Any]], top_n: int, rnd: random.Random
) -> None:
    params = PopularityParams(top_n=top_n)
    result = compute_popularity(canonical_frame(rows), END, params)
    assert result.height <= top_n
    assert result["item_id"].n_unique() == result.height
    assert all(s > 0 and math.isfinite(s) for s in result["score"])
    keys = [(-s, i) for i, s in result.select("item_id", "score").rows()]
    assert keys == sorted(keys)
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    again = compute_popularity(canonical_frame(shuffled), END, params)
    first = encode_artifact(result, "popularity", SCHEMA_VERSION).data
    assert encode_artifact(again, "popularity", SCHEMA_VERSION).data == first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"half_life_days": 0}, "half_life_days must be > 0, got 0"),
        ({"half_life_days": -1.0}, "half_life_days must be > 0"),
        ({"half_life_days": math.nan}, "half_life_days must be > 0"),
        ({"half_life_days": "7"}, "half_life_days must be a number"),
        ({"top_n": 0}, "top_n must be in 1..1000000, got 0"),
        ({"top_n": 1_000_001}, "top_n must be in 1..1000000"),
        ({"top_n": 2.5}, "top_n must be an integer"),
        ({"top_n": True}, "top_n must be an integer"),
        ({"weights": {"view": 1.0}}, "unknown event types: view"),
        ({"weights": {"click": -1.0}}, "finite and >= 0"),
        ({"weights": {"click": math.nan}}, "finite and >= 0"),
        ({"weights": {"click": math.inf}}, "finite and >= 0"),
        ({"weights": {"click": "1"}}, "finite and >= 0"),
    ],
)
def test_invalid_params_raise_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PopularityParams(**kwargs)


def test_as_dict_is_sorted_and_complete() -> None:
    params = PopularityParams(weights={"purchase": 5.0, "click": 1.0})
    assert params.as_dict() == {
        "half_life_days": 7.0,
        "top_n": 1000,
        "weights": {"click": 1.0, "purchase": 5.0},
    }
    assert list(PopularityParams().as_dict()["weights"]) == sorted(DEFAULT_WEIGHTS)


def test_half_a_million_events_rank_as_an_independent_numpy_sum_does() -> None:
    n, rng = 500_000, np.random.default_rng(0)
    end_ms = int(END.timestamp() * 1000)
    events = pl.DataFrame(
        {
            "item_id": pl.Series(rng.integers(0, 50_000, n)).cast(pl.String()),
            "ts": pl.Series(end_ms - rng.integers(1, 7 * 86_400_000, n)).cast(
                pl.Datetime("ms", "UTC")
            ),
            "event_type": pl.Series(np.array(EVENT_TYPES)[rng.integers(0, 5, n)]),
        }
    )
    params = PopularityParams()
    result = compute_popularity(events, END, params)
    assert result.height == params.top_n
    # The same sum written independently, per item with np.bincount (timings: bench/pipeline.py).
    weight = np.array([params.weights.get(t, 0.0) for t in EVENT_TYPES])
    codes = np.array([EVENT_TYPES.index(t) for t in events["event_type"]])
    age_days = (end_ms - events["ts"].dt.epoch("ms").to_numpy()) / 86_400_000
    contrib = weight[codes] * np.power(0.5, age_days / params.half_life_days)
    expected = np.bincount(events["item_id"].cast(pl.Int64).to_numpy(), contrib, 50_000)
    top = np.argsort(-expected, kind="stable")[: params.top_n]
    assert result["item_id"].cast(pl.Int64).to_list()[:100] == top[:100].tolist()
    np.testing.assert_allclose(result["score"].to_numpy(), expected[top], rtol=1e-9)
