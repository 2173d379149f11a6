"""The Mesa model of a recovery community (``engine: agents``).

:class:`MutualAidModel` is a real Mesa 3 model: members are :class:`~sim.engines.agents.Member`
agents placed on a :class:`mesa.discrete_space.Network` (or an
:class:`~mesa.discrete_space.OrthogonalMooreGrid` / ``OrthogonalVonNeumannGrid``
for lattices), the day's stages are composed in :meth:`MutualAidModel.step`,
and a :class:`mesa.DataCollector` gathers the metric columns of
``sim.core.metrics.COLUMNS``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mesa import DataCollector, Model
from mesa.discrete_space import Network, OrthogonalMooreGrid, OrthogonalVonNeumannGrid

from sim.core import metrics
from sim.core import rng
from sim.core import rules
from sim.engines.agents import Member
from sim.core.schema import Scenario
from sim.core.networks import build_network
from sim.core.scenarios import load_scenario
from sim.core.state import initial_members, make_layout


def flat_overrides(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"checkins_enabled": False}`` -> ``{"checkins.enabled": False}``.

    Section names hold no underscore, so the first one splits section and
    key. This is how the dashboard (``SolaraViz`` builds ``Model(**params)``)
    passes scenario keys as flat keyword arguments.
    """
    out = {}
    for k, v in flat.items():
        if k in Scenario.model_fields:
            out[k] = v
        else:
            section, _, key = k.partition("_")
            out[f"{section}.{key}"] = v
    return out


