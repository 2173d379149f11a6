"""The stages of a day, each written once (docs/ODD.md, sections 3, 5 and 7).

Every function here is the *whole* logic of one stage for one member (or one
meeting): the neighbour sums in canonical (ascending slot) order, who is
eligible, the keyed random draw, the decision through :mod:`sim.core.rules`
and the writes. Both engines run these very bodies: the Mesa agents call
them one member at a time (``Member.check_in`` calls :func:`check_in` with
its own slot), the kernel engine calls them in ``prange`` loops
(:mod:`sim.core.schedule`). The order of the stages is declared once, in
:data:`sim.core.schedule.SCHEDULE`.

Every body takes ``c``, the compiled community (:mod:`sim.core.community`):
``c.a`` the arrays (by slot), ``c.p`` the parameters (``c.p.checkins_prob``
is the scenario key ``checkins.prob``), ``c.clock`` today's day and
isolation flags, ``c.keys`` today's stream key per purpose.

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
from sim.core.community import ANY_ISO, DAY, ISO_ON, NEXT_ID, NPURPOSE, REVISING
from sim.core.rng import stream_key, uniform_in
from sim.core.rules import (
    HELP,
    attend_prob,
    craving_next,
    db_weight,
    fermi_prob,
    fitness,
    lapse_prob,
    loneliness,
    payoff,
    shame,
    spread,
    stop_prob,
    stress_next,
    tie_next,
)

FERMI, IMITATE_BEST, DEATH_BIRTH = 0, 1, 2  # evolution_rule_code (order of schema.EVOLUTION_RULES)


@njit(inline="always")
def _f(b):
    """A flag as 0.0 or 1.0."""
    return 1.0 if b else 0.0


# ============================================================================ the day begins
@njit(cache=True)
def open_day(c, day):
    """Section 3: today's day, whether isolation is in force (7.1), whether strategies are revised
    today (7.10: ``evolution.enabled`` and ``day % evolution.interval == 0``) and every purpose's stream key."""
    p = c.p
    c.clock[DAY] = day
    on = (p.psychology_enabled and p.isolation_enabled and p.isolation_start <= day
          and day < p.isolation_start + p.isolation_duration)
    c.clock[ISO_ON] = 1 if on else 0
    any_closed = False
    if on:
        for i in range(c.a.closed.shape[0]):
            if c.a.closed[i]:
                any_closed = True
                break
    c.clock[ANY_ISO] = 1 if any_closed else 0
    revising = p.evolution_enabled and day > 0 and day % p.evolution_interval == 0
    c.clock[REVISING] = 1 if revising else 0
    for purpose in range(NPURPOSE):
        c.keys[purpose] = stream_key(c.run_key, day, purpose)


# ============================================================================ 5 initialization
@njit(cache=True)
def _clear(c, i):
    """A slot with every per-member value at its empty value (no sponsor, no use recorded)."""
    a = c.a
    a.strategy[i] = 0
    a.stress[i] = 0.0
    a.craving[i] = 0.0
    a.using[i] = False
    a.use_days[i] = 0
    a.sober_days[i] = 0
    a.missed[i] = 0
    a.sponsor[i] = -1
    a.sponsees[i] = 0
    a.reached_prev[i] = False
    a.crisis_days[i] = 0
    a.ever_used[i] = False
    a.first_use_step[i] = -1
    a.used_days[i] = 0
    a.help_days[i] = 0
    a.days[i] = 0
    a.sponsor_id[i] = -1
    a.sponsees_total[i] = 0
    a.checkins_received[i] = 0


