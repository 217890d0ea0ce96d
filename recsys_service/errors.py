"""Service errors and the one exception-handler table mapping every error to a JSON body."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from recsys_algo.contracts.errors import InvalidName
from recsys_algo.serving import similar
from recsys_service.request_id import request_id_for
from recsys_service.schemas import ErrorDetail, ErrorResponse

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A domain error with the HTTP status and stable error code clients see."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    status_code, code = 400, "bad_request"


class InvalidRequest(ServiceError):
    """A body field breaks its bounds or is unknown (what Litestar's ValidationException says)."""

    status_code, code = 400, "invalid_request"


class Unauthorized(ServiceError):
    status_code, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status_code, code = 403, "forbidden"


class RateLimited(ServiceError):
    status_code, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ScopeNotFound(ServiceError):
    status_code, code = 404, "scope_not_found"


class NotReady(ServiceError):
    status_code, code = 503, "not_ready"


# Litestar's own HTTP errors (raised before our code runs) get stable codes too.
HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "not_ready",
}


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    extra_headers: Mapping[str, str] | None = None,
) -> Response[ErrorResponse]:
    rid = request_id_for(request.scope)
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, request_id=rid))
    headers = dict(extra_headers or {})  # X-Request-ID: added to every response by ObservedApp
    if status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[ErrorResponse]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(request, exc.status_code, exc.code, exc.message, headers)


def _validation_message(exc: ValidationException) -> str:
    """Name the field: 'k: Expected `int` <= 200' rather than a generic failure."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in extra:
        if isinstance(item, dict):
            # Litestar names the whole body "data"; clients know it as the body.
            key = "body" if item.get("key") == "data" else item.get("key")
            message = str(item.get("message", "invalid value"))
            parts.append(f"{key}: {message}" if key else message)
    return "; ".join(parts) or str(exc.detail)


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorResponse]:
    return error_response(request, 400, "invalid_request", _validation_message(exc))


def _invalid_name(request: Request[Any, Any, Any], exc: InvalidName) -> Response[ErrorResponse]:
    return error_response(request, 400, "invalid_request", str(exc))


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[ErrorResponse]:
    # msgspec raises RecursionError (not a decode error) for absurdly nested JSON bodies;
    # nothing else on the request path recurses, so this is the client's input.
    return error_response(request, 400, "bad_request", "request body is nested too deeply")


def _not_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[ErrorResponse]:
    # msgspec raises UnicodeDecodeError (not a decode error) for invalid UTF-8 inside a JSON
    # string; headers decode as latin-1, so on the request path only a body can cause it.
    return error_response(request, 400, "bad_request", "request body is not valid UTF-8")


# recsys_algo lookups that fail because of what the client asked for.
LOOKUP_CODES: Mapping[type[Exception], str] = {
    similar.ItemNotFound: "item_not_found",
    similar.KindNotAvailable: "kind_not_available",
}


def _lookup_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    code = next(c for cls, c in LOOKUP_CODES.items() if isinstance(exc, cls))
    return error_response(request, 404, code, str(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    status = exc.status_code
    if status >= 500:
        return _internal_error(request, exc)
    return error_response(request, status, HTTP_CODES.get(status, "http_error"), str(exc.detail))


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    # Details go to the log, not to the client.
    log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc)
    return error_response(
        request, HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "internal server error"
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ServiceError: _service_error,
    ValidationException: _validation_error,
    InvalidName: _invalid_name,
    **dict.fromkeys(LOOKUP_CODES, _lookup_error),
    HTTPException: _http_error,
    RecursionError: _too_deep,
    UnicodeDecodeError: _not_utf8,
    Exception: _internal_error,
}
