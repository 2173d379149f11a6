"""The per-member arithmetic of one day, written once.

The stage bodies (``sim/core/stages.py``) call these functions, and both
engines run those bodies: the Mesa agents one member at a time, the kernel
engine in parallel loops. They take scalars and named bundles of scalars (a member's
day, such as :class:`StressDay`, and a rule's parameters, such as :class:`StressParams`:
named tuples, which numba passes by value at no cost), return scalars, read nothing else
and draw no random numbers (the caller passes the uniform draws from ``sim.core.rng``),
so the same inputs give the same bits on both engines. Section numbers refer to
``docs/ODD.md`` ("Submodels").
"""

from __future__ import annotations

import math
from typing import NamedTuple

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


class AttendParams(NamedTuple):
    """The attendance parameters of 7.1 (``psychology.tie_target`` and ``attendance.*``)."""

    tie_target: float
    tie_effect: float
    stress_effect: float
    using_effect: float
    checkin_boost: float


@njit(cache=True)
def attend_prob(tie_total, stress, using, engaged, base, p):
    """7.1 Attendance: chance of going to today's meeting (``p``: :class:`AttendParams`).

    Starts from ``base`` (the member's own propensity, or with a weekly rhythm
    ``attendance.show`` on a scheduled day); rises with the total tie weight
    (saturating at ``tie_target``) and with the re-engagement left by check-ins
    (7.4); falls with stress and while in a lapse.
    """
    ties = tie_total / p.tie_target
    if ties > 1.0:
        ties = 1.0
    v = base + p.tie_effect * ties - p.stress_effect * stress + p.checkin_boost * engaged
    if using:
        v -= p.using_effect
    return clip01(v)


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


class StressDay(NamedTuple):
    """A member's day as its stress sees it (7.6; ``reached``, ``attended``: 0.0 or 1.0)."""

    conflict: float
    lonely: float
    scarce: float
    support: float
    reached: float
    attended: float
    shock: float
    using: bool


class StressParams(NamedTuple):
    """The stress parameters of 7.6 (``psychology.*``, ``checkins.stress_relief``, ``attendance.stress_relief``)."""

    decay: float
    conflict_stress: float
    loneliness_stress: float
    scarcity_stress: float
    support_buffer: float
    using_stress: float
    checkin_relief: float
    meeting_relief: float
    saturating: bool


@njit(cache=True)
def stress_next(x, d, p):
    """7.6 Tomorrow's stress (before a lapse's shame), in [0, 1], from today's ``x``, the day ``d``
    (:class:`StressDay`) and the parameters ``p`` (:class:`StressParams`): additive and clamped, or with
    ``psychology.saturating`` responding smoothly near the bounds (:func:`saturate`)."""
    if p.saturating:
        up = p.conflict_stress * d.conflict + p.loneliness_stress * d.lonely + p.scarcity_stress * d.scarce + d.shock
        if d.using:
            up += p.using_stress
        return saturate(x, up, p.decay + p.support_buffer * d.support + p.checkin_relief * d.reached
                        + p.meeting_relief * d.attended)
    v = (x - p.decay * x + p.conflict_stress * d.conflict + p.loneliness_stress * d.lonely
         + p.scarcity_stress * d.scarce + d.shock - p.support_buffer * d.support * x - p.checkin_relief * d.reached
         - p.meeting_relief * d.attended)
    if d.using:
        v += p.using_stress
    return clip01(v)


class CravingDay(NamedTuple):
    """A member's day as its craving sees it (7.6-7.7; ``called``, ``attended``: 0.0 or 1.0)."""

    stress: float
    support: float
    called: float
    attended: float
    help_acts: float
    using: bool


class CravingParams(NamedTuple):
    """The craving parameters of 7.6-7.7 (``psychology.*``, ``sponsorship.craving_relief``,
    ``attendance.craving_relief``)."""

    decay: float
    stress_craving: float
    support_craving: float
    using_craving: float
    call_relief: float
    meeting_relief: float
    helper_therapy: float
    saturating: bool


@njit(cache=True)
def craving_next(y, d, p):
    """7.6-7.7 Tomorrow's craving from today's ``y``, the day ``d`` (:class:`CravingDay`) and the parameters
    ``p`` (:class:`CravingParams`): stress pulls it up; support, a meeting, an answered sponsor call and
    one's own acts of help (helper therapy) pull it down (additive and clamped, or with
    ``psychology.saturating`` smoothly, :func:`saturate`)."""
    if p.saturating:
        up = p.stress_craving * d.stress
        if d.using:
            up += p.using_craving
        return saturate(y, up, p.decay + p.support_craving * d.support + p.call_relief * d.called
                        + p.meeting_relief * d.attended + p.helper_therapy * d.help_acts)
    v = (y - p.decay * y + p.stress_craving * d.stress - p.support_craving * d.support * y
         - p.call_relief * d.called - p.meeting_relief * d.attended - p.helper_therapy * d.help_acts)
    if d.using:
        v += p.using_craving
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


class CapitalParams(NamedTuple):
    """The recovery-capital parameters of 7.8 (``recovery.*``)."""

    build: float
    meeting_bonus: float
    help_bonus: float
    support_bonus: float
    lapse_loss: float
    use_loss: float


@njit(cache=True)
def capital_next(capital, sober, lapsed, attended, helped, support, p):
    """7.8 Tomorrow's recovery capital (``p``: :class:`CapitalParams`): a sober day builds it (more with a
    meeting, an act of help and support), the day of a lapse cuts it by ``lapse_loss``, each further day in
    a lapse by ``use_loss``."""
    if lapsed:
        return capital * (1.0 - p.lapse_loss)
    if not sober:
        return capital * (1.0 - p.use_loss)
    g = p.build * (1.0 + p.meeting_bonus * attended + p.help_bonus * helped + p.support_bonus * support)
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