class MutualAidModel(Model):
    """Mutual aid versus competition in a recovery community.

    Parameters
    ----------
    scenario : Scenario, str, dict or None
        A scenario (or its name/path in ``scenarios/``); None: the defaults.
    seed : int, optional
        Overrides the scenario's seed. One integer seeds the whole run.
    **flat
        Scenario keys as flat keyword arguments (``checkins_enabled=False``,
        ``population_size=200``), applied on top of ``scenario``.
    """

    def __init__(self, scenario: Scenario | str | dict | None = None, *, seed: int | None = None, **flat):
        sc = load_scenario(scenario, flat_overrides(flat)) if flat or not isinstance(scenario, Scenario) \
            else scenario
        if seed is not None:
            sc = sc.model_copy(update={"seed": int(seed)})
        super().__init__(seed=sc.seed)
        self.scenario = sc
        self.key = rng.run_key(sc.seed)
        self.day = 0
        self.psych = sc.psychology.enabled
        self.ties_dynamic = self.psych and sc.ties.dynamic
        self.graph = build_network(sc.network, sc.population.size, rng.network_seed(sc.seed))
        self.layout = make_layout(sc, self.graph, self.key)
        self.space = self._make_space()
        init = initial_members(sc, self.graph.n, self.key)
        w0 = sc.ties.initial_weight
        ip, ix = self.graph.indptr, self.graph.indices
        cells = self._cells()
        self.members: list[Member] = []
        for i in range(self.graph.n):
            state = {k: v[i] for k, v in init.items()}
            state["ties"] = {int(j): w0 for j in ix[ip[i]:ip[i + 1]]}
            self.members.append(Member(self, i, cells[i], **state))
        self.next_id = self.graph.n
        self.n0 = self.graph.n
        self.isolation_on = False
        self.records: list[dict] = []
        self.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
        self.attended = None
        self.mean_payoff = float("nan")
        self._row: dict[str, Any] = {}
        self.datacollector = DataCollector(
            model_reporters={c: (lambda m, c=c: m._row[c]) for c in metrics.COLUMNS}
        )
        if self.psych and sc.sponsorship.enabled:
            self.pair_sponsors()
        self._collect()

    # -------------------------------------------------------------- space
    def _make_space(self):
        sc, g = self.scenario, self.graph
        if sc.network.kind == "lattice":
            cls = OrthogonalMooreGrid if sc.network.neighborhood == "moore" else OrthogonalVonNeumannGrid
            return cls((g.width, g.height), torus=sc.network.periodic, capacity=1, random=self.random)
        return Network(g.to_networkx(), capacity=1, random=self.random)

    def _cells(self):
        g = self.graph
        if self.scenario.network.kind == "lattice":
            # slot i = y*width + x
            return [self.space[(i % g.width, i // g.width)] for i in range(g.n)]
        return [self.space[i] for i in range(g.n)]

    # -------------------------------------------------------------- the day
    def step(self):
        """One day (docs/ODD.md, "Process overview and scheduling")."""
        sc = self.scenario
        self.day = self.steps  # Mesa has already counted this step
        iso = sc.isolation
        self.isolation_on = self.psych and iso.enabled and iso.start <= self.day < iso.start + iso.duration
        members = self.agents
        members.do("prepare")
        members.do("weigh_ties")
        if self.psych:
            members.do("attend")
        members.do("play")
        if self.psych:
            if sc.checkins.enabled:
                members.do("check_in")
            if sc.sponsorship.enabled:
                self.pair_sponsors()
                members.do("call_sponsor")
            members.do("update_mind")
        if self.ties_dynamic:
            members.do("update_ties")
            self.form_ties()
        ev = sc.evolution
        if ev.enabled and self.day % ev.interval == 0:
            # fitness only on revision days (the kernel computes it only then too)
            self.fitness = [rules.fitness(a.payoff, a.stress, a.craving, ev.wellbeing_weight)
                            for a in self.members]
            members.do("revise")
        else:
            for a in self.members:
                a.next_strategy = a.strategy
        self._tally()
        members.do("commit")
        dropped = self.turnover() if (self.psych and sc.turnover.enabled) else 0
        self.counts["dropouts"] = dropped
        self._collect()

    def _tally(self):
        ms = self.members
        self.counts = dict(
            lapses=sum(a.lapsed for a in ms),
            relapses=sum(a.relapsed for a in ms),
            checkins=sum(a.checkins_in for a in ms),
            sponsor_calls=sum(a.called for a in ms),
            dropouts=0,
        )
        self.attended = np.array([a.attended for a in ms], dtype=bool) if self.psych else None
        self.mean_payoff = float(np.array([a.payoff for a in ms]).mean())

    # -------------------------------------------------------------- community-level stages
    def pair_sponsors(self):
        """7.5 Pair each unsponsored newcomer with an eligible sponsor of its meeting.

        Newcomers are served in slot order. Eligible: a HELP member, not in a
        lapse, with ``min_sober_days`` and room for another sponsee. The
        newcomer's strongest tie among them wins; then fewest sponsees; then
        the lowest slot. Reads the state at the start of the day.
        """
        s = self.scenario.sponsorship
        lay = self.layout
        ms = self.members
        for a in ms:
            if a.sponsor >= 0 or not a.is_newcomer(self.day):
                continue
            k = lay.meeting_of[a.slot]
            best, best_key = -1, None
            for c in range(lay.meeting_start[k], lay.meeting_start[k + 1]):
                b = ms[c]
                if (c == a.slot or b.strategy != rules.HELP or b.using or b.sober_days < s.min_sober_days
                        or b.sponsees >= s.capacity):
                    continue
                key = (-a.ties.get(c, 0.0), b.sponsees, c)
                if best_key is None or key < best_key:
                    best, best_key = c, key
            if best >= 0:
                a.sponsor = best
                a.sponsor_id = ms[best].member_id
                ms[best].sponsees += 1
                ms[best].sponsees_total += 1

    def form_ties(self):
        """7.9 Co-attendees are paired at their meeting and may form a tie.

        At each meeting the attendees are ordered by a random key (ties in the
        key broken by slot) and paired first-second, third-fourth, ...; a pair
        not yet tied, both with room, forms a tie with ``ties.form_prob``.
        """
        t = self.scenario.ties
        lay = self.layout
        ms = self.members
        sk_order = rng.stream(self.key, self.day, rng.MEET_ORDER)
        sk_form = rng.stream(self.key, self.day, rng.TIE_FORM)
        for k in range(len(lay.meeting_start) - 1):
            present = [c for c in range(lay.meeting_start[k], lay.meeting_start[k + 1]) if ms[c].attended]
            present.sort(key=lambda c: (rng.uniform_in(sk_order, c, -1), c))
            for q in range(0, len(present) - 1, 2):
                i, j = present[q], present[q + 1]
                lo, hi = (i, j) if i < j else (j, i)
                a, b = ms[lo], ms[hi]
                if hi in a.next_ties or len(a.next_ties) >= lay.capacity[lo] or len(b.next_ties) >= lay.capacity[hi]:
                    continue
                if rng.uniform_in(sk_form, lo, hi) < t.form_prob:
                    a.next_ties[hi] = t.new_weight
                    b.next_ties[lo] = t.new_weight

    def turnover(self) -> int:
        """7.11 Members in crisis for ``turnover.crisis_days`` leave; newcomers take their slots."""
        sc = self.scenario
        ms = self.members
        leaving = [a.crisis_days >= sc.turnover.crisis_days for a in ms]
        gone = [a for a in ms if leaving[a.slot]]
        if not gone:
            return 0
        for a in gone:
            if a.sponsor >= 0 and not leaving[a.sponsor]:
                ms[a.sponsor].sponsees -= 1
        for a in gone:
            for j in a.ties:
                ms[j].ties.pop(a.slot, None)
            a.ties = {}
        for a in gone:
            self.records.append(self._record(a, left=self.day))
            slot, cell = a.slot, a.cell
            a.remove()
            ms[slot] = self._newcomer(slot, cell)
        for a in ms:
            if a.sponsor >= 0 and leaving[a.sponsor]:  # newcomers start with no sponsor
                a.sponsor = -1
        return len(gone)

    def _newcomer(self, slot, cell):
        sc, t = self.scenario, self.day
        pop = sc.population
        u = lambda purpose: rng.uniform(self.key, t, slot, purpose, -1)  # noqa: E731
        state = dict(
            member_id=self.next_id,
            strategy=1 if u(rng.NEW_STRATEGY) < pop.initial_helpers else 0,
            stress=rules.spread(pop.initial_stress, pop.initial_spread, u(rng.NEW_STRESS)),
            craving=rules.spread(pop.newcomer_craving, pop.initial_spread, u(rng.NEW_CRAVING)),
            using=False, use_days=0, sober_days=0, start_day=t, joined_step=t, original=False,
        )
        self.next_id += 1
        return Member(self, slot, cell, **state)

    # -------------------------------------------------------------- outputs
    def tie_arrays(self):
        """Current ties as CSR arrays (ascending neighbours per slot)."""
        ptr = np.zeros(len(self.members) + 1, dtype=np.int64)
        nbr, w = [], []
        for a in self.members:
            items = sorted(a.ties.items())
            ptr[a.slot + 1] = ptr[a.slot] + len(items)
            nbr.extend(j for j, _ in items)
            w.extend(v for _, v in items)
        return ptr, np.array(nbr, dtype=np.int64), np.array(w, dtype=np.float64)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Member state by slot, as arrays (for metrics, drawing and engine comparison)."""
        ms = self.members
        return {
            "member_id": np.array([a.member_id for a in ms], dtype=np.int64),
            "strategy": np.array([a.strategy for a in ms], dtype=np.int8),
            "stress": np.array([a.stress for a in ms], dtype=np.float64),
            "craving": np.array([a.craving for a in ms], dtype=np.float64),
            "using": np.array([a.using for a in ms], dtype=bool),
            "use_days": np.array([a.use_days for a in ms], dtype=np.int32),
            "sober_days": np.array([a.sober_days for a in ms], dtype=np.int32),
            "missed": np.array([a.missed for a in ms], dtype=np.int32),
            "sponsor": np.array([a.sponsor for a in ms], dtype=np.int32),
            "sponsees": np.array([a.sponsees for a in ms], dtype=np.int32),
            "crisis_days": np.array([a.crisis_days for a in ms], dtype=np.int32),
        }

    def _collect(self):
        st = self.state_arrays()
        ptr, nbr, w = self.tie_arrays()
        ms = self.members
        abst = sum(1 for a in ms if a.original and not a.ever_used)
        newcomers = [a for a in ms if a.is_newcomer(self.day)]
        self._row = metrics.compute(
            self.day, st["strategy"], st["stress"], st["craving"], st["using"], self.attended,
            ptr[:-1], np.diff(ptr), nbr, w, abstinent_count=abst, n0=self.n0,
            isolation_threshold=self.scenario.ties.isolation_threshold, mean_payoff=self.mean_payoff,
            newcomers=len(newcomers) if self.psych and self.scenario.sponsorship.enabled else 0,
            sponsored_newcomers=sum(1 for a in newcomers if a.sponsor >= 0),
            **self.counts,
        )
        self.datacollector.collect(self)

    def _record(self, a: Member, left):
        return {
            "id": a.member_id,
            "joined_step": a.joined_step,
            "start_day": a.start_day,
            "left_step": left,
            "strategy_final": "HELP" if a.strategy == rules.HELP else "COMPETE",
            "help_share": a.help_days / a.days if a.days else float(a.strategy),
            "ever_used": a.ever_used,
            "first_use_step": a.first_use_step,
            "used_days": a.used_days,
            "sponsor_id": a.sponsor_id,
            "sponsees": a.sponsees_total,
            "checkins_received": a.checkins_received,
        }

    def metrics_frame(self) -> pd.DataFrame:
        """The per-step metrics table (one row per day, day 0 first)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return metrics.typed_frame(df)

    def members_frame(self) -> pd.DataFrame:
        """One row per member who ever existed (members.parquet)."""
        rows = self.records + [self._record(a, left=-1) for a in self.members]
        return members_frame(rows)


def members_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).sort_values("id", kind="stable").reset_index(drop=True)
    for col in ("left_step", "first_use_step", "sponsor_id"):
        df[col] = df[col].astype("Int64").mask(df[col] < 0)
    return df
