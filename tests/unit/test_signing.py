from __future__ import annotations

import pytest

from recsys_algo.contracts.errors import ConfigError, SignatureError
from recsys_algo.contracts.signing import ALGORITHM, parse_signing_keys
from tests.support.builders import key_spec

SECRET_HEX = "ab" * 32


def test_parse_single_key() -> None:
    keys = parse_signing_keys(f"k1:{SECRET_HEX}")
    assert keys.key_ids == ("k1",)
    assert keys.signing_key_id == "k1"
    assert keys.keys == (("k1", bytes.fromhex(SECRET_HEX)),)


def test_first_key_signs_and_all_keys_are_kept_in_order() -> None:
    keys = parse_signing_keys(f" new:{'11' * 32} , old.v1:{'22' * 32},x_y-z:{'33' * 32}")
    assert keys.key_ids == ("new", "old.v1", "x_y-z")
    assert keys.sign(b"p")[0] == "new"


def test_uppercase_hex_secrets_are_accepted() -> None:
    assert parse_signing_keys(f"k:{'AB' * 32}").keys == parse_signing_keys(f"k:{'ab' * 32}").keys


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        ",",
        "k1",
        "k1:",
        f":{SECRET_HEX}",
        f"k1 {SECRET_HEX}",
        f"k1:{'ab' * 31}",
        f"k1:{'ab' * 33}",
        f"k1:{'zz' * 32}",
        f"k1:{'ab' * 31}a",
        f"bad kid:{SECRET_HEX}",
        f"k/1:{SECRET_HEX}",
        f"{'k' * 65}:{SECRET_HEX}",
        f"k1:{SECRET_HEX},",
        f"k1:{SECRET_HEX}:extra",
    ],
)
def test_malformed_specs_raise_config_error_without_key_material(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_signing_keys(spec)
    message = str(info.value)
    assert "ab" * 8 not in message.lower()
    assert "zz" * 8 not in message


@pytest.mark.parametrize("spec", ["", "   ", "\n"])
def test_empty_spec_says_no_keys_were_given(spec: str) -> None:
    with pytest.raises(ConfigError, match="no signing keys given"):
        parse_signing_keys(spec)


def test_malformed_entry_is_named_by_position() -> None:
    with pytest.raises(ConfigError, match="signing key #2 is malformed"):
        parse_signing_keys(f"k1:{SECRET_HEX},k2:short")


def test_duplicate_key_id_is_refused_without_key_material() -> None:
    with pytest.raises(ConfigError, match="'k1' appears twice") as info:
        parse_signing_keys(f"k1:{SECRET_HEX},k1:{'cd' * 32}")
    assert "cdcdcdcd" not in str(info.value)
    assert "abababab" not in str(info.value)


def test_repr_hides_key_material() -> None:
    keys = parse_signing_keys(f"k1:{SECRET_HEX}")
    assert "abab" not in repr(keys)
    assert "\\xab" not in repr(keys)


def test_sign_then_verify_roundtrip() -> None:
    keys = parse_signing_keys(key_spec())
    kid, value = keys.sign(b"payload")
    assert kid == "test-kid"
    assert len(value) == 64
    keys.verify(kid, b"payload", value)
    keys.verify(kid, b"payload", value.upper())


def test_signatures_are_deterministic_and_key_dependent() -> None:
    a = parse_signing_keys(key_spec("k", "ab"))
    b = parse_signing_keys(key_spec("k", "cd"))
    assert a.sign(b"p") == a.sign(b"p")
    assert a.sign(b"p")[1] != b.sign(b"p")[1]
    with pytest.raises(SignatureError):
        b.verify("k", b"p", a.sign(b"p")[1])


def test_rotated_set_verifies_signatures_made_by_the_old_key() -> None:
    old = parse_signing_keys(key_spec("old", "11"))
    rotated = parse_signing_keys(f"{key_spec('new', '22')},{key_spec('old', '11')}")
    kid, value = old.sign(b"payload")
    rotated.verify(kid, b"payload", value)
    assert rotated.sign(b"payload")[0] == "new"


def test_unknown_key_id_is_a_signature_error_listing_known_ids() -> None:
    keys = parse_signing_keys(key_spec())
    _, value = keys.sign(b"p")
    with pytest.raises(SignatureError, match="unknown key id 'gone'; known ids: test-kid"):
        keys.verify("gone", b"p", value)


def test_tampered_payload_is_a_signature_error() -> None:
    keys = parse_signing_keys(key_spec())
    kid, value = keys.sign(b"payload")
    with pytest.raises(SignatureError, match="does not match"):
        keys.verify(kid, b"payloaD", value)


@pytest.mark.parametrize(
    "signature",
    ["", "zz" * 32, "ab", "0" * 64, "0" * 65, "é" * 64, "\x00" * 64, "\ud800" * 64, "\udcff"],
)
def test_garbage_signatures_are_signature_errors(signature: str) -> None:
    keys = parse_signing_keys(key_spec())
    kid, _ = keys.sign(b"payload")
    with pytest.raises(SignatureError):
        keys.verify(kid, b"payload", signature)


def test_algorithm_name() -> None:
    assert ALGORITHM == "HMAC-SHA256"
