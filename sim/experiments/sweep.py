"""Parameter sweeps: grammar, expansion, seeds, dispatch, resume, consolidation.

A sweep file names a base scenario and the parameters to vary::

    name: checkins-x-isolation
    scenario: isolation            # name in scenarios/ or a path (relative to this file)
    seed: 2024                     # root of the SeedSequence tree of run seeds
    replicates: 5
    steps: 240                     # optional: overrides the scenario's
    sampling: grid                 # grid (default) | latin | saltelli
    parameters:
      checkins.prob: [0.0, 0.25, 0.5, 1.0]     # a list expands (grid)
      isolation.duration: [30, 90, 180]
      population.size: 200                     # a scalar stays fixed
    metrics: [total_relapses, final_abstinent, mean_helpers]

This is the grammar of Agents.jl's ``paramscan``: with ``sampling: grid``
every list expands into a full factorial grid and every scalar is fixed. With
``sampling: latin`` (Latin hypercube, ``samples`` points) or ``sampling:
saltelli`` (Saltelli's scheme for Sobol indices, ``samples`` = N base
samples, a power of two, N*(D+2) points) a parameter given as
``{low: A, high: B}`` is sampled in [A, B] (integer keys are rounded).

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
``DIR/parts/``; a rerun of the same command reads them, skips finished runs
and dispatches the rest; at the end the parts are consolidated into
``DIR/runs.parquet`` (sorted by ``run_id``) and ``DIR/timings.parquet``
(wall time per run, which is not reproducible and so kept apart). A run that
raises is recorded with its ``error`` and the sweep goes on. ``DIR/sweep.json``
holds the resolved sweep and its fingerprint; a changed sweep file is refused.
"""

from __future__ import annotations

import difflib
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

from sim.core.scenarios import ScenarioError, all_keys

#: top-level keys of a sweep file
SWEEP_KEYS = ("name", "description", "scenario", "seed", "replicates", "steps", "engine", "sampling",
              "samples", "parameters", "metrics", "timeseries", "common_seeds")
SAMPLINGS = ("grid", "latin", "saltelli")
#: sweep-only keys of a donation game (benefit b, cost c): R = b - c, S = -c, T = b, P = 0
DONATION_KEYS = ("donation.b_over_c", "donation.cost")
#: metrics summarised when a sweep file names none
DEFAULT_METRICS = ("mean_helpers", "mean_stress", "mean_using", "total_relapses", "final_abstinent")
#: a batch of finished runs is written at least this often (seconds) ...
FLUSH_SECONDS = 1.0
#: ... or when it holds this many runs
FLUSH_RUNS = 200
SWEEP_FILE = "sweep.json"
#: Most runs (points x replicates) one sweep may hold: checked before any point is built.
MAX_RUNS = 10_000_000
PARTS_DIR = "parts"


class SweepError(ScenarioError):
    """Bad sweep input: one line for the user (exit code 2)."""


_CODE_ID: str | None = None


def code_id() -> str:
    """The code's identity: the package version and a hash of every ``sim/**/*.py`` (path and bytes).

    It is part of a sweep's fingerprint (a resume on changed code is refused) and of every row, and a
    worker whose code differs does not run the sweep's tasks.
    """
    global _CODE_ID
    if _CODE_ID is None:
        import sim

        root = Path(sim.__file__).resolve().parent
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _CODE_ID = f"{sim.__version__}+{h.hexdigest()[:12]}"
    return _CODE_ID


# ----------------------------------------------------------------------------- the sweep file


def stat_columns() -> list[str]:
    """Every per-run summary column: ``mean_<m>``, ``final_<m>``, ``total_<count>``."""
    from sim.experiments.compare import METRICS, TOTALS

    return [f"mean_{m}" for m in METRICS] + [f"final_{m}" for m in METRICS] + [f"total_{m}" for m in TOTALS]


