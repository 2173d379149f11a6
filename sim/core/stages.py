"""The stages of a day, each written once (docs/ODD.md, sections 3, 5 and 7).

Every function here is the *whole* logic of one stage for one member (or one
meeting): the neighbour sums in canonical (ascending slot) order, who is
eligible, the keyed random draw, the decision through :mod:`sim.core.rules`
and the writes. Both engines run these very bodies: the Mesa agents call
them one member at a time (``Member.check_in`` calls :func:`check_in` with
its own slot), the kernel engine calls them in the ``prange`` loops of this module's
``*_all`` functions (``check_in_all``, ``find_sponsor_all``, ...). The order of the stages is declared once, in
:data:`sim.core.schedule.SCHEDULE`.

Every body takes ``c``, the compiled community (:mod:`sim.core.community`):
its arrays by slot (``c.stress[i]``), the parameters by scenario key
(``c.checkins_prob`` is ``checkins.prob``), ``c.clock`` (today's day and
flags) and ``c.keys`` (today's stream key per purpose).

Synchronous update: a member stage reads the state at the start of the day
and what earlier stages wrote, and writes only its own entries (``next_*``
and today's values) so the members can be visited in any order, in
parallel. The serial stages (``find_sponsor``, ``call_sponsor``) write to
another member and run in slot order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core import rng
from sim.core._ref import clear_member, start_records
from sim.core.layout import ANY_ISO, CHOICES, DAY, ISO_ON, NEXT_ID, NPURPOSE, REVISING
from sim.core.rng import stream_key, uniform_in
from sim.core.rules import (
    HELP,
    AttendParams,
    CapitalParams,
    CravingDay,
    CravingParams,
    StressDay,
    StressParams,
    attend_prob,
    capital_next,
    craving_next,
    db_weight,
    engagement_next,
    fermi_prob,
    fitness,
    kumaraswamy,
    lapse_prob,
    loneliness,
    meetings_a_week,
    payoff,
    protected,
    scarcity,
    scheduled,
    shame,
    spread,
    stop_prob,
    stress_next,
    tie_next,
)

FERMI, IMITATE_BEST, DEATH_BIRTH = 0, 1, 2  # evolution_rule_code (order of schema.EVOLUTION_RULES)
NEEDS, ACTIVE = 1, 2  # bits of role: needs a check-in today, can make one today (7.4)
TRIAL_CHECKINS, TRIAL_SPONSORSHIP = 0, 1  # trial_intervention_code (order of schema.TRIAL_INTERVENTIONS)
INITIAL, MIX = 0, 1  # newcomer_strategy_code (order of schema.NEWCOMER_STRATEGIES)


@njit(inline="always")
def _f(b):
    """A flag as 0.0 or 1.0."""
    return 1.0 if b else 0.0


# ============================================================================ the rules' parameter bundles
@njit(inline="always")
def attend_params(c):
    """7.1 :class:`sim.core.rules.AttendParams` of the scenario."""
    return AttendParams(c.psychology_tie_target, c.attendance_tie_effect, c.attendance_stress_effect,
                        c.attendance_using_effect, c.attendance_checkin_boost)


@njit(inline="always")
def stress_params(c):
    """7.6 :class:`sim.core.rules.StressParams` of the scenario."""
    return StressParams(c.psychology_stress_decay, c.psychology_conflict_stress, c.psychology_loneliness_stress,
                        c.psychology_scarcity_stress, c.psychology_support_buffer, c.psychology_using_stress,
                        c.checkins_stress_relief, c.attendance_stress_relief, c.psychology_saturating)


@njit(inline="always")
def craving_params(c):
    """7.6-7.7 :class:`sim.core.rules.CravingParams` of the scenario."""
    return CravingParams(c.psychology_craving_decay, c.psychology_stress_craving, c.psychology_support_craving,
                         c.psychology_using_craving, c.sponsorship_craving_relief, c.attendance_craving_relief,
                         c.psychology_helper_therapy, c.psychology_saturating)


@njit(inline="always")
def capital_params(c):
    """7.8 :class:`sim.core.rules.CapitalParams` of the scenario."""
    return CapitalParams(c.recovery_build, c.recovery_meeting_bonus, c.recovery_help_bonus,
                         c.recovery_support_bonus, c.recovery_lapse_loss, c.recovery_use_loss)


# ============================================================================ the day begins
@njit(cache=True)
def open_day(c, day):
    """Section 3: today's day, whether isolation is in force (7.1), whether strategies are revised
    today (7.10: ``evolution.enabled`` and ``day % evolution.interval == 0``) and every purpose's stream key."""
    c.clock[DAY] = day
    on = (c.psychology_enabled and c.isolation_enabled and c.isolation_start <= day
          and day < c.isolation_start + c.isolation_duration)
    c.clock[ISO_ON] = 1 if on else 0
    any_closed = False
    if on:
        for i in range(c.closed.shape[0]):
            if c.closed[i]:
                any_closed = True
                break
    c.clock[ANY_ISO] = 1 if any_closed else 0
    revising = c.evolution_enabled and day > 0 and day % c.evolution_interval == 0
    c.clock[REVISING] = 1 if revising else 0
    for purpose in range(NPURPOSE):
        c.keys[purpose] = stream_key(c.run_key, day, purpose)


