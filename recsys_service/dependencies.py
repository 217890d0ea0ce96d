"""Dependencies the controllers receive: settings and the calling principal (app-wide objects:
recsys_service.app_state)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from recsys_service.app_state import SETTINGS_KEY
from recsys_service.auth import API_KEY_HEADER, TENANT_HEADER, Principal, resolve_principal
from recsys_service.errors import RateLimited
from recsys_service.metrics import METRICS_KEY, ServiceMetrics
from recsys_service.observe import PRINCIPAL_STATE_KEY
from recsys_service.ratelimit import LIMITER_KEY, RateLimiter, retry_after_seconds
from recsys_service.settings import Settings


def provide_settings(state: State) -> Settings:
    settings: Settings = state[SETTINGS_KEY]
    return settings


def provide_principal(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    api_key: Annotated[
        str | None, HeaderParameter(name=API_KEY_HEADER, description="API key", required=False)
    ] = None,
    tenant: Annotated[
        str | None,
        HeaderParameter(name=TENANT_HEADER, description="tenant (admin keys only)", required=False),
    ] = None,
) -> Principal:
    principal = resolve_principal(settings.api_keys, api_key, tenant)
    request.scope["state"][PRINCIPAL_STATE_KEY] = principal  # for the access log
    check_rate_limit(request.app.state, principal.tenant)
    return principal


def check_rate_limit(state: State, tenant: str) -> None:
    """Every route that resolves a principal is limited per tenant; nothing else is."""
    limiter: RateLimiter = state[LIMITER_KEY]
    wait = limiter.acquire(tenant)
    if wait > 0:
        metrics: ServiceMetrics = state[METRICS_KEY]
        metrics.refused(tenant)
        seconds = retry_after_seconds(wait)
        raise RateLimited(
            f"rate limit for tenant {tenant!r} exceeded; retry in {seconds} s", seconds
        )


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
}