def _metric_column(name: Any, source: str) -> str:
    from sim.experiments.compare import METRICS, TOTALS

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
    points: list[dict[str, Any]] = field(default_factory=list)

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
        """The resolved sweep as JSON-able data (what the fingerprint covers)."""
        return {
            "name": self.name, "description": self.description, "scenario": self.scenario_source,
            "base_scenario": self.base.model_dump(mode="json"), "seed": self.seed,
            "replicates": self.replicates, "steps": self.steps, "engine": self.engine,
            "sampling": self.sampling, "samples": self.samples, "fixed": self.fixed,
            "swept": {k: list(v) for k, v in self.swept.items()}, "metrics": self.metrics,
            "timeseries": self.timeseries, "common_seeds": self.common_seeds, "code": code_id(),
        }

    def fingerprint(self) -> str:
        """sha256 of the resolved sweep: the same file (and base scenario) gives the same value."""
        text = json.dumps(self.spec(), sort_keys=True, default=str)
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

    def tasks(self) -> list[dict]:
        """One task per run (``run_id = point * replicates + replicate``), fully resolved."""
        from sim.api import resolve_engine

        seeds = self.seeds()
        out = []
        for p, values in enumerate(self.points):
            sc = point_scenario(self, values)
            engine = resolve_engine(sc, self.engine)
            data = sc.model_dump(mode="json")
            for r in range(self.replicates):
                s = int(seeds[p, r])
                out.append({"run_id": p * self.replicates + r, "point": p, "replicate": r, "seed": s,
                            "params": dict(values), "scenario": {**data, "seed": s}, "engine": engine,
                            "timeseries": self.timeseries, "code": code_id()})
        return out


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


def point_scenario(sweep: Sweep, values: Mapping[str, Any]):
    """The resolved scenario of one point (raises :class:`SweepError`)."""
    from sim.api import prepare

    try:
        return prepare(sweep.base, set=_overrides(sweep, values))
    except ScenarioError as e:
        msg = str(e)
        for prefix in (f"scenario {sweep.base.name!r}: ", "scenario: ", "--set: "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        where = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise SweepError(f"{sweep.source}: parameters: {msg}" + (f" (at {where})" if where else "")) from None


def read_sweep_file(path: str | os.PathLike) -> dict:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise SweepError(f"sweep file not found: {path}")
    from sim.core.scenarios import StrictLoader

    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=StrictLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise SweepError(f"{path}:{where} malformed YAML: {getattr(e, 'problem', None) or 'unreadable'}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SweepError(f"cannot read sweep file {path}: {getattr(e, 'strerror', None) or e}") from None
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
    from sim.api import resolve_engine
    from sim.core.scenarios import _suggest, load_scenario

    if isinstance(spec, Mapping):
        data, src, here = dict(spec), source or "sweep", Path.cwd()
    else:
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
    if engine is not None:
        try:
            resolve_engine(base, engine)
        except ScenarioError:
            raise SweepError(f"{src}: engine = {engine!r}: allowed: 'auto', 'agents' or 'kernel'") from None
    sampling = data.get("sampling", "grid")
    if sampling not in SAMPLINGS:
        raise SweepError(f"{src}: sampling = {sampling!r}: allowed: {', '.join(SAMPLINGS)}")
    samples = _int(data, "samples", src, None, 1)
    if sampling == "grid" and samples is not None:
        raise SweepError(f"{src}: samples = {samples}: only with sampling: latin or saltelli (a grid has its lists)")
    if sampling != "grid" and samples is None:
        raise SweepError(f"{src}: samples: required with sampling: {sampling} (an integer >= 1)")
    if sampling == "saltelli" and samples & (samples - 1):
        raise SweepError(f"{src}: samples = {samples}: Saltelli sampling needs a power of two (e.g. 64, 128, 256)")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise SweepError(f"{src}: parameters = {params!r}: must be a mapping of scenario keys to values")
    keys = set(all_keys())
    fixed: dict[str, Any] = {}
    swept: dict[str, Any] = {}
    for k, v in params.items():
        where = f"{src}: parameters: {k}"
        if k not in keys and k not in DONATION_KEYS:
            if k in ("seed", "steps"):
                raise SweepError(f"{src}: parameters: '{k}' is set at the top of a sweep file, not swept")
            hint = _suggest(str(k)) or (" (did you mean 'donation.b_over_c'?)" if "donation" in str(k) else "")
            raise SweepError(f"{src}: parameters: unknown key '{k}'{hint}")
        if k in ("seed", "steps", "name", "description"):
            raise SweepError(f"{src}: parameters: '{k}' cannot be swept (seed, steps: top-level keys of the sweep)")
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
                raise SweepError(f"{where} = {v!r}: a range {{low, high}} needs sampling: latin or saltelli; "
                                 f"with a grid give a list of values")
            if set(v) != {"low", "high"}:
                raise SweepError(f"{where} = {v!r}: a range has exactly the keys low and high")
            lo, hi = v["low"], v["high"]
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)) or not lo < hi:
                raise SweepError(f"{where} = {v!r}: low and high must be numbers with low < high")
            typ = _field_type(k) if k in keys else float
            if typ not in (int, float):
                raise SweepError(f"{where}: only numeric keys can be sampled from a range")
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
    sweep = Sweep(source=src, name=name, description=desc, scenario_source=scn, base=base, seed=seed,
                  replicates=replicates, steps=steps, engine=engine, sampling=sampling, samples=samples,
                  fixed=fixed, swept=swept, metrics=metrics,
                  timeseries=_bool(data, "timeseries", src, False),
                  common_seeds=_bool(data, "common_seeds", src, True))
    n_points = (math.prod(len(v) for v in swept.values()) if sampling == "grid" else
                samples * (len(swept) + 2) if sampling == "saltelli" else samples)
    if n_points * replicates > MAX_RUNS:
        raise SweepError(f"{src}: {n_points:,} points x {replicates:,} replicates = {n_points * replicates:,} runs is "
                         f"more than the {MAX_RUNS:,} a sweep may hold; split it into several sweeps")
    sweep.points = expand(sweep)
    for values in sweep.points:
        point_scenario(sweep, values)
    return sweep


