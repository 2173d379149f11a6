"""Parameter sweeps: grammar, expansion, seeds, dispatch, resume, consolidation.

A sweep file names a base scenario and the parameters to vary::

    name: checkins-x-isolation
    scenario: isolation            # name in scenarios/ or a path (relative to this file)
    seed: 2024                     # root of the SeedSequence tree of run seeds
    replicates: 5
    steps: 240                     # optional: overrides the scenario's
    sampling: grid                 # grid (default) | latin | saltelli | morris
    parameters:
      checkins.prob: [0.0, 0.25, 0.5, 1.0]     # a list expands (grid)
      isolation.duration: [30, 90, 180]
      population.size: 200                     # a scalar stays fixed
    metrics: [total_relapses, final_abstinent, mean_helpers]

This is the grammar of Agents.jl's ``paramscan``: with ``sampling: grid``
every list expands into a full factorial grid and every scalar is fixed. With
``sampling: latin`` (Latin hypercube, ``samples`` points) or ``sampling:
saltelli`` (Saltelli's scheme for Sobol indices, ``samples`` = N base
samples, a power of two, N*(D+2) points) or ``sampling: morris`` (Morris
elementary effects, ``samples`` = r trajectories of D+1 points each, on a
grid of ``levels`` values per range, default 4, an even number; see
:func:`morris_design`) a parameter given as ``{low: A, high: B}`` is sampled
in [A, B] (integer keys are rounded).

Two sweep-only keys describe a donation game, ``donation.b_over_c`` (benefit
over cost) and ``donation.cost`` (default 1): they set ``game.R = b - c,
game.S = -c, game.T = b, game.P = 0``.

Reproducibility (after Axelrod): every run's seed is fixed in the parent
before anything is dispatched, from ``numpy.random.SeedSequence(seed)``.
By default (``common_seeds: true``) replicate r has the same seed at every
point (common random numbers: points differ only by their parameters);
``common_seeds: false`` spawns an independent subtree per point. Which
worker runs what never matters, so 1 worker, 8 workers and a Dask cluster
give the same ``runs.parquet``.

Nothing is lost: the parent writes finished runs atomically in batches to
``DIR/parts/`` (every 30 s or 5,000 runs, and when the sweep stops; a kill loses
at most that much work, which the resume runs again); a rerun of the same command reads them, skips finished runs
and dispatches the rest; at the end the parts are consolidated into
``DIR/runs.parquet`` (sorted by ``run_id``) and ``DIR/timings.parquet``
(wall time per run, which is not reproducible and so kept apart). A run that
raises is recorded with its ``error`` and the sweep goes on. ``DIR/sweep.json``
holds the resolved sweep and its fingerprint; a sweep file changed in what
decides its runs is refused, while its name, description and metrics may change
and its replicates may grow (:data:`RESUME_FREE`, :func:`check_folder`; the
added replicates get ids as adaptive replication's do, below). A write that
fails on the machine's side (a full disk) stops the sweep with one line; what
was saved stays, and the same command finishes it.
Runs go to the workers in chunks (several runs a task, sized from the run times
seen); with ``timeseries: true`` the workers write each chunk's series to
``DIR/timeseries/`` themselves, every row carrying run_id and the swept parameters.

Adaptive replication (``until_ci: {metric: NAME, width: W}`` with a cap
``max_replicates: M``, or ``mutualaid sweep --until-ci NAME=W
--max-replicates M``): after the planned replicates, every point whose 95 %
t-interval of the metric (high minus low, over its finished runs) is wider
than W gets more replicates, in rounds, until each point is narrower or has M
replicates (see :func:`extra_replicates`; an interval of width 0 counts from
three finished runs: two equal counts are common). Replicate r of point p has the seed
it would have had with ``replicates: r + 1`` and ``run_id = r * points + p``
(for r >= the replicates the folder was started with; those keep ``point *
replicates + replicate``). Each round is decided from the results of the rounds before it
only, and the results do not depend on the workers, so the added runs are the
same on 1 worker, 8 or a cluster, and a rerun of the same command (after a
kill, or once every point is satisfied) plans the same runs and runs only the
missing ones. The two keys change no run, so they are not part of the
fingerprint: they may differ between invocations into one folder.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import json
import math
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np

from sim.core.scenarios import ScenarioError, all_keys, schema_key_set

#: top-level keys of a sweep file
SWEEP_KEYS = ("name", "description", "scenario", "seed", "replicates", "steps", "engine", "sampling",
              "samples", "levels", "parameters", "metrics", "timeseries", "common_seeds", "until_ci",
              "max_replicates")
SAMPLINGS = ("grid", "latin", "saltelli", "morris")
#: sampled designs: a parameter is a range {low, high}
SAMPLED = ("latin", "saltelli", "morris")
#: Morris grid levels when a sweep file names none (Saltelli & al. 2008 recommend 4 with about 10 trajectories)
MORRIS_LEVELS = 4
#: sweep-only keys of a donation game (benefit b, cost c): R = b - c, S = -c, T = b, P = 0
DONATION_KEYS = ("donation.b_over_c", "donation.cost")
#: metrics summarised when a sweep file names none
DEFAULT_METRICS = ("mean_helpers", "mean_stress", "mean_using", "total_relapses", "final_abstinent")
#: a batch of finished runs is written at least this often (seconds; a kill loses at most this much
#: work, which a resume runs again) ...
FLUSH_SECONDS = 30.0
#: environment variable that sets another interval (seconds)
FLUSH_ENV = "MUTUALAID_FLUSH_SECONDS"
#: ... or when it holds this many runs ...
FLUSH_RUNS = 5000
#: ... or this many rows of time series
FLUSH_SERIES_ROWS = 500_000
#: more part files than this are merged into one
COMPACT_PARTS = 32
SWEEP_FILE = "sweep.json"
#: sweep keys that may change when a folder is resumed: they change no run already recorded (the metrics
#: are what a report summarises; every run records every statistic). More replicates add runs; fewer are
#: refused, since the folder would hold runs the sweep no longer asks for.
RESUME_FREE = ("name", "description", "metrics", "replicates")
#: Most runs (points x replicates) one sweep may hold: checked before any point is built.
MAX_RUNS = 10_000_000
PARTS_DIR = "parts"


class SweepError(ScenarioError):
    """Bad sweep input: one line for the user (exit code 2)."""


_CODE_ID: str | None = None
#: subpackages of ``sim`` that hold shipped files, mapped from the repository's top-level folders
SHIPPED_FOLDERS = ("scenarios", "dashboards", "docs")


def code_id() -> str:
    """The code's identity: the package version and a hash of every ``sim/**/*.py`` (path and bytes) but
    the shipped folders' (``sim.scenarios``, ``sim.dashboards``, ``sim.docs``: not the simulation's code,
    and outside ``sim/`` in a checkout), so a checkout and an installed wheel of one commit agree.

    It is part of a sweep's fingerprint (a resume on changed code is refused) and of every row, and a
    worker whose code differs does not run the sweep's tasks.
    """
    global _CODE_ID
    if _CODE_ID is None:
        from sim import __version__

        root = Path(__file__).resolve().parent.parent  # the package's folder, sim/
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            if f.relative_to(root).parts[0] in SHIPPED_FOLDERS:
                continue
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _CODE_ID = f"{__version__}+{h.hexdigest()[:12]}"
    return _CODE_ID


# ----------------------------------------------------------------------------- the sweep file


def stat_columns() -> list[str]:
    """Every per-run summary column: ``mean_<m>``, ``final_<m>``, ``total_<count>``."""
    from sim.experiments.stats import METRICS, TOTALS

    return [f"mean_{m}" for m in METRICS] + [f"final_{m}" for m in METRICS] + [f"total_{m}" for m in TOTALS]


def _metric_column(name: Any, source: str) -> str:
    from sim.experiments.stats import METRICS, TOTALS

    cols = stat_columns()
    if isinstance(name, str) and name in cols:
        return name
    if isinstance(name, str) and name in METRICS:
        return f"total_{name}" if name in TOTALS else f"mean_{name}"
    close = difflib.get_close_matches(str(name), cols + list(METRICS), n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise SweepError(f"{source}: metrics: unknown metric {name!r}{hint}; allowed: a metric such as 'relapses' "
                     f"or a summary column mean_<metric>, final_<metric>, total_<count metric>")


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


@functools.lru_cache(maxsize=None)
def _field_type(key: str):
    """The Python type of a dotted scenario key (int, float, bool, str, ...)."""
    from sim.core.scenarios import field_of

    ann = field_of(key).annotation
    return ann if isinstance(ann, type) else None


@dataclass
class Sweep:
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

    def seeds(self) -> np.ndarray:
        """Seed of every run, shape (points, replicates), fixed here in the parent."""
        root = np.random.SeedSequence(self.seed)
        if self.common_seeds:
            row = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in root.spawn(self.replicates)]
            return np.tile(np.array(row, dtype=np.int64), (len(self.points), 1))
        out = np.empty((len(self.points), self.replicates), dtype=np.int64)
        for p, child in enumerate(root.spawn(len(self.points))):
            out[p] = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in child.spawn(self.replicates)]
        return out

    def seed_of(self, point: int, replicate: int) -> int:
        """The seed of one run by the rule of :meth:`seeds`, for any replicate (also beyond ``replicates``):
        child ``replicate`` of the root (common seeds) or of the point's child (``common_seeds: false``)."""
        key = (replicate,) if self.common_seeds else (point, replicate)
        ss = np.random.SeedSequence(self.seed, spawn_key=key)
        return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def run_id(self, point: int, replicate: int) -> int:
        """``point * R + replicate`` for the replicates the folder was started with (``R``, see
        :attr:`id_replicates`); ``replicate * points + point`` for one added later (adaptive replication,
        or more ``replicates`` on a resume): unique, and independent of when it was added."""
        planned = self.id_replicates or self.replicates
        if replicate < planned:
            return point * planned + replicate
        return replicate * len(self.points) + point

    def tasks(self) -> list[dict]:
        """One task per planned run: ``{run_id, point, replicate, seed}``. What a point runs (its scenario)
        is sent with each chunk of tasks (:meth:`pack`), so a sweep of 100,000 points stays small here."""
        seeds = self.seeds()
        return [{"run_id": self.run_id(p, r), "point": p, "replicate": r, "seed": int(seeds[p, r])}
                for p in range(len(self.points)) for r in range(self.replicates)]

    def extra_tasks(self, pairs: Iterable[tuple[int, int]]) -> list[dict]:
        """Tasks of runs ``(point, replicate)`` added by adaptive replication, seeds by :meth:`seed_of`."""
        return [{"run_id": self.run_id(p, r), "point": p, "replicate": r, "seed": self.seed_of(p, r)}
                for p, r in pairs]

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
    from pydantic import BaseModel

    from sim.core.scenarios import load_scenario

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
    from sim.core.scenarios import load_scenario

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


