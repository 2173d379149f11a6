"""Every claim the educator's texts make, checked over 20 paired seeds with a stated test.

The texts are the `kropotkin` and `struggle` scenario descriptions, the
README tour, the dashboard's "what to watch for" panels and walk-through
steps, and docs/ODD.md 1.4. Their figures were read on the seeds
``replicate_seeds(42, 20)``; these tests use other seeds
(``replicate_seeds(2026, 20)``), so they check the claims rather than repeat
the runs. Direction: one-sided paired Wilcoxon signed-rank test, p < 0.01
(``effects.p_greater``). Size: the mean over seeds inside the band the word
"about" allows (stated per claim).
"""

import numpy as np
import pytest

from dashboards import support as ds
from dashboards import texts
from sim.experiments.compare import replicate_seeds
from sim.experiments.effects import p_greater
from sim.experiments.lesson import ARMS, MECHANISMS, arm_table, overrides, run_lesson, run_settings

SEEDS = replicate_seeds(2026, 20)
P = 0.01
KROPOTKIN_SIZE, KROPOTKIN_DEGREE = 900, 4


def _arm(name):
    return ("kropotkin", overrides(arm_table()[name], KROPOTKIN_SIZE, KROPOTKIN_DEGREE))


def _steps():
    return {title: (ds.build_scenario(scn, over), {}) for title, _, scn, over in texts.KROPOTKIN_STEPS}


@pytest.fixture(scope="module")
def runs():
    settings = {arm: _arm(arm) for arm in ARMS}
    settings.update({
        "temptation": ("kropotkin", {"game.T": 1.6}),
        "closed": ("kropotkin", {"turnover.enabled": False}),
        "struggle": ("struggle", {}),
        "struggle closed": ("struggle", {"turnover.enabled": False}),
        "nowak-may T=1.7": (ds.build_scenario("nowak-may-1992", {"game_T": 1.7}), {}),
        "nowak-may T=2.1": (ds.build_scenario("nowak-may-1992", {"game_T": 2.1}), {}),
    })
    return run_settings(settings, SEEDS, workers=2)


def _within(x, low, high):
    m = float(np.mean(x))
    assert low <= m <= high, f"mean {m:.3f} outside {low}-{high}"


def test_all_on_is_the_shipped_kropotkin_scenario():
    from sim.api import prepare

    shipped = prepare("kropotkin").model_dump()
    on = prepare("kropotkin", set=overrides(frozenset(m.key for m in MECHANISMS), KROPOTKIN_SIZE,
                                            KROPOTKIN_DEGREE)).model_dump()
    assert shipped == on
    assert prepare("kropotkin").network.neighborhood == "von_neumann"  # KROPOTKIN_DEGREE


def test_kropotkin_helpers_spread_to_most_and_the_community_heals(runs):
    """Description, README, watch panel, step 2: 30% -> about 95% helpers; stress about 0.43 -> 0.15;
    2% using on a day."""
    k = runs["all on"]
    assert p_greater(k.helpers, k.helpers_start) < P
    _within(k.helpers_start, 0.25, 0.40)
    _within(k.helpers, 0.90, 0.99)
    assert p_greater(k.stress_start, k.stress) < P
    _within(k.stress_start, 0.38, 0.48)
    _within(k.stress, 0.11, 0.19)
    _within(k.using, 0.0, 0.03)


def test_without_partner_choice_fewer_helpers_and_a_community_in_crisis(runs):
    """Description, README, watch panel, step 3: about 0.80 helpers; stress about twice as high."""
    k, off = runs["all on"], runs["all but partner choice"]
    assert p_greater(k.helpers, off.helpers) < P
    _within(off.helpers, 0.75, 0.85)
    assert p_greater(off.stress, k.stress) < P
    assert 1.6 <= off.stress.mean() / k.stress.mean() <= 2.8
    assert p_greater(off.relapses_per_100, k.relapses_per_100) < P


def test_payoff_alone_helpers_still_win(runs):
    """Description, README: weight of wellbeing 0 -> helpers still win, about 0.94."""
    w0 = runs["all but wellbeing counts as success"]
    _within(w0.helpers, 0.89, 0.99)
    assert (w0.helpers > 0.5).all()


def test_higher_temptation_fewer_helpers_more_stress(runs):
    """Description, README, step 4: T = 1.6 -> fewer helpers (about 0.84), stress higher; still a majority."""
    k, t = runs["all on"], runs["temptation"]
    assert p_greater(k.helpers, t.helpers) < P
    _within(t.helpers, 0.79, 0.89)
    assert (t.helpers > 0.5).all()
    assert p_greater(t.stress, k.stress) < P


def test_a_random_graph_does_as_well_as_the_lattice(runs):
    """Description, README, ODD 1.4: the same members on a random graph end with as many helpers.
    Equivalence: the 95% t-interval of the paired difference lies within +-0.05."""
    from scipy import stats

    d = runs["all but network reciprocity"].helpers - runs["all on"].helpers
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert -0.05 < d.mean() - half and d.mean() + half < 0.05


