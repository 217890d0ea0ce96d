"""ProcessLoader: each new version verified and built in a child process, its file mapped.

`ProcessLoader` (the service's default; RECSYS_LOADER=thread uses serving_state.ThreadLoader)
runs `python -m recsys_service.loader_child` for a changed pointer: the child reads and verifies
the manifest and every artifact, builds the indexes and writes them as one prepared file
(recsys_algo.serving.model_file) into a private directory; the serving process maps that file.
Decoding, checks and index building never hold a serving process's GIL, their transient memory
is the child's and is gone when it exits, and every worker of the host maps the same pages. A
lock per scope makes one worker build and the others map its file. The child reports as soon as
the model's file is written, and the version serves; its plain answers follow in a second file
that each serving process maps at a later poll (`completed`, prepared_versions.with_plain).

Files are named by what the arrays depend on (`model_key`: the artifacts' digests, the
manifest's lineage parameters, the kind of source), not by the manifest: the serving process
verifies the pointer's manifest itself (one HMAC) and maps the file of its model key when one
exists, so a rollback, a re-publish of the same artifacts or a restart needs no child at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
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

from recsys_algo.contracts.errors import ERROR_CLASSES, ConfigError, RecsysError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_service.loaded_scope import LoadedScope
from recsys_service.loader_spare import Children, Finished
from recsys_service.prepared_versions import (
    loaded_from_prepared,
    model_key,
    plain_path,
    prepared_name,
    with_plain,
)
from recsys_service.scope_sources import ScopeSource
from recsys_service.serving_state import LoadDeferred

log = logging.getLogger(__name__)

# The child's module, run with `python -m` (not imported here: it imports this module).
LOADER_CHILD = "recsys_service.loader_child"
RETAIN_PREPARED = 3  # files kept per scope: what is served, and the versions before it
DEFAULT_TIMEOUT = 900.0  # seconds one child may take to verify and build a version


class LoaderFailed(RecsysError):
    """The loader child failed outside the domain errors; `reason` names what it raised."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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
        self.children = Children(
            lambda: [sys.executable, "-m", LOADER_CHILD], spare, on_finished=_plain_written
        )

    def close(self) -> None:
        """Stop the spare child and any child still writing plain answers (the shutdown)."""
        self.children.close()

    def completed(self, loaded: LoadedScope) -> LoadedScope | None:
        """`loaded` with its plain answers once their file is there (None: nothing new to
        serve). A stat per poll while they are pending; no lock: the file is renamed whole."""
        if loaded.pending is None:
            return None
        return with_plain(loaded, Path(loaded.pending))

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
                # Under the lock no other child of this scope builds; one may still write the
                # plain answers of an earlier version: a temporary of a process that is gone
                # is a dead child's (killed, or failed on a full disk), whatever its age.
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
        if done.returncode in (0, None) and "path" in result:
            return result
        if "type" in result:
            raise _failure(result)
        if done.returncode is None:  # it answered something else (its reaper logs the rest)
            raise LoaderFailed("LoaderFailed", f"the loader process answered {lines[-1][:200]!r}")
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
            plain_path(stale).unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()

    def _remove_temporaries(self, tenant: str, surface: str) -> None:
        for tmp in self.directory.glob(f".{tenant}.{surface}.*.tmp-*"):
            if not _alive(tmp.name.rsplit("-", 1)[1]):
                tmp.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    """Whether the process of a temporary's name (model_file's `.tmp-<pid>`) still runs."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # another user's: not ours to judge
    return True


def _plain_written(done: Finished) -> None:
    """How a child that answered ended: after reporting its model, a failure leaves plain
    queries live (a failure it answered with is the load's, reported by it)."""
    lines = done.stdout.decode(errors="replace").strip().splitlines() or [""]
    if done.returncode != 0 and '"path"' in lines[0]:
        tail = lines[-1]
        stderr = done.stderr.decode(errors="replace").strip()[-300:]
        log.warning(
            "loader child (exit %s) wrote no plain answers; they are answered live: %s %s",
            done.returncode, tail[:500], stderr,
        )  # fmt: skip


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
