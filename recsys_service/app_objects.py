"""The app-wide objects kept in `app.state`: their keys and typed accessors.

Handlers read these from state rather than as injected dependencies: Litestar resolves two or
more independent dependencies in an anyio task group on every request, which cost ~14 % of
/v1/recommend's CPU (py-spy, bench/service.py). Request-specific values (the principal) stay
dependencies.
"""

from __future__ import annotations

from litestar.datastructures import State

from recsys_service.event_log import EVENT_LOG_KEY, EventLog
from recsys_service.serving_state import ServingState

SERVING_KEY = "serving"
SETTINGS_KEY = "settings"


def serving_of(state: State) -> ServingState:
    serving: ServingState = state[SERVING_KEY]
    return serving


def event_log_of(state: State) -> EventLog:
    event_log: EventLog = state[EVENT_LOG_KEY]
    return event_log
