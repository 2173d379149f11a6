"""Runs to workers: inline, a spawn-context process pool, or a Dask cluster, in chunks.

Runs go to the workers in chunks (several runs a task, sized from the run times
seen); with ``timeseries: true`` the workers write each chunk's series to
``DIR/timeseries/`` themselves, every row carrying run_id and the swept parameters.
"""

# Deferred imports (inside the functions that need them):
# - distributed: Dask takes about a second to import; only a sweep on a Dask cluster needs it, not an
#   inline or process-pool one.

from __future__ import annotations

import itertools
import math
import os
import secrets
import sys
import time
from typing import Callable, Iterable, Optional

from sim.experiments.sweep.errors import SweepError
from sim.experiments.sweep.identity import code_id
from sim.experiments.sweep.worker import _worker_init, run_chunk


CRASH = ("WorkerCrashed: the run ended its worker process (killed, or out of memory); run alone, it did "
         "so again")

#: a chunk (several runs in one task) aims at about this many seconds of work in a process pool ...
CHUNK_SECONDS_POOL = 0.25

#: ... and on a Dask cluster (about 10 ms of scheduling per task)
CHUNK_SECONDS_DASK = 1.0

#: most runs in one chunk
MAX_CHUNK = 512


class _Chunker:
    """Runs per chunk, sized from the run times seen so far: one run a chunk until a run time is known,
    then about ``seconds`` of work a chunk, but at least four chunks per worker for what is left (so the
    workers finish together). Chunking changes which process runs what, never a result."""

    def __init__(self, seconds: float, workers: int):
        self.seconds, self.workers, self.mean = seconds, max(1, workers), None

    def seen(self, results: list[dict]) -> None:
        for r in results:
            t = r.get("row", {}).get("wall_time_s")
            if t is not None and math.isfinite(t):
                self.mean = t if self.mean is None else 0.8 * self.mean + 0.2 * t

    def size(self, remaining: int) -> int:
        if self.mean is None:
            return 1
        k = int(self.seconds / max(self.mean, 1e-5))
        return max(1, min(k, MAX_CHUNK, remaining // (4 * self.workers)))


def _take(todo: list, k: int) -> list:
    """Pop ``k`` tasks from the end of ``todo`` (kept in reverse order), in their order."""
    k = min(k, len(todo))
    batch = todo[len(todo) - k:][::-1]
    del todo[len(todo) - k:]
    return batch


def _plain_pack(batch: list[dict]) -> dict:
    return {"ctx": None, "tasks": batch}


def _crash_row(t: dict, why: str = CRASH) -> dict:
    return {"row": {"run_id": t["run_id"], "point": t["point"], "replicate": t["replicate"], "seed": t["seed"],
                    "engine": t.get("engine"), "error": why, "code": t.get("code") or code_id(),
                    "wall_time_s": float("nan"), "worker": None}, "timeseries": None}


if os.name == "posix":
    from multiprocessing import context as _mp_context
    from multiprocessing import popen_spawn_posix as _popen_spawn

    class _SpawnPopen(_popen_spawn.Popen):
        """Starts a spawned child with preparation data that name no main module to import, and with Ctrl-C
        ignored: the terminal sends it to the whole process group, and the parent answers it (it stops
        without waiting; a worker whose parent is gone exits, ``_watch_parent``), where each worker printed
        its own KeyboardInterrupt traceback. The child inherits the ignored signal when it is made, so the
        parent ignores Ctrl-C for those few milliseconds."""

        def _launch(self, process_obj):
            import signal
            import threading

            main = sys.modules["__main__"]
            hidden = {k: main.__dict__.pop(k) for k in ("__file__",) if k in main.__dict__}
            spec, main.__spec__ = getattr(main, "__spec__", None), None
            own = threading.current_thread() is threading.main_thread()
            before = signal.signal(signal.SIGINT, signal.SIG_IGN) if own else None
            try:
                super()._launch(process_obj)
            finally:
                if own:
                    signal.signal(signal.SIGINT, before)
                main.__dict__.update(hidden)
                main.__spec__ = spec

    class _SpawnProcess(_mp_context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj):
            return _SpawnPopen(process_obj)

    class _SpawnContext(_mp_context.SpawnContext):
        Process = _SpawnProcess


def spawn_context():
    """The process pools' start method: ``spawn`` (numba's threads and Dask do not survive ``fork``), with
    children that do not run the caller's main module again. Plain ``spawn`` re-runs a script in each
    worker; a script calling ``sim.sweep`` without ``if __name__ == "__main__":`` then started workers
    from its workers, and every run came back as a crashed worker (the review found it). The workers need
    nothing from the main module: what they run lives in ``sim``."""
    if os.name != "posix":  # pragma: no cover - the pools' children import the main module there
        import multiprocessing as mp

        return mp.get_context("spawn")
    return _SpawnContext()


def _iter_pool(tasks: list[dict], workers: int, keep: Optional[dict] = None,
               pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    """Results of ``tasks`` from a spawn-context process pool, as they finish.

    Tasks go in chunks (:class:`_Chunker`, :func:`run_chunk`), ``pack`` makes a chunk of a batch of
    tasks. With ``keep`` (a dict), a healthy pool left in ``keep["pool"]`` by an earlier call is used, and
    the pool is left there at the end instead of shut down (the caller shuts it down): rounds of adaptive
    replication pay for starting the workers once.

    At most ``2 * workers`` chunks are queued at a time. When a worker process dies (killed, out of
    memory) the pool breaks: the tasks it held are each rerun alone in a fresh one-process pool, so a
    run that kills its worker every time is found and recorded as such (:data:`CRASH`, a result of
    that run) and the others finish; then a fresh pool takes the rest.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def pool(n):
        return ProcessPoolExecutor(max_workers=n, mp_context=spawn_context(),
                                   initializer=_worker_init, initargs=(os.getpid(),))

    def alone(t):
        ex = pool(1)
        try:
            return ex.submit(run_chunk, pack([t])).result()[0]
        except BrokenProcessPool:
            return _crash_row(t)
        finally:
            ex.shutdown(wait=True, cancel_futures=True)

    sizer = _Chunker(CHUNK_SECONDS_POOL, workers)
    todo = list(reversed(tasks))  # pop() takes them in order
    while todo:
        ex = (keep.pop("pool", None) if keep is not None else None) or pool(workers)
        running: dict = {}  # future -> its tasks
        suspects: list[dict] = []
        ended = False
        try:
            while todo or running:
                while todo and not suspects and len(running) < 2 * workers:
                    batch = _take(todo, sizer.size(len(todo)))
                    try:
                        running[ex.submit(run_chunk, pack(batch))] = batch
                    except BrokenProcessPool:
                        todo.extend(reversed(batch))
                        suspects.extend(t for b in running.values() for t in b)
                        running.clear()
                        break
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    batch = running.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        suspects.extend(batch)
                        continue
                    sizer.seen(results)
                    yield from results
                if suspects:  # the pool is broken: every task still in it is a suspect
                    suspects.extend(t for b in running.values() for t in b)
                    running.clear()
                    break
            ended = not suspects
        finally:
            if ended and keep is not None:
                keep["pool"] = ex
            else:
                # stopped early (Ctrl-C): do not wait for runs in flight; orphaned workers exit on their own
                ex.shutdown(wait=ended or bool(suspects), cancel_futures=True)
        for t in sorted(suspects, key=lambda t: t["run_id"]):
            yield alone(t)


def _iter_inline(tasks: list[dict], pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    cache: dict = {}  # one sweep's points: a point's scenario is validated once for its replicates
    for t in tasks:
        yield from run_chunk(pack([t]), cache)


#: an infrastructure failure (lost worker or scheduler, cancelled future) is retried this many times
DASK_RETRIES = 2

#: seconds to wait for a first usable worker
DASK_WORKER_WAIT = 60

#: seconds without a scheduler after which the runs still in flight are given up (they stay to do)
DASK_LOST_SECONDS = 20


def _worker_identity() -> str:  # pragma: no cover - runs on the workers
    return code_id()


def _check_workers(client, address: str) -> None:
    """Refuse, with one line, workers that cannot import the project or run other code."""
    try:
        client.wait_for_workers(1, timeout=DASK_WORKER_WAIT)
    except Exception:  # noqa: BLE001 - distributed raises its own TimeoutError
        raise SweepError(f"--dask {address}: no worker joined the scheduler within {DASK_WORKER_WAIT} s") from None
    try:
        ids = client.run(_worker_identity)
    except Exception as e:  # noqa: BLE001 - e.g. ModuleNotFoundError on a worker without the project
        raise SweepError(f"--dask {address}: a worker cannot run the project ({type(e).__name__}: {e}); "
                         "install it there (pip install -e .) and restart the workers") from None
    other = {w: i for w, i in ids.items() if i != code_id()}
    if other:
        w, i = next(iter(other.items()))
        raise SweepError(f"--dask {address}: worker {w} runs code {i}, this sweep {code_id()} "
                         f"({len(other)} of {len(ids)} workers differ); update them and restart")


def _iter_dask(tasks: list[dict], address: str, workers: int,
               pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    """Results from a Dask cluster, chunk by chunk (:class:`_Chunker`), at most four chunks per worker
    thread submitted at a time. Task keys are unique to this invocation (two sweeps on one cluster never
    share a key). A chunk that fails for the infrastructure (lost worker or scheduler, a cancelled
    future) is resubmitted up to :data:`DASK_RETRIES` times, then its runs come back as ``infra`` (not
    results: they stay to do). A chunk whose worker was killed again and again (``KilledWorker``) is split
    into single runs; a single run that does it is recorded as such (:data:`CRASH`)."""
    import logging
    from collections import deque

    from distributed import Client, LocalCluster, wait

    # distributed logs each lost connection with a traceback; the sweep reports what it means in one line
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm",
                                             "distributed.core", "tornado")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    cluster = client = None
    token = secrets.token_hex(6)
    seq = itertools.count()
    try:
        if address == "local":
            # Ctrl-C is for this process, which closes the cluster: each worker ignores it once started
            # (sim.experiments.dask_worker), else each printed its own KeyboardInterrupt traceback, and their
            # logs are silenced; here a Ctrl-C during the start is held back (blocked) and raised as soon as
            # the cluster exists, so that it is closed below
            import signal
            import threading

            main = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
            before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if main else None
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                       preload=["sim.experiments.dask_worker"])
                client = Client(cluster)
            finally:
                if main:
                    signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a Ctrl-C held back is raised here
        else:
            try:
                client = Client(address, timeout=20)
            except (OSError, TimeoutError, ValueError) as e:
                raise SweepError(f"--dask {address}: cannot reach the scheduler ({e})") from None
        _check_workers(client, address)
        try:
            threads = sum(client.nthreads().values()) or workers
        except Exception:  # noqa: BLE001 - an old scheduler: count what we were told
            threads = workers
        sizer = _Chunker(CHUNK_SECONDS_DASK, threads)
        window = 4 * threads

        def submit(batch, attempt):
            key = f"mutualaid-{token}-{next(seq)}-run-{batch[0]['run_id']}-try-{attempt}"
            return client.submit(run_chunk, pack(batch), key=key, pure=False, retries=0)

        def infra(t, why):
            return {"row": {"run_id": t["run_id"]}, "timeseries": None, "infra": why.replace("\n", " ")[:300]}

        todo = deque(tasks)
        live: dict = {}  # future -> (its tasks, attempt)
        lost_since = None
        while todo or live:
            connected = client.status == "running"
            while todo and connected and len(live) < window:
                k = sizer.size(len(todo))
                batch = [todo.popleft() for _ in range(min(k, len(todo)))]
                live[submit(batch, 0)] = (batch, 0)
            try:
                done = wait(list(live), timeout=1.0, return_when="FIRST_COMPLETED").done
            except Exception:  # noqa: BLE001 - distributed's TimeoutError: nothing finished this second
                done = set()
            connected = client.status == "running"
            if not connected:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > DASK_LOST_SECONDS:  # give up: the runs stay to do
                    why = f"the scheduler at {address} was lost (no connection for {DASK_LOST_SECONDS} s)"
                    for batch, _ in list(live.values()):
                        for t in batch:
                            yield infra(t, why)
                    for t in todo:
                        yield infra(t, why)
                    return
            else:
                lost_since = None
            for fut in done:
                batch, attempt = live.pop(fut)
                try:
                    results = fut.result()
                except Exception as e:  # noqa: BLE001 - run_chunk never raises: this is the infrastructure
                    fut.release()
                    if type(e).__name__ == "KilledWorker":  # the scheduler saw it kill worker after worker
                        if len(batch) > 1:  # find the run that does it: each alone
                            for t in batch:
                                live[submit([t], 0)] = ([t], 0)
                        else:
                            yield _crash_row(batch[0], CRASH.replace("run alone, it did so again",
                                                                     "the scheduler saw it kill several"))
                    elif attempt < DASK_RETRIES and client.status == "running":
                        live[submit(batch, attempt + 1)] = (batch, attempt + 1)
                    else:
                        for t in batch:
                            yield infra(t, f"{type(e).__name__}: {e}")
                    continue
                fut.release()
                sizer.seen(results)
                yield from results
    finally:
        try:
            if client is not None:
                client.close(timeout=10)
        except Exception:  # noqa: BLE001 - the scheduler may be gone
            pass
        if cluster is not None:
            try:
                cluster.close()
            except Exception:  # noqa: BLE001 - closing a cluster half started when Ctrl-C came: nothing to keep
                pass
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)
