"""Moments and ages as the API shows them: ISO 8601 in UTC with milliseconds, seconds."""

from __future__ import annotations

import datetime as dt


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def age_seconds(created_at: str, now: dt.datetime) -> float | None:
    try:
        created = dt.datetime.fromisoformat(created_at)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return round((now - created).total_seconds(), 3)
