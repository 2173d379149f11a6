"""The run layer: load a scenario, run it on an engine, return what it produced.

Below the experiments (compare, trial, lesson, sweep, validate...), which run through it, and below the
Python API (:mod:`sim.api`), which re-exports it beside the sweeps; so no experiment imports the layer
above it (tests/test_layers.py holds the layers).

>>> from sim.runner import run
>>> run("baseline", steps=30, set={"population.size": 100}).metrics.shape[0]
31
"""

# Deferred imports (inside the functions that need them):
# - sim.core.threads, sim.core.members, sim.core.schedule: they load numba; preparing a run (and its
#   errors) does not need it, only running it.

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional

import numpy as np

if TYPE_CHECKING:  # pandas is imported when a table is made, not at start-up
    import pandas as pd

from sim.core.scenarios import ScenarioError, flat_key, flat_overrides, load_scenario, parse_override, short_repr
from sim.core.schema import Scenario
from sim.engines import make_model, resolve_engine


@dataclass
class RunResult:
    """What one run produced.

    ``model`` is the engine's model after the run: a Mesa model
    (:class:`sim.engines.agents.MutualAidModel`, a ``mesa.Model`` with one agent per member) when the
    engine is ``agents``, otherwise a :class:`sim.engines.kernel.KernelModel` (the same state in arrays,
    ``model.community``; no Mesa agents). Ask ``engine="agents"`` for agent objects.
    """

    scenario: Scenario
    metrics: pd.DataFrame
    members: Optional[pd.DataFrame]
    engine: str
    wall_time: float
    model: Any = field(default=None, repr=False)
    member_days: Optional[pd.DataFrame] = None


def short_repr_(value: Any) -> str:
    return short_repr(value)


def set_threads(n: int) -> int:
    """Run the kernel on ``n`` threads (at most the cores numba found); returns the number used.

    The results do not depend on it (every sum has a fixed order); fewer threads help on a busy machine.
    """
    from sim.core import threads

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(f"threads = {n!r}: expected an integer >= 1")
    return threads.choose(n)


def keyword_overrides(keywords: Mapping[str, Any], via: str = "sim.run") -> dict[str, Any]:
    """``{"population_size": 500}`` -> ``{"population.size": 500}``; an unknown keyword is a
    :class:`ScenarioError` naming the call and the closest keyword."""
    return flat_overrides(keywords, via, top_level=False) if keywords else {}


def prepare(scenario: str | Path | Scenario | Mapping | None = None, *, seed: int | None = None,
            steps: int | None = None, set: Iterable[str] | Mapping[str, Any] = (), via: str = "sim.run",
            **keywords: Any) -> Scenario:
    """Load a scenario and apply overrides (``set``, then keywords, then ``seed`` and ``steps``).

    ``set`` is a mapping ``{"population.size": 30}``, a list of ``"KEY=VALUE"`` strings, or one
    such string; keywords are the same keys with the first dot as an underscore
    (``population_size=30``). Arguments of the wrong type raise
    :class:`sim.core.scenarios.ScenarioError`, worded for the call ``via``; so does a key given twice
    with different values.
    """
    if scenario is None or isinstance(scenario, bool) or not isinstance(scenario, (str, Path, Scenario, Mapping)):
        raise ScenarioError(f"{via}: scenario = {short_repr_(scenario)}: expected a scenario name (e.g. "
                            f"'baseline'), a path, a mapping of keys or a Scenario")
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
        for k in set:
            if not isinstance(k, str):
                raise ScenarioError(f"{via}: set key {short_repr_(k)}: expected a dotted key such as "
                                    f"'population.size'")
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
            overrides.update([parse_override(s, via)])
    by_keyword = keyword_overrides(keywords, via)
    both = [k for k in by_keyword if k in overrides and overrides[k] != by_keyword[k]]
    if both:
        k = both[0]
        raise ScenarioError(f"{via}: {k} is given twice, set {short_repr(overrides[k])} and {flat_key(k)}="
                            f"{short_repr(by_keyword[k])}; give it once")
    overrides.update(by_keyword)
    for name, value in (("seed", seed), ("steps", steps)):
        if value is not None and name in overrides and overrides[name] != value:
            raise ScenarioError(f"{via}: {name} is given twice, set {short_repr_(overrides[name])} and "
                                f"{name}={value}; give it once")
    if seed is not None:
        overrides["seed"] = seed
    if steps is not None:
        overrides["steps"] = steps
    return load_scenario(scenario, overrides, via=via)


