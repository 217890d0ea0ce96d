"""What pipelines and CLI read besides the shared settings: model parameters, automation knobs."""

from __future__ import annotations

from pydantic import Field

from recsys_algo.config.shared import SharedEnv

MODEL_PARAMS_ENV = "RECSYS_MODEL_PARAMS"
SCHEDULE_HOUR_ENV = "RECSYS_SCHEDULE_HOUR_UTC"
FRESHNESS_MAX_AGE_ENV = "RECSYS_FRESHNESS_MAX_AGE_HOURS"
LANDING_LOOKBACK_ENV = "RECSYS_LANDING_LOOKBACK_DAYS"

SCHEDULE_INTERVAL_HOURS = 24


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
