from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError, InvalidName
from recsys_algo.contracts.events import ParseResult, day_bounds_ms, parse_files
from recsys_algo.sources.synthetic.generator import SyntheticConfig, generate_catalog, generate_day

DAY = dt.date(2026, 11, 20)
SMALL = SyntheticConfig(events_per_day=8_000, n_users=400, n_items=500, bad_line_rate=0.0)


def parse(data: bytes, day: dt.date = DAY) -> ParseResult:
    return parse_files([("synthetic.jsonl", data)], "demo", "home", day)


def exposures_with_cluster(seed: int, day: dt.date, config: SyntheticConfig) -> pl.DataFrame:
    """Exposures of one generated day, with the cluster (first catalog tag) of each item."""
    data = generate_day(seed, day, "demo", "home", config=config)
    catalog = generate_catalog(seed, n_items=config.n_items, n_clusters=config.n_clusters)
    clusters = pl.DataFrame(
        {"item_id": [r["item_id"] for r in catalog], "cluster": [r["tags"][0] for r in catalog]}  # type: ignore[index]
    )
    frame = parse(data, day).frame().filter(pl.col("event_type") == "exposure")
    return frame.join(clusters, on="item_id", how="left")


def test_same_inputs_give_identical_bytes_and_other_seeds_differ() -> None:
    first = generate_day(3, DAY, "demo", "home", config=SMALL)
    assert first == generate_day(3, DAY, "demo", "home", config=SMALL)
    assert first != generate_day(4, DAY, "demo", "home", config=SMALL)
    assert first != generate_day(3, DAY + dt.timedelta(days=1), "demo", "home", config=SMALL)
    assert first != generate_day(3, DAY, "demo", "search", config=SMALL).replace(
        b'"surface":"search"', b'"surface":"home"'
    )


def test_default_day_volume_is_within_ten_percent_of_events_per_day() -> None:
    lines = generate_day(1, DAY, "demo", "home", bad_line_rate=0.0).splitlines()
    assert 45_000 <= len(lines) <= 55_000


def test_clean_day_parses_without_rejections_and_stays_inside_the_day() -> None:
    result = parse(generate_day(5, DAY, "demo", "home", config=SMALL))
    assert result.rejected == []
    assert result.lines > 7_000
    start, end = day_bounds_ms(DAY)
    ts = result.frame()["ts"].dt.epoch("ms")
    assert start <= ts.min() and ts.max() < end  # type: ignore[operator]


def test_both_timestamp_forms_and_optional_event_ids_are_exercised() -> None:
    lines = generate_day(5, DAY, "demo", "home", config=SMALL).splitlines()
    assert any(b'"ts":1' in line for line in lines)
    assert any(b'Z","tenant"' in line for line in lines)
    assert any(b'+02:00","tenant"' in line for line in lines)
    with_id = sum(b'"event_id"' in line for line in lines)
    assert 0.8 * len(lines) < with_id < len(lines)


def test_bad_lines_come_at_the_configured_rate_and_are_all_rejected() -> None:
    config = SyntheticConfig(events_per_day=20_000, n_users=400, n_items=500, bad_line_rate=0.01)
    dirty = parse(generate_day(9, DAY, "demo", "home", config=config))
    clean = parse(generate_day(9, DAY, "demo", "home", config=config, bad_line_rate=0.0))
    assert 120 <= len(dirty.rejected) <= 280
    assert set(dirty.reasons) == {"invalid_json", "schema", "invalid_event_type", "tenant_mismatch"}
    assert all("item_id" in r["detail"] for r in dirty.rejected if r["reason"] == "schema")
    # Bad lines are extra copies: the good events are exactly those of the clean day.
    drop = ["source_file", "source_line"]
    assert dirty.frame().drop(drop).equals(clean.frame().drop(drop))


