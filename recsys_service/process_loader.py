"""ProcessLoader: each new version verified and built in a child process, its file mapped.

`ProcessLoader` (the service's default; RECSYS_LOADER=thread uses serving_state.ThreadLoader)
runs `python -m recsys_service.loader_child` for a changed pointer: the child reads and verifies
the manifest and every artifact, builds the indexes and writes them as one prepared file
(recsys_algo.serving.model_file) into a private directory; the serving process maps that file.
Decoding, checks and index building never hold a serving process's GIL, their transient memory
is the child's and is gone when it exits, and every worker of the host maps the same pages. A
lock per scope makes one worker build and the others map its file.

Files are named by what the arrays depend on (`model_key`: the artifacts' digests, the
manifest's lineage parameters, the kind of source), not by the manifest: the serving process
verifies the pointer's manifest itself (one HMAC) and maps the file of its model key when one
exists, so a rollback, a re-publish of the same artifacts or a restart needs no child at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

import recsys_algo
from recsys_algo.contracts.errors import ERROR_CLASSES, ArtifactError, ConfigError, RecsysError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.serving.model_file import FORMAT_VERSION, model_from_arrays, read_prepared
from recsys_algo.serving.precomputed import PLAIN_K
from recsys_algo.serving.recommender import BlendParams
from recsys_service.loaded_scope import LoadedScope
from recsys_service.loader_spare import Children
from recsys_service.reverify import changed_blobs
from recsys_service.scope_sources import ScopeSource, StorageSource
from recsys_service.serving_state import LoadDeferred

log = logging.getLogger(__name__)

PREPARED_SUFFIX = f".v{FORMAT_VERSION}.prep"
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
# The child's module, run with `python -m` (not imported here: it imports this module).
LOADER_CHILD = "recsys_service.loader_child"
RETAIN_PREPARED = 3  # files kept per scope: what is served, and the versions before it
DEFAULT_TIMEOUT = 900.0  # seconds one child may take to verify and build a version


class LoaderFailed(RecsysError):
    """The loader child failed outside the domain errors; `reason` names what it raised."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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
    if its blobs are still those it was built from (reverify: a stat each)."""
    prepared = read_prepared(path)
    meta = prepared.meta
    if meta.get("model_key") != key:
        raise ArtifactError(f"{path}: holds model {meta.get('model_key')!r}, not {key!r}")
    if isinstance(source, StorageSource):
        changed_blobs(source.storage, manifest, meta.get("blobs") or {})
    return LoadedScope(
        manifest=manifest,
        token=token,
        loaded_at=now,
        model=model_from_arrays(meta["model"], prepared.arrays),
        blend=BlendParams(**meta["blend"]),
    )


class LoadInProgress(LoadDeferred):
    """Another serving process holds the scope's lock (it is building): try at the next poll."""