def sweep_names() -> list[str]:
    """Names of the sweeps shipped in ``scenarios/sweeps/`` (without ``.yaml``)."""
    from sim.core.shipped import SWEEP_DIR

    return sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))


def resolve_sweep_path(spec: str | os.PathLike) -> Path:
    """A path to a sweep file, or the name of one shipped in ``scenarios/sweeps/`` (``checkins-x-isolation``)."""
    from sim.core.shipped import SWEEP_DIR

    p = Path(spec)
    if p.is_file() or p.suffix in (".yaml", ".yml") or len(p.parts) != 1:
        return p
    named = SWEEP_DIR / f"{p.name}.yaml"
    return named if named.is_file() else p


def read_sweep_file(path: str | os.PathLike) -> dict:
    from sim.core.scenarios import load_yaml_file

    p = Path(path)
    if not p.is_file():
        raise SweepError(f"sweep file not found: {path} (a path to a .yaml file, or a shipped sweep: "
                         f"{', '.join(sweep_names())})")
    try:
        data = load_yaml_file(p, "sweep")
    except ScenarioError as e:
        raise SweepError(str(e)) from None
    if data is None:
        raise SweepError(f"{path}: the file is empty (or only comments): a sweep needs at least 'scenario' "
                         f"(and 'parameters' to vary; without them it runs the scenario's replicates)")
    if not isinstance(data, dict):
        raise SweepError(f"{path}: a sweep file must be a mapping of keys, got {type(data).__name__}")
    return data


def _int(data: dict, key: str, source: str, default, low: int):
    v = data.get(key, default)
    if v is None and default is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise SweepError(f"{source}: {key} = {v!r}: must be an integer >= {low}")
    return v


def _bool(data: dict, key: str, source: str, default: bool) -> bool:
    v = data.get(key, default)
    if not isinstance(v, bool):
        raise SweepError(f"{source}: {key} = {v!r}: must be true or false")
    return v


