"""The Python API: as short as the CLI.

>>> import sim
>>> result = sim.run("baseline", steps=30, set={"population.size": 100})
>>> result.metrics[["step", "helpers", "using"]].shape
(31, 3)
>>> sim.run("baseline", steps=30, population_size=100, checkins_prob=0.8).scenario.checkins.prob
0.8
"""

# Deferred imports (inside the functions that need them):
# - sim.experiments.sweep, sim.output: the sweep machinery, pandas and pyarrow; only sim.sweep and
#   sim.batch_run need them, and sim.run (through this module) loads without them.

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pandas is imported when a table is made, not at start-up
    import pandas as pd

from sim.core.scenarios import ScenarioError
from sim.engines import make_model, resolve_engine  # noqa: F401  (re-exported)
from sim.limits import check_count
from sim.runner import (  # noqa: F401  (re-exported)
    RunResult, keyword_overrides, prepare, run, set_threads, short_repr_)


def batch_run(scenario: str | Path = "baseline", parameters: Mapping[str, Any] | None = None, *,
              replicates: int = 1, steps: int | None = None, seed: int = 0, sampling: str = "grid",
              samples: int | None = None, metrics: Iterable[str] | None = None, workers: int | None = 1,
              out: str | Path | None = None, common_seeds: bool = True, **unknown: Any) -> "pd.DataFrame":
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
    via = "sim.batch_run"
    if unknown:
        raise ScenarioError(f"{via}: unknown keyword {next(iter(unknown))!r}; it takes replicates, steps, seed, "
                            f"sampling, samples, metrics, workers, out and common_seeds (scenario keys go in "
                            f"parameters)")
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
        for key, value in ({k: v} if "." in k else keyword_overrides({k: v}, "sim.batch_run")).items():
            if key in spec["parameters"] and spec["parameters"][key] != value:
                raise ScenarioError(f"{via}: {key} is given twice in parameters, {short_repr_(spec['parameters'][key])}"
                                    f" and {short_repr_(value)}; give it once")
            spec["parameters"][key] = value
    if steps is not None:
        spec["steps"] = steps
    if samples is not None:
        spec["samples"] = samples
    if metrics is not None:
        spec["metrics"] = list(metrics)
    return sweep(spec, out=out, workers=workers)


def sweep(spec: str | Path | Mapping[str, Any], *, out: str | Path | None = None,
          workers: int | None = None, **unknown: Any) -> "pd.DataFrame":
    """Run (or resume) a sweep file or mapping from Python; returns ``runs.parquet`` as a DataFrame."""
    from sim.experiments.sweep import load_sweep, run_sweep
    from sim.output import check_out_dir

    if unknown:
        raise ScenarioError(f"sim.sweep: unknown keyword {next(iter(unknown))!r}; it takes out and workers (the "
                            f"sweep's own keys go in its file or mapping)")
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