@njit(cache=True)
def init_member(c, i):
    """5 Day-0 state of slot ``i`` from its draws U(purpose, 0, i)."""
    a, p = c.a, c.p
    key = c.run_key
    _clear(c, i)
    a.member_id[i] = i
    a.original[i] = True
    a.joined_step[i] = 0
    a.closed[i] = rng.uniform(key, 0, i, rng.ISOLATION_SELECT, -1) < p.isolation_share
    a.strategy[i] = HELP if rng.uniform(key, 0, i, rng.INIT_STRATEGY, -1) < p.population_initial_helpers else 0
    psych = p.psychology_enabled
    newcomer = psych and rng.uniform(key, 0, i, rng.INIT_NEWCOMER, -1) < p.population_newcomer_share
    nd = max(p.population_newcomer_days, 1)
    u_age = rng.uniform(key, 0, i, rng.INIT_AGE, -1)
    if newcomer:
        age = int(np.floor(u_age * nd))
    else:
        age = nd + int(np.floor(u_age * max(p.population_max_sober_days - nd, 0)))
    if psych:
        a.stress[i] = spread(p.population_initial_stress, p.population_initial_spread,
                             rng.uniform(key, 0, i, rng.INIT_STRESS, -1))
        mean = p.population_newcomer_craving if newcomer else p.population_initial_craving
        a.craving[i] = spread(mean, p.population_initial_spread, rng.uniform(key, 0, i, rng.INIT_CRAVING, -1))
        using = rng.uniform(key, 0, i, rng.INIT_USING, -1) < p.population_initial_using
    else:
        using = False
    a.using[i] = using
    a.use_days[i] = 1 if using else 0
    a.sober_days[i] = 0 if using else age
    a.start_day[i] = -age
    a.ever_used[i] = using
    a.first_use_step[i] = 0 if using else -1


@njit(cache=True)
def init_all(c):
    for i in range(c.a.strategy.shape[0]):
        init_member(c, i)


@njit(cache=True)
def join(c, i):
    """7.11 A newcomer takes slot ``i`` today: a new id, its draws, no ties, no sponsor."""
    a, p = c.a, c.p
    day = c.clock[DAY]
    _clear(c, i)
    a.member_id[i] = c.clock[NEXT_ID]
    c.clock[NEXT_ID] += 1
    a.original[i] = False
    a.strategy[i] = HELP if uniform_in(c.keys[rng.NEW_STRATEGY], i, -1) < p.population_initial_helpers else 0
    a.stress[i] = spread(p.population_initial_stress, p.population_initial_spread,
                         uniform_in(c.keys[rng.NEW_STRESS], i, -1))
    a.craving[i] = spread(p.population_newcomer_craving, p.population_initial_spread,
                          uniform_in(c.keys[rng.NEW_CRAVING], i, -1))
    a.start_day[i] = day
    a.joined_step[i] = day


# ============================================================================ 7.1-7.3 the meeting and the game
@njit(cache=True)
def meet(c, i):
    """7.1-7.3 Start of member i's day: effective ties, attendance, the game, support, conflict, loneliness.

    Also clears i's transient values of the day (check-ins, calls, lapses).
    """
    a, p = c.a, c.p
    iso_on = c.clock[ISO_ON] == 1
    scale_ties = c.clock[ANY_ISO] == 1
    iso_i = iso_on and a.closed[i]
    a.iso[i] = iso_i
    a.checkins_in[i] = 0
    a.reached[i] = False
    a.calls_made[i] = 0
    a.called[i] = False
    a.answered[i] = 0
    a.lapsed[i] = False
    a.relapsed[i] = False
    si = a.strategy[i]
    tot = 0.0
    helped = 0.0
    pay = 0.0
    start = a.tie_ptr[i]
    for k in range(start, start + a.deg[i]):
        j = a.tie_nbr[k]
        w = a.tie_w[k]
        if scale_ties and (iso_i or a.closed[j]):
            w = w * p.isolation_tie_scale
        tot += w
        sj = a.strategy[j]
        pay += w * payoff(si, sj, p.game_R, p.game_S, p.game_T, p.game_P)
        if sj == HELP:
            helped += w
    if p.network_self_interaction:
        pay += payoff(si, si, p.game_R, p.game_S, p.game_T, p.game_P)
    a.tie_total[i] = tot
    a.payoff[i] = pay
    a.help_given[i] = tot if si == HELP else 0.0
    if tot > 0.0:
        a.support[i] = helped / tot
        a.conflict[i] = 1.0 - a.support[i]
    else:
        a.support[i] = 0.0
        a.conflict[i] = 0.0
    a.lonely[i] = loneliness(tot, p.psychology_tie_target)
    if p.psychology_enabled:
        if iso_i:
            att = False
        else:
            prob = attend_prob(tot, a.stress[i], a.using[i], _f(a.reached_prev[i]), p.psychology_tie_target,
                               p.attendance_base, p.attendance_tie_effect, p.attendance_stress_effect,
                               p.attendance_using_effect, p.attendance_checkin_boost)
            att = uniform_in(c.keys[rng.ATTEND], i, -1) < prob
        a.attended[i] = att
        a.next_missed[i] = 0 if att else a.missed[i] + 1
    else:
        a.attended[i] = False


