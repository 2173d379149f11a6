"""The shared per-member rules (sim/core/rules.py): bounds, directions, symmetry."""

import math

from hypothesis import given
from hypothesis import strategies as st

from sim.core import rules

unit = st.floats(0.0, 1.0)
rate = st.floats(0.0, 1.0)


@given(w=st.floats(0.0, 50.0), x=unit, using=st.booleans(), reached=st.sampled_from([0.0, 1.0]),
       base=rate, te=rate, se=rate, ue=rate, cb=rate)
def test_attendance_is_a_probability_and_moves_the_right_way(w, x, using, reached, base, te, se, ue, cb):
    ps = rules.AttendParams(tie_target=3.0, tie_effect=te, stress_effect=se, using_effect=ue, checkin_boost=cb)

    def attend(tie_total=w, stress=x, using=using, engaged=reached):
        return rules.attend_prob(tie_total, stress, using, engaged, base, ps)

    p = attend()
    assert 0.0 <= p <= 1.0
    assert attend(tie_total=w + 1.0) >= p
    assert attend(stress=min(1.0, x + 0.1)) <= p
    assert attend(using=True) <= attend(using=False)
    assert attend(engaged=1.0) >= attend(engaged=0.0)


def test_payoff_matrix():
    R, S, T, P = 3.0, 0.0, 5.0, 1.0
    assert rules.payoff(1, 1, R, S, T, P) == R
    assert rules.payoff(1, 0, R, S, T, P) == S
    assert rules.payoff(0, 1, R, S, T, P) == T
    assert rules.payoff(0, 0, R, S, T, P) == P


@given(x=unit, c=unit, lonely=unit, scarce=unit, support=unit, reached=st.sampled_from([0.0, 1.0]),
       attended=st.sampled_from([0.0, 1.0]), shock=unit, using=st.booleans(),
       params=st.lists(rate, min_size=8, max_size=8))
def test_stress_stays_in_bounds_and_support_lowers_it(x, c, lonely, scarce, support, reached, attended, shock,
                                                       using, params):
    ps = rules.StressParams(*params, saturating=False)
    day = rules.StressDay(conflict=c, lonely=lonely, scarce=scarce, support=support, reached=reached,
                          attended=attended, shock=shock, using=using)
    v = rules.stress_next(x, day, ps)
    assert 0.0 <= v <= 1.0
    assert rules.stress_next(x, day._replace(support=min(1.0, support + 0.2)), ps) <= v
    assert rules.stress_next(x, day._replace(attended=1.0), ps) <= rules.stress_next(x, day._replace(attended=0.0), ps)
    assert rules.stress_next(x, day._replace(scarce=min(1.0, scarce + 0.2)), ps) >= v


@given(pay=st.floats(-10, 10), tot=st.floats(0.01, 10))
def test_scarcity_is_one_at_the_worst_payoff_and_zero_at_the_best(pay, tot):
    R, S, T, P = 0.8, -0.2, 1.0, 0.0
    assert rules.scarcity(-0.2 * tot, tot, R, S, T, P) == 1.0
    assert rules.scarcity(1.0 * tot, tot, R, S, T, P) == 0.0
    v = rules.scarcity(pay, tot, R, S, T, P)
    assert 0.0 <= v <= 1.0
    assert rules.scarcity(pay + 0.1, tot, R, S, T, P) <= v
    assert rules.scarcity(pay, 0.0, R, S, T, P) == 0.0  # no ties: nothing exchanged (loneliness covers it)
    assert rules.scarcity(pay, tot, 1.0, 1.0, 1.0, 1.0) == 0.0


@given(u=st.floats(0.0, 0.999999), a=st.floats(0.2, 20), b=st.floats(0.2, 20))
def test_kumaraswamy_is_a_monotone_map_onto_the_unit_interval(u, a, b):
    v = rules.kumaraswamy(u, a, b)
    assert 0.0 <= v <= 1.0
    assert rules.kumaraswamy(min(0.999999, u + 0.01), a, b) >= v
    assert rules.kumaraswamy(0.0, a, b) == 0.0
    assert math.isclose(rules.kumaraswamy(u, 1.0, 1.0), u, abs_tol=1e-12)  # a = b = 1 is uniform


def test_kumaraswamy_mean_matches_its_formula():
    import numpy as np

    u = (np.arange(200_000) + 0.5) / 200_000
    for a, b in ((2.0, 3.0), (0.7, 1.5), (5.0, 1.0)):
        mean = float(np.mean([rules.kumaraswamy(x, a, b) for x in u]))
        exact = b * math.gamma(1 + 1 / a) * math.gamma(b) / math.gamma(1 + 1 / a + b)
        assert abs(mean - exact) < 1e-3


