"""Refitting the fitted parameters of a scenario (``mutualaid calibrate``, :func:`sim.calibrate`).

ABC-SMC with ``pyabc`` as in :mod:`sim.experiments.abcfit` (uniform priors over the ranges of
:data:`sim.experiments.calibrate.SPACE`, the distance of the patterns from their targets in tolerance
units), with what the first fit lacked:

- **replicates**: a particle's patterns are the mean over ``replicates`` runs (:func:`abcfit.measured`),
  each on the calibration seed of ``(parameters, replicate)`` (:func:`abcfit._seed`: 0-999, never a
  validation seed), so one lucky run cannot admit a particle;
- **a budget** in simulations (runs: particles x replicates) and/or minutes, checked at the end of each
  generation (the run stops cleanly there), and a cap on the generations;
- **resume**: the folder keeps ``calibrate.db`` (pyabc's SQLite history) and ``calibration.json`` (the
  settings); a second call with the same folder continues the stored run (``ABCSMC.load``), one with other
  settings is refused naming the difference;
- **outputs**: ``posterior.parquet`` (one row per particle: parameters, weight), ``summary.json``,
  ``report.md``, ``marginals.png``, ``pairs.png``, rewritten after every call.

:func:`sbc` checks the method: simulation-based calibration (Talts et al. 2018) on synthetic data.
"""

# Deferred imports (inside the functions that need them):
# - pyabc: the calibration extra (pip install mutual-aid-sim[calibration]); the module loads without it.
# - distributed: only --dask needs it (the cluster extra).
# - matplotlib: half a second to import; only the report's figures need it.
# - sim.output: it loads pandas and pyarrow, which only writing the outputs needs.

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sim import __version__
from sim.core.registry import PARAMS
from sim.core.scenarios import ScenarioError, load_scenario
from sim.experiments import abcfit
from sim.experiments.calibrate import SPACE
from sim.experiments.patterns import pooled
from sim.limits import cap, check_count

METHODS = ("abc",)
#: files of a calibration folder: the settings (its marker), the database, and the outputs
SETTINGS_FILE = "calibration.json"
DB_FILE = "calibrate.db"
OUTPUTS = ("posterior.parquet", "summary.json", "report.md", "marginals.png", "pairs.png")
#: the settings a resumed run must share with the stored one (budgets and the generations cap may change)
SETTINGS = ("method", "scenario", "parameters", "replicates", "population", "size", "observed")
#: pyabc stops a run whose generation accepts fewer than this share of its proposals
MIN_ACCEPTANCE = 0.01


class CalibrationError(Exception):
    """Bad arguments or a folder that cannot be used (a ScenarioError when raised through :func:`calibrate`)."""


def _fail(message: str):

    raise ScenarioError(message)


def parameter_keys(parameters=None, via: str = "calibrate") -> tuple[str, ...]:
    """The fitted keys to infer: None or "screened" (:data:`abcfit.SCREENED`), "all" (every fitted key), or
    keys (a list or "KEY,KEY"); a key that is not a scenario key, or not a fitted one, is refused."""

    if parameters is None or parameters == "screened":
        return tuple(abcfit.SCREENED)
    if parameters == "all":
        return tuple(SPACE)
    keys = [k.strip() for k in parameters.split(",")] if isinstance(parameters, str) else list(parameters)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        _fail(f"{via} {parameters!r}: expected fitted keys KEY,KEY, 'screened' or 'all'")
    for k in keys:
        if k not in PARAMS:
            _fail(f"{via}: {k!r} is not a scenario key (fitted keys: {', '.join(SPACE)})")
        if k not in SPACE:
            _fail(f"{via}: {k} is a {PARAMS[k].status} key, not a fitted one; calibrate infers fitted keys "
                  f"({', '.join(SPACE)})")
    if len(set(keys)) != len(keys):
        _fail(f"{via}: a key is given twice ({','.join(keys)})")
    return tuple(k for k in SPACE if k in keys)  # SPACE's order, whatever the order given


