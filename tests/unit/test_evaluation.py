"""Offline evaluation: the time split, the held-out users, the metrics table and the gate."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.contracts.events import CANONICAL_SCHEMA
from recsys_algo.evaluation.evaluate import (
    EvalParams,
    evaluate_model,
    holdout,
    metric_table,
    split_window,
)
from recsys_algo.evaluation.gate import GATE_METRIC, SESSION_GATE_METRIC, quality_gate, se_key
from recsys_algo.evaluation.metrics import evaluate
from recsys_algo.loading.model import build_model
from recsys_algo.serving.recommender import BlendParams

END = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


def events(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """(user, item, event_type, 'YYYY-MM-DDTHH:MM') rows as canonical events."""
    data = {name: [] for name in CANONICAL_SCHEMA}  # type: dict[str, list[object]]
    for n, (user, item, kind, when) in enumerate(rows):
        ts = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
        values = {
            "event_id": f"e{n:04d}",
            "ts": ts,
            "tenant": "acme",
            "surface": "home",
            "user_id": user,
            "session_id": None,
            "item_id": item,
            "event_type": kind,
            "value": None,
            "request_id": None,
            "rank": None,
        }
        for name in CANONICAL_SCHEMA:
            data[name].append(values[name])
    return pl.DataFrame(data, schema=CANONICAL_SCHEMA)


WINDOW = events(
    [
        ("u1", "a", "click", "2026-11-01T10:00"),
        ("u1", "b", "click", "2026-11-01T11:00"),
        ("u1", "a", "purchase", "2026-11-02T09:00"),
        ("u1", "c", "click", "2026-11-02T09:05"),  # held out, new for u1
        ("u1", "a", "click", "2026-11-02T09:06"),  # held out, already seen: not truth
        ("u2", "b", "click", "2026-11-01T12:00"),
        ("u2", "x", "exposure", "2026-11-02T10:00"),  # exposures are not interactions
        ("u3", "d", "click", "2026-11-02T10:00"),  # no training history
        (None, "a", "click", "2026-11-01T13:00"),  # type: ignore[list-item]
    ]
)
DAY_END = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC) + dt.timedelta(days=1)


def test_the_last_day_of_the_window_is_held_out() -> None:
    split = split_window(WINDOW, DAY_END, EvalParams())
    assert split.holdout_start == dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert split.train.height == 4
    assert split.test.height == 5
    assert split.train["ts"].max() < split.holdout_start <= split.test["ts"].min()


def test_a_one_day_window_holds_out_its_last_fraction() -> None:
    day = WINDOW.filter(pl.col("ts") >= dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    split = split_window(day, DAY_END, EvalParams(holdout_fraction=0.25))
    first = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    assert split.holdout_start == DAY_END - (DAY_END - first) * 0.25
    assert split.train.height + split.test.height == day.height


def test_empty_window_cannot_be_split() -> None:
    with pytest.raises(ValidationGateError, match="no events"):
        split_window(WINDOW.head(0), DAY_END, EvalParams())


def test_holdout_users_have_history_and_only_new_items_as_truth() -> None:
    data = holdout(split_window(WINDOW, DAY_END, EvalParams()), EvalParams())
    assert data.users == ["u1"]
    assert data.histories == [("a", "b")]
    assert data.truth == [{"c"}]
    assert data.next_item == [{"c"}]


def test_history_keeps_the_latest_position_of_a_repeated_item() -> None:
    frame = events(
        [
            ("u", "a", "click", "2026-11-01T01:00"),
            ("u", "b", "click", "2026-11-01T02:00"),
            ("u", "a", "click", "2026-11-01T03:00"),
            ("u", "z", "click", "2026-11-02T01:00"),
            ("u", "y", "click", "2026-11-02T02:00"),
        ]
    )
    data = holdout(split_window(frame, DAY_END, EvalParams()), EvalParams())
    assert data.histories == [("b", "a")]
    assert data.next_item == [{"z"}]
    assert data.truth == [{"z", "y"}]


def test_user_sample_is_stable_and_bounded() -> None:
    rows = []
    for u in range(50):
        rows += [(f"u{u:02d}", "a", "click", "2026-11-01T01:00")]
        rows += [(f"u{u:02d}", f"i{u}", "click", "2026-11-02T01:00")]
    split = split_window(events(rows), DAY_END, EvalParams())
    first = holdout(split, EvalParams(max_users=10, min_users=1))
    assert len(first.users) == 10
    assert first.users == sorted(first.users)
    assert holdout(split, EvalParams(max_users=10, min_users=1)) == first


def test_metrics_per_kind_and_blend_from_the_served_model() -> None:
    popularity = pl.DataFrame(
        {"item_id": ["a", "c", "b"], "score": [3.0, 2.0, 1.0], "events": [1] * 3}
    )
    model = build_model({"popularity": popularity.to_arrow()})
    params = EvalParams(min_users=1)
    data = holdout(split_window(WINDOW, DAY_END, params), params)
    found = evaluate_model(model, data, params, BlendParams(), catalog_size=4)
    # u1 saw a and b, so c is ranked first: a perfect hit for popularity and the blend.
    for source in ("popularity", "blend"):
        assert found[f"{source}.ndcg@20"] == pytest.approx(1.0)
        assert found[f"{source}.recall@10"] == pytest.approx(1.0)
        assert found[f"{source}.next_hit@20"] == pytest.approx(1.0)
        assert found[f"{source}.coverage@10"] == pytest.approx(1 / 4)
    assert found["users"] == 1


def test_too_few_users_means_nothing_is_measured_and_the_gate_says_so() -> None:
    popularity = pl.DataFrame({"item_id": ["a"], "score": [1.0], "events": [1]})
    model = build_model({"popularity": popularity.to_arrow()})
    data = holdout(split_window(WINDOW, DAY_END, EvalParams()), EvalParams())
    found = evaluate_model(model, data, EvalParams(min_users=2), BlendParams(), catalog_size=4)
    assert found == {"users": 1.0}
    for baseline in (None, {}, {"users": 3.0}):  # nothing serving, or nothing measured there
        decision = quality_gate(found, baseline, 0.1)
        assert decision.passed
        assert decision.message == (
            f"{GATE_METRIC} not measured (1 held-out users); "
            f"{SESSION_GATE_METRIC} not measured (0 held-out session positions from 0 sessions)"
        )


def test_not_measured_is_not_passed_when_the_serving_manifest_was_measured() -> None:
    decision = quality_gate({"users": 1.0}, {GATE_METRIC: 0.5}, 0.1)
    assert not decision.passed
    assert decision.message == (
        f"{GATE_METRIC} not measured (1 held-out users) while the serving manifest measured 0.5000"
    )
    # A metric neither side measured says nothing; the one the serving manifest measured holds.
    both = quality_gate({"users": 1.0}, {GATE_METRIC: 0.5, "users": 30.0}, 0.1, {"min_users": 20})
    assert both.message == (
        f"{GATE_METRIC} not measured (1 held-out users, needs 20) while the serving manifest "
        "measured 0.5000"
    )


def test_gate_blocks_a_drop_beyond_the_margin_and_passes_within_it() -> None:
    published = {GATE_METRIC: 0.50}
    assert quality_gate({GATE_METRIC: 0.46}, published, 0.10).passed
    assert quality_gate({GATE_METRIC: 0.45}, published, 0.10).passed  # exactly at the floor
    blocked = quality_gate({GATE_METRIC: 0.44}, published, 0.10)
    assert not blocked.passed
    assert "blend.ndcg@20=0.4400, published 0.5000, floor 0.4500 (margin 10%)" in blocked.message
    assert quality_gate({GATE_METRIC: 0.01}, None, 0.10).passed  # first publish: no baseline
    assert quality_gate({GATE_METRIC: 0.01}, {}, 0.10).passed


def test_metric_table_lists_sources_by_metric() -> None:
    table = metric_table({"users": 3, "a.ndcg@20": 0.5, "b.ndcg@20": 0.25}, ["a", "b"])
    assert table.splitlines() == [
        "| source | ndcg@20 |",
        "|---|---|",
        "| a | 0.5000 |",
        "| b | 0.2500 |",
    ]


@pytest.mark.parametrize(
    ("knobs", "needle"),
    [
        ({"ks": ()}, "ks"),
        ({"ks": (0,)}, "ks"),
        ({"max_users": 0}, "min_users"),
        ({"min_users": 5, "max_users": 4}, "min_users"),
        ({"holdout_fraction": 1.0}, "holdout_fraction"),
        ({"gate_margin": -0.1}, "gate_margin"),
    ],
)
def test_bad_evaluation_parameters_are_config_errors(knobs: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        EvalParams(**knobs)  # type: ignore[arg-type]


def test_gate_passes_a_fall_within_noise_and_blocks_one_beyond_it() -> None:
    se = se_key(GATE_METRIC)
    published = {GATE_METRIC: 0.30, se: 0.03}
    # 0.21 is below the floor 0.27, but the fall 0.09 is within 2 s.e. of the difference
    # (2 * sqrt(0.03^2 + 0.03^2) = 0.085 < 0.09 blocks; with 0.035 each, 0.099 passes).
    blocked = quality_gate({GATE_METRIC: 0.21, se: 0.03}, published, 0.10)
    assert not blocked.passed and "within noise" not in blocked.message
    noisy = quality_gate({GATE_METRIC: 0.21, se: 0.035}, {**published, se: 0.035}, 0.10)
    assert noisy.passed and "within noise (2 s.e. = 0.0990)" in noisy.message
    # Without a standard error on either side (older manifests), the margin alone decides.
    assert not quality_gate({GATE_METRIC: 0.21, se: 0.5}, {GATE_METRIC: 0.30}, 0.10).passed


def test_evaluate_records_the_standard_error_of_ndcg_over_users() -> None:
    truth = [{"a"}, {"b"}, {"c"}, {"d"}]
    same = evaluate([["a"], ["b"], ["c"], ["d"]], truth, (1,), catalog_size=4)
    assert same["ndcg@1"] == 1.0 and same["ndcg_se@1"] == 0.0
    half = evaluate([["a"], ["x"], ["c"], ["x"]], truth, (1,), catalog_size=4)
    # values 1, 0, 1, 0: sample deviation 0.5774 over sqrt(4)
    assert half["ndcg@1"] == 0.5 and abs(half["ndcg_se@1"] - 0.288675) < 1e-6
