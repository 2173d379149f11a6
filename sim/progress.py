"""Progress of long work on stderr: an updating line on a terminal, plain lines in a log.

>>> with Progress("day", enabled=False) as p:   # silent (--quiet)
...     for t in range(1, 4):
...         p(t, 3)

On a terminal it shows one updating line such as ``day 120/365  33%  ETA 4s``
(``burn-in day 300/1095 ...`` while the community lives its past before day
0) and erases it when done, so the summary printed afterwards stays clean.
When stderr is not a terminal (a pipe, a file, a CI log) it writes a whole
line every :data:`LOG_INTERVAL` seconds of long work, and a last one when
work that was reported ends; short work writes nothing. ``--quiet`` writes
nothing at all. A first run after install compiles the kernel first: one
line when compiling starts and one when the first result arrives (on a
terminal and in a log alike).
"""

# Deferred imports (inside the functions that need them):
# - sim.core.stages: it loads numba and the kernels (seconds); progress lines are printed before that,
#   and kernel_compiled asks numba's cache only when a run is about to start.

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import IO, Optional

#: seconds between lines of progress in a log (stderr not a terminal)
LOG_INTERVAL = 5.0
#: whether progress (and a first compile) is written to a log at all; the test suite turns it off, since
#: there the lines would depend on the machine's speed and numba's cache (tests of these lines turn it on)
LOG = True
#: what a line of progress in a log looks like (for tools that read the log apart from other messages)
LOG_LINE = r"^(compil(ing|ed) the simulation kernel|burn-in \w+ \d|(day|run|runs) \d)"


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
    enabled : None (default): an updating line on a terminal, lines every ``log_interval`` seconds
        elsewhere; True: the updating line; False: nothing.
    stream : where to draw; default ``sys.stderr`` (looked up when created).
    min_interval : seconds between redraws on a terminal (the last step is always drawn).
    log_interval : seconds between lines in a log (default :data:`LOG_INTERVAL`).
    compiling : say when the kernel's first compile ends (at the first report; see :func:`compile_notice`).
    """

    def __init__(self, unit: str, *, enabled: Optional[bool] = None, stream: IO | None = None,
                 min_interval: float = 0.1, log_interval: float | None = None, compiling: bool = False):
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        terminal = is_terminal(self.stream)
        self.enabled = terminal if enabled is None else bool(enabled)
        self.log = enabled is None and not terminal and LOG  # whole lines, now and then
        self.min_interval = min_interval
        self.log_interval = LOG_INTERVAL if log_interval is None else log_interval
        self.compiling = compiling and (self.enabled or self.log)
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._last_log = self._start
        self._logged = False
        self._width = 0
        self._first: Optional[tuple[float, int]] = None
        self._phase: Optional[str] = None  # "burn-in" while the community lives its past
        self._last: Optional[tuple] = None  # (line function, done, total) of the latest report
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: Optional[threading.Thread] = None
        if self.compiling:
            self._start_beat()

    def _start_beat(self) -> None:
        """In a log, a line every few seconds even while one long step (a compile, a long run) is under way:
        started at the first report (or at once while compiling), stopped by :meth:`close`."""
        if self.log and self._beat is None and not self._stop.is_set():
            self._beat = threading.Thread(target=self._heartbeat, name="progress-log", daemon=True)
            self._beat.start()

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

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                self.enabled = self.log = False

    def _heartbeat(self) -> None:
        """In a log: repeat the latest line (or say what is under way) when nothing was written for
        ``log_interval`` seconds, until :meth:`close`."""
        while not self._stop.wait(max(self.log_interval, 0.5)):
            if not self.log:
                return
            now = time.perf_counter()
            if now - self._last_log < self.log_interval:
                continue
            so_far = format_duration(now - self._start)
            if self._last is not None:
                line, done, total = self._last
                text = f"{line(done, total)}  (working: {so_far} so far)"
            elif self.compiling:
                text = f"compiling the simulation kernel ... ({so_far} so far)"
            else:
                text = f"{self.unit} 0  (starting: {so_far} so far)"
            self._last_log = now
            self._logged = True
            self._write(text + "\n")

    def _compiled(self) -> None:
        if self.compiling:
            self.compiling = False
            self._clear()
            self._write(f"compiled the simulation kernel in {format_duration(time.perf_counter() - self._start)}"
                        "\n")

    def __call__(self, done: int, total: int) -> None:
        if self._phase is not None:  # the phase before has ended: the count starts afresh
            self._phase, self._first = None, None
        if done > 0 or total == 0:
            self._compiled()
        self._show(self.line, done, total)

    def phase(self, name: str, done: int, total: int) -> None:
        """Progress of a phase before the counted work, such as ``"burn-in"`` (its own count and ETA)."""
        if self._phase != name:
            self._phase, self._first = name, None
        if done > 0:
            self._compiled()
        unit = self.unit
        self._show(lambda d, t: f"{name} {unit} {self._line_of(d, t)}", done, total)

    def _line_of(self, done: int, total: int) -> str:
        return self.line(done, total).split(" ", 1)[1]

    def _show(self, line, done: int, total: int) -> None:
        now = time.perf_counter()
        self._last = (line, done, total)
        if self._beat is None:
            self._start_beat()
        if self.enabled:
            if done < total and now - self._last_draw < self.min_interval:
                return
            self._last_draw = now
            text = line(done, total)
            pad = " " * max(self._width - len(text), 0)
            self._width = len(text)
            self._write("\r" + text + pad)
        elif self.log:
            if done >= total and self._logged and self._phase is None:  # the end of work that was reported
                self._write(line(done, total) + "\n")
                self._last_log = now
            elif now - self._last_log >= self.log_interval:
                self._write(line(done, total) + "\n")
                self._last_log = now
                self._logged = True
            elif self._first is None:
                line(done, total)  # keep the pace's starting point

    def _clear(self) -> None:
        if self.enabled and self._width:
            self._write("\r" + " " * self._width + "\r")
        self._width = 0

    def close(self) -> None:
        """Erase the line (if one was drawn); stop the lines of a log."""
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=2)
        self._clear()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_for(unit: str, quiet: bool = False, stream: IO | None = None, compiling: bool = False) -> Progress:
    """The CLI's progress: a line on a terminal, lines now and then in a log, nothing with ``quiet``;
    ``compiling`` (from :func:`compile_notice`) says when the first compile ends."""
    return Progress(unit, enabled=False if quiet else None, stream=stream, compiling=compiling)


def kernel_compiled() -> bool:
    """Whether numba's cache already holds the compiled stages (else the first day compiles them).

    Checks the cache index of the kernel's loop of the first stage: it is written with the rest when
    the stages are compiled, and named after the source, so an edit makes it stale.
    """
    try:
        from sim.core import stages

        return Path(stages.meet_all._cache._cache_file._index_path).is_file()
    except Exception:  # another numba version: say nothing rather than something wrong
        return True


def compile_notice(quiet: bool, stream: IO | None = None) -> bool:
    """One line before a cold compile (the first run after install waits for it), on a terminal and in a log
    alike; returns whether it was said (pass it as ``progress_for(..., compiling=...)`` to say when it ends)."""
    stream = sys.stderr if stream is None else stream
    if quiet or (not LOG and not is_terminal(stream)) or kernel_compiled():
        return False
    try:
        print("compiling the simulation kernel (once after install, about a minute) ...", file=stream, flush=True)
    except (OSError, ValueError):
        return False
    return True
