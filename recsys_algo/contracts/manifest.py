"""The manifest contract shared by pipelines and service, with canonical signing bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.contracts.signing import ALGORITHM, SigningKeys

MANIFEST_SCHEMA_VERSION = 1
# [0-9], not \d: in Python regexes \d also matches other scripts' digits.
VERSION_PATTERN = r"^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}$"
_VERSION_RE = re.compile(VERSION_PATTERN)
SignedT = TypeVar("SignedT", bound=msgspec.Struct)


class ArtifactRef(msgspec.Struct, frozen=True, kw_only=True):
    uri: str  # key relative to the storage root (RECSYS_STORAGE_URL)
    sha256: str
    bytes: int
    rows: int
    schema_version: int


class Window(msgspec.Struct, frozen=True, kw_only=True):
    start: str
    end: str
    days: int


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    inputs: dict[str, str]  # partition date -> canonical parquet sha256
    code_version: str
    parameters: dict[str, Any]


class Signature(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    algorithm: str
    value: str


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    tenant: str
    surface: str
    manifest_version: str
    as_of: str
    window: Window
    created_at: str
    artifacts: dict[str, ArtifactRef]
    lineage: Lineage
    metrics: dict[str, float]
    previous_version: str | None
    signature: Signature | None = None


def may_replace_serving(as_of: str, serving_as_of: str | None, allow_rewind: bool) -> bool:
    """Whether a manifest for as_of may take the pointer from one serving serving_as_of.

    Serving never moves back in time unless the run allows a rewind: a backfill of an older
    day is recorded in history only. The registry asks at the swap, the publish policy before.
    """
    return serving_as_of is None or as_of >= serving_as_of or allow_rewind


def check_version(value: str) -> str:
    if not _VERSION_RE.fullmatch(value):
        raise ConfigError(
            f"manifest version {value[:80]!r} is invalid: "
            "expected e.g. 20261123T065012123Z-ab12cd34"
        )
    return value


def signing_payload(document: dict[str, Any]) -> bytes:
    """Canonical bytes a signature covers: every field except signature, keys sorted, compact."""
    body = {k: v for k, v in document.items() if k != "signature"}
    return msgspec.json.encode(body, order="sorted")


def make_version(created_at: dt.datetime, unsigned: Manifest) -> str:
    digest = hashlib.sha256(signing_payload(msgspec.to_builtins(unsigned))).hexdigest()[:8]
    stamp = created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{stamp}Z-{digest}"


def sign(manifest: Manifest, keys: SigningKeys) -> Manifest:
    return sign_struct(manifest, keys)


def sign_struct(document: SignedT, keys: SigningKeys) -> SignedT:
    """A signed copy of a Struct with a `signature` field (a manifest, a hold record)."""
    key_id, value = keys.sign(signing_payload(msgspec.to_builtins(document)))
    signature = Signature(key_id=key_id, algorithm=ALGORITHM, value=value)
    return msgspec.structs.replace(document, signature=signature)


def encode(manifest: Manifest) -> bytes:
    return msgspec.json.encode(manifest, order="sorted")


def _manifest_schema(document: dict[str, Any], where: str) -> None:
    version = document.get("schema_version")
    if not isinstance(version, int) or not 1 <= version <= MANIFEST_SCHEMA_VERSION:
        raise ArtifactError(
            f"{where}: manifest schema_version {version!r} is not supported "
            f"(this reader supports 1..{MANIFEST_SCHEMA_VERSION})"
        )


def decode_verified(raw: bytes, keys: SigningKeys, where: str) -> Manifest:
    """Decode and verify the signature over the bytes as stored (unknown fields included)."""
    return decode_signed(raw, keys, where, "manifest", Manifest, _manifest_schema)


def decode_signed(
    raw: bytes,
    keys: SigningKeys,
    where: str,
    what: str,
    cls: type[SignedT],
    precheck: Callable[[dict[str, Any], str], None],
) -> SignedT:
    """Decode a signed JSON document, run precheck (what kind of document it must be), verify
    its signature, then convert it to cls: ArtifactError saying where and what otherwise."""
    try:
        document = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{where}: {what} is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ArtifactError(f"{where}: {what} must be a JSON object")
    precheck(document, where)
    check_signature(document, keys, where, what)
    try:
        return msgspec.convert(document, cls)
    except msgspec.ValidationError as exc:
        raise ArtifactError(f"{where}: {what} does not match the schema ({exc})") from None


def check_signature(document: dict[str, Any], keys: SigningKeys, where: str, what: str) -> None:
    """The document's signature verifies over its canonical bytes (ArtifactError otherwise)."""
    signature = document.get("signature")
    if not isinstance(signature, dict):
        raise ArtifactError(f"{where}: {what} is unsigned")
    if signature.get("algorithm") != ALGORITHM:
        raise ArtifactError(f"{where}: signature algorithm must be {ALGORITHM}")
    try:
        keys.verify(
            str(signature.get("key_id")), signing_payload(document), str(signature.get("value"))
        )
    except ArtifactError as exc:
        raise type(exc)(f"{where}: {exc}") from None
