"""Prepared versions on disk: what a version's files are named and how a serving process maps them.

A version's model is one prepared file (`<tenant>.<surface>.<model key>.v<format>.prep`); its
plain answers, written after it by the same loader child, are a second one (`... .plain`), so
a version serves as soon as its model is mapped and its plain queries become lookups at a later
poll (`with_plain`), with the same answers either way (recsys_algo.serving.precomputed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import logging
from pathlib import Path

import msgspec

import recsys_algo
from recsys_algo.contracts.errors import ArtifactError, RecsysError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.serving.model_file import (
    FORMAT_VERSION,
    model_from_arrays,
    plain_from_arrays,
    read_prepared,
)
from recsys_algo.serving.precomputed import PLAIN_K
from recsys_algo.serving.recommender import BlendParams
from recsys_service.loaded_scope import LoadedScope
from recsys_service.reverify import changed_blobs
from recsys_service.scope_sources import ScopeSource, StorageSource

log = logging.getLogger(__name__)

PREPARED_SUFFIX = f".v{FORMAT_VERSION}.prep"
PLAIN_SUFFIX = f".v{FORMAT_VERSION}.plain"  # the plain answers of the model beside it
# Modules whose code decides what a prepared file holds (read as files: not imported here).
_MODEL_CODE = (
    "recsys_algo.kinds.kind",
    "recsys_algo.kinds.implicit.artifact",
    "recsys_algo.loading.model",
    "recsys_algo.loading.tables",
    "recsys_algo.serving.implicit_index",
    "recsys_algo.serving.indexes",
    "recsys_algo.serving.model_file",
    "recsys_algo.serving.precomputed",
    "recsys_algo.serving.ranking",
    "recsys_algo.serving.recommender",
)


def _code_fingerprint() -> str:
    """The code that turns artifacts into served arrays and answers: a file built by other
    code (an upgrade, even one that kept FORMAT_VERSION) is another model."""
    digest = hashlib.sha256(recsys_algo.__version__.encode())
    for name in _MODEL_CODE:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


CODE_FINGERPRINT = _code_fingerprint()


def model_key(source: ScopeSource, manifest: Manifest) -> str:
    """What a version's served arrays are a function of. Artifacts are content-addressed, so
    their digests stand for their bytes; the lineage parameters carry the implicit fit and the
    blend (defaults are the code's, in the fingerprint); DB-only mode serves other kinds than
    the object store from one manifest."""
    content = [
        FORMAT_VERSION,
        CODE_FINGERPRINT,
        PLAIN_K,
        source.spec()["kind"],
        sorted((kind, ref.sha256) for kind, ref in manifest.artifacts.items()),
        manifest.lineage.parameters,
    ]
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()[:32]


def prepared_name(tenant: str, surface: str, key: str) -> str:
    """Names are validated ([a-z0-9_-]), so '.' separates the parts unambiguously."""
    return f"{tenant}.{surface}.{key}{PREPARED_SUFFIX}"


def loaded_from_prepared(
    path: Path, key: str, manifest: Manifest, token: str, now: dt.datetime, source: ScopeSource
) -> LoadedScope:
    """The version `manifest` (verified by the caller) served from the file of its model key,
    if its blobs are still those it was built from (reverify: a stat each); with its plain
    answers if their file is there, else `pending` on it."""
    prepared = read_prepared(path)
    meta = prepared.meta
    if meta.get("model_key") != key:
        raise ArtifactError(f"{path}: holds model {meta.get('model_key')!r}, not {key!r}")
    if isinstance(source, StorageSource):
        changed_blobs(source.storage, manifest, meta.get("blobs") or {})
    later = plain_path(path)
    loaded = LoadedScope(
        manifest=manifest,
        token=token,
        loaded_at=now,
        model=model_from_arrays(meta["model"], prepared.arrays),
        blend=BlendParams(**meta["blend"]),
        pending=str(later),
    )
    return with_plain(loaded, later) or loaded


def plain_path(prepared: Path) -> Path:
    """The file of the plain answers of the model in `prepared`."""
    return prepared.with_name(prepared.name.removesuffix(PREPARED_SUFFIX) + PLAIN_SUFFIX)


def with_plain(loaded: LoadedScope, path: Path) -> LoadedScope | None:
    """`loaded` with the plain answers mapped from `path` (written by the loader child after
    the model); None while there is no such file. A file that is unreadable, or holds another
    model's answers, is removed, and the version answers plain queries live (the same answers)."""
    key = path.name.split(".")[2]  # names are validated: '.' separates their parts
    try:
        prepared = read_prepared(path)
        if prepared.meta.get("model_key") != key:
            raise ArtifactError(f"{path}: holds the answers of {prepared.meta.get('model_key')!r}")
        plain = plain_from_arrays(prepared.meta["plain"], prepared.arrays)
    except FileNotFoundError:
        return None
    except (RecsysError, ValueError, KeyError, TypeError) as exc:
        # An OSError (no memory to map, too many files) is not the file's fault: it is raised.
        log.warning("%s: plain queries of this version are answered live: %s", path, exc)
        path.unlink(missing_ok=True)
        return dataclasses.replace(loaded, pending=None)
    model = dataclasses.replace(loaded.model, plain=plain)
    return dataclasses.replace(loaded, model=model, pending=None)
