"""Parameter sweeps: a sweep file's points run over many seeds, on one machine or a Dask cluster.

The package's modules, one job each (a module imports only those above it in this list):

- :mod:`~sim.experiments.sweep.errors`: :class:`SweepError`, bad input in one line
- :mod:`~sim.experiments.sweep.identity`: the code's identity (:func:`code_id`)
- :mod:`~sim.experiments.sweep.designs`: the points: a grid, Latin hypercube, Saltelli or Morris design
- :mod:`~sim.experiments.sweep.seeds`: the run ids and seeds of a sweep's runs
- :mod:`~sim.experiments.sweep.points`: the resolved sweep (:class:`Sweep`) and each point's scenario
- :mod:`~sim.experiments.sweep.grammar`: the sweep file, read and validated (:func:`load_sweep`)
- :mod:`~sim.experiments.sweep.files`: the folder's file names, atomic parquet writes
- :mod:`~sim.experiments.sweep.series`: time series (``timeseries: true``)
- :mod:`~sim.experiments.sweep.worker`: one run, or a chunk of runs, in a worker
- :mod:`~sim.experiments.sweep.store`: the folder: sweep.json, parts, the resume, runs.parquet
- :mod:`~sim.experiments.sweep.lock`: one sweep at a time in a folder
- :mod:`~sim.experiments.sweep.dispatch`: runs to workers: inline, a process pool, a Dask cluster
- :mod:`~sim.experiments.sweep.adaptive`: adaptive replication (``until_ci``)
- :mod:`~sim.experiments.sweep.run`: :func:`run_sweep`, which puts them together

The names other code imports from ``sim.experiments.sweep`` are re-exported here.
"""

from __future__ import annotations

from sim.experiments.sweep.adaptive import (MIN_RUNS_ZERO_SPREAD, adaptive_summary, ci_widths,
                                            extra_replicates)
from sim.experiments.sweep.designs import MORRIS_LEVELS, SAMPLINGS, expand, morris_design
from sim.experiments.sweep.dispatch import CRASH, _iter_inline, _iter_pool, spawn_context
from sim.experiments.sweep.errors import SweepError
from sim.experiments.sweep.files import PARTS_DIR, SWEEP_FILE
from sim.experiments.sweep.grammar import (DEFAULT_METRICS, MAX_RUNS, SWEEP_KEYS, load_sweep, read_sweep_file,
                                           resolve_sweep_path, set_until_ci, stat_columns, sweep_names,
                                           until_ci_option)
from sim.experiments.sweep.identity import code_id
from sim.experiments.sweep.points import DONATION_KEYS, RESUME_FREE, Sweep, point_scenario
from sim.experiments.sweep.store import FLUSH_ENV, TIMING_COLUMNS, check_folder, consolidate, read_parts
from sim.experiments.sweep.run import SweepProgress, SweepResult, run_sweep
from sim.experiments.sweep.worker import FAULT_ENV, _worker_init, run_chunk, run_task

__all__ = [
    "CRASH", "DEFAULT_METRICS", "DONATION_KEYS", "FAULT_ENV", "FLUSH_ENV", "MAX_RUNS",
    "MIN_RUNS_ZERO_SPREAD", "MORRIS_LEVELS", "PARTS_DIR", "RESUME_FREE", "SAMPLINGS", "SWEEP_FILE",
    "SWEEP_KEYS", "TIMING_COLUMNS", "Sweep", "SweepError", "SweepProgress", "SweepResult",
    "_iter_inline", "_iter_pool", "_worker_init", "adaptive_summary", "check_folder", "ci_widths", "code_id",
    "consolidate", "expand", "extra_replicates", "load_sweep", "morris_design", "point_scenario",
    "read_parts", "read_sweep_file", "resolve_sweep_path", "run_chunk", "run_sweep", "run_task",
    "set_until_ci", "spawn_context", "stat_columns", "sweep_names", "until_ci_option",
]
