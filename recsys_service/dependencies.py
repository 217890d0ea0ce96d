"""The calling principal: resolved from the auth headers, rate limited per tenant.

Handlers get it as a dependency, direct routes (recsys_service.direct) call authenticate()
themselves; app-wide objects come from recsys_service.app_objects.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from litestar.params import HeaderParameter

from recsys_service.app_objects import SETTINGS_KEY
from recsys_service.auth import API_KEY_HEADER, TENANT_HEADER, Principal, resolve_principal
from recsys_service.errors import RateLimited
from recsys_service.metrics import METRICS_KEY, ServiceMetrics
from recsys_service.observed_app import PRINCIPAL_STATE_KEY
from recsys_service.ratelimit import LIMITER_KEY, RateLimiter, retry_after_seconds
from recsys_service.settings import Settings


def authenticate(
    state: State, scope_state: dict[str, Any], api_key: str | None, tenant: str | None
) -> Principal:
    """The principal of a request (400/401/403), recorded for the access log, and one token of
    its tenant's rate limit (429)."""
    settings: Settings = state[SETTINGS_KEY]
    principal = resolve_principal(settings.api_keys, api_key, tenant)
    scope_state[PRINCIPAL_STATE_KEY] = principal
    check_rate_limit(state, principal.tenant)
    return principal


AUTH_HEADERS = {API_KEY_HEADER: "API key", TENANT_HEADER: "tenant (admin keys only)"}


def provide_principal(
    request: Request[Any, Any, Any],
    api_key: Annotated[
        str | None,
        HeaderParameter(
            name=API_KEY_HEADER, description=AUTH_HEADERS[API_KEY_HEADER], required=False
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        HeaderParameter(
            name=TENANT_HEADER, description=AUTH_HEADERS[TENANT_HEADER], required=False
        ),
    ] = None,
) -> Principal:
    return authenticate(request.app.state, request.scope["state"], api_key, tenant)


def auth_header_parameters() -> list[Parameter]:
    """The OpenAPI parameters Litestar writes for provide_principal's headers, for routes that
    read them from the scope (recsys_service.direct)."""
    optional_string = [Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)]
    return [
        Parameter(
            name=name,
            param_in=ParamType.HEADER,
            description=description,
            required=False,
            schema=Schema(one_of=optional_string, description=description),
        )
        for name, description in AUTH_HEADERS.items()
    ]


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


DEPENDENCIES = {"principal": Provide(provide_principal, sync_to_thread=False)}
