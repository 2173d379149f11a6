"""How large a community each engine takes: the Mesa engine's limit, checked before anything is built.

Its own module, read by the package (:func:`sim.engines.resolve_engine`) and by the Mesa engine
(:class:`sim.engines.agents.MutualAidModel`), so that neither imports the other for it.
"""

from __future__ import annotations

from sim.core.scenarios import ScenarioError
from sim.core.schema import Scenario

#: Most members the Mesa engine builds: one Python agent and one space cell per member (about 3 KB
#: each with the space) at about 1.4e5 agent-steps/s (benchmarks/RESULTS.md), so 10^5 members take
#: some 4 minutes a simulated year; the kernel gives the same numbers at any size, 24-40x faster.
MAX_AGENT_MEMBERS = 100_000


def check_agents_size(sc: Scenario) -> None:
    """Refuse the Mesa engine above :data:`MAX_AGENT_MEMBERS` before anything is built."""
    n = sc.population.size
    if n > MAX_AGENT_MEMBERS:
        raise ScenarioError(f"engine = agents: population.size = {n:,} is above the Mesa engine's limit of "
                            f"{MAX_AGENT_MEMBERS:,} members (one Python agent each: about {3 * n / 1e6:.1f} GB "
                            f"and {n * 365 / 1.4e5 / 60:.0f} minutes a simulated year); use engine kernel, "
                            "which gives the same numbers")
