"""What pipelines and CLI read besides the shared settings: model parameters, automation knobs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from recsys_algo.config.shared import SharedEnv
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import parse_day

MODEL_PARAMS_ENV = "RECSYS_MODEL_PARAMS"
SCHEDULE_HOUR_ENV = "RECSYS_SCHEDULE_HOUR_UTC"
FRESHNESS_MAX_AGE_ENV = "RECSYS_FRESHNESS_MAX_AGE_HOURS"
LANDING_LOOKBACK_ENV = "RECSYS_LANDING_LOOKBACK_DAYS"
FIRST_DAY_ENV = "RECSYS_FIRST_DAY"

SCHEDULE_INTERVAL_HOURS = 24
# The partitions' first date: recent, so a scope shows months of dates, not decades (the UI's
# partition bars, "Missing" counts and plots are per date, and "All" launches one run per date).
# Older data (MovieLens-era imports) sets RECSYS_FIRST_DAY explicitly.
DEFAULT_FIRST_DAY = dt.date(2026, 1, 1)
EARLIEST_FIRST_DAY = dt.date(1970, 1, 1)


def _strict_day(value: object) -> object:
    # YYYY-MM-DD only: pydantic alone would also take 20260101 or a Unix timestamp.
    if isinstance(value, str):
        try:
            return parse_day(value)
        except ConfigError:
            raise ValueError("use a date YYYY-MM-DD") from None
    return value


def _first_day_in_range(value: dt.date) -> dt.date:
    if value < EARLIEST_FIRST_DAY:
        raise ValueError(f"use a date on or after {EARLIEST_FIRST_DAY.isoformat()}")
    if value > dt.datetime.now(dt.UTC).date():
        raise ValueError("use a date that is not in the future (the partitions start there)")
    return value


class PipelineEnv(SharedEnv):
    """Shared settings plus the pipeline's knobs; the automation ones are read when needed."""

    # JSON overrides by section, checked where the parameters are built (a bad value fails the
    # run naming the knob, not the code location's load).
    model_params: str = Field(default="", validation_alias=MODEL_PARAMS_ENV)
    schedule_hour_utc: int = Field(default=6, ge=0, le=23, validation_alias=SCHEDULE_HOUR_ENV)
    # Twice the schedule interval: one missed daily run is tolerated, two are not.
    freshness_max_age_hours: int = Field(
        default=2 * SCHEDULE_INTERVAL_HOURS,
        ge=1,
        le=24 * 366,
        validation_alias=FRESHNESS_MAX_AGE_ENV,
    )
    # Files of days this recent are fingerprinted by content token; older days by name only, so
    # a sensor tick does not stat (on file:// even hash) the whole landing history.
    landing_lookback_days: int = Field(
        default=35, ge=0, le=100_000, validation_alias=LANDING_LOOKBACK_ENV
    )
    # Read when the code location loads (the partitions are built then).
    first_day: Annotated[
        dt.date, BeforeValidator(_strict_day), AfterValidator(_first_day_in_range)
    ] = Field(default=DEFAULT_FIRST_DAY, validation_alias=FIRST_DAY_ENV)
