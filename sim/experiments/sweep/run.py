"""Run (or resume) a sweep into its folder: the folder checked and locked, the runs dispatched and
recorded, adaptive replication's rounds, the consolidated results and the manifest."""

# Deferred imports (inside the functions that need them):
# - sim.output: it loads pandas and pyarrow; the sweep package loads without them, and a sweep's start
#   needs them only once its folder is checked.

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from sim.limits import cap, check_count
from sim.progress import progress_for
from sim.experiments.sweep import dispatch as _dispatch
from sim.experiments.sweep.adaptive import _replicate_until, pd_float
from sim.experiments.sweep.files import SWEEP_FILE
from sim.experiments.sweep.lock import _lock_folder
from sim.experiments.sweep.points import Sweep
from sim.experiments.sweep.store import (_jsonable, _Recorder, _remove_if_empty, _undo_start, check_folder, consolidate,
                                         read_parts)


class SweepProgress:
    """``runs 40/120  33%  failed 1  2.50 runs/s  ETA 32s`` on a terminal (see :mod:`sim.progress`)."""

    def __init__(self, quiet: bool = False, stream=None):
        self.p = progress_for("runs", quiet, stream)
        self.failed = 0
        self.new = 0  # runs finished by this invocation (the rate counts only these)
        self.t0 = time.perf_counter()
        plain = self.p.line

        def line(done: int, total: int) -> str:
            head, _, eta = plain(done, total).rpartition("  ")
            rate = self.new / max(time.perf_counter() - self.t0, 1e-9)
            return f"{head}  failed {self.failed}  {rate:.2f} runs/s  {eta}"

        self.p.line = line

    def __call__(self, done: int, total: int) -> None:
        self.p(done, total)

    def close(self) -> None:
        self.p.close()

    def __enter__(self) -> "SweepProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class SweepResult:
    out: Path
    runs: Any
    total: int
    skipped: int
    ran: int
    failed: int
    wall_time: float
    backend: str
    infra: list = field(default_factory=list)  # runs left undone by the infrastructure (their reasons)
    adaptive: Optional[dict] = None  # adaptive replication: points that reached the width, hit the cap, ...


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, workers: int | None = None, dask: str | None = None,
              progress: Optional[Callable[[int, int], None]] = None,
              argv: Optional[list[str]] = None, notice: Optional[Callable[[str], None]] = None) -> SweepResult:
    """Run (or resume) a sweep into ``out``; returns the consolidated runs.

    ``out`` must be new, empty or a sweep's folder (:func:`sim.output.check_out_dir`). ``workers`` defaults
    to, and is capped at, the machine's cores; ``notice(text)`` is told about a capped count or a stale lock
    taken over. A start that fails before any run is recorded (no scheduler, Ctrl-C) leaves the folder as it
    found it: no lock, no sweep.json, and no folder it created.
    """
    from sim.output import StorageError, check_out_dir, is_storage_error, storage_error

    say = notice or (lambda text: None)
    out = Path(out)
    check_out_dir(out, option="--out" if argv is not None else "out", kind="sweep")
    workers, why = cap("--workers" if argv is not None else "workers",
                       check_count("workers", workers, "sweep"))
    if why:
        say(why)
    created = not out.exists()
    try:
        lock = _lock_folder(out, say)
        fresh = not (out / SWEEP_FILE).exists()
        try:
            return _run_sweep(sweep, out, workers, dask, progress, argv)
        except BaseException:
            if fresh:
                _undo_start(out)
            raise
        finally:
            lock.release()
            if created:
                _remove_if_empty(out)
    except OSError as e:
        if is_storage_error(e) and not isinstance(e, StorageError):
            raise storage_error(e, f"the runs saved in {out} before it are kept (runs since the last save "
                                   "run again); make room and rerun the same command to finish") from None
        raise


