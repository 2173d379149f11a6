"""Approximate Bayesian computation of the fitted recovery parameters (``python -m sim.experiments.abcfit``).

Pattern-oriented (Grimm et al. 2005) and Bayesian: the fitted parameters
that matter (:data:`SCREENED`, eight of the twelve of
:data:`sim.experiments.calibrate.SPACE`; uniform priors over those ranges)
are inferred from all the fitted patterns at once (the
targets of :data:`sim.experiments.calibrate.TARGETS` and the helpers'
abstinence ratio) by sequential Monte Carlo ABC (Beaumont et al. 2009;
Toni et al. 2009) with the ``pyabc`` library (Schälte et al. 2022). A
particle is one run of ``baseline`` at :data:`SIZE` members, followed as in
:mod:`sim.experiments.patterns`; its seed is a calibration seed (0-999)
drawn from a hash of the particle's parameters, so a parameter vector
always gives the same run, and the validation seeds (1000 and up) are never
used. The distance is the Euclidean distance of the patterns from their
targets in units of each target's tolerance (the calibration's score, square
rooted); each generation accepts the particles closer than the median
distance of the last. What is printed (and written with ``--out``) is the
weighted posterior: 5%, 50% and 95% quantiles of every parameter, where the
default lies among them, and the patterns at the posterior median.

The sampler runs particles in several processes, so two runs of this
command can differ in their particles (their ranges agree within Monte
Carlo error); ``--db`` keeps every generation in an SQLite file for
inspection with pyabc.
"""

# Deferred imports (inside the functions that need them):
# - pyabc: the calibration extra (pip install mutual-aid-sim[calibration]); the module loads without it.
# - sim.core.threads: it loads numba, which only a particle's run needs.

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from sim import runner
from sim.core.scenarios import load_scenario
from sim.experiments.calibrate import HELPER_RATIO, SPACE, TARGETS
from sim.experiments.patterns import ENTRY_DAYS, YEAR, measure

#: Members per particle's run (more members, more newcomers to read the patterns on).
SIZE = 1000
#: The parameters inferred by default: the fitted ones that the Sobol screening (docs/SENSITIVITY.md)
#: found to move the outcomes, and the two that set a fitted pattern directly (the chance of asking for
#: a sponsor, the share of newcomers with one; the help bonus, the helpers' advantage). The others
#: (newcomers' craving, a lapse's loss of capital, helper therapy, newcomers' extra attendance: total
#: Sobol index at most 0.045 for every outcome) stay at their defaults; ``--parameters all`` infers all twelve.
SCREENED = ("psychology.lapse_max", "psychology.lapse_midpoint", "psychology.lapse_width",
            "psychology.stress_craving", "recovery.build", "recovery.protection", "sponsorship.ask_prob",
            "recovery.help_bonus")
#: Pattern value used when a run cannot give it (no helper or no non-helper among its newcomers).
MISSING = 10.0
#: The least non-helpers' abstinence the helper ratio divides by. A small run whose non-helpers all used
#: (0) gave ratios in the hundreds (h / 0.001), a statistic that then swamped every other distance, in
#: synthetic patterns too (``mutualaid calibrate --check``); at 0.05 the ratio is at most 20, still
#: (20 - 1.8) / 0.3 = 61 tolerances from its target, so no such particle is admitted on the targets.
RATIO_FLOOR = 0.05


def _seed(theta: dict, replicate: int = 0) -> int:
    """The calibration seed (0-999) of a parameter vector's ``replicate``-th run (0: the seed of one run)."""
    rounded = {k: round(float(theta[k]), 12) for k in sorted(theta)}
    text = json.dumps(rounded if not replicate else {"replicate": int(replicate), "theta": rounded})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") % 1000


def observed() -> dict[str, float]:
    """The targets, as pyabc's observed summary statistics."""
    obs = {k: m for k, (m, _) in TARGETS.items()}
    obs["helper_ratio"] = HELPER_RATIO[0]
    return obs


def weights() -> dict[str, float]:
    """1 / tolerance of every pattern (the distance is in tolerance units)."""
    w = {k: 1.0 / sd for k, (_, sd) in TARGETS.items()}
    w["helper_ratio"] = 1.0 / HELPER_RATIO[1]
    return w


def patterns(p: dict[str, float]) -> dict[str, float]:
    """The summary statistics of one run's pooled patterns (NaN: :data:`MISSING` tolerances off)."""
    obs = observed()
    w = weights()
    out = {}
    for k in TARGETS:
        v = p.get(k, math.nan)
        out[k] = float(v) if np.isfinite(v) else obs[k] + MISSING / w[k]
    h, nh = p.get("entry_helpers_abstinent_km", math.nan), p.get("entry_nonhelpers_abstinent_km", math.nan)
    ratio = h / max(nh, RATIO_FLOOR) if np.isfinite(h) and np.isfinite(nh) else math.nan
    out["helper_ratio"] = float(ratio) if np.isfinite(ratio) else obs["helper_ratio"] + MISSING / w["helper_ratio"]
    return out


