"""How many threads the kernel's parallel loops use.

Results never depend on it (every sum has a fixed order: ``tests/test_engines.py``), only the speed does.
A day is about a dozen parallel loops; below some size, waking the second thread for each loop costs more
than it saves. On the 2-core development machine (``benchmarks/RESULTS.md``, "Threads by community
size"), one day of ``baseline`` took 0.16 ms on one thread and 1.39 ms on two at 500 members, 2.45 and
2.76 ms at 10,000, and 4.62 and 3.88 ms at 20,000: two threads start to pay between 10,000 and 20,000
members. So, unless the user chose a number (:func:`sim.api.set_threads`, ``--threads``), a community
of ``n`` members runs on ``n // MEMBERS_PER_THREAD`` threads, at least one, at most the cores numba
found (on two cores: one thread below 12,000 members, two from there).

A worker process of a pool or cluster (a sweep's, a trial's, a fit's) runs on one thread (:func:`for_worker`):
the workers are the parallelism.

numba's thread count belongs to the calling thread, so each engine applies it (:func:`use_for`) before it
runs a day, in whatever thread it runs (a dashboard serves each visitor from its own thread).
"""

from __future__ import annotations

import threading

import numba

#: members per kernel thread when the count is chosen by size (see the module docstring)
MEMBERS_PER_THREAD = 6_000

_chosen: int | None = None  # threads chosen by the user or a worker process; None: by size
_here = threading.local()    # a choice for the calling thread only (a dashboard session's)


def choose(n: int | None, this_thread: bool = False) -> int | None:
    """Use ``n`` threads for every community from now on (at most the cores numba found; the calling thread
    at once); None: by size. With ``this_thread``, only for communities run by the calling thread. Returns
    the number chosen."""
    global _chosen
    value = None if n is None else max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    if this_thread:
        _here.n = value
    else:
        _chosen = value
    if value is not None and numba.get_num_threads() != value:
        numba.set_num_threads(value)
    return value


def for_worker() -> int:
    """One thread from now on: the choice of a worker process of a pool or cluster (a sweep's, a trial's, a
    fit's), whose parallelism is the many workers running at once (threads would fight over the cores).
    Returns 1."""
    return choose(1)


def chosen() -> int | None:
    """The thread count chosen for the calling thread, or None when it follows the community's size."""
    here = getattr(_here, "n", None)
    return here if here is not None else _chosen


def count_for(members: int) -> int:
    """Threads for a community of ``members``: the chosen number, else one per MEMBERS_PER_THREAD."""
    n = chosen()
    if n is not None:
        return n
    return max(1, min(numba.config.NUMBA_NUM_THREADS, int(members) // MEMBERS_PER_THREAD))


def use_for(members: int) -> None:
    """Set the calling thread's numba thread count for a community of ``members`` (about 1 us)."""
    want = count_for(members)
    if numba.get_num_threads() != want:
        numba.set_num_threads(want)