# ============================================================================ 5 initialization
@njit(cache=True)
def init_member(c, i):
    """5 Day-0 state of slot ``i`` from its draws U(purpose, 0, i)."""
    key = c.run_key
    clear_member(c, i)
    c.member_id[i] = i
    c.original[i] = True
    c.joined_step[i] = 0
    c.closed[i] = rng.uniform(key, 0, i, rng.ISOLATION_SELECT, -1) < c.isolation_share
    c.strategy[i] = HELP if rng.uniform(key, 0, i, rng.INIT_STRATEGY, -1) < c.population_initial_helpers else 0
    psych = c.psychology_enabled
    newcomer = psych and rng.uniform(key, 0, i, rng.INIT_NEWCOMER, -1) < c.population_newcomer_share
    nd = max(c.population_newcomer_days, 1)
    u_age = rng.uniform(key, 0, i, rng.INIT_AGE, -1)
    if newcomer:
        age = int(np.floor(u_age * nd))
    else:
        age = nd + int(np.floor(u_age * max(c.population_max_sober_days - nd, 0)))
    if psych:
        c.stress[i] = spread(c.population_initial_stress, c.population_initial_spread,
                             rng.uniform(key, 0, i, rng.INIT_STRESS, -1))
        mean = c.population_newcomer_craving if newcomer else c.population_initial_craving
        c.craving[i] = spread(mean, c.population_initial_spread, rng.uniform(key, 0, i, rng.INIT_CRAVING, -1))
        using = rng.uniform(key, 0, i, rng.INIT_USING, -1) < c.population_initial_using
    else:
        using = False
    c.using[i] = using
    c.use_days[i] = 1 if using else 0
    c.sober_days[i] = 0 if using else age
    c.start_day[i] = -age
    start_records(c, i)
    c.propensity[i] = kumaraswamy(rng.uniform(key, 0, i, rng.INIT_PROPENSITY, -1), c.attendance_propensity_a,
                                  c.attendance_propensity_b)
    c.readiness[i] = kumaraswamy(rng.uniform(key, 0, i, rng.INIT_READINESS, -1), c.checkins_readiness_a,
                                 c.checkins_readiness_b)
    c.weekly[i] = meetings_a_week(rng.uniform(key, 0, i, rng.INIT_RHYTHM, -1), c.attendance_weekly_mean)
    c.weekday[i] = int(np.floor(7.0 * rng.uniform(key, 0, i, rng.INIT_WEEKDAY, -1)))
    if psych and c.recovery_enabled:
        # grown from the start of recovery by the sober days so far at the plain rate (5)
        c.capital[i] = 1.0 - (1.0 - c.recovery_newcomer_capital) * (1.0 - c.recovery_build) ** float(c.sober_days[i])


@njit(cache=True)
def init_all(c):
    for i in range(c.strategy.shape[0]):
        init_member(c, i)


@njit(cache=True)
def join(c, i, help_share):
    """7.11 A newcomer takes slot ``i`` today: a new id, its draws, no ties, no sponsor.

    It plays HELP with probability ``help_share`` (``turnover.newcomer_strategy``).
    """
    day = c.clock[DAY]
    clear_member(c, i)
    c.member_id[i] = c.clock[NEXT_ID]
    c.clock[NEXT_ID] += 1
    c.original[i] = False
    c.strategy[i] = HELP if uniform_in(c.keys[rng.NEW_STRATEGY], i, -1) < help_share else 0
    c.propensity[i] = kumaraswamy(uniform_in(c.keys[rng.NEW_PROPENSITY], i, -1), c.attendance_propensity_a,
                                  c.attendance_propensity_b)
    c.readiness[i] = kumaraswamy(uniform_in(c.keys[rng.NEW_READINESS], i, -1), c.checkins_readiness_a,
                                 c.checkins_readiness_b)
    c.weekly[i] = meetings_a_week(uniform_in(c.keys[rng.NEW_RHYTHM], i, -1), c.attendance_weekly_mean)
    c.weekday[i] = int(np.floor(7.0 * uniform_in(c.keys[rng.NEW_WEEKDAY], i, -1)))
    if c.recovery_enabled:
        c.capital[i] = c.recovery_newcomer_capital
    c.stress[i] = spread(c.population_initial_stress, c.population_initial_spread,
                         uniform_in(c.keys[rng.NEW_STRESS], i, -1))
    c.craving[i] = spread(c.population_newcomer_craving, c.population_initial_spread,
                          uniform_in(c.keys[rng.NEW_CRAVING], i, -1))
    c.start_day[i] = day
    c.joined_step[i] = day


