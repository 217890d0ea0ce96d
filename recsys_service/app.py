"""Application factory: routes, dependencies, error handlers, OpenAPI and lifespan in one place."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Reference, Schema

import recsys_algo
from recsys_algo.storage import open_storage
from recsys_service import schemas
from recsys_service.controllers.health import HealthController
from recsys_service.controllers.manifests import ManifestController
from recsys_service.controllers.recommend import RecommendController
from recsys_service.controllers.similar import SimilarController
from recsys_service.dependencies import DEPENDENCIES, SERVING_KEY, SETTINGS_KEY
from recsys_service.errors import EXCEPTION_HANDLERS
from recsys_service.lifespan import serving_lifespan
from recsys_service.request_id import request_id_middleware
from recsys_service.settings import Settings
from recsys_service.state import ServingState


def _arrays(schema: dict[str, Any] | Schema | Reference) -> list[Any]:
    """The array alternatives of a property schema (itself, or inside anyOf/oneOf)."""
    if isinstance(schema, dict):
        options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
        return [o for o in options if o.get("type") == "array"]
    if isinstance(schema, Reference):
        return []
    options = [schema, *(schema.any_of or []), *(schema.one_of or [])]
    return [o for o in options if isinstance(o, Schema) and o.items is not None]


def _match_request_schemas(app: Litestar) -> None:
    """Make the OpenAPI request bodies say what msgspec enforces on decode.

    Litestar drops two things msgspec checks: forbid_unknown_fields (additionalProperties:
    false) and constraints on list items (ItemId's 1..256 characters). Without them clients,
    and schemathesis, read a body the service answers 400 to as valid.
    """
    components = app.openapi_schema.components.schemas or {}
    for struct in vars(schemas).values():
        closed = isinstance(struct, type) and issubclass(struct, msgspec.Struct)
        found = components.get(struct.__name__) if closed else None
        if found is None or not struct.__struct_config__.forbid_unknown_fields:
            continue
        found.additional_properties = False
        (_, defs) = msgspec.json.schema_components([struct])
        for name, truth in defs[struct.__name__]["properties"].items():
            ours = (found.properties or {}).get(name)
            for want, have in zip(_arrays(truth), _arrays(ours or {}), strict=False):
                items = want.get("items", {})
                if isinstance(have.items, Schema):
                    have.items.min_length = items.get("minLength", have.items.min_length)
                    have.items.max_length = items.get("maxLength", have.items.max_length)


def create_app(settings: Settings) -> Litestar:
    """Build the app; its serving state is `app.state["serving"]` (tests call refresh() on it)."""
    serving = ServingState(
        open_storage(settings.storage_url), settings.signing_keys, settings.scopes
    )
    app = Litestar(
        route_handlers=[
            HealthController,
            RecommendController,
            SimilarController,
            ManifestController,
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware],
        lifespan=[serving_lifespan],
        state=State({SERVING_KEY: serving, SETTINGS_KEY: settings}),
        request_max_body_size=settings.max_body_bytes,
        # No global logging setup here: the process owner (__main__, tests) decides.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="recsys service", version=recsys_algo.__version__, path="/schema"
        ),
    )
    _match_request_schemas(app)
    return app


def app_from_env() -> Litestar:
    """Uvicorn factory: `uvicorn --factory recsys_service.app:app_from_env`."""
    return create_app(Settings.from_env())