def _cast(key: str, v: Any) -> Any:
    typ = _field_type(key) if key in set(all_keys()) else float
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
    else:
        from SALib.sample import sobol

        x = sobol.sample(sweep.problem(), sweep.samples, calc_second_order=False, scramble=True,
                         seed=int(ss.generate_state(1)[0] >> 1))
    return [{k: _cast(k, float(row[i])) for i, k in enumerate(names)} for row in x]


# ----------------------------------------------------------------------------- one run (in a worker)


#: Fault injection for the tests (``MUTUALAID_FAULT=crash:<run_id>``: that run ends its worker process,
#: as the out-of-memory killer would). Read in the worker.
FAULT_ENV = "MUTUALAID_FAULT"


def run_task(task: dict) -> dict:
    """Run one task; never raises: a model failure comes back as ``error`` (a result). A worker on other
    code returns ``infra`` instead: not a result, the run stays to do. Runs in a worker process."""
    import traceback

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task["run_id"], "point": task["point"], "replicate": task["replicate"],
                           "seed": task["seed"], "error": None, "code": code_id()}
    if task.get("code") and task["code"] != code_id():
        return {"row": row, "timeseries": None,
                "infra": f"worker {os.uname().nodename}:{os.getpid()} runs code {code_id()}, the sweep "
                         f"{task['code']}"}
    if os.environ.get(FAULT_ENV) == f"crash:{task['run_id']}":
        os._exit(137)
    ts = None
    try:
        import numba

        from sim.core.schema import Scenario
        from sim.engines import make_model
        from sim.experiments.compare import run_stats, run_stats_rows

        # Parallelism comes from running many runs at once: one numba thread per
        # run keeps workers from fighting over cores (results do not depend on it).
        numba.set_num_threads(1)
        sc = Scenario.model_validate(task["scenario"])
        model = make_model(sc, task["engine"])
        for _ in range(sc.steps):
            model.step()
        rows = getattr(model, "rows", None)
        if task.get("timeseries") or rows is None:  # the table is needed (or the Mesa engine's collector)
            ts = model.metrics_frame()
            row.update(run_stats(ts))
            ts = ts if task.get("timeseries") else None
        else:  # the statistics straight from the rows: no DataFrame per run
            row.update(run_stats_rows(rows))
        row["engine"] = task["engine"]
    except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
        row["error"] = f"{type(e).__name__}: {e}".replace("\n", " ")[:2000]
        row["engine"] = task["engine"]
        if os.environ.get("MUTUALAID_DEBUG"):
            traceback.print_exc()
    row["wall_time_s"] = time.perf_counter() - t0
    row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return {"row": row, "timeseries": ts}


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
    import sim.api  # noqa: F401  - pay the imports once per worker, not per run


# ----------------------------------------------------------------------------- the output folder