@contextlib.contextmanager
def _locked(path: Path, wait: bool) -> Iterator[None]:
    """The scope's lock. wait=False: LoadInProgress at once when another process holds it, so
    a worker that serves the scope never waits out another's build (its other scopes would
    wait with it) and maps the result at its next poll."""
    with path.open("a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LoadInProgress(f"{path.stem}: another process is loading it") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _failure(result: dict[str, Any]) -> RecsysError:
    kind, message = str(result.get("type", "")), str(result.get("message", ""))
    known = ERROR_CLASSES.get(kind)
    return known(message) if known is not None else LoaderFailed(kind or "LoaderFailed", message)


class ProcessLoader:
    """Verify and build each new version in a child process; map the file it writes."""

    concurrency = 4  # scopes loaded side by side (children; one lock per scope)

    def __init__(
        self, directory: Path, timeout: float = DEFAULT_TIMEOUT, nice: int = 0, spare: bool = False
    ) -> None:
        self.directory = directory
        self.timeout = timeout
        self.nice = nice
        # spare: one child started ahead, imports done, for the next version (loader_spare);
        # whoever asks for it calls close() at the end.
        self.children = Children(lambda: [sys.executable, "-m", LOADER_CHILD], spare)

    def close(self) -> None:
        """Stop the spare child (the service's shutdown)."""
        self.children.close()

    def load(
        self,
        source: ScopeSource,
        keys: SigningKeys,
        tenant: str,
        surface: str,
        token: str,
        now: dt.datetime,
        wait: bool = True,
    ) -> LoadedScope:
        private_directory(self.directory)
        # Started now if there is none, so the first version to build finds it warm.
        self.children.replenish()
        with _locked(self.directory / f"{tenant}.{surface}.lock", wait):
            current = source.current(keys, tenant, surface)
            if current is not None:
                loaded = self._mapped(source, *current, now)
                if loaded is not None:
                    return loaded
            try:
                result = self._prepare(source, keys, tenant, surface)
            finally:
                # Under the lock no other child of this scope runs: any temporary is a dead
                # child's (killed, or failed on a full disk), whatever its age.
                self._remove_temporaries(tenant, surface)
            # The child verified what it built (the pointer may have moved since `current`).
            manifest = msgspec.convert(result["manifest"], Manifest)
            loaded = self._mapped(source, manifest, str(result["token"]), now)
            if loaded is None:
                raise LoaderFailed("LoaderFailed", f"the loader wrote no {result['path']}")
            return loaded

    def _mapped(
        self, source: ScopeSource, manifest: Manifest, token: str, now: dt.datetime
    ) -> LoadedScope | None:
        """The version from its prepared file, or None when there is none (or it was broken:
        then it is removed, to be built again). Called under the scope lock."""
        key = model_key(source, manifest)
        path = self.directory / prepared_name(manifest.tenant, manifest.surface, key)
        try:
            loaded = loaded_from_prepared(path, key, manifest, token, now, source)
        except FileNotFoundError:
            return None
        except (RecsysError, ValueError, KeyError, TypeError) as exc:
            # What the file holds is wrong (truncated, another format): build it again. An
            # OSError (no memory to map, too many files) is not the file's fault: it is raised.
            log.warning("%s: building again: %s", path, exc)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # pruning keeps what was served last, a rollback target included
        self._prune(manifest.tenant, manifest.surface, keep=path)
        return loaded

    def _prepare(
        self, source: ScopeSource, keys: SigningKeys, tenant: str, surface: str
    ) -> dict[str, Any]:
        request = {
            "source": source.spec(),
            "keys": keys.to_spec(),
            "tenant": tenant,
            "surface": surface,
            "directory": str(self.directory),
            "nice": self.nice,
        }
        try:
            done = self.children.run(json.dumps(request).encode(), self.timeout)
        except subprocess.TimeoutExpired:
            raise LoaderFailed(
                "LoaderTimeout", f"the loader process took more than {self.timeout:.0f} s"
            ) from None
        lines = done.stdout.decode(errors="replace").strip().splitlines()
        try:
            result = json.loads(lines[-1]) if lines else {}
        except ValueError:
            result = {}
        if done.returncode == 0 and "path" in result:
            return result
        if "type" in result:
            raise _failure(result)
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        tail = done.stderr.decode(errors="replace").strip()[-300:] or "no output"
        raise LoaderFailed("LoaderDied", f"the loader process ended with {how}: {tail}")

    def _prune(self, tenant: str, surface: str, keep: Path) -> None:
        """Keep the newest prepared files of the scope; a mapped file stays valid when removed."""
        found = sorted(
            self.directory.glob(f"{tenant}.{surface}.*.prep"),
            key=lambda p: p.stat().st_mtime if p.exists() else 0.0,
            reverse=True,
        )
        for stale in [p for p in found if p != keep][RETAIN_PREPARED - 1 :]:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()

    def _remove_temporaries(self, tenant: str, surface: str) -> None:
        for tmp in self.directory.glob(f".{tenant}.{surface}.*.tmp-*"):
            tmp.unlink(missing_ok=True)


def private_directory(path: Path) -> Path:
    """Create path (0700) or accept it only if this user owns it and nobody else may enter."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()  # a symlink is refused, not followed (S_ISDIR below)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(
            f"{path}: the prepared-versions directory must be a directory (not a link) of this "
            "user with mode 0700 "
            f"(found uid {info.st_uid}, mode {info.st_mode & 0o777:o}); the service maps what it "
            "finds there as verified"
        )
    return path


def default_directory() -> Path:
    """A private per-user directory under the system temp dir."""
    base = Path(os.environ.get("TMPDIR", "/tmp"))  # noqa: S108 (mode 0700, per user)
    return base / f"recsys-prepared-{os.getuid()}"
