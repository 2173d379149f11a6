"""Claims of the scenarios' Info panels (scenarios/info/*.md) that no other test checks, over paired seeds.

Each "Things to notice" bullet of an Info file names the test that backs it; the bullets that restate an
existing test cite that test, and these are the rest. The seeds are ``replicate_seeds(1902, 20)`` (the
classic games, psychology off) and the first 12 of them (the recovery scenarios, whose runs each live a
three-year burn-in first), fixed before any of these runs were looked at; the sizes in the texts ("about
twice") were read on other seeds (100-119), so these tests check the claims rather than repeat the runs
that gave them.

Direction: a one-sided Wilcoxon signed-rank test at p < 0.01 (exact; with 12 seeds its smallest p is
1/4096), paired over seeds between two settings or two periods of the same run (``effects.p_greater``:
the pairs share their random numbers), or one-sample against a fixed value (``scipy.stats.wilcoxon`` of
``x - value``). Size: the mean over seeds (or the ratio of two means) inside the band the word in the
text allows, stated per test. "In every seed" is a sign test: all of 20 seeds has probability 2^-20
under a coin toss.

Every run is a shipped scenario on the kernel engine (``sim.run``), unchanged except for what the test
names; runs stop at the last day a claim reads (a day's state does not depend on how many days follow).
About 50 s on one core.
"""

import numpy as np
import pytest
from scipy import stats

import sim
from sim.api import make_model, prepare
from sim.experiments.compare import replicate_seeds
from sim.experiments.effects import p_greater

SEEDS = replicate_seeds(1902, 20)
#: the recovery scenarios live a three-year burn-in before day 0 (most of a run's time): 12 of the seeds
RECOVERY_SEEDS = SEEDS[:12]
P = 0.01


def _above(x, value):
    """One-sample one-sided Wilcoxon p-value that the values lie above ``value``."""
    return float(stats.wilcoxon(np.asarray(x, dtype=float) - value, alternative="greater").pvalue)


def _below(x, value):
    return float(stats.wilcoxon(np.asarray(x, dtype=float) - value, alternative="less").pvalue)


def _within(x, low, high):
    m = float(np.mean(x))
    assert low <= m <= high, f"mean {m:.3f} outside {low}-{high}"


def _ratio(x, y, low, high):
    r = float(np.mean(x) / np.mean(y))
    assert low <= r <= high, f"ratio of means {r:.3f} outside {low}-{high}"


def _metrics(name, seed, **over):
    return sim.run(name, seed=int(seed), engine="kernel", set=over).metrics


# ----------------------------------------------------------------------------- a closure (isolation, ...)


def _closure_figures(name, seed):
    """Figures of one run around the closure (days 60-149): the 30 days before it, the closure, its last 30
    days and the 30 days after meetings reopen."""
    sc = prepare("isolation")
    start, end = sc.isolation.start, sc.isolation.start + sc.isolation.duration
    m = _metrics(name, seed, steps=end + 30)

    def days(a, b):
        return m[(m.step >= a) & (m.step < b)]

    before, closed, last, after = days(start - 30, start), days(start, end), days(end - 30, end), days(end, end + 30)
    return {"isolated_before": float(before["isolated"].mean()), "isolated_last": float(last["isolated"].mean()),
            "using_before": float(before["using"].mean()), "using_after": float(after["using"].mean()),
            "dropouts_before": float(before["dropouts"].sum()), "dropouts_after": float(after["dropouts"].sum()),
            "stress_closed": float(closed["mean_stress"].mean()),
            "checkins_before": float(before["checkins"].mean()), "checkins_closed": float(closed["checkins"].mean())}


@pytest.fixture(scope="module")
def closure():
    out = {}
    for name in ("isolation", "isolation-with-checkins"):
        rows = [_closure_figures(name, s) for s in RECOVERY_SEEDS]
        out[name] = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return out


