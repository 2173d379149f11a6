"""Per-run overhead of a sweep: 2,000 tiny runs (50 members, 10 days, no burn-in).

    .venv/bin/python benchmarks/sweep_overhead.py [--runs 2000] [--workers 1]

The wall time of the whole sweep (set-up, runs, bookkeeping, consolidation) per run. A tiny run's own
simulation is a small part of it, so this is the machinery's cost: the sweep issue's target is 10x the
throughput of the code before the change (about 13 ms a run, ~85% of it per-run pandas bookkeeping).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.experiments.sweep import load_sweep, run_sweep  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    sw = load_sweep({"name": "overhead", "scenario": "baseline", "seed": 1, "replicates": args.runs, "steps": 10,
                     "parameters": {"population.size": 50, "population.burn_in": 0}}, source="benchmark")
    with tempfile.TemporaryDirectory() as d:
        run_sweep(load_sweep({"name": "warm", "scenario": "baseline", "seed": 1, "replicates": 2, "steps": 10,
                              "parameters": {"population.size": 50, "population.burn_in": 0}}, source="warm"),
                  Path(d) / "warm", workers=1)
        t0 = time.perf_counter()
        run_sweep(sw, Path(d) / "out", workers=args.workers)
        wall = time.perf_counter() - t0
    print(f"{args.runs} tiny runs, {args.workers} worker(s): {wall:.2f} s, {wall / args.runs * 1e3:.2f} ms a run, "
          f"{args.runs / wall:.0f} runs/s")


if __name__ == "__main__":
    main()