def measured(theta: dict, scenario: str = "baseline", size: int = SIZE, replicate: int = 0) -> dict[str, float]:
    """The measured patterns (:func:`sim.experiments.patterns.measure`) of one run of ``scenario`` at ``size``
    members with ``theta`` set, on the calibration seed of ``(theta, replicate)``."""
    from sim.core import threads

    threads.for_worker()

    over = {k: float(v) for k, v in theta.items()}
    over["population.size"] = size
    r = runner.run(scenario, engine="kernel", seed=_seed(theta, replicate), steps=YEAR + ENTRY_DAYS, members=True,
                   set=over)
    return measure(r)


def simulate(theta: dict) -> dict[str, float]:
    """One particle: a run of ``baseline`` with ``theta`` on its calibration seed."""
    return patterns(measured(theta))


def weighted_quantiles(values: np.ndarray, w: np.ndarray, qs) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted distribution function)."""
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(w[order])
    cw = cw / cw[-1]
    return [float(v[min(np.searchsorted(cw, q), len(v) - 1)]) for q in qs]


def fit(population: int = 80, generations: int = 5, db: str | None = None, procs: int | None = None,
        parameters=SCREENED):
    """Run ABC-SMC over ``parameters`` (keys of ``SPACE``); returns ``(posterior DataFrame, weights, pyabc History)``."""
    import pyabc

    prior = pyabc.Distribution(**{k: pyabc.RV("uniform", SPACE[k][0], SPACE[k][1] - SPACE[k][0])
                                  for k in parameters})
    distance = pyabc.PNormDistance(p=2, fixed_weights=weights())
    n = procs or os.cpu_count() or 1
    # worker processes are forked: a process that has already run numba's threads should use procs=1
    sampler = pyabc.sampler.SingleCoreSampler() if n == 1 else pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n)
    abc = pyabc.ABCSMC(simulate, prior, distance, population_size=population, sampler=sampler)
    path = Path(db) if db else Path("results") / "abc" / "abc.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    abc.new(f"sqlite:///{path.resolve()}", observed())
    history = abc.run(max_nr_populations=generations, min_acceptance_rate=0.01)
    df, w = history.get_distribution()
    return df, np.asarray(w, dtype=np.float64), history


def from_db(db: str, t: int | None = None):
    """The posterior of generation ``t`` (default: the last one finished) of a run stored in ``db``."""
    import pyabc

    history = pyabc.History(f"sqlite:///{Path(db).resolve()}")
    df, w = history.get_distribution(t=t)
    return df, np.asarray(w, dtype=np.float64), history


def ess(w: np.ndarray) -> float:
    """Effective sample size of importance weights, (sum w)^2 / sum w^2."""
    return float(w.sum() ** 2 / (w ** 2).sum())


def summary(df, w, scenario=None) -> list[dict]:
    """Per parameter: the prior range, the posterior 5/50/95% quantiles and where the default (of ``scenario``,
    default baseline's) lies."""
    sc = load_scenario(scenario, {})
    rows = []
    for k, (lo, hi) in SPACE.items():
        if k not in df.columns:
            continue
        q05, q50, q95 = weighted_quantiles(df[k].to_numpy(dtype=np.float64), w, (0.05, 0.5, 0.95))
        section, name = k.split(".")
        default = float(getattr(getattr(sc, section), name))
        rows.append(dict(parameter=k, prior_low=lo, prior_high=hi, q05=q05, median=q50, q95=q95, default=default,
                         default_inside=bool(q05 <= default <= q95),
                         narrowed=float((q95 - q05) / (hi - lo))))
    return rows


def markdown(rows: list[dict], history=None) -> str:
    lines = ["| parameter | prior | posterior 5% | median | 95% | 90% range / prior range | default | default inside |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['parameter']}` | {r['prior_low']:.4g}-{r['prior_high']:.4g} | {r['q05']:.4g} | "
                     f"{r['median']:.4g} | {r['q95']:.4g} | {r['narrowed']:.2f} | {r['default']:.4g} | "
                     f"{'yes' if r['default_inside'] else 'no'} |")
    if history is not None:
        pops = history.get_all_populations()
        lines += ["", "| generation | epsilon | particles simulated |", "|---|---|---|"]
        for row in pops.itertuples():
            if row.t >= 0:
                lines.append(f"| {row.t} | {row.epsilon:.3g} | {row.samples} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.experiments.abcfit", description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=80, help="particles per generation")
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--procs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--db", default=None, help="SQLite file of the run (default results/abc/abc.db)")
    ap.add_argument("--out", default=None, help="also write the posterior table and the particles here (a folder)")
    ap.add_argument("--parameters", choices=("screened", "all"), default="screened",
                    help="infer the screened parameters (default; the others at their defaults) or all twelve")
    ap.add_argument("--from-db", action="store_true", help="do not sample: summarise the last finished "
                    "generation stored in --db")
    args = ap.parse_args(argv)
    if args.from_db:
        if not args.db or not Path(args.db).is_file():
            print(f"--from-db: no database at {args.db!r} (give --db FILE)", file=sys.stderr)
            return 2
        df, w, history = from_db(args.db)
    else:
        df, w, history = fit(args.population, args.generations, args.db, args.procs,
                             SCREENED if args.parameters == "screened" else tuple(SPACE))
    rows = summary(df, w)
    text = markdown(rows, history) + f"\n\nposterior particles: {len(df)}, effective sample size {ess(w):.1f}"
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "posterior.md").write_text(text + "\n")
        d = df.copy()
        d["weight"] = w
        d.to_csv(out / "particles.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
