"""Resources by role: where data lives, how manifests are signed, and the pipeline's knobs."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from recsys_algo.config import signing_keys_from_env, storage_url_from_env
from recsys_algo.popularity import DEFAULT_WEIGHTS, PopularityParams
from recsys_algo.signing import SigningKeys, parse_signing_keys
from recsys_algo.storage import Storage, open_storage


class StorageResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Storage root; empty: RECSYS_STORAGE_URL, else file://<cwd>/.recsys (read at run time)."""

    url: str = ""

    def open(self) -> Storage:
        return open_storage(self.url or storage_url_from_env())


class SigningResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Signing keys 'kid:hex64,...'; empty means RECSYS_SIGNING_KEYS(_FILE) (read at run time)."""

    key_spec: str = ""

    def signing_keys(self) -> SigningKeys:
        if self.key_spec:
            return parse_signing_keys(self.key_spec)
        found = signing_keys_from_env(required=True)
        assert found is not None
        return found


class PipelineSettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Windows, decay and the thresholds of the blocking gates."""

    window_days: int = Field(default=28, ge=1, le=366)
    half_life_days: float = Field(default=7.0, gt=0)
    top_n: int = Field(default=1000, ge=1, le=1_000_000)
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_events: int = Field(default=1, ge=0)
    max_events: int = Field(default=50_000_000, ge=1)
    max_duplicate_ratio: float = Field(default=0.5, ge=0, le=1)
    volume_low_ratio: float = Field(default=0.2, ge=0)
    volume_high_ratio: float = Field(default=5.0, gt=0)
    volume_history_days: int = Field(default=7, ge=1)
    volume_min_history: int = Field(default=3, ge=1)

    def popularity_params(self) -> PopularityParams:
        return PopularityParams(
            half_life_days=self.half_life_days, top_n=self.top_n, weights=self.event_weights
        )