def test_isolation_nearly_doubles_the_members_without_a_strong_tie(closure):
    """isolation: the share of members with no tie above ties.isolation_threshold (the ``isolated``
    column) in the closure's last 30 days against the 30 days before it closed (paired within each run,
    Wilcoxon), nearly twice (ratio of means 1.4-2.4)."""
    c = closure["isolation"]
    assert p_greater(c["isolated_last"], c["isolated_before"]) < P
    _ratio(c["isolated_last"], c["isolated_before"], 1.4, 2.4)


def test_isolation_the_damage_outlasts_the_closure(closure):
    """isolation, the 30 days after meetings reopen against the 30 days before they closed (paired within
    each run, Wilcoxon): more members use on a day, nearly twice as many (ratio of means 1.4-2.4), and more
    drop out (ratio of means 1.2-2.2)."""
    c = closure["isolation"]
    assert p_greater(c["using_after"], c["using_before"]) < P
    _ratio(c["using_after"], c["using_before"], 1.4, 2.4)
    assert p_greater(c["dropouts_after"], c["dropouts_before"]) < P
    _ratio(c["dropouts_after"], c["dropouts_before"], 1.2, 2.2)


def test_checkins_multiply_during_a_closure(closure):
    """isolation-with-checkins: check-ins a day while meetings are closed against the 30 days before
    (paired within each run, Wilcoxon), about four to five times as many (ratio of means 3.5-5.5)."""
    c = closure["isolation-with-checkins"]
    assert p_greater(c["checkins_closed"], c["checkins_before"]) < P
    _ratio(c["checkins_closed"], c["checkins_before"], 3.5, 5.5)


def test_checkins_keep_stress_down_during_a_closure(closure):
    """isolation-with-checkins against isolation with the same seeds: mean stress over the closed days is
    lower (paired Wilcoxon), about a third lower (ratio of means 0.55-0.80)."""
    with_, without = closure["isolation-with-checkins"]["stress_closed"], closure["isolation"]["stress_closed"]
    assert p_greater(without, with_) < P
    _ratio(with_, without, 0.55, 0.80)


# ----------------------------------------------------------------------------- kropotkin: survival of the supported


def test_kropotkin_competitors_are_in_crisis_and_drop_out_more_often():
    """kropotkin, by strategy on day 0 (after the burn-in, before any revision): the share of competitors in
    crisis that day is higher than of helpers (paired over seeds, Wilcoxon; ratio of means 1.1-1.6), and the
    share who leave in the first 60 days is higher (Wilcoxon; ratio of means 1.3-2.0)."""
    in_crisis, left = {0: [], 1: []}, {0: [], 1: []}
    for s in RECOVERY_SEEDS:
        sc = prepare("kropotkin", seed=int(s), steps=60)
        model = make_model(sc, "kernel")
        strategy = model.community["strategy"].copy()
        crisis = model.community["crisis_days"] > 0
        for _ in range(sc.steps):
            model.step()
        mem = model.members_frame()
        day0 = mem[mem["joined_step"] == 0].sort_values("id")
        assert (day0["id"].to_numpy() == np.arange(len(strategy))).all()  # day-0 ids are the slots
        gone = day0["left_step"].notna().to_numpy()
        for k in (0, 1):
            in_crisis[k].append(crisis[strategy == k].mean())
            left[k].append(gone[strategy == k].mean())
    assert p_greater(in_crisis[0], in_crisis[1]) < P
    _ratio(in_crisis[0], in_crisis[1], 1.1, 1.6)
    assert p_greater(left[0], left[1]) < P
    _ratio(left[0], left[1], 1.3, 2.0)


# ----------------------------------------------------------------------------- nowak-may-1992


