"""An obviously-correct, plain-Python reference of the day, written from docs/ODD.md.

It shares nothing with the engines but the random draws (``sim.core.rng``:
the draws *are* part of the specification, ODD 3.2), the scenario schema and
the names and empty values of a member's state (``sim.core.arrays``, ODD 2.2).
Members are dicts, ties are dicts ``{neighbour: weight}``, every formula is
typed out again from the ODD (sections 5 and 7), in the order the ODD
writes it. It is slow and meant for communities of a few dozen members:
``tests/test_reference.py`` steps it beside both engines and requires the
same bits.
"""

from __future__ import annotations

import math

from sim.core import arrays, rng

HELP, COMPETE = 1, 0


def clip01(v):
    return min(1.0, max(0.0, v))


def spread(mean, half_width, u):
    return clip01(mean + half_width * (2.0 * u - 1.0))


def kumaraswamy(u, a, b):
    """Inverse CDF of Kumaraswamy(a, b) (ODD 5)."""
    return (1.0 - (1.0 - u) ** (1.0 / b)) ** (1.0 / a)


def meetings_a_week(u, mean):
    """ODD 5: 1 + Binomial(6, q), q = (mean - 1) / 6, by inverse CDF: the smallest k with u < P(B <= k)."""
    q = (mean - 1.0) / 6.0
    if q <= 0.0:
        return 1
    if q >= 1.0:
        return 7
    acc = 0.0
    for k in range(7):
        acc += math.comb(6, k) * q ** k * (1.0 - q) ** (6 - k)
        if u < acc:
            return k + 1
    return 7


