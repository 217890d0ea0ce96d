"""Session next-item evaluation: every held-out position from its prefix, repeats kept."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.evaluation.evaluate import session_metrics
from recsys_algo.evaluation.gate import GATE_METRIC, SESSION_GATE_METRIC, quality_gate, se_key
from recsys_algo.evaluation.params import EvalParams
from recsys_algo.evaluation.sessions import session_cases
from recsys_algo.evaluation.split import Split
from recsys_algo.loading.model import build_model
from recsys_algo.serving.recommender import BlendParams
from tests.unit.session_events import MINUTE_MS, ev, frame

T0 = int(dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC).timestamp() * 1000)
SPLIT = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
DAY_MS = 86_400_000


def split_of(rows: list[dict[str, object]]) -> Split:
    events = frame(rows)
    cut = pl.lit(SPLIT).cast(pl.Datetime("ms", "UTC"))
    return Split(events.filter(pl.col("ts") < cut), events.filter(pl.col("ts") >= cut), SPLIT)


def clicks(session: str, items: str, start_ms: int) -> list[dict[str, object]]:
    return [
        ev(None, item, start_ms + k * MINUTE_MS, session=session)
        for k, item in enumerate(items.split())
    ]


TRAIN = clicks("t1", "a b c d", T0) + clicks("t2", "b a", T0 + 60 * MINUTE_MS)


def test_every_held_out_position_is_a_case_with_its_prefix_and_repeats_kept() -> None:
    held = clicks("h1", "a a b z c", T0 + DAY_MS)  # z was never trained on: not a case
    cases = session_cases(split_of(TRAIN + held), EvalParams())
    assert cases.prefixes == [("a",), ("a", "a"), ("a", "a", "b", "z")]
    assert cases.targets == ["a", "b", "c"]
    assert cases.repeats == [True, False, False]
    assert cases.sessions == 1


def test_a_session_crossing_the_split_keeps_its_training_items_as_context() -> None:
    # Two events before midnight, two after: only the held-out ones are cases.
    crossing = clicks("x", "c d a b", int(SPLIT.timestamp() * 1000) - 2 * MINUTE_MS)
    cases = session_cases(split_of(TRAIN + crossing), EvalParams())
    assert cases.prefixes == [("c", "d"), ("c", "d", "a")]
    assert cases.targets == ["a", "b"]


def test_the_case_sample_keeps_whole_sessions_stably_and_is_bounded() -> None:
    held = []
    for s in range(30):
        held += clicks(f"h{s:02d}", "a b c d", T0 + DAY_MS + s * 60 * MINUTE_MS)
    split = split_of(TRAIN + held)
    params = EvalParams(max_session_cases=10, min_session_cases=1)
    first = session_cases(split, params)
    assert len(first) == 12  # whole sessions of 3 cases each, until 10 are reached
    assert first.sessions == 4
    assert session_cases(split, params) == first
    assert len(session_cases(split, EvalParams(min_session_cases=1))) == 90


def test_session_hit_rate_and_mrr_by_hand_with_repeats_apart() -> None:
    held = clicks("h1", "a a b", T0 + DAY_MS) + clicks("h2", "c d", T0 + DAY_MS + DAY_MS // 2)
    cases = session_cases(split_of(TRAIN + held), EvalParams())
    assert cases.targets == ["a", "b", "d"]
    popularity = pl.DataFrame(
        {"item_id": ["d", "a", "c"], "score": [3.0, 2.0, 1.0], "events": [1] * 3}
    )
    model = build_model({"popularity": popularity.to_arrow()})
    found = session_metrics(
        model, cases, EvalParams(ks=(1, 20), min_session_cases=1), BlendParams()
    )
    # Every answer is d a c: a is hit at rank 2, b never, d at rank 1.
    for source in ("popularity", "blend"):
        assert found[f"{source}.session_hr@20"] == pytest.approx(2 / 3)
        assert found[f"{source}.session_mrr@20"] == pytest.approx((1 / 2 + 1) / 3)
        assert found[f"{source}.session_hr@1"] == pytest.approx(1 / 3)
        assert found[f"{source}.session_hr_repeat@20"] == pytest.approx(1.0)
        assert found[f"{source}.session_hr_new@20"] == pytest.approx(1 / 2)
    assert (found["sessions"], found["session_cases"], found["session_cases_repeat"]) == (2, 3, 1)


def test_too_few_session_cases_measure_nothing_and_the_gate_names_the_need() -> None:
    cases = session_cases(split_of(TRAIN + clicks("h", "a b", T0 + DAY_MS)), EvalParams())
    popularity = pl.DataFrame({"item_id": ["a"], "score": [1.0], "events": [1]})
    model = build_model({"popularity": popularity.to_arrow()})
    found = session_metrics(model, cases, EvalParams(), BlendParams())
    assert found == {"sessions": 1.0, "session_cases": 1.0, "session_cases_repeat": 0.0}
    decision = quality_gate(
        {**found, "users": 3.0},
        {SESSION_GATE_METRIC: 0.3},
        0.1,
        EvalParams().as_dict(),
    )
    # The serving manifest measured it: "not measured" holds the day (issue 14), naming the need.
    assert not decision.passed
    assert decision.message == (
        f"{SESSION_GATE_METRIC} not measured (1 held-out session positions from 1 sessions, "
        "needs 100) while "
        "the serving manifest measured 0.3000"
    )


def test_the_gate_checks_users_and_sessions_each_against_its_own_baseline() -> None:
    published = {GATE_METRIC: 0.5, SESSION_GATE_METRIC: 0.2}
    both = quality_gate({GATE_METRIC: 0.5, SESSION_GATE_METRIC: 0.2}, published, 0.1)
    assert both.passed and both.value == 0.5
    dropped = quality_gate({GATE_METRIC: 0.5, SESSION_GATE_METRIC: 0.17}, published, 0.1)
    assert not dropped.passed
    assert dropped.message == (
        f"{GATE_METRIC}=0.5000, published 0.5000, floor 0.4500 (margin 10%); "
        f"{SESSION_GATE_METRIC}=0.1700, published 0.2000, floor 0.1800 (margin 10%)"
    )
    first = quality_gate({SESSION_GATE_METRIC: 0.01}, None, 0.1)
    assert first.passed and first.message == f"{SESSION_GATE_METRIC}=0.0100; no published baseline"
    nothing = quality_gate({"users": 2.0}, None, 0.1, {"min_users": 20, "min_session_cases": 50})
    assert nothing.passed and nothing.message == (
        f"{GATE_METRIC} not measured (2 held-out users, needs 20); "
        f"{SESSION_GATE_METRIC} not measured (0 held-out session positions from 0 sessions, "
        "needs 50)"
    )


def scored_sessions(held: list[str]) -> dict[str, float]:
    """The session metrics of held-out sessions ("a d d d": cases d, d, d) ranked d a c."""
    rows = [
        row
        for n, items in enumerate(held)
        for row in clicks(f"h{n:02d}", items, T0 + DAY_MS + n * 60 * MINUTE_MS)
    ]
    popularity = pl.DataFrame(
        {"item_id": ["d", "a", "c"], "score": [3.0, 2.0, 1.0], "events": [1] * 3}
    )
    model = build_model({"popularity": popularity.to_arrow()})
    cases = session_cases(split_of(TRAIN + rows), EvalParams(min_session_cases=1))
    return session_metrics(model, cases, EvalParams(min_session_cases=1), BlendParams())


SE = se_key(SESSION_GATE_METRIC)


def test_the_session_mrr_standard_error_counts_a_session_once_not_each_position() -> None:
    # Two sessions of three identical positions: reciprocal ranks 1 1 1 | 0 0 0 (mean 0.5).
    # Clustered by session: sqrt(2/1 * ((3 - 1.5)^2 + (0 - 1.5)^2)) / 6 = 3 / 6 = 0.5, the
    # standard error of the two session means 1 and 0; as six independent positions it would
    # be sqrt(0.3 / 6) = 0.2236.
    twice = scored_sessions(["a d d d", "d b b b"])
    assert (twice["sessions"], twice["session_cases"]) == (2, 6)
    assert twice[SESSION_GATE_METRIC] == pytest.approx(0.5)
    assert twice[SE] == pytest.approx(0.5)
    # One position per session: the independent standard error, std(ddof=1) / sqrt(n), exactly
    # (the small-sample factor G / (G - 1) is what makes the two agree).
    once = scored_sessions(["a d", "a d", "a d", "c b", "c b", "c b"])
    assert (once["sessions"], once["session_cases"]) == (6, 6)
    assert once[SESSION_GATE_METRIC] == pytest.approx(0.5)
    assert once[SE] == pytest.approx((0.3 / 6) ** 0.5, rel=1e-12)
    # Same input, same floats.
    assert scored_sessions(["a d d d", "d b b b"]) == twice


def test_the_gate_passes_a_fall_within_two_clustered_standard_errors() -> None:
    # Four sessions of three positions, two all hits and two all misses: MRR 0.5, clustered
    # s.e. sqrt(4/3 * 4 * 1.5^2) / 12 = 0.2887 (as 12 independent positions: 0.1508).
    candidate = scored_sessions(["a d d d", "d b b b", "a d d d", "d b b b"])
    assert candidate[SE] == pytest.approx(12**0.5 / 12)
    published = {SESSION_GATE_METRIC: 0.9, SE: 0.05}
    # The fall 0.4 is beyond 2 naive s.e. (2 * sqrt(0.1508^2 + 0.05^2) = 0.318) but within 2
    # clustered ones (2 * sqrt(0.2887^2 + 0.05^2) = 0.586): the noise of four sessions passes.
    decision = quality_gate(candidate, published, 0.1)
    assert decision.passed, decision.message
    assert "within noise (2 s.e. = 0.5859)" in decision.message


@pytest.mark.parametrize(("low", "high"), [(0, 10), (20, 10)])
def test_bad_session_case_bounds_are_config_errors(low: int, high: int) -> None:
    with pytest.raises(ConfigError, match="min_session_cases"):
        EvalParams(min_session_cases=low, max_session_cases=high)