@njit(cache=True)
def start_observation(c):
    """5 Day 0 after a burn-in: the members present become the day-0 members (ids ``0..n-1`` by slot,
    joined on day 0, their lifetime records begun: :func:`sim.core._ref.start_records`, written from the
    arrays' declaration); their state, ties and sponsors carry on."""
    n = c.strategy.shape[0]
    for i in range(n):
        c.member_id[i] = i
        c.original[i] = True
        c.joined_step[i] = 0
        start_records(c, i)
    c.clock[NEXT_ID] = n


# ============================================================================ 7.0 people's decisions
@njit(cache=True, inline="always")
def choose(c, i):
    """7.0 A person who plays member i and chose to help or to compete today: its strategy from today
    (before anyone plays the game). The other decisions (go to a meeting, check on someone, call the
    sponsor) replace the rule in the stage that makes them (:func:`meet`, :func:`would_reach`,
    :func:`call_sponsor`)."""
    if c.choice_help[i] != 0:
        c.strategy[i] = c.choice_help[i] - 1


# ============================================================================ 7.1-7.3 the meeting and the game
@njit(cache=True, inline="always")
def meet(c, i):
    """7.1-7.3 Start of member i's day: effective ties, attendance, the game, support, conflict, loneliness.

    Also clears i's transient values of the day (check-ins, calls, lapses).
    """
    iso_on = c.clock[ISO_ON] == 1
    scale_ties = c.clock[ANY_ISO] == 1
    iso_i = iso_on and c.closed[i]
    c.iso[i] = iso_i
    c.checkins_in[i] = 0
    c.reached[i] = False
    c.calls_made[i] = 0
    c.called[i] = False
    c.answered[i] = 0
    c.lapsed[i] = False
    c.relapsed[i] = False
    strategy, tie_nbr, tie_w, closed = c.strategy, c.tie_nbr, c.tie_w, c.closed  # bound once for the tie loop
    R, S, T, P, scale = c.game_R, c.game_S, c.game_T, c.game_P, c.isolation_tie_scale
    si = strategy[i]
    tot = 0.0
    helped = 0.0
    pay = 0.0
    start = c.tie_ptr[i]
    for k in range(start, start + c.deg[i]):
        j = tie_nbr[k]
        w = tie_w[k]
        if scale_ties and (iso_i or closed[j]):
            w = w * scale
        tot += w
        sj = strategy[j]
        pay += w * payoff(si, sj, R, S, T, P)
        if sj == HELP:
            helped += w
    if c.network_self_interaction:
        pay += payoff(si, si, c.game_R, c.game_S, c.game_T, c.game_P)
    c.tie_total[i] = tot
    c.payoff[i] = pay
    c.help_given[i] = tot if si == HELP else 0.0
    if tot > 0.0:
        c.support[i] = helped / tot
        c.conflict[i] = 1.0 - c.support[i]
    else:
        c.support[i] = 0.0
        c.conflict[i] = 0.0
    c.lonely[i] = loneliness(tot, c.psychology_tie_target)
    c.scarce[i] = scarcity(pay, tot, R, S, T, P)
    if c.psychology_enabled:
        day = c.clock[DAY]
        due = True  # today is one of the member's meetings (every day without a rhythm)
        if c.attendance_rhythm:
            k = c.weekly[i]
            if is_newcomer(c, i, day) and k < c.attendance_newcomer_weekly:
                k = c.attendance_newcomer_weekly
            due = scheduled(day, k, c.weekday[i])
        chosen = c.choice_attend[i]
        if iso_i:
            att = False
        elif chosen != 0:  # a person decided (7.0): a meeting of its own or another group's today
            att = chosen == 2
        elif not due:
            att = False
        else:
            if c.attendance_rhythm:
                base = c.attendance_show
            else:
                base = c.propensity[i]
                if is_newcomer(c, i, day):
                    base += c.attendance_newcomer_boost
            prob = attend_prob(tot, c.stress[i], c.using[i], c.engaged[i], base, attend_params(c))
            att = uniform_in(c.keys[rng.ATTEND], i, -1) < prob
        c.attended[i] = att
        c.due[i] = due
        if att:
            c.next_missed[i] = 0
        elif due:
            c.next_missed[i] = c.missed[i] + 1
        else:
            c.next_missed[i] = c.missed[i]  # no meeting of its own today: nothing missed
    else:
        c.attended[i] = False
        c.due[i] = False
    checkin_role(c, i)


# ============================================================================ 7.4 check-ins
@njit(cache=True, inline="always")
def checkin_role(c, i):
    """Member i's part in today's check-ins (``role``: NEEDS, ACTIVE bits), once attendance is known.

    :func:`meet` sets it at its end, so the neighbours' tie loops of :func:`check_in` read one byte.
    """
    role = NEEDS if (c.missed[i] >= c.checkins_missed_threshold and not c.attended[i]
                     and not withheld(c, i, TRIAL_CHECKINS)) else 0
    if c.strategy[i] == HELP and not c.using[i] and (c.attended[i] or c.iso[i]):
        role |= ACTIVE
    if c.choice_checkin[i] != 0:  # a person decides whom it calls (7.0): sober, it can call from anywhere
        role = (role & NEEDS) | (ACTIVE if (c.choice_checkin[i] > 1 and not c.using[i]) else 0)
    c.role[i] = role


