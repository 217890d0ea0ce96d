from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
import pytest

from recsys_algo.contracts.errors import ArtifactError, ConfigError, SignatureError
from recsys_algo.contracts.manifest import (
    MANIFEST_SCHEMA_VERSION,
    VERSION_PATTERN,
    ArtifactRef,
    Lineage,
    Manifest,
    check_version,
    decode_verified,
    encode,
    make_version,
    sign,
)
from recsys_algo.contracts.signing import ALGORITHM, SigningKeys, parse_signing_keys
from tests.support.builders import OTHER_SIGNING_SPEC, key_spec, window_for

CREATED = dt.datetime(2026, 11, 23, 6, 50, 12, 123456, tzinfo=dt.UTC)
WHERE = "file:///store/registry/x.json"


def unsigned(**changes: Any) -> Manifest:
    manifest = Manifest(
        schema_version=MANIFEST_SCHEMA_VERSION,
        tenant="demo",
        surface="home",
        manifest_version="",
        as_of="2026-11-20",
        window=window_for(dt.date(2026, 11, 20)),
        created_at="2026-11-23T06:50:12.123Z",
        artifacts={
            "popularity": ArtifactRef(
                uri="artifacts/demo/home/popularity/ab.arrow",
                sha256="ab",
                bytes=10,
                rows=3,
                schema_version=1,
            )
        },
        lineage=Lineage(inputs={"2026-11-20": "cd"}, code_version="t", parameters={"n": 1}),
        metrics={"rows": 3.0, "coverage": 0.25},
        previous_version=None,
    )
    manifest = msgspec.structs.replace(manifest, **changes)
    return msgspec.structs.replace(manifest, manifest_version=make_version(CREATED, manifest))


def signed_raw(keys: SigningKeys, **changes: Any) -> bytes:
    return encode(sign(unsigned(**changes), keys))


def doc(raw: bytes) -> dict[str, Any]:
    document = msgspec.json.decode(raw)
    assert isinstance(document, dict)
    return document


def test_make_version_matches_the_pattern_and_encodes_utc_milliseconds() -> None:
    version = unsigned().manifest_version
    assert re.fullmatch(VERSION_PATTERN, version)
    assert version.startswith("20261123T065012123Z-")
    assert check_version(version) == version


def test_make_version_converts_other_offsets_to_utc() -> None:
    local = CREATED.astimezone(dt.timezone(dt.timedelta(hours=5)))
    assert make_version(local, unsigned()) == make_version(CREATED, unsigned())


def test_make_version_digest_depends_on_content() -> None:
    a = make_version(CREATED, unsigned())
    b = make_version(CREATED, unsigned(as_of="2026-11-21"))
    assert a[:19] == b[:19]
    assert a != b


@pytest.mark.parametrize(
    "value",
    [
        "",
        "latest",
        "20261123T065012123Z",
        "20261123T065012123Z-AB12CD34",
        "20261123T065012123Z-ab12cd3",
        "20261123T06501212Z-ab12cd34",
        "20261123T065012123Z-ab12cd34.json",
        "../20261123T065012123Z-ab12cd34",
        "20261123T065012123Z-ab12cd34\n",
        "\uff12\uff10\uff12\uff16" + "1123T065012123Z-ab12cd34",
        "2026112\u0663T065012123Z-ab12cd34",
    ],
)
def test_check_version_rejects_malformed_versions(value: str) -> None:
    with pytest.raises(ConfigError, match=r"manifest version .* is invalid"):
        check_version(value)


def test_sign_then_decode_verified_roundtrips(keys: SigningKeys) -> None:
    manifest = sign(unsigned(), keys)
    assert manifest.signature is not None
    assert manifest.signature.key_id == "test-kid"
    assert manifest.signature.algorithm == ALGORITHM
    assert decode_verified(encode(manifest), keys, WHERE) == manifest


def test_encode_is_deterministic_with_sorted_keys(keys: SigningKeys) -> None:
    raw = signed_raw(keys)
    assert raw == signed_raw(keys)
    assert list(doc(raw)) == sorted(doc(raw))


def test_signature_covers_everything_but_the_signature(keys: SigningKeys) -> None:
    once = sign(unsigned(), keys)
    twice = sign(once, keys)  # re-signing a signed manifest signs the same payload
    assert twice.signature == once.signature


def test_rotated_keys_verify_a_manifest_signed_by_the_old_key() -> None:
    old = parse_signing_keys(key_spec("old", "11"))
    rotated = parse_signing_keys(f"{key_spec('new', '22')},{key_spec('old', '11')}")
    raw = signed_raw(old)
    assert decode_verified(raw, rotated, WHERE).signature is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tenant",), "acme"),
        (("surface",), "web"),
        (("as_of",), "2026-11-21"),
        (("manifest_version",), "20261123T065012123Z-00000000"),
        (("previous_version",), "20261122T065012123Z-00000000"),
        (("metrics", "rows"), 4.0),
        (("metrics", "extra"), 1.0),
        (("artifacts", "popularity", "sha256"), "ff"),
        (("artifacts", "popularity", "uri"), "artifacts/demo/home/popularity/ff.arrow"),
        (("lineage", "parameters", "n"), 2),
        (("window", "days"), 8),
        (("unknown_field",), "x"),
    ],
)
def test_tampered_fields_fail_verification(
    keys: SigningKeys, path: tuple[str, ...], value: object
) -> None:
    document = doc(signed_raw(keys))
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(SignatureError, match=f"^{re.escape(WHERE)}: signature does not match"):
        decode_verified(msgspec.json.encode(document), keys, WHERE)


