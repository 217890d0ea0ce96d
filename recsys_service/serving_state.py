"""Serving state: verified manifests and their indexes per scope, swapped atomically by a poller."""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from recsys_algo.contracts.errors import ArtifactError, ConfigError, RecsysError
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.storage import Storage
from recsys_service.loaded_scope import LoadedScope, Scope
from recsys_service.reverify import digest_mismatches
from recsys_service.scope_sources import ScopeSource, StorageSource

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
NO_SIGNING_KEYS = (
    "no signing keys configured: set RECSYS_SIGNING_KEYS or RECSYS_SIGNING_KEYS_FILE; "
    "nothing can be verified, nothing is served"
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    tenant: str
    surface: str
    loaded: LoadedScope | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


class LoadObserver(Protocol):
    """Told of every load outcome (metrics); called from the refreshing thread."""

    def loaded(self, tenant: str, surface: str, loaded: LoadedScope) -> None: ...

    def load_failed(self, tenant: str, surface: str, exc: BaseException) -> None: ...


def failure_reason(exc: BaseException) -> str:
    """What failed, for /readyz and metrics labels: the exception class, or for a failure in
    the loader child the class it raised there (`reason`)."""
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, str) else type(exc).__name__


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{failure_reason(exc)}: {text[0] if text else 'no details'}"[:500]


class LoadDeferred(RecsysError):
    """A loader cannot load the scope now, and nothing is wrong: the next poll tries again."""


class Loader(Protocol):
    """Turns a scope's changed pointer into a LoadedScope: ThreadLoader, or ProcessLoader
    (recsys_service.process_loader)."""

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
        """wait=False: raise LoadDeferred rather than wait for another process's load of the
        scope (it serves a version meanwhile)."""
        ...

    def completed(self, loaded: LoadedScope) -> LoadedScope | None:
        """The served version with what it was `pending` on, once that is there; None: nothing
        new (ProcessLoader: its plain answers, written after its model)."""
        ...

    def close(self) -> None:
        """Release what the loader keeps between loads (the service's shutdown)."""
        ...


class ThreadLoader:
    """Verify, decode and build in the calling (polling) thread of this process."""

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
        return source.load(keys, tenant, surface, now)

    def completed(self, loaded: LoadedScope) -> LoadedScope | None:
        return None  # a version is loaded whole, and answers plain queries live

    def close(self) -> None:
        pass


def release_unused_memory() -> None:
    """Hand freed pages back to the OS after a swap: the old version's arrays and the load's
    temporaries would otherwise stay in the allocators' free lists, and RSS would only grow."""
    pyarrow = sys.modules.get("pyarrow")  # only if this process ever decoded a table
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only; musl and macOS have none)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


