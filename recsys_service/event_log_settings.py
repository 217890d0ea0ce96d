"""The event log's settings (RECSYS_EVENTS_*): flushing, the buffer's bounds, the time window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from pydantic import Field, model_validator

from recsys_algo.config import EnvSettings, SharedEnv
from recsys_algo.config.shared import DEFAULT_MAX_SURFACES
from recsys_algo.contracts.errors import ConfigError

FLUSH_INTERVAL_ENV = "RECSYS_EVENTS_FLUSH_INTERVAL"
FLUSH_EVENTS_ENV = "RECSYS_EVENTS_FLUSH_EVENTS"
BUFFER_MAX_ENV = "RECSYS_EVENTS_BUFFER_MAX"
SCOPE_MAX_ENV = "RECSYS_EVENTS_SCOPE_MAX"
MAX_PAST_DAYS_ENV = "RECSYS_EVENTS_MAX_PAST_DAYS"
MAX_FUTURE_MINUTES_ENV = "RECSYS_EVENTS_MAX_FUTURE_MINUTES"
# A failing scope's share of the buffer when RECSYS_EVENTS_SCOPE_MAX is unset: three can fail at
# once and the other scopes still have a quarter of it.
DEFAULT_SCOPE_SHARE = 4


@dataclass(frozen=True, slots=True)
class EventLogSettings:
    """When to flush (every flush_interval seconds or flush_events events), the buffer bound,
    the window of event times POST /v1/events accepts around the service's clock, and how many
    events one (tenant, surface) whose writes fail may hold (None: buffer_max // 4), and how
    many surfaces one tenant may post events for."""

    flush_interval: float = 5.0
    flush_events: int = 10_000
    buffer_max: int = 200_000
    max_past_days: int = 30
    max_future_minutes: int = 60
    scope_max: int | None = None
    max_surfaces: int = DEFAULT_MAX_SURFACES  # per tenant (RECSYS_MAX_SURFACES, surfaces.py)

    @property
    def failing_scope_max(self) -> int:
        """Most events a scope with a failing write may hold: it cannot take the whole buffer."""
        if self.scope_max is not None:
            return self.scope_max
        return max(1, self.buffer_max // DEFAULT_SCOPE_SHARE)

    @classmethod
    def from_env(cls) -> EventLogSettings:
        """RECSYS_EVENTS_* from the process environment; ConfigError naming what is wrong."""
        env = EventLogEnv.load()
        return cls(
            float(env.flush_interval),
            env.flush_events,
            env.buffer_max,
            env.max_past_days,
            env.max_future_minutes,
            env.scope_max,
            SharedEnv.load().max_surfaces,
        )


class EventLogEnv(EnvSettings):
    """RECSYS_EVENTS_*: whole seconds between flushes, the early-flush count, the buffer bound,
    the accepted window of event times (whole days before now, whole minutes after) and a
    failing scope's bound."""

    flush_interval: int = Field(default=5, ge=1, le=300, validation_alias=FLUSH_INTERVAL_ENV)
    flush_events: int = Field(default=10_000, ge=1, le=1_000_000, validation_alias=FLUSH_EVENTS_ENV)
    buffer_max: int = Field(default=200_000, ge=1, le=10_000_000, validation_alias=BUFFER_MAX_ENV)
    scope_max: int | None = Field(default=None, ge=1, le=10_000_000, validation_alias=SCOPE_MAX_ENV)
    max_past_days: int = Field(default=30, ge=1, le=3650, validation_alias=MAX_PAST_DAYS_ENV)
    max_future_minutes: int = Field(
        default=60, ge=0, le=1440, validation_alias=MAX_FUTURE_MINUTES_ENV
    )

    @model_validator(mode="after")
    def _buffer_holds_a_flush(self) -> Self:
        if self.buffer_max < self.flush_events:
            raise ConfigError(
                f"{BUFFER_MAX_ENV}={self.buffer_max} is below {FLUSH_EVENTS_ENV}="
                f"{self.flush_events}: the buffer must hold at least one flush"
            )
        if self.scope_max is not None and self.scope_max > self.buffer_max:
            raise ConfigError(
                f"{SCOPE_MAX_ENV}={self.scope_max} is above {BUFFER_MAX_ENV}={self.buffer_max}: "
                "a failing scope must not be able to take the whole buffer"
            )
        return self