def load_sweep(spec: str | os.PathLike | Mapping, source: str | None = None) -> Sweep:
    """Read and validate a sweep file (or mapping); expand its points. Raises :class:`SweepError`."""
    from sim.engines import resolve_engine
    from sim.core.scenarios import _suggest, load_scenario

    if isinstance(spec, Mapping):
        data, src, here = dict(spec), source or "sweep", Path.cwd()
    else:
        spec = resolve_sweep_path(spec)
        data, src, here = read_sweep_file(spec), str(spec), Path(spec).resolve().parent
    for k in data:
        if k not in SWEEP_KEYS:
            close = difflib.get_close_matches(str(k), SWEEP_KEYS, n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SweepError(f"{src}: unknown key '{k}'{hint}; allowed: {', '.join(SWEEP_KEYS)}")
    # base scenario: a name in scenarios/ or a path relative to the sweep file
    scn = data.get("scenario")
    if not isinstance(scn, str) or not scn.strip():
        raise SweepError(f"{src}: scenario = {scn!r}: must name the base scenario (e.g. baseline) or a YAML path")
    cand = Path(scn)
    if not cand.is_absolute() and (here / cand).is_file():
        cand = here / cand
    try:
        base = load_scenario(cand if cand.is_file() else scn)
    except ScenarioError as e:
        raise SweepError(f"{src}: scenario: {e}") from None
    name = data.get("name", Path(src).stem if not isinstance(spec, Mapping) else "sweep")
    if not isinstance(name, str):
        raise SweepError(f"{src}: name = {name!r}: must be a string")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise SweepError(f"{src}: description = {desc!r}: must be a string")
    seed = _int(data, "seed", src, int(base.seed), 0)
    if seed > 2**63 - 1:
        raise SweepError(f"{src}: seed = {seed}: must be < 2**63")
    replicates = _int(data, "replicates", src, 1, 1)
    steps = _int(data, "steps", src, None, 0)
    engine = data.get("engine")
    if engine is not None and engine not in ("auto", "agents", "kernel"):
        raise SweepError(f"{src}: engine = {engine!r}: allowed: 'auto', 'agents' or 'kernel'")
    sampling = data.get("sampling", "grid")
    if sampling not in SAMPLINGS:
        raise SweepError(f"{src}: sampling = {sampling!r}: allowed: {', '.join(SAMPLINGS)}")
    samples = _int(data, "samples", src, None, 1)
    if sampling == "grid" and samples is not None:
        raise SweepError(f"{src}: samples = {samples}: only with sampling: latin, saltelli or morris (a grid has "
                         f"its lists)")
    if sampling != "grid" and samples is None:
        least = 2 if sampling == "morris" else 1
        raise SweepError(f"{src}: samples: required with sampling: {sampling} (an integer >= {least}"
                         + (", the number of trajectories)" if sampling == "morris" else ")"))
    if sampling == "saltelli" and samples & (samples - 1):
        raise SweepError(f"{src}: samples = {samples}: Saltelli sampling needs a power of two (e.g. 64, 128, 256)")
    if sampling == "morris" and samples < 2:
        raise SweepError(f"{src}: samples = {samples}: Morris screening needs at least 2 trajectories (sigma is "
                         f"a spread over them; 10 to 50 is usual)")
    levels = data.get("levels")
    if levels is not None and sampling != "morris":
        raise SweepError(f"{src}: levels = {levels!r}: only with sampling: morris (the number of grid levels)")
    if sampling == "morris":
        levels = MORRIS_LEVELS if levels is None else levels
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
            raise SweepError(f"{src}: levels = {levels!r}: must be an even integer >= 2 (Morris grid levels, "
                             f"e.g. 4)")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise SweepError(f"{src}: parameters = {params!r}: must be a mapping of scenario keys to values")
    keys = set(all_keys())
    fixed: dict[str, Any] = {}
    swept: dict[str, Any] = {}
    game = sorted(k for k in params if k in ("game.R", "game.S", "game.T", "game.P"))
    if game and any(k in params for k in DONATION_KEYS):  # the donation keys set R, S, T and P
        raise SweepError(f"{src}: parameters: {game[0]} and {next(k for k in DONATION_KEYS if k in params)} both "
                         f"set the game's payoffs (a donation game sets R, S, T and P from b/c and the cost); "
                         f"give one")
    for k, v in params.items():
        where = f"{src}: parameters: {k}"
        if k not in keys and k not in DONATION_KEYS:
            if k in ("seed", "steps"):
                raise SweepError(f"{src}: parameters: '{k}' is set at the top of a sweep file, not swept")
            hint = _suggest(str(k)) or (" (did you mean 'donation.b_over_c'?)" if "donation" in str(k) else "")
            raise SweepError(f"{src}: parameters: unknown key '{k}'{hint}")
        if k in ("seed", "steps", "name", "description"):
            raise SweepError(f"{src}: parameters: '{k}' cannot be swept (seed, steps: top-level keys of the sweep)")
        if k in DONATION_KEYS:  # a benefit and a cost: positive numbers (the game's R, S, T come from them)
            given = v if isinstance(v, list) else [v.get("high")] if isinstance(v, dict) else [v]
            bad = [x for x in given if isinstance(x, bool) or not isinstance(x, (int, float)) or not x > 0]
            if isinstance(v, dict) and isinstance(v.get("low"), (int, float)) and v["low"] < 0:
                bad.insert(0, v["low"])  # a range may start at 0 (never drawn), not below
            if bad:
                raise SweepError(f"{where} = {v!r}: {bad[0]!r} is not allowed: must be a number > 0 "
                                 f"({'benefit over cost' if k.endswith('b_over_c') else 'the cost of helping'})")
        if isinstance(v, list):
            if sampling != "grid":
                raise SweepError(f"{where} = {v!r}: a list expands only with sampling: grid; "
                                 f"give a range {{low: A, high: B}} or a single value")
            if not v:
                raise SweepError(f"{where} = []: a list needs at least one value")
            if not all(_is_scalar(x) for x in v):
                raise SweepError(f"{where} = {v!r}: list items must be single values")
            if len({json.dumps(x) for x in v}) != len(v):
                raise SweepError(f"{where} = {v!r}: values repeat")
            swept[k] = list(v)
        elif isinstance(v, dict):
            if sampling == "grid":
                raise SweepError(f"{where} = {v!r}: a range {{low, high}} needs sampling: latin, saltelli or "
                                 f"morris; with a grid give a list of values")
            if set(v) != {"low", "high"}:
                raise SweepError(f"{where} = {v!r}: a range has exactly the keys low and high")
            lo, hi = v["low"], v["high"]
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)) or not lo < hi:
                raise SweepError(f"{where} = {v!r}: low and high must be numbers with low < high")
            typ = _field_type(k) if k in keys else float
            if typ not in (int, float):
                raise SweepError(f"{where}: only numeric keys can be sampled from a range")
            if sampling == "morris" and typ is int and _morris_step(levels) * (hi - lo) < 1:
                raise SweepError(f"{where} = {v!r}: an integer key needs Morris steps of at least 1, here "
                                 f"{_morris_step(levels) * (hi - lo):.3g} ({levels} levels: a step is "
                                 f"{_morris_step(levels):.3g} of the range); widen the range or use fewer levels")
            swept[k] = (lo, hi)
        elif _is_scalar(v):
            fixed[k] = v
        else:
            raise SweepError(f"{where} = {v!r}: must be a value, a list of values or a range {{low, high}}")
    if sampling != "grid" and not swept:
        raise SweepError(f"{src}: parameters: sampling: {sampling} needs at least one range {{low: A, high: B}}")
    if sampling == "saltelli" and len(swept) < 2:
        raise SweepError(f"{src}: parameters: Sobol indices need at least two ranges")
    raw_metrics = data.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise SweepError(f"{src}: metrics = {raw_metrics!r}: must be a non-empty list of metric names")
    metrics = list(dict.fromkeys(_metric_column(m, src) for m in raw_metrics))
    until = data.get("until_ci")
    cap = data.get("max_replicates")
    if until is not None and not (isinstance(until, dict) and set(until) == {"metric", "width"}):
        raise SweepError(f"{src}: until_ci = {until!r}: must be a mapping {{metric: NAME, width: W}} (add "
                         f"replicates until each point's 95 % interval of NAME is narrower than W)")
    if cap is not None and until is None:
        raise SweepError(f"{src}: max_replicates = {cap!r}: only with until_ci {{metric: NAME, width: W}}")
    sweep = Sweep(source=src, name=name, description=desc, scenario_source=scn, base=base, seed=seed,
                  replicates=replicates, steps=steps, engine=engine, sampling=sampling, samples=samples,
                  fixed=fixed, swept=swept, metrics=metrics,
                  timeseries=_bool(data, "timeseries", src, False),
                  common_seeds=_bool(data, "common_seeds", src, True),
                  levels=levels if sampling == "morris" else None)
    n_points = (math.prod(len(v) for v in swept.values()) if sampling == "grid" else
                samples * (len(swept) + 2) if sampling == "saltelli" else
                samples * (len(swept) + 1) if sampling == "morris" else samples)
    if n_points * replicates > MAX_RUNS:
        raise SweepError(f"{src}: {n_points:,} points x {replicates:,} replicates = {n_points * replicates:,} runs is "
                         f"more than the {MAX_RUNS:,} a sweep may hold; split it into several sweeps")
    if until is not None:
        set_until_ci(sweep, until["metric"], until["width"], cap, src, n_points=n_points)
    sweep.points = expand(sweep)
    for values in sweep.points:
        sc = point_scenario(sweep, values)
        if (engine or sc.engine) == "agents":  # the Mesa engine's cap, per point, as `run` applies it
            try:
                resolve_engine(sc, "agents")
            except ScenarioError as e:
                where = ", ".join(f"{k}={v!r}" for k, v in values.items())
                raise SweepError(f"{src}: {e}" + (f" (at {where})" if where else "")) from None
    return sweep


def set_until_ci(sweep: Sweep, metric: Any, width: Any, max_replicates: Any, source: str,
                 n_points: int | None = None) -> Sweep:
    """Ask for adaptive replication (validated; raises :class:`SweepError`): after the planned replicates, add
    replicates to each point whose 95 % t-interval of ``metric`` is wider than ``width``, up to
    ``max_replicates`` per point. ``source`` names where the values came from (the file, or the option)."""
    try:
        column = _metric_column(metric, source)
    except SweepError as e:
        raise SweepError(str(e).replace(f"{source}: metrics:", f"{source}: until_ci: metric:", 1)) from None
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
        raise SweepError(f"{source}: until_ci: width = {width!r}: must be a number > 0 (the widest 95 % interval "
                         f"of {column} a point may keep)")
    cap_name = "--max-replicates" if source.startswith("--") else "max_replicates"
    if max_replicates is None:
        raise SweepError(f"{source}: {cap_name}: required with until_ci (the most replicates a point may get, "
                         f"an integer >= replicates = {sweep.replicates})")
    if (isinstance(max_replicates, bool) or not isinstance(max_replicates, int)
            or max_replicates < max(sweep.replicates, 2)):
        raise SweepError(f"{source}: {cap_name} = {max_replicates!r}: must be an integer >= "
                         f"{max(sweep.replicates, 2)} (replicates = {sweep.replicates}; an interval needs 2 runs)")
    n_points = len(sweep.points) if n_points is None else n_points
    if n_points * max_replicates > MAX_RUNS:
        raise SweepError(f"{source}: {n_points:,} points x {cap_name} {max_replicates:,} = "
                         f"{n_points * max_replicates:,} runs is more than the {MAX_RUNS:,} a sweep may hold")
    sweep.until_ci = {"metric": column, "width": float(width), "max_replicates": int(max_replicates)}
    return sweep


def until_ci_option(sweep: Sweep, text: str | None, max_replicates: int | None) -> Sweep:
    """``--until-ci METRIC=WIDTH`` and ``--max-replicates N`` on top of the sweep file's (raises
    :class:`SweepError`)."""
    old = sweep.until_ci or {}
    if text is None:
        if not old:
            raise SweepError(f"--max-replicates {max_replicates}: only with --until-ci METRIC=WIDTH (or until_ci "
                             f"in the sweep file)")
        metric, width = old["metric"], old["width"]
    else:
        metric, sep, raw = text.partition("=")
        try:
            width = float(raw)
        except ValueError:
            width = None
        if not sep or not metric.strip() or width is None:
            raise SweepError(f"--until-ci {text!r}: expected METRIC=WIDTH, e.g. total_relapses=2.5")
        metric = metric.strip()
    cap = max_replicates if max_replicates is not None else old.get("max_replicates")
    return set_until_ci(sweep, metric, width, cap, "--until-ci" if text is not None else "--max-replicates")


def adaptive_summary(ad: dict) -> str:
    """One line on adaptive replication: how many points reached the width, how many hit the cap."""
    line = (f"until_ci {ad['metric']} narrower than {ad['width']:g}: {ad['reached']} of {ad['points']} points "
            f"reached it, {ad['capped']} hit the cap of {ad['max_replicates']} replicates; "
            f"{ad['extra_runs']} runs added in {ad['rounds']} rounds")
    if ad.get("no_finished_run"):
        line += f"; {ad['no_finished_run']} points have no finished run (not replicated further)"
    if not ad.get("complete", True):
        line += " (stopped early: rerun the same command)"
    return line


