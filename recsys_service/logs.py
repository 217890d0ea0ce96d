"""Structured logs: one JSON object per line, with the id of the request being served."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from contextvars import ContextVar
from typing import IO, Any

import msgspec

from recsys_algo.contracts.errors import ConfigError

LOG_LEVEL_ENV = "RECSYS_LOG_LEVEL"
ACCESS_LOGGER = "recsys_service.access"
# Set for the duration of one HTTP request (by ObservedApp); copied into worker threads.
request_id_var: ContextVar[str | None] = ContextVar("recsys_request_id", default=None)
# Writes to a pipe of at most this many bytes are atomic (POSIX PIPE_BUF): batches of lines stay
# whole lines even when several worker processes share one stderr pipe.
ATOMIC_WRITE_BYTES = 4096

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
# Anything msgspec cannot encode (an exception passed in `extra=`, a path) is logged as str().
_encoder = msgspec.json.Encoder(enc_hook=str)


class _Timestamps:
    """ISO-8601 UTC with milliseconds; the formatted second is reused (one strftime a second)."""

    def __init__(self) -> None:
        # One tuple, replaced whole: threads never see one second's prefix with another second.
        self._second: tuple[int, str] = (-1, "")

    def format(self, second: int, millis: int) -> str:
        cached, prefix = self._second
        if cached != second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, prefix)
        return f"{prefix}.{millis:03d}Z"


_timestamps = _Timestamps()


def timestamp_now() -> str:
    second, millis = divmod(time.time_ns() // 1_000_000, 1000)
    return _timestamps.format(second, millis)


def _timestamp(record: logging.LogRecord) -> str:
    return _timestamps.format(int(record.created), int(record.msecs))


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


class JsonLinesHandler(logging.StreamHandler[IO[str]]):
    """JSON lines to a stream. Records are written (and flushed) as they come; pre-encoded lines
    from write_line (the access log: one per request) are batched into writes of at most
    ATOMIC_WRITE_BYTES, written before any record, and at flush(): the app's lifespan flushes
    every LOG_FLUSH_SECONDS and at shutdown, logging.shutdown() at interpreter exit."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())
        self._pending: list[str] = []
        self._pending_bytes = 0
        self._dropped = 0  # access lines lost to a failing stream
        self._reported = False
        lock = self.lock
        assert lock is not None  # Handler.__init__ created it
        self._lines_lock = lock

    def write_line(self, line: str) -> None:
        """Queue one complete JSON line (no newline); written by the next batch."""
        # Characters, not bytes: access lines are ASCII (method tokens, route templates, checked
        # ids and names), so the bound holds for them; for anything else it is approximate.
        size = len(line) + 1
        with self._lines_lock:
            if self._pending and self._pending_bytes + size > ATOMIC_WRITE_BYTES:
                self._write_pending()
            self._pending.append(line + "\n")
            self._pending_bytes += size

    def _write_pending(self) -> None:
        text = "".join(self._pending)
        lines = len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe or file: lose lines, not requests
            self._dropped += lines
            if not self._reported:
                self._reported = True
                sys.stderr.write(
                    f"recsys-service: access log lines are being dropped: the log stream "
                    f"failed ({type(exc).__name__}: {exc})\n"
                )

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock here.
        try:
            line = self.format(record) + self.terminator
            if self._pending:
                self._write_pending()  # keep the order lines were logged in
            self.stream.write(line)
            self.stream.flush()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self._lines_lock:
            if self._pending:
                self._write_pending()
            elif self.stream and hasattr(self.stream, "flush"):
                with contextlib.suppress(OSError, ValueError):  # as _write_pending: never raise
                    self.stream.flush()


def flush_logs() -> None:
    """Write every batched line now (the app's lifespan calls this on a timer and at exit)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, JsonLinesHandler):
            handler.flush()


def parse_log_level(value: str) -> int:
    level = logging.getLevelNamesMapping().get(value.strip().upper())
    if level is None:
        raise ConfigError(
            f"{LOG_LEVEL_ENV}={value[:20]!r} is invalid: use DEBUG, INFO, WARNING or ERROR"
        )
    return level


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Replace the root handlers with one JSON-lines handler (the process owner calls this)."""
    handler = JsonLinesHandler(stream or sys.stderr)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, JsonLinesHandler):
            old.flush()
    root.addHandler(handler)
    root.setLevel(level)
