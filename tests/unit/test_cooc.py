from __future__ import annotations

import math
import re

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ArtifactError, ConfigError, ValidationGateError
from recsys_algo.kinds import neighbors
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.cooc import SCHEMA_VERSION, CoocParams, check_cooc, compute_cooc
from recsys_algo.kinds.session_seq import SessionSeqParams, check_session_seq, compute_session_seq
from tests.unit.session_events import (
    END,
    MINUTE_MS,
    ev,
    frame,
    ms_before_end,
    sessions_frame,
    zipf_events,
)

# n: a=3 b=3 c=2 d=1 of N=4 sessions; together: ab=2 ac=2 bc=1 bd=1.
FOUR = ["a b c", "a b", "a c", "b d"]


def rows(table: pl.DataFrame) -> list[tuple[str, str, float, int]]:
    return [(r[0], r[1], round(r[2], 6), r[3]) for r in table.iter_rows()]


def test_cosine_neighbours_of_four_sessions_by_hand() -> None:
    table = compute_cooc(sessions_frame(FOUR), END, CoocParams(min_support=1))
    r6, r3, r2 = 1 / math.sqrt(6), 1 / math.sqrt(3), 2 / math.sqrt(6)
    assert rows(table) == [
        ("a", "c", round(r2, 6), 2),
        ("a", "b", round(2 / 3, 6), 2),
        ("b", "a", round(2 / 3, 6), 2),
        ("b", "d", round(r3, 6), 1),
        ("b", "c", round(r6, 6), 1),
        ("c", "a", round(r2, 6), 2),
        ("c", "b", round(r6, 6), 1),
        ("d", "b", round(r3, 6), 1),
    ]


def test_jaccard_and_lift_by_hand() -> None:
    jaccard = compute_cooc(
        sessions_frame(FOUR), END, CoocParams(similarity="jaccard", min_support=1)
    )
    lift = compute_cooc(sessions_frame(FOUR), END, CoocParams(similarity="lift", min_support=1))
    as_map = lambda t: {(a, b): s for a, b, s, _ in rows(t)}  # noqa: E731
    assert as_map(jaccard) == pytest.approx(
        {
            ("a", "c"): 2 / 3,
            ("a", "b"): 0.5,
            ("b", "a"): 0.5,
            ("b", "d"): 1 / 3,
            ("b", "c"): 0.25,
            ("c", "a"): 2 / 3,
            ("c", "b"): 0.25,
            ("d", "b"): 1 / 3,
        },
        abs=1e-6,
    )
    assert as_map(lift) == pytest.approx(
        {
            ("a", "c"): 4 / 3,
            ("a", "b"): 8 / 9,
            ("b", "a"): 8 / 9,
            ("b", "d"): 4 / 3,
            ("b", "c"): 2 / 3,
            ("c", "a"): 4 / 3,
            ("c", "b"): 2 / 3,
            ("d", "b"): 4 / 3,
        },
        abs=1e-6,
    )


def test_min_support_drops_pairs_seen_in_fewer_sessions() -> None:
    table = compute_cooc(sessions_frame(FOUR), END, CoocParams())  # min_support 2
    assert [(a, b) for a, b, *_ in rows(table)] == [("a", "c"), ("a", "b"), ("b", "a"), ("c", "a")]


def test_decay_weights_sessions_by_the_age_of_their_last_event() -> None:
    # Weights 0.5, 0.25, 0.25: n_a = 1, n_b = 0.75, n_c = 0.25, c_ab = 0.75, c_ac = 0.25.
    events = pl.concat(
        [
            sessions_frame(["a b"], days_before_end=14),
            sessions_frame(["x y", "x z"], days_before_end=28).with_columns(
                pl.col("item_id").replace({"x": "a", "y": "b", "z": "c"}),
                pl.col("user_id") + "old",
                pl.col("event_id") + "old",
            ),
        ]
    )
    table = compute_cooc(events, END, CoocParams(min_support=1))
    assert rows(table)[:2] == [
        ("a", "b", round(math.sqrt(0.75), 6), 2),
        ("a", "c", 0.5, 1),
    ]


def test_ties_go_to_the_smaller_neighbor_id_and_top_n_cuts_by_score() -> None:
    events = sessions_frame(["a c", "a b", "a z", "a z", "z q"])
    table = compute_cooc(events, END, CoocParams(min_support=1, top_n=2))
    a = table.filter(pl.col("item_id") == "a")["neighbor_id"].to_list()
    assert a == ["z", "b"]  # z scores highest; b and c tie and b wins by id


def test_exposures_do_not_make_items_co_occur_by_default() -> None:
    events = frame(
        [ev(u, i, ms_before_end(1), event_type="exposure") for u in ("u", "v") for i in "ab"]
    )
    assert compute_cooc(events, END, CoocParams()).height == 0
    with_exposures = CoocParams(event_types=("exposure",))
    assert compute_cooc(events, END, with_exposures)["neighbor_id"].to_list() == ["b", "a"]


def test_unknown_similarity_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="similarity must be one of cosine, jaccard, lift"):
        CoocParams(similarity="dice")  # type: ignore[arg-type]


def test_guardrails_name_cooc_and_the_limit() -> None:
    events = sessions_frame(FOUR)
    with pytest.raises(ValidationGateError, match="cooc: 4 distinct items exceeds max_items 3"):
        compute_cooc(events, END, CoocParams(max_items=3))
    with pytest.raises(ValidationGateError, match="cooc: 4 sessions exceeds max_sessions 1"):
        compute_cooc(events, END, CoocParams(max_sessions=1))


