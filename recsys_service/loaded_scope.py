"""One verified manifest version as it is served: what every request of its scope reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recsys_algo.contracts.manifest import Manifest
from recsys_algo.kinds.kind import KINDS
from recsys_algo.serving.recommender import BlendParams, ScopeModel

Scope = tuple[str, str]  # (tenant, surface)
NOT_IN_MANIFEST = "not in this manifest"


@dataclass(frozen=True, slots=True)
class LoadedScope:
    """One verified manifest version and what it serves; never mutated after loading."""

    manifest: Manifest
    token: str  # pointer token the manifest was read with
    loaded_at: dt.datetime
    model: ScopeModel
    blend: BlendParams  # as recorded in the manifest: served exactly as it was evaluated
    # The file whose mapping completes this version (its plain answers, written after its
    # model: recsys_service.prepared_versions); None when there is nothing more to map.
    pending: str | None = None

    @property
    def missing_kinds(self) -> dict[str, str]:
        """Every kind this version does not serve, with why (the lineage's reason if the
        pipeline left it out for lack of data)."""
        return missing_kinds(self.manifest)


def missing_kinds(manifest: Manifest) -> dict[str, str]:
    omitted = manifest.lineage.omitted_kinds
    return {
        kind.value: omitted.get(kind, NOT_IN_MANIFEST)
        for kind in KINDS
        if kind not in manifest.artifacts
    }
