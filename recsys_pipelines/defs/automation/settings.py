"""Automation knobs read from the environment, validated with errors that name the variable."""

from __future__ import annotations

import os

from recsys_algo.contracts.errors import ConfigError

SCHEDULE_HOUR_ENV = "RECSYS_SCHEDULE_HOUR_UTC"
FRESHNESS_MAX_AGE_ENV = "RECSYS_FRESHNESS_MAX_AGE_HOURS"
LANDING_LOOKBACK_ENV = "RECSYS_LANDING_LOOKBACK_DAYS"

DEFAULT_SCHEDULE_HOUR = 6
SCHEDULE_INTERVAL_HOURS = 24
# Twice the schedule interval: one missed daily run is tolerated, two are not.
DEFAULT_FRESHNESS_MAX_AGE_HOURS = 2 * SCHEDULE_INTERVAL_HOURS
# Files of days this recent are fingerprinted by content token; older days by name only, so
# a sensor tick does not stat (on file:// even hash) the whole landing history.
DEFAULT_LANDING_LOOKBACK_DAYS = 35

SCOPE_TAG = "recsys/scope"
TRIGGER_TAG = "recsys/trigger"


def _int_env(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text[:40]!r} is invalid: expected an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is invalid: expected {low}..{high}")
    return value


def schedule_hour() -> int:
    """Hour of the day (UTC) at which the daily schedule materializes yesterday."""
    return _int_env(SCHEDULE_HOUR_ENV, DEFAULT_SCHEDULE_HOUR, 0, 23)


def freshness_max_age_hours() -> int:
    return _int_env(FRESHNESS_MAX_AGE_ENV, DEFAULT_FRESHNESS_MAX_AGE_HOURS, 1, 24 * 366)


def landing_lookback_days() -> int:
    return _int_env(LANDING_LOOKBACK_ENV, DEFAULT_LANDING_LOOKBACK_DAYS, 0, 100_000)
