"""HMAC-SHA256 signing keys: the first key signs, every key verifies (rotation)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from recsys_algo.contracts.errors import ConfigError, SignatureError

ALGORITHM = "HMAC-SHA256"
_KID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class SigningKeys:
    # repr=False keeps key material out of logs and tracebacks.
    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    @property
    def signing_key_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self.keys)

    def to_spec(self) -> str:
        """The 'kid:hex,...' form parse_signing_keys reads: key material, for a child process's
        stdin only (never a log, an argument or a file)."""
        return ",".join(f"{kid}:{secret.hex()}" for kid, secret in self.keys)

    def sign(self, payload: bytes) -> tuple[str, str]:
        kid, secret = self.keys[0]
        return kid, hmac.new(secret, payload, hashlib.sha256).hexdigest()

    def verify(self, key_id: str, payload: bytes, signature_hex: str) -> None:
        secret = dict(self.keys).get(key_id)
        if secret is None:
            raise SignatureError(
                f"signed with unknown key id {key_id[:64]!r}; known ids: {', '.join(self.key_ids)}"
            )
        expected = hmac.new(secret, payload, hashlib.sha256).hexdigest().encode()
        # Compare bytes: compare_digest raises TypeError on non-ASCII str (tampered values);
        # surrogatepass also encodes lone surrogates that surrogateescape refuses.
        presented = signature_hex.lower().encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected, presented):
            raise SignatureError(f"signature does not match (key id {key_id!r})")


def parse_signing_keys(spec: str) -> SigningKeys:
    """Parse 'kid:hex64,kid2:hex64' without ever echoing key material."""
    if not spec.strip():
        raise ConfigError("no signing keys given: expected 'kid:<64 hex chars>[,kid2:...]'")
    keys: list[tuple[str, bytes]] = []
    for i, entry in enumerate(e.strip() for e in spec.split(",")):
        kid, sep, secret = entry.partition(":")
        if not sep or not _KID_RE.fullmatch(kid) or not _HEX64_RE.fullmatch(secret):
            raise ConfigError(
                f"signing key #{i + 1} is malformed: expected 'kid:<64 hex chars>' "
                "(kid of letters, digits, '_', '.', '-')"
            )
        if kid in dict(keys):
            raise ConfigError(f"signing key id {kid!r} appears twice")
        keys.append((kid, bytes.fromhex(secret)))
    return SigningKeys(tuple(keys))
