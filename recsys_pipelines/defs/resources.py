"""Resources by role: where data lives, how manifests are signed, and the pipeline's knobs."""

from __future__ import annotations

import json
import os

import dagster as dg
from pydantic import Field

from recsys_algo.config import signing_keys_from_env, storage_url_from_env
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys
from recsys_algo.recipes.params import ModelParams
from recsys_algo.store.pg import SIGNALS_DSN_ENV
from recsys_algo.store.storage import Storage, open_storage

MODEL_PARAMS_ENV = "RECSYS_MODEL_PARAMS"


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
    # Empty by default: a non-empty default would shadow RECSYS_MODEL_PARAMS (read in params()).
    model_params: str = Field(
        default="",
        description="JSON overrides of the model parameters by section, e.g. "
        '{"blend": {"rank_offset": 5}, "evaluation": {"gate_margin": 0.05}}; '
        "empty: RECSYS_MODEL_PARAMS, else the defaults",
    )
    min_events: int = Field(default=1, ge=0)
    max_events: int = Field(default=50_000_000, ge=1)
    max_duplicate_ratio: float = Field(default=0.5, ge=0, le=1)
    volume_low_ratio: float = Field(default=0.2, ge=0)
    volume_high_ratio: float = Field(default=5.0, gt=0)
    volume_history_days: int = Field(default=7, ge=1)
    volume_min_history: int = Field(default=3, ge=1)
    signals_dsn: str = Field(
        default="",
        description="PostgreSQL DSN that publish also writes signals to (DB-only serving); "
        f"empty: {SIGNALS_DSN_ENV}, and if that is unset too, no database is written",
    )

    def resolved_signals_dsn(self) -> str:
        return self.signals_dsn or os.environ.get(SIGNALS_DSN_ENV, "").strip()

    def params(self) -> ModelParams:
        text = self.model_params or os.environ.get(MODEL_PARAMS_ENV, "") or "{}"
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"model parameters are not JSON ({MODEL_PARAMS_ENV}?): {exc}"
            ) from None
        if not isinstance(overrides, dict) or not all(
            isinstance(v, dict) for v in overrides.values()
        ):
            raise ConfigError('model parameters must be {"section": {"knob": value}, ...}')
        return ModelParams.from_overrides(overrides)