@given(cap=unit, support=unit, attended=st.sampled_from([0.0, 1.0]), helped=st.sampled_from([0.0, 1.0]),
       build=st.floats(0.0, 0.1), bonus=st.floats(0.0, 3.0), loss=rate, use_loss=rate)
def test_capital_grows_on_sober_days_and_falls_with_a_lapse(cap, support, attended, helped, build, bonus, loss,
                                                           use_loss):
    ps = rules.CapitalParams(build=build, meeting_bonus=bonus, help_bonus=bonus, support_bonus=bonus,
                             lapse_loss=loss, use_loss=use_loss)

    def capital(sober=True, lapsed=False, attended=attended):
        return rules.capital_next(cap, sober, lapsed, attended, helped, support, ps)

    grow = capital()
    assert cap <= grow <= 1.0
    assert capital(attended=1.0) >= capital(attended=0.0)
    assert capital(lapsed=True) == cap * (1.0 - loss)
    assert capital(sober=False) == cap * (1.0 - use_loss)


@given(p=rate, cap=unit, protection=rate)
def test_capital_protects_against_a_lapse(p, cap, protection):
    q = rules.protected(p, cap, protection)
    assert 0.0 <= q <= p
    assert rules.protected(p, min(1.0, cap + 0.1), protection) <= q
    assert rules.protected(p, 0.0, protection) == p


@given(y=unit, x=unit, support=unit, called=st.sampled_from([0.0, 1.0]), attended=st.sampled_from([0.0, 1.0]),
       acts=st.floats(0, 20), using=st.booleans(), params=st.lists(rate, min_size=7, max_size=7))
def test_craving_in_bounds_and_helping_lowers_it(y, x, support, called, attended, acts, using, params):
    ps = rules.CravingParams(*params, saturating=False)
    day = rules.CravingDay(stress=x, support=support, called=called, attended=attended, help_acts=acts, using=using)
    v = rules.craving_next(y, day, ps)
    assert 0.0 <= v <= 1.0
    assert rules.craving_next(y, day._replace(help_acts=acts + 1.0), ps) <= v
    assert rules.craving_next(y, day._replace(stress=min(1.0, x + 0.1)), ps) >= v


@given(y=unit, lmax=rate, mid=unit, width=st.floats(0.01, 1.0))
def test_lapse_probability_rises_with_craving(y, lmax, mid, width):
    p = rules.lapse_prob(y, lmax, mid, width)
    assert 0.0 <= p <= lmax
    assert rules.lapse_prob(min(1.0, y + 0.05), lmax, mid, width) >= p
    assert math.isclose(rules.lapse_prob(mid, lmax, mid, width), lmax / 2)


@given(w=st.floats(0.001, 1.0), si=st.sampled_from([0, 1]), sj=st.sampled_from([0, 1]),
       gain=rate, loss=rate, decay=rate)
def test_tie_update_is_symmetric_and_bounded(w, si, sj, gain, loss, decay):
    a = rules.tie_next(w, si, sj, gain, loss, decay)
    assert a == rules.tie_next(w, sj, si, gain, loss, decay)
    assert 0.0 <= a <= 1.0
    assert rules.tie_next(w, 1, 1, gain, loss, decay) >= rules.tie_next(w, 0, 0, gain, loss, decay)


@given(f1=st.floats(-100, 100), f2=st.floats(-100, 100), k=st.floats(0.01, 10))
def test_fermi_probability(f1, f2, k):
    p = rules.fermi_prob(f1, f2, k)
    assert 0.0 <= p <= 1.0
    if f2 > f1:
        assert p >= 0.5
    if (f2 - f1) / k > 1e-6:
        assert p > 0.5
    assert math.isclose(rules.fermi_prob(f1, f1, k), 0.5)
    assert math.isclose(p + rules.fermi_prob(f2, f1, k), 1.0, abs_tol=1e-12)


def test_shame_is_absorbed_by_support():
    assert rules.shame(0.2, 1.0, 0.3) == 0.2
    assert math.isclose(rules.shame(0.2, 0.0, 0.3), 0.5)
    assert rules.shame(0.9, 0.0, 0.3) == 1.0


def test_death_birth_weight_is_nonnegative():
    assert rules.db_weight(-100.0, 0.5) == 0.0
    assert math.isclose(rules.db_weight(2.0, 0.1), 1.1)
