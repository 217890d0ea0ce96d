"""Corrupt, truncated, unsigned, wrong-key and wrong-tenant artifacts and manifests: the service
keeps serving the last good manifest and /readyz names the precise reason, case by case."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from recsys_algo.contracts import layout
from recsys_algo.contracts.signing import ALGORITHM, SigningKeys
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.store.storage import FileStorage
from recsys_service.app import create_app
from tests.reliability.generations import publish_generation
from tests.service.builders import make_settings
from tests.support.builders import key_spec, popularity_frame, signing_keys

T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
POINTER = layout.pointer_key("demo", "home")
Document = dict[str, Any]


def resign(document: Document, keys: SigningKeys | None = None) -> bytes:
    """Sign a (possibly broken) manifest document the way publish does: sorted compact JSON."""
    body = {k: v for k, v in document.items() if k != "signature"}
    kid, value = (keys or signing_keys()).sign(msgspec.json.encode(body, order="sorted"))
    return msgspec.json.encode(
        {**body, "signature": {"key_id": kid, "algorithm": ALGORITHM, "value": value}}
    )


def edit_pointer(edit: Callable[[Document], object]) -> Callable[[FileStorage], None]:
    """Change the published pointer document in place, keeping its signature as it was."""

    def apply(storage: FileStorage) -> None:
        document = msgspec.json.decode(storage.read_bytes(POINTER))
        edit(document)
        storage.write_bytes(POINTER, msgspec.json.encode(document))

    return apply


def resigned(edit: Callable[[Document], object]) -> Callable[[FileStorage], None]:
    """Change the pointer document and sign it again with the valid key (an insider's mistake)."""

    def apply(storage: FileStorage) -> None:
        document = msgspec.json.decode(storage.read_bytes(POINTER))
        edit(document)
        storage.write_bytes(POINTER, resign(document))

    return apply


def on_blob(change: Callable[[bytes], bytes | None]) -> Callable[[FileStorage], None]:
    """Change (or delete, when change returns None) the popularity blob the pointer names."""

    def apply(storage: FileStorage) -> None:
        document = msgspec.json.decode(storage.read_bytes(POINTER))
        path = storage.root / document["artifacts"]["popularity"]["uri"]
        changed = change(path.read_bytes())
        path.unlink()
        if changed is not None:
            path.write_bytes(changed)

    return apply


def raw_pointer(change: Callable[[bytes], bytes]) -> Callable[[FileStorage], None]:
    return lambda storage: storage.write_bytes(POINTER, change(storage.read_bytes(POINTER)))


def flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def copy_scope(tenant: str, surface: str) -> Callable[[FileStorage], None]:
    """Serve another scope's genuine, validly signed pointer under demo/home."""
    return lambda s: s.write_bytes(POINTER, s.read_bytes(layout.pointer_key(tenant, surface)))


def foreign_artifact(document: Document) -> None:
    """A signed demo manifest whose popularity points at acme's blob (cross-tenant read)."""
    ref = document["artifacts"]["popularity"]
    ref["uri"] = ref["uri"].replace("/demo/", "/acme/")


def invalid_blob(storage: FileStorage) -> None:
    """A blob with the right digest, signed in, whose content fails the kind's checks."""
    frame = popularity_frame(["new-0", "new-1"]).reverse()  # scores ascending: not ranked
    blob = encode_artifact(frame, "popularity", 1)
    key = layout.artifact_key("demo", "home", "popularity", blob.sha256)
    storage.write_bytes(key, blob.data)
    document = msgspec.json.decode(storage.read_bytes(POINTER))
    document["artifacts"]["popularity"].update(
        uri=key, sha256=hashlib.sha256(blob.data).hexdigest(), bytes=len(blob.data), rows=2
    )
    storage.write_bytes(POINTER, resign(document))


def impostor_blob(storage: FileStorage) -> None:
    """Another valid popularity artifact of the same size and rows at the named blob's place:
    only the digest tells them apart (it ranks bad-* items instead of new-*)."""
    document = msgspec.json.decode(storage.read_bytes(POINTER))
    path = storage.root / document["artifacts"]["popularity"]["uri"]
    original = path.read_bytes()
    impostor = encode_artifact(
        popularity_frame([f"bad-{i:03d}" for i in range(20)]), "popularity", 1
    )
    assert len(impostor.data) == len(original) and impostor.data != original
    path.write_bytes(impostor.data)


def wrong_secret(storage: FileStorage) -> None:
    """Signed under the trusted key id with another secret (a forged or rotated-away key)."""
    document = msgspec.json.decode(storage.read_bytes(POINTER))
    storage.write_bytes(POINTER, resign(document, signing_keys(key_spec("test-kid", "ef"))))


CASES: dict[str, tuple[Callable[[FileStorage], None], str]] = {
    # artifacts
    "artifact-bit-flip": (
        on_blob(flip),
        r"ArtifactError: .*popularity/.*: digest .* does not match the manifest",
    ),
    "artifact-replaced-by-another-valid-one": (
        impostor_blob,
        # Same size on both sides: the digest, not the length, rejected it.
        r"ArtifactError: .*popularity/.*: digest [0-9a-f]{12}… \((\d+) bytes\) does not match "
        r"the manifest \([0-9a-f]{12}…, \1 bytes\)",
    ),
    "artifact-truncated": (
        on_blob(lambda d: d[: len(d) // 2]),
        r"ArtifactError: .*\(\d+ bytes\) does not match the manifest \(.*, \d+ bytes\)",
    ),
    "artifact-empty": (on_blob(lambda d: b""), r"ArtifactError: .*\(0 bytes\) does not match"),
    "artifact-missing": (
        on_blob(lambda d: None),
        r"ArtifactError: .*popularity/.*: artifact is missing",
    ),
    "artifact-fails-checks": (invalid_blob, r"ArtifactError: .*popularity.*score"),
    "artifact-of-another-tenant": (
        resigned(foreign_artifact),
        r"ArtifactError: manifest .*: popularity uri 'artifacts/acme/.*' is not 'artifacts/demo/",
    ),
    # manifests
    "manifest-truncated": (
        raw_pointer(lambda d: d[: len(d) // 2]),
        r"ArtifactError: .*manifest\.json: manifest is not valid JSON",
    ),
    "manifest-empty": (
        raw_pointer(lambda d: b""),
        r"ArtifactError: .*: manifest is not valid JSON",
    ),
    "manifest-not-utf8": (
        raw_pointer(lambda d: d.replace(b'"demo"', b'"dem\xff"')),
        r"ArtifactError: .*: manifest is not valid JSON",
    ),
    "manifest-not-an-object": (
        raw_pointer(lambda d: b"[1, 2]"),
        r"ArtifactError: .*: manifest must be a JSON object",
    ),
    "manifest-unsigned": (
        edit_pointer(lambda d: d.pop("signature")),
        r"ArtifactError: .*: manifest is unsigned",
    ),
    "manifest-wrong-algorithm": (
        edit_pointer(lambda d: d["signature"].update(algorithm="none")),
        r"ArtifactError: .*: signature algorithm must be HMAC-SHA256",
    ),
    "manifest-unknown-key": (
        edit_pointer(lambda d: d["signature"].update(key_id="other-kid")),
        r"SignatureError: .*: signed with unknown key id 'other-kid'; known ids: test-kid",
    ),
    "manifest-wrong-secret": (
        wrong_secret,
        r"SignatureError: .*: signature does not match \(key id 'test-kid'\)",
    ),
    "manifest-edited-after-signing": (
        edit_pointer(lambda d: d.update(as_of="2030-01-01")),
        r"SignatureError: .*: signature does not match",
    ),
    "manifest-future-schema": (
        resigned(lambda d: d.update(schema_version=99)),
        r"ArtifactError: .*: manifest schema_version 99 is not supported",
    ),
    "manifest-breaks-schema": (
        resigned(lambda d: d.update(artifacts="none")),
        r"ArtifactError: .*: manifest does not match the schema",
    ),
    "manifest-of-another-tenant": (
        copy_scope("acme", "home"),
        r"ArtifactError: .*: manifest belongs to acme/home, not demo/home",
    ),
    "manifest-of-another-surface": (
        copy_scope("demo", "pdp"),
        r"ArtifactError: .*: manifest belongs to demo/pdp, not demo/home",
    ),
    "pointer-deleted": (
        lambda s: s.delete(POINTER),
        r"NotFoundError: .*manifest\.json does not exist",
    ),
}


@pytest.mark.parametrize("loader", ["thread", "process"])
@pytest.mark.parametrize("case", CASES)
def test_bad_manifest_or_artifact_keeps_the_last_good_and_readyz_says_why(
    tmp_path: Path, case: str, loader: str
) -> None:
    """Either loader: in-process, or a child verifying artifacts while the serving process
    verifies the manifest (the reason keeps its class across the process boundary)."""
    break_it, reason = CASES[case]
    storage = FileStorage(tmp_path / "store")
    old = publish_generation(storage, "old-", T0)
    publish_generation(storage, "acme-", T0, tenant="acme")
    publish_generation(storage, "pdp-", T0, surface="pdp")
    settings = make_settings(
        storage, scopes=(("demo", "home"),), loader=loader, prepared_dir=tmp_path / "prep"
    )
    with TestClient(create_app(settings)) as client:
        publish_generation(storage, "new-", T0 + dt.timedelta(hours=1))
        break_it(storage)
        client.app.state["serving"].refresh()
        ready = client.get("/readyz")
        popular = client.get("/v1/popular", params={"surface": "home"})
    assert ready.status_code == 200  # the last good manifest still serves
    (scope,) = ready.json()["scopes"]
    assert scope["manifest_version"] == old
    assert scope["last_error"] is not None and scope["last_error_at"] is not None
    assert re.search(reason, scope["last_error"]), scope["last_error"]
    assert popular.status_code == 200
    assert {i["item_id"].split("-")[0] for i in popular.json()["items"]} == {"old"}
    assert "bad-" not in popular.text
