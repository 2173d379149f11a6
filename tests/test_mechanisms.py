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


@pytest.mark.slow
def test_baseline_is_a_healthy_community():
    # docs/ODD.md 1.2 "A healthy baseline" and the dashboard's baseline text: most day-0 members stay
    # abstinent through a year (one-sample Wilcoxon of the share who use against one half), most keep helping
    used, helping = [], []
    for s in range(N_SEEDS):
        r = sim.run("baseline", seed=s, engine="kernel", steps=365, set={"population.size": 300}, members=True)
        d0 = r.members[r.members["joined_step"] == 0]
        first = d0["first_use_step"].to_numpy(dtype="float64", na_value=np.inf)
        used.append(float((first <= 365).mean()))
        helping.append(float(r.metrics["helpers"].min()))
    p = stats.wilcoxon(np.array(used) - 0.5, alternative="less").pvalue
    assert p < ALPHA, f"p = {p:.4f}; mean share using within the year {np.mean(used):.3f}"
    assert min(helping) > 0.5


@pytest.mark.slow
def test_checkins_shorten_episodes_of_use():
    # the 'no-checkins' text: lapses last longer without check-ins (mean days of use per lapse)
    def episode_days(name, seed):
        r = sim.run(name, seed=seed, engine="kernel", set=dict(SMALL, steps=365))
        m = r.metrics
        return float(m["using"].sum() * r.scenario.population.size / max(m["lapses"].sum(), 1))

    without = np.array([episode_days("no-checkins", s) for s in range(N_SEEDS)])
    with_ = np.array([episode_days("baseline", s) for s in range(N_SEEDS)])
    assert_greater(without, with_)