def test_same_events_in_any_row_order_encode_to_identical_bytes() -> None:
    events = zipf_events(20_000, 500, 800, seed=4, explicit_share=0.2)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=11)
    for sim in ("cosine", "jaccard", "lift"):
        params = CoocParams(similarity=sim, min_support=1, top_n=5)
        first = encode_artifact(compute_cooc(events, END, params), "cooc", SCHEMA_VERSION)
        assert first.rows > 500
        again = encode_artifact(compute_cooc(events, END, params), "cooc", SCHEMA_VERSION)
        moved = encode_artifact(compute_cooc(shuffled, END, params), "cooc", SCHEMA_VERSION)
        assert first.data == again.data == moved.data


def test_row_chunks_give_the_same_table_as_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys_algo.kinds import cooc

    events = zipf_events(5_000, 200, 300, seed=5)
    whole = compute_cooc(events, END, CoocParams(min_support=1))
    monkeypatch.setattr(cooc, "_CHUNK_ENTRIES", 500)
    assert len(cooc._row_chunks(*_matrices(events))) > 5
    assert compute_cooc(events, END, CoocParams(min_support=1)).equals(whole)


def _matrices(events: pl.DataFrame) -> tuple[object, object]:
    from recsys_algo.kinds import cooc
    from recsys_algo.kinds.sessions import prepare_sessions

    _, enc = prepare_sessions(events, END, CoocParams(), "cooc")
    member = cooc._membership(enc)
    return member.T.tocsr(), member


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("uvw"), st.sampled_from("abcdef"), st.integers(0, 300)),
        max_size=40,
    ),
    st.integers(1, 3),
    st.sampled_from(["cosine", "jaccard", "lift"]),
)
def test_any_events_give_a_table_that_passes_the_checks(
    picks: list[tuple[str, str, int]], top_n: int, similarity: str
) -> None:
    events = frame([ev(u, i, ms_before_end(2) + m * MINUTE_MS) for u, i, m in picks])
    params = CoocParams(min_support=1, top_n=top_n, similarity=similarity)  # type: ignore[arg-type]
    table = compute_cooc(events, END, params)
    if table.height:
        check_cooc(table.to_arrow(), "prop")
    assert (table.group_by("item_id").len()["len"].max() or 0) <= top_n


# --- checks -----------------------------------------------------------------------------------


def good_table() -> pl.DataFrame:
    return compute_cooc(sessions_frame(FOUR), END, CoocParams(min_support=1))


@pytest.mark.parametrize("check", [check_cooc, check_session_seq])
def test_a_computed_table_passes_the_checks(check: object) -> None:
    check(good_table().to_arrow(), "here")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda t: t.head(0), "cooc has no rows"),
        (lambda t: t.drop("support"), "cooc schema is"),
        (lambda t: t.with_columns(pl.col("support").cast(pl.Int32)), "cooc schema is"),
        (lambda t: t.with_columns(neighbor_id=pl.col("item_id")), "cooc pairs an item with itself"),
        (
            lambda t: t.with_columns(score=pl.lit(float("nan"))),
            "cooc scores must be finite and > 0",
        ),
        (lambda t: t.with_columns(score=pl.lit(0.0)), "cooc scores must be finite and > 0"),
        (lambda t: t.with_columns(support=pl.lit(0, dtype=pl.Int64)), "cooc support must be >= 1"),
        (lambda t: t.reverse(), "cooc rows are not sorted"),
        (lambda t: t.with_columns(score=pl.col("score").reverse()), "cooc rows are not sorted"),
        (lambda t: pl.concat([t.head(1), t.head(1)]), "cooc repeats an (item_id, neighbor_id)"),
        (
            lambda t: t.with_columns(neighbor_id=pl.lit(None, dtype=pl.String)),
            "cooc has null values",
        ),
    ],
)
def test_checks_fail_naming_the_problem(corrupt: object, message: str) -> None:
    bad = corrupt(good_table())  # type: ignore[operator]
    with pytest.raises(ArtifactError, match=re.escape(f"where: {message}")):
        check_cooc(bad.to_arrow(), "where")


def test_ties_must_be_ordered_by_neighbor_id() -> None:
    table = pl.DataFrame(
        {"item_id": ["a", "a"], "neighbor_id": ["c", "b"], "score": [1.0, 1.0], "support": [1, 1]}
    )
    with pytest.raises(ArtifactError, match="session_seq rows are not sorted"):
        check_session_seq(table.to_arrow(), "where")
    check_session_seq(table.reverse().to_arrow(), "where")


def test_tables_over_max_rows_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neighbors, "MAX_ROWS", 3)
    with pytest.raises(ArtifactError, match="cooc has 8 rows, max is 3"):
        check_cooc(good_table().to_arrow(), "where")


def test_large_string_columns_are_accepted() -> None:
    table = good_table().to_arrow()
    table = table.cast(
        pa.schema(
            [
                ("item_id", pa.large_string()),
                ("neighbor_id", pa.large_string()),
                ("score", pa.float64()),
                ("support", pa.int64()),
            ]
        )
    )
    check_cooc(table, "where")


# --- scale ------------------------------------------------------------------------------------


def test_one_million_events_give_valid_artifacts_and_identical_reruns() -> None:
    # Timings of the same shape of data: bench/pipeline.py (cooc and session_seq stages).
    events = zipf_events(1_000_000, 200_000, 50_000, seed=1, explicit_share=0.1)
    for check, run in (
        (check_cooc, lambda: compute_cooc(events, END, CoocParams())),
        (check_session_seq, lambda: compute_session_seq(events, END, SessionSeqParams())),
    ):
        table = run()
        check(table.to_arrow(), "scale")
        assert table.height > 100_000
        assert table.equals(run())
