"""Fuzz the manifest decoder: any bytes give a verified Manifest or an ArtifactError, nothing else.

Two shapes of input, chosen by the first byte: raw bytes straight into decode_verified (the
signature check stops most), or a JSON document that is signed with the trusted key first, so
the fuzzer also reaches schema checking, where a forged-but-signed document is what an insider
or a buggy publisher would produce. Either way the contract is decode_verified's: a Manifest
or ArtifactError (SignatureError included). Any other exception is a crash.

    .venv/bin/python fuzz/fuzz_manifest.py -max_total_time=20 /tmp/corpus fuzz/seeds/manifest
"""

from __future__ import annotations

import sys

import atheris
import msgspec

with atheris.instrument_imports(include=["recsys_algo"]):
    from recsys_algo.contracts.errors import ArtifactError
    from recsys_algo.contracts.manifest import Manifest, decode_verified
    from recsys_algo.contracts.signing import ALGORITHM, parse_signing_keys

KEYS = parse_signing_keys("test-kid:" + "ab" * 32)


def signed(document: dict[str, object]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    kid, value = KEYS.sign(msgspec.json.encode(body, order="sorted"))
    signature = {"key_id": kid, "algorithm": ALGORITHM, "value": value}
    return msgspec.json.encode({**body, "signature": signature})


def check_manifest(data: bytes) -> None:
    if data[:1] == b"S":
        try:
            document = msgspec.json.decode(data[1:])
        except (msgspec.DecodeError, UnicodeDecodeError):
            return
        if not isinstance(document, dict):
            return
        data = signed(document)
    try:
        manifest = decode_verified(data, KEYS, "fuzz")
    except ArtifactError as exc:
        assert str(exc).startswith("fuzz: "), exc  # every reason names where it was read
        return
    assert isinstance(manifest, Manifest)
    assert manifest.signature is not None


def main() -> None:
    atheris.Setup(sys.argv, check_manifest)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