def _morris_step(levels: int) -> float:
    """The step of a Morris trajectory as a share of a range: ``levels / (2 (levels - 1))`` (SALib's delta)."""
    return levels / (2 * (levels - 1))


def morris_design(problem: dict, trajectories: int, levels: int, seed: int) -> np.ndarray:
    """Morris's design (SALib, no trajectory optimisation): ``trajectories * (D + 1)`` rows, one parameter a row
    changing by :func:`_morris_step` of its range from the row before within each trajectory of D + 1 rows.
    The same arguments give the same design."""
    from SALib.sample import morris

    return morris.sample(problem, trajectories, num_levels=levels, seed=seed)


def _cast(key: str, v: Any) -> Any:
    typ = _field_type(key) if key in schema_key_set() else float
    if typ is int and isinstance(v, float):
        return int(round(v))
    return v


def expand(sweep: Sweep) -> list[dict[str, Any]]:
    """The points of a sweep, each a mapping of swept key -> value."""
    names = list(sweep.swept)
    if sweep.sampling == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*sweep.swept.values())]
    ss = np.random.SeedSequence([sweep.seed, 0x5EED])  # the design's own stream, apart from run seeds
    if sweep.sampling == "latin":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(ss)).random(sweep.samples)
        lo = np.array([sweep.swept[k][0] for k in names], float)
        hi = np.array([sweep.swept[k][1] for k in names], float)
        x = qmc.scale(unit, lo, hi)
    elif sweep.sampling == "morris":
        x = morris_design(sweep.problem(), sweep.samples, sweep.levels, seed=int(ss.generate_state(1)[0] >> 1))
        sweep.design = x
    else:
        from SALib.sample import sobol

        x = sobol.sample(sweep.problem(), sweep.samples, calc_second_order=False, scramble=True,
                         seed=int(ss.generate_state(1)[0] >> 1))
    return [{k: _cast(k, float(row[i])) for i, k in enumerate(names)} for row in x]


# ----------------------------------------------------------------------------- one run (in a worker)


#: Fault injection for the tests (``MUTUALAID_FAULT=crash:<run_id>``: that run ends its worker process,
#: as the out-of-memory killer would). Read in the worker.
FAULT_ENV = "MUTUALAID_FAULT"


def _task_scenario(task: dict, ctx: Mapping, cache: dict):
    """The validated scenario of a task: its own ``scenario`` data, or the chunk's base scenario with the
    task's ``over`` (validated once per point in a chunk; replicates differ only by their seed)."""
    from sim.core.schema import Scenario

    if task.get("scenario") is not None:
        return Scenario.model_validate(task["scenario"])
    from sim.core.scenarios import load_scenario

    p = task["point"]
    if p not in cache:
        cache.clear()  # tasks come point by point: keep one
        cache[p] = load_scenario(ctx["base"], task["over"], via="sweep")
    return cache[p].model_copy(update={"seed": int(task["seed"])})


def _run_one(task: dict, ctx: Mapping, cache: dict) -> dict:
    import traceback

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task["run_id"], "point": task["point"], "replicate": task["replicate"],
                           "seed": task["seed"], "error": None, "code": code_id()}
    want = task.get("code") or ctx.get("code")
    if want and want != code_id():
        return {"row": row, "timeseries": None,
                "infra": f"worker {os.uname().nodename}:{os.getpid()} runs code {code_id()}, the sweep {want}"}
    if os.environ.get(FAULT_ENV) == f"crash:{task['run_id']}":
        os._exit(137)
    ts = None
    engine = task.get("engine") or ctx.get("engine")
    timeseries = task.get("timeseries", ctx.get("timeseries"))
    try:
        from sim.engines import resolve_engine
        from sim.engines import make_model
        from sim.experiments.stats import run_stats, run_stats_rows

        sc = _task_scenario(task, ctx, cache)
        engine = resolve_engine(sc, engine) if task.get("engine") is None else engine
        model = make_model(sc, engine)
        for _ in range(sc.steps):
            model.step()
        rows = getattr(model, "rows", None)
        if timeseries or rows is None:  # the table is needed (or the Mesa engine's collector)
            ts = model.metrics_frame()
            row.update(run_stats(ts))
            ts = ts if timeseries else None
        else:  # the statistics straight from the rows: no DataFrame per run
            row.update(run_stats_rows(rows))
    except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
        row["error"] = f"{type(e).__name__}: {e}".replace("\n", " ")[:2000]
        if os.environ.get("MUTUALAID_DEBUG"):
            traceback.print_exc()
    row["engine"] = engine
    row["wall_time_s"] = time.perf_counter() - t0
    row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return {"row": row, "timeseries": ts}


def _with_run_columns(ts, task: dict):
    """A run's time series with its id, swept parameters, replicate and seed in front (one dataset)."""
    ts = ts.copy()
    front = {"run_id": task["run_id"], **(task.get("params") or {}), "replicate": task["replicate"],
             "seed": task["seed"]}
    for k, (name, v) in enumerate(front.items()):
        ts.insert(k, name, v)
    return ts


def run_chunk(chunk: dict, cache: Optional[dict] = None) -> list[dict]:
    """Run a chunk of tasks one after another in this worker; never raises (see :func:`run_task`).

    With ``ctx["ts_dir"]`` (time series kept) and that folder visible here (the same machine or a shared
    file system: its sweep.json is there), the worker writes the chunk's time series itself, one file per
    chunk, each row carrying run_id and the swept parameters; otherwise they go back to the sweep.
    """
    from sim.core import threads

    # Parallelism comes from running many runs at once: one numba thread per
    # run keeps workers from fighting over cores (results do not depend on it).
    threads.choose(1)
    ctx = chunk.get("ctx") or {}
    cache = {} if cache is None else cache
    out = []
    for task in chunk["tasks"]:
        res = _run_one(task, ctx, cache)
        if res["timeseries"] is not None and task.get("params") is not None:
            res["timeseries"] = _with_run_columns(res["timeseries"], task)
        out.append(res)
    ts_dir = ctx.get("ts_dir")
    frames = [r["timeseries"] for r in out if r["timeseries"] is not None]
    if frames and ts_dir and (Path(ts_dir).parent / SWEEP_FILE).is_file():
        import pandas as pd

        first = out[0]["row"]["run_id"]
        _write_parquet_atomic(pd.concat(frames, ignore_index=True),
                              Path(ts_dir) / f"ts-{first:08d}-{secrets.token_hex(4)}.parquet")
        for r in out:
            if r["timeseries"] is not None:
                r["timeseries"] = None
                r["ts_written"] = True
    return out


def run_task(task: dict) -> dict:
    """Run one task; never raises: a model failure comes back as ``error`` (a result). A worker on other
    code returns ``infra`` instead: not a result, the run stays to do. Runs in a worker process."""
    return run_chunk({"ctx": None, "tasks": [task]})[0]


def _watch_parent(ppid: int) -> None:  # pragma: no cover - runs in workers
    """Exit this worker when the sweep process that started it is gone (SIGKILL leaves orphans otherwise)."""
    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != ppid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker_init(ppid: int) -> None:  # pragma: no cover - runs in workers
    _watch_parent(ppid)
    import sim.runner  # noqa: F401  - pay the imports once per worker, not per run


# ----------------------------------------------------------------------------- the output folder


