"""JSON log lines: fields, request ids (X-Request-ID), one access line per request, no secrets."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.storage import FileStorage
from recsys_service.logs import (
    JsonFormatter,
    JsonLinesHandler,
    configure_logging,
    parse_log_level,
    request_id_var,
)
from tests.service.builders import (
    SIGNING_SPEC,
    api_key,
    item_ids,
    publish_popularity,
    tamper_artifact,
)
from tests.service.conftest import Captured, ClientFactory, serving_of

ACME_KEY = "acme-logging-secret-key"
KEYS = (api_key("acme-web", "acme", ACME_KEY),)
SIGNING_SECRET = SIGNING_SPEC.split(":")[1]


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "recsys_service.x", logging.WARNING, __file__, 1, "a %s", ("b",), None
    )
    record.__dict__.update(extra)
    return record


def test_a_line_is_one_json_object_with_the_standard_fields() -> None:
    token = request_id_var.set("rid-7")
    try:
        line = json.loads(JsonFormatter().format(_record(route="/v1/x", status=200)))
    finally:
        request_id_var.reset(token)
    assert set(line) == {"timestamp", "level", "logger", "message", "request_id", "route", "status"}
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "recsys_service.x",
        "a b",
    )
    assert line["request_id"] == "rid-7"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert (line["route"], line["status"]) == ("/v1/x", 200)


def test_outside_a_request_the_request_id_is_null_and_odd_values_become_text() -> None:
    line = json.loads(JsonFormatter().format(_record(error=ValueError("x\ny"), path=object)))
    assert line["request_id"] is None
    assert line["error"] == "x\ny"
    assert "object" in line["path"]


def test_exceptions_are_logged_inside_the_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "RuntimeError: boom" in json.loads(text)["exc_info"]


def test_configure_logging_replaces_root_handlers_with_json_lines() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging(logging.INFO, stream)
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("recsys_service.serving_state").debug("not at INFO")
        assert len(root.handlers) == 1
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Started server process")
    ]


@pytest.mark.parametrize(("value", "level"), [("info", logging.INFO), ("WARNING", 30)])
def test_log_level_parses(value: str, level: int) -> None:
    assert parse_log_level(value) == level


def test_bad_log_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="RECSYS_LOG_LEVEL"):
        parse_log_level("loud")


def test_each_request_gets_one_access_line_with_its_request_id_and_tenant(
    published: FileStorage, client_for: ClientFactory, captured: Captured
) -> None:
    headers = {"X-API-Key": ACME_KEY, "X-Request-ID": "trace-abc"}
    with client_for(api_keys=KEYS) as client:
        ok = client.post("/v1/recommend", json={"surface": "home", "k": 2}, headers=headers)
        client.get("/v1/manifests/nope", headers={"X-API-Key": ACME_KEY})
        client.get("/healthz")
    assert ok.status_code == 200
    first, missing, health = captured.access()
    assert first["request_id"] == "trace-abc"
    assert {k: first[k] for k in ("method", "route", "status", "tenant", "key_name")} == {
        "method": "POST",
        "route": "/v1/recommend",
        "status": 200,
        "tenant": "acme",
        "key_name": "acme-web",
    }
    assert first["duration_ms"] >= 0
    assert first["message"] == "POST /v1/recommend 200"
    assert (missing["route"], missing["status"]) == ("/v1/manifests/{surface}", 404)
    assert len(missing["request_id"]) == 32  # generated: 32 random hex, as in the response
    assert "tenant" not in health and health["status"] == 200


def test_logs_never_contain_api_keys_or_the_signing_secret(
    storage: FileStorage, client_for: ClientFactory, captured: Captured
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("acme-", 5))
    with client_for(api_keys=KEYS) as client:
        client.post("/v1/recommend", json={"surface": "home"}, headers={"X-API-Key": ACME_KEY})
        client.post(
            "/v1/recommend/batch",
            json={"requests": [{"surface": "home"}]},
            headers={"X-API-Key": ACME_KEY, "X-Tenant": "beta"},
        )
        wrong = client.get("/v1/popular?surface=home", headers={"X-API-Key": ACME_KEY + "-typo"})
        tampered = publish_popularity(storage, "acme", "home", item_ids("evil-", 5))
        tamper_artifact(storage, tampered)
        serving_of(client).refresh()  # a load failure: logged as a warning
    assert wrong.status_code == 401
    levels = {(line["logger"], line["level"]) for line in captured.lines()}
    assert ("recsys_service.serving_state", "WARNING") in levels
    assert len(captured.access()) == 3
    for secret in (ACME_KEY, SIGNING_SECRET, "-typo"):
        assert secret not in captured.text


class BrokenPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError("the reader went away")


def test_a_failing_log_stream_drops_access_lines_but_never_fails_a_request() -> None:
    handler = JsonLinesHandler(BrokenPipe())
    for _ in range(20):
        handler.write_line('{"message": "GET /healthz 200"}')  # batches overflow: writes
    handler.flush()
    assert handler._dropped >= 20
