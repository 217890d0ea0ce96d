"""Every endpoint x (own key, other tenant's key, admin key, no key, bad key): the expected
status, and never an item id of another tenant in any response."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.reliability.service_world import (
    DATA_ENDPOINTS,
    DATA_STATUS,
    EVENTS,
    IDENTITIES,
    PUBLIC_ENDPOINTS,
    call,
    other_tenants_items,
    publish_world,
    serving_app,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Litestar]]:
    storage = publish_world(tmp_path_factory.mktemp("world") / "store")
    with TestClient(serving_app(storage)) as test_client:
        yield test_client


def test_item_ids_are_told_apart_by_tenant_prefix() -> None:
    assert other_tenants_items('["acme-001", "beta-002", "demo-049", "xbeta-003"]') == [
        "beta-002",
        "demo-049",
    ]


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("endpoint", DATA_ENDPOINTS)
def test_data_endpoint_status_and_no_foreign_items(
    client: TestClient[Litestar], endpoint: str, identity: str
) -> None:
    response = call(client, DATA_ENDPOINTS[endpoint], IDENTITIES[identity])
    assert response.status_code == DATA_STATUS[identity], response.text
    assert other_tenants_items(response.text) == []
    if response.status_code != 200:
        assert response.json()["error"]["code"] in {"forbidden", "unauthorized"}
    elif endpoint == "manifest":
        assert response.json()["tenant"] == "acme"
    else:  # items were served, and every one is acme's
        served = re.findall(r"\b[a-z]+-[0-9]{3}\b", response.text)
        assert served and {item.split("-")[0] for item in served} == {"acme"}


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("endpoint", PUBLIC_ENDPOINTS)
def test_public_endpoints_answer_everyone_without_items(
    client: TestClient[Litestar], endpoint: str, identity: str
) -> None:
    response = call(client, PUBLIC_ENDPOINTS[endpoint], IDENTITIES[identity])
    assert response.status_code == 200
    assert other_tenants_items(response.text, tenant="") == []


@pytest.mark.parametrize("identity", IDENTITIES)
def test_events_are_accepted_only_for_the_callers_own_tenant(
    client: TestClient[Litestar], identity: str
) -> None:
    """POST /v1/events writes rather than reads: 202 where a data route answers 200."""
    response = call(client, EVENTS, IDENTITIES[identity])
    expected = 202 if DATA_STATUS[identity] == 200 else DATA_STATUS[identity]
    assert response.status_code == expected, response.text
    assert other_tenants_items(response.text) == []
    if expected == 202:
        assert response.json()["accepted"] == 1