def _write_parquet_atomic(df, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        df.to_parquet(tmp, index=False, engine="pyarrow")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        from sim.output import naming

        raise naming(path, e) from e
    finally:
        if tmp.exists():
            tmp.unlink()


def _sweep_record(sweep: Sweep) -> dict:
    """What sweep.json holds: the fingerprint, what a report reads, and the resolved sweep."""
    return {"fingerprint": sweep.fingerprint(), "source": sweep.source, "parameters": sweep.parameters,
            "sampling": sweep.sampling, "metrics": sweep.metrics,
            "problem": sweep.problem() if sweep.sampling != "grid" else None,
            "n_points": len(sweep.points), "replicates": sweep.replicates,
            "id_replicates": sweep.id_replicates or sweep.replicates,
            "spec": _jsonable(sweep.spec()),
            **({"levels": sweep.levels, "design": sweep.design.tolist()} if sweep.sampling == "morris" else {})}


def check_folder(sweep: Sweep, out: Path) -> None:
    """Refuse a folder that holds a different sweep; record this one in sweep.json.

    On a resume only :data:`RESUME_FREE` keys may differ from the recorded sweep. More replicates are
    accepted (the planned runs keep their ids: :attr:`Sweep.id_replicates` is read from the folder, so
    only the added replicates run); fewer are refused. sweep.json is then rewritten with the new name,
    description, metrics and replicates (atomically), so a report reads what was asked last."""
    from sim.output import StagedFiles

    f = out / SWEEP_FILE
    if f.is_file():
        try:
            old = json.loads(f.read_text(encoding="utf-8"))
            old_spec = old["spec"]
            old_reps = int(old["replicates"])
            id_reps = int(old.get("id_replicates", old_reps))
        except (OSError, ValueError, KeyError, TypeError):
            raise SweepError(f"--out {out}: {SWEEP_FILE} is unreadable; use another folder") from None
        new_spec = _jsonable(sweep.run_spec())
        changed = sorted(k for k in set(new_spec) | set(old_spec)
                         if k not in RESUME_FREE and old_spec.get(k) != new_spec.get(k))
        if changed:
            raise SweepError(f"--out {out}: holds results of a different sweep (changed: {', '.join(changed)}); "
                             f"use another --out folder, or restore the sweep file to resume")
        if sweep.replicates < old_reps:
            raise SweepError(f"--out {out}: replicates = {sweep.replicates} is fewer than the {old_reps} this "
                             f"folder was run with; replicates can be added on a resume, not taken away; use "
                             f"another --out folder")
        sweep.id_replicates = id_reps
        record = _sweep_record(sweep)
        if _jsonable(record) != old:
            with StagedFiles(out) as files:
                files.write_json(SWEEP_FILE, record)
        return
    if out.exists() and any(out.glob("*.parquet")) or (out / PARTS_DIR).exists():
        raise SweepError(f"--out {out}: holds results but no {SWEEP_FILE}; use an empty or new folder")
    sweep.id_replicates = sweep.replicates
    with StagedFiles(out) as files:
        files.write_json(SWEEP_FILE, _sweep_record(sweep))


def _jsonable(v):
    return json.loads(json.dumps(v, default=str))


def read_parts(out: Path, files: Optional[list] = None):
    """Every finished run recorded in ``out`` (runs.parquet, timings.parquet and parts/), one row per run_id.
    With ``files`` (a list), the part files read are appended to it."""
    import pandas as pd

    frames = []
    runs, timings = out / "runs.parquet", out / "timings.parquet"
    if runs.is_file():
        df = pd.read_parquet(runs)
        if timings.is_file():
            df = df.merge(pd.read_parquet(timings), on="run_id", how="left")
        frames.append(df)
    for p in sorted((out / PARTS_DIR).glob("*.parquet")) if (out / PARTS_DIR).is_dir() else []:
        frames.append(pd.read_parquet(p))
        if files is not None:
            files.append(p)
    if not frames:
        return None
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    return df.drop_duplicates("run_id", keep="first").sort_values("run_id", kind="stable").reset_index(drop=True)


#: columns of timings.parquet (not reproducible, so not in runs.parquet)
TIMING_COLUMNS = ("wall_time_s", "worker")


def consolidate(out: Path, sweep: Sweep) -> "Any":
    """Write runs.parquet and timings.parquet from everything recorded, then remove the parts it read (and
    only those). With time series, the dataset is made to hold each finished run once. Returns runs."""
    read: list[Path] = []
    df = read_parts(out, read)
    if df is None:
        return None
    cols = ["run_id", "point", *sweep.parameters, "replicate", "seed", "engine", "code", "error", *stat_columns()]
    for c in cols:
        if c not in df:
            df[c] = np.nan
    df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
    runs = df[cols]
    timings = df[["run_id", *[c for c in TIMING_COLUMNS if c in df]]]
    _write_parquet_atomic(timings, out / "timings.parquet")
    _write_parquet_atomic(runs, out / "runs.parquet")
    for p in read:
        p.unlink(missing_ok=True)
    if (out / PARTS_DIR).is_dir():
        for p in (out / PARTS_DIR).glob(".*.tmp"):
            p.unlink(missing_ok=True)
        try:
            (out / PARTS_DIR).rmdir()
        except OSError:
            pass
    if sweep.timeseries:
        _tidy_timeseries(out / "timeseries", set(runs["run_id"].astype(int).tolist()))
    return runs


def _tidy_timeseries(folder: Path, recorded: set) -> None:
    """Each recorded run once in the time-series dataset: a run whose series was written but whose row was
    not recorded (the sweep was killed in between) ran again on the resume and wrote its series again;
    the later copies, and series of runs not recorded, are dropped (reading only the run_id column)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not folder.is_dir():
        return
    seen: set = set()
    for f in sorted(folder.glob("*.parquet"), key=lambda f: (f.stat().st_mtime_ns, f.name)):
        ids = pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist()
        uniq = set(ids)
        keep = uniq & recorded - seen
        if keep != uniq:
            if keep:
                t = pq.read_table(f)
                t = t.filter(pc.is_in(t.column("run_id"), value_set=pa.array(sorted(keep), t.schema.field("run_id").type)))
                _write_parquet_atomic(t.to_pandas(), f)
            else:
                f.unlink()
        seen |= keep


class _Recorder:
    """Collects finished runs in the parent and writes them to ``parts/`` in atomic batches: every
    :data:`FLUSH_SECONDS` or :data:`FLUSH_RUNS` runs (and when the sweep stops, Ctrl-C included). More
    than :data:`COMPACT_PARTS` part files are merged into one. Time series the workers could not write
    themselves are written here, one file per batch."""

    def __init__(self, out: Path, points: list[dict]):
        self.out = out
        self.points = points
        self.pending: list[dict] = []
        self.series: list = []
        self.series_rows = 0
        self.last = time.monotonic()
        self.batch = 0
        self.tag = f"{os.getpid()}-{secrets.token_hex(3)}"
        try:  # a shorter interval on request (checkpoints more often; the tests kill sweeps partway)
            self.every = float(os.environ.get(FLUSH_ENV, FLUSH_SECONDS))
        except ValueError:
            self.every = FLUSH_SECONDS

    def add(self, result: dict) -> None:
        if result.get("infra"):  # an infrastructure failure is not a result: the run stays to do
            return
        row = result["row"]
        params = self.points[row["point"]]
        row = {"run_id": row["run_id"], "point": row["point"], **params,
               **{k: v for k, v in row.items() if k not in ("run_id", "point")}}
        ts = result.get("timeseries")
        if ts is not None:
            if "run_id" not in ts:
                ts = _with_run_columns(ts, {**row, "params": params})
            self.series.append(ts)
            self.series_rows += len(ts)
        self.pending.append(row)
        if (len(self.pending) >= FLUSH_RUNS or self.series_rows >= FLUSH_SERIES_ROWS
                or time.monotonic() - self.last >= self.every):
            self.flush()

    def flush(self) -> None:
        import pandas as pd

        self.last = time.monotonic()
        if not self.pending:
            return
        self.batch += 1
        if self.series:  # the series first: a recorded row always has its series on disk
            _write_parquet_atomic(pd.concat(self.series, ignore_index=True),
                                  self.out / "timeseries" / f"ts-{self.tag}-{self.batch:06d}.parquet")
            self.series, self.series_rows = [], 0
        _write_parquet_atomic(pd.DataFrame(self.pending), self.out / PARTS_DIR / f"batch-{self.tag}-{self.batch:06d}.parquet")
        self.pending = []
        parts = sorted((self.out / PARTS_DIR).glob("*.parquet"))
        if len(parts) > COMPACT_PARTS:
            self._compact(parts)

    def _compact(self, parts: list[Path]) -> None:
        """Merge part files into one (written before the merged ones are removed: nothing is lost)."""
        import pandas as pd

        df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        self.batch += 1
        _write_parquet_atomic(df, self.out / PARTS_DIR / f"batch-{self.tag}-{self.batch:06d}-merged.parquet")
        for p in parts:
            p.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- dispatch


class SweepProgress:
    """``runs 40/120  33%  failed 1  2.50 runs/s  ETA 32s`` on a terminal (see :mod:`sim.progress`)."""

    def __init__(self, quiet: bool = False, stream=None):
        from sim.progress import progress_for

        self.p = progress_for("runs", quiet, stream)
        self.failed = 0
        self.new = 0  # runs finished by this invocation (the rate counts only these)
        self.t0 = time.perf_counter()
        plain = self.p.line

        def line(done: int, total: int) -> str:
            head, _, eta = plain(done, total).rpartition("  ")
            rate = self.new / max(time.perf_counter() - self.t0, 1e-9)
            return f"{head}  failed {self.failed}  {rate:.2f} runs/s  {eta}"

        self.p.line = line

    def __call__(self, done: int, total: int) -> None:
        self.p(done, total)

    def close(self) -> None:
        self.p.close()

    def __enter__(self) -> "SweepProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class SweepResult:
    out: Path
    runs: Any
    total: int
    skipped: int
    ran: int
    failed: int
    wall_time: float
    backend: str
    infra: list = field(default_factory=list)  # runs left undone by the infrastructure (their reasons)
    adaptive: Optional[dict] = None  # adaptive replication: points that reached the width, hit the cap, ...


CRASH = ("WorkerCrashed: the run ended its worker process (killed, or out of memory); run alone, it did "
         "so again")


#: a chunk (several runs in one task) aims at about this many seconds of work in a process pool ...
CHUNK_SECONDS_POOL = 0.25
#: ... and on a Dask cluster (about 10 ms of scheduling per task)
CHUNK_SECONDS_DASK = 1.0
#: most runs in one chunk
MAX_CHUNK = 512


class _Chunker:
    """Runs per chunk, sized from the run times seen so far: one run a chunk until a run time is known,
    then about ``seconds`` of work a chunk, but at least four chunks per worker for what is left (so the
    workers finish together). Chunking changes which process runs what, never a result."""

    def __init__(self, seconds: float, workers: int):
        self.seconds, self.workers, self.mean = seconds, max(1, workers), None

    def seen(self, results: list[dict]) -> None:
        for r in results:
            t = r.get("row", {}).get("wall_time_s")
            if t is not None and math.isfinite(t):
                self.mean = t if self.mean is None else 0.8 * self.mean + 0.2 * t

    def size(self, remaining: int) -> int:
        if self.mean is None:
            return 1
        k = int(self.seconds / max(self.mean, 1e-5))
        return max(1, min(k, MAX_CHUNK, remaining // (4 * self.workers)))


def _take(todo: list, k: int) -> list:
    """Pop ``k`` tasks from the end of ``todo`` (kept in reverse order), in their order."""
    k = min(k, len(todo))
    batch = todo[len(todo) - k:][::-1]
    del todo[len(todo) - k:]
    return batch


def _plain_pack(batch: list[dict]) -> dict:
    return {"ctx": None, "tasks": batch}


def _crash_row(t: dict, why: str = CRASH) -> dict:
    return {"row": {"run_id": t["run_id"], "point": t["point"], "replicate": t["replicate"], "seed": t["seed"],
                    "engine": t.get("engine"), "error": why, "code": t.get("code") or code_id(),
                    "wall_time_s": float("nan"), "worker": None}, "timeseries": None}


if os.name == "posix":
    from multiprocessing import context as _mp_context
    from multiprocessing import popen_spawn_posix as _popen_spawn

    class _SpawnPopen(_popen_spawn.Popen):
        """Starts a spawned child with preparation data that name no main module to import, and with Ctrl-C
        ignored: the terminal sends it to the whole process group, and the parent answers it (it stops
        without waiting; a worker whose parent is gone exits, ``_watch_parent``), where each worker printed
        its own KeyboardInterrupt traceback. The child inherits the ignored signal when it is made, so the
        parent ignores Ctrl-C for those few milliseconds."""

        def _launch(self, process_obj):
            import signal
            import threading

            main = sys.modules["__main__"]
            hidden = {k: main.__dict__.pop(k) for k in ("__file__",) if k in main.__dict__}
            spec, main.__spec__ = getattr(main, "__spec__", None), None
            own = threading.current_thread() is threading.main_thread()
            before = signal.signal(signal.SIGINT, signal.SIG_IGN) if own else None
            try:
                super()._launch(process_obj)
            finally:
                if own:
                    signal.signal(signal.SIGINT, before)
                main.__dict__.update(hidden)
                main.__spec__ = spec

    class _SpawnProcess(_mp_context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj):
            return _SpawnPopen(process_obj)

    class _SpawnContext(_mp_context.SpawnContext):
        Process = _SpawnProcess


def spawn_context():
    """The process pools' start method: ``spawn`` (numba's threads and Dask do not survive ``fork``), with
    children that do not run the caller's main module again. Plain ``spawn`` re-runs a script in each
    worker; a script calling ``sim.sweep`` without ``if __name__ == "__main__":`` then started workers
    from its workers, and every run came back as a crashed worker (the review found it). The workers need
    nothing from the main module: what they run lives in ``sim``."""
    if os.name != "posix":  # pragma: no cover - the pools' children import the main module there
        import multiprocessing as mp

        return mp.get_context("spawn")
    return _SpawnContext()


def _iter_pool(tasks: list[dict], workers: int, keep: Optional[dict] = None,
               pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    """Results of ``tasks`` from a spawn-context process pool, as they finish.

    Tasks go in chunks (:class:`_Chunker`, :func:`run_chunk`), ``pack`` makes a chunk of a batch of
    tasks. With ``keep`` (a dict), a healthy pool left in ``keep["pool"]`` by an earlier call is used, and
    the pool is left there at the end instead of shut down (the caller shuts it down): rounds of adaptive
    replication pay for starting the workers once.

    At most ``2 * workers`` chunks are queued at a time. When a worker process dies (killed, out of
    memory) the pool breaks: the tasks it held are each rerun alone in a fresh one-process pool, so a
    run that kills its worker every time is found and recorded as such (:data:`CRASH`, a result of
    that run) and the others finish; then a fresh pool takes the rest.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def pool(n):
        return ProcessPoolExecutor(max_workers=n, mp_context=spawn_context(),
                                   initializer=_worker_init, initargs=(os.getpid(),))

    def alone(t):
        ex = pool(1)
        try:
            return ex.submit(run_chunk, pack([t])).result()[0]
        except BrokenProcessPool:
            return _crash_row(t)
        finally:
            ex.shutdown(wait=True, cancel_futures=True)

    sizer = _Chunker(CHUNK_SECONDS_POOL, workers)
    todo = list(reversed(tasks))  # pop() takes them in order
    while todo:
        ex = (keep.pop("pool", None) if keep is not None else None) or pool(workers)
        running: dict = {}  # future -> its tasks
        suspects: list[dict] = []
        ended = False
        try:
            while todo or running:
                while todo and not suspects and len(running) < 2 * workers:
                    batch = _take(todo, sizer.size(len(todo)))
                    try:
                        running[ex.submit(run_chunk, pack(batch))] = batch
                    except BrokenProcessPool:
                        todo.extend(reversed(batch))
                        suspects.extend(t for b in running.values() for t in b)
                        running.clear()
                        break
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    batch = running.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        suspects.extend(batch)
                        continue
                    sizer.seen(results)
                    yield from results
                if suspects:  # the pool is broken: every task still in it is a suspect
                    suspects.extend(t for b in running.values() for t in b)
                    running.clear()
                    break
            ended = not suspects
        finally:
            if ended and keep is not None:
                keep["pool"] = ex
            else:
                # stopped early (Ctrl-C): do not wait for runs in flight; orphaned workers exit on their own
                ex.shutdown(wait=ended or bool(suspects), cancel_futures=True)
        for t in sorted(suspects, key=lambda t: t["run_id"]):
            yield alone(t)


