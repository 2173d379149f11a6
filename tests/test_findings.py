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
    assert s.startswith("Randomising members gave the largest estimate, 7.2")
    assert "against 4.0 (1.4 to 6.2) for randomising whole communities" in s and "intervals overlap" in s
    s = findings.which_larger("randomising members", (2.0, 1.0, 3.0), "randomising whole communities",
                              (9.0, 7.0, 11.0), "fewer relapses per 100 member-years")
    assert s.startswith("Randomising whole communities gave the largest estimate, 9.0")
    assert "lies above the other" in s


def test_the_largest_estimate_is_found_over_every_design_shown():
    """A trial of three designs: the sentence weighs all three (it compared two and could miss the largest)."""
    three = [("randomising members", (3.5, 1.0, 6.0)), ("randomising meetings", (5.0, 2.0, 8.0)),
             ("the whole community both ways", (5.1, 2.5, 7.7))]
    s = findings.largest(three, "fewer relapses")
    assert s.startswith("The whole community both ways gave the largest estimate, 5.1")
    assert "3.5 (1.0 to 6.0) for randomising members" in s and "5.0 (2.0 to 8.0) for randomising meetings" in s
    assert "intervals overlap" in s and "than the others" in s
    clear = [("a", (1.0, 0.5, 1.5)), ("b", (2.0, 1.6, 2.4)), ("c", (9.0, 8.0, 10.0))]
    s = findings.largest(clear, "fewer relapses")
    assert s.startswith("C gave the largest estimate, 9.0") and "lies above all the others" in s
    # the largest clear of one design but not of the other is not clear
    s = findings.largest([("a", (1.0, 0.5, 1.5)), ("b", (7.0, 6.0, 8.5)), ("c", (9.0, 8.0, 10.0))], "fewer")
    assert "intervals overlap" in s


def test_the_verdict_is_read_from_the_figures_as_shown():
    """A sentence never says "more" beside figures that read the same when rounded, nor that an interval
    shown as starting at 0.0 lies above zero."""
    s = findings.difference("Without check-ins, members had", MEASURE, 3.0, 0.04, 6.0, 8)
    assert "includes zero" in s and "+0.0 to +6.0" in s and "show an increase" not in s
    s = findings.difference("Without check-ins, members had", MEASURE, -3.0, -6.0, -0.04, 8)
    assert "includes zero" in s and "show a decrease" not in s
    s = findings.difference("Without check-ins, members had", MEASURE, 0.04, 0.01, 0.06, 8)
    assert "includes zero" in s and "+0.0 " in s and "more relapses" not in s
    r = findings.ratio("Members offered check-ins", 1.2, 1.004, 1.4, above="came back sooner",
                       below="came back later")
    assert "includes 1" in r and "1.00 to 1.40" in r and "show it" not in r
    s = findings.largest([("randomising members", (4.04, 1.0, 7.0)), ("the whole community", (3.96, 1.5, 6.5))],
                         "fewer relapses")
    assert "gave the same estimate, 4.0" in s and "largest" not in s
    p = findings.plainly("relapses", 41.4, 41.2, "without", "with", 0.2, 0.1, 0.4, 8)
    assert "do not make clear" in p and "more without" not in p


