"""Calibration of the baseline to the recovery literature (``python -m sim.experiments.calibrate``).

A grid search over the parameters left free by the rules (how strongly
stress feeds craving, and the size of the helper-therapy effect), scoring
each point on the patterns of docs/ODD.md ("Patterns"), measured on the
baseline's day-0 newcomers (members in early recovery, the population the
studies followed), pooled over seeds 0..N-1:

- return to use within a year: McLellan et al. (2000) report 40-60%; target 0.50;
- helpers versus non-helpers completely abstinent a year later: Pagano et al.
  (2004) report 40% versus 22%: target a gap of 0.18 and a ratio of 1.8.

The studies followed different samples with different definitions, so the
levels of Pagano et al. (40% and 22% abstinent, i.e. 60-78% using) cannot
be met together with McLellan's range; the score therefore asks for
McLellan's level and Pagano's gap and ratio. Only parameters change, never
the rules.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

import sim

GRID = {
    "psychology.stress_craving": [0.09, 0.11, 0.13, 0.15],
    "psychology.helper_therapy": [0.001, 0.002, 0.003, 0.004],
}


def measure(overrides: dict, seeds: int) -> dict:
    used, gap, ratio = [], [], []
    for s in range(seeds):
        r = sim.run("baseline", engine="kernel", seed=s, steps=365, members=True, set=overrides)
        mem = r.members
        nc = mem[(mem["joined_step"] == 0) & (mem["start_day"] > -r.scenario.population.newcomer_days)]
        helper = nc["help_share"] > 0.5
        h = float((~nc.loc[helper, "ever_used"]).mean())
        n = float((~nc.loc[~helper, "ever_used"]).mean())
        used.append(float(nc["ever_used"].mean()))
        gap.append(h - n)
        ratio.append(h / n if n > 0 else np.nan)
    return {"used": float(np.mean(used)), "gap": float(np.mean(gap)), "ratio": float(np.nanmean(ratio))}


def score(m: dict) -> float:
    return ((m["used"] - 0.50) / 0.05) ** 2 + ((m["gap"] - 0.18) / 0.05) ** 2 + ((m["ratio"] - 1.8) / 0.3) ** 2


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.experiments.calibrate")
    p.add_argument("--seeds", type=int, default=8)
    args = p.parse_args(argv)
    keys = list(GRID)
    rows = []
    for values in itertools.product(*GRID.values()):
        over = dict(zip(keys, values))
        m = measure(over, args.seeds)
        rows.append((score(m), over, m))
        print(f"{over}  used {m['used']:.3f}  gap {m['gap']:.3f}  ratio {m['ratio']:.2f}  score {score(m):.2f}",
              flush=True)
    best = min(rows, key=lambda r: r[0])
    print(f"\nbest: {best[1]}  used {best[2]['used']:.3f}  gap {best[2]['gap']:.3f}  "
          f"ratio {best[2]['ratio']:.2f}  score {best[0]:.2f}")


if __name__ == "__main__":
    main()
