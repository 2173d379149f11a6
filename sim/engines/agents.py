"""Members of the community as Mesa agents (``engine: agents``).

Each :class:`Member` applies the rules of one day to itself, one short verb
per stage of the step (docs/ODD.md, "Process overview and scheduling"). The
arithmetic is in :mod:`sim.core.rules` and every random draw comes from
:mod:`sim.core.rng`, keyed by (run, day, member slot, purpose), so the numba
kernel, which calls the same functions, reproduces this engine exactly.

The step is synchronous: every stage reads the state at the start of the day
(and what earlier stages of the same day produced), writes ``next_*``
attributes, and :meth:`Member.commit` applies them all together.
"""

from __future__ import annotations

from mesa.discrete_space import FixedAgent

from sim.core import rng
from sim.core import rules
from sim.core.rules import HELP


class Member(FixedAgent):
    """A member of a recovery community.

    State (docs/ODD.md, "State variables"): ``strategy`` (1 HELP, 0 COMPETE),
    ``stress``, ``craving``, ``using``, ``use_days`` (length of the current
    lapse), ``sober_days``, ``missed`` (consecutive meetings missed),
    ``sponsor`` (slot of the sponsor, -1 none), ``sponsees``, ``ties``
    (neighbour slot -> weight in (0, 1]).
    """

    def __init__(self, model, slot, cell, **state):
        super().__init__(model)
        self.slot = slot
        self.cell = cell
        self.member_id = int(state["member_id"])
        self.strategy = int(state["strategy"])
        self.stress = float(state["stress"])
        self.craving = float(state["craving"])
        self.using = bool(state["using"])
        self.use_days = int(state["use_days"])
        self.sober_days = int(state["sober_days"])
        self.start_day = int(state["start_day"])
        self.joined_step = int(state.get("joined_step", 0))
        self.original = bool(state.get("original", True))
        self.missed = 0
        self.sponsor = -1
        self.sponsees = 0
        self.reached_prev = False
        self.crisis_days = 0
        self.ties: dict[int, float] = dict(state.get("ties", {}))
        # lifetime record (members.parquet)
        self.ever_used = self.using
        self.first_use_step = 0 if self.using else -1
        self.used_days = 0
        self.help_days = 0
        self.days = 0
        self.sponsor_id = -1
        self.sponsees_total = 0
        self.checkins_received = 0

    # ------------------------------------------------------------------ helpers
    @property
    def p(self):
        return self.model.scenario

    def neighbours(self):
        """Ties as (slot, weight) in ascending slot order (the canonical order)."""
        return sorted(self.ties.items())

    def is_newcomer(self, day):
        return day - self.start_day < self.p.population.newcomer_days

    # ------------------------------------------------------------------ stages
    def prepare(self):
        """Start of day: fix today's neighbour list and isolation status."""
        m = self.model
        self.nbrs = self.neighbours()
        self.isolated_today = m.isolation_on and m.layout.closed[self.slot]
        self.attended = False
        self.reached = False
        self.checkins_in = 0
        self.calls_made = 0
        self.called = False
        self.answered = 0
        self.lapsed = False
        self.relapsed = False

    def weigh_ties(self):
        """Effective tie weights today: isolation scales ties down while it lasts."""
        members = self.model.members
        scale = self.p.isolation.tie_scale
        eff = []
        total = 0.0
        for j, w in self.nbrs:
            if self.isolated_today or members[j].isolated_today:
                w = w * scale
            eff.append((j, w))
            total += w
        self.eff = eff
        self.tie_total = total

    def attend(self):
        """7.1 Go to today's meeting, or miss it."""
        p = self.p
        if self.isolated_today:
            self.attended = False
        else:
            a = p.attendance
            prob = rules.attend_prob(self.tie_total, self.stress, self.using, float(self.reached_prev),
                                     p.psychology.tie_target, a.base, a.tie_effect, a.stress_effect,
                                     a.using_effect, a.checkin_boost)
            self.attended = rng.uniform(self.model.key, self.model.day, self.slot, rng.ATTEND, -1) < prob
        self.next_missed = 0 if self.attended else self.missed + 1

    def play(self):
        """7.2-7.3 The game with every neighbour, weighted by the tie; support, conflict, loneliness."""
        g = self.p.game
        members = self.model.members
        pay = 0.0
        helped = 0.0
        for j, w in self.eff:
            sj = members[j].strategy
            pay += w * rules.payoff(self.strategy, sj, g.R, g.S, g.T, g.P)
            if sj == HELP:
                helped += w
        if self.p.network.self_interaction:
            pay += rules.payoff(self.strategy, self.strategy, g.R, g.S, g.T, g.P)
        self.payoff = pay
        self.help_given = self.tie_total if self.strategy == HELP else 0.0
        if self.tie_total > 0.0:
            self.support = helped / self.tie_total
            self.conflict = 1.0 - self.support
        else:
            self.support = 0.0
            self.conflict = 0.0
        self.lonely = rules.loneliness(self.tie_total, self.p.psychology.tie_target)

    def needs_checkin(self):
        return self.missed >= self.p.checkins.missed_threshold and not self.attended

    def can_check_in(self):
        """An active helper: at today's meeting, or its meeting is closed (it phones)."""
        return self.strategy == HELP and not self.using and (self.attended or self.isolated_today)

    def check_in(self):
        """7.4 Check-ins: absent members are reached by active helper neighbours.

        The draw for the pair (absent i, helper j) is keyed by (i, j), so the
        member reached and the helper who reached it count the same event.
        """
        m = self.model
        members = m.members
        prob = self.p.checkins.prob
        sk = rng.stream(m.key, m.day, rng.CHECKIN)
        if self.needs_checkin():
            for j, w in self.nbrs:
                if members[j].can_check_in() and rng.uniform_in(sk, self.slot, j) < prob * w:
                    self.checkins_in += 1
            self.reached = self.checkins_in > 0
            if self.reached:
                self.next_missed = 0  # counted again from the next missed meeting
        if self.can_check_in():
            for i, w in self.nbrs:
                if members[i].needs_checkin() and rng.uniform_in(sk, i, self.slot) < prob * w:
                    self.calls_made += 1

    def call_sponsor(self):
        """7.5 A sponsee whose craving passes the threshold calls; a sober sponsor answers."""
        s = self.p.sponsorship
        if self.sponsor < 0 or self.craving <= s.call_threshold:
            return
        sponsor = self.model.members[self.sponsor]
        if sponsor.using:
            return
        if rng.uniform(self.model.key, self.model.day, self.slot, rng.CALL, -1) < s.answer_prob:
            self.called = True
            sponsor.answered += 1

    def update_mind(self):
        """7.6-7.8 Stress, craving, helper therapy, then lapse or return."""
        p = self.p
        ps, m = p.psychology, self.model
        shock = ps.shock_size if rng.uniform(m.key, m.day, self.slot, rng.SHOCK, -1) < ps.shock_prob else 0.0
        x = rules.stress_next(self.stress, self.conflict, self.lonely, self.support, float(self.reached),
                              float(self.attended), shock, self.using, ps.stress_decay, ps.conflict_stress,
                              ps.loneliness_stress, ps.support_buffer, ps.using_stress,
                              p.checkins.stress_relief, p.attendance.stress_relief)
        help_acts = self.help_given + self.calls_made + self.answered
        y = rules.craving_next(self.craving, self.stress, self.support, float(self.called),
                               float(self.attended), help_acts, self.using, ps.craving_decay,
                               ps.stress_craving, ps.support_craving, ps.using_craving,
                               p.sponsorship.craving_relief, p.attendance.craving_relief, ps.helper_therapy)
        using, use_days, sober_days = self.using, self.use_days, self.sober_days
        if not using:
            if rng.uniform(m.key, m.day, self.slot, rng.LAPSE, -1) < rules.lapse_prob(
                    y, ps.lapse_max, ps.lapse_midpoint, ps.lapse_width):
                using, use_days, sober_days = True, 1, 0
                x = rules.shame(x, self.support, ps.shame)
                self.lapsed = True
                self.relapsed = ps.relapse_days == 1
            else:
                sober_days += 1
        else:
            stop = rules.stop_prob(self.support, float(self.reached), float(self.called), ps.stop_base,
                                   ps.stop_support, p.checkins.stop_boost, p.sponsorship.stop_boost)
            if rng.uniform(m.key, m.day, self.slot, rng.STOP, -1) < stop:
                using, use_days = False, 0
            else:
                use_days += 1
                self.relapsed = use_days == ps.relapse_days
        self.next_stress, self.next_craving = x, y
        self.next_using, self.next_use_days, self.next_sober_days = using, use_days, sober_days
        t = p.turnover
        crisis = using or x >= t.crisis_stress
        self.next_crisis_days = self.crisis_days + 1 if crisis else 0

    def update_ties(self):
        """7.9 Help strengthens a tie, competition weakens it, all decay; weak ties break."""
        t = self.p.ties
        members = self.model.members
        new = {}
        for j, w in self.nbrs:
            v = rules.tie_next(w, self.strategy, members[j].strategy, t.help_gain, t.conflict_loss, t.decay)
            if v >= t.break_below:
                new[j] = v
        self.next_ties = new

    def revise(self):
        """7.10 Strategy revision by the scenario's evolution rule, then mutation."""
        m = self.model
        ev = self.p.evolution
        members = m.members
        fit = m.fitness
        new = self.strategy
        revising = ev.revision_share >= 1.0 or \
            rng.uniform(m.key, m.day, self.slot, rng.REVISE, -1) < ev.revision_share
        if not revising:
            pass
        elif ev.rule == "fermi":
            if self.nbrs:
                k = int(rng.uniform(m.key, m.day, self.slot, rng.PICK, -1) * len(self.nbrs))
                j = self.nbrs[k][0]
                if rng.uniform(m.key, m.day, self.slot, rng.ADOPT, -1) < rules.fermi_prob(
                        fit[self.slot], fit[j], ev.temperature):
                    new = members[j].strategy
        elif ev.rule == "imitate_best":
            best = fit[self.slot]
            for j, _ in self.nbrs:
                if fit[j] > best:
                    best = fit[j]
                    new = members[j].strategy
        else:  # death_birth
            if self.nbrs:
                weights = [rules.db_weight(fit[j], ev.selection) for j, _ in self.nbrs]
                total = 0.0
                for v in weights:
                    total += v
                r = rng.uniform(m.key, m.day, self.slot, rng.PICK, -1)
                if total > 0.0:
                    r = r * total
                    acc = 0.0
                    pick = len(weights) - 1
                    for k, v in enumerate(weights):
                        acc += v
                        if r < acc:
                            pick = k
                            break
                else:
                    pick = int(r * len(weights))
                new = members[self.nbrs[pick][0]].strategy
        if revising and ev.mutation > 0.0 and rng.uniform(m.key, m.day, self.slot, rng.MUTATE, -1) < ev.mutation:
            new = HELP if rng.uniform(m.key, m.day, self.slot, rng.MUTATE_TO, -1) < 0.5 else 0
        self.next_strategy = new

    def commit(self):
        """Apply the day's updates together (synchronous update)."""
        m = self.model
        self.days += 1
        if self.strategy == HELP:
            self.help_days += 1
        self.strategy = self.next_strategy
        self.checkins_received += self.checkins_in
        if m.psych:
            self.missed = self.next_missed
            self.reached_prev = self.reached
            self.stress, self.craving = self.next_stress, self.next_craving
            self.using, self.use_days, self.sober_days = self.next_using, self.next_use_days, self.next_sober_days
            self.crisis_days = self.next_crisis_days
            if self.using:
                self.used_days += 1
                if not self.ever_used:
                    self.ever_used = True
                    self.first_use_step = m.day
        if m.ties_dynamic:
            self.ties = self.next_ties
