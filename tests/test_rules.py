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
    p = rules.attend_prob(w, x, using, reached, 3.0, base, te, se, ue, cb)
    assert 0.0 <= p <= 1.0
    assert rules.attend_prob(w + 1.0, x, using, reached, 3.0, base, te, se, ue, cb) >= p
    assert rules.attend_prob(w, min(1.0, x + 0.1), using, reached, 3.0, base, te, se, ue, cb) <= p
    assert rules.attend_prob(w, x, True, reached, 3.0, base, te, se, ue, cb) <= \
        rules.attend_prob(w, x, False, reached, 3.0, base, te, se, ue, cb)
    assert rules.attend_prob(w, x, using, 1.0, 3.0, base, te, se, ue, cb) >= \
        rules.attend_prob(w, x, using, 0.0, 3.0, base, te, se, ue, cb)


def test_payoff_matrix():
    R, S, T, P = 3.0, 0.0, 5.0, 1.0
    assert rules.payoff(1, 1, R, S, T, P) == R
    assert rules.payoff(1, 0, R, S, T, P) == S
    assert rules.payoff(0, 1, R, S, T, P) == T
    assert rules.payoff(0, 0, R, S, T, P) == P


@given(x=unit, c=unit, lonely=unit, support=unit, reached=st.sampled_from([0.0, 1.0]),
       attended=st.sampled_from([0.0, 1.0]), shock=unit, using=st.booleans(),
       params=st.lists(rate, min_size=7, max_size=7))
def test_stress_stays_in_bounds_and_support_lowers_it(x, c, lonely, support, reached, attended, shock, using,
                                                       params):
    v = rules.stress_next(x, c, lonely, support, reached, attended, shock, using, *params)
    assert 0.0 <= v <= 1.0
    more_support = rules.stress_next(x, c, lonely, min(1.0, support + 0.2), reached, attended, shock, using,
                                     *params)
    assert more_support <= v
    assert rules.stress_next(x, c, lonely, support, reached, 1.0, shock, using, *params) <= \
        rules.stress_next(x, c, lonely, support, reached, 0.0, shock, using, *params)


@given(y=unit, x=unit, support=unit, called=st.sampled_from([0.0, 1.0]), attended=st.sampled_from([0.0, 1.0]),
       acts=st.floats(0, 20), using=st.booleans(), params=st.lists(rate, min_size=7, max_size=7))
def test_craving_in_bounds_and_helping_lowers_it(y, x, support, called, attended, acts, using, params):
    v = rules.craving_next(y, x, support, called, attended, acts, using, *params)
    assert 0.0 <= v <= 1.0
    assert rules.craving_next(y, x, support, called, attended, acts + 1.0, using, *params) <= v
    assert rules.craving_next(y, min(1.0, x + 0.1), support, called, attended, acts, using, *params) >= v


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
