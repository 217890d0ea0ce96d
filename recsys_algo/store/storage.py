"""One storage interface over a root URL; `file://` here, other schemes register themselves."""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import importlib
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from recsys_algo.contracts.errors import (
    ConcurrentPublishError,
    ConfigError,
)
from recsys_algo.store.file_links import checked_path, open_regular

TMP_MARKER = ".tmp-"
CHUNK_BYTES = 1 << 20
# Only names this module makes are temporaries: a key such as "batch.tmp-1.jsonl" is data.
_TMP_NAME_RE = re.compile(re.escape(TMP_MARKER) + r"[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class ObjectStat:
    """What a poller needs to notice a change without reading the object."""

    key: str
    size: int
    token: str  # ETag on object stores; content digest on files


class AlreadyExists(Exception):
    """write_new found the key taken (immutable objects are never overwritten)."""


def is_hidden(name: str) -> bool:
    """Names list() leaves out: our temporaries and dot-files (e.g. FileStorage's locks)."""
    base = name.rsplit("/", 1)[-1]
    return bool(_TMP_NAME_RE.search(base)) or base.startswith(".")


def check_key(key: str) -> str:
    """Reject keys that could escape the storage root."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\x00" in key
        or "\\" in key
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise ConfigError(f"storage key {key[:120]!r} is invalid")
    return key


class Storage(ABC):
    """Keys are '/'-separated paths relative to the root URL."""

    url: str

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def read_with_token(self, key: str) -> tuple[bytes, str]:
        """Bytes and the token compare_and_swap expects, read together (no race between them)."""

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes in pieces of at most `size` (a reader's memory follows size)."""
        data = self.read_bytes(key)  # backends that can stream override this
        yield from (data[i : i + size] for i in range(0, len(data), size))

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace the object atomically: readers see the old or the new bytes, never a mix."""

    @abstractmethod
    def write_new(self, key: str, data: bytes) -> None:
        """Create the object atomically; raise AlreadyExists if the key is taken."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def stat(self, key: str) -> ObjectStat: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under prefix (a folder), sorted, temporaries excluded."""

    @abstractmethod
    def list_folders(self, prefix: str) -> builtins.list[str]:
        """Names of the folders directly under prefix, sorted (one level: a cheap listing)."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        """Replace key only if its token is still expected_token (None: must not exist).

        Returns the new token; raises ConcurrentPublishError when another writer won.
        """

    def uri_for(self, key: str) -> str:
        return f"{self.url.rstrip('/')}/{check_key(key)}"

    def sweep_temporaries(self, older_than: float, *, dry_run: bool = False) -> builtins.list[str]:
        """Remove temporaries (names this module makes) unchanged for `older_than` seconds,
        which a killed writer left; returns their keys. Nothing else is ever touched: a
        temporary is never listed, so no manifest, pointer or reader refers to one. Backends
        whose writes are single atomic requests (S3) leave none: the default finds nothing."""
        return []


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStorage(Storage):
    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise ConfigError(f"storage root {root} must be an absolute path")
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str, *, last_may_link: bool = False) -> Path:
        """LinkRefused when a part of the key below the root is a link (file_links)."""
        return checked_path(self.root, check_key(key), self.uri_for(key), last_may_link)

    def _open(self, key: str) -> BinaryIO:
        return open_regular(self._path(key), self.uri_for(key))

    def read_bytes(self, key: str) -> bytes:
        with self._open(key) as fh:
            return fh.read()

    def read_chunks(self, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self._open(key) as fh:
            while chunk := fh.read(size):
                yield chunk

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        data = self.read_bytes(key)
        return data, _digest(data)

    def _write_tmp(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}{TMP_MARKER}{uuid.uuid4().hex}")
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk or quota: leave no half-written file
            raise
        return tmp

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = self._write_tmp(path, data)
        try:
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    def write_new(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = self._write_tmp(path, data)
        try:
            os.link(tmp, path)  # atomic create-exclusive with complete content
        except FileExistsError:
            raise AlreadyExists(self.uri_for(key)) from None
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stat(self, key: str) -> ObjectStat:
        path = self._path(key, last_may_link=True)
        if path.is_symlink():
            # Listed, so a poller sees it and a run reports it by name; its token is the link's
            # own text, never anything read through it.
            link = os.fsencode(path.readlink())
            return ObjectStat(key=key, size=0, token=f"link-{_digest(link)}")
        data = self.read_bytes(key)
        return ObjectStat(key=key, size=len(data), token=_digest(data))

    def list(self, prefix: str) -> list[str]:
        """A link to a file is listed (reading it raises LinkRefused, so a caller can report
        it by name); a linked folder is not entered."""
        base = self._path(prefix.rstrip("/"))
        keys = []
        for folder, _, names in os.walk(base):  # links are not followed
            for name in names:
                path = Path(folder) / name
                if not is_hidden(name) and (path.is_symlink() or path.is_file()):
                    keys.append(path.relative_to(self.root).as_posix())
        return sorted(keys)

    def list_folders(self, prefix: str) -> builtins.list[str]:
        base = self._path(prefix.rstrip("/"))
        with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(base) as it:
            # A linked folder is not one of ours (file_links): never listed, never entered.
            return sorted(
                e.name for e in it if e.is_dir(follow_symlinks=False) and not is_hidden(e.name)
            )
        return []

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sweep_temporaries(self, older_than: float, *, dry_run: bool = False) -> builtins.list[str]:
        cutoff = time.time() - older_than
        swept = []
        for folder, _, names in os.walk(self.root):  # links are not followed
            for path in (Path(folder) / n for n in names if _TMP_NAME_RE.search(n)):
                with contextlib.suppress(FileNotFoundError):  # renamed into place meanwhile
                    if path.lstat().st_mtime < cutoff:
                        if not dry_run:
                            path.unlink()
                        swept.append(path.relative_to(self.root).as_posix())
        return sorted(swept)

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(f".{path.name}.lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        path = self._path(key)
        with self._locked(path):
            current = _digest(path.read_bytes()) if path.is_file() else None
            if current != expected_token:
                raise ConcurrentPublishError(
                    f"{self.uri_for(key)} changed while publishing "
                    f"(expected {expected_token or 'no object'}, found {current or 'no object'}); "
                    "another publisher won: rerun to publish on top of it"
                )
            self.write_bytes(key, data)
        return _digest(data)


StorageFactory = Callable[[str], Storage]
_SCHEMES: dict[str, StorageFactory] = {}
# Modules that register a scheme when imported; loaded on first use so file:// users never
# import an object-store SDK.
_SCHEME_MODULES = {"s3": "recsys_algo.store.s3"}


def register_scheme(scheme: str, factory: StorageFactory) -> None:
    _SCHEMES[scheme] = factory


def _file_storage(url: str) -> Storage:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ConfigError(f"storage URL {url!r} is invalid: file URLs need an absolute path")
    return FileStorage(Path(unquote(parsed.path)))


register_scheme("file", _file_storage)


def open_storage(url: str) -> Storage:
    """Open the storage at url (e.g. file:///srv/recsys, s3://bucket/prefix)."""
    scheme = urlparse(url).scheme
    if scheme not in _SCHEMES and scheme in _SCHEME_MODULES:
        importlib.import_module(_SCHEME_MODULES[scheme])
    factory = _SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in sorted({*_SCHEMES, *_SCHEME_MODULES}))
        raise ConfigError(f"storage URL {url!r} has unsupported scheme; use one of: {known}")
    return factory(url)
