"""Fixtures: a tmp file:// storage with published scopes, a client factory for the app, and
the log records it writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.store.storage import FileStorage
from recsys_service.app import create_app
from recsys_service.logs import JsonFormatter
from recsys_service.serving_state import ServingState
from recsys_service.settings import Settings
from tests.service.builders import (
    item_ids,
    make_settings,
    neighbour_rows,
    publish_popularity,
    publish_scope,
)

ClientFactory = Callable[..., AbstractContextManager[TestClient[Litestar]]]


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


@pytest.fixture
def published(storage: FileStorage) -> FileStorage:
    """demo/home, acme/home, beta/home; each tenant's item ids carry its own prefix."""
    publish_popularity(storage, "demo", "home", item_ids("demo-", 50))
    publish_popularity(storage, "acme", "home", item_ids("acme-", 50))
    publish_popularity(storage, "beta", "home", item_ids("beta-", 50))
    return storage


@pytest.fixture
def neighboured(storage: FileStorage) -> FileStorage:
    """demo/home, acme/home, beta/home with popularity and all three neighbour kinds."""
    for tenant in ("demo", "acme", "beta"):
        prefix = f"{tenant}-"
        publish_scope(
            storage, tenant, "home", item_ids(prefix, 50), neighbors=neighbour_rows(prefix)
        )
    return storage


@pytest.fixture
def client_for(storage: FileStorage) -> ClientFactory:
    """client_for(**settings overrides) -> context manager running the app's lifespan."""

    @contextmanager
    def build(
        settings: Settings | None = None, **overrides: object
    ) -> Iterator[TestClient[Litestar]]:
        app = create_app(settings or make_settings(storage, **overrides))
        with TestClient(app) as client:
            yield client

    return build


def serving_of(client: TestClient[Litestar]) -> ServingState:
    serving: ServingState = client.app.state["serving"]
    return serving


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def access(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "recsys_service.access"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Every log record at INFO and above, formatted as the service formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
