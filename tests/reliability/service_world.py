"""One published world for service reliability tests: three tenants whose item ids carry their
tenant as prefix, API keys for each, an admin key, and the app serving them (lifespan-free)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.store.storage import FileStorage
from recsys_service.app import create_app
from recsys_service.serving_state import ServingState
from tests.service.builders import EVENT_TS, item_ids, make_settings, neighbour_rows, publish_scope
from tests.service.test_auth import ACME_KEY, ADMIN_KEY, BETA_KEY, KEYS

TENANTS = ("acme", "beta", "demo")
BAD_KEY = "not-a-key-" + "x" * 20
# Who calls: name -> headers. The caller reads tenant acme (directly or by naming it).
IDENTITIES: dict[str, dict[str, str]] = {
    "own-key": {"X-API-Key": ACME_KEY},
    "other-tenants-key": {"X-API-Key": BETA_KEY, "X-Tenant": "acme"},
    "admin-key": {"X-API-Key": ADMIN_KEY, "X-Tenant": "acme"},
    "no-key": {},
    "bad-key": {"X-API-Key": BAD_KEY},
}
SECRETS = (ACME_KEY, BETA_KEY, ADMIN_KEY, BAD_KEY)


def publish_world(root: Path) -> FileStorage:
    storage = FileStorage(root)
    for tenant in TENANTS:
        prefix = f"{tenant}-"
        publish_scope(
            storage, tenant, "home", item_ids(prefix, 50), neighbors=neighbour_rows(prefix)
        )
    return storage


def serving_app(storage: FileStorage, **overrides: object) -> Litestar:
    """The app with its serving state loaded (ASGI callers such as schemathesis skip lifespan)."""
    app = create_app(make_settings(storage, **({"api_keys": KEYS} | overrides)))
    serving: ServingState = app.state["serving"]
    serving.refresh()
    return app


# Every route that serves tenant data: (method, path, JSON body or None). New routes are one line.
Endpoint = tuple[str, str, dict[str, Any] | None]
DATA_ENDPOINTS: dict[str, Endpoint] = {
    "recommend": ("POST", "/v1/recommend", {"surface": "home", "session_items": ["acme-000"]}),
    "batch": (
        "POST",
        "/v1/recommend/batch",
        {"requests": [{"surface": "home", "session_items": ["acme-000"], "explain": True}]},
    ),
    "similar": ("POST", "/v1/similar", {"surface": "home", "item_id": "acme-000"}),
    "popular": ("GET", "/v1/popular?surface=home", None),
    "manifest": ("GET", "/v1/manifests/home", None),
}
# Writes rather than reads: 202 where a data route answers 200.
EVENTS: Endpoint = (
    "POST",
    "/v1/events",
    {"surface": "home", "events": [{"item_id": "acme-001", "event_type": "click",
                                    "ts": EVENT_TS, "user_id": "u1"}]},
)  # fmt: skip
PUBLIC_ENDPOINTS: dict[str, Endpoint] = {
    "healthz": ("GET", "/healthz", None),
    "readyz": ("GET", "/readyz", None),
}
# identity -> expected status on a data route (the caller reads tenant acme)
DATA_STATUS = {
    "own-key": 200,
    "other-tenants-key": 403,
    "admin-key": 200,
    "no-key": 401,
    "bad-key": 401,
}


def call(
    client: TestClient[Litestar], endpoint: Endpoint, headers: dict[str, str]
) -> httpx.Response:
    method, path, body = endpoint
    return client.request(method, path, json=body, headers=headers)


def other_tenants_items(text: str, tenant: str = "acme") -> list[str]:
    """Item ids of tenants other than `tenant` found in a response body (ids carry their tenant)."""
    return re.findall(rf"\b(?:{'|'.join(t for t in TENANTS if t != tenant)})-[0-9]{{3}}\b", text)