# ============================================================================ 7.4 check-ins
@njit(inline="always")
def needs_checkin(a, p, i):
    """Absent today after ``checkins.missed_threshold`` missed meetings."""
    return a.missed[i] >= p.checkins_missed_threshold and not a.attended[i]


@njit(inline="always")
def can_check_in(a, j):
    """An active helper: HELP, sober, and at today's meeting or phoning from a closed one."""
    return a.strategy[j] == HELP and not a.using[j] and (a.attended[j] or a.iso[j])


@njit(cache=True)
def check_in(c, i):
    """7.4 Check-ins, seen from member i at both ends: those it receives and those it makes.

    The draw of the pair (absent i, helper j) is keyed (i, j), so both ends count the same event.
    """
    a, p = c.a, c.p
    sk = c.keys[rng.CHECKIN]
    prob = p.checkins_prob
    start = a.tie_ptr[i]
    cnt = 0
    if needs_checkin(a, p, i):
        for k in range(start, start + a.deg[i]):
            j = a.tie_nbr[k]
            if can_check_in(a, j) and uniform_in(sk, i, j) < prob * a.tie_w[k]:
                cnt += 1
    a.checkins_in[i] = cnt
    a.reached[i] = cnt > 0
    if cnt > 0:
        a.next_missed[i] = 0  # counted again from the next missed meeting
    calls = 0
    if can_check_in(a, i):
        for k in range(start, start + a.deg[i]):
            j = a.tie_nbr[k]
            if needs_checkin(a, p, j) and uniform_in(sk, j, i) < prob * a.tie_w[k]:
                calls += 1
    a.calls_made[i] = calls


# ============================================================================ 7.5 sponsorship
@njit(cache=True)
def find_tie(a, i, j):
    """Slot of neighbour j among i's ties, or -1."""
    start = a.tie_ptr[i]
    for k in range(start, start + a.deg[i]):
        if a.tie_nbr[k] == j:
            return k
        if a.tie_nbr[k] > j:
            break
    return -1


@njit(cache=True)
def tie_weight(a, i, j):
    k = find_tie(a, i, j)
    return a.tie_w[k] if k >= 0 else 0.0


@njit(inline="always")
def is_newcomer(a, p, i, day):
    return day - a.start_day[i] < p.population_newcomer_days


@njit(cache=True)
def find_sponsor(c, i):
    """7.5 An unsponsored newcomer takes an eligible sponsor of its meeting (serial, slot order).

    Eligible: another member of its meeting playing HELP, sober, with
    ``sponsorship.min_sober_days`` and room for a sponsee. The strongest tie
    to the newcomer wins, then the fewest sponsees, then the lowest slot.
    """
    a, p = c.a, c.p
    if a.sponsor[i] >= 0 or not is_newcomer(a, p, i, c.clock[DAY]):
        return
    k = a.meeting_of[i]
    best = -1
    best_w = 0.0
    best_s = 0
    for s in range(a.meeting_start[k], a.meeting_start[k + 1]):
        if (s == i or a.strategy[s] != HELP or a.using[s] or a.sober_days[s] < p.sponsorship_min_sober_days
                or a.sponsees[s] >= p.sponsorship_capacity):
            continue
        w = tie_weight(a, i, s)
        if best < 0 or w > best_w or (w == best_w and (a.sponsees[s] < best_s
                                                       or (a.sponsees[s] == best_s and s < best))):
            best, best_w, best_s = s, w, a.sponsees[s]
    if best >= 0:
        a.sponsor[i] = best
        a.sponsor_id[i] = a.member_id[best]
        a.sponsees[best] += 1
        a.sponsees_total[best] += 1


@njit(cache=True)
def call_sponsor(c, i):
    """7.5 A sponsee over the call threshold calls; a sponsor not in a lapse answers (serial: answers add up)."""
    a, p = c.a, c.p
    k = a.sponsor[i]
    if k < 0 or a.craving[i] <= p.sponsorship_call_threshold or a.using[k]:
        return
    if uniform_in(c.keys[rng.CALL], i, -1) < p.sponsorship_answer_prob:
        a.called[i] = True
        a.answered[k] += 1