@njit(cache=True, inline="always")
def withheld(c, i, intervention):
    """7.13 Whether member i is in the control arm of a running trial of ``intervention`` (from day 0)."""
    return (c.trial_enabled and c.clock[DAY] >= 0 and c.trial_intervention_code == intervention
            and c.trial_arm[i] == 0)


@njit(cache=True, inline="always")
def needs_checkin(c, i):
    """Absent today after ``checkins.missed_threshold`` missed meetings (set by :func:`meet`)."""
    return (c.role[i] & NEEDS) != 0


@njit(cache=True, inline="always")
def can_check_in(c, j):
    """An active helper: HELP, sober, and at today's meeting or phoning from a closed one (set by :func:`meet`)."""
    return (c.role[j] & ACTIVE) != 0


@njit(cache=True, inline="always")
def would_reach(c, i, j, w):
    """Whether active helper j would reach absent member i (tie weight w) if it had room:
    ``U(CHECKIN, i, j) < checkins.prob * w * readiness_j`` (times j's recovery capital with
    ``psychology.help_acts``: people further along reach out more)."""
    chosen = c.choice_checkin[j]
    if chosen != 0:  # a person calls the one member it chose, for sure (7.0)
        return chosen - 2 == i
    p = c.checkins_prob * w * c.readiness[j]
    if c.psychology_help_acts and c.recovery_enabled:
        p = p * c.capital[j]
    return uniform_in(c.keys[rng.CHECKIN], i, j) < p


@njit(cache=True, inline="always")
def calls_before(c, j, i, w):
    """How many absent members active helper j would reach before i: those it would reach
    over a stronger tie, or an equal tie to a lower slot (j calls its strongest ties first)."""
    ahead = 0
    start = c.tie_ptr[j]
    for k in range(start, start + c.deg[j]):
        q = c.tie_nbr[k]
        if q == i:
            continue
        wq = c.tie_w[k]
        if (wq > w or (wq == w and q < i)) and needs_checkin(c, q) and would_reach(c, q, j, wq):
            ahead += 1
    return ahead


@njit(cache=True, inline="always")
def check_in(c, i):
    """7.4 Check-ins, seen from member i at both ends: those it receives and those it makes.

    The draw of the pair (absent i, helper j) is keyed (i, j), so both ends count the same event;
    a helper makes at most ``checkins.capacity`` a day, to its strongest ties first.
    """
    cap = c.checkins_capacity
    start = c.tie_ptr[i]
    cnt = 0
    if needs_checkin(c, i):
        for k in range(start, start + c.deg[i]):
            j = c.tie_nbr[k]
            w = c.tie_w[k]
            if can_check_in(c, j) and would_reach(c, i, j, w):
                if c.deg[j] <= cap or calls_before(c, j, i, w) < cap:
                    cnt += 1
    c.checkins_in[i] = cnt
    c.reached[i] = cnt > 0
    if cnt > 0:
        c.next_missed[i] = 0  # counted again from the next missed meeting
    calls = 0
    if can_check_in(c, i):
        for k in range(start, start + c.deg[i]):
            j = c.tie_nbr[k]
            if needs_checkin(c, j) and would_reach(c, j, i, c.tie_w[k]):
                calls += 1
    c.calls_made[i] = calls if calls < cap else cap


# ============================================================================ 7.5 sponsorship
@njit(cache=True, inline="always")
def find_tie(c, i, j):
    """Slot of neighbour j among i's ties, or -1."""
    start = c.tie_ptr[i]
    for k in range(start, start + c.deg[i]):
        if c.tie_nbr[k] == j:
            return k
        if c.tie_nbr[k] > j:
            break
    return -1


@njit(cache=True, inline="always")
def tie_weight(c, i, j):
    k = find_tie(c, i, j)
    return c.tie_w[k] if k >= 0 else 0.0


@njit(cache=True, inline="always")
def is_newcomer(c, i, day):
    return day - c.start_day[i] < c.population_newcomer_days


@njit(cache=True, inline="always")
def find_sponsor(c, i):
    """7.5 An unsponsored newcomer takes an eligible sponsor of its meeting (serial, slot order).

    A newcomer at today's meeting asks with ``sponsorship.ask_prob``.
    Eligible: another member at the meeting playing HELP, sober, with
    ``sponsorship.min_sober_days`` and room for a sponsee. The strongest tie
    to the newcomer wins, then the fewest sponsees, then the lowest slot.
    """
    if c.sponsor[i] >= 0 or not c.attended[i] or not is_newcomer(c, i, c.clock[DAY]) \
            or withheld(c, i, TRIAL_SPONSORSHIP):
        return
    if uniform_in(c.keys[rng.ASK], i, -1) >= c.sponsorship_ask_prob:
        return
    k = c.meeting_of[i]
    best = -1
    best_w = 0.0
    best_s = 0
    for s in range(c.meeting_start[k], c.meeting_start[k + 1]):
        if (s == i or not c.attended[s] or c.strategy[s] != HELP or c.using[s]
                or c.sober_days[s] < c.sponsorship_min_sober_days or c.sponsees[s] >= c.sponsorship_capacity):
            continue
        w = tie_weight(c, i, s)
        if best < 0 or w > best_w or (w == best_w and (c.sponsees[s] < best_s
                                                       or (c.sponsees[s] == best_s and s < best))):
            best, best_w, best_s = s, w, c.sponsees[s]
    if best >= 0:
        c.sponsor[i] = best
        c.sponsor_id[i] = c.member_id[best]
        c.sponsees[best] += 1
        c.sponsees_total[best] += 1


