"""Day-0 state and the community's layout, shared by both engines.

Both engines start from the arrays built here, so they start from the same
bits. Arrays are indexed by member *slot* (0..n-1); a newcomer who replaces a
dropout takes the dropout's slot and a new member id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import rng
from sim.core.schema import Scenario


@dataclass
class Layout:
    """What does not change during a run: meetings and tie capacity.

    meeting_of : int32 (n,) meeting of each slot.
    meeting_start : int64 (m+1,) slots of meeting k are meeting_start[k]..meeting_start[k+1]-1.
    capacity : int32 (n,) most ties a slot can hold (day-0 degree + ties.extra_slots).
    closed : bool (n,) whose meetings close while isolation lasts.
    """

    meeting_of: np.ndarray
    meeting_start: np.ndarray
    capacity: np.ndarray
    closed: np.ndarray


def make_layout(sc: Scenario, graph, key: int) -> Layout:
    n = graph.n
    if graph.groups is not None:
        meeting_of = np.asarray(graph.groups, dtype=np.int32)
    else:
        meeting_of = (np.arange(n) // sc.meetings.size).astype(np.int32)
    m = int(meeting_of.max()) + 1
    counts = np.bincount(meeting_of, minlength=m)
    meeting_start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=meeting_start[1:])
    if np.any(np.diff(meeting_of) < 0):
        raise ValueError("meetings must be contiguous ranges of member slots")
    capacity = (graph.degree() + sc.ties.extra_slots).astype(np.int32)
    sk = rng.stream(key, 0, rng.ISOLATION_SELECT)
    closed = rng.uniform_array(sk, n) < sc.isolation.share
    return Layout(meeting_of, meeting_start, capacity, closed)


def initial_members(sc: Scenario, n: int, key: int) -> dict[str, np.ndarray]:
    """Day-0 member state, by slot (see docs/ODD.md, "Initialization")."""
    pop = sc.population
    u = {}
    for name, purpose in (("strategy", rng.INIT_STRATEGY), ("newcomer", rng.INIT_NEWCOMER),
                          ("age", rng.INIT_AGE), ("stress", rng.INIT_STRESS),
                          ("craving", rng.INIT_CRAVING), ("using", rng.INIT_USING)):
        u[name] = rng.uniform_array(rng.stream(key, 0, purpose), n)
    psych = sc.psychology.enabled
    strategy = (u["strategy"] < pop.initial_helpers).astype(np.int8)
    newcomer = (u["newcomer"] < pop.newcomer_share) & psych
    newcomer_days = max(pop.newcomer_days, 1)
    age_new = np.floor(u["age"] * newcomer_days).astype(np.int64)
    age_old = newcomer_days + np.floor(u["age"] * max(pop.max_sober_days - newcomer_days, 0)).astype(np.int64)
    age = np.where(newcomer, age_new, age_old)
    if psych:
        stress = spread_array(pop.initial_stress, pop.initial_spread, u["stress"])
        cmean = np.where(newcomer, pop.newcomer_craving, pop.initial_craving)
        craving = spread_array(cmean, pop.initial_spread, u["craving"])
        using = u["using"] < pop.initial_using
    else:
        stress = np.zeros(n)
        craving = np.zeros(n)
        using = np.zeros(n, dtype=bool)
    return {
        "strategy": strategy,
        "stress": stress.astype(np.float64),
        "craving": craving.astype(np.float64),
        "using": using,
        "use_days": using.astype(np.int32),
        "sober_days": np.where(using, 0, age).astype(np.int32),
        "start_day": (-age).astype(np.int32),  # day recovery in this community began
        "member_id": np.arange(n, dtype=np.int64),
    }


def spread_array(mean, spread_, u):
    """Uniform in mean +- spread from uniform draws ``u``, clamped to [0, 1]."""
    return np.clip(mean + spread_ * (2.0 * u - 1.0), 0.0, 1.0)
