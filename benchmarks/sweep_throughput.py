"""Sweep throughput: 1 worker versus 2, and the overhead per run through Dask.

    .venv/bin/python benchmarks/sweep_throughput.py [--runs 16] [--target 1.0] [--tiny 200]

1. Calibrates a run of the baseline scenario (Mesa agents, 200 members) to
   take about ``--target`` seconds by choosing its number of days.
2. Runs ``--runs`` such runs as a sweep with 1 worker (inline) and with 2
   worker processes (spawn, worker start-up included) and reports runs/s and
   the speed-up (target: >= 1.8).
3. Starts a dask LocalCluster (1 worker, 1 thread), warms it up, then runs
   ``--tiny`` one-day runs through it (``--dask ADDRESS``) and inline; the
   difference per run is the overhead of Dask (scheduling, serialisation,
   transfer), without the cluster's start-up, which is reported apart.

Results go to stdout as Markdown; copy them into benchmarks/SWEEP_RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.experiments.sweep import load_sweep, run_sweep  # noqa: E402


def sweep(steps: int, runs: int, size: int = 200, engine: str = "agents", seed: int = 1):
    return load_sweep({"name": "bench", "scenario": "baseline", "seed": seed, "replicates": runs, "steps": steps,
                       "engine": engine, "parameters": {"population.size": size}}, source="benchmark")


def timed(sw, **kw) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = run_sweep(sw, Path(d) / "out", **kw)
        wall = time.perf_counter() - t0
        assert res.failed == 0 and res.ran == sw.n_runs
    return wall


def calibrate(target: float) -> tuple[int, float]:
    import sim

    sim.run("baseline", steps=2, set={"population.size": 200}, engine="agents")  # imports, warm-up
    steps = 20
    t = sim.run("baseline", steps=steps, set={"population.size": 200}, engine="agents").wall_time
    steps = max(1, int(round(steps * target / max(t, 1e-6))))
    t = sim.run("baseline", steps=steps, set={"population.size": 200}, engine="agents").wall_time
    return steps, t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--target", type=float, default=1.0, help="seconds per run")
    ap.add_argument("--tiny", type=int, default=200, help="one-day runs for the Dask overhead")
    a = ap.parse_args()
    steps, per_run = calibrate(a.target)
    sw = sweep(steps, a.runs)
    t1 = timed(sw, workers=1)
    t2 = timed(sw, workers=2)
    print(f"## 1 versus 2 workers ({platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()})\n")
    print(f"{a.runs} runs of baseline, 200 members, {steps} days, agents engine (one run ~ {per_run:.2f} s)\n")
    print("| workers | wall time (s) | runs/s | speed-up |\n|---|---|---|---|")
    print(f"| 1 (inline) | {t1:.2f} | {a.runs / t1:.2f} | 1.00 |")
    print(f"| 2 (spawn pool, start-up included) | {t2:.2f} | {a.runs / t2:.2f} | {t1 / t2:.2f} |\n")

    from distributed import Client, LocalCluster

    tiny = sweep(1, a.tiny, size=50)
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    start = time.perf_counter() - t0
    try:
        timed(sweep(1, 4, size=50, seed=2), dask=cluster.scheduler_address)  # worker imports sim, warms up
        td = timed(tiny, dask=cluster.scheduler_address)
    finally:
        cluster.close()
    timed(sweep(1, 4, size=50, seed=2), workers=1)
    ti = timed(tiny, workers=1)
    print(f"## Dask overhead per run ({a.tiny} one-day runs of 50 members, 1 worker, 1 thread)\n")
    print("| path | wall time (s) | ms per run |\n|---|---|---|")
    print(f"| inline | {ti:.2f} | {1000 * ti / a.tiny:.1f} |")
    print(f"| dask (running LocalCluster, --dask ADDRESS) | {td:.2f} | {1000 * td / a.tiny:.1f} |")
    print(f"\nDask overhead: {1000 * (td - ti) / a.tiny:.1f} ms per run; "
          f"starting the LocalCluster: {start:.1f} s (paid once per sweep with --dask local).")


if __name__ == "__main__":
    main()