@njit(cache=True, inline="always")
def call_sponsor(c, i):
    """7.5 A sponsee over the call threshold calls; a sponsor not in a lapse answers (serial: answers add up)."""
    k = c.sponsor[i]
    if k < 0 or c.using[k]:
        return
    chosen = c.choice_call[i]
    if chosen == 1 or (chosen == 0 and c.craving[i] <= c.sponsorship_call_threshold):
        return
    if uniform_in(c.keys[rng.CALL], i, -1) < c.sponsorship_answer_prob:
        c.called[i] = True
        c.answered[k] += 1


# ============================================================================ 7.6-7.8 stress, craving, lapse and return
@njit(cache=True, inline="always")
def update_mind(c, i):
    """7.6-7.8 Tomorrow's stress and craving (with helper therapy), then a lapse or a return, and crisis days."""
    shock = c.psychology_shock_size if uniform_in(c.keys[rng.SHOCK], i, -1) < c.psychology_shock_prob else 0.0
    x = stress_next(c.stress[i], StressDay(c.conflict[i], c.lonely[i], c.scarce[i], c.support[i], _f(c.reached[i]),
                                           _f(c.attended[i]), shock, c.using[i]), stress_params(c))
    if c.psychology_help_acts:
        help_acts = float(c.calls_made[i] + c.answered[i])  # acts that reached someone today
    else:
        help_acts = c.help_given[i] + c.calls_made[i] + c.answered[i]
    y = craving_next(c.craving[i], CravingDay(c.stress[i], c.support[i], _f(c.called[i]), _f(c.attended[i]),
                                              help_acts, c.using[i]), craving_params(c))
    u = c.using[i]
    ud = c.use_days[i]
    sd = c.sober_days[i]
    rec = c.recovery_enabled
    kappa = c.capital[i] if rec else 0.0
    lap = False
    rel = False
    if not u:
        p = lapse_prob(y, c.psychology_lapse_max, c.psychology_lapse_midpoint, c.psychology_lapse_width)
        if rec:
            p = protected(p, kappa, c.recovery_protection)
        if uniform_in(c.keys[rng.LAPSE], i, -1) < p:
            u = True
            ud = 1
            sd = 0
            x = shame(x, c.support[i], c.psychology_shame, c.psychology_saturating)
            lap = True
            rel = c.psychology_relapse_days == 1
        else:
            sd += 1
    else:
        link = c.engaged[i] * (1.0 - 1.0 / c.checkins_effect_days)  # re-engagement carried from earlier check-ins
        if c.reached[i]:
            link = 1.0
        stop = stop_prob(c.support[i], link, _f(c.called[i]), kappa, c.psychology_stop_base,
                         c.psychology_stop_support, c.checkins_stop_boost, c.sponsorship_stop_boost,
                         c.recovery_return_boost)
        if uniform_in(c.keys[rng.STOP], i, -1) < stop:
            u = False
            ud = 0
        else:
            ud += 1
            rel = ud == c.psychology_relapse_days
    c.next_stress[i] = x
    c.next_craving[i] = y
    c.next_using[i] = u
    c.next_use_days[i] = ud
    c.next_sober_days[i] = sd
    c.next_crisis[i] = c.crisis_days[i] + 1 if (u or x >= c.turnover_crisis_stress) else 0
    if rec:
        c.next_capital[i] = capital_next(kappa, not c.using[i], lap, _f(c.attended[i]), _f(help_acts > 0.0),
                                         c.support[i], capital_params(c))
    c.lapsed[i] = lap
    c.relapsed[i] = rel


# ============================================================================ 7.10 evolution of strategy
@njit(cache=True, inline="always")
def weigh_fitness(c, i):
    """7.10 Fitness: today's payoff plus the weight of start-of-day wellbeing."""
    c.fitness[i] = fitness(c.payoff[i], c.stress[i], c.craving[i], c.evolution_wellbeing_weight)


