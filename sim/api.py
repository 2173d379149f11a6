"""The Python API: as short as the CLI.

>>> import sim
>>> result = sim.run("baseline", steps=30, set={"population.size": 100})
>>> result.metrics[["step", "helpers", "using"]].shape
(31, 3)
>>> sim.run("baseline", steps=30, population_size=100, checkins_prob=0.8).scenario.checkins.prob
0.8
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported when a table is made, not at start-up
    import pandas as pd

from sim.engines import make_model, resolve_engine  # noqa: F401  (re-exported)
from sim.runner import RunResult, keyword_overrides, prepare, run, set_threads  # noqa: F401  (re-exported)


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
    spec: dict[str, Any] = {"name": "batch_run", "scenario": str(scenario), "seed": seed,
                            "replicates": replicates, "sampling": sampling, "common_seeds": common_seeds,
                            "parameters": {}}
    for k, v in (parameters or {}).items():  # dotted keys or keywords
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

    from sim.experiments.sweep import load_sweep, run_sweep

    sw = load_sweep(spec) if isinstance(spec, Mapping) else load_sweep(Path(spec))
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="mutualaid-sweep-"))
    try:
        res = run_sweep(sw, folder, workers=workers)
        return res.runs
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
