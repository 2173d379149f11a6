"""One day of ``baseline`` on one thread and on every core, by community size (no burn-in).

    .venv/bin/python benchmarks/threads_by_size.py [--sizes 500 2000 5000 10000 20000 50000]

Each size alternates the thread counts twice and keeps the better time of each (a busy spell of the
machine falls on both). ``sim/core/threads.py`` takes its members-per-thread rule from this table;
the last column is the count that rule picks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000, 10_000, 20_000, 50_000])
    args = p.parse_args(argv)
    import numba

    from sim.core import threads
    from sim.core.scenarios import load_scenario
    from sim.engines import make_model

    cores = numba.config.NUMBA_NUM_THREADS
    print(f"{os.cpu_count()} cores, numba {numba.__version__} ({cores} threads), "
          f"load {os.getloadavg()[0]:.2f} at start")
    print(f"{'members':>9}{'1 thread ms/day':>17}{f'{cores} threads ms/day':>19}{'ratio':>8}{'rule picks':>12}")
    for n in args.sizes:
        sc = load_scenario("baseline", {"population.size": n, "population.burn_in": 0})
        best: dict[int, float] = {}
        for t in (1, cores, 1, cores):
            threads.choose(t)
            m = make_model(sc, "kernel")
            for _ in range(3):
                m.step()
            k = max(20, int(2e6 / n))
            t0 = time.perf_counter()
            for _ in range(k):
                m.step()
            best[t] = min(best.get(t, float("inf")), (time.perf_counter() - t0) / k * 1e3)
        threads.choose(None)
        print(f"{n:>9,}{best[1]:>17.3f}{best[cores]:>19.3f}{best[1] / best[cores]:>8.2f}{threads.count_for(n):>12}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