def test_put_plainly_keeps_how_sure_both_signs_and_none():
    kw = dict(count="relapses for every 100 members followed for a year", label_without="without check-ins",
              label_with="with them", n=8)
    up = findings.plainly(without=41.2, with_=37.1, estimate=4.1, low=1.4, high=6.2, **kw)
    assert "about 41 relapses" in up and "about 37 with them" in up and "about 4 more without" in up
    assert "between 1 and 6 more" in up and "8 runs" in up
    down = findings.plainly(without=30.0, with_=33.0, estimate=-3.0, low=-5.2, high=-1.1, **kw)
    assert "about 3 fewer without" in down and "between 1 and 5 fewer" in down and "more without" not in down
    none = findings.plainly(without=33.0, with_=32.0, estimate=1.0, low=-2.0, high=4.0, **kw)
    assert "do not make clear which way" in none and "from 2 fewer to 4 more" in none
    assert "more without (" not in none and "fewer without (" not in none


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@given(a=finite, b=finite, c=finite, n=st.integers(min_value=2, max_value=200))
def test_the_sentence_follows_the_interval_for_every_result(a, b, c, n):
    lo, est, hi = sorted((a, b, c))
    s = findings.difference("Without check-ins, members had", MEASURE, est, lo, hi, n)
    assert f"{n} paired runs" in s
    # the verdict agrees with the interval as printed (one decimal)
    if round(lo, 1) > 0:
        assert "more relapses" in s and "show an increase" in s and "fewer" not in s
    elif round(hi, 1) < 0:
        assert "fewer relapses" in s and "show a decrease" in s and " more " not in s
    else:
        assert "includes zero" in s and "show an increase" not in s and "show a decrease" not in s
    # every number in the sentence is one of the figures (to the digit shown), never another
    shown = {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.\d", s)}
    assert shown <= {abs(round(v, 1)) for v in (est, lo, hi)}


@given(a=finite, b=finite, c=finite, n=st.integers(min_value=2, max_value=200))
def test_put_plainly_follows_the_interval_for_every_result(a, b, c, n):
    lo, est, hi = sorted((a, b, c))
    s = findings.plainly("relapses", 40.0, 40.0 - est, "without", "with", est, lo, hi, n)
    if round(lo) > 0:
        assert "more without (the runs put it " in s
    elif round(hi) < 0:
        assert "fewer without (the runs put it " in s
    else:
        assert "do not make clear which way" in s and "without (the runs" not in s


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
    from dashboards import runner as dr
    from dashboards import texts

    sc_a, sc_b = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=42,
                                 steps=365)
    members = sc_a.population.size
    base = [100.0, 110.0, 95.0, 105.0, 98.0, 102.0]
    up = texts.compare_finding(sc_a, sc_b, _frames(base), _frames([x + 30 + i for i, x in enumerate(base)]))
    down = texts.compare_finding(sc_a, sc_b, _frames(base), _frames([x - 30 - i for i, x in enumerate(base)]))
    none = texts.compare_finding(sc_a, sc_b, _frames(base), _frames([x + d for x, d in zip(base, (5, -5, 3, -4, 1, 0))]))
    assert up.startswith("Without check-ins (B), members had more relapses per 100 members a year than with "
                         "check-ins (A)") and "show an increase" in up
    per100 = 100 * (30 + 2.5) / members  # the mean extra relapses per 100 members
    assert f"{per100:.1f} more" in up
    assert "fewer relapses" in down and "show a decrease" in down
    assert "includes zero" in none


def test_the_trial_s_sentences_follow_its_effects_table():
    import pandas as pd

    from dashboards import texts

    def fake(ind, com, hr):
        rows = []
        for design, (est, lo, hi) in (("individual", ind), ("community", com)):
            rows.append(dict(design=design, measure="relapses per 100 member-years, control - intervention",
                             estimate=est, low=lo, high=hi))
            rows.append(dict(design=design, measure="hazard ratio of returning after a first absence",
                             estimate=hr[0], low=hr[1], high=hr[2]))
        return type("R", (), dict(effects=pd.DataFrame(rows), intervention="checkins",
                                  designs=["individual", "community"], seeds=list(range(8))))()

    s = texts.trial_findings(fake((7.2, 3.3, 11.1), (4.0, 1.4, 6.2), (1.47, 1.2, 1.8)))
    assert "those not offered check-ins had more relapses" in s[0] and "4.0 more" in s[0] and "8 paired seeds" in s[0]
    assert "counted: the members present on day 0" in s[0]  # whom it counts (Compare counts every member)
    assert "came back sooner" in s[1] and "1.47" in s[1]
    assert s[2].startswith("Randomising members gave the largest estimate, 7.2") and "intervals overlap" in s[2]
    s = texts.trial_findings(fake((-1.0, -3.0, 1.0), (-2.0, -5.0, 1.0), (0.95, 0.8, 1.1)))
    assert "includes zero" in s[0] and "includes 1" in s[1]
    assert s[2].startswith("Randomising members gave the largest estimate, -1.0")