def test_nowak_may_at_1_85_coexistence_near_their_share_and_never_still():
    """nowak-may-1992 as shipped (b = 1.85): the share of cooperators over days 100-200 lies near Nowak &
    May's 0.318 (the 95% t-interval of the mean over seeds within 0.318 +- 0.01), and the pattern keeps
    moving: over the last 20 days more than a tenth of the cells switch strategy each day in every seed
    (sign test), about a quarter on average (0.2-0.3)."""
    share, moving = [], []
    for s in SEEDS:
        sc = prepare("nowak-may-1992", seed=int(s))
        model = make_model(sc, "kernel")
        prev, switched = None, []
        for t in range(sc.steps):
            model.step()
            cur = model.community["strategy"].copy()
            if t >= sc.steps - 20:
                switched.append(float((cur != prev).mean()))
            prev = cur
        share.append(float(model.metrics_frame()["helpers"].iloc[100:].mean()))
        moving.append(float(np.mean(switched)))
    share = np.array(share)
    half = stats.t.ppf(0.975, len(share) - 1) * share.std(ddof=1) / np.sqrt(len(share))
    assert 0.308 <= share.mean() - half and share.mean() + half <= 0.328, share.mean()
    assert min(moving) > 0.1
    _within(moving, 0.2, 0.3)


# ----------------------------------------------------------------------------- fermi-lattice


@pytest.fixture(scope="module")
def fermi():
    out = {}
    for b in (1.02, 1.1):
        rows = []
        for s in SEEDS:
            m = _metrics("fermi-lattice", s, **{"game.T": b})
            tail = m.iloc[-50:]
            h = tail["helpers"].to_numpy()
            rows.append({"final": float(m["helpers"].iloc[-1]), "assortment": float(tail["assortment"].mean()),
                         "scattered": float(np.mean(h / (2.0 - h)))})
        out[b] = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return out


def test_fermi_at_1_02_cooperators_lose_ground_but_survive_in_clusters(fermi):
    """fermi-lattice as shipped (b = 1.02), day 500: cooperators fall below the starting half (one-sample
    Wilcoxon against 0.5), to about 0.3 (mean 0.22-0.38), but are still there in every seed (sign test);
    over the last 50 days the share of helpers' tie weight that joins two helpers is higher than if the same
    number of helpers were scattered at random (p / (2 - p) for a share p; paired Wilcoxon), about three
    times (ratio of means 2-4)."""
    f = fermi[1.02]
    assert _below(f["final"], 0.5) < P
    _within(f["final"], 0.22, 0.38)
    assert (f["final"] > 0).all()
    assert p_greater(f["assortment"], f["scattered"]) < P
    _ratio(f["assortment"], f["scattered"], 2.0, 4.0)


def test_fermi_at_1_1_cooperators_all_but_die_out(fermi):
    """fermi-lattice with game.T = 1.1: fewer cooperators on day 500 than at 1.02 (paired Wilcoxon), under
    5% in every seed (sign test)."""
    assert p_greater(fermi[1.02]["final"], fermi[1.1]["final"]) < P
    assert (fermi[1.1]["final"] < 0.05).all()


# ----------------------------------------------------------------------------- death-birth


def test_death_birth_helpers_gain_above_b_over_c_of_k_and_lose_below():
    """death-birth as shipped (b/c = 6 on a ring of degree 4), mean share of helpers over the last 200 of
    2,000 days: above the starting half (one-sample Wilcoxon), about 0.65 (0.55-0.75). With game.R = 2 and
    game.T = 3 (b/c = 3, below k): below half (Wilcoxon), about 0.25 (0.15-0.35), and lower than at 6 with
    the same seeds (paired Wilcoxon)."""
    def share(**over):
        return np.array([float(_metrics("death-birth", s, **over)["helpers"].iloc[-200:].mean()) for s in SEEDS])

    six, three = share(), share(**{"game.R": 2.0, "game.T": 3.0})
    assert _above(six, 0.5) < P
    _within(six, 0.55, 0.75)
    assert _below(three, 0.5) < P
    _within(three, 0.15, 0.35)
    assert p_greater(six, three) < P
