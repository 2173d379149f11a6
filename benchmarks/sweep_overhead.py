"""A sweep's overhead, as ratios measured in one run of this script.

    .venv/bin/python benchmarks/sweep_overhead.py [--before REF] [--runs 2000] [--repeats 2]
                                                  [--no-contention] [--no-before] [--quick]

Three figures, each against a target of the sweep issue (benchmarks/SWEEP_RESULTS.md):

1. **Tiny runs** (baseline, 50 members, 10 days, no burn-in), 2,000 of them on one worker: the wall time of
   the whole sweep (set-up, runs, bookkeeping, consolidation) per run, for this checkout and for the code
   at ``REF`` (default: the commit before the issue's work), checked out into a temporary git worktree.
   The two alternate (before, now, before, now, ...) so that a busy spell of the machine falls on both;
   the ratio of the medians is the figure (target: 10x). Then the same pair again beside one CPU-bound
   process (a busy laptop), unless ``--no-contention``.
2. **Two workers against one** on runs of at least 0.2 s (baseline, 500 members, 365 days): the same runs
   inline and on a pool of 2 processes, start-up included (target: 1.7x).
3. **Set-up of a 100,000-point Latin sweep** (``load_sweep`` and the task list): seconds and the peak
   resident memory of a fresh process, against the code at ``REF`` (targets: 10 s and 500 MB).

Each measurement runs in a fresh Python process. The first use of ``REF``'s code compiles its numba
kernels (about a minute, not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the last commit before the sweep issue's work (identity, chunks, numpy bookkeeping)
BEFORE_REF = "63122ba~1"

TINY = {"name": "overhead", "scenario": "baseline", "seed": 1, "steps": 10,
        "parameters": {"population.size": 50, "population.burn_in": 0}}
LONG = {"name": "long", "scenario": "baseline", "seed": 2, "steps": 365, "parameters": {"population.size": 500}}
LATIN = {"name": "latin", "scenario": "baseline", "seed": 3, "replicates": 1, "sampling": "latin",
         "samples": 100_000, "parameters": {"checkins.prob": {"low": 0.0, "high": 1.0},
                                             "sponsorship.capacity": {"low": 1, "high": 4},
                                             "isolation.duration": {"low": 0, "high": 120},
                                             "population.size": 60}}

_SWEEP = """
import json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
os.chdir({root!r})
from sim.experiments.sweep import load_sweep, run_sweep
spec, workers, warm = json.loads({spec!r}), {workers}, {warm}
with tempfile.TemporaryDirectory() as d:
    if warm:  # compile or load the kernels, start nothing timed
        run_sweep(load_sweep({{**spec, "name": "warm", "replicates": 2}}, source="warm"), Path(d) / "w", workers=1)
    sw = load_sweep(spec, source="benchmark")
    t0 = time.perf_counter()
    run_sweep(sw, Path(d) / "out", workers=workers)
    wall = time.perf_counter() - t0
print(json.dumps({{"wall": wall}}))
"""

_ONE_RUN = """
import json, sys, time
sys.path.insert(0, {root!r})
from sim.core import threads
threads.for_worker()
from sim.api import run
spec = json.loads({spec!r})
kw = dict(steps=spec["steps"], set={{k: v for k, v in spec["parameters"].items()}})
run(spec["scenario"], seed=0, **kw)
t0 = time.perf_counter()
for s in range(3):
    run(spec["scenario"], seed=s + 1, **kw)
print(json.dumps({{"wall": (time.perf_counter() - t0) / 3}}))
"""

_SETUP = """
import json, os, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
os.chdir({root!r})
import yaml
from sim.experiments.sweep import load_sweep
import sim.api  # the imports a sweep pays anyway, before the clock starts
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with tempfile.TemporaryDirectory() as d:
    p = Path(d) / "latin.yaml"
    p.write_text(yaml.safe_dump(json.loads({spec!r}), sort_keys=False))
    t0 = time.perf_counter()
    sw = load_sweep(p)
    tasks = sw.tasks()
    wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"wall": wall, "peak_mb": peak, "import_mb": base, "tasks": len(tasks)}}))
