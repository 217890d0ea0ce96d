"""API-key authentication: resolve the one tenant a request may read."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from recsys_algo.contracts.names import is_valid_name
from recsys_service.errors import BadRequest, Forbidden, Unauthorized
from recsys_service.settings import OPEN_MODE_TENANT, ApiKey

API_KEY_HEADER = "X-API-Key"
TENANT_HEADER = "X-Tenant"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling (key name, or 'open' in open mode) and the tenant they read."""

    key_name: str
    tenant: str


def find_key(keys: tuple[ApiKey, ...], presented: str) -> ApiKey | None:
    """Compare the sha256 with every configured hash in constant time; no early exit."""
    digest = hashlib.sha256(presented.encode("utf-8")).digest()
    match: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(key.sha256, digest):
            match = key
    return match


def _named_tenant(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_valid_name(value):
        raise BadRequest(f"{TENANT_HEADER} must match ^[a-z0-9][a-z0-9_-]{{0,62}}$")
    return value


def resolve_principal(
    keys: tuple[ApiKey, ...], api_key: str | None, tenant_header: str | None
) -> Principal:
    """Open mode serves only 'demo'; a tenant key reads only its tenant; admin names one."""
    named = _named_tenant(tenant_header)
    if not keys:
        if named not in (None, OPEN_MODE_TENANT):
            raise Forbidden(f"open mode serves only tenant {OPEN_MODE_TENANT!r}")
        return Principal(key_name="open", tenant=OPEN_MODE_TENANT)
    if not api_key:
        raise Unauthorized(f"missing {API_KEY_HEADER} header")
    key = find_key(keys, api_key)
    if key is None:
        raise Unauthorized(f"unknown {API_KEY_HEADER}")
    if key.is_admin:
        if named is None:
            raise BadRequest(f"an admin key must name the tenant with the {TENANT_HEADER} header")
        return Principal(key_name=key.name, tenant=named)
    if named not in (None, key.tenant):
        raise Forbidden(f"key {key.name!r} may not read tenant {named!r}")
    return Principal(key_name=key.name, tenant=key.tenant)
