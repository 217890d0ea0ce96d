"""One verified manifest version as it is served: what every request of its scope reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recsys_algo.contracts.manifest import Manifest
from recsys_algo.serving.recommender import BlendParams, ScopeModel

Scope = tuple[str, str]  # (tenant, surface)


@dataclass(frozen=True, slots=True)
class LoadedScope:
    """One verified manifest version and what it serves; never mutated after loading."""

    manifest: Manifest
    token: str  # pointer token the manifest was read with
    loaded_at: dt.datetime
    model: ScopeModel
    blend: BlendParams  # as recorded in the manifest: served exactly as it was evaluated
