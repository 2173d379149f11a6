"""The mechanisms do what the scenarios claim, over many seeds.

Each test runs two scenarios with the same seeds (common random numbers, so
the pairs differ only by the mechanism) and applies a one-sided Wilcoxon
signed-rank test to the paired outcomes at alpha = 0.01. The seeds are simply
0..N_SEEDS-1 (no seed was picked by hand). The runs use the kernel engine for
speed; tests/test_engines.py proves it gives the agents engine's bits.
"""

import numpy as np
import pytest
from scipy import stats

import sim

N_SEEDS = 20
SMALL = {"population.size": 300, "steps": 200}
ALPHA = 0.01


def outcomes(name, seed, **extra):
    r = sim.run(name, seed=seed, engine="kernel", set=dict(SMALL, **extra), members=True)
    m, mem = r.metrics, r.members
    newcomers = mem[mem["start_day"] > -r.scenario.population.newcomer_days]
    closed = m[(m.step >= r.scenario.isolation.start)
               & (m.step < r.scenario.isolation.start + r.scenario.isolation.duration)]
    return {
        "relapses": int(m["relapses"].sum()),
        "newcomer_lapse_share": float(newcomers["ever_used"].mean()),
        "stress_during_closure": float(closed["mean_stress"].mean()),
    }


def paired(a, b, key, **extra):
    xa = np.array([outcomes(a, s, **extra)[key] for s in range(N_SEEDS)])
    xb = np.array([outcomes(b, s, **extra)[key] for s in range(N_SEEDS)])
    return xa, xb


def assert_greater(x, y):
    """x is greater than y, paired over seeds."""
    p = stats.wilcoxon(x, y, alternative="greater").pvalue
    assert p < ALPHA, f"one-sided Wilcoxon p = {p:.4f}; means {x.mean():.4g} vs {y.mean():.4g}"


@pytest.mark.slow
def test_checkins_lower_relapse():
    without, with_ = paired("no-checkins", "baseline", "relapses")
    assert_greater(without, with_)


@pytest.mark.slow
def test_sponsorship_lowers_newcomers_lapses():
    without, with_ = paired("no-sponsorship", "baseline", "newcomer_lapse_share")
    assert_greater(without, with_)


@pytest.mark.slow
def test_isolation_raises_stress_and_relapse():
    # 'isolation' is 'no-checkins' plus the closure: the pairs differ only by isolation
    iso = [outcomes("isolation", s) for s in range(N_SEEDS)]
    open_ = [outcomes("no-checkins", s) for s in range(N_SEEDS)]
    for key in ("stress_during_closure", "relapses"):
        assert_greater(np.array([d[key] for d in iso]), np.array([d[key] for d in open_]))


@pytest.mark.slow
def test_checkins_protect_an_isolated_community():
    without, with_ = paired("isolation", "isolation-with-checkins", "relapses")
    assert_greater(without, with_)


@pytest.mark.slow
def test_helpers_stay_abstinent_more_often_than_non_helpers():
    # Helper therapy (Pagano et al. 2004): members who mostly helped stay abstinent
    # more often than those who mostly competed, pooled over seeds per run.
    diffs = []
    for s in range(N_SEEDS):
        mem = sim.run("baseline", seed=s, engine="kernel", set=dict(SMALL, steps=365), members=True).members
        orig = mem[mem["joined_step"] == 0]
        helper = orig["help_share"] > 0.5
        diffs.append((~orig[helper]["ever_used"]).mean() - (~orig[~helper]["ever_used"]).mean())
    assert stats.wilcoxon(diffs, alternative="greater").pvalue < ALPHA
