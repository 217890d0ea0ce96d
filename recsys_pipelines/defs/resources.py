"""Resources by role: where data lives, how manifests are signed, and the pipeline's knobs."""

from __future__ import annotations

import json
from typing import NamedTuple

import dagster as dg
from pydantic import Field

from recsys_algo.config import (
    MODEL_PARAMS_ENV,
    SIGNALS_DSN_ENV,
    SIGNING_KEYS_ENV,
    SIGNING_KEYS_FILE_ENV,
    STORAGE_URL_ENV,
    EnvSettings,
    PipelineEnv,
    require_signing_keys,
)
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.recipes.params import ModelParams
from recsys_algo.store.storage import Storage, open_storage


class StorageResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Storage root; s3:// credentials come from RECSYS_S3_* when the storage is opened."""

    url: str = Field(
        description="file:///path or s3://bucket/prefix; in the code location "
        f"{STORAGE_URL_ENV}, else file://<cwd>/.recsys"
    )

    def open(self) -> Storage:
        return open_storage(self.url)


class SigningResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Manifest signing keys, given inline or as a file (the inline keys win when both are set)."""

    key_spec: str = Field(
        default="", description=f"'kid:hex64,...'; in the code location {SIGNING_KEYS_ENV} if set"
    )
    key_file: str = Field(
        default="",
        description="file holding the keys, read when key_spec is empty; in the code location "
        f"{SIGNING_KEYS_FILE_ENV} if set",
    )

    def signing_keys(self) -> SigningKeys:
        return require_signing_keys(self.key_spec, self.key_file)


class PipelineSettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Windows, decay, the thresholds of the blocking gates, model parameters, the signals DB."""

    window_days: int = Field(default=28, ge=1, le=366)
    model_params: str = Field(
        default="",
        description="JSON overrides of the model parameters by section, e.g. "
        '{"blend": {"rank_offset": 5}, "evaluation": {"gate_margin": 0.05}}; '
        f"empty: the defaults; in the code location {MODEL_PARAMS_ENV} if set",
    )
    min_events: int = Field(default=1, ge=0)
    max_events: int = Field(default=50_000_000, ge=1)
    max_duplicate_ratio: float = Field(default=0.5, ge=0, le=1)
    volume_low_ratio: float = Field(default=0.2, ge=0)
    volume_high_ratio: float = Field(default=5.0, gt=0)
    volume_history_days: int = Field(
        default=7, ge=1, description="The volume gate compares with this many last days that exist."
    )
    volume_min_history: int = Field(default=3, ge=1)
    min_window_coverage: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the window's days (since the scope's first) that must have events.",
    )
    signals_dsn: str = Field(
        default="",
        description="PostgreSQL DSN that publish also writes signals to (DB-only serving); "
        f"empty: no database is written; in the code location {SIGNALS_DSN_ENV} if set",
    )

    def resolved_signals_dsn(self) -> str:
        """The DSN without surrounding blanks (an EnvVar arrives as written); empty: none."""
        return self.signals_dsn.strip()

    def params(self) -> ModelParams:
        try:
            overrides = json.loads(self.model_params.strip() or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"model parameters are not JSON ({MODEL_PARAMS_ENV}?): {exc}"
            ) from None
        if not isinstance(overrides, dict) or not all(
            isinstance(v, dict) for v in overrides.values()
        ):
            raise ConfigError('model parameters must be {"section": {"knob": value}, ...}')
        return ModelParams.from_overrides(overrides)


class Resources(NamedTuple):
    storage: StorageResource
    signing: SigningResource
    settings: PipelineSettings


def resources_from_env(env: PipelineEnv | None = None) -> Resources:
    """The code location's resources: each value the environment sets is a dg.EnvVar (the UI
    shows the variable's name, never its value; Dagster reads it when a run starts), each value
    it leaves unset is the default. Dagster fails any run whose config names an unset variable,
    so the optional ones (a DSN, model parameters, one of the two ways to give keys) must not
    be EnvVars unless set; a change of environment needs a reload of the code location anyway.
    """
    env = env or PipelineEnv.load()
    return Resources(
        storage=StorageResource(url=_env_or_default(env, "storage_url")),
        signing=SigningResource(
            key_spec=_env_or_default(env, "signing_keys_spec"),
            key_file=_env_or_default(env, "signing_keys_file"),
        ),
        settings=PipelineSettings(
            model_params=_env_or_default(env, "model_params"),
            signals_dsn=_env_or_default(env, "signals_dsn"),
        ),
    )


def _env_or_default(env: EnvSettings, field: str) -> str:
    if env.is_set(field):
        return dg.EnvVar(env.variable(field))
    # Unset: the field's default (never a secret: secrets have no default but "").
    return str(getattr(env, field))
