"""A one-entry memo keyed by content: what a range of days computes again from the same input."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LastResult(Generic[K, V]):
    """The last value computed and its key. A key must name everything the value depends on
    (a digest of the content, the parameters): a different key computes afresh, and the held
    value is dropped first, so two are never held at once."""

    def __init__(self) -> None:
        self._held: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V], key_of: Callable[[V], K] | None = None) -> V:
        """The held value for key, or compute's, then held. key_of gives the key of what was
        computed, when that can differ from the one asked (a file rewritten in between)."""
        with self._lock:
            if key in self._held:
                return self._held[key]
            self._held.clear()
        value = compute()  # outside the lock: an error keeps nothing
        with self._lock:
            self._held.clear()
            self._held[key if key_of is None else key_of(value)] = value
        return value

    def forget(self) -> None:
        with self._lock:
            self._held.clear()