def is_meeting_day(t, weekly, weekday):
    """ODD 7.1: meetings spread evenly over the week from ``weekday``."""
    days = set()
    for m in range(weekly):
        # the m-th meeting falls on the first day p with floor((p + 1) * weekly / 7) > m
        p = next(p for p in range(7) if (p + 1) * weekly // 7 > m)
        days.add((weekday + p) % 7)
    return t % 7 in days


class Reference:
    """The community of ``scenario`` on the day-0 ties ``neighbours`` (slot -> ascending slots)."""

    def __init__(self, scenario, neighbours, groups=None):
        sc = self.sc = scenario
        self.n = n = len(neighbours)
        self.key = rng.run_key(sc.seed)
        self.t = 0
        self.psych = sc.psychology.enabled
        # layout (ODD 2.3, 5.2)
        self.meeting = list(groups) if groups is not None else [i // sc.meetings.size for i in range(n)]
        self.capacity = [len(neighbours[i]) + sc.ties.extra_slots for i in range(n)]
        self.closed = [self.U(rng.ISOLATION_SELECT, i) < sc.isolation.share for i in range(n)]
        self.arm = self.trial_arm()
        self.ties = [{j: sc.ties.initial_weight for j in neighbours[i]} for i in range(n)]
        self.members = [self.day0_member(i) for i in range(n)]
        self.next_id = n
        self.records = []
        self.counts = {}
        self.today = {}  # the day's values so far, by the engines' names (open_day)
        # ODD 5: the burn-in, days -B..-1, then the members present are the day-0 members
        burn = sc.population.burn_in if self.psych else 0
        if burn:
            self.t = -burn - 1
            for _ in range(burn):
                self.step()
            self.t = 0
            self.today = {}
            self.records = []
            self.next_id = n
            for i, m in enumerate(self.members):
                m.update(member_id=i, original=True, joined_step=0, ever_used=m["using"],
                         first_use_step=0 if m["using"] else -1, used_days=0, help_days=0, days=0,
                         sponsor_id=m["sponsor"], sponsees_total=m["sponsees"], checkins_received=0,
                         attended_days=0, sober_days_start=m["sober_days"], lapses_total=0, relapses_total=0,
                         help_acts_total=0)

    # ------------------------------------------------------------------ ODD 7.13 trial arms
    def trial_arm(self):
        import numpy as np

        tr, n = self.sc.trial, self.n
        if not tr.enabled:
            return [1] * n
        gen = np.random.default_rng(np.random.SeedSequence([self.sc.seed, 0x7121A1]))
        if tr.design == "individual":
            chosen = set(gen.permutation(n)[:int(round(tr.share * n))].tolist())
            return [1 if i in chosen else 0 for i in range(n)]
        meetings = max(self.meeting) + 1
        chosen = set(gen.permutation(meetings)[:int(round(tr.share * meetings))].tolist())
        return [1 if self.meeting[i] in chosen else 0 for i in range(n)]

    def withheld(self, i, intervention):
        tr = self.sc.trial
        return tr.enabled and self.t >= 0 and tr.intervention == intervention and self.arm[i] == 0

    def U(self, purpose, i, j=-1):
        return rng.uniform(self.key, self.t, i, purpose, j)

    # ------------------------------------------------------------------ ODD 5
    def day0_member(self, i):
        pop = self.sc.population
        m = self.blank(i)
        m["original"] = True
        m["strategy"] = HELP if self.U(rng.INIT_STRATEGY, i) < pop.initial_helpers else COMPETE
        newcomer = self.psych and self.U(rng.INIT_NEWCOMER, i) < pop.newcomer_share
        nd = max(pop.newcomer_days, 1)
        u = self.U(rng.INIT_AGE, i)
        age = math.floor(u * nd) if newcomer else nd + math.floor(u * max(pop.max_sober_days - nd, 0))
        if self.psych:
            m["stress"] = spread(pop.initial_stress, pop.initial_spread, self.U(rng.INIT_STRESS, i))
            mean = pop.newcomer_craving if newcomer else pop.initial_craving
            m["craving"] = spread(mean, pop.initial_spread, self.U(rng.INIT_CRAVING, i))
            m["using"] = self.U(rng.INIT_USING, i) < pop.initial_using
        m["use_days"] = 1 if m["using"] else 0
        m["sober_days"] = 0 if m["using"] else age
        m["start_day"] = -age
        m["ever_used"] = m["using"]
        m["first_use_step"] = 0 if m["using"] else -1
        m["sober_days_start"] = m["sober_days"]
        sc = self.sc
        self.draw_traits(m, i, rng.INIT_PROPENSITY, rng.INIT_READINESS, rng.INIT_RHYTHM, rng.INIT_WEEKDAY)
        if self.psych and sc.recovery.enabled:
            rc = sc.recovery
            m["capital"] = 1.0 - (1.0 - rc.newcomer_capital) * (1.0 - rc.build) ** float(m["sober_days"])
        return m

    def draw_traits(self, m, i, propensity, readiness, rhythm, weekday):
        """ODD 5 and 7.11: the traits drawn once, from the draws of the given purposes."""
        sc = self.sc
        m["propensity"] = kumaraswamy(self.U(propensity, i), sc.attendance.propensity_a, sc.attendance.propensity_b)
        m["readiness"] = kumaraswamy(self.U(readiness, i), sc.checkins.readiness_a, sc.checkins.readiness_b)
        m["weekly"] = meetings_a_week(self.U(rhythm, i), sc.attendance.weekly_mean)
        m["weekday"] = math.floor(7.0 * self.U(weekday, i))

    @staticmethod
    def blank(member_id):
        """A member at the empty values its state and record are declared with (names and empty values
        are part of the specification: ODD 2.2, ``sim.core.arrays``)."""
        return dict(arrays.blank(), member_id=member_id)

    # ------------------------------------------------------------------ one day, stage by stage (ODD 3.1)
    #: The day's stages in the order of ODD 3.1, each a method below named as the engines name it
    #: (tests/test_reference.py checks the order is the schedule's).
    STAGES = ("choose", "meet", "check_in", "find_sponsor", "call_sponsor", "update_mind", "weigh_fitness",
              "revise", "update_ties", "form_ties", "tally", "commit", "turnover")

    def step(self, choices=None):
        """One day. ``choices``: slot -> {"help", "attend", "checkin", "call"} of the people playing
        those members today (ODD 7.0; "checkin" a slot or "nobody"); missing keys leave it to the rules."""
        self.open_day(choices)
        for name in self.STAGES:
            getattr(self, name)()

    def open_day(self, choices=None):
        """ODD 3: a new day: its number, the people's decisions, the start-of-day ties (neighbours in
        ascending slot order), who is isolated. ``self.today`` gathers the day's values as the stages
        compute them, by the names the engines give them (``tie_total``, ``attended``, ``next_stress`` ...)."""
        sc, n = self.sc, self.n
        self.t += 1
        self.choices = choices or {}
        iso = sc.isolation
        iso_on = self.psych and iso.enabled and iso.start <= self.t < iso.start + iso.duration
        self.nbrs = [sorted(self.ties[i].items()) for i in range(n)]  # canonical order
        self.isolated = [iso_on and self.closed[i] for i in range(n)]
        self.today = {}
        self.nxt = None

    def C(self, i, what):
        """The decision ``what`` of the person playing slot ``i`` today, or None (ODD 7.0)."""
        return self.choices.get(i, {}).get(what)

    def revision_day(self):
        ev = self.sc.evolution
        return ev.enabled and self.t > 0 and self.t % ev.interval == 0

    # 7.0
    def choose(self):
        """A person's choice of strategy holds from today, before anyone plays."""
        for i in range(self.n):
            if self.C(i, "help") is not None:
                self.members[i]["strategy"] = HELP if self.C(i, "help") else COMPETE

    # 7.1-7.3
    def meet(self):
        sc, ms, n, t, psych = self.sc, self.members, self.n, self.t, self.psych
        g, ps, at, iso = sc.game, sc.psychology, sc.attendance, sc.isolation
        isolated, nbrs = self.isolated, self.nbrs

        def A(si, sj):
            if si == HELP:
                return g.R if sj == HELP else g.S
            return g.T if sj == HELP else g.P

        W, pay, support, conflict, lonely, scarce, attended, missed_next = ([0.0] * n for _ in range(8))
        due_today = [False] * n
        lo_pay, hi_pay = min(g.R, g.S, g.T, g.P), max(g.R, g.S, g.T, g.P)
        for i in range(n):
            total = helped = p = 0.0
            for j, w in nbrs[i]:
                wh = w * iso.tie_scale if (isolated[i] or isolated[j]) else w
                total += wh
                p += wh * A(ms[i]["strategy"], ms[j]["strategy"])
                if ms[j]["strategy"] == HELP:
                    helped += wh
            if sc.network.self_interaction:
                p += A(ms[i]["strategy"], ms[i]["strategy"])
            W[i], pay[i] = total, p
            support[i] = helped / total if total > 0 else 0.0
            conflict[i] = 1.0 - support[i] if total > 0 else 0.0
            lonely[i] = max(0.0, 1.0 - total / ps.tie_target)
            if total > 0 and hi_pay > lo_pay:
                scarce[i] = clip01((hi_pay - p / total) / (hi_pay - lo_pay))
            attended[i] = False
            if psych:
                newcomer = t - ms[i]["start_day"] < sc.population.newcomer_days
                if at.rhythm:  # ODD 7.1: only on the member's own meeting days
                    weekly = max(ms[i]["weekly"], at.newcomer_weekly) if newcomer else ms[i]["weekly"]
                    due = is_meeting_day(t, weekly, ms[i]["weekday"])
                    base = at.show
                else:
                    due = True
                    base = ms[i]["propensity"] + at.newcomer_boost * float(newcomer)
                due_today[i] = due
                if isolated[i]:
                    pass
                elif self.C(i, "attend") is not None:  # ODD 7.0: a person goes, or not, on any day
                    attended[i] = self.C(i, "attend")
                elif due:
                    p_att = clip01(base + at.tie_effect * min(1.0, total / ps.tie_target)
                                   - at.stress_effect * ms[i]["stress"]
                                   + at.checkin_boost * ms[i]["engaged"]
                                   - at.using_effect * float(ms[i]["using"]))
                    attended[i] = self.U(rng.ATTEND, i) < p_att
                if attended[i]:
                    missed_next[i] = 0
                else:
                    missed_next[i] = ms[i]["missed"] + 1 if due else ms[i]["missed"]
        h = [W[i] if ms[i]["strategy"] == HELP else 0.0 for i in range(n)]
        self.today.update(iso=isolated, tie_total=W, payoff=pay, help_given=h, support=support, conflict=conflict,
                          lonely=lonely, scarce=scarce, attended=attended, due=due_today, next_missed=missed_next,
                          checkins_in=[0] * n, calls_made=[0] * n, reached=[False] * n, called=[False] * n,
                          answered=[0] * n, lapsed=[False] * n, relapsed=[False] * n)

    # 7.4
    def check_in(self):
        sc, ms, n, d = self.sc, self.members, self.n, self.today
        if not (self.psych and sc.checkins.enabled):
            return
        ck, ps = sc.checkins, sc.psychology
        attended, isolated, nbrs = d["attended"], self.isolated, self.nbrs
        k_in, m_out, reached, missed_next = d["checkins_in"], d["calls_made"], d["reached"], d["next_missed"]

        def needs(i):
            return ms[i]["missed"] >= ck.missed_threshold and not attended[i] and not self.withheld(i, "checkins")

        def active(j):
            if self.C(j, "checkin") is not None:  # ODD 7.0: a sober person calls from anywhere
                return self.C(j, "checkin") != "nobody" and not ms[j]["using"]
            return ms[j]["strategy"] == HELP and not ms[j]["using"] and (attended[j] or isolated[j])

        # every active helper lists the absent members it would reach, strongest tie first
        # (then lowest slot), and reaches the first checkins.capacity of them
        for j in range(n):
            if not active(j):
                continue
            # with psychology.help_acts the chance also scales with j's recovery capital (ODD 7.4)
            scale = ms[j]["capital"] if (ps.help_acts and sc.recovery.enabled) else 1.0
            if self.C(j, "checkin") is not None:  # the one it chose, for sure
                would = [(-w, i) for i, w in nbrs[j] if needs(i) and i == self.C(j, "checkin")]
            else:
                would = [(-w, i) for i, w in nbrs[j]
                         if needs(i) and self.U(rng.CHECKIN, i, j) < ck.prob * w * ms[j]["readiness"] * scale]
            for _, i in sorted(would)[:ck.capacity]:
                k_in[i] += 1
                m_out[j] += 1
        for i in range(n):
            reached[i] = k_in[i] > 0
            if reached[i]:
                missed_next[i] = 0

    # 7.5
    def is_newcomer(self, i):
        return self.t - self.members[i]["start_day"] < self.sc.population.newcomer_days

    def sponsorship_on(self):
        return self.psych and self.sc.sponsorship.enabled

    def find_sponsor(self):
        if not self.sponsorship_on():
            return
        s, ms, at = self.sc.sponsorship, self.members, self.today["attended"]
        for i in range(self.n):
            if ms[i]["sponsor"] >= 0 or not at[i] or not self.is_newcomer(i) or self.withheld(i, "sponsorship"):
                continue
            if self.U(rng.ASK, i) >= s.ask_prob:
                continue
            eligible = [k for k in range(self.n)
                        if self.meeting[k] == self.meeting[i] and k != i and at[k] and ms[k]["strategy"] == HELP
                        and not ms[k]["using"] and ms[k]["sober_days"] >= s.min_sober_days
                        and ms[k]["sponsees"] < s.capacity]
            if not eligible:
                continue
            # strongest tie, then fewest sponsees, then lowest slot
            k = min(eligible, key=lambda k: (-self.ties[i].get(k, 0.0), ms[k]["sponsees"], k))
            ms[i]["sponsor"] = k
            ms[i]["sponsor_id"] = ms[k]["member_id"]
            ms[k]["sponsees"] += 1
            ms[k]["sponsees_total"] += 1

    def call_sponsor(self):
        if not self.sponsorship_on():
            return
        sp, ms, called, answered = self.sc.sponsorship, self.members, self.today["called"], self.today["answered"]
        for i in range(self.n):
            k = ms[i]["sponsor"]
            calls = self.C(i, "call") if self.C(i, "call") is not None else ms[i]["craving"] > sp.call_threshold
            if k >= 0 and calls and not ms[k]["using"] and self.U(rng.CALL, i) < sp.answer_prob:
                called[i] = True
                answered[k] += 1

    # 7.6-7.8
    def update_mind(self):
        sc, ms, n, d = self.sc, self.members, self.n, self.today
        self.nxt = nxt = [dict(m) for m in ms]  # tomorrow's state (ODD 3.1: committed at the end of the day)
        if not self.psych:
            return
        ps, at, rc = sc.psychology, sc.attendance, sc.recovery
        support, conflict, lonely, scarce = d["support"], d["conflict"], d["lonely"], d["scarce"]
        reached, attended, called = d["reached"], d["attended"], d["called"]
        lapsed, relapsed = d["lapsed"], d["relapsed"]
        for i in range(n):
            m = ms[i]
            x, y, u = m["stress"], m["craving"], float(m["using"])
            shock = ps.shock_size if self.U(rng.SHOCK, i) < ps.shock_prob else 0.0
            made, answered = d["calls_made"][i], d["answered"][i]
            H = float(made + answered) if ps.help_acts else d["help_given"][i] + made + answered
            if ps.saturating:  # ODD 7.6: rises act on the room above, falls on what there is
                up = ps.conflict_stress * conflict[i] + ps.loneliness_stress * lonely[i] \
                    + ps.scarcity_stress * scarce[i] + shock
                if m["using"]:
                    up += ps.using_stress
                down = ps.stress_decay + ps.support_buffer * support[i] \
                    + sc.checkins.stress_relief * float(reached[i]) + at.stress_relief * float(attended[i])
                x2 = clip01(x + up * (1.0 - x) - down * x)
                up = ps.stress_craving * x
                if m["using"]:
                    up += ps.using_craving
                down = ps.craving_decay + ps.support_craving * support[i] \
                    + sc.sponsorship.craving_relief * float(called[i]) + at.craving_relief * float(attended[i]) \
                    + ps.helper_therapy * H
                y2 = clip01(y + up * (1.0 - y) - down * y)
            else:
                x2 = clip01(x - ps.stress_decay * x + ps.conflict_stress * conflict[i]
                            + ps.loneliness_stress * lonely[i] + ps.scarcity_stress * scarce[i]
                            + shock - ps.support_buffer * support[i] * x
                            - sc.checkins.stress_relief * float(reached[i])
                            - at.stress_relief * float(attended[i]) + ps.using_stress * u)
                y2 = clip01(y - ps.craving_decay * y + ps.stress_craving * x - ps.support_craving * support[i] * y
                            - sc.sponsorship.craving_relief * float(called[i])
                            - at.craving_relief * float(attended[i]) - ps.helper_therapy * H
                            + ps.using_craving * u)
            o = nxt[i]
            capital = m["capital"] if rc.enabled else 0.0
            if not m["using"]:
                p_lapse = ps.lapse_max / (1.0 + math.exp(-(y2 - ps.lapse_midpoint) / ps.lapse_width))
                if rc.enabled:
                    p_lapse = p_lapse * (1.0 - rc.protection * capital)
                if self.U(rng.LAPSE, i) < p_lapse:
                    o.update(using=True, use_days=1, sober_days=0)
                    if ps.saturating:
                        x2 = clip01(x2 + ps.shame * (1.0 - support[i]) * (1.0 - x2) - 0.0 * x2)
                    else:
                        x2 = clip01(x2 + ps.shame * (1.0 - support[i]))
                    lapsed[i] = True
                    relapsed[i] = ps.relapse_days == 1
                else:
                    o["sober_days"] = m["sober_days"] + 1
            else:
                carried = m["engaged"] * (1.0 - 1.0 / sc.checkins.effect_days)  # ODD 7.4
                p_stop = clip01(ps.stop_base + ps.stop_support * support[i]
                                + sc.checkins.stop_boost * (1.0 if reached[i] else carried)
                                + sc.sponsorship.stop_boost * float(called[i])
                                + rc.return_boost * capital)
                if self.U(rng.STOP, i) < p_stop:
                    o.update(using=False, use_days=0)
                else:
                    o["use_days"] = m["use_days"] + 1
                    relapsed[i] = o["use_days"] == ps.relapse_days
            o["stress"], o["craving"] = x2, y2
            if rc.enabled:
                if lapsed[i]:
                    o["capital"] = capital * (1.0 - rc.lapse_loss)
                elif m["using"]:
                    o["capital"] = capital * (1.0 - rc.use_loss)
                else:
                    grow = rc.build * (1.0 + rc.meeting_bonus * float(attended[i])
                                       + rc.help_bonus * float(H > 0) + rc.support_bonus * support[i])
                    o["capital"] = clip01(capital + grow * (1.0 - capital))
            o["crisis_days"] = m["crisis_days"] + 1 if (o["using"] or x2 >= sc.turnover.crisis_stress) else 0
            o["missed"] = d["next_missed"][i]
            o["engaged"] = 1.0 if reached[i] else m["engaged"] * (1.0 - 1.0 / sc.checkins.effect_days)
        # tomorrow's values as the engines hold them until the commit (their next_* arrays)
        tomorrow = dict(next_stress="stress", next_craving="craving", next_using="using", next_use_days="use_days",
                        next_sober_days="sober_days", next_crisis="crisis_days")
        if rc.enabled:
            tomorrow["next_capital"] = "capital"
        d.update({k: [o[v] for o in nxt] for k, v in tomorrow.items()})

    # 7.10
    def weigh_fitness(self):
        if not self.revision_day():
            return
        ms, ev = self.members, self.sc.evolution
        self.today["fitness"] = [self.today["payoff"][i] + ev.wellbeing_weight
                                 * (1.0 - 0.5 * (ms[i]["stress"] + ms[i]["craving"])) for i in range(self.n)]

    def revise(self):
        if not self.revision_day():
            return
        ms, nxt, ev, fit = self.members, self.nxt, self.sc.evolution, self.today["fitness"]
        for i in range(self.n):
            new = ms[i]["strategy"]
            js = [j for j, _ in self.nbrs[i]]
            revising = ev.revision_share >= 1.0 or self.U(rng.REVISE, i) < ev.revision_share
            if self.C(i, "help") is not None:  # ODD 7.0: a person keeps the strategy it chose
                nxt[i]["strategy"] = HELP if self.C(i, "help") else COMPETE
                continue
            if not revising:
                nxt[i]["strategy"] = new
                continue
            if ev.rule == "fermi" and js:
                j = js[int(self.U(rng.PICK, i) * len(js))]
                z = (fit[i] - fit[j]) / ev.temperature
                if self.U(rng.ADOPT, i) < (0.0 if z > 700.0 else 1.0 / (1.0 + math.exp(z))):
                    new = ms[j]["strategy"]
            elif ev.rule == "imitate_best":
                best = fit[i]
                for j in js:
                    if fit[j] > best:
                        best, new = fit[j], ms[j]["strategy"]
            elif ev.rule == "death_birth" and js:
                weights = [max(0.0, 1.0 - ev.selection + ev.selection * fit[j]) for j in js]
                total = 0.0
                for v in weights:
                    total += v
                r = self.U(rng.PICK, i)
                if total > 0.0:
                    r, acc, pick = r * total, 0.0, len(js) - 1
                    for q, v in enumerate(weights):
                        acc += v
                        if r < acc:
                            pick = q
                            break
                else:
                    pick = int(r * len(js))
                new = ms[js[pick]]["strategy"]
            if ev.mutation > 0.0 and self.U(rng.MUTATE, i) < ev.mutation:
                new = HELP if self.U(rng.MUTATE_TO, i) < 0.5 else COMPETE
            nxt[i]["strategy"] = new
        self.today["next_strategy"] = [o["strategy"] for o in nxt]

    # 7.9
    def ties_move(self):
        return self.psych and self.sc.ties.dynamic

    def update_ties(self):
        if not self.ties_move():
            return
        tc, ms, new_ties = self.sc.ties, self.members, []
        for i in range(self.n):
            keep = {}
            for j, w in self.nbrs[i]:
                helpers = ms[i]["strategy"] + ms[j]["strategy"]
                v = clip01(w - tc.decay * w + tc.help_gain * 0.5 * helpers * (1.0 - w)
                           - tc.conflict_loss * 0.5 * (2 - helpers) * w)
                if v >= tc.break_below:
                    keep[j] = v
            new_ties.append(keep)
        self.ties = new_ties

    def form_ties(self):
        if not self.ties_move():
            return
        tc, attended, n = self.sc.ties, self.today["attended"], self.n
        for mk in sorted(set(self.meeting)):
            present = [i for i in range(n) if self.meeting[i] == mk and attended[i]]
            present.sort(key=lambda i: (self.U(rng.MEET_ORDER, i), i))
            for q in range(0, len(present) - 1, 2):
                lo, hi = sorted(present[q:q + 2])
                if hi in self.ties[lo] or len(self.ties[lo]) >= self.capacity[lo] \
                        or len(self.ties[hi]) >= self.capacity[hi]:
                    continue
                if self.U(rng.TIE_FORM, lo, hi) < tc.form_prob:
                    self.ties[lo][hi] = self.ties[hi][lo] = tc.new_weight

    # 7.12
    def tally(self):
        d = self.today
        self.counts = dict(lapses=sum(d["lapsed"]), relapses=sum(d["relapsed"]), checkins=sum(d["checkins_in"]),
                           sponsor_calls=sum(d["called"]), dropouts=0)

    # 3.1 (the lifetime record counts the day's strategy before it changes)
    def commit(self):
        ms, nxt, d, psych, t = self.members, self.nxt, self.today, self.psych, self.t
        for i in range(self.n):
            o, m = nxt[i], ms[i]
            o["days"] = m["days"] + 1
            o["help_days"] = m["help_days"] + (1 if m["strategy"] == HELP else 0)
            o["checkins_received"] = m["checkins_received"] + d["checkins_in"][i]
            o["help_acts_total"] = m["help_acts_total"] + d["calls_made"][i] + d["answered"][i]
            o["attended_days"] = m["attended_days"] + (1 if psych and d["attended"][i] else 0)
            o["lapses_total"] = m["lapses_total"] + (1 if psych and d["lapsed"][i] else 0)
            o["relapses_total"] = m["relapses_total"] + (1 if psych and d["relapsed"][i] else 0)
            if psych and o["using"]:
                o["used_days"] = m["used_days"] + 1
                if not m["ever_used"]:
                    o["ever_used"], o["first_use_step"] = True, t
        self.members = nxt

    # 7.11
    def turnover(self):
        sc, ms, n, t = self.sc, self.members, self.n, self.t
        if not (self.psych and sc.turnover.enabled):
            return
        leaving = [ms[i]["crisis_days"] >= sc.turnover.crisis_days
                   or self.U(rng.LEAVE, i) < sc.turnover.leave_prob for i in range(n)]
        for i in range(n):
            k = ms[i]["sponsor"]
            if leaving[i] and k >= 0 and not leaving[k]:
                ms[k]["sponsees"] -= 1
        for i in range(n):
            if leaving[i]:
                for j in self.ties[i]:
                    del self.ties[j][i]
                self.ties[i] = {}
        pop = sc.population
        if sc.turnover.newcomer_strategy == "mix":
            help_share = sum(1 for m in ms if m["strategy"] == HELP) / n
        else:
            help_share = pop.initial_helpers
        for i in range(n):
            if leaving[i]:
                self.records.append(self.record(i, left=t))
                m = self.blank(self.next_id)
                self.next_id += 1
                m["strategy"] = HELP if self.U(rng.NEW_STRATEGY, i) < help_share else COMPETE
                self.draw_traits(m, i, rng.NEW_PROPENSITY, rng.NEW_READINESS, rng.NEW_RHYTHM, rng.NEW_WEEKDAY)
                if sc.recovery.enabled:
                    m["capital"] = sc.recovery.newcomer_capital
                m["stress"] = spread(pop.initial_stress, pop.initial_spread, self.U(rng.NEW_STRESS, i))
                m["craving"] = spread(pop.newcomer_craving, pop.initial_spread, self.U(rng.NEW_CRAVING, i))
                m["start_day"] = m["joined_step"] = t
                ms[i] = m
                if sc.turnover.newcomer_tie:  # ODD 7.11: whoever brought it, from its meeting
                    others = [j for j in range(n) if self.meeting[j] == self.meeting[i] and j != i]
                    if others:
                        j = others[math.floor(self.U(rng.NEW_BROUGHT, i) * len(others))]
                        if not leaving[j] and len(self.ties[i]) < self.capacity[i] \
                                and len(self.ties[j]) < self.capacity[j]:
                            self.ties[i][j] = self.ties[j][i] = sc.ties.new_weight
        for i in range(n):
            if ms[i]["sponsor"] >= 0 and leaving[ms[i]["sponsor"]]:
                ms[i]["sponsor"] = -1
        self.counts["dropouts"] = sum(leaving)

    # ------------------------------------------------------------------ reading
    def record(self, i, left):
        m = self.members[i]
        return dict(id=m["member_id"], joined_step=m["joined_step"], start_day=m["start_day"], left_step=left,
                    strategy_final="HELP" if m["strategy"] == HELP else "COMPETE",
                    help_share=m["help_days"] / m["days"] if m["days"] else float(m["strategy"]),
                    ever_used=m["ever_used"], first_use_step=m["first_use_step"], used_days=m["used_days"],
                    sponsor_id=m["sponsor_id"], sponsees=m["sponsees_total"],
                    checkins_received=m["checkins_received"], attended_days=m["attended_days"],
                    sober_days_start=m["sober_days_start"], lapses=m["lapses_total"], relapses=m["relapses_total"],
                    meeting=self.meeting[i], trial_arm=self.arm[i], help_acts=m["help_acts_total"])

    def state(self, name):
        return [m[name] for m in self.members]

    def tie_list(self):
        return [sorted(self.ties[i].items()) for i in range(self.n)]
