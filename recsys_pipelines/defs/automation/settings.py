"""Automation knobs, read through recsys_algo.config when they are needed; the run tags it sets."""

from __future__ import annotations

from recsys_algo.config import PipelineEnv

SCOPE_TAG = "recsys/scope"
TRIGGER_TAG = "recsys/trigger"


def schedule_hour() -> int:
    """Hour of the day (UTC) at which the daily schedule materializes yesterday."""
    return PipelineEnv.load().schedule_hour_utc


def freshness_max_age_hours() -> int:
    return PipelineEnv.load().freshness_max_age_hours


def landing_lookback_days() -> int:
    return PipelineEnv.load().landing_lookback_days


def max_surfaces() -> int:
    """Most scopes the landing sensor registers per tenant (RECSYS_MAX_SURFACES)."""
    return PipelineEnv.load().max_surfaces
