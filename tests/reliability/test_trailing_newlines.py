"""Names and logged ids are matched as whole strings: a trailing newline is a 400 on every route.

msgspec matches patterns with Python's `re.search`, where `$` also matches before a final
"\\n": without care, `"home\\n"` passed the surface pattern (404 instead of 400) and
`"u1\\n"` passed the logged-id pattern (200, then exposure lines ingest quarantines).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.store.storage import FileStorage
from tests.reliability.service_world import publish_world, serving_app
from tests.service.builders import EVENT_TS
from tests.service.test_auth import ACME_KEY

ACME = {"X-API-Key": ACME_KEY}
CLICK = {"item_id": "acme-001", "event_type": "click", "ts": EVENT_TS}


@pytest.fixture
def world(tmp_path: Path) -> FileStorage:
    return publish_world(tmp_path / "store")


@pytest.fixture
def client(world: FileStorage) -> Iterator[TestClient[Litestar]]:
    with TestClient(serving_app(world)) as test_client:
        yield test_client


def _recommend(**fields: Any) -> dict[str, Any]:
    return {"surface": "home", **fields}


# (route, method, path, body): the field under test carries a trailing newline.
BODY_CASES = {
    "recommend.surface": ("POST", "/v1/recommend", _recommend(surface="home\n")),
    "recommend.user_id": ("POST", "/v1/recommend", _recommend(user_id="u1\n")),
    "recommend.session_id": ("POST", "/v1/recommend", _recommend(session_id="s1\n")),
    "similar.surface": ("POST", "/v1/similar", {"surface": "home\n", "item_id": "acme-000"}),
    "events.surface": ("POST", "/v1/events", {"surface": "home\n", "events": [CLICK]}),
    "popular.surface": ("GET", "/v1/popular?surface=home%0A", None),
    "manifests.surface": ("GET", "/v1/manifests/home%0A", None),
}


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_a_trailing_newline_is_400_and_writes_nothing(
    client: TestClient[Litestar], world: FileStorage, case: str
) -> None:
    method, path, body = BODY_CASES[case]
    response = client.request(method, path, json=body, headers=ACME)
    assert response.status_code == 400, (case, response.status_code, response.text)
    assert response.json()["error"]["code"] == "invalid_request", response.text
    client.app.state["event_log"].flush()
    assert world.list("raw") == [], "nothing may be logged for a refused request"


@pytest.mark.parametrize(
    "field, value", [("surface", "home\n"), ("user_id", "u1\n"), ("session_id", "s1\n")]
)
def test_a_trailing_newline_in_a_batch_element_is_400_in_its_slot(
    client: TestClient[Litestar], world: FileStorage, field: str, value: str
) -> None:
    requests = [_recommend(), _recommend(**{field: value})]
    response = client.post("/v1/recommend/batch", json={"requests": requests}, headers=ACME)
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [200, 400], response.text
    assert field in response.json()["results"][1]["error"]["message"]
    client.app.state["event_log"].flush()
    landed = b"".join(world.read_bytes(key) for key in world.list("raw"))
    assert landed.count(b'"event_type":"exposure"') == 20  # only the good slot's answer
    assert b"\\n" not in landed
