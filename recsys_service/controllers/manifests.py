"""GET /v1/manifests/{surface}: the manifest the caller's tenant is served for a surface."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from recsys_algo.contracts.hold import HoldState
from recsys_algo.store.holds import read_hold_state
from recsys_service.app_objects import serving_of
from recsys_service.auth import Principal
from recsys_service.controllers.common import MODEL_VERSION_HEADER, loaded_scope, responses
from recsys_service.loaded_scope import LoadedScope
from recsys_service.request_id import request_id_for
from recsys_service.schemas import SURFACE_PATTERN, ArtifactSummary, HoldView, ManifestResponse
from recsys_service.serving_state import ServingState
from recsys_service.times import iso


def manifest_view(
    loaded: LoadedScope, request_id: str, hold: HoldState | None = None
) -> ManifestResponse:
    """What is served, without storage locations or the signature (verified on load)."""
    m = loaded.manifest
    held = hold.view() if hold is not None else None
    return ManifestResponse(
        tenant=m.tenant,
        surface=m.surface,
        manifest_version=m.manifest_version,
        as_of=m.as_of,
        created_at=m.created_at,
        window=m.window,
        artifacts={
            kind: ArtifactSummary(
                sha256=ref.sha256, bytes=ref.bytes, rows=ref.rows, schema_version=ref.schema_version
            )
            for kind, ref in sorted(m.artifacts.items())
        },
        metrics=m.metrics,
        lineage=m.lineage,
        previous_version=m.previous_version,
        loaded_at=iso(loaded.loaded_at),
        request_id=request_id,
        hold=msgspec.convert(held, HoldView) if held is not None else None,
    )


def _hold_of(serving: ServingState, tenant: str, surface: str) -> HoldState | None:
    """The scope's hold record, read from the object store (in DB-only mode too: holds live
    beside the pointer); None without keys (nothing verified serves then either)."""
    if serving.keys is None:
        return None
    return read_hold_state(serving.storage, serving.keys, tenant, surface)


class ManifestController(Controller):
    path = "/v1/manifests"
    tags = ["manifests"]

    @get(
        "/{surface:str}",
        summary="The verified manifest served for a surface of the caller's tenant",
        responses=responses(400, 401, 403, 404, 429, 503),
    )
    async def manifest(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        surface: Annotated[str, Parameter(pattern=SURFACE_PATTERN, description="surface name")],
    ) -> Response[ManifestResponse]:
        serving = serving_of(request.app.state)
        loaded = loaded_scope(serving.entries, principal.tenant, surface)
        # Read per request (a storage read, off the event loop): holds are rare and this route
        # is for people, while the poll loop runs for every scope all the time.
        hold = await anyio.to_thread.run_sync(_hold_of, serving, principal.tenant, surface)
        body = manifest_view(loaded, request_id_for(request.scope), hold)
        return Response(body, headers={MODEL_VERSION_HEADER: body.manifest_version})
