"""The sentences beside a comparison's numbers (sim/experiments/findings.py) say what the numbers say:
which way, how big, how sure, and that the data show no direction when the interval includes no
difference. Synthetic results of both signs and of no difference; then every combination hypothesis finds."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from sim.experiments import findings

MEASURE = "relapses per 100 members a year"


def test_an_increase_is_called_an_increase_with_its_size_and_interval():
    s = findings.difference("Without check-ins, members had", MEASURE, 6.7, 4.8, 8.6, 12, reference=26.8,
                            than="with check-ins")
    assert s.startswith("Without check-ins, members had more relapses per 100 members a year than with check-ins")
    assert "6.7 more" in s and "25% more than 26.8" in s and "4.8 to 8.6 more" in s and "12 paired runs" in s
    assert "show an increase" in s and "fewer" not in s


def test_a_decrease_is_called_a_decrease_with_its_size_and_interval():
    s = findings.difference("With check-ins, members had", MEASURE, -6.7, -8.6, -4.8, 12, reference=33.5)
    assert "fewer relapses" in s and "6.7 fewer" in s and "20% fewer than 33.5" in s and "4.8 to 8.6 fewer" in s
    assert "show a decrease" in s and " more" not in s


def test_an_interval_that_includes_zero_shows_no_direction():
    for est, lo, hi in ((0.4, -1.2, 2.0), (-0.4, -2.0, 1.2), (0.0, -1.0, 1.0), (1.5, 0.0, 3.0)):
        s = findings.difference("Without check-ins, members had", MEASURE, est, lo, hi, 12)
        assert "includes zero" in s and "do not show whether there are more or fewer" in s
        assert f"{est:+.1f}" in s and f"{lo:+.1f} to {hi:+.1f}" in s
        assert "show an increase" not in s and "show a decrease" not in s


def test_one_pair_of_runs_says_it_cannot_tell():
    s = findings.difference("Without check-ins, members had", MEASURE, 3.0, math.nan, math.nan, 1)
    assert "3.0 more" in s and "cannot tell a difference from chance" in s


def test_ratios_of_both_directions_and_of_none():
    kw = dict(above="came back sooner", below="came back later")
    up = findings.ratio("Members who were checked on", 1.47, 1.2, 1.8, **kw)
    down = findings.ratio("Members who were checked on", 0.7, 0.55, 0.9, **kw)
    none = findings.ratio("Members who were checked on", 1.05, 0.9, 1.2, **kw)
    assert "came back sooner" in up and "later" not in up and "1.47 times" in up and "above 1" in up
    assert "came back later" in down and "sooner" not in down and "0.70 times" in down and "below 1" in down
    assert "includes 1" in none and "do not show whether they came back sooner or came back later" in none


def test_which_design_found_the_larger_effect_and_whether_that_is_sure():
    members, community = (7.2, 3.3, 11.1), (4.0, 1.4, 6.2)
    s = findings.which_larger("randomising members", members, "randomising whole communities", community,
                              "fewer relapses per 100 member-years")
    assert s.startswith("Randomising members gave the larger estimate, 7.2")
    assert "against 4.0 (1.4 to 6.2) for randomising whole communities" in s and "intervals overlap" in s
    s = findings.which_larger("randomising members", (2.0, 1.0, 3.0), "randomising whole communities",
                              (9.0, 7.0, 11.0), "fewer relapses per 100 member-years")
    assert s.startswith("Randomising whole communities gave the larger estimate, 9.0")
    assert "do not overlap" in s


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@given(a=finite, b=finite, c=finite, n=st.integers(min_value=2, max_value=200))
def test_the_sentence_follows_the_interval_for_every_result(a, b, c, n):
    lo, est, hi = sorted((a, b, c))
    s = findings.difference("Without check-ins, members had", MEASURE, est, lo, hi, n)
    assert f"{n} paired runs" in s
    if lo > 0:
        assert "more relapses" in s and "show an increase" in s and "fewer" not in s
    elif hi < 0:
        assert "fewer relapses" in s and "show a decrease" in s and " more " not in s
    else:
        assert "includes zero" in s and "show an increase" not in s and "show a decrease" not in s
    # every number in the sentence is one of the figures (to the digit shown), never another
    shown = {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.\d", s)}
    assert shown <= {round(abs(v), 1) for v in (est, lo, hi)}


# ----------------------------------------------------------------------------- the page's sentences


def _frames(totals, steps=365):
    import numpy as np
    import pandas as pd

    out = []
    for t in totals:
        rel = np.zeros(steps + 1)
        rel[1:] = t / steps
        out.append(pd.DataFrame({"step": np.arange(steps + 1), "relapses": rel, "helpers": np.full(steps + 1, 0.5)}))
    return out


def test_the_compare_tab_s_sentence_follows_its_replicates():
    from dashboards import support as ds

    sc_a, sc_b = ds.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=42,
                                 steps=365)
    members = sc_a.population.size
    base = [100.0, 110.0, 95.0, 105.0, 98.0, 102.0]
    up = ds.compare_finding(sc_a, sc_b, _frames(base), _frames([x + 30 + i for i, x in enumerate(base)]))
    down = ds.compare_finding(sc_a, sc_b, _frames(base), _frames([x - 30 - i for i, x in enumerate(base)]))
    none = ds.compare_finding(sc_a, sc_b, _frames(base), _frames([x + d for x, d in zip(base, (5, -5, 3, -4, 1, 0))]))
    assert up.startswith("Without check-ins (B), members had more relapses per 100 members a year than with "
                         "check-ins (A)") and "show an increase" in up
    per100 = 100 * (30 + 2.5) / members  # the mean extra relapses per 100 members
    assert f"{per100:.1f} more" in up
    assert "fewer relapses" in down and "show a decrease" in down
    assert "includes zero" in none


def test_the_trial_s_sentences_follow_its_effects_table():
    import pandas as pd

    from dashboards import support as ds

    def fake(ind, com, hr):
        rows = []
        for design, (est, lo, hi) in (("individual", ind), ("community", com)):
            rows.append(dict(design=design, measure="relapses per 100 member-years, control - intervention",
                             estimate=est, low=lo, high=hi))
            rows.append(dict(design=design, measure="hazard ratio of returning after a first absence",
                             estimate=hr[0], low=hr[1], high=hr[2]))
        return type("R", (), dict(effects=pd.DataFrame(rows), intervention="checkins",
                                  designs=["individual", "community"], seeds=list(range(8))))()

    s = ds.trial_findings(fake((7.2, 3.3, 11.1), (4.0, 1.4, 6.2), (1.47, 1.2, 1.8)))
    assert "members without check-ins had more relapses" in s[0] and "4.0 more" in s[0] and "8 paired seeds" in s[0]
    assert "came back sooner" in s[1] and "1.47" in s[1]
    assert s[2].startswith("Randomising members gave the larger estimate, 7.2") and "intervals overlap" in s[2]
    s = ds.trial_findings(fake((-1.0, -3.0, 1.0), (-2.0, -5.0, 1.0), (0.95, 0.8, 1.1)))
    assert "includes zero" in s[0] and "includes 1" in s[1]
    assert s[2].startswith("Randomising members gave the larger estimate, -1.0")


def _summary(helpers: dict[str, tuple[float, float, float]]):
    import pandas as pd

    return pd.DataFrame([dict(arm=a, helpers=h, helpers_low=lo, helpers_high=hi) for a, (h, lo, hi) in helpers.items()])


def test_the_lesson_s_sentence_follows_its_table():
    from dashboards import support as ds

    names = ("Network reciprocity", "Wellbeing counts as success", "Partner choice", "Newcomers re-seed helpers",
             "Survival of the supported")
    base = {"all off": (0.10, 0.05, 0.15), "all on": (0.90, 0.85, 0.95)}
    two = {**base, **{f"{n} only": ((0.8, 0.7, 0.9) if n in ("Partner choice", "Survival of the supported")
                                    else (0.12, 0.06, 0.18)) for n in names},
           **{f"all but {n.lower()}": ((0.3, 0.2, 0.4) if n == "Partner choice" else (0.9, 0.84, 0.95))
              for n in names}}
    s = ds.lesson_finding(_summary(two))
    assert s.startswith("Alone, partner choice and survival of the supported each end with clearly more helpers "
                        "than with every mechanism off (0.80, 0.80 against 0.10)")
    assert "network reciprocity, wellbeing counts as success and newcomers re-seed helpers alone do not" in s
    assert "Taking partner choice away from all on leaves clearly fewer helpers (0.30 against 0.90)" in s
    none = {**base, **{f"{n} only": (0.12, 0.05, 0.2) for n in names},
            **{f"all but {n.lower()}": (0.88, 0.8, 0.95) for n in names}}
    s = ds.lesson_finding(_summary(none))
    assert s.startswith("No mechanism alone ends with clearly more helpers") and "leaves no clearly fewer" in s
