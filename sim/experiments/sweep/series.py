"""Time series (``timeseries: true``): each run's rows carry its id and swept parameters, and the
dataset in ``DIR/timeseries/`` holds each recorded run once."""

# Deferred imports (inside the functions that need them):
# - pyarrow: only a sweep with time series needs it; the sweep package loads without it.

from __future__ import annotations

from pathlib import Path

from sim.experiments.sweep.files import _write_parquet_atomic


def _with_run_columns(ts, task: dict):
    """A run's time series with its id, swept parameters, replicate and seed in front (one dataset)."""
    ts = ts.copy()
    front = {"run_id": task["run_id"], **(task.get("params") or {}), "replicate": task["replicate"],
             "seed": task["seed"]}
    for k, (name, v) in enumerate(front.items()):
        ts.insert(k, name, v)
    return ts


def _tidy_timeseries(folder: Path, recorded: set) -> None:
    """Each recorded run once in the time-series dataset: a run whose series was written but whose row was
    not recorded (the sweep was killed in between) ran again on the resume and wrote its series again;
    the later copies, and series of runs not recorded, are dropped (reading only the run_id column)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not folder.is_dir():
        return
    seen: set = set()
    for f in sorted(folder.glob("*.parquet"), key=lambda f: (f.stat().st_mtime_ns, f.name)):
        ids = pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist()
        uniq = set(ids)
        keep = uniq & recorded - seen
        if keep != uniq:
            if keep:
                t = pq.read_table(f)
                t = t.filter(pc.is_in(t.column("run_id"), value_set=pa.array(sorted(keep), t.schema.field("run_id").type)))
                _write_parquet_atomic(t.to_pandas(), f)
            else:
                f.unlink()
        seen |= keep
