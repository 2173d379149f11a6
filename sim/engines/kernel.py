"""The kernel engine (``engine: kernel``): the day's stages in numba loops, for large communities.

It runs the stages of :data:`sim.core.schedule.SCHEDULE` over the whole
community at once through the stages' own ``*_all`` functions
(:mod:`sim.core.stages`): each member stage is its body in a ``prange``
loop over members; the meeting stage and the "serial" stages (finding and
calling sponsors, which read other members of their meeting) a ``prange``
loop over meetings, each meeting's members in slot order. The bodies are the very functions the
Mesa agents call for themselves, and every sum runs over neighbours in
ascending slot order, so both engines give the same bits on any thread
count (``tests/test_engines.py``).
"""

# Deferred imports (inside the functions that need them):
# - pandas: only the metrics table at the end of a run needs it; a model and its days load without it.

from __future__ import annotations

from sim.core import choices, metrics, schedule
from sim.core.community import Community
from sim.core.members import members_frame
from sim.core.networks import build_network
from sim.core.rng import network_seed
from sim.core.schema import Scenario


class KernelModel:
    """A community stepped by numba kernels (see :class:`sim.engines.Engine`)."""

    def __init__(self, scenario: Scenario, graph=None):
        self.scenario = scenario
        self.graph = graph if graph is not None else build_network(
            scenario.network, scenario.population.size, network_seed(scenario.seed))
        self.community = Community(scenario, self.graph)
        self.key = self.community.key
        self.n = self.graph.n
        self.steps = 0
        schedule.burn_in(self.community)
        for stage in schedule.day_zero(self.community):
            stage.run_all(self.community)
        self.rows = [metrics.day_row(self.community)]

    def copy(self) -> "KernelModel":
        """An independent model in the same state (see :meth:`sim.core.community.Community.copy`)."""
        other = object.__new__(KernelModel)
        other.__dict__.update(self.__dict__)
        other.community = self.community.copy()
        other.rows = [dict(r) for r in self.rows]
        return other

    @property
    def day(self) -> int:
        return self.steps

    def decide(self, decisions):
        """People's decisions for the next day (:mod:`sim.core.choices`); the rules decide the rest."""
        choices.apply(self.community, decisions)

    def step(self, after_stage=None):
        """One day: every stage that runs today, in the schedule's order, then the day's metrics row.
        ``after_stage(stage)``, when given, is called after each stage (:func:`sim.core.schedule.run_day`)."""
        self.steps += 1
        schedule.run_day(self.community, self.steps, after_stage)
        choices.clear(self.community)
        self.rows.append(metrics.day_row(self.community))

    # ------------------------------------------------------------ outputs
    def state_arrays(self):
        return self.community.state_arrays()

    def tie_arrays(self):
        return self.community.tie_arrays()

    def metrics_frame(self):
        import pandas as pd

        return metrics.typed_frame(pd.DataFrame(self.rows))

    def members_frame(self):
        return members_frame(self.community)
