"""`python -m recsys_service` argument and bind checks (the server run itself is integration)."""

from __future__ import annotations

import pytest

from recsys_service.__main__ import is_loopback, main


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def _clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RECSYS_API_KEYS",
        "RECSYS_SCOPES",
        "RECSYS_WATCH_INTERVAL",
        "RECSYS_LOG_LEVEL",
        "RECSYS_RATE_LIMIT",
        "RECSYS_RATE_LIMIT_TENANTS",
        "RECSYS_METRICS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECSYS_STORAGE_URL", "file:///nonexistent-recsys-store")


def test_open_mode_on_public_host_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear_env(monkeypatch)
    assert main(["--host", "0.0.0.0", "--port", "8000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RECSYS_API_KEYS" in err[0]


@pytest.mark.parametrize("interval", ["0", "31", "soon"])
def test_bad_watch_interval_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], interval: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv("RECSYS_WATCH_INTERVAL", interval)
    assert main(["--port", "8000"]) == 2
    assert "RECSYS_WATCH_INTERVAL" in capsys.readouterr().err


def test_bad_port_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_env(monkeypatch)
    assert main(["--port", "70000"]) == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECSYS_LOG_LEVEL", "loud"),
        ("RECSYS_RATE_LIMIT", "fast"),
        ("RECSYS_RATE_LIMIT_TENANTS", "acme"),
        ("RECSYS_METRICS", "maybe"),
    ],
)
def test_bad_observability_settings_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv(name, value)
    assert main(["--port", "8000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]
