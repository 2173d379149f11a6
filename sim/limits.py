"""Bounds on what a command may ask of the machine: worker processes and kernel threads.

A number of workers or threads beyond the machine's cores buys nothing (the results never depend on
either) and costs memory: 10,000 workers asked of a 2-core machine once started 50 processes and 3 GB.
So both are capped at the cores this process may use, and the command says so in one line.

>>> cap("--workers", 1)
(1, None)
"""

from __future__ import annotations

import numbers
import os

from sim.core.scenarios import ScenarioError, short_repr


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def cap(option: str, n: int | None, most: int | None = None) -> tuple[int, str | None]:
    """``(count used, notice or None)`` for ``option`` asked as ``n`` (None: the default, the machine's
    cores). ``most`` is the cap (default :func:`cores`); the notice is one line saying what was used."""
    most = cores() if most is None else max(1, int(most))
    if n is None:
        return most, None
    if n > most:
        return most, (f"{option} {n:,}: this machine has {most} core{'s' * (most != 1)}; using {most} "
                      f"(the results are the same for any number)")
    return int(n), None


def check_count(name: str, value, via: str, low: int = 1):
    """A count argument of the Python API (``workers``, ``replicates``): an integer >= ``low`` or None, else a
    :class:`sim.core.scenarios.ScenarioError` worded as the command line words it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ScenarioError(f"{via}: {name} = {short_repr(value)}: expected an integer >= {low}")
    if value < low:
        raise ScenarioError(f"{via}: {name} = {value}: must be >= {low}")
    return int(value)