"""


def _child(code: str, timeout: float = 3600) -> dict:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise SystemExit(f"sweep_overhead: a measurement failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def tiny(root: Path, runs: int, workers: int = 1, warm: bool = True) -> float:
    """Seconds per run of ``runs`` tiny runs with the code at ``root``."""
    spec = {**TINY, "replicates": runs}
    return _child(_SWEEP.format(root=str(root), spec=json.dumps(spec), workers=workers, warm=warm))["wall"] / runs


class Busy:
    """One CPU-bound process beside the measurement (a busy laptop's other program)."""

    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def worktree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), ref],
                   check=True, capture_output=True)
    return where


def pairs(before: Path | None, runs: int, repeats: int) -> tuple[list[float], list[float]]:
    b, n = [], []
    for _ in range(repeats):
        if before is not None:
            b.append(tiny(before, runs))
        n.append(tiny(ROOT, runs))
    return b, n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default=BEFORE_REF, help=f"the code to compare with (default {BEFORE_REF})")
    p.add_argument("--runs", type=int, default=2000, help="tiny runs per measurement (default 2000)")
    p.add_argument("--repeats", type=int, default=2, help="measurements of each code, alternating (default 2)")
    p.add_argument("--no-before", action="store_true", help="measure this checkout only")
    p.add_argument("--no-contention", action="store_true", help="skip the measurements beside a busy process")
    p.add_argument("--quick", action="store_true", help="500 tiny runs, one repeat, a 20,000-point set-up")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.repeats = 500, 1
        LATIN["samples"] = 20_000
    print(f"sweep overhead, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        before = None
        if not args.no_before:
            before = worktree(args.before, Path(tmp) / "before")
            print(f"before: {args.before} in a temporary worktree (compiling its kernels once, untimed)", flush=True)
            tiny(before, 2, warm=True)
        tiny(ROOT, 2, warm=True)
        try:
            rows = []
            b, n = pairs(before, args.runs, args.repeats)
            rows.append(("idle", b, n))
            if not args.no_contention:
                with Busy():
                    b2, n2 = pairs(before, args.runs, args.repeats)
                rows.append(("beside 1 busy process", b2, n2))
            two = [tiny(ROOT, args.runs, workers=2) for _ in range(args.repeats)]
            print(f"\n1. {args.runs} tiny runs (50 members, 10 days), one worker: ms a run (median of "
                  f"{args.repeats}, alternating)")
            print(f"   {'machine':<24}{'before':>10}{'now':>10}{'ratio':>9}   target 10x")
            for label, bb, nn in rows:
                mb = statistics.median(bb) * 1e3 if bb else float("nan")
                mn = statistics.median(nn) * 1e3
                print(f"   {label:<24}{mb:>10.2f}{mn:>10.2f}{mb / mn:>8.1f}x")
            m2 = statistics.median(two) * 1e3
            print(f"   now on 2 workers (idle): {m2:.2f} ms a run, {statistics.median(n) * 1e3 / m2:.2f}x one worker")

            one = _child(_ONE_RUN.format(root=str(ROOT), spec=json.dumps(LONG)))["wall"]
            k = max(40, int(40.0 / one) + 1)  # about 40 s of runs on one worker
            spec = {**LONG, "replicates": k}
            w1 = _child(_SWEEP.format(root=str(ROOT), spec=json.dumps(spec), workers=1, warm=True))["wall"]
            w2 = _child(_SWEEP.format(root=str(ROOT), spec=json.dumps(spec), workers=2, warm=True))["wall"]
            print(f"\n2. {k} runs of {one:.2f} s (500 members, 365 days): one worker against two "
                  f"(spawned pool, start-up included)")
            print(f"   1 worker {w1:.1f} s, 2 workers {w2:.1f} s: {w1 / w2:.2f}x   target 1.7x")

            now = _child(_SETUP.format(root=str(ROOT), spec=json.dumps(LATIN)))
            old = _child(_SETUP.format(root=str(before), spec=json.dumps(LATIN))) if before is not None else None
            print(f"\n3. set-up of a {LATIN['samples']:,}-point Latin sweep (load_sweep and the task list), "
                  "fresh process")
            print(f"   {'code':<10}{'seconds':>10}{'peak MB':>10}{'of it imports':>15}   target 10 s, 500 MB")
            for label, r in (("before", old), ("now", now)):
                if r is not None:
                    print(f"   {label:<10}{r['wall']:>10.1f}{r['peak_mb']:>10.0f}{r['import_mb']:>15.0f}")
        finally:
            if before is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                               capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
