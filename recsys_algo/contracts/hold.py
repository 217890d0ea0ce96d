"""The hold record of a scope: while it exists, runs publish to history but never move the pointer.

Stored beside the pointer (layout.hold_key) and signed like a manifest, so nobody without the
signing key can release a scope by rewriting it; a record that does not verify counts as held.
"""

from __future__ import annotations

from typing import Any

import msgspec

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.contracts.manifest import Signature, decode_signed, sign_struct
from recsys_algo.contracts.signing import SigningKeys

HOLD_RECORD = "hold"
# What every publish that a hold stopped says (CLI line, run metadata, logs).
HELD_MESSAGE = "held: published to history, not served"


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    record: str  # always "hold": a signed manifest's bytes never pass for a hold record
    tenant: str
    surface: str
    version: str | None  # the version serving under the hold (None: nothing was published)
    reason: str
    by: str  # who: the operator (user@host) or the Dagster run
    at: str  # RFC 3339, UTC
    origin: str  # what set it: `recsys hold`, `recsys rollback`, the rollback job, ...
    signature: Signature | None = None

    def describe(self) -> str:
        """One line: `held since <at> by <by> (<origin>): <reason>; serving <version>`."""
        serving = self.version or "nothing"
        return (
            f"held since {self.at} by {self.by} ({self.origin}): {self.reason}; serving {serving}"
        )

    def view(self) -> dict[str, Any]:
        """The fields an operator reads (no signature): JSON output, metadata, HTTP."""
        return {
            "version": self.version,
            "reason": self.reason,
            "by": self.by,
            "at": self.at,
            "origin": self.origin,
        }


def sign_hold(hold: Hold, keys: SigningKeys) -> Hold:
    return sign_struct(hold, keys)


def encode_hold(hold: Hold) -> bytes:
    return msgspec.json.encode(hold, order="sorted")


def _is_hold(document: dict[str, Any], where: str) -> None:
    if document.get("record") != HOLD_RECORD:
        raise ArtifactError(f"{where}: not a hold record")


def decode_hold(raw: bytes, keys: SigningKeys, where: str) -> Hold:
    """Decode and verify a hold record; ArtifactError saying what is wrong otherwise."""
    return decode_signed(raw, keys, where, "hold record", Hold, _is_hold)


class HoldState(msgspec.Struct, frozen=True, kw_only=True):
    """What the hold key of a scope holds: nothing, a verified record, or a broken one."""

    hold: Hold | None = None
    error: str | None = None  # the record exists but does not verify: held all the same

    @property
    def held(self) -> bool:
        return self.hold is not None or self.error is not None

    def describe(self) -> str:
        if self.hold is not None:
            return self.hold.describe()
        if self.error is not None:
            return (
                f"hold record unreadable, counted as held ({self.error}); "
                "`recsys release` clears it"
            )
        return "not held"

    def view(self) -> dict[str, Any] | None:
        if self.hold is not None:
            return self.hold.view()
        if self.error is not None:
            return {"error": self.error}
        return None
