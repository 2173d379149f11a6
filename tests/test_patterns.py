"""The cohort patterns (sim/experiments/patterns.py) and the calibration score, on hand-made inputs."""

import math
from types import SimpleNamespace

import pandas as pd

from sim.core.schema import Scenario
from sim.experiments import calibrate, patterns


def fake_result(rows, threshold=2):
    sc = Scenario().model_copy(update={"checkins": Scenario().checkins.model_copy(
        update={"missed_threshold": threshold})})
    md = pd.DataFrame(rows, columns=["step", "id", "attended"])
    return SimpleNamespace(scenario=sc, member_days=md)


def test_absence_spells_count_from_the_check_in_threshold_and_censor_open_spells():
    # member 0: away days 1-5, back on day 6 (threshold 2: checkable from its 3rd day away, day 3;
    # back 3 days after reaching it); away 7-8 only (too short); member 1: away from day 2 to the end
    att0 = [False, False, False, False, False, True, False, False, True, True]
    att1 = [True] + [False] * 9
    rows = [(t + 1, 0, a) for t, a in enumerate(att0)] + [(t + 1, 1, a) for t, a in enumerate(att1)]
    out = patterns.absence_spells(fake_result(rows))
    assert out["spells"] == 2                 # one ended, one censored; the 2-day absence is not a spell
    assert out["days_to_return"] == 3.0
    assert out["returned_within_30_days"] == 0.5


def test_entry_cohort_follows_newcomers_a_year_from_joining():
    mem = pd.DataFrame({
        "joined_step": [0, 10, 20, 95],
        "first_use_step": pd.array([5, 40, 500, None], dtype="Int64"),
        "help_share": [1.0, 1.0, 0.0, 1.0],
        "sponsor_id": pd.array([None, 3, None, None], dtype="Int64"),
    })
    out = patterns.entry_cohort(mem)
    assert out["entry_members"] == 2                   # joined on days 1..90
    assert out["entry_used_within_year"] == 0.5        # 30 days after joining yes, 480 days no
    assert out["entry_first_use_within_90_days"] == 1.0
    assert out["entry_sponsored"] == 0.5 and out["entry_sponsored_abstinent"] == 0.0


def test_the_calibration_score_is_zero_on_target_and_grows_away_from_it():
    p = {k: m for k, (m, _) in calibrate.TARGETS.items()}
    p.update(entry_helpers_abstinent_km=0.36, entry_nonhelpers_abstinent_km=0.2)  # ratio 1.8
    assert math.isclose(calibrate.score(p), 0.0, abs_tol=1e-12)
    k, (m, sd) = next(iter(calibrate.TARGETS.items()))
    assert math.isclose(calibrate.score(dict(p, **{k: m + sd})), 1.0)


def test_the_search_scores_points_and_sorts_them(monkeypatch):
    def fake_evaluate(x, seeds):
        p = {k: m for k, (m, _) in calibrate.TARGETS.items()}
        p.update(entry_helpers_abstinent_km=0.36, entry_nonhelpers_abstinent_km=0.2)
        p["entry_abstinent_km"] = x["psychology.lapse_max"]  # a score that depends on the point
        return p

    monkeypatch.setattr(calibrate, "evaluate", fake_evaluate)
    rows = calibrate.search(6, [0], rng_seed=3, log=lambda *_: None)
    assert len(rows) == 6 and [r[0] for r in rows] == sorted(r[0] for r in rows)
    lo, hi = calibrate.SPACE["psychology.lapse_max"]
    assert all(lo <= r[1]["psychology.lapse_max"] <= hi for r in rows)


def test_kaplan_meier_agrees_with_lifelines_on_random_cohorts():
    import numpy as np
    from hypothesis import given, settings, strategies as st
    from lifelines import KaplanMeierFitter

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=60),
           st.integers(0, 400))
    def check(rows, at):
        t = np.array([r[0] for r in rows], dtype=float)
        e = np.array([r[1] for r in rows])
        kmf = KaplanMeierFitter().fit(t, e)
        expected = float(kmf.survival_function_at_times(at).iloc[0])
        assert math.isclose(patterns.km_survival(t, e, at), expected, rel_tol=1e-12, abs_tol=1e-12)

    check()


def test_leavers_are_censored_not_counted_abstinent():
    # five newcomers joining on day 10: one uses on day 40; three leave on days 20, 30 and 60 without
    # using; one stays abstinent all year. Counting leavers as abstinent: 4/5 abstinent. Kaplan-Meier:
    # on day 40 (30 days after joining) three are still followed (the user, the day-60 leaver and the
    # stayer) and one of them uses: S = 2/3.
    mem = pd.DataFrame({
        "joined_step": [10] * 5,
        "first_use_step": pd.array([40, None, None, None, None], dtype="Int64"),
        "left_step": pd.array([None, 20, 30, 60, None], dtype="Int64"),
        "help_share": [1.0, 0.0, 0.0, 1.0, 1.0],
        "sponsor_id": pd.array([None] * 5, dtype="Int64"),
    })
    out = patterns.entry_cohort(mem)
    assert out["entry_used_within_year"] == 0.2                 # the old figure: leavers abstinent
    assert math.isclose(out["entry_abstinent_km"], 2 / 3)
    assert out["entry_used_or_left"] == 0.8 and out["entry_left"] == 0.6
    # helpers are those same three: 2/3; the non-helpers both left without using: KM 1, used or left 1
    assert math.isclose(out["entry_helpers_abstinent_km"], 2 / 3)
    assert out["entry_nonhelpers_abstinent_km"] == 1.0 and out["entry_nonhelpers_used_or_left"] == 1.0
    assert out["entry_first_use_within_90_days_km"] == 1.0


def test_absence_is_measured_against_the_members_own_meetings():
    # a member who goes on days 1, 8, 15, ... (once a week): away on the days between is its pattern,
    # not an absence. It misses its meetings of days 8 and 15 (threshold 2): from day 16 a check-in can
    # come; it is back at its meeting of day 29 (its day-22 meeting missed too): a spell of 13 days.
    steps = range(1, 36)
    due = [(t - 1) % 7 == 0 for t in steps]
    attended = [d and t not in (8, 15, 22) for t, d in zip(steps, due)]
    md = pd.DataFrame({"step": list(steps), "id": 0, "attended": attended, "due": due})
    sp = patterns.spell_table(md, 2)
    assert sp["duration"].tolist() == [13.0] and sp["returned"].tolist() == [True]
    # without the due column every day is a meeting day: the same member is "absent" from day 4 (its
    # third day away), 25 days before it comes back, and again after day 29 (censored at the end)
    daily = patterns.spell_table(md.drop(columns="due"), 2)
    assert daily["duration"].tolist() == [25.0, 4.0] and daily["returned"].tolist() == [True, False]


def test_pinned_counts_member_days_at_a_bound():
    md = pd.DataFrame({"step": [0, 1, 1, 2, 2], "stress": [1.0, 1.0, 0.5, 0.2, 0.3],
                       "craving": [0.0, 0.0, 0.0, 0.0, 0.4], "capital": [0.5, 0.5, 0.5, 1.0, 0.5]})
    out = patterns.pinned(md)                 # day 0 is not counted
    assert out["stress_at_1"] == 0.25 and out["stress_at_0"] == 0.0
    assert out["craving_at_0"] == 0.75 and out["capital_at_1"] == 0.25
    assert out["worst"] == 0.75
