"""Re-verifying a version a host prepared against the blobs it was built from.

A prepared file records each artifact's digest and the storage token of its blob when the
loader child built it (`blob_stamps`). Mapping the file again for a pointer (a restart, a
rollback, another worker) first compares those tokens with a stat of each blob
(`changed_blobs`: on S3 a HEAD, on files the content digest); the poller reads every served
blob again on a timer (`digest_mismatches`, a chunk at a time) and compares it with the
manifest. A difference refuses the version exactly as a fresh host would refuse it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from recsys_algo.contracts.errors import ArtifactError, NotFoundError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.store.storage import Storage


def blob_stamps(storage: Storage, manifest: Manifest) -> dict[str, dict[str, str]]:
    """kind -> the blob's key, the manifest's sha256 and the blob's storage token now."""
    return {
        kind: {"uri": ref.uri, "sha256": ref.sha256, "token": storage.stat(ref.uri).token}
        for kind, ref in sorted(manifest.artifacts.items())
    }


def changed_blobs(storage: Storage, manifest: Manifest, stamps: Mapping[str, Any]) -> None:
    """ArtifactError naming the blobs whose token is not the one recorded at build time (or
    that are gone), and a file recorded for other artifacts than the manifest's."""
    if {k: v.get("sha256") for k, v in stamps.items()} != {
        k: ref.sha256 for k, ref in manifest.artifacts.items()
    }:
        raise ArtifactError(f"{_label(manifest)}: the prepared file records other artifacts")
    changed = []
    for kind, stamp in sorted(stamps.items()):
        try:
            if storage.stat(str(stamp["uri"])).token != stamp["token"]:
                changed.append(kind)
        except NotFoundError:
            changed.append(kind)
    if changed:
        raise ArtifactError(
            f"{_label(manifest)}: the blobs of {', '.join(changed)} changed since this host "
            "prepared the version; verifying it again"
        )


def digest_mismatches(storage: Storage, manifest: Manifest) -> list[str]:
    """One line per artifact whose blob (read a chunk at a time) is not the manifest's."""
    found = []
    for kind, ref in sorted(manifest.artifacts.items()):
        digest = hashlib.sha256()
        try:
            for chunk in storage.read_chunks(ref.uri):
                digest.update(chunk)
        except NotFoundError:
            found.append(f"{_label(manifest)}: {kind} blob {ref.uri} is gone")
            continue
        if digest.hexdigest() != ref.sha256:
            found.append(
                f"{_label(manifest)}: {kind} blob {ref.uri} has sha256 {digest.hexdigest()}, "
                f"the manifest says {ref.sha256}; the version is refused"
            )
    return found


def _label(manifest: Manifest) -> str:
    return f"{manifest.tenant}/{manifest.surface} {manifest.manifest_version}"