def _iter_inline(tasks: list[dict], pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    cache: dict = {}  # one sweep's points: a point's scenario is validated once for its replicates
    for t in tasks:
        yield from run_chunk(pack([t]), cache)


#: an infrastructure failure (lost worker or scheduler, cancelled future) is retried this many times
DASK_RETRIES = 2
#: seconds to wait for a first usable worker
DASK_WORKER_WAIT = 60
#: seconds without a scheduler after which the runs still in flight are given up (they stay to do)
DASK_LOST_SECONDS = 20


def _worker_identity() -> str:  # pragma: no cover - runs on the workers
    return code_id()


def _check_workers(client, address: str) -> None:
    """Refuse, with one line, workers that cannot import the project or run other code."""
    try:
        client.wait_for_workers(1, timeout=DASK_WORKER_WAIT)
    except Exception:  # noqa: BLE001 - distributed raises its own TimeoutError
        raise SweepError(f"--dask {address}: no worker joined the scheduler within {DASK_WORKER_WAIT} s") from None
    try:
        ids = client.run(_worker_identity)
    except Exception as e:  # noqa: BLE001 - e.g. ModuleNotFoundError on a worker without the project
        raise SweepError(f"--dask {address}: a worker cannot run the project ({type(e).__name__}: {e}); "
                         "install it there (pip install -e .) and restart the workers") from None
    other = {w: i for w, i in ids.items() if i != code_id()}
    if other:
        w, i = next(iter(other.items()))
        raise SweepError(f"--dask {address}: worker {w} runs code {i}, this sweep {code_id()} "
                         f"({len(other)} of {len(ids)} workers differ); update them and restart")


def _iter_dask(tasks: list[dict], address: str, workers: int,
               pack: Callable[[list[dict]], dict] = _plain_pack) -> Iterable[dict]:
    """Results from a Dask cluster, chunk by chunk (:class:`_Chunker`), at most four chunks per worker
    thread submitted at a time. Task keys are unique to this invocation (two sweeps on one cluster never
    share a key). A chunk that fails for the infrastructure (lost worker or scheduler, a cancelled
    future) is resubmitted up to :data:`DASK_RETRIES` times, then its runs come back as ``infra`` (not
    results: they stay to do). A chunk whose worker was killed again and again (``KilledWorker``) is split
    into single runs; a single run that does it is recorded as such (:data:`CRASH`)."""
    import logging
    from collections import deque

    from distributed import Client, LocalCluster, wait

    # distributed logs each lost connection with a traceback; the sweep reports what it means in one line
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm",
                                             "distributed.core", "tornado")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    cluster = client = None
    token = secrets.token_hex(6)
    seq = itertools.count()
    try:
        if address == "local":
            # Ctrl-C is for this process, which closes the cluster: each worker ignores it once started
            # (sim.experiments.dask_worker), else each printed its own KeyboardInterrupt traceback, and their
            # logs are silenced; here a Ctrl-C during the start is held back (blocked) and raised as soon as
            # the cluster exists, so that it is closed below
            import signal
            import threading

            main = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
            before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if main else None
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                       preload=["sim.experiments.dask_worker"])
                client = Client(cluster)
            finally:
                if main:
                    signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a Ctrl-C held back is raised here
        else:
            try:
                client = Client(address, timeout=20)
            except (OSError, TimeoutError, ValueError) as e:
                raise SweepError(f"--dask {address}: cannot reach the scheduler ({e})") from None
        _check_workers(client, address)
        try:
            threads = sum(client.nthreads().values()) or workers
        except Exception:  # noqa: BLE001 - an old scheduler: count what we were told
            threads = workers
        sizer = _Chunker(CHUNK_SECONDS_DASK, threads)
        window = 4 * threads

        def submit(batch, attempt):
            key = f"mutualaid-{token}-{next(seq)}-run-{batch[0]['run_id']}-try-{attempt}"
            return client.submit(run_chunk, pack(batch), key=key, pure=False, retries=0)

        def infra(t, why):
            return {"row": {"run_id": t["run_id"]}, "timeseries": None, "infra": why.replace("\n", " ")[:300]}

        todo = deque(tasks)
        live: dict = {}  # future -> (its tasks, attempt)
        lost_since = None
        while todo or live:
            connected = client.status == "running"
            while todo and connected and len(live) < window:
                k = sizer.size(len(todo))
                batch = [todo.popleft() for _ in range(min(k, len(todo)))]
                live[submit(batch, 0)] = (batch, 0)
            try:
                done = wait(list(live), timeout=1.0, return_when="FIRST_COMPLETED").done
            except Exception:  # noqa: BLE001 - distributed's TimeoutError: nothing finished this second
                done = set()
            connected = client.status == "running"
            if not connected:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > DASK_LOST_SECONDS:  # give up: the runs stay to do
                    why = f"the scheduler at {address} was lost (no connection for {DASK_LOST_SECONDS} s)"
                    for batch, _ in list(live.values()):
                        for t in batch:
                            yield infra(t, why)
                    for t in todo:
                        yield infra(t, why)
                    return
            else:
                lost_since = None
            for fut in done:
                batch, attempt = live.pop(fut)
                try:
                    results = fut.result()
                except Exception as e:  # noqa: BLE001 - run_chunk never raises: this is the infrastructure
                    fut.release()
                    if type(e).__name__ == "KilledWorker":  # the scheduler saw it kill worker after worker
                        if len(batch) > 1:  # find the run that does it: each alone
                            for t in batch:
                                live[submit([t], 0)] = ([t], 0)
                        else:
                            yield _crash_row(batch[0], CRASH.replace("run alone, it did so again",
                                                                     "the scheduler saw it kill several"))
                    elif attempt < DASK_RETRIES and client.status == "running":
                        live[submit(batch, attempt + 1)] = (batch, attempt + 1)
                    else:
                        for t in batch:
                            yield infra(t, f"{type(e).__name__}: {e}")
                    continue
                fut.release()
                sizer.seen(results)
                yield from results
    finally:
        try:
            if client is not None:
                client.close(timeout=10)
        except Exception:  # noqa: BLE001 - the scheduler may be gone
            pass
        if cluster is not None:
            try:
                cluster.close()
            except Exception:  # noqa: BLE001 - closing a cluster half started when Ctrl-C came: nothing to keep
                pass
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, workers: int | None = None, dask: str | None = None,
              progress: Optional[Callable[[int, int], None]] = None,
              argv: Optional[list[str]] = None, notice: Optional[Callable[[str], None]] = None) -> SweepResult:
    """Run (or resume) a sweep into ``out``; returns the consolidated runs.

    ``out`` must be new, empty or a sweep's folder (:func:`sim.output.check_out_dir`). ``workers`` defaults
    to, and is capped at, the machine's cores; ``notice(text)`` is told about a capped count or a stale lock
    taken over. A start that fails before any run is recorded (no scheduler, Ctrl-C) leaves the folder as it
    found it: no lock, no sweep.json, and no folder it created.
    """
    from sim.limits import cap, check_count
    from sim.output import StorageError, check_out_dir, is_storage_error, storage_error

    say = notice or (lambda text: None)
    out = Path(out)
    check_out_dir(out, option="--out" if argv is not None else "out", kind="sweep")
    workers, why = cap("--workers" if argv is not None else "workers",
                       check_count("workers", workers, "sweep"))
    if why:
        say(why)
    created = not out.exists()
    try:
        lock = _lock_folder(out, say)
        fresh = not (out / SWEEP_FILE).exists()
        try:
            return _run_sweep(sweep, out, workers, dask, progress, argv)
        except BaseException:
            if fresh:
                _undo_start(out)
            raise
        finally:
            lock.release()
            if created:
                _remove_if_empty(out)
    except OSError as e:
        if is_storage_error(e) and not isinstance(e, StorageError):
            raise storage_error(e, f"the runs saved in {out} before it are kept (runs since the last save "
                                   "run again); make room and rerun the same command to finish") from None
        raise


