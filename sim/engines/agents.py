"""The Mesa engine (``engine: agents``): members as Mesa agents applying the day's verbs to themselves.

:class:`MutualAidModel` is a Mesa 3 model. Each member is a :class:`Member`
(a ``FixedAgent``) on a cell of a Mesa space, a ``Network`` or an
orthogonal grid for lattices, and its day-0 ties are the neighbourhood of
its cell. The day is :data:`sim.core.schedule.SCHEDULE`, run in its order by
:meth:`MutualAidModel.step`: for a member stage every agent applies the verb
to itself (``self.agents.do("check_in")``), for a serial stage the agents do
it in slot order. A verb is one call of the stage's body in
:mod:`sim.core.stages` with the member's own slot, the same body the kernel
engine runs in parallel loops. A :class:`mesa.DataCollector` gathers the
metric columns (model reporters) and, on request, member columns (agent
reporters).

A member's state lives in the community's arrays (:mod:`sim.core.community`);
``member.stress`` reads (and assigning writes) its entry there.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from mesa import DataCollector, Model
from mesa.discrete_space import FixedAgent, Network, OrthogonalMooreGrid, OrthogonalVonNeumannGrid

from sim.core import arrays, choices, metrics, schedule, stages, threads
from sim.core.community import Community
from sim.core.members import members_frame
from sim.core.networks import build_network
from sim.core.rng import network_seed
from sim.core.rules import HELP
from sim.core.scenarios import ScenarioError, flat_overrides, load_scenario
from sim.core.schema import Scenario
from sim.engines.sizes import check_agents_size

#: Member attributes that are views onto the community's arrays: every state and record array and some of
#: the day's values (declared in :data:`sim.core.arrays.MEMBERS`; docs/ODD.md 2.2).
VIEWS = arrays.VIEWS

#: Member columns an agent reporter can collect (``MutualAidModel(member_reporters=True)``).
MEMBER_REPORTERS = ("member_id", "attended", "using", "stress", "craving", "capital", "strategy", "sponsor",
                    "reached", "sober_days", "missed")


class Member(FixedAgent):
    """A member of a recovery community, on its cell of the model's space.

    Its verbs are the stages of the day (``sim.core.schedule.SCHEDULE``), each
    applied to itself; its state attributes (:data:`VIEWS`) read and write
    the community's arrays at its slot.
    """

    def __init__(self, model: MutualAidModel, slot: int, cell):
        super().__init__(model)
        self.slot = slot
        self.cell = cell
        self._c = model.community.ref
        self._a = model.community.arrays

    # ------------------------------------------------------------------ the day's verbs (schedule order)
    def choose(self):
        """7.0 If a person plays me and chose to help or to compete today, that is my strategy."""
        stages.choose(self._c, self.slot)

    def meet(self):
        """7.1-7.3 Weigh my ties, go to my meeting or miss it, play the game with my neighbours."""
        stages.meet(self._c, self.slot)

    def check_in(self):
        """7.4 Be reached if I am missed; reach out to missed neighbours if I am an active helper."""
        stages.check_in(self._c, self.slot)

    def find_sponsor(self):
        """7.5 As an unsponsored newcomer, take an eligible sponsor of my meeting."""
        stages.find_sponsor(self._c, self.slot)

    def call_sponsor(self):
        """7.5 Call my sponsor when my craving passes the threshold."""
        stages.call_sponsor(self._c, self.slot)

    def update_mind(self):
        """7.6-7.8 Tomorrow's stress and craving; lapse, or come back from one."""
        stages.update_mind(self._c, self.slot)

    def weigh_fitness(self):
        """7.10 How well I did today (payoff and wellbeing)."""
        stages.weigh_fitness(self._c, self.slot)

    def revise(self):
        """7.10 Imitate a neighbour who does better (by the scenario's rule), or mutate."""
        stages.revise(self._c, self.slot)

    def update_ties(self):
        """7.9 My ties strengthen with help, weaken with competition, decay; weak ones break."""
        stages.update_ties(self._c, self.slot)

    def commit(self):
        """3.1 Today's updates become my state."""
        stages.commit(self._c, self.slot)

    # ------------------------------------------------------------------ reading
    @property
    def ties(self) -> dict[int, float]:
        """My ties today: neighbour slot -> weight, ascending."""
        a = self._a
        start, d = a["tie_ptr"][self.slot], a["deg"][self.slot]
        return {int(j): float(w) for j, w in zip(a["tie_nbr"][start:start + d], a["tie_w"][start:start + d])}

    def neighbours(self) -> list[Member]:
        """The members I am tied to today."""
        members = self.model.members
        return [members[j] for j in self.ties]

    @property
    def is_helper(self) -> bool:
        return self.strategy == HELP


def _view(name: str):
    def get(self):
        return self._a[name][self.slot].item()

    def set_(self, value):
        self._a[name][self.slot] = value

    return property(get, set_, doc=f"``{name}`` of this member (a view onto the community's array)")


for _name in VIEWS:
    setattr(Member, _name, _view(_name))


