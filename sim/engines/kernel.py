"""The numba kernel engine (``engine: kernel``): the same day, on arrays.

Member state is struct-of-arrays, indexed by slot. Ties live in fixed slots
per member: member ``i`` owns ``tie_nbr[tie_ptr[i]:tie_ptr[i+1]]`` (its
day-0 degree plus ``ties.extra_slots``), of which the first ``deg[i]`` hold
neighbours in ascending order with weights in ``tie_w``; ties form and break
without reallocation.

Each stage is an ``@njit`` function over arrays. Stages that write only the
member's own entries run with ``parallel=True`` (``prange``); stages that
write to other members (sponsor pairing, answering calls, turnover) are
serial. The arithmetic is :mod:`sim.core.rules` and the draws are :mod:`sim.core.rng`,
the very functions the Mesa agents call, and every sum runs over neighbours
in ascending slot order as in the agents engine, so the two engines give the
same bits on any thread count (``tests/test_engines.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.core import metrics
from sim.core import rng
from sim.core.schema import Scenario
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

RULES = {"fermi": 0, "imitate_best": 1, "death_birth": 2}


# ---------------------------------------------------------------- stages
@njit(parallel=True, cache=True)
def _play(key, day, psych, any_iso, self_interaction, tie_scale, R, S, T, P, tie_target,
          a_base, a_tie, a_stress, a_using, a_boost,
          strategy, stress, using, reached_prev, missed, iso,
          tie_ptr, tie_nbr, tie_w, deg,
          attended, next_missed, tie_total, pay, help_given, support, conflict, lonely):
    """7.1-7.3: effective ties, attendance, the game, support, conflict, loneliness."""
    n = strategy.shape[0]
    sk = stream_key(key, day, rng.ATTEND)
    for i in prange(n):
        si = strategy[i]
        tot = 0.0
        helped = 0.0
        p = 0.0
        start = tie_ptr[i]
        for k in range(start, start + deg[i]):
            j = tie_nbr[k]
            w = tie_w[k]
            if any_iso and (iso[i] or iso[j]):
                w = w * tie_scale
            tot += w
            sj = strategy[j]
            p += w * payoff(si, sj, R, S, T, P)
            if sj == HELP:
                helped += w
        if self_interaction:
            p += payoff(si, si, R, S, T, P)
        tie_total[i] = tot
        pay[i] = p
        help_given[i] = tot if si == HELP else 0.0
        if tot > 0.0:
            support[i] = helped / tot
            conflict[i] = 1.0 - support[i]
        else:
            support[i] = 0.0
            conflict[i] = 0.0
        lonely[i] = loneliness(tot, tie_target)
        if psych:
            if iso[i]:
                att = False
            else:
                prob = attend_prob(tot, stress[i], using[i], _f(reached_prev[i]), tie_target,
                                   a_base, a_tie, a_stress, a_using, a_boost)
                att = uniform_in(sk, i, -1) < prob
            attended[i] = att
            next_missed[i] = 0 if att else missed[i] + 1
        else:
            attended[i] = False


@njit(inline="always")
def _f(b):
    """A flag as 0.0 or 1.0 (Python's float(bool))."""
    return 1.0 if b else 0.0


@njit(inline="always")
def _needs_checkin(i, missed, attended, threshold):
    return missed[i] >= threshold and not attended[i]


@njit(inline="always")
def _can_check_in(j, strategy, using, attended, iso):
    return strategy[j] == HELP and not using[j] and (attended[j] or iso[j])


@njit(parallel=True, cache=True)
def _check_in(key, day, threshold, prob, strategy, using, missed, attended, iso,
              tie_ptr, tie_nbr, tie_w, deg, checkins_in, reached, calls_made, next_missed):
    """7.4 Check-ins, counted from both ends with the draw keyed (absent, helper)."""
    n = strategy.shape[0]
    sk = stream_key(key, day, rng.CHECKIN)
    for i in prange(n):
        start = tie_ptr[i]
        cnt = 0
        if _needs_checkin(i, missed, attended, threshold):
            for k in range(start, start + deg[i]):
                j = tie_nbr[k]
                if _can_check_in(j, strategy, using, attended, iso) and uniform_in(sk, i, j) < prob * tie_w[k]:
                    cnt += 1
        checkins_in[i] = cnt
        reached[i] = cnt > 0
        if cnt > 0:
            next_missed[i] = 0
        calls = 0
        if _can_check_in(i, strategy, using, attended, iso):
            for k in range(start, start + deg[i]):
                j = tie_nbr[k]
                if _needs_checkin(j, missed, attended, threshold) and uniform_in(sk, j, i) < prob * tie_w[k]:
                    calls += 1
        calls_made[i] = calls


@njit(cache=True)
def _find_tie(i, j, tie_ptr, tie_nbr, deg):
    """Slot of neighbour j among i's ties, or -1."""
    start = tie_ptr[i]
    for k in range(start, start + deg[i]):
        if tie_nbr[k] == j:
            return k
        if tie_nbr[k] > j:
            break
    return -1


@njit(cache=True)
def _tie_weight(i, j, tie_ptr, tie_nbr, tie_w, deg):
    k = _find_tie(i, j, tie_ptr, tie_nbr, deg)
    return tie_w[k] if k >= 0 else 0.0


@njit(cache=True)
def _pair_sponsors(day, newcomer_days, min_sober, capacity, strategy, using, sober_days, start_day,
                   member_id, sponsor, sponsees, sponsor_id, sponsees_total, meeting_of, meeting_start,
                   tie_ptr, tie_nbr, tie_w, deg):
    """7.5 Serial pairing of newcomers with sponsors (see MutualAidModel.pair_sponsors)."""
    n = strategy.shape[0]
    for i in range(n):
        if sponsor[i] >= 0 or not (day - start_day[i] < newcomer_days):
            continue
        k = meeting_of[i]
        best = -1
        best_w = 0.0
        best_s = 0
        for c in range(meeting_start[k], meeting_start[k + 1]):
            if (c == i or strategy[c] != HELP or using[c] or sober_days[c] < min_sober
                    or sponsees[c] >= capacity):
                continue
            w = _tie_weight(i, c, tie_ptr, tie_nbr, tie_w, deg)
            if best < 0 or w > best_w or (w == best_w and (sponsees[c] < best_s
                                                           or (sponsees[c] == best_s and c < best))):
                best, best_w, best_s = c, w, sponsees[c]
        if best >= 0:
            sponsor[i] = best
            sponsor_id[i] = member_id[best]
            sponsees[best] += 1
            sponsees_total[best] += 1


@njit(cache=True)
def _call_sponsors(key, day, threshold, answer_prob, sponsor, craving, using, called, answered):
    """7.5 Calls above the threshold; a sponsor not in a lapse answers (serial: answers add up)."""
    sk = stream_key(key, day, rng.CALL)
    for i in range(sponsor.shape[0]):
        k = sponsor[i]
        if k < 0 or craving[i] <= threshold or using[k]:
            continue
        if uniform_in(sk, i, -1) < answer_prob:
            called[i] = True
            answered[k] += 1


@njit(parallel=True, cache=True)
def _update_mind(key, day, pp, stress, craving, using, use_days, sober_days, crisis_days,
                 conflict, lonely, support, reached, attended, called, help_given, calls_made, answered,
                 next_stress, next_craving, next_using, next_use_days, next_sober_days, next_crisis,
                 lapsed, relapsed):
    """7.6-7.8 Stress, craving, helper therapy, lapse and return. ``pp`` holds the parameters."""
    (stress_decay, conflict_stress, loneliness_stress, support_buffer, using_stress, checkin_relief,
     meeting_stress, craving_decay, stress_craving, support_craving, using_craving, call_relief,
     meeting_craving, helper_therapy, shock_prob, shock_size, lapse_max, lapse_mid, lapse_width,
     stop_base, stop_support, checkin_stop, sponsor_stop, shame_size, relapse_days, crisis_stress) = pp
    n = stress.shape[0]
    sk_shock = stream_key(key, day, rng.SHOCK)
    sk_lapse = stream_key(key, day, rng.LAPSE)
    sk_stop = stream_key(key, day, rng.STOP)
    for i in prange(n):
        shock = shock_size if uniform_in(sk_shock, i, -1) < shock_prob else 0.0
        x = stress_next(stress[i], conflict[i], lonely[i], support[i], _f(reached[i]), _f(attended[i]),
                        shock, using[i], stress_decay, conflict_stress, loneliness_stress, support_buffer,
                        using_stress, checkin_relief, meeting_stress)
        help_acts = help_given[i] + calls_made[i] + answered[i]
        y = craving_next(craving[i], stress[i], support[i], _f(called[i]), _f(attended[i]), help_acts,
                         using[i], craving_decay, stress_craving, support_craving, using_craving,
                         call_relief, meeting_craving, helper_therapy)
        u = using[i]
        ud = use_days[i]
        sd = sober_days[i]
        lap = False
        rel = False
        if not u:
            if uniform_in(sk_lapse, i, -1) < lapse_prob(y, lapse_max, lapse_mid, lapse_width):
                u = True
                ud = 1
                sd = 0
                x = shame(x, support[i], shame_size)
                lap = True
                rel = relapse_days == 1
            else:
                sd += 1
        else:
            stop = stop_prob(support[i], _f(reached[i]), _f(called[i]), stop_base, stop_support,
                             checkin_stop, sponsor_stop)
            if uniform_in(sk_stop, i, -1) < stop:
                u = False
                ud = 0
            else:
                ud += 1
                rel = ud == relapse_days
        next_stress[i] = x
        next_craving[i] = y
        next_using[i] = u
        next_use_days[i] = ud
        next_sober_days[i] = sd
        next_crisis[i] = crisis_days[i] + 1 if (u or x >= crisis_stress) else 0
        lapsed[i] = lap
        relapsed[i] = rel


@njit(parallel=True, cache=True)
def _revise(key, day, rule, revision_share, temperature, mutation, selection, strategy, fit,
            tie_ptr, tie_nbr, deg, next_strategy):
    """7.10 Strategy revision (reads the start-of-day ties and today's fitness)."""
    n = strategy.shape[0]
    sk_rev = stream_key(key, day, rng.REVISE)
    sk_pick = stream_key(key, day, rng.PICK)
    sk_adopt = stream_key(key, day, rng.ADOPT)
    sk_mut = stream_key(key, day, rng.MUTATE)
    sk_mut_to = stream_key(key, day, rng.MUTATE_TO)
    for i in prange(n):
        new = strategy[i]
        start = tie_ptr[i]
        d = deg[i]
        revising = revision_share >= 1.0 or uniform_in(sk_rev, i, -1) < revision_share
        if revising:
            if rule == 0:
                if d > 0:
                    j = tie_nbr[start + int(uniform_in(sk_pick, i, -1) * d)]
                    if uniform_in(sk_adopt, i, -1) < fermi_prob(fit[i], fit[j], temperature):
                        new = strategy[j]
            elif rule == 1:
                best = fit[i]
                for k in range(start, start + d):
                    j = tie_nbr[k]
                    if fit[j] > best:
                        best = fit[j]
                        new = strategy[j]
            else:
                if d > 0:
                    total = 0.0
                    for k in range(start, start + d):
                        total += db_weight(fit[tie_nbr[k]], selection)
                    r = uniform_in(sk_pick, i, -1)
                    if total > 0.0:
                        r = r * total
                        acc = 0.0
                        pick = d - 1
                        for k in range(d):
                            acc += db_weight(fit[tie_nbr[start + k]], selection)
                            if r < acc:
                                pick = k
                                break
                    else:
                        pick = int(r * d)
                    new = strategy[tie_nbr[start + pick]]
            if mutation > 0.0 and uniform_in(sk_mut, i, -1) < mutation:
                new = HELP if uniform_in(sk_mut_to, i, -1) < 0.5 else 0
        next_strategy[i] = new


@njit(parallel=True, cache=True)
def _update_ties(help_gain, conflict_loss, decay, break_below, strategy, tie_ptr, tie_nbr, tie_w, deg):
    """7.9 Tie weights move; weak ties break. Each member compacts its own slots in place."""
    n = strategy.shape[0]
    for i in prange(n):
        start = tie_ptr[i]
        cnt = 0
        for k in range(start, start + deg[i]):
            j = tie_nbr[k]
            v = tie_next(tie_w[k], strategy[i], strategy[j], help_gain, conflict_loss, decay)
            if v >= break_below:
                tie_nbr[start + cnt] = j
                tie_w[start + cnt] = v
                cnt += 1
        for k in range(start + cnt, start + deg[i]):
            tie_nbr[k] = -1
            tie_w[k] = 0.0
        deg[i] = cnt


@njit(cache=True)
def _insert_tie(i, j, w, tie_ptr, tie_nbr, tie_w, deg):
    """Insert neighbour j into i's slots, keeping them sorted (room is checked by the caller)."""
    start = tie_ptr[i]
    pos = start + deg[i]
    while pos > start and tie_nbr[pos - 1] > j:
        tie_nbr[pos] = tie_nbr[pos - 1]
        tie_w[pos] = tie_w[pos - 1]
        pos -= 1
    tie_nbr[pos] = j
    tie_w[pos] = w
    deg[i] += 1


@njit(cache=True)
def _remove_tie(i, j, tie_ptr, tie_nbr, tie_w, deg):
    start = tie_ptr[i]
    end = start + deg[i]
    pos = -1
    for k in range(start, end):
        if tie_nbr[k] == j:
            pos = k
            break
    if pos < 0:
        return
    for k in range(pos, end - 1):
        tie_nbr[k] = tie_nbr[k + 1]
        tie_w[k] = tie_w[k + 1]
    tie_nbr[end - 1] = -1
    tie_w[end - 1] = 0.0
    deg[i] -= 1


@njit(parallel=True, cache=True)
def _form_ties(key, day, form_prob, new_weight, attended, meeting_start, tie_ptr, tie_nbr, tie_w, deg,
               buf_slot, buf_key):
    """7.9 Co-attendees paired at each meeting may form a tie (meetings are disjoint: parallel).

    ``buf_slot``/``buf_key`` (n,) are scratch: meeting k sorts its attendees in
    its own segment ``meeting_start[k]..``, so no thread allocates or shares.
    """
    sk_order = stream_key(key, day, rng.MEET_ORDER)
    sk_form = stream_key(key, day, rng.TIE_FORM)
    m = meeting_start.shape[0] - 1
    for mk in prange(m):
        a, b = meeting_start[mk], meeting_start[mk + 1]
        cnt = 0
        if b - a > 64:  # large meetings (sbm groups): a stable O(k log k) sort
            for c in range(a, b):
                if attended[c]:
                    buf_slot[a + cnt] = c
                    buf_key[a + cnt] = uniform_in(sk_order, c, -1)
                    cnt += 1
            order = np.argsort(buf_key[a:a + cnt], kind="mergesort")
            slots = buf_slot[a:a + cnt][order]
            buf_slot[a:a + cnt] = slots
            b = a  # skip the insertion sort below
        for c in range(a, b):
            if attended[c]:
                # insertion sort by (key, slot): slots arrive ascending and only a
                # strictly greater key moves an entry, so equal keys keep slot order
                kc = uniform_in(sk_order, c, -1)
                pos = a + cnt
                while pos > a and buf_key[pos - 1] > kc:
                    buf_key[pos] = buf_key[pos - 1]
                    buf_slot[pos] = buf_slot[pos - 1]
                    pos -= 1
                buf_key[pos] = kc
                buf_slot[pos] = c
                cnt += 1
        for q in range(0, cnt - 1, 2):
            i = buf_slot[a + q]
            j = buf_slot[a + q + 1]
            lo, hi = (i, j) if i < j else (j, i)
            if _find_tie(lo, hi, tie_ptr, tie_nbr, deg) >= 0:
                continue
            if deg[lo] >= tie_ptr[lo + 1] - tie_ptr[lo] or deg[hi] >= tie_ptr[hi + 1] - tie_ptr[hi]:
                continue
            if uniform_in(sk_form, lo, hi) < form_prob:
                _insert_tie(lo, hi, new_weight, tie_ptr, tie_nbr, tie_w, deg)
                _insert_tie(hi, lo, new_weight, tie_ptr, tie_nbr, tie_w, deg)


@njit(cache=True)
def _remove_all_ties(leaving, tie_ptr, tie_nbr, tie_w, deg):
    for i in range(leaving.shape[0]):
        if not leaving[i]:
            continue
        start = tie_ptr[i]
        for k in range(start, start + deg[i]):
            _remove_tie(tie_nbr[k], i, tie_ptr, tie_nbr, tie_w, deg)
        for k in range(start, start + deg[i]):
            tie_nbr[k] = -1
            tie_w[k] = 0.0
        deg[i] = 0


@njit(cache=True)
def compact_ties(tie_ptr, tie_nbr, tie_w, deg):
    """The slot arrays as CSR (ptr, nbr, w) without empty slots, for metrics and outputs."""
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


# ---------------------------------------------------------------- the engine
STATE_FIELDS = {
    "member_id": np.int64, "strategy": np.int8, "stress": np.float64, "craving": np.float64,
    "using": np.bool_, "use_days": np.int32, "sober_days": np.int32, "start_day": np.int32,
    "joined_step": np.int32, "original": np.bool_, "missed": np.int32, "sponsor": np.int32,
    "sponsees": np.int32, "reached_prev": np.bool_, "crisis_days": np.int32, "ever_used": np.bool_,
    "first_use_step": np.int32, "used_days": np.int32, "help_days": np.int32, "days": np.int32,
    "sponsor_id": np.int64, "sponsees_total": np.int32, "checkins_received": np.int32,
}
SCRATCH_FIELDS = {
    "iso": np.bool_, "attended": np.bool_, "next_missed": np.int32, "tie_total": np.float64,
    "payoff": np.float64, "help_given": np.float64, "support": np.float64, "conflict": np.float64,
    "lonely": np.float64, "checkins_in": np.int32, "reached": np.bool_, "calls_made": np.int32,
    "called": np.bool_, "answered": np.int32, "next_stress": np.float64, "next_craving": np.float64,
    "next_using": np.bool_, "next_use_days": np.int32, "next_sober_days": np.int32,
    "next_crisis": np.int32, "lapsed": np.bool_, "relapsed": np.bool_, "fitness": np.float64,
    "next_strategy": np.int8, "buf_slot": np.int64, "buf_key": np.float64,
}


class KernelModel:
    """The community on arrays, stepping with numba kernels.

    Same constructor inputs and the same outputs (``metrics_frame``,
    ``members_frame``, ``state_arrays``, ``tie_arrays``) as
    :class:`sim.engines.agents_model.MutualAidModel`.
    """

    def __init__(self, scenario: Scenario, graph=None):
        from sim.core.networks import build_network
        from sim.core.state import initial_members, make_layout

        sc = scenario
        self.scenario = sc
        self.key = rng.run_key(sc.seed)
        self.day = 0
        self.steps = 0
        self.psych = sc.psychology.enabled
        self.ties_dynamic = self.psych and sc.ties.dynamic
        self.graph = graph if graph is not None else build_network(
            sc.network, sc.population.size, rng.network_seed(sc.seed))
        g = self.graph
        n = g.n
        self.n = n
        self.layout = make_layout(sc, g, self.key)
        init = initial_members(sc, n, self.key)
        st = {name: np.zeros(n, dtype=dt) for name, dt in STATE_FIELDS.items()}
        for name, v in init.items():
            st[name][:] = v
        st["original"][:] = True
        st["sponsor"][:] = -1
        st["sponsor_id"][:] = -1
        st["ever_used"][:] = st["using"]
        st["first_use_step"][:] = np.where(st["using"], 0, -1)
        self.s = st
        self.tmp = {name: np.zeros(n, dtype=dt) for name, dt in SCRATCH_FIELDS.items()}
        cap = self.layout.capacity.astype(np.int64)
        self.tie_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(cap, out=self.tie_ptr[1:])
        self.tie_nbr = np.full(self.tie_ptr[-1], -1, dtype=np.int32)
        self.tie_w = np.zeros(self.tie_ptr[-1], dtype=np.float64)
        self.deg = g.degree().astype(np.int32)
        _fill_slots(g.indptr, g.indices, self.tie_ptr, self.tie_nbr, self.tie_w, sc.ties.initial_weight)
        self.next_id = n
        self.n0 = n
        self.records: list[dict] = []
        self.rows: list[dict] = []
        self.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
        self.attended = None
        self.mean_payoff = float("nan")
        pp = sc.psychology
        self._mind_params = (
            pp.stress_decay, pp.conflict_stress, pp.loneliness_stress, pp.support_buffer, pp.using_stress,
            sc.checkins.stress_relief, sc.attendance.stress_relief, pp.craving_decay, pp.stress_craving,
            pp.support_craving, pp.using_craving, sc.sponsorship.craving_relief, sc.attendance.craving_relief,
            pp.helper_therapy, pp.shock_prob, pp.shock_size, pp.lapse_max, pp.lapse_midpoint, pp.lapse_width,
            pp.stop_base, pp.stop_support, sc.checkins.stop_boost, sc.sponsorship.stop_boost, pp.shame,
            pp.relapse_days, sc.turnover.crisis_stress,
        )
        if self.psych and sc.sponsorship.enabled:
            self._pair_sponsors()
        self._collect()

    # ------------------------------------------------------------ stages
    def _pair_sponsors(self):
        sc, s, lay = self.scenario, self.s, self.layout
        sp = sc.sponsorship
        _pair_sponsors(self.day, sc.population.newcomer_days, sp.min_sober_days, sp.capacity, s["strategy"],
                       s["using"], s["sober_days"], s["start_day"], s["member_id"], s["sponsor"], s["sponsees"],
                       s["sponsor_id"], s["sponsees_total"], lay.meeting_of, lay.meeting_start,
                       self.tie_ptr, self.tie_nbr, self.tie_w, self.deg)

    def step(self):
        """One day (the same stages as MutualAidModel.step)."""
        sc, s, t = self.scenario, self.s, self.tmp
        self.steps += 1
        self.day = day = self.steps
        key = self.key
        iso_cfg = sc.isolation
        iso_on = self.psych and iso_cfg.enabled and iso_cfg.start <= day < iso_cfg.start + iso_cfg.duration
        t["iso"][:] = self.layout.closed & iso_on
        for name in ("checkins_in", "reached", "calls_made", "called", "answered", "lapsed", "relapsed"):
            t[name][:] = 0
        g, a = sc.game, sc.attendance
        _play(key, day, self.psych, iso_on and bool(self.layout.closed.any()), sc.network.self_interaction, iso_cfg.tie_scale, g.R, g.S, g.T, g.P,
              sc.psychology.tie_target, a.base, a.tie_effect, a.stress_effect, a.using_effect, a.checkin_boost,
              s["strategy"], s["stress"], s["using"], s["reached_prev"], s["missed"], t["iso"],
              self.tie_ptr, self.tie_nbr, self.tie_w, self.deg,
              t["attended"], t["next_missed"], t["tie_total"], t["payoff"], t["help_given"], t["support"],
              t["conflict"], t["lonely"])
        if self.psych:
            if sc.checkins.enabled:
                c = sc.checkins
                _check_in(key, day, c.missed_threshold, c.prob, s["strategy"], s["using"], s["missed"],
                          t["attended"], t["iso"], self.tie_ptr, self.tie_nbr, self.tie_w, self.deg,
                          t["checkins_in"], t["reached"], t["calls_made"], t["next_missed"])
            if sc.sponsorship.enabled:
                self._pair_sponsors()
                sp = sc.sponsorship
                _call_sponsors(key, day, sp.call_threshold, sp.answer_prob, s["sponsor"], s["craving"],
                               s["using"], t["called"], t["answered"])
            _update_mind(key, day, self._mind_params, s["stress"], s["craving"], s["using"], s["use_days"],
                         s["sober_days"], s["crisis_days"], t["conflict"], t["lonely"], t["support"],
                         t["reached"], t["attended"], t["called"], t["help_given"], t["calls_made"],
                         t["answered"], t["next_stress"], t["next_craving"], t["next_using"],
                         t["next_use_days"], t["next_sober_days"], t["next_crisis"], t["lapsed"], t["relapsed"])
        ev = sc.evolution
        # Revision reads the start-of-day ties, so it runs before the ties change.
        if ev.enabled and day % ev.interval == 0:
            _fitness(t["payoff"], s["stress"], s["craving"], ev.wellbeing_weight, t["fitness"])
            _revise(key, day, RULES[ev.rule], ev.revision_share, ev.temperature, ev.mutation, ev.selection,
                    s["strategy"], t["fitness"], self.tie_ptr, self.tie_nbr, self.deg, t["next_strategy"])
        else:
            t["next_strategy"][:] = s["strategy"]
        if self.ties_dynamic:
            tc = sc.ties
            _update_ties(tc.help_gain, tc.conflict_loss, tc.decay, tc.break_below, s["strategy"],
                         self.tie_ptr, self.tie_nbr, self.tie_w, self.deg)
            _form_ties(key, day, tc.form_prob, tc.new_weight, t["attended"], self.layout.meeting_start,
                       self.tie_ptr, self.tie_nbr, self.tie_w, self.deg, t["buf_slot"], t["buf_key"])
        if self.psych:
            self.counts = dict(
                lapses=int(np.count_nonzero(t["lapsed"])), relapses=int(np.count_nonzero(t["relapsed"])),
                checkins=int(t["checkins_in"].sum()), sponsor_calls=int(np.count_nonzero(t["called"])),
                dropouts=0,
            )
        else:  # no psychology: nothing to count (the scratch arrays stay zero)
            self.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
        self.attended = t["attended"].copy() if self.psych else None
        self.mean_payoff = float(t["payoff"].mean())
        _commit(day, self.psych, s["strategy"], t["next_strategy"], s["days"], s["help_days"],
                s["checkins_received"], t["checkins_in"], s["missed"], t["next_missed"], s["reached_prev"],
                t["reached"], s["stress"], t["next_stress"], s["craving"], t["next_craving"], s["using"],
                t["next_using"], s["use_days"], t["next_use_days"], s["sober_days"], t["next_sober_days"],
                s["crisis_days"], t["next_crisis"], s["used_days"], s["ever_used"], s["first_use_step"])
        if self.psych and sc.turnover.enabled:
            self.counts["dropouts"] = self._turnover()
        self._collect()

    def _turnover(self) -> int:
        """7.11 as in MutualAidModel.turnover."""
        sc, s, day = self.scenario, self.s, self.day
        leaving = s["crisis_days"] >= sc.turnover.crisis_days
        gone = np.flatnonzero(leaving)
        if gone.size == 0:
            return 0
        for i in gone:
            k = s["sponsor"][i]
            if k >= 0 and not leaving[k]:
                s["sponsees"][k] -= 1
        _remove_all_ties(leaving, self.tie_ptr, self.tie_nbr, self.tie_w, self.deg)
        pop = sc.population
        for i in gone:
            self.records.append(self._record(i, left=day))
            for name in STATE_FIELDS:
                s[name][i] = 0
            s["member_id"][i] = self.next_id
            self.next_id += 1
            s["strategy"][i] = 1 if rng.uniform(self.key, day, i, rng.NEW_STRATEGY, -1) < pop.initial_helpers else 0
            s["stress"][i] = spread(pop.initial_stress, pop.initial_spread,
                                    rng.uniform(self.key, day, i, rng.NEW_STRESS, -1))
            s["craving"][i] = spread(pop.newcomer_craving, pop.initial_spread,
                                     rng.uniform(self.key, day, i, rng.NEW_CRAVING, -1))
            s["start_day"][i] = day
            s["joined_step"][i] = day
            s["sponsor"][i] = -1
            s["sponsor_id"][i] = -1
            s["first_use_step"][i] = -1
        sp = s["sponsor"]
        has = sp >= 0
        drop = np.zeros(self.n, dtype=bool)
        drop[has] = leaving[sp[has]]
        sp[drop] = -1
        return int(gone.size)

    # ------------------------------------------------------------ outputs
    def tie_arrays(self):
        """Current ties as CSR arrays (ascending neighbours per slot)."""
        return compact_ties(self.tie_ptr, self.tie_nbr, self.tie_w, self.deg)

    def state_arrays(self) -> dict[str, np.ndarray]:
        names = ("member_id", "strategy", "stress", "craving", "using", "use_days", "sober_days", "missed",
                 "sponsor", "sponsees", "crisis_days")
        return {k: self.s[k].copy() for k in names}

    def _collect(self):
        sc, s = self.scenario, self.s
        abst = int(np.count_nonzero(s["original"] & ~s["ever_used"]))
        counted = self.psych and sc.sponsorship.enabled
        if counted:
            newcomer = (self.day - s["start_day"]) < sc.population.newcomer_days
            newcomers = int(np.count_nonzero(newcomer))
            sponsored = int(np.count_nonzero(newcomer & (s["sponsor"] >= 0)))
        else:
            newcomers = sponsored = 0
        self.rows.append(metrics.compute(
            self.day, s["strategy"], s["stress"], s["craving"], s["using"], self.attended,
            self.tie_ptr[:-1], self.deg, self.tie_nbr, self.tie_w, abstinent_count=abst, n0=self.n0,
            isolation_threshold=sc.ties.isolation_threshold, mean_payoff=self.mean_payoff,
            newcomers=newcomers, sponsored_newcomers=sponsored,
            **self.counts,
        ))

    def _record(self, i, left):
        s = self.s
        days = int(s["days"][i])
        return {
            "id": int(s["member_id"][i]),
            "joined_step": int(s["joined_step"][i]),
            "start_day": int(s["start_day"][i]),
            "left_step": left,
            "strategy_final": "HELP" if s["strategy"][i] == HELP else "COMPETE",
            "help_share": s["help_days"][i] / days if days else float(s["strategy"][i]),
            "ever_used": bool(s["ever_used"][i]),
            "first_use_step": int(s["first_use_step"][i]),
            "used_days": int(s["used_days"][i]),
            "sponsor_id": int(s["sponsor_id"][i]),
            "sponsees": int(s["sponsees_total"][i]),
            "checkins_received": int(s["checkins_received"][i]),
        }

    def metrics_frame(self):
        import pandas as pd

        return metrics.typed_frame(pd.DataFrame(self.rows))

    def members_frame(self):
        from sim.engines.agents_model import members_frame

        rows = self.records + [self._record(i, left=-1) for i in range(self.n)]
        return members_frame(rows)


@njit(cache=True)
def _fill_slots(indptr, indices, tie_ptr, tie_nbr, tie_w, w0):
    for i in range(indptr.shape[0] - 1):
        s = tie_ptr[i]
        for k in range(indptr[i + 1] - indptr[i]):
            tie_nbr[s + k] = indices[indptr[i] + k]
            tie_w[s + k] = w0


@njit(parallel=True, cache=True)
def _fitness(pay, stress, craving, weight, out):
    for i in prange(pay.shape[0]):
        out[i] = fitness(pay[i], stress[i], craving[i], weight)


@njit(parallel=True, cache=True)
def _commit(day, psych, strategy, next_strategy, days, help_days, checkins_received, checkins_in,
            missed, next_missed, reached_prev, reached, stress, next_stress, craving, next_craving,
            using, next_using, use_days, next_use_days, sober_days, next_sober_days, crisis_days,
            next_crisis, used_days, ever_used, first_use_step):
    """Apply the day's updates together (synchronous update)."""
    for i in prange(strategy.shape[0]):
        days[i] += 1
        if strategy[i] == HELP:
            help_days[i] += 1
        strategy[i] = next_strategy[i]
        checkins_received[i] += checkins_in[i]
        if psych:
            missed[i] = next_missed[i]
            reached_prev[i] = reached[i]
            stress[i] = next_stress[i]
            craving[i] = next_craving[i]
            using[i] = next_using[i]
            use_days[i] = next_use_days[i]
            sober_days[i] = next_sober_days[i]
            crisis_days[i] = next_crisis[i]
            if using[i]:
                used_days[i] += 1
                if not ever_used[i]:
                    ever_used[i] = True
                    first_use_step[i] = day
