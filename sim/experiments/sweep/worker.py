"""One run, or a chunk of runs, in a worker process (or inline): what the pools and Dask call."""

# Deferred imports (inside the functions that need them):
# - sim.experiments.stats, sim.core.threads, sim.runner, pandas: they load numba, the kernels, pandas and
#   pyarrow; a worker loads them once when it starts (_worker_init) or with its first run, and the
#   sweep package (loaded by `mutualaid sweep` and its errors) loads without them.

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from sim.core.scenarios import load_scenario
from sim.core.schema import Scenario
from sim.engines import make_model, resolve_engine
from sim.experiments.sweep.files import SWEEP_FILE, _write_parquet_atomic
from sim.experiments.sweep.identity import code_id
from sim.experiments.sweep.series import _with_run_columns


#: Fault injection for the tests (``MUTUALAID_FAULT=crash:<run_id>``: that run ends its worker process,
#: as the out-of-memory killer would). Read in the worker.
FAULT_ENV = "MUTUALAID_FAULT"


def _task_scenario(task: dict, ctx: Mapping, cache: dict):
    """The validated scenario of a task: its own ``scenario`` data, or the chunk's base scenario with the
    task's ``over`` (validated once per point in a chunk; replicates differ only by their seed)."""
    if task.get("scenario") is not None:
        return Scenario.model_validate(task["scenario"])
    p = task["point"]
    if p not in cache:
        cache.clear()  # tasks come point by point: keep one
        cache[p] = load_scenario(ctx["base"], task["over"], via="sweep")
    return cache[p].model_copy(update={"seed": int(task["seed"])})


def _run_one(task: dict, ctx: Mapping, cache: dict) -> dict:
    import traceback

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task["run_id"], "point": task["point"], "replicate": task["replicate"],
                           "seed": task["seed"], "error": None, "code": code_id()}
    want = task.get("code") or ctx.get("code")
    if want and want != code_id():
        return {"row": row, "timeseries": None,
                "infra": f"worker {os.uname().nodename}:{os.getpid()} runs code {code_id()}, the sweep {want}"}
    if os.environ.get(FAULT_ENV) == f"crash:{task['run_id']}":
        os._exit(137)
    ts = None
    engine = task.get("engine") or ctx.get("engine")
    timeseries = task.get("timeseries", ctx.get("timeseries"))
    try:
        from sim.experiments.stats import run_stats, run_stats_rows

        sc = _task_scenario(task, ctx, cache)
        engine = resolve_engine(sc, engine) if task.get("engine") is None else engine
        model = make_model(sc, engine)
        for _ in range(sc.steps):
            model.step()
        rows = getattr(model, "rows", None)
        if timeseries or rows is None:  # the table is needed (or the Mesa engine's collector)
            ts = model.metrics_frame()
            row.update(run_stats(ts))
            ts = ts if timeseries else None
        else:  # the statistics straight from the rows: no DataFrame per run
            row.update(run_stats_rows(rows))
    except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
        row["error"] = f"{type(e).__name__}: {e}".replace("\n", " ")[:2000]
        if os.environ.get("MUTUALAID_DEBUG"):
            traceback.print_exc()
    row["engine"] = engine
    row["wall_time_s"] = time.perf_counter() - t0
    row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return {"row": row, "timeseries": ts}


def run_chunk(chunk: dict, cache: Optional[dict] = None) -> list[dict]:
    """Run a chunk of tasks one after another in this worker; never raises (see :func:`run_task`).

    With ``ctx["ts_dir"]`` (time series kept) and that folder visible here (the same machine or a shared
    file system: its sweep.json is there), the worker writes the chunk's time series itself, one file per
    chunk, each row carrying run_id and the swept parameters; otherwise they go back to the sweep.
    """
    from sim.core import threads

    threads.for_worker()  # results do not depend on it
    ctx = chunk.get("ctx") or {}
    cache = {} if cache is None else cache
    out = []
    for task in chunk["tasks"]:
        res = _run_one(task, ctx, cache)
        if res["timeseries"] is not None and task.get("params") is not None:
            res["timeseries"] = _with_run_columns(res["timeseries"], task)
        out.append(res)
    ts_dir = ctx.get("ts_dir")
    frames = [r["timeseries"] for r in out if r["timeseries"] is not None]
    if frames and ts_dir and (Path(ts_dir).parent / SWEEP_FILE).is_file():
        import pandas as pd

        first = out[0]["row"]["run_id"]
        _write_parquet_atomic(pd.concat(frames, ignore_index=True),
                              Path(ts_dir) / f"ts-{first:08d}-{secrets.token_hex(4)}.parquet")
        for r in out:
            if r["timeseries"] is not None:
                r["timeseries"] = None
                r["ts_written"] = True
    return out


def run_task(task: dict) -> dict:
    """Run one task; never raises: a model failure comes back as ``error`` (a result). A worker on other
    code returns ``infra`` instead: not a result, the run stays to do. Runs in a worker process."""
    return run_chunk({"ctx": None, "tasks": [task]})[0]


def _watch_parent(ppid: int) -> None:  # pragma: no cover - runs in workers
    """Exit this worker when the sweep process that started it is gone (SIGKILL leaves orphans otherwise)."""
    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != ppid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker_init(ppid: int) -> None:  # pragma: no cover - runs in workers
    _watch_parent(ppid)
    import sim.runner  # noqa: F401  - pay the imports once per worker, not per run