class MutualAidModel(Model):
    """Mutual aid versus competition in a recovery community (Mesa 3).

    Parameters
    ----------
    scenario : Scenario, str, dict or None
        A scenario (or its name/path in ``scenarios/``); None: the defaults.
    seed : int, optional
        Overrides the scenario's seed. One integer seeds the whole run.
    member_reporters : bool
        Also collect member columns (:data:`MEMBER_REPORTERS`) every day with
        the DataCollector's agent reporters.
    **kwargs
        Scenario keys as flat keyword arguments (``checkins_enabled=False``,
        ``population_size=200``), applied on top of ``scenario``; this is how
        Mesa's ``SolaraViz`` rebuilds the model (it requires this parameter to
        be named ``kwargs``: dashboards/mesa_viz.py).
    """

    def __init__(self, scenario: Scenario | str | dict | None = None, *, seed: int | None = None,
                 member_reporters: bool = False, **kwargs):
        via = "MutualAidModel"  # errors speak of the call, not of the command line's --set
        if scenario is not None and (isinstance(scenario, bool)
                                     or not isinstance(scenario, (Scenario, str, os.PathLike, dict))):
            hint = f" (for a seed, write seed={scenario!r})" if isinstance(scenario, int) and scenario is not True \
                and scenario is not False else ""
            raise ScenarioError(f"{via}: scenario = {scenario!r}: expected a scenario name, a path, a mapping of "
                                f"keys or a Scenario{hint}")
        if not isinstance(member_reporters, (bool, np.bool_)):  # "no" would be truthy
            raise ScenarioError(f"{via}: member_reporters = {member_reporters!r}: expected True or False")
        sc = load_scenario(scenario, flat_overrides(kwargs, via), via=via) \
            if kwargs or not isinstance(scenario, Scenario) else scenario
        if seed is not None:  # validated like a scenario's seed (an integer in [0, 2^63 - 1])
            sc = load_scenario(sc, {"seed": seed}, via=via)
        check_agents_size(sc)
        super().__init__(seed=sc.seed)
        self.scenario = sc
        self.graph = build_network(sc.network, sc.population.size, network_seed(sc.seed))
        self.space = self._make_space()
        cells = self._cells()
        # day-0 ties: each member's neighbourhood in the Mesa space
        neighbours = [sorted(self._cell_slot[nb] for nb in cell.neighborhood if self._cell_slot[nb] != i)
                      for i, cell in enumerate(cells)]
        self.community = Community(sc, self.graph, neighbours=neighbours)
        schedule.burn_in(self.community)  # the community's past, on its arrays (the same for both engines)
        self.key = self.community.key
        self.members: list[Member] = [Member(self, i, cells[i]) for i in range(self.graph.n)]
        self._row: dict[str, Any] = {}
        self.datacollector = DataCollector(
            model_reporters={c: (lambda m, c=c: m._row[c]) for c in metrics.COLUMNS},
            agent_reporters={c: c for c in MEMBER_REPORTERS} if member_reporters else None,
        )
        for stage in schedule.day_zero(self.community):
            self._run(stage)
        self._collect()
        self.running = sc.steps > 0  # Mesa's run_model() runs no day of a zero-day scenario

    # -------------------------------------------------------------- space
    def _make_space(self):
        sc, g = self.scenario, self.graph
        if sc.network.kind == "lattice":
            cls = OrthogonalMooreGrid if sc.network.neighborhood == "moore" else OrthogonalVonNeumannGrid
            return cls((g.width, g.height), torus=sc.network.periodic, capacity=1, random=self.random)
        return Network(g.to_networkx(), capacity=1, random=self.random)

    def _cells(self):
        g = self.graph
        if self.scenario.network.kind == "lattice":  # slot i = y*width + x
            cells = [self.space[(i % g.width, i // g.width)] for i in range(g.n)]
        else:
            cells = [self.space[i] for i in range(g.n)]
        self._cell_slot = {cell: i for i, cell in enumerate(cells)}
        return cells

    # -------------------------------------------------------------- the day
    @property
    def day(self) -> int:
        return self.community.day

    def decide(self, decisions):
        """People's decisions for the next day (:mod:`sim.core.choices`); the rules decide the rest."""
        choices.apply(self.community, decisions)

    def step(self, after_stage=None):
        """One day: the schedule's stages in order (docs/ODD.md 3.1), then one row of metrics.

        After the scenario's ``steps`` days ``running`` turns False, so Mesa's ``run_model()`` ends there
        (``step()`` itself can go on as long as it is called). ``after_stage(stage)``, when given, is called
        after each stage (tests compare the state stage by stage).
        """
        threads.use_for(self.community.n)  # the parallel parts (metrics, tally, turnover) on as many threads as pay
        for stage in schedule.today(self.community, self.steps):  # Mesa has already counted this step
            self._run(stage)
            if after_stage is not None:
                after_stage(stage)
        choices.clear(self.community)
        self._collect()
        if self.steps >= self.scenario.steps:
            self.running = False

    def _run(self, stage):
        if stage.scope == "member":  # double-buffered: the order of members does not matter
            self.agents.do(stage.name)
        elif stage.scope == "serial":  # writes to other members: slot order
            for member in self.members:
                getattr(member, stage.name)()
        elif stage.scope == "meeting":
            for k in range(self.community.meetings):
                stage.body(self.community.ref, k)
        else:
            stage.body(self.community)
            if stage.name == "turnover" and self.community.counts["dropouts"]:
                self._welcome_newcomers()

    def _welcome_newcomers(self):
        """Leavers' agents leave the model; a new agent takes each vacated cell."""
        for i in np.flatnonzero(self.community["leaving"]):
            old = self.members[i]
            cell = old.cell
            old.remove()
            self.members[i] = Member(self, int(i), cell)

    # -------------------------------------------------------------- outputs
    def _collect(self):
        self._row = metrics.day_row(self.community)
        self.datacollector.collect(self)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Member state by slot, as arrays (for metrics, drawing and engine comparison)."""
        return self.community.state_arrays()

    def tie_arrays(self):
        """Current ties as CSR arrays (ascending neighbours per slot)."""
        return self.community.tie_arrays()

    def metrics_frame(self):
        """The per-step metrics table (one row per day, day 0 first)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return metrics.typed_frame(df)

    def members_frame(self):
        """One row per member who ever existed (members.parquet)."""
        return members_frame(self.community)
