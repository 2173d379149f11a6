"""The two engines and the interface everything above them is written against.

``agents`` (:class:`sim.engines.agents.MutualAidModel`, Mesa) and ``kernel``
(:class:`sim.engines.kernel.KernelModel`, numba) run the same day
(:data:`sim.core.schedule.SCHEDULE`) on the same state and give the same
bits. The API, CLI, sweeps, dashboard and benchmarks use them only through
:class:`Engine` and :func:`make_model`.
"""

# Deferred imports (inside make_model):
# - sim.engines.kernel, sim.engines.agents: they load numba (and the kernels) or mesa; the engine's name
#   is checked (resolve_engine, by the command line, the sweep grammar and the classroom) without them.

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sim.core.scenarios import ScenarioError
from sim.core.schema import Scenario
from sim.engines.sizes import MAX_AGENT_MEMBERS, check_agents_size  # noqa: F401 (part of the package's interface)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from sim.core.community import Community
    from sim.core.networks import Graph

ENGINES = ("agents", "kernel")


@runtime_checkable
class Engine(Protocol):
    """What a running model offers, whichever engine runs it."""

    scenario: Scenario
    graph: Graph
    community: Community
    steps: int

    def step(self, after_stage=None) -> None:
        """Simulate one more day (and collect its metrics row); ``after_stage(stage)``, when given, is
        called after each stage of the day that runs (tests compare stage by stage)."""

    def decide(self, decisions) -> None:
        """People's decisions (:class:`sim.core.choices.Decision`) for the next day only."""

    def metrics_frame(self) -> pd.DataFrame:
        """The per-step metrics table, day 0 first (``sim.core.metrics.COLUMNS``)."""

    def members_frame(self) -> pd.DataFrame:
        """One row per member who ever existed (``sim.core.members.COLUMNS``)."""

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Member state by slot."""

    def tie_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current ties as CSR ``(ptr, nbr, w)``."""


def resolve_engine(sc: Scenario, engine: str | None = None) -> str:
    """The engine a run actually uses: ``auto`` is the kernel (the same bits as the Mesa engine, and
    faster at every size); the Mesa engine runs when asked for (``engine: agents``, or
    :class:`sim.engines.agents.MutualAidModel` directly)."""
    choice = engine or sc.engine
    if choice not in ("auto",) + ENGINES:
        raise ScenarioError(f"engine = {choice!r}: allowed: 'auto', 'agents' or 'kernel'")
    if choice == "agents":
        check_agents_size(sc)
    return "kernel" if choice == "auto" else choice


def make_model(sc: Scenario, engine: str = "kernel") -> Engine:
    """A model of the scenario on the given engine ("agents" or "kernel")."""
    if engine == "kernel":
        from sim.engines.kernel import KernelModel

        return KernelModel(sc)
    from sim.engines.agents import MutualAidModel

    return MutualAidModel(sc)
