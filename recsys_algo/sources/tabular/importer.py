"""A generic event log (CSV, TSV or parquet) -> raw events, one landing file per UTC day.

A column mapping says which columns hold the item, the time (and its unit), and optionally the
user, the session, the event type, a value and an event id. Every row is checked before
anything is written; a row that breaks a rule is a BadRow naming its file and line, and the
import is refused when there are more than `max_bad_rows` of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.event_rules import EVENT_TYPES
from recsys_algo.contracts.names import check_name
from recsys_algo.sources.days import first_and_last_day, landing_name_for, write_days
from recsys_algo.sources.tabular.checks import (
    ISO,
    TIME_UNITS,
    check_bad_row_limit,
    epoch_ms,
    id_reason,
    nothing_left,
    number_reason,
    refuse_bad_rows,
    shown,
    split_bad,
    time_reason,
)
from recsys_algo.sources.tabular.summary import LogSummary
from recsys_algo.sources.tabular.table import LINE, Table, TableFormat, read_table
from recsys_algo.store.storage import Storage

DEFAULT_EVENT_TYPE = "click"
MAX_DAYS = 20_000  # a log spanning more is almost surely read with the wrong time unit
_TS, _TYPE, _VALUE = "_ts", "_event_type", "_value"


@dataclass(frozen=True)
class EventLogMapping:
    """Which source column holds what; None: the source has no such column."""

    item_col: str
    time_col: str
    time_unit: str = "s"  # s, ms, us, ns (epoch numbers) or iso (ISO 8601; no offset = UTC)
    user_col: str | None = None
    session_col: str | None = None
    event_type: str = DEFAULT_EVENT_TYPE  # every row's type when event_type_col is None
    event_type_col: str | None = None
    event_map: Mapping[str, str] = field(default_factory=dict)  # source value -> event type
    value_col: str | None = None
    id_col: str | None = None  # else event ids are `{landing name stem}-{line}`

    def __post_init__(self) -> None:
        if self.time_unit not in (*TIME_UNITS, ISO):
            raise ConfigError(
                f"time unit {self.time_unit!r} is unknown; use one of {', '.join(TIME_UNITS)}, iso"
            )
        wrong = [t for t in (self.event_type, *self.event_map.values()) if t not in EVENT_TYPES]
        if wrong:
            raise ConfigError(f"event type {wrong[0]!r} is not one of {', '.join(EVENT_TYPES)}")

    @property
    def columns(self) -> dict[str, str]:
        """Raw event field -> the source column it is read from."""
        named = {
            "item_id": self.item_col,
            "ts": self.time_col,
            "user_id": self.user_col,
            "session_id": self.session_col,
            "event_type": self.event_type_col,
            "value": self.value_col,
            "event_id": self.id_col,
        }
        return {name: column for name, column in named.items() if column is not None}


def _type_reason(mapping: EventLogMapping) -> pl.Expr | None:
    column = mapping.event_type_col
    if column is None:
        return None
    allowed = ", ".join(EVENT_TYPES)
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit(f"{column} is empty"))
        .when(pl.col(_TYPE).is_null())
        .then(
            pl.format(
                "{} {} is not one of {}; map it (event_map / --event-map SOURCE=TYPE)",
                pl.lit(column),
                shown(column),
                pl.lit(allowed),
            )
        )
    )


def log_events(table: Table, mapping: EventLogMapping, prefix: str) -> pl.DataFrame:
    """Checked raw event columns plus "day", sorted by day, time and line; bad rows to table.bad."""
    frame = table.frame.with_columns(
        epoch_ms(table, mapping.time_col, mapping.time_unit).alias(_TS)
    )
    reasons = [
        id_reason(mapping.item_col, "item_id", required=True),
        time_reason(mapping.time_col, _TS, mapping.time_unit),
    ]
    for name, column in (
        ("user_id", mapping.user_col),
        ("session_id", mapping.session_col),
        ("event_id", mapping.id_col),
    ):
        if column is not None:
            reasons.append(id_reason(column, name, required=name == "event_id"))
    if mapping.event_type_col is not None:
        known = {t: t for t in EVENT_TYPES} | dict(mapping.event_map)
        frame = frame.with_columns(
            pl.col(mapping.event_type_col)
            .replace_strict(known, default=None, return_dtype=pl.String())
            .alias(_TYPE)
        )
        reasons.append(_type_reason(mapping))  # type: ignore[arg-type]
    else:
        frame = frame.with_columns(pl.lit(mapping.event_type).alias(_TYPE))
    if mapping.value_col is not None:
        frame = frame.with_columns(
            pl.col(mapping.value_col).cast(pl.Float64, strict=False).alias(_VALUE)
        )
        reasons.append(number_reason(mapping.value_col, _VALUE))
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64()).alias(_VALUE))
    good = split_bad(table, frame, reasons)

    def text(column: str | None) -> pl.Expr:
        return pl.lit(None, pl.String()) if column is None else pl.col(column).cast(pl.String)

    event_id = (
        text(mapping.id_col)
        if mapping.id_col is not None
        else pl.format("{}-{}", pl.lit(prefix), pl.col(LINE))
    )
    return (
        good.select(
            pl.col(_TS).alias("ts"),
            text(mapping.user_col).alias("user_id"),
            text(mapping.session_col).alias("session_id"),
            text(mapping.item_col).alias("item_id"),
            pl.col(_TYPE).alias("event_type"),
            pl.col(_VALUE).alias("value"),
            event_id.alias("event_id"),
            pl.from_epoch(pl.col(_TS), "ms").dt.date().alias("day"),
            pl.col(LINE),
        )
        .sort("day", "ts", LINE)
        .drop(LINE)
    )


def check_span(events: pl.DataFrame, source: str, unit_hint: str) -> None:
    """Refuse a log spanning more than MAX_DAYS days (a wrong time unit, most likely)."""
    first, last = first_and_last_day(events)
    span = (last - first).days + 1
    if span > MAX_DAYS:
        raise ConfigError(
            f"{source}: events span {span} days ({first}..{last}), more than {MAX_DAYS}; "
            f"{unit_hint}"
        )


def import_event_log(
    path: Path,
    storage: Storage,
    tenant: str,
    surface: str,
    mapping: EventLogMapping,
    fmt: TableFormat | None = None,
    *,
    landing_name: str | None = None,
    max_bad_rows: int = 0,
) -> LogSummary:
    """Check every row, then write raw/{tenant}/{surface}/{day}/{landing_name} per UTC day.

    landing_name defaults to the file's name with .jsonl (landing_name_for); re-importing
    the same file replaces the same files with identical bytes. No catalog is written.
    """
    check_name("tenant", tenant)
    check_name("surface", surface)
    check_bad_row_limit(max_bad_rows)
    name = landing_name or landing_name_for(path)
    table = read_table(path, fmt or TableFormat(), list(mapping.columns.values()))
    events = log_events(table, mapping, name.removesuffix(".jsonl"))
    refuse_bad_rows(table.bad, max_bad_rows, str(path))
    nothing_left(events, str(path))
    check_span(events, str(path), f"is the time unit {mapping.time_unit!r} right?")
    written = write_days(storage, tenant, surface, events, name)
    return LogSummary.of(str(path), name, events, written, table.bad)