@njit(cache=True, inline="always")
def revise(c, i):
    """7.10 Strategy revision by the scenario's rule (start-of-day ties, today's fitness), then mutation."""
    fit = c.fitness
    new = c.strategy[i]
    start = c.tie_ptr[i]
    d = c.deg[i]
    share = c.evolution_revision_share
    revising = share >= 1.0 or uniform_in(c.keys[rng.REVISE], i, -1) < share
    if c.choice_help[i] != 0:  # a person keeps the strategy it chose (7.0): no imitation, no mutation
        revising = False
        new = c.choice_help[i] - 1
    if revising:
        rule = c.evolution_rule_code
        if rule == FERMI:
            if d > 0:
                j = c.tie_nbr[start + int(uniform_in(c.keys[rng.PICK], i, -1) * d)]
                if uniform_in(c.keys[rng.ADOPT], i, -1) < fermi_prob(fit[i], fit[j], c.evolution_temperature):
                    new = c.strategy[j]
        elif rule == IMITATE_BEST:
            best = fit[i]
            for k in range(start, start + d):
                j = c.tie_nbr[k]
                if fit[j] > best:
                    best = fit[j]
                    new = c.strategy[j]
        else:  # death-birth
            if d > 0:
                sel = c.evolution_selection
                total = 0.0
                for k in range(start, start + d):
                    total += db_weight(fit[c.tie_nbr[k]], sel)
                r = uniform_in(c.keys[rng.PICK], i, -1)
                if total > 0.0:
                    r = r * total
                    acc = 0.0
                    pick = d - 1
                    for k in range(d):
                        acc += db_weight(fit[c.tie_nbr[start + k]], sel)
                        if r < acc:
                            pick = k
                            break
                else:
                    pick = int(r * d)
                new = c.strategy[c.tie_nbr[start + pick]]
        if c.evolution_mutation > 0.0 and uniform_in(c.keys[rng.MUTATE], i, -1) < c.evolution_mutation:
            new = HELP if uniform_in(c.keys[rng.MUTATE_TO], i, -1) < 0.5 else 0
    c.next_strategy[i] = new


# ============================================================================ 7.9 ties
@njit(cache=True, inline="always")
def update_ties(c, i):
    """7.9 Member i's tie weights move (rules.tie_next, symmetric); ties below ties.break_below break.

    Reads the start-of-day strategies; compacts i's own slots in place.
    """
    strategy, tie_nbr, tie_w = c.strategy, c.tie_nbr, c.tie_w  # bound once for the tie loop
    gain, loss, decay, floor = c.ties_help_gain, c.ties_conflict_loss, c.ties_decay, c.ties_break_below
    start = c.tie_ptr[i]
    d = c.deg[i]
    cnt = 0
    si = strategy[i]
    for k in range(start, start + d):
        j = tie_nbr[k]
        v = tie_next(tie_w[k], si, strategy[j], gain, loss, decay)
        if v >= floor:
            tie_nbr[start + cnt] = j
            tie_w[start + cnt] = v
            cnt += 1
    for k in range(start + cnt, start + d):
        tie_nbr[k] = -1
        tie_w[k] = 0.0
    c.deg[i] = cnt


@njit(cache=True, inline="always")
def insert_tie(c, i, j, w):
    """Insert neighbour j into i's slots, keeping them ascending (room is checked by the caller)."""
    start = c.tie_ptr[i]
    pos = start + c.deg[i]
    while pos > start and c.tie_nbr[pos - 1] > j:
        c.tie_nbr[pos] = c.tie_nbr[pos - 1]
        c.tie_w[pos] = c.tie_w[pos - 1]
        pos -= 1
    c.tie_nbr[pos] = j
    c.tie_w[pos] = w
    c.deg[i] += 1


@njit(cache=True)
def remove_tie(c, i, j):
    """Remove neighbour j from i's slots (nothing if absent)."""
    start = c.tie_ptr[i]
    end = start + c.deg[i]
    pos = -1
    for k in range(start, end):
        if c.tie_nbr[k] == j:
            pos = k
            break
    if pos < 0:
        return
    for k in range(pos, end - 1):
        c.tie_nbr[k] = c.tie_nbr[k + 1]
        c.tie_w[k] = c.tie_w[k + 1]
    c.tie_nbr[end - 1] = -1
    c.tie_w[end - 1] = 0.0
    c.deg[i] -= 1


#: Meetings larger than this sort their attendees with a stable merge sort; smaller ones by insertion.
LARGE_MEETING = 64


