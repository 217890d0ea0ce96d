"""Real servers for the session (SeaweedFS S3, PostgreSQL), started only for tests that use them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration import postgres, seaweed

BUCKET = "recsys-test"


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedServer]:
    server = seaweed.start(tmp_path_factory.mktemp("seaweed"))
    try:
        server.client().make_bucket(BUCKET)
        yield server
    finally:
        seaweed.stop(server)


@pytest.fixture
def s3_env(seaweed_server: seaweed.SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """RECSYS_S3_* set for the server; returns a fresh s3:// root URL for this test."""
    for name, value in seaweed_server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    server = postgres.start()
    try:
        yield server
    finally:
        postgres.stop(server)


@pytest.fixture
def postgres_dsn(postgres_server: postgres.PostgresServer) -> str:
    """A fresh, empty database for this test."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
