"""config: the one settings layer; every RECSYS_* variable is read here (pydantic-settings).

May import: recsys_algo.contracts, pydantic, pydantic_settings. Nothing else in recsys_algo:
store/ reads S3Env when it opens s3://, pipelines and CLI read PipelineEnv, the service builds
its ServiceEnv on SharedEnv. Computation (kinds, evaluation, serving, policy) never imports
this package: values reach it as arguments.
"""

from recsys_algo.config.env import EnvSettings, config_error
from recsys_algo.config.pipeline import (
    DEFAULT_FIRST_DAY,
    FIRST_DAY_ENV,
    FRESHNESS_MAX_AGE_ENV,
    LANDING_LOOKBACK_ENV,
    MODEL_PARAMS_ENV,
    SCHEDULE_HOUR_ENV,
    PipelineEnv,
)
from recsys_algo.config.s3 import (
    DEFAULT_S3_ENDPOINT,
    S3_ACCESS_KEY_ENV,
    S3_ENDPOINT_ENV,
    S3_REGION_ENV,
    S3_SECRET_KEY_ENV,
    S3_SECURE_ENV,
    S3Env,
)
from recsys_algo.config.shared import (
    MAX_SURFACES_ENV,
    SIGNALS_DSN_ENV,
    SIGNING_KEYS_ENV,
    SIGNING_KEYS_FILE_ENV,
    STORAGE_URL_ENV,
    SharedEnv,
    default_storage_url,
    read_signing_keys,
    require_signing_keys,
)

__all__ = [
    "DEFAULT_FIRST_DAY",
    "DEFAULT_S3_ENDPOINT",
    "FIRST_DAY_ENV",
    "FRESHNESS_MAX_AGE_ENV",
    "LANDING_LOOKBACK_ENV",
    "MAX_SURFACES_ENV",
    "MODEL_PARAMS_ENV",
    "S3_ACCESS_KEY_ENV",
    "S3_ENDPOINT_ENV",
    "S3_REGION_ENV",
    "S3_SECRET_KEY_ENV",
    "S3_SECURE_ENV",
    "SCHEDULE_HOUR_ENV",
    "SIGNALS_DSN_ENV",
    "SIGNING_KEYS_ENV",
    "SIGNING_KEYS_FILE_ENV",
    "STORAGE_URL_ENV",
    "EnvSettings",
    "PipelineEnv",
    "S3Env",
    "SharedEnv",
    "config_error",
    "default_storage_url",
    "read_signing_keys",
    "require_signing_keys",
]