def test_funnel_has_about_ten_percent_clicks_then_fewer_carts_and_purchases() -> None:
    frame = parse(generate_day(2, DAY, "demo", "home", config=SMALL)).frame()
    counts = dict(frame.group_by("event_type").len().iter_rows())
    assert 0.08 < counts["click"] / counts["exposure"] < 0.12
    assert counts["purchase"] < counts["add_to_cart"] < counts["click"]
    exposures = frame.filter(pl.col("event_type") == "exposure")
    assert exposures["request_id"].null_count() == 0 and exposures["rank"].min() == 0
    purchases = frame.filter(pl.col("event_type") == "purchase")
    assert purchases["value"].null_count() == 0 and purchases["value"].min() > 0  # type: ignore[operator]


def test_sessions_hold_3_to_20_exposures_within_about_30_minutes() -> None:
    frame = parse(generate_day(2, DAY, "demo", "home", config=SMALL)).frame()
    sessions = (
        frame.filter(pl.col("event_type") == "exposure")
        .group_by("session_id")
        .agg(pl.len().alias("n"), (pl.col("ts").max() - pl.col("ts").min()).alias("span"))
    )
    # The last session of a day may be cut short to hit the volume.
    assert (sessions["n"] < 3).sum() <= 1 and sessions["n"].max() <= 20
    assert sessions["span"].max() <= dt.timedelta(minutes=30)  # type: ignore[operator]
    assert frame.group_by("session_id").agg(pl.col("user_id").n_unique())["user_id"].max() == 1


def test_users_keep_their_preferred_clusters_across_days() -> None:
    config = SyntheticConfig(events_per_day=30_000, n_users=200, n_items=1_000, bad_line_rate=0)
    days = [DAY, DAY + dt.timedelta(days=7)]
    shares = []
    for day in days:
        frame = exposures_with_cluster(3, day, config)
        per_cluster = frame.group_by("user_id", "cluster").len()
        top = per_cluster.sort("len", descending=True).group_by("user_id").head(3)
        shares.append(
            top.group_by("user_id")
            .agg(pl.col("cluster").alias("top"), pl.col("len").sum().alias("in_top"))
            .join(per_cluster.group_by("user_id").agg(pl.col("len").sum()), on="user_id")
            .filter(pl.col("len") >= 20)
        )
    first, second = shares
    # Events concentrate on few clusters (uniform over 20 clusters would put 15% in the top 3).
    assert (first["in_top"].sum() / first["len"].sum()) > 0.7
    both = first.join(second, on="user_id", suffix="_later")
    assert both.height > 50
    # A user's favourite cluster of one day is still among their top three a week later.
    kept = both.select(pl.col("top_later").list.contains(pl.col("top").list.first())).to_series()
    assert kept.mean() > 0.9  # type: ignore[operator]