@njit(cache=True, inline="always")
def form_ties(c, mk):
    """7.9 At meeting ``mk`` the attendees, ordered by (U(MEET_ORDER), slot), are paired first-second,
    third-fourth, ...; an untied pair with room at both ends forms a tie with ``ties.form_prob``.

    Meetings are disjoint and each sorts in its own segment of ``buf_slot``/``buf_key``.
    """
    sk_order = c.keys[rng.MEET_ORDER]
    lo_slot, hi_slot = c.meeting_start[mk], c.meeting_start[mk + 1]
    buf_slot, buf_key, attended = c.buf_slot, c.buf_key, c.attended  # bound once for the loops
    cnt = 0
    if hi_slot - lo_slot > LARGE_MEETING:
        for s in range(lo_slot, hi_slot):
            if attended[s]:
                buf_slot[lo_slot + cnt] = s
                buf_key[lo_slot + cnt] = uniform_in(sk_order, s, -1)
                cnt += 1
        order = np.argsort(buf_key[lo_slot:lo_slot + cnt], kind="mergesort")
        slots = buf_slot[lo_slot:lo_slot + cnt][order]
        buf_slot[lo_slot:lo_slot + cnt] = slots
    else:
        for s in range(lo_slot, hi_slot):
            if attended[s]:
                # insertion sort by (key, slot): slots arrive ascending and only a
                # strictly greater key moves an entry, so equal keys keep slot order
                ks = uniform_in(sk_order, s, -1)
                pos = lo_slot + cnt
                while pos > lo_slot and buf_key[pos - 1] > ks:
                    buf_key[pos] = buf_key[pos - 1]
                    buf_slot[pos] = buf_slot[pos - 1]
                    pos -= 1
                buf_key[pos] = ks
                buf_slot[pos] = s
                cnt += 1
    sk_form = c.keys[rng.TIE_FORM]
    deg, tie_ptr, form_prob = c.deg, c.tie_ptr, c.ties_form_prob
    for q in range(0, cnt - 1, 2):
        i = buf_slot[lo_slot + q]
        j = buf_slot[lo_slot + q + 1]
        lo, hi = (i, j) if i < j else (j, i)
        if find_tie(c, lo, hi) >= 0:
            continue
        if deg[lo] >= tie_ptr[lo + 1] - tie_ptr[lo] or deg[hi] >= tie_ptr[hi + 1] - tie_ptr[hi]:
            continue
        if uniform_in(sk_form, lo, hi) < form_prob:
            insert_tie(c, lo, hi, c.ties_new_weight)
            insert_tie(c, hi, lo, c.ties_new_weight)


# ============================================================================ 3.1 the commit
@njit(cache=True, inline="always")
def commit(c, i):
    """3.1 Apply member i's updates of the day together (synchronous update) and keep its record."""
    c.days[i] += 1
    if c.strategy[i] == HELP:
        c.help_days[i] += 1
    if c.clock[REVISING] == 1:
        c.strategy[i] = c.next_strategy[i]
    c.checkins_received[i] += c.checkins_in[i]
    c.help_acts_total[i] += c.calls_made[i] + c.answered[i]
    if c.psychology_enabled:
        if c.attended[i]:
            c.attended_days[i] += 1
        c.missed[i] = c.next_missed[i]
        c.engaged[i] = engagement_next(c.engaged[i], c.reached[i], c.checkins_effect_days)
        c.stress[i] = c.next_stress[i]
        c.craving[i] = c.next_craving[i]
        c.using[i] = c.next_using[i]
        c.use_days[i] = c.next_use_days[i]
        c.sober_days[i] = c.next_sober_days[i]
        c.crisis_days[i] = c.next_crisis[i]
        if c.recovery_enabled:
            c.capital[i] = c.next_capital[i]
        if c.lapsed[i]:
            c.lapses_total[i] += 1
        if c.relapsed[i]:
            c.relapses_total[i] += 1
        if c.using[i]:
            c.used_days[i] += 1
            if not c.ever_used[i]:
                c.ever_used[i] = True
                c.first_use_step[i] = c.clock[DAY]


# ============================================================================ 7.12 the tally
@njit(parallel=True, cache=True)
def tally_counts(c):
    """7.12 The day's lapses, relapses, check-ins made and sponsor calls answered (integer counts)."""
    lapses = 0
    relapses = 0
    checkins = 0
    calls = 0
    for i in prange(c.strategy.shape[0]):
        lapses += 1 if c.lapsed[i] else 0
        relapses += 1 if c.relapsed[i] else 0
        checkins += c.checkins_in[i]
        calls += 1 if c.called[i] else 0
    return lapses, relapses, checkins, calls


# ============================================================================ 7.11 turnover
@njit(parallel=True, cache=True)
def mark_leavers(c):
    """7.11 Who leaves today: ``crisis_days >= turnover.crisis_days``, or ``U(LEAVE) < turnover.leave_prob``.
    Returns how many."""
    gone = 0
    sk = c.keys[rng.LEAVE]
    for i in prange(c.strategy.shape[0]):
        out = c.crisis_days[i] >= c.turnover_crisis_days or uniform_in(sk, i, -1) < c.turnover_leave_prob
        c.leaving[i] = out
        gone += 1 if out else 0
    return gone


@njit(parallel=True, cache=True)
def drop_left_sponsors(c):
    """7.11 Members whose sponsor left today lose it (each writes only its own entry)."""
    for i in prange(c.strategy.shape[0]):
        k = c.sponsor[i]
        if k >= 0 and c.leaving[k]:
            c.sponsor[i] = -1