def _undo_start(out: Path) -> None:
    """After a failed first start: remove what the start wrote (sweep.json, empty folders) when no run was
    recorded; a run recorded is kept (a rerun resumes from it)."""
    parts = out / PARTS_DIR
    recorded = (out / "runs.parquet").exists() or (parts.is_dir() and any(parts.iterdir()))
    ts = out / "timeseries"
    if recorded or (ts.is_dir() and any(ts.iterdir())):
        return
    for name in (SWEEP_FILE, "manifest.json"):
        (out / name).unlink(missing_ok=True)
    for d in (parts, ts):
        _remove_if_empty(d)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty, or gone
        pass


class _Lock:
    """An exclusive lock held on ``out/.lock``; :meth:`release` removes the file and lets go."""

    def __init__(self, fh, path: Path):
        self.fh, self.path = fh, path

    def release(self) -> None:
        try:
            self.path.unlink(missing_ok=True)  # still held: no other process can have taken this file
        finally:
            self.fh.close()

    close = release


def _lock_folder(out: Path, notice: Callable[[str], None] = lambda text: None) -> _Lock:
    """One sweep at a time in a folder: an exclusive lock on ``out/.lock`` (the system releases it when the
    process ends, however it ends). A lock file left by a process that is gone is taken over, with a notice."""
    import fcntl

    from sim.output import LOCK_FILE  # here: sim.output imports pandas, which a sweep's start does not need

    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_FILE
    while True:
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise SweepError(f"--out {out}: another sweep is writing into this folder ({holder}); wait for it, "
                             "or use another --out") from None
        try:  # the holder before us may have removed the file as we opened it: lock the one at the path
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    fh.seek(0)
    before = fh.read().strip()
    if before:
        notice(f"--out {out}: took over the lock left by {before}, which is no longer running")
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename}")
    fh.flush()
    return _Lock(fh, path)


