"""The sweep file: its grammar, read and validated into a :class:`~sim.experiments.sweep.points.Sweep`.

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
"""

# Deferred imports (inside the functions that need them):
# - sim.experiments.stats: it loads numba, pandas and pyarrow; reading and checking a sweep file (and
#   its errors) does not need them, only the names of its columns.

from __future__ import annotations

import difflib
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from sim.core.scenarios import ScenarioError, _suggest, all_keys, load_scenario, load_yaml_file
from sim.core.shipped import SWEEP_DIR
from sim.engines import resolve_engine
from sim.experiments.sweep.designs import MORRIS_LEVELS, SAMPLINGS, _field_type, _morris_step, expand
from sim.experiments.sweep.errors import SweepError
from sim.experiments.sweep.points import DONATION_KEYS, Sweep, point_scenario


#: top-level keys of a sweep file
SWEEP_KEYS = ("name", "description", "scenario", "seed", "replicates", "steps", "engine", "sampling",
              "samples", "levels", "parameters", "metrics", "timeseries", "common_seeds", "until_ci",
              "max_replicates")

#: metrics summarised when a sweep file names none
DEFAULT_METRICS = ("mean_helpers", "mean_stress", "mean_using", "total_relapses", "final_abstinent")

#: Most runs (points x replicates) one sweep may hold: checked before any point is built.
MAX_RUNS = 10_000_000


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


def sweep_names() -> list[str]:
    """Names of the sweeps shipped in ``scenarios/sweeps/`` (without ``.yaml``)."""
    return sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))


def resolve_sweep_path(spec: str | os.PathLike) -> Path:
    """A path to a sweep file, or the name of one shipped in ``scenarios/sweeps/`` (``checkins-x-isolation``)."""
    p = Path(spec)
    if p.is_file() or p.suffix in (".yaml", ".yml") or len(p.parts) != 1:
        return p
    named = SWEEP_DIR / f"{p.name}.yaml"
    return named if named.is_file() else p


def read_sweep_file(path: str | os.PathLike) -> dict:
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