def _write_parquet_atomic(df, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        df.to_parquet(tmp, index=False, engine="pyarrow")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_folder(sweep: Sweep, out: Path) -> None:
    """Refuse a folder that holds a different sweep; record this one's spec (first time)."""
    from sim.output import StagedFiles

    f = out / SWEEP_FILE
    fp = sweep.fingerprint()
    if f.is_file():
        try:
            old = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SweepError(f"--out {out}: {SWEEP_FILE} is unreadable; use another folder") from None
        if old.get("fingerprint") != fp:
            changed = sorted(k for k, v in sweep.spec().items() if old.get("spec", {}).get(k) != _jsonable(v))
            what = f" (changed: {', '.join(changed)})" if changed else ""
            raise SweepError(f"--out {out}: holds results of a different sweep{what}; "
                             f"use another --out folder, or restore the sweep file to resume")
        return
    if out.exists() and any(out.glob("*.parquet")) or (out / PARTS_DIR).exists():
        raise SweepError(f"--out {out}: holds results but no {SWEEP_FILE}; use an empty or new folder")
    with StagedFiles(out) as files:
        files.write_json(SWEEP_FILE, {"fingerprint": fp, "source": sweep.source, "parameters": sweep.parameters,
                                      "sampling": sweep.sampling, "metrics": sweep.metrics,
                                      "problem": sweep.problem() if sweep.sampling != "grid" else None,
                                      "n_points": len(sweep.points), "replicates": sweep.replicates,
                                      "spec": _jsonable(sweep.spec())})


def _jsonable(v):
    return json.loads(json.dumps(v, default=str))


def read_parts(out: Path):
    """Every finished run recorded in ``out`` (runs.parquet, timings.parquet and parts/), one row per run_id."""
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
    if not frames:
        return None
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    return df.drop_duplicates("run_id", keep="first").sort_values("run_id", kind="stable").reset_index(drop=True)


#: columns of timings.parquet (not reproducible, so not in runs.parquet)
TIMING_COLUMNS = ("wall_time_s", "worker")


def consolidate(out: Path, sweep: Sweep) -> "Any":
    """Write runs.parquet and timings.parquet from everything recorded, then drop the parts. Returns runs."""
    import pandas as pd

    df = read_parts(out)
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
    if (out / PARTS_DIR).is_dir():
        for p in (out / PARTS_DIR).glob("*.parquet"):
            p.unlink()
        for p in (out / PARTS_DIR).glob(".*.tmp"):
            p.unlink()
        try:
            (out / PARTS_DIR).rmdir()
        except OSError:
            pass
    return runs


class _Recorder:
    """Collects finished runs in the parent and writes them to ``parts/`` in atomic batches."""

    def __init__(self, out: Path, params: Mapping[int, dict]):
        self.out = out
        self._params = params
        self.pending: list[dict] = []
        self.last = time.monotonic()
        self.batch = 0
        self.tag = f"{os.getpid()}-{secrets.token_hex(3)}"

    def add(self, result: dict) -> None:
        if result.get("infra"):  # an infrastructure failure is not a result: the run stays to do
            return
        row = result["row"]
        task_params = self._params[row["run_id"]]
        row = {"run_id": row["run_id"], "point": row["point"], **task_params,
               **{k: v for k, v in row.items() if k not in ("run_id", "point")}}
        if result.get("timeseries") is not None:
            # one file per run, flat (no hive partition that would duplicate run_id), each row carrying the
            # run's id, its swept parameters, replicate and seed: the folder reads as one dataset
            ts = result["timeseries"].copy()
            front = {"run_id": row["run_id"], **task_params, "replicate": row.get("replicate"),
                     "seed": row.get("seed")}
            for k, (name, v) in enumerate(front.items()):
                ts.insert(k, name, v)
            _write_parquet_atomic(ts, self.out / "timeseries" / f"run-{row['run_id']:08d}.parquet")
        self.pending.append(row)
        if len(self.pending) >= FLUSH_RUNS or time.monotonic() - self.last >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        import pandas as pd

        self.last = time.monotonic()
        if not self.pending:
            return
        df = pd.DataFrame(self.pending)
        self.batch += 1
        _write_parquet_atomic(df, self.out / PARTS_DIR / f"batch-{self.tag}-{self.batch:06d}.parquet")
        self.pending = []


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


CRASH = ("WorkerCrashed: the run ended its worker process (killed, or out of memory); run alone, it did "
         "so again")


def _iter_pool(tasks: list[dict], workers: int) -> Iterable[dict]:
    """Results of ``tasks`` from a spawn-context process pool, as they finish.

    At most ``2 * workers`` tasks are queued at a time. When a worker process dies (killed, out of
    memory) the pool breaks: the tasks it held are each rerun alone in a fresh one-process pool, so a
    run that kills its worker every time is found and recorded as such (:data:`CRASH`, a result of
    that run) and the others finish; then a fresh pool takes the rest.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def pool(n):
        return ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                                   initializer=_worker_init, initargs=(os.getpid(),))

    def alone(t):
        ex = pool(1)
        try:
            return ex.submit(run_task, t).result()
        except BrokenProcessPool:
            return {"row": {"run_id": t["run_id"], "point": t["point"], "replicate": t["replicate"],
                            "seed": t["seed"], "engine": t["engine"], "error": CRASH, "code": t.get("code"),
                            "wall_time_s": float("nan"), "worker": None}, "timeseries": None}
        finally:
            ex.shutdown(wait=True, cancel_futures=True)

    todo = list(reversed(tasks))  # pop() takes them in order
    while todo:
        ex = pool(workers)
        running: dict = {}
        suspects: list[dict] = []
        ended = False
        try:
            while todo or running:
                while todo and not suspects and len(running) < 2 * workers:
                    t = todo.pop()
                    try:
                        running[ex.submit(run_task, t)] = t
                    except BrokenProcessPool:
                        todo.append(t)
                        suspects.extend(running.values())
                        running.clear()
                        break
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    t = running.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        suspects.append(t)
                        continue
                    yield result
                if suspects:  # the pool is broken: every task still in it is a suspect
                    suspects.extend(running.values())
                    running.clear()
                    break
            ended = not suspects
        finally:
            # stopped early (Ctrl-C): do not wait for runs in flight; orphaned workers exit on their own
            ex.shutdown(wait=ended or bool(suspects), cancel_futures=True)
        for t in sorted(suspects, key=lambda t: t["run_id"]):
            yield alone(t)


def _iter_inline(tasks: list[dict]) -> Iterable[dict]:
    for t in tasks:
        yield run_task(t)


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


def _iter_dask(tasks: list[dict], address: str, workers: int) -> Iterable[dict]:
    """Results from a Dask cluster. Task keys are unique to this invocation (two sweeps on one cluster
    never share a key); a future that fails for the infrastructure (lost worker or scheduler, a
    cancelled future) is resubmitted up to :data:`DASK_RETRIES` times, then comes back as ``infra``
    (not a result: the run stays to do)."""
    import logging

    from distributed import Client, LocalCluster, wait

    # distributed logs each lost connection with a traceback; the sweep reports what it means in one line
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm",
                                             "distributed.core", "tornado")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=20)
        except (OSError, TimeoutError, ValueError) as e:
            raise SweepError(f"--dask {address}: cannot reach the scheduler ({e})") from None
    token = secrets.token_hex(6)
    try:
        _check_workers(client, address)

        def submit(t, attempt):
            return client.submit(run_task, t, key=f"mutualaid-{token}-run-{t['run_id']}-try-{attempt}", pure=False,
                                 retries=0)

        live = {}
        for t in tasks:
            live[submit(t, 0)] = (t, 0)
        lost_since = None

        def infra(t, why):
            return {"row": {"run_id": t["run_id"]}, "timeseries": None, "infra": why.replace("\n", " ")[:300]}

        while live:
            try:
                done = wait(list(live), timeout=1.0, return_when="FIRST_COMPLETED").done
            except Exception:  # noqa: BLE001 - distributed's TimeoutError: nothing finished this second
                done = set()
            connected = client.status == "running"
            if not connected:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > DASK_LOST_SECONDS:  # give up: the runs stay to do
                    for t, _ in list(live.values()):
                        yield infra(t, f"the scheduler at {address} was lost (no connection for "
                                       f"{DASK_LOST_SECONDS} s)")
                    return
            else:
                lost_since = None
            for fut in done:
                t, attempt = live.pop(fut)
                try:
                    result = fut.result()
                except Exception as e:  # noqa: BLE001 - run_task never raises: this is the infrastructure
                    if type(e).__name__ == "KilledWorker":  # the scheduler saw it kill worker after worker
                        result = {"row": {"run_id": t["run_id"], "point": t["point"], "replicate": t["replicate"],
                                          "seed": t["seed"], "engine": t["engine"], "error": CRASH.replace(
                                              "run alone, it did so again", "the scheduler saw it kill several"),
                                          "code": t.get("code"), "wall_time_s": float("nan"), "worker": None},
                                  "timeseries": None}
                    elif attempt < DASK_RETRIES and client.status == "running":
                        live[submit(t, attempt + 1)] = (t, attempt + 1)
                        fut.release()
                        continue
                    else:
                        result = infra(t, f"{type(e).__name__}: {e}")
                fut.release()
                yield result
    finally:
        try:
            client.close(timeout=10)
        except Exception:  # noqa: BLE001 - the scheduler may be gone
            pass
        if cluster is not None:
            cluster.close()
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, workers: int | None = None, dask: str | None = None,
              progress: Optional[Callable[[int, int], None]] = None,
              argv: Optional[list[str]] = None) -> SweepResult:
    """Run (or resume) a sweep into ``out``; returns the consolidated runs."""
    out = Path(out)
    workers = int(workers or os.cpu_count() or 1)
    lock = _lock_folder(out)
    try:
        return _run_sweep(sweep, out, workers, dask, progress, argv)
    finally:
        lock.close()


def _lock_folder(out: Path):
    """One sweep at a time in a folder: an exclusive lock on ``out/.lock`` (released when the process
    ends, however it ends)."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    fh = open(out / ".lock", "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise SweepError(f"--out {out}: another sweep is writing into this folder ({holder}); wait for it, "
                         "or use another --out") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename}")
    fh.flush()
    return fh


