"""Giving back what a step freed before the next one runs: the allocators under a run keep it.

A run's steps follow one another in one process (the CLI, Dagster's in-process executor, the
bench), each over the same decoded window. What a step frees stays with the allocator that
served it: glibc keeps the free chunks of its heap (numpy, scipy and implicit arrays, Python's
larger objects; 80-150 MB at 1M events, issue 18) and pyarrow's mimalloc pool its free
segments (15-60 MB), so the next step starts on them. Handing them back at each step's end
changes no result, only what the process holds (docs/benchmarks.md, fourth round).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pyarrow as pa

P = ParamSpec("P")
R = TypeVar("R")


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Return the free memory pyarrow's pool and glibc's heap hold to the system (~15 ms
    when that is 200 MB)."""
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)


def releases_freed_memory(step: Callable[P, R]) -> Callable[P, R]:
    """A step that gives back what it freed when it ends, failed or not."""

    @functools.wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return step(*args, **kwargs)
        finally:
            release_freed_memory()

    return run
