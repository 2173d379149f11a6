"""The Python API: as short as the CLI.

>>> import sim
>>> result = sim.run("baseline", steps=30, set={"population.size": 100})
>>> result.metrics[["step", "helpers", "using"]].shape
(31, 3)
>>> sim.run("baseline", steps=30, population_size=100, checkins_prob=0.8).scenario.checkins.prob
0.8
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
    from sim.core.scenarios import short_repr

    return short_repr(value)


def set_threads(n: int) -> int:
    """Run the kernel on ``n`` threads (at most the cores numba found); returns the number used.

    The results do not depend on it (every sum has a fixed order); fewer threads help on a busy machine.
    """
    from sim.core import threads
    from sim.core.scenarios import ScenarioError

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(f"threads = {n!r}: expected an integer >= 1")
    return threads.choose(n)


def keyword_overrides(keywords: Mapping[str, Any], via: str = "sim.run") -> dict[str, Any]:
    """``{"population_size": 500}`` -> ``{"population.size": 500}``; an unknown keyword is a
    :class:`ScenarioError` naming the call and the closest keyword."""
    from sim.core.scenarios import flat_overrides

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
    from sim.core.scenarios import ScenarioError, parse_override

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
        from sim.core.scenarios import flat_key, short_repr

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
    from sim.core.scenarios import ScenarioError

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


def batch_run(scenario: str | Path = "baseline", parameters: Mapping[str, Any] | None = None, *,
              replicates: int = 1, steps: int | None = None, seed: int = 0, sampling: str = "grid",
              samples: int | None = None, metrics: Iterable[str] | None = None, workers: int | None = 1,
              out: str | Path | None = None, common_seeds: bool = True) -> "pd.DataFrame":
    """A parameter scan from Python, on the sweep machinery (``mutualaid sweep``); one row per run.

    ``parameters`` maps dotted keys (or keywords, ``population_size``) to a list of values (swept) or a
    scalar (fixed): ``{"checkins.prob": [0.2, 0.8], "population.size": 300}``. Every run has its own
    seed from ``SeedSequence(seed)`` (replicate r the same seed at every point with ``common_seeds``),
    unlike ``mesa.batch_run``; the numbers do not depend on ``workers``. With ``out`` the runs are kept
    there and a second call with the same arguments resumes (finished runs are not run again); without
    it they go to a temporary folder that is removed afterwards.

    >>> import sim
    >>> df = sim.batch_run("baseline", {"checkins.prob": [0.2, 0.8], "population_size": 60},
    ...                    replicates=2, steps=20)                      # doctest: +SKIP
    >>> df[["checkins.prob", "replicate", "seed", "total_relapses"]]     # doctest: +SKIP
    """
    from sim.core.scenarios import ScenarioError
    from sim.limits import check_count

    via = "sim.batch_run"
    if isinstance(scenario, bool) or not isinstance(scenario, (str, Path)):
        raise ScenarioError(f"{via}: scenario = {short_repr_(scenario)}: expected a scenario name (e.g. "
                            f"'baseline') or a path")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ScenarioError(f"{via}: parameters = {short_repr_(parameters)}: expected a mapping "
                            f"{{'key': [values]}}, e.g. {{'checkins.prob': [0.2, 0.8]}}")
    check_count("workers", workers, via)
    check_count("replicates", replicates, via)
    spec: dict[str, Any] = {"name": "batch_run", "scenario": str(scenario), "seed": seed,
                            "replicates": replicates, "sampling": sampling, "common_seeds": common_seeds,
                            "parameters": {}}
    for k, v in (parameters or {}).items():  # dotted keys or keywords
        if not isinstance(k, str):
            raise ScenarioError(f"{via}: parameter {short_repr_(k)}: expected a key such as 'checkins.prob'")
        spec["parameters"].update({k: v} if "." in k else keyword_overrides({k: v}, "sim.batch_run"))
    if steps is not None:
        spec["steps"] = steps
    if samples is not None:
        spec["samples"] = samples
    if metrics is not None:
        spec["metrics"] = list(metrics)
    return sweep(spec, out=out, workers=workers)


def sweep(spec: str | Path | Mapping[str, Any], *, out: str | Path | None = None,
          workers: int | None = None) -> "pd.DataFrame":
    """Run (or resume) a sweep file or mapping from Python; returns ``runs.parquet`` as a DataFrame."""
    import shutil
    import tempfile

    from sim.core.scenarios import ScenarioError
    from sim.experiments.sweep import load_sweep, run_sweep
    from sim.limits import check_count
    from sim.output import check_out_dir

    if isinstance(spec, bool) or not isinstance(spec, (str, Path, Mapping)):
        raise ScenarioError(f"sim.sweep: spec = {short_repr_(spec)}: expected a sweep file's path or a mapping "
                            f"of its keys")
    if out is not None and (isinstance(out, bool) or not isinstance(out, (str, Path))):
        raise ScenarioError(f"sim.sweep: out = {short_repr_(out)}: expected a folder path")
    check_count("workers", workers, "sim.sweep")
    if out is not None:
        check_out_dir(out, option="out", kind="sweep")
    sw = load_sweep(spec) if isinstance(spec, Mapping) else load_sweep(Path(spec))
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="mutualaid-sweep-"))
    try:
        res = run_sweep(sw, folder, workers=workers)
        return res.runs
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
