"""Ranking metrics: hand-computed values, edge cases, properties; the time split."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.events import CANONICAL_SCHEMA
from recsys_algo.evaluation.metrics import (
    coverage_at_k,
    evaluate,
    hit_matrix,
    per_case,
    recall_at_k,
)
from recsys_algo.evaluation.split import time_split

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def ndcg_at_k(recs: list[list[str]], truth: list[set[str]], k: int) -> float:
    return evaluate(recs, truth, (k,), catalog_size=1000)[f"ndcg@{k}"]


def mrr_at_k(recs: list[list[str]], truth: list[set[str]], k: int) -> float:
    return evaluate(recs, truth, (k,), catalog_size=1000)[f"mrr@{k}"]


def test_ndcg_of_hit_miss_hit_with_two_relevant_matches_hand_computation() -> None:
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([["a", "x", "b"]], [{"a", "b"}], 3) == pytest.approx(expected)


def test_recall_divides_by_min_of_truth_size_and_k() -> None:
    # 1 hit in top-2, truth has 3 items: 1 / min(3, 2).
    assert recall_at_k([["a", "x", "b"]], [{"a", "b", "c"}], 2) == pytest.approx(0.5)
    assert recall_at_k([["a", "x", "b"]], [{"a", "b", "c"}], 3) == pytest.approx(2 / 3)


def test_mrr_is_reciprocal_rank_of_first_hit_within_k_else_zero() -> None:
    recs = [["x", "a"], ["x", "y", "a"], ["a"]]
    truth = [{"a"}, {"a"}, {"a"}]
    assert mrr_at_k(recs, truth, 2) == pytest.approx((0.5 + 0.0 + 1.0) / 3)


def test_per_case_values_are_hand_computed_and_average_to_the_metrics() -> None:
    recs = [["a", "x", "b"], ["x", "y"], ["y", "c"]]
    truth = [{"a", "b"}, {"z"}, {"c"}]
    hits, sizes = hit_matrix(recs, truth, 3)
    cases = per_case(hits, sizes, 2)  # at k=2: "b" (rank 3) no longer counts
    assert cases["recall"].tolist() == [0.5, 0.0, 1.0]
    assert cases["rr"].tolist() == [1.0, 0.0, 0.5]
    assert cases["ndcg"].tolist() == pytest.approx(
        [1 / (1 + 1 / math.log2(3)), 0.0, 1 / math.log2(3)]
    )
    overall = evaluate(recs, truth, (2,), catalog_size=10)
    for name, key in (("recall", "recall@2"), ("ndcg", "ndcg@2"), ("rr", "mrr@2")):
        assert float(cases[name].mean()) == pytest.approx(overall[key])


def test_users_without_truth_are_not_evaluated() -> None:
    recs = [["a"], ["b"]]
    truth: list[set[str]] = [{"a"}, set()]
    assert recall_at_k(recs, truth, 1) == 1.0
    assert evaluate(recs, truth, (1,), catalog_size=2)["users"] == 1.0


def test_no_users_with_truth_gives_zero_metrics() -> None:
    assert recall_at_k([["a"]], [set()], 5) == 0.0
    assert ndcg_at_k([], [], 5) == 0.0
    assert mrr_at_k([], [], 5) == 0.0


def test_repeated_recommendation_counts_once() -> None:
    assert recall_at_k([["a", "a"]], [{"a", "b"}], 2) == pytest.approx(0.5)
    assert ndcg_at_k([["a", "a", "b"]], [{"a", "b"}], 3) <= 1.0


def test_short_lists_and_list_truth_are_accepted() -> None:
    assert recall_at_k([[]], [["a"]], 10) == 0.0
    assert recall_at_k([("a",)], [["a", "a"]], 10) == 1.0


def test_coverage_counts_distinct_items_in_top_k_over_catalog() -> None:
    recs = [["a", "b", "c"], ["a", "d", "e"]]
    assert coverage_at_k(recs, 2, 10) == pytest.approx(3 / 10)


def test_evaluate_reports_every_metric_for_every_k() -> None:
    result = evaluate([["a", "b"]], [{"b"}], (1, 2), catalog_size=4)
    assert result == {
        "recall@1": 0.0,
        "ndcg@1": 0.0,
        "ndcg_se@1": 0.0,  # one user: no spread to measure
        "mrr@1": 0.0,
        "coverage@1": 0.25,
        "recall@2": 1.0,
        "ndcg@2": pytest.approx(1 / math.log2(3)),
        "ndcg_se@2": 0.0,
        "mrr@2": 0.5,
        "coverage@2": 0.5,
        "users": 1.0,
    }


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_a_config_error(k: object) -> None:
    with pytest.raises(ConfigError, match="k must be an integer >= 1"):
        recall_at_k([["a"]], [{"a"}], k)  # type: ignore[arg-type]


def test_misaligned_recs_and_truth_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="recs has 2 users but truth has 1"):
        ndcg_at_k([["a"], ["b"]], [{"a"}], 5)


def test_bad_catalog_size_and_empty_ks_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="catalog_size"):
        coverage_at_k([["a"]], 1, 0)
    with pytest.raises(ConfigError, match="ks must name"):
        evaluate([["a"]], [{"a"}], (), catalog_size=1)


items = st.sampled_from([f"i{n}" for n in range(12)])
users = st.lists(
    st.tuples(st.lists(items, max_size=8), st.sets(items, max_size=5)), min_size=1, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(users, st.integers(1, 10))
def test_metrics_are_within_zero_and_one(rows: list[tuple[list[str], set[str]]], k: int) -> None:
    recs, truth = [r for r, _ in rows], [t for _, t in rows]
    for value in evaluate(recs, truth, (k,), catalog_size=12).values():
        assert value >= 0.0
    for name in ("recall", "ndcg", "mrr", "coverage"):
        assert evaluate(recs, truth, (k,), catalog_size=12)[f"{name}@{k}"] <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(items, min_size=1, max_size=5), min_size=1, max_size=6), st.integers(1, 6))
def test_perfect_ranking_scores_one(truth: list[set[str]], k: int) -> None:
    recs = [[*sorted(t), "not-relevant"] for t in truth]
    assert recall_at_k(recs, truth, k) == pytest.approx(1.0)
    assert ndcg_at_k(recs, truth, k) == pytest.approx(1.0)
    assert mrr_at_k(recs, truth, k) == pytest.approx(1.0)


def _events(rows: list[tuple[str | None, str, str, int, str]]) -> pl.DataFrame:
    """rows: (user_id, item_id, event_type, minutes after T0, event_id)."""
    return pl.DataFrame(
        {
            "event_id": [r[4] for r in rows],
            "ts": [T0 + dt.timedelta(minutes=r[3]) for r in rows],
            "tenant": ["demo"] * len(rows),
            "surface": ["home"] * len(rows),
            "user_id": [r[0] for r in rows],
            "session_id": [None] * len(rows),
            "item_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "value": [None] * len(rows),
            "request_id": [None] * len(rows),
            "rank": [None] * len(rows),
        },
        schema=CANONICAL_SCHEMA,
    )


def test_time_split_puts_holdout_start_in_test() -> None:
    events = _events([("u", "a", "click", 0, "e1"), ("u", "b", "click", 60, "e2")])
    train, test = time_split(events, T0 + dt.timedelta(minutes=60))
    assert train["event_id"].to_list() == ["e1"]
    assert test["event_id"].to_list() == ["e2"]


@settings(max_examples=200)
@given(
    minutes=st.lists(st.integers(0, 5), max_size=12),
    # On an event's minute (a tie), within its millisecond (truncated to a tie), or anywhere.
    cut_us=st.one_of(
        st.integers(0, 6).map(lambda m: m * 60_000_000),
        st.integers(0, 6).map(lambda m: m * 60_000_000 + 700),
        st.integers(0, 6 * 60_000_000),
    ),
    in_time_order=st.booleans(),
)
def test_time_split_matches_comparing_each_event_to_the_start(
    minutes: list[int], cut_us: int, in_time_order: bool
) -> None:
    """Windows in time order are cut as slices, others filtered; both give the rows that
    comparing each timestamp with the start (to the millisecond) gives, in the window's order."""
    rows = [
        ("u", "a", "click", m, f"e{i}")
        for i, m in enumerate(sorted(minutes) if in_time_order else minutes)
    ]
    train, test = time_split(_events(rows), T0 + dt.timedelta(microseconds=cut_us))
    cut = T0 + dt.timedelta(milliseconds=cut_us // 1000)
    before = [T0 + dt.timedelta(minutes=r[3]) < cut for r in rows]
    assert train["event_id"].to_list() == [r[4] for r, b in zip(rows, before, strict=True) if b]
    assert test["event_id"].to_list() == [r[4] for r, b in zip(rows, before, strict=True) if not b]


def test_time_split_requires_aware_datetime() -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        time_split(_events([]), dt.datetime(2026, 11, 1))


def test_evaluate_100k_users_counts_the_planted_hit_of_each() -> None:
    rng = random.Random(0)
    recs = [[f"i{rng.randrange(50_000)}" for _ in range(20)] for _ in range(100_000)]
    truth = [{f"i{rng.randrange(50_000)}" for _ in range(5)} | {r[3]} for r in recs]
    result = evaluate(recs, truth, (10, 20), catalog_size=50_000)
    assert result["users"] == 100_000
    # Rank 4 is a hit for everyone, so the first hit is never below rank 4: MRR is at least
    # 1/4, the same at 10 and 20, and barely more (5 random truths of 50k items per user).
    assert result["mrr@10"] == result["mrr@20"]
    assert 0.25 <= result["mrr@10"] < 0.251
    assert result["coverage@10"] == 1.0  # 1M draws over 50k items miss none
