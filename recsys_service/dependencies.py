"""Dependencies the controllers receive: serving state, settings, and the calling principal."""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from recsys_service.auth import API_KEY_HEADER, TENANT_HEADER, Principal, resolve_principal
from recsys_service.event_log import EVENT_LOG_KEY, EventLog
from recsys_service.settings import Settings
from recsys_service.state import ServingState

SERVING_KEY = "serving"
SETTINGS_KEY = "settings"


def provide_serving(state: State) -> ServingState:
    serving: ServingState = state[SERVING_KEY]
    return serving


def provide_settings(state: State) -> Settings:
    settings: Settings = state[SETTINGS_KEY]
    return settings


def provide_principal(
    settings: NamedDependency[Settings],
    api_key: Annotated[
        str | None, HeaderParameter(name=API_KEY_HEADER, description="API key", required=False)
    ] = None,
    tenant: Annotated[
        str | None,
        HeaderParameter(name=TENANT_HEADER, description="tenant (admin keys only)", required=False),
    ] = None,
) -> Principal:
    return resolve_principal(settings.api_keys, api_key, tenant)


def provide_event_log(state: State) -> EventLog:
    event_log: EventLog = state[EVENT_LOG_KEY]
    return event_log


DEPENDENCIES = {
    "serving": Provide(provide_serving, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "event_log": Provide(provide_event_log, sync_to_thread=False),
}
