"""A one-line progress display on stderr, for terminals only.

>>> with Progress("day", enabled=False) as p:   # silent: not a terminal
...     for t in range(1, 4):
...         p(t, 3)

On a terminal it shows one updating line such as ``day 120/365  33%  ETA 4s``
and erases it when done, so the summary printed afterwards stays clean. When
stderr is not a terminal (pipes, files, CI logs) or ``--quiet`` is given it
writes nothing at all.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Optional


def is_terminal(stream: IO | None) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or odd streams
        return False


def format_duration(seconds: float) -> str:
    """``4s``, ``2m05s``, ``1h02m``."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress:
    """Callable ``progress(done, total)`` drawing ``"<unit> done/total  pct%  ETA t"``.

    Parameters
    ----------
    unit : word before the counter, e.g. ``"day"`` or ``"run"``.
    enabled : draw at all; default: only when ``stream`` is a terminal.
    stream : where to draw; default ``sys.stderr`` (looked up when created).
    min_interval : seconds between redraws (the last step is always drawn).
    """

    def __init__(self, unit: str, *, enabled: Optional[bool] = None, stream: IO | None = None,
                 min_interval: float = 0.1):
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.enabled = is_terminal(self.stream) if enabled is None else bool(enabled)
        self.min_interval = min_interval
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._width = 0
        self._first: Optional[tuple[float, int]] = None

    def line(self, done: int, total: int) -> str:
        """The text drawn for ``done`` of ``total``.

        The ETA uses the pace since the first report, so set-up time (model
        construction, JIT compilation) before it does not inflate the estimate.
        """
        now = time.perf_counter()
        elapsed = now - self._start
        if self._first is None:
            self._first = (now, done)
        t1, d1 = self._first
        pct = 100.0 * done / total if total else 100.0
        if done < total and done > d1:
            eta = f"ETA {format_duration((now - t1) * (total - done) / (done - d1))}"
        elif done >= total:
            eta = f"done in {format_duration(elapsed)}"
        else:
            eta = "ETA --"
        return f"{self.unit} {done}/{total}  {pct:3.0f}%  {eta}"

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < total and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        text = self.line(done, total)
        pad = " " * max(self._width - len(text), 0)
        self._width = len(text)
        try:
            self.stream.write("\r" + text + pad)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        """Erase the line (if one was drawn)."""
        if self.enabled and self._width:
            try:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self._width = 0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_for(unit: str, quiet: bool = False, stream: IO | None = None) -> Progress:
    """The CLI's progress display: on for a terminal stderr unless ``quiet``."""
    return Progress(unit, enabled=False if quiet else None, stream=stream)


def kernel_compiled() -> bool:
    """Whether numba's cache already holds the compiled stages (else the first day compiles them).

    Checks the cache index of the kernel's loop of the first stage: it is written with the rest when
    the stages are compiled, and named after the source, so an edit makes it stale.
    """
    try:
        from pathlib import Path

        from sim.core import stages

        return Path(stages.meet_all._cache._cache_file._index_path).is_file()
    except Exception:  # another numba version: say nothing rather than something wrong
        return True


def compile_notice(quiet: bool, stream: IO | None = None) -> None:
    """On a terminal, one line before a cold compile: the first run after install waits for it."""
    stream = sys.stderr if stream is None else stream
    if not quiet and is_terminal(stream) and not kernel_compiled():
        print("compiling the simulation kernel (once after install, about 30 s) ...", file=stream, flush=True)
