"""The Python API: as short as the CLI.

>>> import sim
>>> result = sim.run("baseline", steps=30, set={"population.size": 100})
>>> result.metrics[["step", "helpers", "using"]].shape
(31, 3)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported when a table is made, not at start-up
    import pandas as pd

from sim.core.schema import Scenario
from sim.core.scenarios import load_scenario
from sim.engines import AUTO_KERNEL_SIZE, make_model, resolve_engine  # noqa: F401  (re-exported)

@dataclass
class RunResult:
    """What one run produced."""

    scenario: Scenario
    metrics: pd.DataFrame
    members: Optional[pd.DataFrame]
    engine: str
    wall_time: float
    model: Any = field(default=None, repr=False)
    member_days: Optional[pd.DataFrame] = None


def prepare(scenario: str | Path | Scenario | Mapping | None = None, *, seed: int | None = None,
            steps: int | None = None, set: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load a scenario and apply overrides (``set``, then ``seed`` and ``steps``)."""
    overrides: dict[str, Any] = {}
    if isinstance(set, Mapping):
        overrides.update(set)
    else:
        from sim.core.scenarios import parse_override

        overrides.update(dict(parse_override(s) for s in set))
    if seed is not None:
        overrides["seed"] = seed
    if steps is not None:
        overrides["steps"] = steps
    return load_scenario(scenario, overrides)


def run(scenario: str | Path | Scenario | Mapping | None = "baseline", *, seed: int | None = None,
        steps: int | None = None, engine: str | None = None,
        set: Iterable[str] | Mapping[str, Any] = (), members: bool = False, member_days: bool = False,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run one scenario and return its metrics (and members on request).

    Parameters
    ----------
    scenario : name in ``scenarios/``, path to a YAML file, mapping or Scenario.
    seed, steps : override the scenario's values.
    engine : "auto", "agents" or "kernel"; default: the scenario's.
    set : overrides, ``{"checkins.enabled": False}`` or ``["checkins.enabled=false"]``.
    members : also return the per-member table.
    member_days : also return one row per member per day (``member_days.parquet``; at most
        ``sim.core.members.MAX_MEMBER_DAY_ROWS`` rows, checked before the run).
    progress : called as ``progress(step, steps)`` after every step.
    """
    from sim.core.members import MemberDays, member_days_too_many

    sc = prepare(scenario, seed=seed, steps=steps, set=set)
    used = resolve_engine(sc, engine)
    if member_days and member_days_too_many(sc):
        raise ValueError(f"member_days: {member_days_too_many(sc)}")
    t0 = time.perf_counter()
    model = make_model(sc, used)
    days = MemberDays() if member_days else None
    if days is not None:
        days.collect(model.community)
    for t in range(sc.steps):
        model.step()
        if days is not None:
            days.collect(model.community)
        if progress is not None:
            progress(t + 1, sc.steps)
    wall = time.perf_counter() - t0
    return RunResult(
        scenario=sc,
        metrics=model.metrics_frame(),
        members=model.members_frame() if members else None,
        engine=used,
        wall_time=wall,
        model=model,
        member_days=days.frame() if days is not None else None,
    )
