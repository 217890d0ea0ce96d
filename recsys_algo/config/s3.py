"""RECSYS_S3_*: how to reach the object store when RECSYS_STORAGE_URL is s3://bucket/prefix."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from recsys_algo.config.env import EnvSettings
from recsys_algo.contracts.errors import ConfigError

S3_ENDPOINT_ENV = "RECSYS_S3_ENDPOINT"
S3_ACCESS_KEY_ENV = "RECSYS_S3_ACCESS_KEY"
S3_SECRET_KEY_ENV = "RECSYS_S3_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
S3_REGION_ENV = "RECSYS_S3_REGION"
S3_SECURE_ENV = "RECSYS_S3_SECURE"
DEFAULT_S3_ENDPOINT = "s3.amazonaws.com"
_HOST_PORT_RE = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def split_endpoint(value: str) -> tuple[str, bool | None]:
    """host[:port], and whether an http(s):// scheme asked for TLS (None: no scheme given)."""
    raw, implied = value.strip(), None
    for scheme, secure in (("https://", True), ("http://", False)):
        if raw.lower().startswith(scheme):
            raw, implied = raw[len(scheme) :].rstrip("/"), secure
    match = _HOST_PORT_RE.match(raw)
    if match is None:
        raise ValueError("use host[:port] or http(s)://host[:port] (no path, no credentials)")
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"port {port} is out of range 1..65535")
    return raw, implied


def _endpoint(value: str) -> str:
    split_endpoint(value)
    return value


def _region(value: str | None) -> str | None:
    if value is not None and not _REGION_RE.match(value):
        raise ValueError("use a region name such as us-east-1")
    return value


class S3Env(EnvSettings):
    """Where and how to reach the object store; read when s3:// storage is opened, not before."""

    endpoint: Annotated[str, AfterValidator(_endpoint)] = Field(
        default=DEFAULT_S3_ENDPOINT, validation_alias=S3_ENDPOINT_ENV
    )
    access_key: str = Field(default="", validation_alias=S3_ACCESS_KEY_ENV)
    secret_key: str = Field(default="", validation_alias=S3_SECRET_KEY_ENV, repr=False)
    region: Annotated[str | None, AfterValidator(_region)] = Field(
        default=None, validation_alias=S3_REGION_ENV
    )
    # None: what the endpoint's scheme says, else TLS.
    secure: bool | None = Field(default=None, validation_alias=S3_SECURE_ENV)

    @model_validator(mode="after")
    def _keys_paired_and_tls_agrees(self) -> Self:
        for name, present, partner, other in (
            (S3_ACCESS_KEY_ENV, self.access_key, S3_SECRET_KEY_ENV, self.secret_key),
            (S3_SECRET_KEY_ENV, self.secret_key, S3_ACCESS_KEY_ENV, self.access_key),
        ):
            if not present:
                state = "is set" if other else "is not set either"
                raise ConfigError(
                    f"{name} is not set ({partner} {state}): s3:// storage needs both"
                )
        implied = split_endpoint(self.endpoint)[1]
        if self.secure is not None and implied is not None and self.secure != implied:
            raise ConfigError(
                f"{S3_SECURE_ENV}={str(self.secure).lower()} contradicts the "
                f"{'https' if implied else 'http'}:// in {S3_ENDPOINT_ENV}: drop one of them"
            )
        return self

    @cached_property
    def host(self) -> str:
        """host[:port] without the scheme: what the S3 client connects to."""
        return split_endpoint(self.endpoint)[0]

    @cached_property
    def tls(self) -> bool:
        """RECSYS_S3_SECURE if set, else the endpoint's scheme, else TLS."""
        implied = split_endpoint(self.endpoint)[1]
        return self.secure if self.secure is not None else implied is not False
