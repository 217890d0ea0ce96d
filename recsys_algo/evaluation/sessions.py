"""Session next-item truth: every position of the held-out sessions, predicted from its prefix.

The protocol of the session-rec framework: a held-out session a b a c gives the cases
(a -> b), (a b -> a) and (a b a -> c), each predicted from its prefix alone (no user id), with
repeats kept (a quarter of next items on a real click log are items the session already
holds). Sessions are built over the whole split (training and held-out events), so a session
that crosses the split point keeps its earlier items as context, and only targets at or after
the split point are cases. A target the training part never saw is left out: no model can
name it, so it measures the data, not the models (the same candidate universe for all).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from recsys_algo.evaluation.params import EvalParams
from recsys_algo.evaluation.split import INTERACTIONS, Split
from recsys_algo.kinds.sessions import sessionize

# How the evaluation cuts sessions where events carry no session_id: the kinds' default.
SESSION_GAP_MINUTES = 30.0
# Positions kept per held-out session (its latest ones); longer sessions are rare and capped.
MAX_SESSION_LENGTH = 200


@dataclass(frozen=True)
class SessionCases:
    """One case per held-out position: the items before it (oldest first) and its item."""

    sessions: int  # held-out sessions with at least one case
    prefixes: list[tuple[str, ...]]
    targets: list[str]
    # Each case's session, numbered 0..sessions-1: a session's positions move together, so the
    # standard error of a session metric is clustered by it (metrics.clustered_standard_error).
    session_of: list[int]

    @property
    def repeats(self) -> list[bool]:
        """Whether each target is already in its prefix (a repeat target)."""
        return [
            target in prefix for prefix, target in zip(self.prefixes, self.targets, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.targets)


def _sample_key(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_cases(split: Split, params: EvalParams) -> SessionCases:
    """Every held-out position with a non-empty prefix and a target seen in training.

    Sessions are sampled whole, in a stable order (by hash of their key), until
    params.max_session_cases cases are reached; the cases keep session and position order.
    """
    train_items = split.train.filter(pl.col("event_type").is_in(INTERACTIONS))["item_id"]
    events = pl.concat([split.train, split.test], how="vertical")
    frame = sessionize(
        events,
        gap_minutes=SESSION_GAP_MINUTES,
        max_session_length=MAX_SESSION_LENGTH,
        event_types=INTERACTIONS,
        collapse_repeats=False,
    ).frame
    cut = pl.lit(split.holdout_start).cast(pl.Datetime("ms", "UTC"))
    case = (
        (pl.col("ts") >= cut)
        & (pl.col("position") > 0)
        & pl.col("item_id").is_in(train_items.unique().implode())
    )
    # The case column first, then its any() per session: inside over() polars evaluated the
    # is_in list once per session (1.4 GB for 200k events, issue 18).
    held = frame.with_columns(_case=case).filter(pl.col("_case").any().over("session_key"))
    keys = held["session_key"].unique(maintain_order=True).to_list()
    keys.sort(key=_sample_key)
    counts = dict(held.filter("_case").group_by("session_key").len().iter_rows())
    chosen: set[str] = set()
    total = 0
    for key in keys:
        if total >= params.max_session_cases:
            break
        chosen.add(key)
        total += counts[key]
    prefixes: list[tuple[str, ...]] = []
    targets: list[str] = []
    session_of: list[int] = []
    rows = held.filter(pl.col("session_key").is_in(sorted(chosen)))
    for number, (_, group) in enumerate(rows.group_by("session_key", maintain_order=True)):
        items = group["item_id"].to_list()
        for position in group.with_row_index("_at").filter(pl.col("_case"))["_at"].to_list():
            prefixes.append(tuple(items[:position]))
            targets.append(items[position])
            session_of.append(number)
    return SessionCases(len(chosen), prefixes, targets, session_of)