def test_a_closed_community_still_ends_with_most_helping(runs):
    """README: turnover off -> about 0.90 helpers."""
    c = runs["closed"]
    _within(c.helpers, 0.85, 0.95)
    assert (c.helpers > 0.5).all()


def test_lesson_two_mechanisms_decide(runs):
    """README, ODD 1.4: partner choice and survival of the supported each lift helpers well above all off,
    and taking either away from the full model leaves fewer helpers and more stress."""
    off, on = runs["all off"], runs["all on"]
    _within(off.helpers, 0.0, 0.15)
    for alone in ("Partner choice only", "Survival of the supported only"):
        assert p_greater(runs[alone].helpers, off.helpers) < P
        _within(runs[alone].helpers, 0.40, 0.80)
        assert p_greater(off.stress, runs[alone].stress) < P
    for without in ("all but partner choice", "all but survival of the supported"):
        assert p_greater(on.helpers, runs[without].helpers) < P
        assert p_greater(runs[without].stress, on.stress) < P


def test_lesson_clustering_wellbeing_and_newcomers_matter_little(runs):
    """ODD 1.4: network reciprocity alone does nothing (within 0.03 of all off); wellbeing alone and
    newcomers alone leave helpers below 0.2; taking any of the three from the full model leaves helpers
    within 0.05 of all on."""
    off, on = runs["all off"], runs["all on"]
    assert abs(runs["Network reciprocity only"].helpers.mean() - off.helpers.mean()) < 0.03
    for alone in ("Wellbeing counts as success only", "Newcomers re-seed helpers only"):
        _within(runs[alone].helpers, 0.0, 0.2)
    for without in ("all but network reciprocity", "all but wellbeing counts as success",
                    "all but newcomers re-seed helpers"):
        assert abs(runs[without].helpers.mean() - on.helpers.mean()) < 0.05


def test_struggle_helpers_collapse_then_newcomers_bring_a_few_back(runs):
    """struggle description, README, watch panel, step 1: about 4% within a month, back to about 0.28,
    stress about 0.7, hundreds of dropouts; with turnover off helpers vanish."""
    s = runs["struggle"]
    assert p_greater(s.helpers_start, s.helpers_min) < P
    _within(s.helpers_min, 0.02, 0.07)
    assert np.median(s.day_min) <= 31
    _within(s.helpers, 0.22, 0.34)
    assert p_greater(s.helpers, s.helpers_min) < P
    _within(s.stress, 0.6, 0.8)
    assert s.dropouts_per_100.mean() > 200  # 200 members: hundreds of dropouts in the year
    _within(runs["struggle closed"].helpers, 0.0, 0.05)


def test_nowak_may_step_clusters_hold_at_1_7_and_fail_at_2_1(runs):
    """Step 5: T = 1.7 -> helpers hold most of the lattice; T = 2.1 -> competitors take over."""
    assert (runs["nowak-may T=1.7"].helpers > 0.5).all()
    assert (runs["nowak-may T=2.1"].helpers < 0.1).all()


def test_every_walk_through_step_is_checked():
    """Each step's scenario and overrides are the ones the tests above run."""
    steps = _steps()
    from sim.api import prepare

    expect = {"1. The struggle for existence": prepare("struggle"),
              "2. Mutual aid": prepare("kropotkin"),
              "3. Take partner choice away": prepare("kropotkin", set={"ties.conflict_loss": 0.0}),
              "4. Benefit and cost": prepare("kropotkin", set={"game.T": 1.6}),
              "5. Who meets whom": prepare("nowak-may-1992")}
    assert set(steps) == set(expect)
    for title, (sc, _) in steps.items():
        assert sc.model_dump() == expect[title].model_dump(), title


def test_lesson_command_table_and_intervals():
    res = run_lesson(seeds=2, arms=("all off", "all on"), workers=1, steps=20)
    assert list(res.summary.arm) == ["all off", "all on"]
    assert len(res.runs) == 4 and res.runs.seed.nunique() == 2
    s = res.summary.set_index("arm")
    for col in ("helpers", "stress", "relapses_per_100"):
        assert (s[f"{col}_low"] <= s[col]).all() and (s[col] <= s[f"{col}_high"]).all()
    assert np.isnan(s.loc["all off", "p_helpers_vs_all_off"])


def test_lesson_refuses_bad_input():
    from sim.core.scenarios import ScenarioError

    with pytest.raises(ScenarioError, match="seeds"):
        run_lesson(seeds=1)
    with pytest.raises(ScenarioError, match="unknown arm"):
        run_lesson(seeds=2, arms=("everything",))
    with pytest.raises(ScenarioError, match="lattice"):
        run_lesson("baseline", seeds=2)