# ============================================================================ 7.6-7.8 stress, craving, lapse and return
@njit(cache=True)
def update_mind(c, i):
    """7.6-7.8 Tomorrow's stress and craving (with helper therapy), then a lapse or a return, and crisis days."""
    a, p = c.a, c.p
    shock = p.psychology_shock_size if uniform_in(c.keys[rng.SHOCK], i, -1) < p.psychology_shock_prob else 0.0
    x = stress_next(a.stress[i], a.conflict[i], a.lonely[i], a.support[i], _f(a.reached[i]), _f(a.attended[i]),
                    shock, a.using[i], p.psychology_stress_decay, p.psychology_conflict_stress,
                    p.psychology_loneliness_stress, p.psychology_support_buffer, p.psychology_using_stress,
                    p.checkins_stress_relief, p.attendance_stress_relief)
    help_acts = a.help_given[i] + a.calls_made[i] + a.answered[i]
    y = craving_next(a.craving[i], a.stress[i], a.support[i], _f(a.called[i]), _f(a.attended[i]), help_acts,
                     a.using[i], p.psychology_craving_decay, p.psychology_stress_craving,
                     p.psychology_support_craving, p.psychology_using_craving, p.sponsorship_craving_relief,
                     p.attendance_craving_relief, p.psychology_helper_therapy)
    u = a.using[i]
    ud = a.use_days[i]
    sd = a.sober_days[i]
    lap = False
    rel = False
    if not u:
        if uniform_in(c.keys[rng.LAPSE], i, -1) < lapse_prob(y, p.psychology_lapse_max, p.psychology_lapse_midpoint,
                                                              p.psychology_lapse_width):
            u = True
            ud = 1
            sd = 0
            x = shame(x, a.support[i], p.psychology_shame)
            lap = True
            rel = p.psychology_relapse_days == 1
        else:
            sd += 1
    else:
        stop = stop_prob(a.support[i], _f(a.reached[i]), _f(a.called[i]), p.psychology_stop_base,
                         p.psychology_stop_support, p.checkins_stop_boost, p.sponsorship_stop_boost)
        if uniform_in(c.keys[rng.STOP], i, -1) < stop:
            u = False
            ud = 0
        else:
            ud += 1
            rel = ud == p.psychology_relapse_days
    a.next_stress[i] = x
    a.next_craving[i] = y
    a.next_using[i] = u
    a.next_use_days[i] = ud
    a.next_sober_days[i] = sd
    a.next_crisis[i] = a.crisis_days[i] + 1 if (u or x >= p.turnover_crisis_stress) else 0
    a.lapsed[i] = lap
    a.relapsed[i] = rel


# ============================================================================ 7.10 evolution of strategy
@njit(cache=True)
def weigh_fitness(c, i):
    """7.10 Fitness: today's payoff plus the weight of start-of-day wellbeing."""
    a = c.a
    a.fitness[i] = fitness(a.payoff[i], a.stress[i], a.craving[i], c.p.evolution_wellbeing_weight)


@njit(cache=True)
def revise(c, i):
    """7.10 Strategy revision by the scenario's rule (start-of-day ties, today's fitness), then mutation."""
    a, p = c.a, c.p
    fit = a.fitness
    new = a.strategy[i]
    start = a.tie_ptr[i]
    d = a.deg[i]
    share = p.evolution_revision_share
    revising = share >= 1.0 or uniform_in(c.keys[rng.REVISE], i, -1) < share
    if revising:
        rule = p.evolution_rule_code
        if rule == FERMI:
            if d > 0:
                j = a.tie_nbr[start + int(uniform_in(c.keys[rng.PICK], i, -1) * d)]
                if uniform_in(c.keys[rng.ADOPT], i, -1) < fermi_prob(fit[i], fit[j], p.evolution_temperature):
                    new = a.strategy[j]
        elif rule == IMITATE_BEST:
            best = fit[i]
            for k in range(start, start + d):
                j = a.tie_nbr[k]
                if fit[j] > best:
                    best = fit[j]
                    new = a.strategy[j]
        else:  # death-birth
            if d > 0:
                sel = p.evolution_selection
                total = 0.0
                for k in range(start, start + d):
                    total += db_weight(fit[a.tie_nbr[k]], sel)
                r = uniform_in(c.keys[rng.PICK], i, -1)
                if total > 0.0:
                    r = r * total
                    acc = 0.0
                    pick = d - 1
                    for k in range(d):
                        acc += db_weight(fit[a.tie_nbr[start + k]], sel)
                        if r < acc:
                            pick = k
                            break
                else:
                    pick = int(r * d)
                new = a.strategy[a.tie_nbr[start + pick]]
        if p.evolution_mutation > 0.0 and uniform_in(c.keys[rng.MUTATE], i, -1) < p.evolution_mutation:
            new = HELP if uniform_in(c.keys[rng.MUTATE_TO], i, -1) < 0.5 else 0
    a.next_strategy[i] = new


