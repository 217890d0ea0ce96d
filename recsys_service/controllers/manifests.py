"""GET /v1/manifests/{surface}: the manifest the caller's tenant is served for a surface."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from recsys_algo.contracts.names import NAME_PATTERN
from recsys_service.app_objects import serving_of
from recsys_service.auth import Principal
from recsys_service.controllers.common import MODEL_VERSION_HEADER, loaded_scope, responses
from recsys_service.loaded_scope import LoadedScope
from recsys_service.request_id import request_id_for
from recsys_service.schemas import ArtifactSummary, ManifestResponse
from recsys_service.times import iso


def manifest_view(loaded: LoadedScope, request_id: str) -> ManifestResponse:
    """What is served, without storage locations or the signature (verified on load)."""
    m = loaded.manifest
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
        missing_kinds=loaded.missing_kinds,
    )


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
        surface: Annotated[str, Parameter(pattern=NAME_PATTERN, description="surface name")],
    ) -> Response[ManifestResponse]:
        loaded = loaded_scope(serving_of(request.app.state).entries, principal.tenant, surface)
        body = manifest_view(loaded, request_id_for(request.scope))
        return Response(body, headers={MODEL_VERSION_HEADER: body.manifest_version})
