"""Fixtures: a tmp file:// storage with published scopes, and a client factory for the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.storage import FileStorage
from recsys_service.app import create_app
from recsys_service.settings import Settings
from recsys_service.state import ServingState
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
