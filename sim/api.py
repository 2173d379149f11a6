"""The Python API: as short as the CLI.

>>> import sim
>>> result = sim.run("baseline", steps=30, set={"population.size": 100})
>>> result.metrics[["step", "helpers", "using"]].shape
(31, 3)
"""

from __future__ import annotations

import time

import numpy as np
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported when a table is made, not at start-up
    import pandas as pd

from sim.core.schema import Scenario
from sim.core.scenarios import load_scenario
from sim.engines import make_model, resolve_engine  # noqa: F401  (re-exported)

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


def set_threads(n: int) -> int:
    """Run the kernel on ``n`` threads (at most the cores numba found); returns the number used.

    The results do not depend on it (every sum has a fixed order); fewer threads help on a busy machine.
    """
    import numba

    from sim.core.scenarios import ScenarioError

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(f"threads = {n!r}: expected an integer >= 1")
    used = min(n, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(used)
    return used


def prepare(scenario: str | Path | Scenario | Mapping | None = None, *, seed: int | None = None,
            steps: int | None = None, set: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load a scenario and apply overrides (``set``, then ``seed`` and ``steps``).

    ``set`` is a mapping ``{"population.size": 30}``, a list of ``"KEY=VALUE"`` strings, or one
    such string. Arguments of the wrong type raise :class:`sim.core.scenarios.ScenarioError`.
    """
    from sim.core.scenarios import ScenarioError, parse_override

    if scenario is not None and not isinstance(scenario, (str, Path, Scenario, Mapping)):
        raise ScenarioError(f"sim.run: scenario = {scenario!r}: expected a scenario name, a path, a mapping of "
                            f"keys or a Scenario")
    import numbers

    for name, value in (("seed", seed), ("steps", steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise ScenarioError(f"sim.run: {name} = {value!r}: expected an integer")
    seed = None if seed is None else int(seed)
    steps = None if steps is None else int(steps)
    overrides: dict[str, Any] = {}
    if isinstance(set, str):
        set = [set]
    if isinstance(set, Mapping):
        overrides.update(set)
    else:
        try:
            items = list(set)
        except TypeError:
            raise ScenarioError(f"sim.run: set = {set!r}: expected a mapping {{'key': value}} or 'KEY=VALUE' "
                                f"strings") from None
        for s in items:
            if not isinstance(s, str):
                raise ScenarioError(f"sim.run: set item {s!r}: expected a 'KEY=VALUE' string")
            overrides.update([parse_override(s)])
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
    from sim.core.scenarios import ScenarioError

    for name, value in (("members", members), ("member_days", member_days)):
        if not isinstance(value, (bool, np.bool_)):
            raise ScenarioError(f"sim.run: {name} = {value!r}: expected True or False")
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