def ci_widths(values: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Width (high - low) of the t-interval of the mean of each row of ``values`` (points x replicates, NaN for
    a failed or missing run) over its finite values: 0 with no spread, ``inf`` with one finite value, NaN with
    none. The interval of :func:`sim.experiments.compare.paired_difference` (the report's)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    m = ok.sum(axis=1)
    out = np.full(len(v), np.nan)
    out[m == 1] = np.inf
    many = m >= 2
    if many.any():
        x = np.where(ok[many], v[many], 0.0)
        mm = m[many]
        mean = x.sum(axis=1) / mm
        ss = (np.where(ok[many], x - mean[:, None], 0.0) ** 2).sum(axis=1)
        sd = np.sqrt(ss / (mm - 1))
        half = stats.t.ppf(0.5 + level / 2, mm - 1) * sd / np.sqrt(mm)
        out[many] = np.where(sd == 0.0, 0.0, 2 * half)
    return out


#: a zero-width interval counts only from this many finished runs (two equal counts are common)
MIN_RUNS_ZERO_SPREAD = 3


def extra_replicates(n: np.ndarray, widths: np.ndarray, width: float, cap: int,
                     finished: Optional[np.ndarray] = None) -> np.ndarray:
    """Replicates each point gets in the next round of adaptive replication.

    None where the interval is at most ``width`` wide, where the point has ``cap`` replicates, or where it has
    no finished run (NaN: more runs of a failing point would fail too). Otherwise as many as an interval
    shrinking like ``1/sqrt(n)`` asks for, ``ceil(n (w / width)^2) - n``, at least 1, at most ``n`` (a point
    at most doubles in a round, so a wide first interval from few runs does not overshoot far) and not past
    ``cap``. Points with one finished run (``inf``) double. With ``finished`` (finished runs per point), a
    point whose runs all agree (width 0) from fewer than :data:`MIN_RUNS_ZERO_SPREAD` runs is not taken as
    narrow: it gets the runs it lacks.
    """
    n = np.asarray(n, dtype=np.int64)
    w = np.asarray(widths, dtype=float)
    unsure = np.zeros(len(n), bool) if finished is None else (w == 0) & (np.asarray(finished) < MIN_RUNS_ZERO_SPREAD)
    grow = ((w > width) | unsure) & (n < cap)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.where(np.isfinite(w), np.ceil(n * (np.where(np.isfinite(w), w, 0.0) / width) ** 2) - n, n)
    if finished is not None:
        want = np.where(unsure, MIN_RUNS_ZERO_SPREAD - np.asarray(finished), want)
    k = np.minimum(np.clip(want, 1, np.maximum(n, 1)), cap - n)
    return np.where(grow, k, 0).astype(np.int64)


def _run_sweep(sweep: Sweep, out: Path, workers: int, dask, progress, argv) -> SweepResult:
    from sim.output import StagedFiles, base_manifest

    check_folder(sweep, out)
    t0 = time.perf_counter()
    tasks = sweep.tasks()
    done_df = read_parts(out)
    finished = set() if done_df is None else set(int(x) for x in done_df["run_id"])
    todo = [t for t in tasks if t["run_id"] not in finished]
    count = {"total": len(tasks), "done": len(tasks) - len(todo), "ran": 0, "skipped": len(tasks) - len(todo)}
    rec = _Recorder(out, sweep.points)
    extra = {"ts_dir": str((out / "timeseries").resolve())} if sweep.timeseries else {}
    if sweep.timeseries:
        (out / "timeseries").mkdir(parents=True, exist_ok=True)

    def pack(batch: list[dict]) -> dict:
        return sweep.pack(batch, **extra)
    failed_before = 0 if done_df is None else int(done_df["error"].notna().sum())
    failed = 0
    infra: list[str] = []
    metric = sweep.until_ci["metric"] if sweep.until_ci else None
    values: dict[int, float] = {}  # run_id -> the adaptive metric (NaN for a failed run)
    if metric and done_df is not None and metric in done_df:
        v = np.where(done_df["error"].isna(), pd_float(done_df[metric]), np.nan)
        values = dict(zip(done_df["run_id"].astype(int).tolist(), v.tolist()))
    if progress is not None:
        progress(count["done"], count["total"])
    if dask:
        backend = f"dask {dask}"
    elif workers == 1:
        backend = "inline (1 worker)"
    else:
        backend = f"process pool ({workers} workers, spawn)"

    pools: dict = {}  # the process pool, kept between rounds of adaptive replication

    def dispatch(batch: list[dict]) -> None:
        nonlocal failed
        if not batch:
            return
        it = (_iter_dask(batch, dask, workers, pack=pack) if dask else _iter_inline(batch, pack=pack)
              if workers == 1 else _iter_pool(batch, workers, keep=pools, pack=pack))
        try:
            for res in it:
                if res.get("infra"):
                    infra.append(res["infra"])
                    continue
                rec.add(res)
                row = res["row"]
                count["done"] += 1
                count["ran"] += 1
                if metric:
                    values[int(row["run_id"])] = math.nan if row.get("error") else float(row.get(metric, math.nan))
                if row.get("error"):
                    failed += 1
                    if isinstance(progress, SweepProgress):
                        progress.failed = failed_before + failed
                if isinstance(progress, SweepProgress):
                    progress.new += 1
                if progress is not None:
                    progress(count["done"], count["total"])
        finally:
            try:
                rec.flush()  # on Ctrl-C too: what finished is kept
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()

    try:
        dispatch(todo)
        adaptive = None
        if sweep.until_ci is not None and not infra:
            adaptive = _replicate_until(sweep, values, finished, rec, dispatch, count, infra, progress)
    finally:
        if "pool" in pools:
            pools.pop("pool").shutdown(wait=True, cancel_futures=True)
    runs = consolidate(out, sweep)
    wall = time.perf_counter() - t0
    manifest = base_manifest(
        "sweep", argv, wall, sweep_source=sweep.source, name=sweep.name, fingerprint=sweep.fingerprint(),
        backend=backend, runs=count["total"], skipped=count["skipped"], ran=count["ran"],
        failed=int(runs["error"].notna().sum()) if runs is not None else 0,
        parameters=sweep.parameters, sampling=sweep.sampling, points=len(sweep.points),
        replicates=sweep.replicates, seed=sweep.seed, common_seeds=sweep.common_seeds,
        sweep=_jsonable(sweep.spec()), adaptive=adaptive,
        files=["runs.parquet", "timings.parquet", SWEEP_FILE, "manifest.json"]
        + (["timeseries/"] if sweep.timeseries else []),
    )
    with StagedFiles(out) as files:
        files.write_json("manifest.json", manifest)
    return SweepResult(out=out, runs=runs, total=count["total"], skipped=count["skipped"], ran=count["ran"],
                       failed=manifest["failed"], wall_time=wall, backend=backend, infra=infra, adaptive=adaptive)


def pd_float(s) -> np.ndarray:
    """A column as floats (NaN where it is missing or not a number)."""
    import pandas as pd

    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _replicate_until(sweep: Sweep, values: dict, finished: set, rec: "_Recorder", dispatch, count: dict,
                     infra: list, progress) -> dict:
    """Adaptive replication (see the module's docstring): rounds of :func:`extra_replicates` until no point
    asks for more. Each round is planned from the runs of the rounds before it (all finished by then), so a
    rerun plans the same runs and dispatches only those not yet recorded."""
    until = sweep.until_ci
    width, cap = until["width"], until["max_replicates"]
    n_points = len(sweep.points)
    n = np.full(n_points, sweep.replicates, dtype=np.int64)
    rounds = 0
    while True:
        table = np.full((n_points, int(n.max())), np.nan)
        for r in range(int(n.max())):
            for p in np.flatnonzero(n > r):
                table[p, r] = values.get(sweep.run_id(int(p), r), math.nan)
        widths = ci_widths(table)
        runs_ok = np.isfinite(table).sum(axis=1)
        k = extra_replicates(n, widths, width, cap, finished=runs_ok)
        if infra or not k.any():
            break
        pairs = [(int(p), r) for p in np.flatnonzero(k) for r in range(int(n[p]), int(n[p] + k[p]))]
        new = sweep.extra_tasks(pairs)
        todo = [t for t in new if t["run_id"] not in finished]
        count["total"] += len(new)
        count["done"] += len(new) - len(todo)
        count["skipped"] += len(new) - len(todo)
        if progress is not None:
            progress(count["done"], count["total"])
        dispatch(todo)
        rounds += 1
        n += k
    reached = (widths <= width) & ~((widths == 0) & (runs_ok < MIN_RUNS_ZERO_SPREAD))
    return {"metric": until["metric"], "width": width, "max_replicates": cap, "points": n_points,
            "reached": int(reached.sum()), "capped": int((~reached & (n >= cap)).sum()),
            "no_finished_run": int(np.isnan(widths).sum()), "extra_runs": int((n - sweep.replicates).sum()),
            "rounds": rounds, "complete": not infra,
            "widest": float(widths[np.isfinite(widths)].max()) if np.isfinite(widths).any() else None}