def test_removed_field_fails_verification(keys: SigningKeys) -> None:
    document = doc(signed_raw(keys))
    del document["metrics"]
    with pytest.raises(SignatureError):
        decode_verified(msgspec.json.encode(document), keys, WHERE)


def test_signature_swapped_from_another_manifest_fails(keys: SigningKeys) -> None:
    victim = doc(signed_raw(keys))
    donor = doc(signed_raw(keys, as_of="2026-11-19"))
    victim["signature"] = donor["signature"]
    with pytest.raises(SignatureError):
        decode_verified(msgspec.json.encode(victim), keys, WHERE)


def test_manifest_signed_by_a_foreign_key_is_an_unknown_kid(keys: SigningKeys) -> None:
    raw = signed_raw(parse_signing_keys(OTHER_SIGNING_SPEC))
    with pytest.raises(SignatureError, match="unknown key id 'other-kid'"):
        decode_verified(raw, keys, WHERE)


def test_same_kid_different_secret_fails(keys: SigningKeys) -> None:
    raw = signed_raw(parse_signing_keys(key_spec("test-kid", "99")))
    with pytest.raises(SignatureError, match="does not match"):
        decode_verified(raw, keys, WHERE)


@pytest.mark.parametrize("value", ["not-hex", "zz" * 32, "", 12, None, ["a"], "\u00e9" * 64])
def test_garbage_signature_values_are_signature_errors(keys: SigningKeys, value: object) -> None:
    document = doc(signed_raw(keys))
    document["signature"]["value"] = value
    with pytest.raises(SignatureError):
        decode_verified(msgspec.json.encode(document), keys, WHERE)


def test_missing_key_id_is_a_signature_error(keys: SigningKeys) -> None:
    document = doc(signed_raw(keys))
    del document["signature"]["key_id"]
    with pytest.raises(SignatureError, match="unknown key id"):
        decode_verified(msgspec.json.encode(document), keys, WHERE)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("signature"), "manifest is unsigned"),
        (lambda d: d.update(signature=None), "manifest is unsigned"),
        (lambda d: d.update(signature="abc"), "manifest is unsigned"),
        (lambda d: d["signature"].update(algorithm="none"), "algorithm must be HMAC-SHA256"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d.update(schema_version="1"), "schema_version '1' is not supported"),
        (lambda d: d.pop("schema_version"), "schema_version None is not supported"),
        (lambda d: d.update(schema_version=0), "schema_version 0 is not supported"),
    ],
)
def test_structural_problems_are_artifact_errors(
    keys: SigningKeys, mutate: Any, message: str
) -> None:
    document = doc(signed_raw(keys))
    mutate(document)
    with pytest.raises(ArtifactError, match=message):
        decode_verified(msgspec.json.encode(document), keys, WHERE)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"\xff", b"[1, 2]", b'"manifest"', b"null", b'{"tenant": "\xff"}']
)
def test_non_object_bytes_are_artifact_errors(keys: SigningKeys, raw: bytes) -> None:
    with pytest.raises(ArtifactError, match=re.escape(WHERE)):
        decode_verified(raw, keys, WHERE)


def test_validly_signed_document_that_breaks_the_schema_is_refused(keys: SigningKeys) -> None:
    document = doc(signed_raw(keys))
    del document["signature"]
    document["metrics"] = {"rows": "many"}
    kid, value = keys.sign(msgspec.json.encode(document, order="sorted"))
    document["signature"] = {"key_id": kid, "algorithm": ALGORITHM, "value": value}
    with pytest.raises(ArtifactError, match="does not match the schema") as info:
        decode_verified(msgspec.json.encode(document), keys, WHERE)
    assert not isinstance(info.value, SignatureError)


def test_verification_uses_stored_bytes_not_a_reencoding(keys: SigningKeys) -> None:
    raw = signed_raw(keys)
    pretty = msgspec.json.format(raw, indent=2)  # same document, different bytes
    assert decode_verified(pretty, keys, WHERE) == decode_verified(raw, keys, WHERE)


def test_invalid_utf8_inside_a_signed_manifest_is_an_artifact_error(keys: SigningKeys) -> None:
    raw = signed_raw(keys)
    broken = raw.replace(b'"tenant":"demo"', b'"tenant":"dem\xff"')
    assert broken != raw
    with pytest.raises(ArtifactError, match="not valid JSON"):
        decode_verified(broken, keys, WHERE)
