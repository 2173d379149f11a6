"""The resolved sweep (:class:`Sweep`) and the scenario of each of its points."""

# Deferred imports (inside the functions that need them):
# - sim.experiments.sweep.worker: the package's modules import only those above them (its docstring's
#   list), and the worker is below this one; only Sweep.task_scenario asks it how a worker builds a task.

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
from pydantic import BaseModel

from sim.core.scenarios import ScenarioError, load_scenario
from sim.experiments.sweep.errors import SweepError
from sim.experiments.sweep.identity import code_id
from sim.experiments.sweep.seeds import Seeds


#: sweep-only keys of a donation game (benefit b, cost c): R = b - c, S = -c, T = b, P = 0
DONATION_KEYS = ("donation.b_over_c", "donation.cost")

#: sweep keys that may change when a folder is resumed: they change no run already recorded (the metrics
#: are what a report summarises; every run records every statistic). More replicates add runs; fewer are
#: refused, since the folder would hold runs the sweep no longer asks for.
RESUME_FREE = ("name", "description", "metrics", "replicates")


@dataclass
class Sweep(Seeds):
    """A validated sweep: what to run, at which points, with which seeds."""

    source: str
    name: str
    description: str
    scenario_source: str
    base: Any  # sim.core.schema.Scenario
    seed: int
    replicates: int
    steps: Optional[int]
    engine: Optional[str]
    sampling: str
    samples: Optional[int]
    fixed: dict[str, Any]
    swept: dict[str, Any]  # key -> list of values (grid) or (low, high) (latin, saltelli)
    metrics: list[str]
    timeseries: bool
    common_seeds: bool
    levels: Optional[int] = None  # Morris grid levels (sampling: morris only)
    #: adaptive replication: {"metric": column, "width": W, "max_replicates": M} (not in the fingerprint)
    until_ci: Optional[dict] = None
    points: list[dict[str, Any]] = field(default_factory=list)
    #: the unrounded design matrix of a Morris sweep (points x parameters): what SALib's analysis reads
    design: Optional[np.ndarray] = None
    #: the replicates the output folder was started with: planned run ids are ``point * id_replicates +
    #: replicate`` (set from sweep.json on a resume, so replicates added later keep the earlier runs' ids)
    id_replicates: Optional[int] = None

    @property
    def parameters(self) -> list[str]:
        """Swept parameter names, in file order (the columns of runs.parquet)."""
        return list(self.swept)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replicates

    def problem(self) -> dict:
        """SALib's problem definition of the sampled parameters."""
        return {"num_vars": len(self.swept), "names": list(self.swept),
                "bounds": [[float(lo), float(hi)] for lo, hi in self.swept.values()]}

    def spec(self) -> dict:
        """The resolved sweep as JSON-able data (what the fingerprint covers; not ``until_ci``, which changes
        no run)."""
        out = {
            "name": self.name, "description": self.description, "scenario": self.scenario_source,
            "base_scenario": self.base.model_dump(mode="json"), "seed": self.seed,
            "replicates": self.replicates, "steps": self.steps, "engine": self.engine,
            "sampling": self.sampling, "samples": self.samples, "fixed": self.fixed,
            "swept": {k: list(v) for k, v in self.swept.items()}, "metrics": self.metrics,
            "timeseries": self.timeseries, "common_seeds": self.common_seeds, "code": code_id(),
        }
        if self.sampling == "morris":
            out["levels"] = self.levels
        return out

    def run_spec(self) -> dict:
        """The part of :meth:`spec` that decides the runs: everything but :data:`RESUME_FREE`."""
        return {k: v for k, v in self.spec().items() if k not in RESUME_FREE}

    def fingerprint(self) -> str:
        """sha256 of what decides the runs (:meth:`run_spec`): the same file (and base scenario, and code)
        gives the same value; a new name, description, metric list or replicate count does not change it."""
        text = json.dumps(self.run_spec(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def context(self) -> dict:
        """What every task of this sweep shares: the base scenario (as data), the engine asked for, whether
        time series are kept, the code's identity."""
        if "_context" not in self.__dict__:
            self.__dict__["_context"] = {"base": self.base.model_dump(mode="json"), "engine": self.engine,
                                         "timeseries": self.timeseries, "code": code_id()}
        return self.__dict__["_context"]

    def pack(self, batch: list[dict], **extra) -> dict:
        """A chunk for :func:`run_chunk`: the tasks, each with its point's overrides and parameters."""
        over: dict[int, dict] = {}
        out = []
        for t in batch:
            p = t["point"]
            if p not in over:
                over[p] = _overrides(self, self.points[p])
            out.append({**t, "over": over[p], "params": self.points[p]})
        return {"ctx": {**self.context(), **extra}, "tasks": out}

    def task_scenario(self, task: dict):
        """The scenario a task runs (as a worker builds it)."""
        from sim.experiments.sweep.worker import _task_scenario

        return _task_scenario(self.pack([task])["tasks"][0], self.context(), {})


def _overrides(sweep: Sweep, values: Mapping[str, Any]) -> dict[str, Any]:
    over = {**sweep.fixed, **values}
    if any(k in over for k in DONATION_KEYS):
        c = float(over.pop("donation.cost", 1.0))
        ratio = over.pop("donation.b_over_c", None)
        b = float(ratio) * c if ratio is not None else float(sweep.base.game.T)
        over.update({"game.R": b - c, "game.S": -c, "game.T": b, "game.P": 0.0})
    if sweep.steps is not None:
        over["steps"] = sweep.steps
    return over


def _point_by_sections(sweep: Sweep, over: Mapping[str, Any]):
    """A point's scenario validated section by section: the sweep's base with its fixed settings is
    validated once (as a whole); a point then validates only the sections its own values change, and the
    scenario-wide checks (``Scenario._check_trial``, ``_check_network``). ``None`` when that does not
    apply (a lattice, whose size follows its sides; a network or top-level key) or anything fails: the
    caller then validates the whole scenario, which gives the same result or the canonical error."""
    fb = sweep.__dict__.get("_fixed_base")
    if fb is None:
        fixed = _overrides(sweep, {})
        try:
            fb = (load_scenario(sweep.__dict__["_base_data"], fixed, via="sweep"), fixed, {})
        except ScenarioError:
            fb = (None, fixed, {})
        sweep.__dict__["_fixed_base"] = fb
    sc0, fixed, dumps = fb
    if sc0 is None or sc0.network.kind == "lattice":
        return None
    sections: dict[str, dict] = {}
    for k, v in over.items():
        if k in fixed and fixed[k] == v:
            continue
        section, dot, key = k.partition(".")
        if not dot or "." in key or section == "network" or not isinstance(getattr(sc0, section, None), BaseModel):
            return None
        sections.setdefault(section, {})[key] = v
    try:
        update = {}
        for section, vals in sections.items():
            if section not in dumps:
                dumps[section] = getattr(sc0, section).model_dump()
            update[section] = type(getattr(sc0, section)).model_validate({**dumps[section], **vals})
        sc = sc0.model_copy(update=update)
        sc._check_trial()
        sc._check_network()
    except Exception:  # noqa: BLE001 - the whole scenario's validation says what is wrong
        return None
    return sc


def point_scenario(sweep: Sweep, values: Mapping[str, Any], whole: bool = False):
    """The resolved scenario of one point (raises :class:`SweepError`). The parent checks every point
    this way before a sweep starts (:func:`_point_by_sections` where it applies, unless ``whole``)."""
    base = sweep.__dict__.get("_base_data")
    if base is None:  # dumped once: a point copies only the sections its parameters change
        base = sweep.__dict__["_base_data"] = sweep.base.model_dump()
    over = _overrides(sweep, values)
    if not whole:
        sc = _point_by_sections(sweep, over)
        if sc is not None:
            return sc
    try:
        return load_scenario(base, over, via="sweep")
    except ScenarioError as e:
        msg = str(e)
        for prefix in ("sweep: ", "scenario: "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        where = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise SweepError(f"{sweep.source}: parameters: {msg}" + (f" (at {where})" if where else "")) from None