def run(scenario: str | Path | Scenario | Mapping | None = "baseline", *, seed: int | None = None,
        steps: int | None = None, engine: str | None = None,
        set: Iterable[str] | Mapping[str, Any] = (), members: bool = False, member_days: bool = False,
        progress: Callable[[int, int], None] | None = None, watch: Callable[[Any], None] | None = None,
        **keywords: Any) -> RunResult:
    """Run one scenario and return its metrics (and members on request).

    Parameters
    ----------
    scenario : name in ``scenarios/``, path to a YAML file, mapping or Scenario.
    seed, steps : override the scenario's values.
    engine : "auto", "agents" or "kernel"; default: the scenario's.
    set : overrides, ``{"checkins.enabled": False}`` or ``["checkins.enabled=false"]``.
    **keywords : the same overrides as keywords, the first dot an underscore:
        ``population_size=500, checkins_prob=0.8``. A key given twice with different values (in ``set``
        and as a keyword, or as ``seed``/``steps`` too) is a :class:`ScenarioError`.
    members : also return the per-member table.
    member_days : also return one row per member per day (``member_days.parquet``; at most
        ``sim.core.members.MAX_MEMBER_DAY_ROWS`` rows, checked before the run).
    progress : called as ``progress(step, steps)`` after every step; one with a ``phase(name, done, total)``
        method (:class:`sim.progress.Progress`) is also told of the burn-in's days, as phase ``"burn-in"``.
    watch : called as ``watch(model)`` on day 0 and after every step (``model.steps`` is the day),
        e.g. to draw the frames of a movie of this very run (``mutualaid run --movie``); its time is
        not counted in ``wall_time``.
    """
    from sim.core.members import MemberDays, member_days_too_many

    for name, value in (("members", members), ("member_days", member_days)):
        if not isinstance(value, (bool, np.bool_)):
            raise ScenarioError(f"sim.run: {name} = {value!r}: expected True or False")
    sc = prepare(scenario, seed=seed, steps=steps, set=set, **keywords)
    used = resolve_engine(sc, engine)
    if member_days and member_days_too_many(sc):  # the CLI's words for --member-days
        raise ScenarioError(f"sim.run: member_days: {member_days_too_many(sc)}")
    t0 = time.perf_counter()
    phase = getattr(progress, "phase", None)  # a display that shows the burn-in as its own phase
    if phase is not None:
        from sim.core import schedule

        token = schedule.burn_in_progress.set(lambda done, total: phase("burn-in", done, total))
        try:
            model = make_model(sc, used)
        finally:
            schedule.burn_in_progress.reset(token)
    else:
        model = make_model(sc, used)
    days = MemberDays() if member_days else None
    if days is not None:
        days.collect(model.community)
    watched = 0.0  # time spent in ``watch``, not counted as the run's wall time

    def look() -> float:
        t = time.perf_counter()
        watch(model)
        return time.perf_counter() - t

    if watch is not None:
        watched += look()
    for t in range(sc.steps):
        model.step()
        if days is not None:
            days.collect(model.community)
        if watch is not None:
            watched += look()
        if progress is not None:
            progress(t + 1, sc.steps)
    wall = time.perf_counter() - t0 - watched
    return RunResult(
        scenario=sc,
        metrics=model.metrics_frame(),
        members=model.members_frame() if members else None,
        engine=used,
        wall_time=wall,
        model=model,
        member_days=days.frame() if days is not None else None,
    )


def replay(log, steps: int | None = None):
    """Run a decision log's scenario again on its engine with its people's decisions on their days
    (:class:`sim.core.choices.DecisionLog`; docs/ODD.md 7.0); returns the model after ``steps`` days (the
    scenario's by default). The same log gives the same run, bit for bit."""
    model = make_model(log.scenario, engine=log.engine)
    days = log.by_day()
    for day in range(1, (steps if steps is not None else log.scenario.steps) + 1):
        model.decide(days.get(day, ()))
        model.step()
    return model

