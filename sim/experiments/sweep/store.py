"""The sweep's folder: what it holds (sweep.json, parts, runs.parquet) and the resume from it.

Nothing is lost: the parent writes finished runs atomically in batches to
``DIR/parts/`` (every 30 s or 5,000 runs, and when the sweep stops; a kill loses
at most that much work, which the resume runs again); a rerun of the same command reads them, skips finished runs
and dispatches the rest; at the end the parts are consolidated into
``DIR/runs.parquet`` (sorted by ``run_id``) and ``DIR/timings.parquet``
(wall time per run, which is not reproducible and so kept apart). A run that
raises is recorded with its ``error`` and the sweep goes on. ``DIR/sweep.json``
holds the resolved sweep and its fingerprint; a sweep file changed in what
decides its runs is refused, while its name, description and metrics may change
and its replicates may grow (:data:`RESUME_FREE`, :func:`check_folder`; the
added replicates get ids as adaptive replication's do, below). A write that
fails on the machine's side (a full disk) stops the sweep with one line; what
was saved stays, and the same command finishes it.
"""

# Deferred imports (inside the functions that need them):
# - sim.output, pandas: they load pandas and pyarrow; the sweep package loads without them, and only
#   writing and reading the folder's tables needs them.

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from sim.experiments.sweep.errors import SweepError
from sim.experiments.sweep.files import PARTS_DIR, SWEEP_FILE, _write_parquet_atomic
from sim.experiments.sweep.grammar import stat_columns
from sim.experiments.sweep.points import RESUME_FREE
from sim.experiments.sweep.series import _tidy_timeseries, _with_run_columns

if TYPE_CHECKING:
    from sim.experiments.sweep.points import Sweep


#: a batch of finished runs is written at least this often (seconds; a kill loses at most this much
#: work, which a resume runs again) ...
FLUSH_SECONDS = 30.0

#: environment variable that sets another interval (seconds)
FLUSH_ENV = "MUTUALAID_FLUSH_SECONDS"

#: ... or when it holds this many runs ...
FLUSH_RUNS = 5000

#: ... or this many rows of time series
FLUSH_SERIES_ROWS = 500_000

#: more part files than this are merged into one
COMPACT_PARTS = 32


def _sweep_record(sweep: Sweep) -> dict:
    """What sweep.json holds: the fingerprint, what a report reads, and the resolved sweep."""
    return {"fingerprint": sweep.fingerprint(), "source": sweep.source, "parameters": sweep.parameters,
            "sampling": sweep.sampling, "metrics": sweep.metrics,
            "problem": sweep.problem() if sweep.sampling != "grid" else None,
            "n_points": len(sweep.points), "replicates": sweep.replicates,
            "id_replicates": sweep.id_replicates or sweep.replicates,
            "spec": _jsonable(sweep.spec()),
            **({"levels": sweep.levels, "design": sweep.design.tolist()} if sweep.sampling == "morris" else {})}


def check_folder(sweep: Sweep, out: Path) -> None:
    """Refuse a folder that holds a different sweep; record this one in sweep.json.

    On a resume only :data:`RESUME_FREE` keys may differ from the recorded sweep. More replicates are
    accepted (the planned runs keep their ids: :attr:`Sweep.id_replicates` is read from the folder, so
    only the added replicates run); fewer are refused. sweep.json is then rewritten with the new name,
    description, metrics and replicates (atomically), so a report reads what was asked last."""
    from sim.output import StagedFiles

    f = out / SWEEP_FILE
    if f.is_file():
        try:
            old = json.loads(f.read_text(encoding="utf-8"))
            old_spec = old["spec"]
            old_reps = int(old["replicates"])
            id_reps = int(old.get("id_replicates", old_reps))
        except (OSError, ValueError, KeyError, TypeError):
            raise SweepError(f"--out {out}: {SWEEP_FILE} is unreadable; use another folder") from None
        new_spec = _jsonable(sweep.run_spec())
        changed = sorted(k for k in set(new_spec) | set(old_spec)
                         if k not in RESUME_FREE and old_spec.get(k) != new_spec.get(k))
        if changed:
            raise SweepError(f"--out {out}: holds results of a different sweep (changed: {', '.join(changed)}); "
                             f"use another --out folder, or restore the sweep file to resume")
        if sweep.replicates < old_reps:
            raise SweepError(f"--out {out}: replicates = {sweep.replicates} is fewer than the {old_reps} this "
                             f"folder was run with; replicates can be added on a resume, not taken away; use "
                             f"another --out folder")
        sweep.id_replicates = id_reps
        record = _sweep_record(sweep)
        if _jsonable(record) != old:
            with StagedFiles(out) as files:
                files.write_json(SWEEP_FILE, record)
        return
    if out.exists() and any(out.glob("*.parquet")) or (out / PARTS_DIR).exists():
        raise SweepError(f"--out {out}: holds results but no {SWEEP_FILE}; use an empty or new folder")
    sweep.id_replicates = sweep.replicates
    with StagedFiles(out) as files:
        files.write_json(SWEEP_FILE, _sweep_record(sweep))


def _jsonable(v):
    return json.loads(json.dumps(v, default=str))