def test_consecutive_exposures_often_share_a_cluster_and_popularity_is_skewed() -> None:
    frame = exposures_with_cluster(4, DAY, SMALL)
    ordered = frame.sort("session_id", "ts", "rank")
    same = ordered.select(
        (pl.col("cluster") == pl.col("cluster").shift(1)).over("session_id").alias("same")
    )["same"].drop_nulls()
    assert same.mean() > 0.6  # type: ignore[operator]
    counts = frame.group_by("item_id").len().sort("len", descending=True)["len"]
    assert counts.head(SMALL.n_items // 10).sum() / counts.sum() > 0.4


def test_catalog_gives_every_item_a_genre_and_two_to_four_tags() -> None:
    catalog = generate_catalog(3, n_items=500)
    assert catalog == generate_catalog(3, n_items=500)
    assert [r["item_id"] for r in catalog] == [f"item-{i}" for i in range(500)]
    assert all(2 <= len(r["tags"]) <= 4 for r in catalog)  # type: ignore[arg-type]
    assert len({r["tags"][0] for r in catalog}) == 20  # type: ignore[index]
    assert all(isinstance(r["title"], str) and r["title"] for r in catalog)
    known = {r["item_id"] for r in catalog}
    frame = parse(generate_day(3, DAY, "demo", "home", config=SMALL)).frame()
    assert set(frame["item_id"].unique()) <= known


def test_zero_events_give_an_empty_day() -> None:
    assert generate_day(1, DAY, "demo", "home", config=SMALL, events_per_day=0) == b""


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"events_per_day": -1}, "events_per_day must be a non-negative integer"),
        ({"n_users": 0}, "n_users must be >= 1"),
        ({"n_items": 5}, "n_items (5) must be >= n_clusters (20)"),
        ({"n_clusters": 2}, "n_clusters must be in 3..240"),
        ({"bad_line_rate": 1.5}, "bad_line_rate must be in [0, 1]"),
        ({"click_rate": -0.1}, "click_rate must be in [0, 1]"),
        ({"session_min": 5, "session_max": 4}, "session length 5..4 is invalid"),
        ({"zipf_exponent": float("nan")}, "zipf_exponent must be >= 0"),
    ],
)
def test_invalid_knobs_raise_config_error_naming_the_knob(
    knobs: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        SyntheticConfig(**knobs)  # type: ignore[arg-type]


def test_invalid_seed_or_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        generate_day(-1, DAY, "demo", "home", config=SMALL)
    with pytest.raises(InvalidName, match="tenant"):
        generate_day(1, DAY, "Demo!", "home", config=SMALL)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    day=st.dates(dt.date(1971, 1, 1), dt.date(2100, 12, 31)),
    events=st.integers(0, 400),
    n_users=st.integers(1, 50),
    n_items=st.integers(20, 60),
    session_min=st.integers(1, 5),
    extra=st.integers(0, 20),
)
def test_any_small_clean_config_yields_only_valid_events_inside_the_day(
    seed: int, day: dt.date, events: int, n_users: int, n_items: int, session_min: int, extra: int
) -> None:
    config = SyntheticConfig(
        events_per_day=events,
        n_users=n_users,
        n_items=n_items,
        session_min=session_min,
        session_max=session_min + extra,
        bad_line_rate=0.0,
    )
    result = parse(generate_day(seed, day, "demo", "home", config=config), day)
    assert result.rejected == []
    assert result.frame()["event_id"].n_unique() == result.lines


def test_clicks_mix_makes_every_event_a_click_with_sessions_of_the_asked_length() -> None:
    config = SyntheticConfig(
        events_per_day=20_000, n_users=500, n_items=500, n_clusters=50, bad_line_rate=0.0,
        session_min=8, session_max=12, event_mix="clicks",
    )  # fmt: skip
    frame = parse(generate_day(2, DAY, "demo", "home", config=config)).frame()
    assert frame["event_type"].unique().to_list() == ["click"]
    assert 19_000 <= frame.height <= 21_000  # one event per step: the volume asked for
    lengths = frame.group_by("session_id").len()["len"]
    assert 8 <= lengths.median() <= 12  # type: ignore[operator]
    # The funnel mix of the same config is another day: exposures and a funnel below them.
    funnel = parse(generate_day(2, DAY, "demo", "home", config=SMALL)).frame()
    assert funnel.filter(pl.col("event_type") == "click").height < funnel.height / 5


def test_clusters_past_the_named_genres_get_numbered_genres() -> None:
    catalog = generate_catalog(4, n_items=5_000, n_clusters=50)
    genres = {row["tags"][0] for row in catalog}  # type: ignore[index]
    assert len(genres) == 50
    assert {"drama", "drama-2", "action-3", "comedy-3"} <= genres
    with pytest.raises(ConfigError, match=r"n_clusters must be in 3\.\.240"):
        SyntheticConfig(n_clusters=241, n_items=500)
    with pytest.raises(ConfigError, match="event_mix must be one of funnel, clicks"):
        SyntheticConfig(event_mix="views")