@njit(cache=True)
def replace_leavers(c, leavers, help_share):
    """7.11 Leavers (slots ``leavers``, ascending) go: their sponsors lose a sponsee, their ties go at
    both ends, newcomers take their slots (a helper with chance ``help_share``: see
    :func:`sim.core.schedule.newcomer_help_share`). Then :func:`drop_left_sponsors`."""
    for i in leavers:
        k = c.sponsor[i]
        if k >= 0 and not c.leaving[k]:
            c.sponsees[k] -= 1
    for i in leavers:
        start = c.tie_ptr[i]
        for k in range(start, start + c.deg[i]):
            remove_tie(c, c.tie_nbr[k], i)
        for k in range(start, start + c.deg[i]):
            c.tie_nbr[k] = -1
            c.tie_w[k] = 0.0
        c.deg[i] = 0
    for i in leavers:
        join(c, i, help_share)
        if c.turnover_newcomer_tie:
            brought_by(c, i)


@njit(cache=True)
def brought_by(c, i):
    """7.11 Newcomer i arrives with a tie to whoever brought it: the member of its meeting at position
    ``floor(U(NEW_BROUGHT) * (size - 1))`` among the others (slot order), if that member stays today
    and both have room for a tie."""
    k = c.meeting_of[i]
    lo, hi = c.meeting_start[k], c.meeting_start[k + 1]
    if hi - lo < 2:
        return
    j = lo + int(uniform_in(c.keys[rng.NEW_BROUGHT], i, -1) * (hi - lo - 1))
    if j >= i:
        j += 1
    if c.leaving[j]:
        return
    if c.deg[i] >= c.tie_ptr[i + 1] - c.tie_ptr[i] or c.deg[j] >= c.tie_ptr[j + 1] - c.tie_ptr[j]:
        return
    insert_tie(c, i, j, c.ties_new_weight)
    insert_tie(c, j, i, c.ties_new_weight)


# ============================================================================ helpers for the outputs
@njit(cache=True)
def fill_ties(row_ptr, nbr, tie_ptr, tie_nbr, tie_w, w0):
    """Day-0 ties (CSR ``row_ptr``/``nbr``) into the fixed slots, every weight ``w0``."""
    for i in range(row_ptr.shape[0] - 1):
        s = tie_ptr[i]
        for k in range(row_ptr[i + 1] - row_ptr[i]):
            tie_nbr[s + k] = nbr[row_ptr[i] + k]
            tie_w[s + k] = w0


@njit(cache=True)
def compact_ties(tie_ptr, tie_nbr, tie_w, deg):
    """The slot arrays as CSR ``(ptr, nbr, w)`` without empty slots."""
    n = deg.shape[0]
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + deg[i]
    nbr = np.empty(ptr[n], dtype=np.int64)
    w = np.empty(ptr[n], dtype=np.float64)
    for i in range(n):
        s = tie_ptr[i]
        for k in range(deg[i]):
            nbr[ptr[i] + k] = tie_nbr[s + k]
            w[ptr[i] + k] = tie_w[s + k]
    return ptr, nbr, w


# ============================================================================ loops (the kernel engine)
# One loop per stage, nothing else in it: the stage is the body above.
@njit(parallel=True, cache=True)
def choose_all(c):
    if c.clock[CHOICES] == 0:  # nobody decided anything today: skip the pass
        return
    for i in prange(c.strategy.shape[0]):
        choose(c, i)


@njit(parallel=True, cache=True)
def meet_all(c):
    for i in prange(c.strategy.shape[0]):
        meet(c, i)


@njit(parallel=True, cache=True)
def check_in_all(c):
    for i in prange(c.strategy.shape[0]):
        check_in(c, i)


# The serial stages write to a sponsor, who is always in the member's own meeting (7.5), and
# meetings are contiguous, disjoint ranges of slots: slot order within each meeting, the
# meetings in parallel, is slot order.
@njit(parallel=True, cache=True)
def find_sponsor_all(c):
    for mk in prange(c.meeting_start.shape[0] - 1):
        for i in range(c.meeting_start[mk], c.meeting_start[mk + 1]):
            find_sponsor(c, i)


@njit(parallel=True, cache=True)
def call_sponsor_all(c):
    for mk in prange(c.meeting_start.shape[0] - 1):
        for i in range(c.meeting_start[mk], c.meeting_start[mk + 1]):
            call_sponsor(c, i)


@njit(parallel=True, cache=True)
def update_mind_all(c):
    for i in prange(c.strategy.shape[0]):
        update_mind(c, i)


@njit(parallel=True, cache=True)
def weigh_fitness_all(c):
    for i in prange(c.strategy.shape[0]):
        weigh_fitness(c, i)


@njit(parallel=True, cache=True)
def revise_all(c):
    for i in prange(c.strategy.shape[0]):
        revise(c, i)


@njit(parallel=True, cache=True)
def update_ties_all(c):
    for i in prange(c.strategy.shape[0]):
        update_ties(c, i)


@njit(parallel=True, cache=True)
def form_ties_all(c):
    for mk in prange(c.meeting_start.shape[0] - 1):
        form_ties(c, mk)


@njit(parallel=True, cache=True)
def commit_all(c):
    for i in prange(c.strategy.shape[0]):
        commit(c, i)