class ServingState:
    """Holds one immutable mapping of scope entries; refresh() builds a new one and rebinds it."""

    def __init__(
        self,
        storage: Storage,
        keys: SigningKeys | None,
        scopes: tuple[Scope, ...] | None = None,
        clock: Clock = utc_now,
        source: ScopeSource | None = None,
        observer: LoadObserver | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.storage = storage
        self.source = source or StorageSource(storage)
        self.loader = loader or ThreadLoader()
        self.observer = observer
        self.keys = keys
        self.explicit_scopes = scopes
        self.clock = clock
        self.discovery_error: str | None = None
        self._entries: Mapping[Scope, ScopeEntry] = {}
        self._refresh_lock = threading.Lock()  # one poll at a time (poller and tests)

    @property
    def entries(self) -> Mapping[Scope, ScopeEntry]:
        """A consistent snapshot: callers read it once and use only what they got."""
        return self._entries

    def get(self, tenant: str, surface: str) -> ScopeEntry | None:
        return self._entries.get((tenant, surface))

    def refresh(self) -> None:
        """One poll: reload scopes whose pointer changed; on failure keep the last good load."""
        with self._refresh_lock:
            previous = self._entries
            scopes = self._scopes(previous)
            fresh = dict(zip(scopes, self._refresh_all(previous, scopes), strict=True))
            self._entries = fresh  # one reference rebind: readers see the old or the new map
            swapped = any(
                entry.loaded is not (old.loaded if (old := previous.get(scope)) else None)
                for scope, entry in fresh.items()
            )
            del previous, fresh
            if swapped:
                release_unused_memory()

    def _refresh_all(
        self, previous: Mapping[Scope, ScopeEntry], scopes: list[Scope]
    ) -> list[ScopeEntry]:
        """_refresh_one for each scope, `loader.concurrency` at a time (ProcessLoader: 4; a
        thread loader builds in this process's memory: 1), so start-up with many scopes, or
        one slow version, does not hold every other scope in one queue."""
        workers = min(getattr(self.loader, "concurrency", 1), len(scopes))
        if workers <= 1:
            return [self._refresh_one(previous.get(s), *s) for s in scopes]
        with ThreadPoolExecutor(workers, thread_name_prefix="recsys-load") as pool:
            return list(pool.map(lambda s: self._refresh_one(previous.get(s), *s), scopes))

    def reverify(self) -> list[str]:
        """The periodic full check (RECSYS_REVERIFY_INTERVAL): every served version's blobs are
        read again and compared with its manifest. A version that fails is refused as a fresh
        host refuses it: nothing of it is served, and each poll tries the pointer again (the
        loader refuses the changed blobs). Returns what was found. The signals database has
        no blobs: its rows were verified at load."""
        if not isinstance(self.source, StorageSource):
            return []
        served = {s: e.loaded for s, e in self._entries.items() if e.loaded is not None}
        found = {
            s: bad
            for s, v in served.items()
            if (bad := digest_mismatches(self.storage, v.manifest))
        }
        if not found:
            return []
        with self._refresh_lock:
            entries = dict(self._entries)
            for scope, bad in found.items():
                entry = entries.get(scope)
                if entry is None or entry.loaded is not served[scope]:
                    continue  # swapped meanwhile: the new version was verified when loaded
                exc = ArtifactError(bad[0])
                log.error("%s/%s: refusing %s: %s", *scope, _serving(entry), "; ".join(bad))
                if self.observer is not None:
                    self.observer.load_failed(*scope, exc)
                entries[scope] = replace(
                    entry, loaded=None, last_error=one_line(exc), last_error_at=self.clock()
                )
            self._entries = entries
        release_unused_memory()
        return [line for bad in found.values() for line in bad]

    def _scopes(self, previous: Mapping[Scope, ScopeEntry]) -> list[Scope]:
        if self.explicit_scopes is not None:
            return list(self.explicit_scopes)
        try:
            found = self.source.scopes()
            self.discovery_error = None
        except Exception as exc:
            self.discovery_error = one_line(exc)
            log.warning("scope discovery failed: %s", self.discovery_error)
            found = []
        # A scope once seen stays listed: a vanished pointer is reported, not silently dropped.
        return sorted(set(previous) | set(found))

    def _refresh_one(self, entry: ScopeEntry | None, tenant: str, surface: str) -> ScopeEntry:
        entry = entry or ScopeEntry(tenant=tenant, surface=surface)
        now = self.clock()
        try:
            if self.keys is None:
                raise ConfigError(NO_SIGNING_KEYS)
            token = self.source.token(tenant, surface)
            if entry.loaded is not None and token == entry.loaded.token:
                # Unchanged (or rolled back to what we serve): nothing to load, nothing wrong;
                # the same version, completed, once what it was pending on is there.
                completed = self.loader.completed(entry.loaded)
                if completed is not None:
                    return ScopeEntry(tenant=tenant, surface=surface, loaded=completed)
                return replace(entry, last_error=None, last_error_at=None)
            # Nothing served yet: wait for a load another worker started (it is what this one
            # would do). Serving a version: never wait, map the new one at the next poll.
            wait = entry.loaded is None
            loaded = self.loader.load(self.source, self.keys, tenant, surface, token, now, wait)
        except LoadDeferred:
            return entry  # another process is building this version: map it next poll
        except Exception as exc:
            if self.observer is not None:
                self.observer.load_failed(tenant, surface, exc)
            reason = one_line(exc)
            if reason != entry.last_error:
                log.warning("%s/%s: keeping %s: %s", tenant, surface, _serving(entry), reason)
            return replace(entry, last_error=reason, last_error_at=now)
        log.info("%s/%s: serving %s", tenant, surface, loaded.manifest.manifest_version)
        if self.observer is not None:
            self.observer.loaded(tenant, surface, loaded)
        return ScopeEntry(tenant=tenant, surface=surface, loaded=loaded)


def _serving(entry: ScopeEntry) -> str:
    return entry.loaded.manifest.manifest_version if entry.loaded else "nothing loaded"
