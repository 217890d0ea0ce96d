"""What an import of a log wrote, as the CLI prints it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from recsys_algo.sources.days import DaysWritten
from recsys_algo.sources.tabular.table import BadRow


@dataclass(frozen=True)
class LogSummary:
    source: str
    landing_name: str
    days: int
    events: int
    users: int
    sessions: int
    items: int
    first_day: dt.date
    last_day: dt.date
    bad_rows: tuple[BadRow, ...]  # let through (at most max_bad_rows), not imported

    @classmethod
    def of(
        cls,
        source: str,
        landing_name: str,
        events: pl.DataFrame,
        written: DaysWritten,
        bad_rows: list[BadRow],
    ) -> LogSummary:
        return cls(
            source=source,
            landing_name=landing_name,
            days=written.days,
            events=events.height,
            users=events["user_id"].drop_nulls().n_unique(),
            sessions=events["session_id"].drop_nulls().n_unique(),
            items=events["item_id"].n_unique(),
            first_day=written.first_day,
            last_day=written.last_day,
            bad_rows=tuple(bad_rows),
        )

    def __str__(self) -> str:
        skipped = f", {len(self.bad_rows)} bad row(s) skipped" if self.bad_rows else ""
        return (
            f"{self.events} events of {self.items} items, {self.users} users, "
            f"{self.sessions} sessions over {self.days} days {self.first_day}..{self.last_day} "
            f"as {self.landing_name}{skipped}"
        )