class Simulator:
    """A particle's summary statistics: :func:`abcfit.patterns` of the patterns averaged over replicates
    (picklable, for worker processes and Dask)."""

    def __init__(self, scenario: str, size: int, replicates: int):
        self.scenario, self.size, self.replicates = scenario, size, replicates

    def __call__(self, theta) -> dict[str, float]:

        theta = {k: float(v) for k, v in dict(theta).items()}
        runs = [abcfit.measured(theta, self.scenario, self.size, r) for r in range(self.replicates)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a pattern missing from every run: NaN, then MISSING
            return abcfit.patterns(pooled(runs))


def seeds(theta: dict, replicates: int) -> list[int]:
    """The calibration seeds of a parameter vector's runs."""
    return [abcfit._seed(theta, r) for r in range(replicates)]


def kish_ess(w) -> float:
    """Kish's effective sample size, (sum w)^2 / sum w^2 (:func:`abcfit.ess`)."""
    return abcfit.ess(np.asarray(w, dtype=np.float64))


@dataclass
class Calibration:
    """What :func:`calibrate` returns: the last generation's particles and what was written."""

    out: Path
    posterior: Any  # DataFrame: parameters and weight
    summary: dict
    stopped: str  # why this call stopped


def _sampler(workers: int, dask: str | None):
    import pyabc

    if dask is None:
        # worker processes are forked: as abcfit, one process when asked for one
        sampler = (pyabc.sampler.SingleCoreSampler() if workers == 1
                   else pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers))
        return sampler, None, f"{workers} process{'es' * (workers != 1)} on this machine (no Dask)"
    from distributed import Client, LocalCluster

    if dask == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        close = lambda: (client.close(), cluster.close())  # noqa: E731
    else:
        try:
            client = Client(dask, timeout=20)
        except (OSError, TimeoutError, ValueError) as e:
            _fail(f"--dask {dask}: cannot reach the scheduler ({e})")
        close = client.close
    return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), close, f"Dask ({dask})"


def _settings(scenario, keys, replicates, population, size, observed) -> dict:
    return {"method": "abc", "scenario": str(scenario), "parameters": list(keys), "replicates": replicates,
            "population": population, "size": size,
            "observed": None if observed is None else {k: float(v) for k, v in observed.items()}}


