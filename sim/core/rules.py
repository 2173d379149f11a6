"""The per-member arithmetic of one day, written once.

The stage bodies (``sim/core/stages.py``) call these functions, and both
engines run those bodies: the Mesa agents one member at a time, the kernel
engine in parallel loops. They take and return scalars, read nothing else and draw no random
numbers (the caller passes the uniform draws from ``sim.core.rng``), so the same
inputs give the same bits on both engines. Section numbers refer to
``docs/ODD.md`` ("Submodels").
"""

from __future__ import annotations

import math

from numba import njit

HELP = 1
COMPETE = 0


@njit(cache=True, inline="always")
def clip01(v):
    """Clamp to [0, 1]."""
    if v < 0.0:
        return 0.0
    if v > 1.0:
        return 1.0
    return v


@njit(cache=True)
def kumaraswamy(u, a, b):
    """5 A Kumaraswamy(a, b) value in [0, 1] from a uniform draw ``u`` (inverse CDF; Jones 2009)."""
    return (1.0 - (1.0 - u) ** (1.0 / b)) ** (1.0 / a)


@njit(cache=True)
def attend_prob(tie_total, stress, using, engaged, tie_target,
                base, tie_effect, stress_effect, using_effect, checkin_boost):
    """7.1 Attendance: chance of going to today's meeting.

    Starts from ``base`` (the member's own propensity, or with a weekly rhythm
    ``attendance.show`` on a scheduled day); rises with the total tie weight
    (saturating at ``tie_target``) and with the re-engagement left by check-ins
    (7.4); falls with stress and while in a lapse.
    """
    ties = tie_total / tie_target
    if ties > 1.0:
        ties = 1.0
    p = base + tie_effect * ties - stress_effect * stress + checkin_boost * engaged
    if using:
        p -= using_effect
    return clip01(p)


@njit(cache=True)
def meetings_a_week(u, mean):
    """5 A member's meetings a week, 1..7, from a uniform draw ``u``: ``1 + Binomial(6, (mean - 1) / 6)``
    by its inverse CDF (the smallest k whose cumulative probability exceeds ``u``), so the mean is ``mean``."""
    q = (mean - 1.0) / 6.0
    if q <= 0.0:
        return 1
    if q >= 1.0:
        return 7
    pk = (1.0 - q) ** 6  # P(Binomial = 0)
    acc = pk
    k = 0
    while u >= acc and k < 6:
        pk = pk * (6 - k) / (k + 1) * q / (1.0 - q)
        k += 1
        acc += pk
    return k + 1


@njit(cache=True, inline="always")
def scheduled(day, weekly, weekday):
    """7.1 Whether ``day`` is one of the meeting days of a member who goes ``weekly`` times a week from
    weekday ``weekday``: the days ``weekday + p`` (mod 7), p = 0..6, at which ``floor((p + 1) * weekly / 7)``
    steps up, so the meetings are spread evenly over the week (weekly 1: one day; 7: every day)."""
    p = (day - weekday) % 7
    return ((p + 1) * weekly) // 7 > (p * weekly) // 7


@njit(cache=True, inline="always")
def engagement_next(engaged, reached, effect_days):
    """7.4 Re-engagement after check-ins: 1 on the day a member is reached, otherwise
    ``1 - 1/effect_days`` of yesterday's (so ``effect_days`` = 1 keeps it one day)."""
    if reached:
        return 1.0
    return engaged * (1.0 - 1.0 / effect_days)


@njit(cache=True, inline="always")
def payoff(si, sj, R, S, T, P):
    """7.2 The 2x2 game: payoff to a member playing ``si`` against ``sj``."""
    if si == HELP:
        return R if sj == HELP else S
    return T if sj == HELP else P


@njit(cache=True)
def scarcity(pay, tie_total, R, S, T, P):
    """7.3 How poor the game left a member today, in [0, 1]: its payoff per unit tie weight,
    1 at the worst entry of the matrix, 0 at the best (0 without ties or if all entries are equal)."""
    lo = min(min(R, S), min(T, P))
    hi = max(max(R, S), max(T, P))
    if tie_total <= 0.0 or hi <= lo:
        return 0.0
    return clip01((hi - pay / tie_total) / (hi - lo))


@njit(cache=True)
def loneliness(tie_total, tie_target):
    """7.3 How far the total tie weight falls short of the target, in [0, 1]."""
    v = 1.0 - tie_total / tie_target
    return v if v > 0.0 else 0.0


@njit(cache=True, inline="always")
def saturate(x, up, down):
    """7.6 A state in [0, 1] that responds smoothly near its bounds: what raises it acts on the room left
    above (``up * (1 - x)``), what lowers it on what there is (``down * x``), so with rates below 1 it
    approaches 0 and 1 without reaching them (clamped only against rates above 1)."""
    return clip01(x + up * (1.0 - x) - down * x)


