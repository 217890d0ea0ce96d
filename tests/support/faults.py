"""A storage that fails on demand: injected faults at chosen operations and keys."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.store.storage import ObjectStat, Storage

_T = TypeVar("_T")
MUTATING_OPS = ("write_bytes", "write_new", "delete", "compare_and_swap")
STORAGE_OPS = ("read_bytes", "read_with_token", "exists", "stat", "list", *MUTATING_OPS)


class InjectedFault(Exception):
    """Raised by FaultyStorage's default fault (tests catch it to tell it from real errors)."""


@dataclass
class FaultyStorage(Storage):
    """Delegates to `inner` and runs `fault` at the nth (1-based) call of one of `ops`.

    `when="before"` faults instead of the call; `when="after"` lets the call complete first
    (the effect is in storage, the caller never learns). `fault` may raise (storage erroring),
    sleep (slow storage) or end the process (`die_now`: a kill -9 at that exact step).
    `calls` records (op, key) of every call, so a test can count the steps of a run.
    """

    inner: Storage
    nth: int = 0  # 0: never fault (count only)
    ops: tuple[str, ...] = STORAGE_OPS
    when: str = "before"
    fault: Callable[[str, str], None] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    _seen: int = 0

    def __post_init__(self) -> None:
        self.url = self.inner.url

    def _call(self, op: str, key: str, run: Callable[[], _T]) -> _T:
        self.calls.append((op, key))
        hit = False
        if op in self.ops:
            self._seen += 1
            hit = self._seen == self.nth
        if hit and self.when == "before":
            self._fault(op, key)
        try:
            result = run()
        except Exception:
            # The call took effect (here: failed, e.g. a 404) and its answer was lost: the
            # caller sees the fault, not the call's own error.
            if hit and self.when == "after":
                self._fault(op, key)
            raise
        if hit and self.when == "after":
            self._fault(op, key)
        return result

    def _fault(self, op: str, key: str) -> None:
        if self.fault is None:
            raise InjectedFault(f"injected fault at {op} {key}")
        self.fault(op, key)

    def read_bytes(self, key: str) -> bytes:
        return self._call("read_bytes", key, lambda: self.inner.read_bytes(key))

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        return self._call("read_with_token", key, lambda: self.inner.read_with_token(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call("write_bytes", key, lambda: self.inner.write_bytes(key, data))

    def write_new(self, key: str, data: bytes) -> None:
        self._call("write_new", key, lambda: self.inner.write_new(key, data))

    def exists(self, key: str) -> bool:
        return self._call("exists", key, lambda: self.inner.exists(key))

    def stat(self, key: str) -> ObjectStat:
        return self._call("stat", key, lambda: self.inner.stat(key))

    def list(self, prefix: str) -> list[str]:
        return self._call("list", prefix, lambda: self.inner.list(prefix))

    def list_folders(self, prefix: str) -> list[str]:
        return self._call("list_folders", prefix, lambda: self.inner.list_folders(prefix))

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self.inner.delete(key))

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        return self._call(
            "compare_and_swap", key, lambda: self.inner.compare_and_swap(key, data, expected_token)
        )


def die_now(op: str, key: str) -> None:
    """A FaultyStorage fault: SIGKILL this process (no cleanup, no finally, no flush)."""
    os.kill(os.getpid(), signal.SIGKILL)


def raise_data_source_error(op: str, key: str) -> None:
    """A FaultyStorage fault: what S3Storage raises when the endpoint drops mid-run."""
    raise DataSourceError(f"{key}: cannot reach S3 endpoint http://127.0.0.1:9 (injected {op})")