# ============================================================================ 7.9 ties
@njit(cache=True)
def update_ties(c, i):
    """7.9 Member i's tie weights move (rules.tie_next, symmetric); ties below ties.break_below break.

    Reads the start-of-day strategies; compacts i's own slots in place.
    """
    a, p = c.a, c.p
    start = a.tie_ptr[i]
    cnt = 0
    si = a.strategy[i]
    for k in range(start, start + a.deg[i]):
        j = a.tie_nbr[k]
        v = tie_next(a.tie_w[k], si, a.strategy[j], p.ties_help_gain, p.ties_conflict_loss, p.ties_decay)
        if v >= p.ties_break_below:
            a.tie_nbr[start + cnt] = j
            a.tie_w[start + cnt] = v
            cnt += 1
    for k in range(start + cnt, start + a.deg[i]):
        a.tie_nbr[k] = -1
        a.tie_w[k] = 0.0
    a.deg[i] = cnt


@njit(cache=True)
def insert_tie(a, i, j, w):
    """Insert neighbour j into i's slots, keeping them ascending (room is checked by the caller)."""
    start = a.tie_ptr[i]
    pos = start + a.deg[i]
    while pos > start and a.tie_nbr[pos - 1] > j:
        a.tie_nbr[pos] = a.tie_nbr[pos - 1]
        a.tie_w[pos] = a.tie_w[pos - 1]
        pos -= 1
    a.tie_nbr[pos] = j
    a.tie_w[pos] = w
    a.deg[i] += 1


@njit(cache=True)
def remove_tie(a, i, j):
    """Remove neighbour j from i's slots (nothing if absent)."""
    start = a.tie_ptr[i]
    end = start + a.deg[i]
    pos = -1
    for k in range(start, end):
        if a.tie_nbr[k] == j:
            pos = k
            break
    if pos < 0:
        return
    for k in range(pos, end - 1):
        a.tie_nbr[k] = a.tie_nbr[k + 1]
        a.tie_w[k] = a.tie_w[k + 1]
    a.tie_nbr[end - 1] = -1
    a.tie_w[end - 1] = 0.0
    a.deg[i] -= 1


#: Meetings larger than this sort their attendees with a stable merge sort; smaller ones by insertion.
LARGE_MEETING = 64


@njit(cache=True)
def form_ties(c, mk):
    """7.9 At meeting ``mk`` the attendees, ordered by (U(MEET_ORDER), slot), are paired first-second,
    third-fourth, ...; an untied pair with room at both ends forms a tie with ``ties.form_prob``.

    Meetings are disjoint and each sorts in its own segment of ``buf_slot``/``buf_key``.
    """
    a, p = c.a, c.p
    sk_order = c.keys[rng.MEET_ORDER]
    lo_slot, hi_slot = a.meeting_start[mk], a.meeting_start[mk + 1]
    cnt = 0
    if hi_slot - lo_slot > LARGE_MEETING:
        for s in range(lo_slot, hi_slot):
            if a.attended[s]:
                a.buf_slot[lo_slot + cnt] = s
                a.buf_key[lo_slot + cnt] = uniform_in(sk_order, s, -1)
                cnt += 1
        order = np.argsort(a.buf_key[lo_slot:lo_slot + cnt], kind="mergesort")
        slots = a.buf_slot[lo_slot:lo_slot + cnt][order]
        a.buf_slot[lo_slot:lo_slot + cnt] = slots
    else:
        for s in range(lo_slot, hi_slot):
            if a.attended[s]:
                # insertion sort by (key, slot): slots arrive ascending and only a
                # strictly greater key moves an entry, so equal keys keep slot order
                ks = uniform_in(sk_order, s, -1)
                pos = lo_slot + cnt
                while pos > lo_slot and a.buf_key[pos - 1] > ks:
                    a.buf_key[pos] = a.buf_key[pos - 1]
                    a.buf_slot[pos] = a.buf_slot[pos - 1]
                    pos -= 1
                a.buf_key[pos] = ks
                a.buf_slot[pos] = s
                cnt += 1
    sk_form = c.keys[rng.TIE_FORM]
    for q in range(0, cnt - 1, 2):
        i = a.buf_slot[lo_slot + q]
        j = a.buf_slot[lo_slot + q + 1]
        lo, hi = (i, j) if i < j else (j, i)
        if find_tie(a, lo, hi) >= 0:
            continue
        if a.deg[lo] >= a.tie_ptr[lo + 1] - a.tie_ptr[lo] or a.deg[hi] >= a.tie_ptr[hi + 1] - a.tie_ptr[hi]:
            continue
        if uniform_in(sk_form, lo, hi) < p.ties_form_prob:
            insert_tie(a, lo, hi, p.ties_new_weight)
            insert_tie(a, hi, lo, p.ties_new_weight)