def _run_sweep(sweep: Sweep, out: Path, workers: int, dask, progress, argv) -> SweepResult:
    from sim.output import StagedFiles, base_manifest

    check_folder(sweep, out)
    t0 = time.perf_counter()
    tasks = sweep.tasks()
    done_df = read_parts(out)
    finished = set() if done_df is None else set(int(x) for x in done_df["run_id"])
    todo = [t for t in tasks if t["run_id"] not in finished]
    count = {"total": len(tasks), "done": len(tasks) - len(todo), "ran": 0, "skipped": len(tasks) - len(todo)}
    rec = _Recorder(out, sweep.points)
    extra = {"ts_dir": str((out / "timeseries").resolve())} if sweep.timeseries else {}
    if sweep.timeseries:
        (out / "timeseries").mkdir(parents=True, exist_ok=True)

    def pack(batch: list[dict]) -> dict:
        return sweep.pack(batch, **extra)
    failed_before = 0 if done_df is None else int(done_df["error"].notna().sum())
    failed = 0
    infra: list[str] = []
    metric = sweep.until_ci["metric"] if sweep.until_ci else None
    values: dict[int, float] = {}  # run_id -> the adaptive metric (NaN for a failed run)
    if metric and done_df is not None and metric in done_df:
        v = np.where(done_df["error"].isna(), pd_float(done_df[metric]), np.nan)
        values = dict(zip(done_df["run_id"].astype(int).tolist(), v.tolist()))
    if progress is not None:
        progress(count["done"], count["total"])
    if dask:
        backend = f"dask {dask}"
    elif workers == 1:
        backend = "inline (1 worker)"
    else:
        backend = f"process pool ({workers} workers, spawn)"

    pools: dict = {}  # the process pool, kept between rounds of adaptive replication

    def dispatch(batch: list[dict]) -> None:
        nonlocal failed
        if not batch:
            return
        it = (_dispatch._iter_dask(batch, dask, workers, pack=pack) if dask
              else _dispatch._iter_inline(batch, pack=pack) if workers == 1
              else _dispatch._iter_pool(batch, workers, keep=pools, pack=pack))
        try:
            for res in it:
                if res.get("infra"):
                    infra.append(res["infra"])
                    continue
                rec.add(res)
                row = res["row"]
                count["done"] += 1
                count["ran"] += 1
                if metric:
                    values[int(row["run_id"])] = math.nan if row.get("error") else float(row.get(metric, math.nan))
                if row.get("error"):
                    failed += 1
                    if isinstance(progress, SweepProgress):
                        progress.failed = failed_before + failed
                if isinstance(progress, SweepProgress):
                    progress.new += 1
                if progress is not None:
                    progress(count["done"], count["total"])
        finally:
            try:
                rec.flush()  # on Ctrl-C too: what finished is kept
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()

    try:
        dispatch(todo)
        adaptive = None
        if sweep.until_ci is not None and not infra:
            adaptive = _replicate_until(sweep, values, finished, rec, dispatch, count, infra, progress)
    finally:
        if "pool" in pools:
            pools.pop("pool").shutdown(wait=True, cancel_futures=True)
    runs = consolidate(out, sweep)
    wall = time.perf_counter() - t0
    manifest = base_manifest(
        "sweep", argv, wall, sweep_source=sweep.source, name=sweep.name, fingerprint=sweep.fingerprint(),
        backend=backend, runs=count["total"], skipped=count["skipped"], ran=count["ran"],
        failed=int(runs["error"].notna().sum()) if runs is not None else 0,
        parameters=sweep.parameters, sampling=sweep.sampling, points=len(sweep.points),
        replicates=sweep.replicates, seed=sweep.seed, common_seeds=sweep.common_seeds,
        sweep=_jsonable(sweep.spec()), adaptive=adaptive,
        files=["runs.parquet", "timings.parquet", SWEEP_FILE, "manifest.json"]
        + (["timeseries/"] if sweep.timeseries else []),
    )
    with StagedFiles(out) as files:
        files.write_json("manifest.json", manifest)
    return SweepResult(out=out, runs=runs, total=count["total"], skipped=count["skipped"], ran=count["ran"],
                       failed=manifest["failed"], wall_time=wall, backend=backend, infra=infra, adaptive=adaptive)
