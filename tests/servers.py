"""Helpers for the tests that start a server process (the dashboard under Solara)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a server started in its own process group: SIGTERM, then SIGKILL if it does not end in time."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)


def wait_until_serving(proc: subprocess.Popen, url: str, log_path, timeout: float, what: str = "the server") -> None:
    """Wait until ``url`` answers 200; fail with the end of the server's log if the process ends first, or
    once ``timeout`` seconds have passed."""
    import time
    import urllib.request
    from pathlib import Path

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: "
                               f"{Path(log_path).read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")
        time.sleep(0.5)


def child_count(pid: int) -> int:
    """How many processes ``pid`` has started that are still alive (read from /proc)."""
    from pathlib import Path

    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            n += int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
        except (OSError, IndexError, ValueError):
            pass
    return n
