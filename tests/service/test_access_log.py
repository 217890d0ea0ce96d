"""Access lines written directly by configure_logging's handler: same line as a log record would
give, batched into whole-line writes, none lost at shutdown."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from recsys_algo.store.storage import FileStorage
from recsys_service.access_log import log_access
from recsys_service.logs import ATOMIC_WRITE_BYTES, JsonLinesHandler, configure_logging
from tests.service.builders import api_key
from tests.service.conftest import Captured, ClientFactory

ACME_KEY = "acme-access-log-key"
KEYS = (api_key("acme-web", "acme", ACME_KEY),)


class Writes(io.StringIO):
    """A stream that remembers each write, as the OS would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@contextmanager
def configured(level: int = logging.INFO) -> Iterator[Writes]:
    """The process's logging as `python -m recsys_service` sets it up, into a stream. Entered in
    the test body: pytest adds its own root handlers for each phase (setup, call, teardown)."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = Writes()
    configure_logging(level, stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _requests(client_for: ClientFactory) -> None:
    with client_for(api_keys=KEYS) as client:
        headers = {"X-API-Key": ACME_KEY, "X-Request-ID": "trace-1"}
        assert client.post("/v1/recommend", json={"surface": "home"}, headers=headers).is_success
        assert client.get("/healthz", headers={"X-Request-ID": "trace-2"}).is_success


def test_direct_lines_equal_the_log_record_lines_but_for_time(
    published: FileStorage,
    client_for: ClientFactory,
    captured: Captured,
) -> None:
    _requests(client_for)  # pytest's handlers are on the root logger: ordinary records
    by_record = captured.access()
    with configured() as stream:
        _requests(client_for)
    direct = [line for line in lines_of(stream.getvalue()) if line["logger"].endswith(".access")]
    assert len(direct) == len(by_record) == 2
    for fast, slow in zip(direct, by_record, strict=True):
        assert list(fast) == list(slow)  # same fields in the same order
        for varying in ("timestamp", "duration_ms"):
            fast.pop(varying), slow.pop(varying)
        assert fast == slow
    assert direct[0]["tenant"] == "acme" and "tenant" not in direct[1]


def test_every_access_line_is_written_by_the_end_of_shutdown(
    published: FileStorage, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test client logs each request at INFO, which would write the batch every time.
    monkeypatch.setattr(logging.getLogger("httpx"), "disabled", True)
    with configured() as stream, client_for(api_keys=KEYS) as client:
        for _ in range(50):
            client.get("/healthz")
    access = [line for line in lines_of(stream.getvalue()) if line.get("route") == "/healthz"]
    assert len(access) == 50
    assert all(text.endswith("\n") for text in stream.writes)
    assert max(len(text) for text in stream.writes) <= ATOMIC_WRITE_BYTES
    assert len(stream.writes) < 50  # batched, not one write per line


def test_batches_are_whole_lines_within_the_atomic_write_size() -> None:
    stream = Writes()
    handler = JsonLinesHandler(stream)
    lines = [json.dumps({"n": n, "pad": "x" * 300}) for n in range(40)]
    for line in lines:
        handler.write_line(line)
    assert stream.writes, "a batch is written once the next line would not fit"
    handler.flush()
    assert all(len(text) <= ATOMIC_WRITE_BYTES for text in stream.writes)
    assert all(text.endswith("\n") for text in stream.writes)
    assert stream.getvalue().splitlines() == lines


def test_a_log_record_is_written_at_once_after_the_batched_lines() -> None:
    stream = Writes()
    handler = JsonLinesHandler(stream)
    logger = logging.getLogger("tests.access_log.order")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        handler.write_line('{"n":1}')
        assert stream.getvalue() == ""
        logger.warning("storage is down")
    finally:
        logger.removeHandler(handler)
    first, second = lines_of(stream.getvalue())
    assert first == {"n": 1} and second["message"] == "storage is down"


def test_below_info_no_access_line_is_written() -> None:
    with configured(logging.WARNING) as stream:
        log_access("GET", "/healthz", 200, 0.001, "rid")
        logging.getLogger().handlers[0].flush()
    assert stream.getvalue() == ""