# ============================================================================ 3.1 the commit
@njit(cache=True)
def commit(c, i):
    """3.1 Apply member i's updates of the day together (synchronous update) and keep its record."""
    a = c.a
    a.days[i] += 1
    if a.strategy[i] == HELP:
        a.help_days[i] += 1
    if c.clock[REVISING] == 1:
        a.strategy[i] = a.next_strategy[i]
    a.checkins_received[i] += a.checkins_in[i]
    if c.p.psychology_enabled:
        a.missed[i] = a.next_missed[i]
        a.reached_prev[i] = a.reached[i]
        a.stress[i] = a.next_stress[i]
        a.craving[i] = a.next_craving[i]
        a.using[i] = a.next_using[i]
        a.use_days[i] = a.next_use_days[i]
        a.sober_days[i] = a.next_sober_days[i]
        a.crisis_days[i] = a.next_crisis[i]
        if a.using[i]:
            a.used_days[i] += 1
            if not a.ever_used[i]:
                a.ever_used[i] = True
                a.first_use_step[i] = c.clock[DAY]


# ============================================================================ 7.11 turnover
@njit(cache=True)
def mark_leavers(c):
    """7.11 Who leaves today: ``crisis_days >= turnover.crisis_days``. Returns how many."""
    a = c.a
    gone = 0
    for i in range(a.strategy.shape[0]):
        out = a.crisis_days[i] >= c.p.turnover_crisis_days
        a.leaving[i] = out
        if out:
            gone += 1
    return gone


@njit(cache=True)
def replace_leavers(c):
    """7.11 Leavers' sponsors lose a sponsee, their ties go at both ends, newcomers take their slots,
    and members whose sponsor left lose it (serial, slot order)."""
    a = c.a
    n = a.strategy.shape[0]
    for i in range(n):
        if a.leaving[i]:
            k = a.sponsor[i]
            if k >= 0 and not a.leaving[k]:
                a.sponsees[k] -= 1
    for i in range(n):
        if not a.leaving[i]:
            continue
        start = a.tie_ptr[i]
        for k in range(start, start + a.deg[i]):
            remove_tie(a, a.tie_nbr[k], i)
        for k in range(start, start + a.deg[i]):
            a.tie_nbr[k] = -1
            a.tie_w[k] = 0.0
        a.deg[i] = 0
    for i in range(n):
        if a.leaving[i]:
            join(c, i)
    for i in range(n):
        k = a.sponsor[i]
        if k >= 0 and a.leaving[k]:
            a.sponsor[i] = -1


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
def meet_all(c):
    for i in prange(c.a.strategy.shape[0]):
        meet(c, i)


@njit(parallel=True, cache=True)
def check_in_all(c):
    for i in prange(c.a.strategy.shape[0]):
        check_in(c, i)


@njit(cache=True)
def find_sponsor_all(c):
    for i in range(c.a.strategy.shape[0]):
        find_sponsor(c, i)


@njit(cache=True)
def call_sponsor_all(c):
    for i in range(c.a.strategy.shape[0]):
        call_sponsor(c, i)


@njit(parallel=True, cache=True)
def update_mind_all(c):
    for i in prange(c.a.strategy.shape[0]):
        update_mind(c, i)


@njit(parallel=True, cache=True)
def weigh_fitness_all(c):
    for i in prange(c.a.strategy.shape[0]):
        weigh_fitness(c, i)


@njit(parallel=True, cache=True)
def revise_all(c):
    for i in prange(c.a.strategy.shape[0]):
        revise(c, i)


@njit(parallel=True, cache=True)
def update_ties_all(c):
    for i in prange(c.a.strategy.shape[0]):
        update_ties(c, i)


@njit(parallel=True, cache=True)
def form_ties_all(c):
    for mk in prange(c.a.meeting_start.shape[0] - 1):
        form_ties(c, mk)


@njit(parallel=True, cache=True)
def commit_all(c):
    for i in prange(c.a.strategy.shape[0]):
        commit(c, i)