@njit(cache=True)
def stress_next(x, conflict, lonely, scarce, support, reached, attended, shock, using,
                decay, conflict_stress, loneliness_stress, scarcity_stress, support_buffer,
                using_stress, checkin_relief, meeting_relief, saturating=False):
    """7.6 Tomorrow's stress (before a lapse's shame), in [0, 1]: additive and clamped, or with
    ``psychology.saturating`` responding smoothly near the bounds (:func:`saturate`)."""
    if saturating:
        up = conflict_stress * conflict + loneliness_stress * lonely + scarcity_stress * scarce + shock
        if using:
            up += using_stress
        return saturate(x, up, decay + support_buffer * support + checkin_relief * reached
                        + meeting_relief * attended)
    v = (x - decay * x + conflict_stress * conflict + loneliness_stress * lonely + scarcity_stress * scarce
         + shock - support_buffer * support * x - checkin_relief * reached
         - meeting_relief * attended)
    if using:
        v += using_stress
    return clip01(v)


@njit(cache=True)
def craving_next(y, x, support, called, attended, help_acts, using,
                 decay, stress_craving, support_craving, using_craving,
                 call_relief, meeting_relief, helper_therapy, saturating=False):
    """7.6-7.7 Tomorrow's craving: stress pulls it up; support, a meeting, an
    answered sponsor call and one's own acts of help (helper therapy) pull it down
    (additive and clamped, or with ``psychology.saturating`` smoothly, :func:`saturate`)."""
    if saturating:
        up = stress_craving * x
        if using:
            up += using_craving
        return saturate(y, up, decay + support_craving * support + call_relief * called
                        + meeting_relief * attended + helper_therapy * help_acts)
    v = (y - decay * y + stress_craving * x - support_craving * support * y
         - call_relief * called - meeting_relief * attended - helper_therapy * help_acts)
    if using:
        v += using_craving
    return clip01(v)


@njit(cache=True)
def lapse_prob(craving, lapse_max, midpoint, width):
    """7.8 Daily chance that a sober member lapses: logistic in craving."""
    return lapse_max / (1.0 + math.exp(-(craving - midpoint) / width))


@njit(cache=True)
def protected(p_lapse, capital, protection):
    """7.8 The lapse hazard after recovery capital: ``p * (1 - protection * capital)``."""
    return p_lapse * (1.0 - protection * capital)


@njit(cache=True)
def stop_prob(support, reached, called, capital, base, support_effect, checkin_boost, sponsor_boost,
              capital_boost):
    """7.8 Daily chance that a member in a lapse stops."""
    return clip01(base + support_effect * support + checkin_boost * reached + sponsor_boost * called
                  + capital_boost * capital)


@njit(cache=True)
def capital_next(capital, sober, lapsed, attended, helped, support,
                 build, meeting_bonus, help_bonus, support_bonus, lapse_loss, use_loss):
    """7.8 Tomorrow's recovery capital: a sober day builds it (more with a meeting, an act of help and
    support), the day of a lapse cuts it by ``lapse_loss``, each further day in a lapse by ``use_loss``."""
    if lapsed:
        return capital * (1.0 - lapse_loss)
    if not sober:
        return capital * (1.0 - use_loss)
    g = build * (1.0 + meeting_bonus * attended + help_bonus * helped + support_bonus * support)
    return clip01(capital + g * (1.0 - capital))


@njit(cache=True)
def shame(stress, support, size, saturating=False):
    """7.8 Stress after a lapse: shame, absorbed in proportion to support (with ``psychology.saturating``
    it acts on the room left above, :func:`saturate`)."""
    if saturating:
        return saturate(stress, size * (1.0 - support), 0.0)
    return clip01(stress + size * (1.0 - support))


@njit(cache=True)
def tie_next(w, si, sj, help_gain, conflict_loss, decay):
    """7.9 Tomorrow's weight of the tie between members playing ``si`` and ``sj``.

    Symmetric in (si, sj), so both ends compute the same value.
    """
    helpers = si + sj
    competitors = 2 - helpers
    v = w - decay * w + help_gain * 0.5 * helpers * (1.0 - w) - conflict_loss * 0.5 * competitors * w
    return clip01(v)


@njit(cache=True)
def fitness(pay, stress, craving, wellbeing_weight):
    """7.10 Fitness: material payoff plus a weight on wellbeing."""
    return pay + wellbeing_weight * (1.0 - 0.5 * (stress + craving))


@njit(cache=True)
def fermi_prob(f_self, f_other, temperature):
    """7.10 Fermi rule (Szabo & Toke 1998): chance of adopting the other's strategy."""
    z = (f_self - f_other) / temperature
    if z > 700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(z))


@njit(cache=True)
def db_weight(f, selection):
    """7.10 Death-birth: a neighbour's weight in the competition for a site."""
    v = 1.0 - selection + selection * f
    return v if v > 0.0 else 0.0


@njit(cache=True)
def spread(mean, spread_, u):
    """Initial value uniform in mean +- spread from a uniform draw ``u``, clamped."""
    return clip01(mean + spread_ * (2.0 * u - 1.0))
