"""Structured logs: one JSON object per line, with the id of the request being served."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from contextvars import ContextVar
from typing import IO, Any

import msgspec

from recsys_algo.errors import ConfigError

LOG_LEVEL_ENV = "RECSYS_LOG_LEVEL"
ACCESS_LOGGER = "recsys_service.access"
# Set for the duration of one HTTP request (the observe wrapper); copied into worker threads.
request_id_var: ContextVar[str | None] = ContextVar("recsys_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
# Anything msgspec cannot encode (an exception passed in `extra=`, a path) is logged as str().
_encoder = msgspec.json.Encoder(enc_hook=str)


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """timestamp, level, logger, message, request_id, then any `extra=` fields and exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


def parse_log_level(value: str) -> int:
    level = logging.getLevelNamesMapping().get(value.strip().upper())
    if level is None:
        raise ConfigError(
            f"{LOG_LEVEL_ENV}={value[:20]!r} is invalid: use DEBUG, INFO, WARNING or ERROR"
        )
    return level


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Replace the root handlers with one JSON-lines handler (the process owner calls this)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
