"""Stopping the servers and processes tests start, by process id."""

from __future__ import annotations

import signal
import subprocess


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM a server the tests or benchmarks started, then SIGKILL it after `grace` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