def _run_sweep(sweep: Sweep, out: Path, workers: int, dask, progress, argv) -> SweepResult:
    from sim.output import StagedFiles, base_manifest

    check_folder(sweep, out)
    t0 = time.perf_counter()
    tasks = sweep.tasks()
    done_df = read_parts(out)
    finished = set() if done_df is None else set(int(x) for x in done_df["run_id"])
    todo = [t for t in tasks if t["run_id"] not in finished]
    total = len(tasks)
    rec = _Recorder(out, {t["run_id"]: t["params"] for t in tasks})
    done = total - len(todo)
    failed_before = 0 if done_df is None else int(done_df["error"].notna().sum())
    failed = 0
    infra: list[str] = []
    if progress is not None:
        progress(done, total)
    if dask:
        backend, it = f"dask {dask}", _iter_dask(todo, dask, workers) if todo else iter(())
    elif workers == 1:
        backend, it = "inline (1 worker)", _iter_inline(todo)
    else:
        backend, it = f"process pool ({workers} workers, spawn)", _iter_pool(todo, workers) if todo else iter(())
    try:
        for res in it:
            if res.get("infra"):
                infra.append(res["infra"])
                continue
            rec.add(res)
            done += 1
            if res["row"].get("error"):
                failed += 1
                if isinstance(progress, SweepProgress):
                    progress.failed = failed_before + failed
            if isinstance(progress, SweepProgress):
                progress.new += 1
            if progress is not None:
                progress(done, total)
    finally:
        rec.flush()  # on Ctrl-C too: what finished is kept
        close = getattr(it, "close", None)
        if close is not None:
            close()
    runs = consolidate(out, sweep)
    wall = time.perf_counter() - t0
    manifest = base_manifest(
        "sweep", argv, wall, sweep_source=sweep.source, name=sweep.name, fingerprint=sweep.fingerprint(),
        backend=backend, runs=total, skipped=total - len(todo), ran=len(todo),
        failed=int(runs["error"].notna().sum()) if runs is not None else 0,
        parameters=sweep.parameters, sampling=sweep.sampling, points=len(sweep.points),
        replicates=sweep.replicates, seed=sweep.seed, common_seeds=sweep.common_seeds,
        sweep=_jsonable(sweep.spec()),
        files=["runs.parquet", "timings.parquet", SWEEP_FILE, "manifest.json"]
        + (["timeseries/"] if sweep.timeseries else []),
    )
    with StagedFiles(out) as files:
        files.write_json("manifest.json", manifest)
    return SweepResult(out=out, runs=runs, total=total, skipped=total - len(todo), ran=len(todo) - len(infra),
                       failed=manifest["failed"], wall_time=wall, backend=backend, infra=infra)
