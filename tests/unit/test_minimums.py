"""Each kind decides from its own inputs whether it has something to say (kinds.minimums): the
degenerate shapes real logs come in leave kinds out with a reason, never an empty artifact."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from recsys_algo.contracts.catalog import CATALOG_SCHEMA
from recsys_algo.kinds.artifacts import decode_artifact
from recsys_algo.kinds.kind import KINDS, Kind
from recsys_algo.kinds.registry import Built, Inputs, build_kind, default_params
from tests.unit.session_events import END, MINUTE_MS, ev, frame, ms_before_end

T0 = ms_before_end(1)
NO_CATALOG = pl.DataFrame(schema=CATALOG_SCHEMA)


def catalog(rows: Sequence[dict[str, object]]) -> pl.DataFrame:
    full = [{"tags": [], "title": None, "surface": None, **row} for row in rows]
    return pl.DataFrame(full, schema=CATALOG_SCHEMA)


def build_all(events: pl.DataFrame, items: pl.DataFrame = NO_CATALOG) -> dict[Kind, Built]:
    params = default_params()
    inputs = Inputs(events, items, END)
    return {kind: build_kind(kind, inputs, params[kind]) for kind in KINDS}


def left_out(built: dict[Kind, Built]) -> dict[Kind, str]:
    return {kind: b.omitted for kind, b in built.items() if b.omitted is not None}


def rows_of(built: Built) -> list[dict[str, object]]:
    assert built.blob is not None, built.omitted
    return decode_artifact(built.blob.data, built.kind, "test").to_pylist()


def users_and_sessions(n_users: int = 4) -> list[dict[str, object]]:
    """Each user views a, b, c a minute apart: every kind has something to say."""
    return [
        ev(f"u{u}", item, T0 + (u * 10 + i) * MINUTE_MS, session=f"s{u}")
        for u in range(n_users)
        for i, item in enumerate("abc")
    ]


def test_no_events_at_all_leave_every_kind_out_with_a_reason_and_nothing_empty() -> None:
    built = build_all(frame([]))
    assert set(left_out(built)) == set(KINDS)  # a kind without a minimum would build empty
    for kind, reason in left_out(built).items():
        assert reason.strip() and built[kind].blob is None, kind
    assert left_out(built)[Kind.POPULARITY].startswith("no event with a positive weight")


def test_an_empty_catalog_leaves_content_sim_out_and_nothing_else() -> None:
    built = build_all(frame(users_and_sessions()), NO_CATALOG)
    assert left_out(built) == {
        Kind.CONTENT_SIM: "no catalog: the tenant's catalog/{tenant}/items.jsonl is absent or empty"
    }


def test_a_catalog_without_tags_or_titles_leaves_content_sim_out_counting_them() -> None:
    items = catalog([{"item_id": i} for i in "abcde"])
    assert left_out(build_all(frame(users_and_sessions()), items)) == {
        Kind.CONTENT_SIM: "0 of 5 catalog items have tags or a title; needs 2"
    }


def test_titles_without_tags_are_enough_for_content_sim() -> None:
    items = catalog(
        [
            {"item_id": "a", "title": "Alpine hiking boots"},
            {"item_id": "b", "title": "Alpine hiking poles"},
            {"item_id": "c", "title": "Espresso cups"},
        ]
    )
    built = build_all(frame(users_and_sessions()), items)[Kind.CONTENT_SIM]
    pairs = {(r["item_id"], r["neighbor_id"]) for r in rows_of(built)}
    assert ("a", "b") in pairs and not any("c" in pair for pair in pairs)


def test_no_user_ids_leave_the_user_models_out_and_sessions_come_from_session_ids() -> None:
    rows = [{**row, "user_id": None} for row in users_and_sessions()]
    omitted = left_out(build_all(frame(rows)))
    assert set(omitted) == {Kind.IMPLICIT, Kind.ITEM_MODEL, Kind.CONTENT_SIM}
    for kind in (Kind.IMPLICIT, Kind.ITEM_MODEL):
        assert omitted[kind] == (
            "0 users and 0 items with positive-weight interactions (min_user_events 1); "
            "needs 2 users and 2 items; 12 events carry no user_id"
        )


def test_no_session_ids_sessionize_each_user_at_the_gap() -> None:
    # u0: a, b a minute apart, then c two hours later: sessions (a b) and (c).
    rows = [
        ev("u0", "a", T0),
        ev("u0", "b", T0 + MINUTE_MS),
        ev("u0", "c", T0 + 120 * MINUTE_MS),
        ev("u1", "a", T0),
        ev("u1", "b", T0 + 2 * MINUTE_MS),
    ]
    built = build_all(frame(rows))
    assert set(left_out(built)) == {Kind.CONTENT_SIM}
    following = {(r["item_id"], r["neighbor_id"]) for r in rows_of(built[Kind.SESSION_SEQ])}
    assert ("a", "b") in following and ("b", "c") not in following
    together = {(r["item_id"], r["neighbor_id"]) for r in rows_of(built[Kind.COOC])}
    assert ("a", "b") in together and ("a", "c") not in together


def test_single_event_sessions_leave_the_pair_kinds_out_and_say_how_many_could_hold_one() -> None:
    rows = [ev(f"u{i}", "abcdef"[i % 6], T0 + i * MINUTE_MS, session=f"s{i}") for i in range(30)]
    omitted = left_out(build_all(frame(rows)))
    assert set(omitted) == {Kind.COOC, Kind.SESSION_SEQ, Kind.REVISIT, Kind.CONTENT_SIM}
    assert omitted[Kind.COOC] == (
        "0 of 30 sessions hold two or more items, and no item pair reaches min_support 2"
    )
    assert omitted[Kind.SESSION_SEQ].startswith("0 of 30 sessions hold two or more items")
    assert omitted[Kind.REVISIT] == (
        "none of 30 sessions holds two or more positions (gap_minutes 30): "
        "no next item to learn from"
    )


def test_events_without_user_or_session_say_so_in_the_session_kinds_reasons() -> None:
    rows = [ev(None, "abc"[i % 3], T0 + i * MINUTE_MS) for i in range(12)]
    omitted = left_out(build_all(frame(rows)))
    assert Kind.POPULARITY not in omitted  # popularity needs no owner
    for kind in (Kind.COOC, Kind.SESSION_SEQ, Kind.REVISIT, Kind.SESSION_KNN):
        assert omitted[kind].endswith("; 12 events have neither user_id nor session_id"), kind


def test_only_exposures_leave_popularity_out_naming_the_types_seen() -> None:
    rows = [{**row, "event_type": "exposure"} for row in users_and_sessions()]
    reason = left_out(build_all(frame(rows)))[Kind.POPULARITY]
    assert reason.startswith(
        "no event with a positive weight in the window (12 events; types seen: exposure; weights {"
    )
