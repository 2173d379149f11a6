"""The effect-size comparisons (sim.experiments.effects) on hand-made figures, and their verdicts."""

import numpy as np
import pytest

from sim.experiments.effects import Effect, effects


def rows(**cols):
    """Per-seed figure dicts from columns of equal length."""
    n = len(next(iter(cols.values())))
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def arm(relapses, ret, episode, abst, entry, closure, long_sober):
    return rows(relapses_per_100=relapses, days_to_return=ret, episode_days=episode,
                entry_days_abstinent=abst, entry_abstinent=entry, closure_lapses_per_100=closure,
                long_sober_use_in_closure=long_sober)


def test_sizes_are_computed_from_the_paired_seeds():
    k = 12
    rng = np.random.default_rng(3)
    base = arm([50.0 + i for i in range(k)], [4.0] * k, [5.0] * k,
               [rng.uniform(0.8, 1.0, 30) for _ in range(k)], [0.5] * k, [20.0] * k, [0.05] * k)
    no_ck = arm([60.0 + i for i in range(k)], [8.0] * k, [10.0] * k,
                [a - 0.1 for a in (r["entry_days_abstinent"] for r in base)], [0.4] * k, [20.0] * k, [0.05] * k)
    base = [dict(r, closure_lapses_per_100=99.0) for r in base]   # the closure is read against no-checkins
    no_sp = arm([70.0 + i for i in range(k)], [4.0] * k, [5.0] * k,
                [r["entry_days_abstinent"] for r in base], [1 / 3] * k, [20.0] * k, [0.05] * k)
    iso = arm([50.0 + i for i in range(k)], [4.0] * k, [5.0] * k,
              [r["entry_days_abstinent"] for r in base], [0.5] * k, [30.0] * k, [0.08] * k)
    got = {(e.intervention, e.outcome): e for e in effects(
        {"baseline": base, "no-checkins": no_ck, "no-sponsorship": no_sp, "isolation": iso})}
    e = got[("check-ins", "relapses per 100 members in a year")]
    assert e.model == pytest.approx(10.0) and e.low == pytest.approx(10.0) and e.high == pytest.approx(10.0)
    assert e.p < 0.01 and e.verdict == "no published size"
    e = got[("check-ins", "days from missing meetings to coming back")]
    assert e.model == pytest.approx(0.5)
    assert e.verdict == "stronger"            # 0.5 is further from 1 than the trial's 0.63
    assert got[("check-ins", "days of an episode of use")].model == pytest.approx(0.5)
    d = got[("check-ins", "newcomers' days abstinent in their first year")]
    on = np.concatenate([r["entry_days_abstinent"] for r in base])
    sd = np.sqrt((on.var(ddof=1) * 2) / 2)
    assert d.model == pytest.approx(0.1 / sd)
    e = got[("sponsorship", "newcomers abstinent through their first year")]
    assert e.model == pytest.approx(2.0)      # odds 1 against odds 1/2
    assert e.verdict == "stronger"
    e = got[("closure", "lapses per 100 members during the 90 closed days")]
    assert e.model == pytest.approx(1.5) and e.p < 0.01
    e = got[("closure", "members a year or more abstinent who use during the closure")]
    assert e.model == pytest.approx(0.08)


def test_no_difference_has_no_significant_direction():
    k = 10
    same = arm([50.0] * k, [4.0] * k, [5.0] * k, [np.full(5, 0.9)] * k, [0.5] * k, [20.0] * k, [0.05] * k)
    got = effects({"baseline": same, "no-checkins": same})
    assert all(e.p == 1.0 for e in got)
    assert [e.intervention for e in got] == ["check-ins"] * 4


@pytest.mark.parametrize("measure,model,low,high,published,verdict", [
    ("ratio", 0.83, 0.81, 0.85, 0.63, "weaker"),
    ("ratio", 0.50, 0.45, 0.55, 0.63, "stronger"),
    ("ratio", 0.65, 0.60, 0.70, 0.63, "consistent"),
    ("odds ratio", 1.75, 1.6, 1.9, 1.3, "stronger"),
    ("Cohen's d", 0.03, -0.02, 0.08, 0.29, "weaker"),
    ("Cohen's d", 0.30, 0.25, 0.35, 0.29, "consistent"),
    ("Cohen's d", 0.02, -0.01, 0.05, (0.04, 0.29), "consistent"),   # overlaps a published range
    ("Cohen's d", 0.35, 0.31, 0.40, (0.04, 0.29), "stronger"),
    ("ratio", 0.9, 0.8, 1.0, float("nan"), "no published size"),
])
def test_the_verdict_says_where_the_published_figure_lies(measure, model, low, high, published, verdict):
    lo, hi = published if isinstance(published, tuple) else (published, float("nan"))
    e = Effect("x", "y", measure, model, low, high, 0.001, lo, "", "", "", published_high=hi)
    assert e.verdict == verdict


def test_the_sensitivity_ranking_orders_by_total_index_and_says_what_matters(tmp_path):
    import pandas as pd

    from sim.experiments import sensitivity

    idx = pd.DataFrame({"metric": ["m"] * 3, "parameter": ["psychology.lapse_max", "psychology.shame", "x.y"],
                        "S1": [0.1, 0.5, 0.0], "S1_conf": [0.05] * 3, "ST": [0.2, 0.6, 0.04],
                        "ST_conf": [0.2, 0.1, 0.01]})
    g = sensitivity.ranking(idx)["m"]
    assert g["parameter"].tolist() == ["psychology.shame", "psychology.lapse_max", "x.y"]
    assert g["matters"].tolist() == [True, False, False]     # 0.2 - 0.2 is not above the threshold
    assert g["status"].tolist() == ["free", "fitted", "setting"]
    text = sensitivity.markdown(idx)
    assert "matters (ST lower bound > 0.05): `psychology.shame`" in text
    (tmp_path / "sobol.csv").write_text(idx.to_csv(index=False))
    assert sensitivity.main([str(tmp_path)]) == 0
    assert sensitivity.main([str(tmp_path / "missing")]) == 2


def test_quarterly_transitions_count_status_changes_between_whole_quarters():
    import pandas as pd

    from sim.experiments.effects import QUARTER, quarterly_transitions

    days = range(1, 3 * QUARTER + 1)
    # member 0 uses one day in quarter 2 only: not -> using -> not (two changes in two pairs);
    # member 1 never uses (no change in two pairs); member 2 leaves mid quarter 2 (only one whole quarter)
    rows = [(t, 0, t == QUARTER + 5) for t in days] + [(t, 1, False) for t in days] \
        + [(t, 2, True) for t in range(1, QUARTER + 40)]
    md = pd.DataFrame(rows, columns=["step", "id", "using"])
    assert quarterly_transitions(md) == 2 / 4
