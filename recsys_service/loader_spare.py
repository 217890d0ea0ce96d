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

A child's first line on stdout is its answer: `run` returns with it, and a child may go on
working after it (the loader child writes a version's plain answers after reporting its model);
a thread then reads the rest, reaps it, kills it at the same timeout and hands how it ended to
`on_finished`.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """How a child answered: its exit status (None: it reported and works on), its stdout up to
    and with its first line (all of it once it ended), its stderr once it ended."""

    returncode: int | None
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

    def __init__(
        self,
        command: Callable[[], list[str]],
        spare: bool = True,
        on_finished: Callable[[Finished], None] | None = None,
    ) -> None:
        self.command = command  # called each time: tests (and upgrades) may change the python
        self.keep_spare = spare
        self.on_finished = on_finished  # how a child that worked on after answering ended
        self._spare: subprocess.Popen[bytes] | None = None
        self._working: set[subprocess.Popen[bytes]] = set()  # answered, still working
        self._lock = threading.Lock()

    @property
    def spare_pid(self) -> int | None:
        """The waiting spare's process id, if one is waiting."""
        spare = self._spare
        return spare.pid if spare is not None and spare.poll() is None else None

    def run(self, request: bytes, timeout: float) -> Finished:
        """Hand `request` to a child and wait for its first line or its exit;
        subprocess.TimeoutExpired (the child killed) after `timeout` seconds."""
        child = self._take()
        deadline = time.monotonic() + timeout
        try:
            stderr: list[bytes] = []
            drain = threading.Thread(target=_read_all, args=(child.stderr, stderr), daemon=True)
            drain.start()
            with contextlib.suppress(BrokenPipeError):  # it died: its exit says how
                assert child.stdin is not None
                child.stdin.write(request)
                child.stdin.close()
            got = _first_line(child, deadline)
            if got is None:
                child.kill()
                _ended(child, drain)
                raise subprocess.TimeoutExpired(child.args, timeout)
            line, newline, extra = got.partition(b"\n")
            if not newline:  # it ended without answering
                _ended(child, drain)
                return Finished(child.returncode, line, b"".join(stderr))
            with self._lock:
                self._working.add(child)
            threading.Thread(
                target=self._reap,
                args=(child, line + newline, [extra], drain, stderr, deadline),
                daemon=True,
            ).start()
            return Finished(None, line + newline, b"")
        finally:
            self.replenish()

    def _reap(
        self,
        child: subprocess.Popen[bytes],
        line: bytes,
        rest: list[bytes],
        drain: threading.Thread,
        stderr: list[bytes],
        deadline: float,
    ) -> None:
        try:  # what it prints after its answer is a line: the pipe holds it until then
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        _read_all(child.stdout, rest)
        _ended(child, drain)
        with self._lock:
            self._working.discard(child)
        if self.on_finished is not None:
            self.on_finished(Finished(child.returncode, line + b"".join(rest), b"".join(stderr)))

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
        """Stop the spare and the children still working after their answer (at shutdown); a
        later run starts a child cold."""
        with self._lock:
            spare, self._spare = self._spare, None
            working = list(self._working)
        if spare is not None:
            _stop(spare)
        for child in working:
            with contextlib.suppress(ProcessLookupError):
                child.kill()  # its reaping thread waits for it

    def _take(self) -> subprocess.Popen[bytes]:
        command = self.command()
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            if spare.poll() is None and spare.args == command:
                return spare
            _stop(spare)
        return _start(command)


def _ended(child: subprocess.Popen[bytes], drain: threading.Thread) -> None:
    """Reap an ended (or killed) child and close its pipes once its stderr is read."""
    child.wait()
    drain.join()
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


def _read_all(stream: object, into: list[bytes]) -> None:
    """Everything left on a child's pipe, until it closes."""
    assert hasattr(stream, "fileno")
    fd = stream.fileno()
    while chunk := os.read(fd, 65536):
        into.append(chunk)


def _first_line(child: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """The child's stdout up to and with its first newline, or all of it if it closes first;
    None at the deadline. Read from the descriptor: whatever follows stays in the pipe."""
    assert child.stdout is not None
    fd = child.stdout.fileno()
    got = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return got
            got += chunk
    return got
