"""Loader children started ahead: a spare child imports what a build needs, then waits.

A loader child spent ~0.8 s of its ~2.5 s of CPU per version importing pyarrow, polars and the
kinds (docs/benchmarks.md); with the cores saturated by requests that was seconds of wall time
between a publish and its swap. `Children` keeps one spare child per serving process, started
right after the previous one was used: its imports happen off the path of the next version,
which is written to its stdin when it comes. Each version still gets a fresh process (its
memory is gone when it exits, a crash or a kill takes nothing else with it); the spare costs an
idle process holding those imports (RECSYS_LOADER_SPARE=false: none, every child starts cold).

A spare is used only if it is alive and was started with the command a child would be started
with now; otherwise it is stopped and a child started. A spare whose parent dies sees its stdin
close and exits.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _stop(child: subprocess.Popen[bytes]) -> None:
    """A spare holds nothing but imports: kill it and reap it."""
    with contextlib.suppress(ProcessLookupError):
        child.kill()
    child.communicate()


class Children:
    """Runs one request per child process, from a warm spare when there is one."""

    def __init__(self, command: Callable[[], list[str]], spare: bool = True) -> None:
        self.command = command  # called each time: tests (and upgrades) may change the python
        self.keep_spare = spare
        self._spare: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def spare_pid(self) -> int | None:
        """The waiting spare's process id, if one is waiting."""
        spare = self._spare
        return spare.pid if spare is not None and spare.poll() is None else None

    def run(self, request: bytes, timeout: float) -> Finished:
        """Hand `request` to a child and wait for it to exit; subprocess.TimeoutExpired (the
        child killed) after `timeout` seconds."""
        child = self._take()
        try:
            stdout, stderr = child.communicate(request, timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise
        finally:
            self.replenish()
        return Finished(child.returncode, stdout, stderr)

    def replenish(self) -> None:
        """Start a spare if there is none (its imports run now, off the next version's path)."""
        if not self.keep_spare:
            return
        with self._lock:
            dead = (
                self._spare if self._spare is not None and self._spare.poll() is not None else None
            )
            if self._spare is None or dead is not None:
                self._spare = _start(self.command())
        if dead is not None:
            _stop(dead)  # reaped, its pipes closed

    def close(self) -> None:
        """Stop the spare (at shutdown); a later run starts a child cold."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            _stop(spare)

    def _take(self) -> subprocess.Popen[bytes]:
        command = self.command()
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            if spare.poll() is None and spare.args == command:
                return spare
            _stop(spare)
        return _start(command)
