"""Calibration of the recovery parameters to several patterns at once (``python -m sim.experiments.calibrate``).

Pattern-oriented (Grimm et al. 2005): every candidate is scored on all the
fitted patterns of docs/ODD.md 1.2 together, measured by
:mod:`sim.experiments.patterns` on calibration seeds of ``baseline``:

- return to use within a year of joining, entry cohort: 0.50 (McLellan et al. 2000: 40-60%);
- share of the year's first uses within 90 days, entry cohort: 0.65 (Hunt, Barnett & Branch 1971);
- sustained abstinence over a year by time abstinent on day 0: 0.36 / 0.66 / 0.86
  (Dennis, Foss & Scott 2007);
- helpers' over non-helpers' abstinence, entry cohort: ratio 1.8 (Pagano et al. 2004: 40% vs 22%);
- newcomers with a sponsor within the year: 0.69 (Kelly, Greene & Bergman 2016);
- a healthy community: day-0 members still abstinent after a year about 0.65 (a design target, not a study).

The score is the sum of squared distances in units of each target's
tolerance (``TARGETS``). This version searches a Latin hypercube over the
ranges in ``SPACE`` (scipy's ``qmc``) and prints the best points; the
defaults in ``sim/core/schema.py`` were set from such a search (docs/ODD.md
1.2 says which parameters were fitted). The independent patterns of
``mutualaid validate`` are never scored here, and the validation uses other
seeds.
"""

# Deferred imports (inside the functions that need them):
# - sim.experiments.patterns: its runs load numba; SPACE and TARGETS, which the calibration and the docs
#   read, need none of it.
# - scipy: only the Latin hypercube search (scipy.stats.qmc) needs it.

from __future__ import annotations

import argparse
import json

import numpy as np

from sim.core.registry import fitted_space

#: The parameters searched (the fitted ones), with their ranges: each key's ``fitted=(low, high)`` in
#: sim/core/schema.py.
SPACE: dict[str, tuple[float, float]] = fitted_space()

#: pattern -> (target, tolerance); the helper ratio is scored separately.
#: Every cohort figure is the Kaplan-Meier estimate with leaving as censoring (sim.experiments.patterns):
#: abstinent a year after joining 0.50 is the same as "returned to use" 0.50.
TARGETS: dict[str, tuple[float, float]] = {
    "entry_abstinent_km": (0.50, 0.05),
    "entry_first_use_within_90_days_km": (0.65, 0.07),
    "sustained_km_1-12 months": (0.36, 0.07),
    "sustained_km_1-3 years": (0.66, 0.07),
    "sustained_km_3+ years": (0.86, 0.05),
    "entry_sponsored": (0.69, 0.10),
    "abstinent_day0_members_at_year": (0.65, 0.10),
}
HELPER_RATIO = (1.8, 0.3)


def score(p: dict[str, float]) -> float:
    s = sum(((p[k] - m) / sd) ** 2 for k, (m, sd) in TARGETS.items())
    ratio = p["entry_helpers_abstinent_km"] / max(p["entry_nonhelpers_abstinent_km"], 1e-3)
    return float(s + ((ratio - HELPER_RATIO[0]) / HELPER_RATIO[1]) ** 2)


def evaluate(x: dict[str, float], seeds) -> dict[str, float]:
    from sim.experiments.patterns import ENTRY_DAYS, YEAR, pooled, run_seeds

    return pooled(run_seeds("baseline", seeds, set=x, steps=YEAR + ENTRY_DAYS))


def search(points: int, seeds, rng_seed: int = 0, log=print):
    from scipy.stats import qmc

    keys = list(SPACE)
    lo = np.array([SPACE[k][0] for k in keys])
    hi = np.array([SPACE[k][1] for k in keys])
    sample = qmc.scale(qmc.LatinHypercube(d=len(keys), seed=rng_seed).random(points), lo, hi)
    rows = []
    for k, v in enumerate(sample):
        x = dict(zip(keys, map(float, v)))
        p = evaluate(x, seeds)
        rows.append((score(p), x, p))
        if (k + 1) % 10 == 0:
            log(f"{k + 1}/{points} points, best score {min(r[0] for r in rows):.2f}")
    rows.sort(key=lambda r: r[0])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.experiments.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=160)
    ap.add_argument("--seeds", type=int, default=4, help="calibration seeds 0..N-1")
    ap.add_argument("--rng-seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = search(args.points, range(args.seeds), args.rng_seed)
    for s, x, p in rows[:5]:
        print(f"score {s:.2f}  {json.dumps({k: round(v, 4) for k, v in x.items()})}")
        print("   " + "  ".join(f"{k}={p[k]:.2f}" for k in TARGETS)
              + f"  helpers {p['entry_helpers_abstinent_km']:.2f} vs {p['entry_nonhelpers_abstinent_km']:.2f}")


if __name__ == "__main__":
    main()