def test_the_trial_reports_every_headline_outcome_whichever_way_it_went():
    """Days without using against the intervention (-2.2 days) and a first lapse sooner are said, not
    left out; so is a result for it; and the largest effect is weighed over all three designs."""
    import pandas as pd

    from dashboards import texts

    def fake(days, first, designs=("individual", "meetings", "community")):
        rows = []
        for k, design in enumerate(designs):
            rows += [dict(design=design, measure="relapses per 100 member-years, control - intervention",
                          estimate=3.0 + k, low=1.0 + k, high=5.0 + k),
                     dict(design=design, measure="days abstinent a year, intervention - control",
                          estimate=days[0], low=days[1], high=days[2]),
                     dict(design=design, measure="hazard ratio of a first lapse", estimate=first[0], low=first[1],
                          high=first[2]),
                     dict(design=design, measure="hazard ratio of returning after a first absence", estimate=1.4,
                          low=1.2, high=1.6)]
        return type("R", (), dict(effects=pd.DataFrame(rows), intervention="checkins", designs=list(designs),
                                  seeds=list(range(8))))()

    against = " ".join(texts.trial_findings(fake((-2.2, -4.0, -0.5), (1.3, 1.1, 1.5))))
    assert "offered check-ins had fewer days without using a year than those not offered it: 2.2 fewer" in against
    assert "checked on" not in against  # counted by what they were offered (intention to treat)
    assert "had a first lapse sooner" in against and "show a decrease" in against
    assert "The whole community both ways gave the largest estimate, 5.0" in against
    assert "randomising meetings" in against and "randomising members" in against
    for_it = " ".join(texts.trial_findings(fake((2.2, 0.5, 4.0), (0.8, 0.7, 0.9))))
    assert "more days without using a year" in for_it and "went longer before a first lapse" in for_it
    none = " ".join(texts.trial_findings(fake((0.3, -1.0, 1.6), (1.0, 0.9, 1.1))))
    assert none.count("includes zero") == 1 and "includes 1" in none


def test_compare_and_trial_say_whom_they_count():
    from dashboards import runner as dr
    from dashboards import texts
    from sim.experiments import trial

    sc_a, sc_b = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=42,
                                 steps=365)
    base = [100.0, 110.0, 95.0, 105.0]
    s = texts.compare_finding(sc_a, sc_b, _frames(base), _frames([x + 20 for x in base]))
    assert "Counted: every member, newcomers included" in s
    from sim.experiments.compare import headline_of

    h = headline_of(sc_a, sc_b, base, [x + 20 for x in base], [0.5] * 4, [0.5] * 4)
    assert "every member counted, newcomers included" in h
    assert trial.COHORT["checkins"] == "members present on day 0"


def _summary(helpers: dict[str, tuple[float, float, float]]):
    import pandas as pd

    return pd.DataFrame([dict(arm=a, helpers=h, helpers_low=lo, helpers_high=hi) for a, (h, lo, hi) in helpers.items()])


def test_the_lesson_s_sentence_follows_its_table():
    from dashboards import texts

    names = ("Network reciprocity", "Wellbeing counts as success", "Partner choice", "Newcomers re-seed helpers",
             "Survival of the supported")
    base = {"all off": (0.10, 0.05, 0.15), "all on": (0.90, 0.85, 0.95)}
    two = {**base, **{f"{n} only": ((0.8, 0.7, 0.9) if n in ("Partner choice", "Survival of the supported")
                                    else (0.12, 0.06, 0.18)) for n in names},
           **{f"all but {n.lower()}": ((0.3, 0.2, 0.4) if n == "Partner choice" else (0.9, 0.84, 0.95))
              for n in names}}
    s = texts.lesson_finding(_summary(two))
    assert s.startswith("Alone, partner choice and survival of the supported each end with clearly more helpers "
                        "than with every mechanism off (0.80, 0.80 against 0.10)")
    assert "network reciprocity, wellbeing counts as success and newcomers re-seed helpers alone do not" in s
    assert "Taking partner choice away from all on leaves clearly fewer helpers (0.30 against 0.90)" in s
    none = {**base, **{f"{n} only": (0.12, 0.05, 0.2) for n in names},
            **{f"all but {n.lower()}": (0.88, 0.8, 0.95) for n in names}}
    s = texts.lesson_finding(_summary(none))
    assert s.startswith("No mechanism alone ends with clearly more helpers") and "leaves no clearly fewer" in s


def test_the_lesson_s_verdict_is_read_from_the_figures_as_its_table_shows_them():
    """An interval ending at 0.151 beside one starting at 0.149 reads 0.15 and 0.15 in the table: not
    "clearly more"."""
    from dashboards import texts

    names = ("Network reciprocity", "Wellbeing counts as success", "Partner choice", "Newcomers re-seed helpers",
             "Survival of the supported")
    rows = {"all off": (0.10, 0.05, 0.149), "all on": (0.90, 0.852, 0.95),
            **{f"{n} only": (0.2, 0.151, 0.25) for n in names},
            **{f"all but {n.lower()}": (0.8, 0.7, 0.848) for n in names}}
    s = texts.lesson_finding(_summary(rows))
    assert s.startswith("No mechanism alone ends with clearly more helpers") and "leaves no clearly fewer" in s