def _folder(out: Path, settings: dict, resume: bool) -> bool:
    """Check ``out`` for this calibration; True when it holds a run to resume."""
    from sim.output import check_out_dir

    check_out_dir(out, option="out")
    if not out.exists() or not any(out.iterdir()):
        return False
    stored_file = out / SETTINGS_FILE
    if not stored_file.is_file():
        names = sorted(p.name for p in out.iterdir())
        _fail(f"out {out}: holds files that are not a calibration's ({', '.join(names[:4])}); nothing was "
              f"written: give a new or empty folder")
    if not resume:
        _fail(f"out {out}: holds a calibration; nothing was written: resume it (the default) or give another folder")
    try:
        stored = json.loads(stored_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        _fail(f"out {out}: {SETTINGS_FILE} cannot be read ({e}); nothing was written")
    for k in SETTINGS:
        if stored.get(k) != settings[k]:
            shown = (lambda v: "synthetic patterns" if k == "observed" and v else
                     "the targets" if k == "observed" else ",".join(v) if isinstance(v, list) else v)
            _fail(f"out {out}: holds a calibration with {k} {shown(stored.get(k))}, not {shown(settings[k])}; "
                  f"nothing was written: give the same settings to resume it, or another folder")
    if not (out / DB_FILE).is_file():
        return False
    return True


def _check_args(scenario, replicates, budget_sims, budget_minutes, population, generations, workers, size,
                via) -> None:

    if isinstance(scenario, bool) or not isinstance(scenario, (str, Path)):
        _fail(f"{via}: scenario = {scenario!r}: expected a scenario name (e.g. 'baseline') or a path")
    check_count("replicates", replicates, via)
    check_count("budget_sims", budget_sims, via)
    check_count("population", population, via, low=2)
    check_count("generations", generations, via)
    check_count("workers", workers, via)
    check_count("size", size, via, low=10)
    if budget_minutes is not None and (isinstance(budget_minutes, bool) or not isinstance(budget_minutes, (int, float))
                                       or not budget_minutes > 0 or not math.isfinite(budget_minutes)):
        _fail(f"{via}: budget_minutes = {budget_minutes!r}: expected a number of minutes > 0")


def calibrate(scenario: str | Path = "baseline", *, method: str = "abc", parameters=None, replicates: int = 3,
              budget_sims: int | None = None, budget_minutes: float | None = None, population: int = 100,
              generations: int = 8, size: int = abcfit.SIZE, out: str | Path = "results/calibrate/baseline",
              workers: int | None = None, dask: str | None = None, resume: bool = True,
              progress: Callable[[str], None] | None = None, observed: dict | None = None,
              truth: dict | None = None, seed: int | None = 0, argv=None) -> Calibration:
    """Infer the fitted parameters of ``scenario`` from the fitted patterns by ABC-SMC (module docstring).

    ``parameters``: "screened" (None), "all" or fitted keys. ``generations`` caps the generations of the
    stored run (a resumed run counts the stored ones). ``observed`` replaces the targets by synthetic patterns
    (:func:`sbc`; ``truth``, the parameters that made them, is marked in the plots). ``seed`` seeds pyabc's
    proposals (numpy's global generator) for a new run. Returns a :class:`Calibration`."""
    import pyabc


    via = "sim.calibrate"
    if method not in METHODS:
        _fail(f"{via}: method = {method!r}: expected one of {', '.join(METHODS)} (npe and history matching are "
              f"not built yet)")
    _check_args(scenario, replicates, budget_sims, budget_minutes, population, generations, workers, size, via)
    keys = parameter_keys(parameters, f"{via}: parameters")
    load_scenario(scenario, {})  # an unknown scenario: one line
    workers, _ = cap("workers", workers)
    out = Path(out)
    settings = _settings(scenario, keys, replicates, population, size, observed)
    resuming = _folder(out, settings, resume)
    say = progress or (lambda _m: None)
    target = dict(observed) if observed is not None else abcfit.observed()

    out.mkdir(parents=True, exist_ok=True)
    if not (out / SETTINGS_FILE).is_file():
        (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    db = f"sqlite:///{(out / DB_FILE).resolve()}"
    prior = pyabc.Distribution(**{k: pyabc.RV("uniform", SPACE[k][0], SPACE[k][1] - SPACE[k][0]) for k in keys})
    sampler, close, backend = _sampler(workers, dask)
    say(f"sampler: {backend}")
    t0 = time.perf_counter()
    stopped = "the generations cap"
    import logging

    quiet = logging.getLogger("ABC")  # pyabc's own lines; the progress callback says what matters
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        def make():
            return pyabc.ABCSMC(Simulator(str(scenario), size, replicates), prior,
                                pyabc.PNormDistance(p=2, fixed_weights=abcfit.weights()),
                                population_size=population, sampler=sampler)

        abc = make()
        if resuming:
            abc.load(db, 1)
            say(f"resuming {out / DB_FILE}: {abc.history.max_t + 1} generations stored")
        else:
            if seed is not None:
                np.random.seed(seed)
            abc.new(db, target)
        stored = json.loads((out / SETTINGS_FILE).read_text(encoding="utf-8"))
        minutes_before = float(stored.get("minutes", 0.0))
        while True:
            h = abc.history
            done, sims = h.max_t + 1, h.total_nr_simulations * replicates
            minutes = minutes_before + (time.perf_counter() - t0) / 60
            if done >= generations:
                stopped = f"the generations cap ({generations})"
                break
            if budget_sims is not None and sims >= budget_sims:
                stopped = f"the budget of {budget_sims} simulations"
                break
            if budget_minutes is not None and minutes >= budget_minutes:
                stopped = f"the budget of {budget_minutes:g} minutes"
                break
            left = None if budget_minutes is None else (budget_minutes - minutes)
            if done:  # each generation from the stored run, as a resume does: a run() called again on the same
                abc = make()  # ABCSMC would set its threshold from its first sample again, not from the last
                abc.load(db, 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                abc.run(max_nr_populations=1, min_acceptance_rate=MIN_ACCEPTANCE)
            h = abc.history
            if h.max_t + 1 == done:  # pyabc accepted too few proposals: no new generation
                stopped = f"an acceptance rate below {MIN_ACCEPTANCE:.0%}"
                break
            pops = h.get_all_populations()
            last = pops[pops["t"] == h.max_t].iloc[0]
            _, w = h.get_distribution(t=h.max_t)
            minutes = minutes_before + (time.perf_counter() - t0) / 60
            say(f"generation {h.max_t}: {population} accepted of {int(last['samples'])} proposed, "
                f"epsilon {last['epsilon']:.3g}, ESS {kish_ess(w):.1f}, "
                f"{h.total_nr_simulations * replicates} simulations so far, {minutes:.1f} min"
                + ("" if left is None else f" (budget {budget_minutes:g} min)"))
    finally:
        quiet.setLevel(level)
        if close is not None:
            close()
    minutes = minutes_before + (time.perf_counter() - t0) / 60
    stored["minutes"] = minutes
    (out / SETTINGS_FILE).write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    say(f"stopped at {stopped}")
    return _write(out, abc.history, keys, settings, minutes, backend, stopped, truth, argv)


def _position(lo: float, hi: float, x: float) -> str:
    return "below" if x < lo else "above" if x > hi else "inside"


def _write(out: Path, history, keys, settings, minutes, backend, stopped, truth, argv) -> Calibration:
    from sim.output import StagedFiles, git_info, utc_now

    df, w = history.get_distribution(t=history.max_t)
    w = np.asarray(w, dtype=np.float64)
    post = df[list(keys)].reset_index(drop=True)
    post["weight"] = w
    rows = abcfit.summary(df, w, settings["scenario"])
    replicates = settings["replicates"]
    summary = {
        "scenario": settings["scenario"], "method": "abc", "parameters": list(keys),
        "replicates": replicates, "population": settings["population"], "size": settings["size"],
        "observed": "synthetic patterns" if settings["observed"] else "the targets (calibrate.TARGETS, helper ratio)",
        "prior": {k: list(SPACE[k]) for k in keys},
        "effective_sample_size": kish_ess(w), "particles": len(w),
        "quantiles": {r["parameter"]: {"q05": r["q05"], "q50": r["median"], "q95": r["q95"]} for r in rows},
        "defaults": {r["parameter"]: {"value": r["default"], "position": _position(r["q05"], r["q95"], r["default"])}
                     for r in rows},
        "generations": int(history.max_t + 1),
        "simulations": int(history.total_nr_simulations * replicates),
        "minutes": round(float(minutes), 3), "stopped": stopped, "sampler": backend,
        "seeds": {"rule": "calibration seed of (parameters, replicate): sha256 of the rounded parameters, mod 1000",
                  "range": [0, 999],
                  "last_generation": sorted({s for _, row in df.iterrows()
                                             for s in seeds({k: row[k] for k in keys}, replicates)})},
        "code_version": {"version": __version__, **git_info()}, "written_utc": utc_now(),
        "command_line": " ".join(argv) if argv else None,
    }
    if truth is not None:
        summary["truth"] = {k: float(truth[k]) for k in keys}
    text = _report(summary, abcfit.markdown(rows, history))
    fig_m, fig_p = marginals(post, keys, summary), pairs(post, keys, truth)
    import matplotlib.pyplot as plt

    try:
        with StagedFiles(out) as files:
            files.write_parquet("posterior.parquet", post)
            files.write_json("summary.json", summary)
            files.write_text("report.md", text)
            files.write_figure("marginals.png", fig_m)
            files.write_figure("pairs.png", fig_p)
    finally:
        plt.close(fig_m)
        plt.close(fig_p)
    return Calibration(out, post, summary, stopped)


def _report(s: dict, table: str) -> str:
    return "\n".join([
        f"# Calibration of {s['scenario']}: ABC-SMC", "",
        f"Patterns fitted: {s['observed']}. {len(s['parameters'])} parameters, uniform priors; "
        f"{s['population']} particles a generation, each the mean of {s['replicates']} runs at {s['size']} "
        f"members on calibration seeds. Sampler: {s['sampler']}.", "",
        f"{s['generations']} generations, {s['simulations']} simulations, {s['minutes']:.1f} minutes; stopped at "
        f"{s['stopped']}. Effective sample size (Kish) {s['effective_sample_size']:.1f} of {s['particles']} "
        f"particles.", "",
        table, "",
        "![marginal posteriors](marginals.png)", "", "![pairs](pairs.png)", ""])


def marginals(post, keys, summary):
    """A weighted histogram per parameter over its prior range: the 90% range shaded, the median and the
    scenario's default (and the truth, in a check) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(keys)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    w = post["weight"].to_numpy()
    for ax, k in zip(axes.flat, keys):
        lo, hi = SPACE[k]
        q = summary["quantiles"][k]
        ax.hist(post[k], bins=20, range=(lo, hi), weights=w, color="#4c72b0", alpha=0.8)
        ax.axvspan(q["q05"], q["q95"], color="#4c72b0", alpha=0.12, label="90% range")
        ax.axvline(q["q50"], color="#1f3b73", label="median")
        ax.axvline(summary["defaults"][k]["value"], color="#c44e52", ls="--", label="default")
        if "truth" in summary:
            ax.axvline(summary["truth"][k], color="#55a868", lw=2, label="truth")
        ax.set_xlim(lo, hi)
        ax.set_title(k, fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Posterior of {summary['scenario']} (ESS {summary['effective_sample_size']:.1f})")
    fig.tight_layout()
    return fig


def pairs(post, keys, truth=None):
    """Every pair of parameters: the particles, their area proportional to weight, over the prior ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(keys)
    side = max(2.0, min(2.4, 16 / max(n, 1)))
    fig, axes = plt.subplots(n, n, figsize=(side * n + 1, side * n + 1), squeeze=False)
    w = post["weight"].to_numpy()
    size = 8 + 120 * w / max(w.max(), 1e-300)
    for i, ki in enumerate(keys):
        for j, kj in enumerate(keys):
            ax = axes[i][j]
            ax.tick_params(labelsize=7)
            ax.locator_params(nbins=4)
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(post[ki], bins=15, range=SPACE[ki], weights=w, color="#4c72b0")
                ax.set_xlim(*SPACE[ki])
            else:
                ax.scatter(post[kj], post[ki], s=size, alpha=0.4, color="#4c72b0", edgecolors="none")
                if truth is not None:
                    ax.plot(truth[kj], truth[ki], "*", color="#55a868", ms=10)
                ax.set_xlim(*SPACE[kj])
                ax.set_ylim(*SPACE[ki])
            if i == n - 1:
                ax.set_xlabel(kj.split(".")[-1], fontsize=8)
            if j == 0:
                ax.set_ylabel(ki.split(".")[-1], fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the check: SBC


def weighted_rank(values, w, truth: float) -> float:
    """The truth's place in a weighted posterior sample: the posterior weight below it (ties half), in [0, 1]."""
    v, w = np.asarray(values, dtype=np.float64), np.asarray(w, dtype=np.float64)
    w = w / w.sum()
    return float(w[v < truth].sum() + 0.5 * w[v == truth].sum())


def sbc(scenario: str | Path = "baseline", truths: int = 10, *, parameters=None, replicates: int = 2,
        budget_sims: int | None = None, population: int = 30, generations: int = 3, size: int = 300,
        out: str | Path = "results/calibrate/check", workers: int | None = None, seed: int = 0,
        progress: Callable[[str], None] | None = None, argv=None) -> dict:
    """Simulation-based calibration: ``truths`` parameter vectors drawn from the prior (generator ``seed``);
    the patterns of each (the particles' statistic: the mean of ``replicates`` runs on the truth's calibration
    seeds) fed back as the observed patterns; a calibration per
    truth (folder ``out/truth_K``, resumable); the rank of each truth in its posterior. Writes ``sbc.json``,
    ``sbc.md`` and ``ranks.png`` into ``out``; returns the ``sbc.json`` content: per truth the ranks, and per
    parameter the share of truths inside the central 50% and 90% posterior intervals (about 0.5 and 0.9 when
    the posterior is calibrated)."""
    from sim.output import StagedFiles

    check_count("truths", truths, "sim.calibrate check")
    keys = parameter_keys(parameters, "sim.calibrate check: parameters")
    say = progress or (lambda _m: None)
    out = Path(out)
    from sim.output import check_out_dir

    check_out_dir(out, option="out")
    if out.exists() and any(out.iterdir()) and not (out / "sbc_settings.json").is_file():
        _fail(f"out {out}: holds files that are not a calibration check's; nothing was written: give a new or "
              f"empty folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sbc_settings.json").write_text(json.dumps({"scenario": str(scenario), "parameters": list(keys),
                                                       "seed": seed}) + "\n", encoding="utf-8")
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(truths):
        truth = {k: float(rng.uniform(*SPACE[k])) for k in keys}
        observed = _observe(Simulator(str(scenario), size, replicates), truth, workers)
        say(f"truth {i + 1}/{truths}: {', '.join(f'{k}={v:.4g}' for k, v in truth.items())}")
        res = calibrate(scenario, parameters=keys, replicates=replicates, budget_sims=budget_sims,
                        population=population, generations=generations, size=size, out=out / f"truth_{i}",
                        workers=workers, observed=observed, truth=truth, seed=seed + i, progress=progress)
        post = res.posterior
        ranks = {k: weighted_rank(post[k], post["weight"], truth[k]) for k in keys}
        rows.append({"truth": truth, "ranks": ranks, "ess": res.summary["effective_sample_size"],
                     "intervals": {k: [res.summary["quantiles"][k]["q05"], res.summary["quantiles"][k]["q95"]]
                                   for k in keys}})
    coverage = {k: {"50%": float(np.mean([abs(r["ranks"][k] - 0.5) <= 0.25 for r in rows])),
                    "90%": float(np.mean([abs(r["ranks"][k] - 0.5) <= 0.45 for r in rows]))} for k in keys}
    result = {"scenario": str(scenario), "parameters": list(keys), "truths": rows, "coverage": coverage,
              "settings": {"replicates": replicates, "population": population, "generations": generations,
                           "size": size, "budget_sims": budget_sims, "seed": seed}}
    lines = [f"# Simulation-based calibration of {scenario}", "",
             f"{truths} truths drawn from the prior; the patterns of each (the mean of {replicates} runs) fed back; a calibration of "
             f"each ({population} particles, {replicates} replicates, at most {generations} generations, "
             f"{size} members). A calibrated posterior holds the truth in its central 50% interval about half "
             f"the time and in its 90% interval about 9 times in 10, and the ranks are uniform.", "",
             "| parameter | truth in 50% interval | truth in 90% interval |", "|---|---|---|"]
    lines += [f"| `{k}` | {c['50%']:.2f} | {c['90%']:.2f} |" for k, c in coverage.items()]
    lines += ["", "![rank histograms](ranks.png)", ""]
    fig = rank_histograms(rows, keys)
    import matplotlib.pyplot as plt

    try:
        with StagedFiles(out) as files:
            files.write_json("sbc.json", result)
            files.write_text("sbc.md", "\n".join(lines))
            files.write_figure("ranks.png", fig)
    finally:
        plt.close(fig)
    return result


def _observe(simulator: Simulator, truth: dict, workers: int | None) -> dict[str, float]:
    """The synthetic patterns of a truth: the statistic the particles are compared on (the mean over the
    replicates, each on the truth's calibration seeds), so that the data come from the model the inference
    assumes. With several workers the runs go to a spawned process, so that this one has run no kernel
    threads when pyabc forks its workers."""
    if workers == 1:
        return simulator(truth)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(simulator, truth).result()


def rank_histograms(rows, keys):
    """Per parameter, the histogram of the truths' ranks (flat when the posterior is calibrated)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(keys)
    cols = min(n, 3)
    fig, axes = plt.subplots(-(-n // cols), cols, figsize=(4 * cols, 3 * -(-n // cols)), squeeze=False)
    bins = max(2, min(10, len(rows) // 2))
    for ax, k in zip(axes.flat, keys):
        ax.hist([r["ranks"][k] for r in rows], bins=bins, range=(0, 1), color="#4c72b0")
        ax.axhline(len(rows) / bins, color="k", ls="--", lw=1)
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("rank of the truth in its posterior", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
