"""numba's threading layers on a large community, alone, beside a busy process and two runs at once.

    .venv/bin/python benchmarks/threading_layers.py [--members 50000] [--days 40]

Small communities run on one thread (``sim/core/threads.py``), so the layer matters from about 12,000
members on. For each layer numba can load here (``omp`` with the sleeping threads ``sim`` asks for,
``omp`` with spinning threads, ``workqueue``, ``tbb`` when the ``tbb`` package is installed), one
process runs ``baseline`` with ``--members`` members on every core for ``--days`` days (no burn-in),
and reports ms per day: alone, beside one CPU-bound process, and as one of two such processes started
together (a laptop running two analyses). Each figure is the median over the processes and two repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import json, sys, time
sys.path.insert(0, {root!r})
import numba
import sim
from sim.core.scenarios import load_scenario
from sim.engines import make_model
sim.set_threads(numba.config.NUMBA_NUM_THREADS)
m = make_model(load_scenario("baseline", {{"population.size": {n}, "population.burn_in": 0}}), "kernel")
m.step()
t0 = time.perf_counter()
for _ in range({days}):
    m.step()
print(json.dumps({{"ms": (time.perf_counter() - t0) / {days} * 1e3, "layer": numba.threading_layer()}}))
"""

LAYERS = {
    "omp, sleeping threads (the default sim sets)": {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "PASSIVE"},
    "omp, spinning threads (OpenMP's default)": {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "ACTIVE"},
    "workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
    # the tbb wheel puts libtbb in the environment's lib folder, which the loader does not search by itself
    "tbb": {"NUMBA_THREADING_LAYER": "tbb",
            "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(Path(sys.prefix) / "lib"),
                                                             os.environ.get("LD_LIBRARY_PATH")]))},
}


def _start(env: dict, n: int, days: int) -> subprocess.Popen:
    code = _RUN.format(root=str(ROOT), n=n, days=days)
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _read(p: subprocess.Popen) -> dict | None:
    out, err = p.communicate(timeout=1800)
    if p.returncode != 0:
        return None
    return json.loads(out.strip().splitlines()[-1])


def measure(env: dict, n: int, days: int, together: int = 1, busy: bool = False) -> float | None:
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        if burner:
            time.sleep(0.5)
        procs = [_start(env, n, days) for _ in range(together)]
        res = [_read(p) for p in procs]
    finally:
        if burner:
            burner.kill()
            burner.wait()
    if any(r is None for r in res):
        return None
    return statistics.median(r["ms"] for r in res)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=40)
    args = ap.parse_args(argv)
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start; baseline, {args.members:,} members, "
          f"{args.days} days, ms per day (median of the processes and of two repeats)", flush=True)
    rows = []
    for name, env in LAYERS.items():
        figs = []
        for together, busy in ((1, False), (1, True), (2, False)):
            vals = [measure(env, args.members, args.days, together, busy) for _ in range(2)]
            figs.append(None if None in vals else statistics.median(vals))
        rows.append((name, figs))
        shown = ["n/a (cannot load here)" if f is None else f"{f:.1f}" for f in figs]
        print(f"  {name:<46} alone {shown[0]:>8}   beside a busy process {shown[1]:>8}   two at once {shown[2]:>8}",
              flush=True)
    print("\n| layer | alone | beside one busy process | two runs at once (each) |\n|---|---:|---:|---:|")
    for name, figs in rows:
        print("| " + name + " | " + " | ".join("n/a" if f is None else f"{f:.1f}" for f in figs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
