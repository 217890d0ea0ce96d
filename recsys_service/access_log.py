"""The access log: one JSON line per HTTP request, built without a LogRecord when it can be.

A LogRecord, its formatter and a flushed write cost ~23 us a request. When the only handler an
access record would reach is the JsonLinesHandler of configure_logging, the line is encoded
straight from a Struct (same fields, same order) and queued for a batched write; any other
logging setup (an embedding process's handlers, pytest's) gets an ordinary log record.
"""

from __future__ import annotations

import logging

import msgspec

from recsys_service.logs import ACCESS_LOGGER, JsonLinesHandler, timestamp_now

access_logger = logging.getLogger(ACCESS_LOGGER)
_INFO = logging.INFO


class AccessLine(msgspec.Struct, omit_defaults=True, gc=False):
    """JsonFormatter's fields for an access record, in its order; tenant and key_name only
    once the API key was resolved."""

    timestamp: str
    level: str
    logger: str
    message: str
    request_id: str | None
    method: str
    route: str
    status: int
    duration_ms: float
    tenant: str | None = None
    key_name: str | None = None


_encode = msgspec.json.Encoder().encode


def sole_handler(logger: logging.Logger) -> JsonLinesHandler | None:
    """The JsonLinesHandler that is the only handler (and filter-free) on the logger's path."""
    found: JsonLinesHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if found is not None or type(handler) is not JsonLinesHandler or handler.filters:
                return None
            found = handler
        current = current.parent if current.propagate else None
    if found is None or found.level > _INFO:
        return None
    return found


def log_access(
    method: str,
    route: str,
    status: int,
    seconds: float,
    request_id: str | None,
    tenant: str | None = None,
    key_name: str | None = None,
) -> None:
    if not access_logger.isEnabledFor(_INFO):
        return
    duration_ms = round(seconds * 1000, 3)
    handler = sole_handler(access_logger)
    if handler is None:
        principal = {} if tenant is None else {"tenant": tenant, "key_name": key_name}
        access_logger.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                **principal,
            },
        )
        return
    line = AccessLine(
        timestamp=timestamp_now(),
        level="INFO",
        logger=ACCESS_LOGGER,
        message=f"{method} {route} {status}",
        request_id=request_id,
        method=method,
        route=route,
        status=status,
        duration_ms=duration_ms,
        tenant=tenant,
        key_name=key_name,
    )
    handler.write_line(_encode(line).decode())
