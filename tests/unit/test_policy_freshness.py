"""Freshness policy: a serving manifest older than the limit is stale, saying by how much."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.policy.freshness import (
    freshness_report,
    scope_freshness,
    unreadable_freshness,
)
from tests.unit.policy_values import PUBLISHED, serving

LIMIT = dt.timedelta(hours=48)
MANIFEST = serving(dt.date(2026, 11, 19))


def test_a_manifest_within_the_limit_is_fresh_with_its_age_to_a_tenth_of_an_hour() -> None:
    result = scope_freshness(
        "demo.home", MANIFEST, PUBLISHED + dt.timedelta(hours=47, minutes=59), LIMIT
    )
    assert result.fresh and result.age_hours == 48.0
    assert result.message == (
        f"demo/home: serving {MANIFEST.manifest_version} (as_of 2026-11-19) published 48.0 h ago"
    )


def test_a_manifest_exactly_at_the_limit_is_still_fresh() -> None:
    assert scope_freshness("demo.home", MANIFEST, PUBLISHED + LIMIT, LIMIT).fresh
    assert not scope_freshness("demo.home", MANIFEST, PUBLISHED + LIMIT * 1.001, LIMIT).fresh


def test_a_manifest_over_the_limit_is_stale_naming_the_limit() -> None:
    result = scope_freshness("demo.home", MANIFEST, PUBLISHED + dt.timedelta(hours=50), LIMIT)
    assert not result.fresh
    assert result.message.endswith("published 50.0 h ago, over the 48 h limit")


def test_created_at_with_an_offset_counts_in_utc() -> None:
    shifted = msgspec.structs.replace(MANIFEST, created_at="2026-11-20T08:00:00.000+02:00")
    result = scope_freshness("demo.home", shifted, PUBLISHED + dt.timedelta(hours=1), LIMIT)
    assert result.age_hours == 1.0


def test_a_scope_with_nothing_published_yet_is_listed_not_stale() -> None:
    result = scope_freshness("demo.search", None, PUBLISHED, LIMIT)
    assert result.fresh and result.age_hours is None
    assert result.message == "demo/search: nothing published yet"


def test_an_unreadable_pointer_is_stale_with_the_reason() -> None:
    result = unreadable_freshness("demo.home", "signature does not verify")
    assert not result.fresh
    assert result.message == "demo/home: serving manifest unreadable: signature does not verify"


def test_the_report_fails_naming_every_stale_scope_and_passes_counting_the_fresh() -> None:
    now = PUBLISHED + dt.timedelta(hours=50)
    results = [
        scope_freshness("demo.home", MANIFEST, now, LIMIT),
        scope_freshness("demo.search", None, now, LIMIT),
        unreadable_freshness("globex.feed", "missing key"),
    ]
    report = freshness_report(results, LIMIT)
    assert not report.passed
    assert report.stale == ["demo.home", "globex.feed"]
    assert report.description == "stale: " + "; ".join(
        (results[0].message, "globex/feed: serving manifest unreadable: missing key")
    )
    fresh = freshness_report(results[1:2], LIMIT)
    assert fresh.passed and fresh.description == "all 1 scopes within 48 h"
    assert fresh.max_age_hours == 48.0


def test_the_report_over_no_scopes_passes_saying_there_are_none() -> None:
    report = freshness_report([], LIMIT)
    assert report.passed
    assert report.description == "no tenant.surface registered or published yet"


@given(minutes=st.integers(0, 10 * 24 * 60), limit_hours=st.integers(1, 24 * 366))
def test_fresh_exactly_when_the_age_is_at_most_the_limit(minutes: int, limit_hours: int) -> None:
    age = dt.timedelta(minutes=minutes)
    limit = dt.timedelta(hours=limit_hours)
    result = scope_freshness("demo.home", MANIFEST, PUBLISHED + age, limit)
    assert result.fresh == (age <= limit)
