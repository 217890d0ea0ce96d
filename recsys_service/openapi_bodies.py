"""OpenAPI additions: request bodies as msgspec checks them, and direct routes' auth headers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import Reference, Schema

from recsys_service import schemas
from recsys_service.dependencies import auth_header_parameters
from recsys_service.direct import DIRECT_ROUTE_KEY


def _arrays(schema: dict[str, Any] | Schema | Reference) -> list[Any]:
    """The array alternatives of a property schema (itself, or inside anyOf/oneOf)."""
    if isinstance(schema, dict):
        options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
        return [o for o in options if o.get("type") == "array"]
    if isinstance(schema, Reference):
        return []
    options = [schema, *(schema.any_of or []), *(schema.one_of or [])]
    return [o for o in options if isinstance(o, Schema) and o.items is not None]


def match_request_schemas(app: Litestar) -> None:
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
            if isinstance(ours, Schema):
                _match_lower_bound(truth, ours)


def _match_lower_bound(truth: dict[str, Any], ours: Schema) -> None:
    """Litestar drops a lower bound of 0 (falsy), e.g. blend weights' ge=0 and popularity's gt=0.

    Set on the property itself: like the maximum Litestar keeps there, it constrains only the
    number alternative, so null stays valid.
    """
    for option in [truth, *truth.get("anyOf", [])]:
        if option.get("type") in ("number", "integer"):
            if "minimum" in option:
                ours.minimum = option["minimum"]
            if "exclusiveMinimum" in option:
                ours.exclusive_minimum = option["exclusiveMinimum"]


def document_direct_routes(app: Litestar) -> None:
    """Direct routes (recsys_service.direct) have no parameters to document their auth headers;
    their operations get the ones Litestar writes for the principal dependency. The success
    response gets the (empty) headers Litestar gives a return annotation's response."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not handler.opt.get(DIRECT_ROUTE_KEY):
                continue
            for method in handler.http_methods:
                operation = getattr(paths[route.path], method.lower())
                operation.parameters = [*(operation.parameters or []), *auth_header_parameters()]
                success = operation.responses[str(handler.status_code)]
                success.headers = success.headers or {}