def read_parts(out: Path, files: Optional[list] = None):
    """Every finished run recorded in ``out`` (runs.parquet, timings.parquet and parts/), one row per run_id.
    With ``files`` (a list), the part files read are appended to it."""
    import pandas as pd

    frames = []
    runs, timings = out / "runs.parquet", out / "timings.parquet"
    if runs.is_file():
        df = pd.read_parquet(runs)
        if timings.is_file():
            df = df.merge(pd.read_parquet(timings), on="run_id", how="left")
        frames.append(df)
    for p in sorted((out / PARTS_DIR).glob("*.parquet")) if (out / PARTS_DIR).is_dir() else []:
        frames.append(pd.read_parquet(p))
        if files is not None:
            files.append(p)
    if not frames:
        return None
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    return df.drop_duplicates("run_id", keep="first").sort_values("run_id", kind="stable").reset_index(drop=True)


#: columns of timings.parquet (not reproducible, so not in runs.parquet)
TIMING_COLUMNS = ("wall_time_s", "worker")


def consolidate(out: Path, sweep: Sweep) -> "Any":
    """Write runs.parquet and timings.parquet from everything recorded, then remove the parts it read (and
    only those). With time series, the dataset is made to hold each finished run once. Returns runs."""
    read: list[Path] = []
    df = read_parts(out, read)
    if df is None:
        return None
    cols = ["run_id", "point", *sweep.parameters, "replicate", "seed", "engine", "code", "error", *stat_columns()]
    for c in cols:
        if c not in df:
            df[c] = np.nan
    df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
    runs = df[cols]
    timings = df[["run_id", *[c for c in TIMING_COLUMNS if c in df]]]
    _write_parquet_atomic(timings, out / "timings.parquet")
    _write_parquet_atomic(runs, out / "runs.parquet")
    for p in read:
        p.unlink(missing_ok=True)
    if (out / PARTS_DIR).is_dir():
        for p in (out / PARTS_DIR).glob(".*.tmp"):
            p.unlink(missing_ok=True)
        try:
            (out / PARTS_DIR).rmdir()
        except OSError:
            pass
    if sweep.timeseries:
        _tidy_timeseries(out / "timeseries", set(runs["run_id"].astype(int).tolist()))
    return runs


class _Recorder:
    """Collects finished runs in the parent and writes them to ``parts/`` in atomic batches: every
    :data:`FLUSH_SECONDS` or :data:`FLUSH_RUNS` runs (and when the sweep stops, Ctrl-C included). More
    than :data:`COMPACT_PARTS` part files are merged into one. Time series the workers could not write
    themselves are written here, one file per batch."""

    def __init__(self, out: Path, points: list[dict]):
        self.out = out
        self.points = points
        self.pending: list[dict] = []
        self.series: list = []
        self.series_rows = 0
        self.last = time.monotonic()
        self.batch = 0
        self.tag = f"{os.getpid()}-{secrets.token_hex(3)}"
        try:  # a shorter interval on request (checkpoints more often; the tests kill sweeps partway)
            self.every = float(os.environ.get(FLUSH_ENV, FLUSH_SECONDS))
        except ValueError:
            self.every = FLUSH_SECONDS

    def add(self, result: dict) -> None:
        if result.get("infra"):  # an infrastructure failure is not a result: the run stays to do
            return
        row = result["row"]
        params = self.points[row["point"]]
        row = {"run_id": row["run_id"], "point": row["point"], **params,
               **{k: v for k, v in row.items() if k not in ("run_id", "point")}}
        ts = result.get("timeseries")
        if ts is not None:
            if "run_id" not in ts:
                ts = _with_run_columns(ts, {**row, "params": params})
            self.series.append(ts)
            self.series_rows += len(ts)
        self.pending.append(row)
        if (len(self.pending) >= FLUSH_RUNS or self.series_rows >= FLUSH_SERIES_ROWS
                or time.monotonic() - self.last >= self.every):
            self.flush()

    def flush(self) -> None:
        import pandas as pd

        self.last = time.monotonic()
        if not self.pending:
            return
        self.batch += 1
        if self.series:  # the series first: a recorded row always has its series on disk
            _write_parquet_atomic(pd.concat(self.series, ignore_index=True),
                                  self.out / "timeseries" / f"ts-{self.tag}-{self.batch:06d}.parquet")
            self.series, self.series_rows = [], 0
        _write_parquet_atomic(pd.DataFrame(self.pending), self.out / PARTS_DIR / f"batch-{self.tag}-{self.batch:06d}.parquet")
        self.pending = []
        parts = sorted((self.out / PARTS_DIR).glob("*.parquet"))
        if len(parts) > COMPACT_PARTS:
            self._compact(parts)

    def _compact(self, parts: list[Path]) -> None:
        """Merge part files into one (written before the merged ones are removed: nothing is lost)."""
        import pandas as pd

        df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        self.batch += 1
        _write_parquet_atomic(df, self.out / PARTS_DIR / f"batch-{self.tag}-{self.batch:06d}-merged.parquet")
        for p in parts:
            p.unlink(missing_ok=True)


def _undo_start(out: Path) -> None:
    """After a failed first start: remove what the start wrote (sweep.json, empty folders) when no run was
    recorded; a run recorded is kept (a rerun resumes from it)."""
    parts = out / PARTS_DIR
    recorded = (out / "runs.parquet").exists() or (parts.is_dir() and any(parts.iterdir()))
    ts = out / "timeseries"
    if recorded or (ts.is_dir() and any(ts.iterdir())):
        return
    for name in (SWEEP_FILE, "manifest.json"):
        (out / name).unlink(missing_ok=True)
    for d in (parts, ts):
        _remove_if_empty(d)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty, or gone
        pass
