"""``mutualaid report DIR``: tables, plots and report.md of a sweep folder.

Writes into DIR (the folder of ``mutualaid sweep``):

- ``summary.csv``: one row per point: the swept parameters, ``n`` (runs that
  finished without error), ``failed``, and for every summarised metric its
  mean over replicates with a 95 % t-interval (``<metric>``,
  ``<metric>_ci_low``, ``<metric>_ci_high``);
- ``plots/<metric>.png``: the metric against each swept parameter, mean and
  95 % band (grid: one line per value of a second parameter when there is
  one; sampled designs: each point, and binned means with bands);
- ``plots/heatmap_<metric>__<p1>__<p2>.png``: grid sweeps of two or more
  parameters, the mean over everything else for each pair of values;
- ``sobol.csv`` and ``plots/sobol.png``: with Saltelli sampling, first-order
  (S1) and total (ST) Sobol indices of every metric with their 95 %
  bootstrap intervals (SALib; the response of a point is its mean over
  replicates) and the metric's ``seed_share`` (below);
- ``morris.csv`` and ``plots/morris.png``: with Morris sampling, the
  elementary-effects screening of every metric (SALib): ``mu_star`` (mean
  absolute elementary effect: how much the parameter matters) with its 95 %
  bootstrap interval (``mu_star_conf``, the half-width), ``mu`` (mean effect:
  its sign) and ``sigma`` (spread of the effects: non-linearity or
  interactions), on the scale of the metric per whole range of the
  parameter; the response of a point is its mean over replicates (column
  ``replicates``); the plot puts every parameter on the mu*-sigma plane, one
  panel per metric, with the lines sigma/mu* = 0.1, 0.5 and 1 (Garcia Sanchez
  et al. 2014: below 0.1 nearly linear, above 1 strongly non-linear or
  interacting);
- ``seed_share`` (in ``sobol.csv``, ``morris.csv`` and report.md): the share
  of a metric's variance that comes from the seeds rather than the
  parameters, the within-point variance (replicates of one point differ only
  by their seeds) over the total, within plus the variance the parameters
  make between points (:func:`seed_share`). Near 0 the parameters drive the metric and the
  indices describe them; a large share means most of what varies is noise
  from the seeds, so the indices, computed on point means that still carry
  about ``seed_share / replicates`` of it, rank parameters by a weak signal:
  add replicates (``until_ci``) or widen the ranges before trusting them.
  It needs replicates >= 2 (``n/a`` otherwise);
- ``plots/phase_diagram.png``: a grid sweep of ``donation.b_over_c`` and
  ``network.degree`` under death-birth updating (``kropotkin-phase.yaml``):
  the share of helpers on the grid (one panel per value of
  ``psychology.enabled`` when it is swept), the line ``b/c = k`` (Ohtsuki et
  al. 2006) and, on a ring, the exact finite-population threshold
  (Allen et al. 2017), the observed crossing of one half, and the stress of
  the community where psychology is on;
- ``report.md``: all of it tied together.
"""

# Deferred imports (inside the functions that need them):
# - matplotlib: half a second to import; it loads when a figure is drawn.
# - SALib: only a Sobol or Morris sweep's indices need it.

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.networks import build_ring
from sim.experiments.compare import LEVEL, paired_difference
from sim.experiments.deathbirth import allen_threshold
from sim.experiments.sweep import SAMPLINGS, SWEEP_FILE, SweepError, read_parts
from sim.output import StagedFiles, fmt, safe_name

#: heatmaps drawn at most for this many pairs of parameters
MAX_PAIRS = 3
#: a second parameter with at most this many values gets its own lines
MAX_LINES = 6
#: rows of the summary table shown in report.md (all are in summary.csv)
MAX_TABLE_ROWS = 40


def mean_ci(values) -> tuple[float, float, float, int]:
    """Mean of the finite values, its 95 % t-interval and their count."""
    v = np.asarray(values, dtype=float)
    return paired_difference(np.zeros_like(v), v)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [""])[0][:200]


def load_folder(folder: str | Path) -> tuple[dict, pd.DataFrame]:
    """``(sweep.json contents, runs)`` of a sweep folder; runs include unconsolidated parts."""
    out = Path(folder)
    meta_path = out / SWEEP_FILE
    if not out.is_dir():
        raise SweepError(f"report: {folder}: no such folder (give the --out folder of mutualaid sweep)")
    if not meta_path.is_file():
        raise SweepError(f"report: {folder}: no {SWEEP_FILE} here; is it the folder of a mutualaid sweep?")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SweepError(f"report: {meta_path}: unreadable ({type(e).__name__}: {_first_line(e)}); rerun the sweep "
                         f"into a fresh folder") from None
    missing = [k for k in ("parameters", "metrics", "sampling", "n_points", "replicates")
               if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise SweepError(f"report: {meta_path}: not a sweep description (missing {', '.join(missing)}); rerun the "
                         f"sweep into a fresh folder")
    bad = _meta_problem(meta)
    if bad:
        raise SweepError(f"report: {meta_path}: not a sweep description ({bad}); rerun the sweep into a fresh "
                         f"folder")
    try:
        runs = read_parts(out)
    except Exception as e:  # a truncated or foreign parquet file
        raise SweepError(f"report: {folder}: a results file cannot be read ({type(e).__name__}: {_first_line(e)}); "
                         f"rerun the sweep command to rebuild it") from None
    if runs is None or runs.empty:
        raise SweepError(f"report: {folder}: no finished runs yet; run the sweep first")
    absent = [c for c in ["point", "error", *meta["parameters"]] if c not in runs]
    if absent:
        raise SweepError(f"report: {folder}: the runs have no column {', '.join(map(repr, absent))} that "
                         f"{SWEEP_FILE} names; rerun the sweep into a fresh folder")
    return meta, runs


def _meta_problem(meta: dict) -> str | None:
    """What is wrong with the types of a sweep.json that parses (hand-edited, or another tool's), else None:
    each value the report reads is checked here, so a wrong one is bad input, never an internal error."""
    def names(v) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    def count(v, low: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    if not names(meta["parameters"]):
        return f"parameters = {meta['parameters']!r}: expected a list of parameter names"
    if not names(meta["metrics"]):
        return f"metrics = {meta['metrics']!r}: expected a list of metric names"
    if meta["sampling"] not in SAMPLINGS:
        return f"sampling = {meta['sampling']!r}: expected one of {', '.join(SAMPLINGS)}"
    for key in ("n_points", "replicates"):
        if not count(meta[key], 1):
            return f"{key} = {meta[key]!r}: expected a whole number >= 1"
    if not isinstance(meta.get("spec", {}), dict):
        return f"spec = {meta['spec']!r}: expected a mapping"
    if meta.get("levels") is not None and not count(meta["levels"], 2):
        return f"levels = {meta['levels']!r}: expected a whole number >= 2"
    if meta["sampling"] != "grid":
        prob = meta.get("problem")
        ok = (isinstance(prob, dict) and names(prob.get("names")) and isinstance(prob.get("bounds"), list)
              and len(prob["bounds"]) == len(prob["names"])
              and all(isinstance(b, list) and len(b) == 2 and all(isinstance(x, (int, float)) and
                                                                   not isinstance(x, bool) for x in b)
                      for b in prob["bounds"]))
        if not ok:
            return f"problem = {prob!r}: expected {{names: [...], bounds: [[low, high], ...]}}"
        design = meta.get("design")
        if design is not None and not (isinstance(design, list) and len(design) == meta["n_points"] and all(
                isinstance(r, list) and len(r) == len(prob["names"]) and
                all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r) for r in design)):
            return f"design: expected {meta['n_points']} rows of {len(prob['names'])} numbers"
    return None


def summarize(runs: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """One row per point: parameters, n, failed, and mean with CI of every metric."""
    ok = runs["error"].isna()
    rows = []
    for point, g in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": int(point)}
        for p in params:
            row[p] = g[p].iloc[0]
        good = g[ok.loc[g.index]]
        row["n"] = int(len(good))
        row["failed"] = int(len(g) - len(good))
        for m in metrics:
            mean, lo, hi, _ = mean_ci(good[m].to_numpy(float)) if len(good) else (math.nan,) * 3 + (0,)
            row[m], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = mean, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def _figure(nplots: int, title: str, width: float = 5.0, height: float = 3.8):
    from matplotlib.figure import Figure

    ncols = min(nplots, 3)
    nrows = math.ceil(nplots / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for a in axes[nplots:]:
        a.set_visible(False)
    fig.suptitle(title)
    return fig, axes[:nplots]


def _band(ax, x, groups, label=None, color=None):
    means, los, his = [], [], []
    for vals in groups:
        m, lo, hi, n = mean_ci(vals)
        means.append(m)
        los.append(lo if n >= 2 else m)
        his.append(hi if n >= 2 else m)
    line = ax.plot(x, means, marker="o", ms=3, label=label, color=color)[0]
    ax.fill_between(x, los, his, alpha=0.2, color=line.get_color(), linewidth=0)


#: how a run statistic's prefix reads (the columns keep their names; the report shows these)
_STAT_WORDS = {"mean_": "mean over days", "final_": "last day", "total_": "total"}


def label(column: str) -> str:
    """A readable name of a run statistic: ``mean_mean_stress`` -> ``mean stress (mean over days)``,
    ``final_helpers`` -> ``helpers (last day)``, ``total_relapses`` -> ``relapses (total)``."""
    for prefix, words in _STAT_WORDS.items():
        if column.startswith(prefix) and len(column) > len(prefix):
            return f"{column[len(prefix):].replace('_', ' ')} ({words})"
    return column


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def plot_metric(runs: pd.DataFrame, params: list[str], metric: str, sampled: bool):
    """``plots/<metric>.png``: the metric against each swept parameter with 95 % bands."""
    ok = runs[runs["error"].isna()]
    fig, axes = _figure(max(len(params), 1), f"{label(metric)}: mean and {int(LEVEL * 100)}% interval over runs")
    for ax, p in zip(axes, params):
        if sampled:
            per_point = ok.groupby("point").agg(x=(p, "first"), y=(metric, "mean"))
            ax.scatter(per_point["x"], per_point["y"], s=8, alpha=0.35, color="grey", label="points")
            if len(per_point) >= 4:
                bins = min(10, max(2, len(per_point) // 8))
                edges = np.unique(np.quantile(per_point["x"], np.linspace(0, 1, bins + 1)))
                which = np.clip(np.searchsorted(edges, per_point["x"], side="right") - 1, 0, len(edges) - 2)
                centers, groups = [], []
                for b in range(len(edges) - 1):
                    sel = per_point["y"].to_numpy(float)[which == b]
                    if sel.size:
                        centers.append(float(per_point["x"].to_numpy(float)[which == b].mean()))
                        groups.append(sel)
                _band(ax, centers, groups, label="binned mean")
            ax.legend(fontsize="small")
        else:
            others = [q for q in params if q != p and 1 < ok[q].nunique() <= MAX_LINES]
            xs = sorted(ok[p].dropna().unique(), key=lambda v: (str(type(v)), v))
            xpos = xs if _is_numeric(ok[p]) else list(range(len(xs)))
            if others:
                q = others[0]
                for v in sorted(ok[q].unique(), key=lambda v: (str(type(v)), v)):
                    sub = ok[ok[q] == v]
                    _band(ax, xpos, [sub.loc[sub[p] == x, metric] for x in xs], label=f"{q} = {v}")
                ax.legend(fontsize="small")
            else:
                _band(ax, xpos, [ok.loc[ok[p] == x, metric] for x in xs])
            if not _is_numeric(ok[p]):
                ax.set_xticks(xpos, [str(x) for x in xs])
        ax.set_xlabel(p)
        ax.set_ylabel(label(metric))
        ax.grid(alpha=0.3)
    return fig


def plot_heatmap(runs: pd.DataFrame, p1: str, p2: str, metric: str):
    """Mean of ``metric`` for each pair of values of two grid parameters."""
    ok = runs[runs["error"].isna()]
    table = ok.pivot_table(index=p2, columns=p1, values=metric, aggfunc="mean").sort_index().sort_index(axis=1)
    fig, (ax,) = _figure(1, f"{label(metric)}: mean over replicates and other parameters", width=6.5, height=5)
    im = ax.imshow(table.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [fmt(v) for v in table.columns], rotation=45)
    ax.set_yticks(range(table.shape[0]), [fmt(v) for v in table.index])
    ax.set_xlabel(p1)
    ax.set_ylabel(p2)
    if table.size <= 120:
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                ax.text(j, i, fmt(table.iat[i, j]), ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(im, ax=ax, label=label(metric))
    return fig


PHASE_X, PHASE_Y, PHASE_SPLIT = "donation.b_over_c", "network.degree", "psychology.enabled"


def _setting(spec: dict, key: str):
    """A fixed sweep value, else the base scenario's."""
    fixed = spec.get("fixed") or {}
    if key in fixed:
        return fixed[key]
    node: Any = spec.get("base_scenario") or {}
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def crossing(xs, ys, level: float = 0.5) -> float:
    """Where ``ys`` first rises through ``level`` (linear in log b/c between grid values); NaN if it never does."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if len(xs) and ys[0] >= level:
        return float(xs[0])
    for i in range(1, len(xs)):
        if ys[i - 1] < level <= ys[i]:
            t = (level - ys[i - 1]) / (ys[i] - ys[i - 1])
            return float(np.exp(np.log(xs[i - 1]) + t * (np.log(xs[i]) - np.log(xs[i - 1]))))
    return float("nan")


def phase_diagram(runs: pd.DataFrame, spec: dict):
    """The phase diagram of a donation-game sweep over benefit/cost x degree, or None if this is not one.

    Returns ``(figure, table)``: the table has one row per degree (and psychology setting) with
    ``b/c = k``, the exact threshold of Allen et al. (2017) where the network is a ring, and the
    observed b/c at which the mean final share of helpers crosses one half.
    """
    from matplotlib.colors import Normalize

    ok = runs[runs["error"].isna()]
    if not {PHASE_X, PHASE_Y} <= set(ok.columns) or "final_helpers" not in ok:
        return None
    if ok[PHASE_X].nunique() < 3 or ok[PHASE_Y].nunique() < 2:
        return None
    splits = sorted(ok[PHASE_SPLIT].unique()) if PHASE_SPLIT in ok.columns else [None]
    kind, size = _setting(spec, "network.kind"), _setting(spec, "population.size")
    exact = {}
    if kind == "ring" and size:
        for k in sorted(ok[PHASE_Y].unique()):
            if 2 * int(k) < int(size) - 2:
                exact[k] = allen_threshold(build_ring(int(size), int(k)))
    panels = [("final_helpers", v) for v in splits]
    if "final_mean_stress" in ok and True in splits:
        panels.append(("final_mean_stress", True))
    fig, axes = _figure(len(panels), "When does mutual aid win? Death-birth, benefit/cost x degree",
                        width=5.4, height=3.9)
    rows = []
    xs = sorted(ok[PHASE_X].unique())
    ys = sorted(ok[PHASE_Y].unique())
    pos = lambda v: np.interp(np.log(v), np.log(xs), np.arange(len(xs)))  # noqa: E731
    for ax, (metric, split) in zip(axes, panels):
        part = ok if split is None else ok[ok[PHASE_SPLIT] == split]
        grid = part.pivot_table(index=PHASE_Y, columns=PHASE_X, values=metric, aggfunc="mean").reindex(
            index=ys, columns=xs)
        cmap = "viridis" if metric == "final_helpers" else "magma_r"
        im = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap=cmap, norm=Normalize(0, 1))
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        ax.set_xlabel("benefit / cost (b/c)")
        ax.set_ylabel("ties per member (k)")
        what = "helpers at the end" if metric == "final_helpers" else "stress at the end"
        ax.set_title(what + ("" if split is None else f", psychology {'on' if split else 'off'}"), fontsize=10)
        yi = np.arange(len(ys))
        inside = [k for k in ys if min(xs) <= k <= max(xs)]
        ax.plot([pos(k) for k in inside], [ys.index(k) for k in inside], "w--", lw=1.5, label="b/c = k")
        ex = [(k, v) for k, v in exact.items() if min(xs) <= v <= max(xs)]
        if ex:
            ax.plot([pos(v) for _, v in ex], [ys.index(k) for k, _ in ex], color="#f6ad55", lw=1.8,
                    label="exact, Allen et al. 2017")
        if metric == "final_helpers":
            for k in ys:
                c = crossing(xs, grid.loc[k].to_numpy())
                rows.append({"psychology": "-" if split is None else ("on" if split else "off"), "k": k,
                             "b/c = k": k, "exact (Allen et al. 2017)": exact.get(k, float("nan")),
                             "observed crossing of 1/2": c})
                if np.isfinite(c):
                    ax.plot(pos(c), ys.index(k), "o", mfc="white", mec="black", ms=6)
        ax.set_ylim(yi[0] - 0.5, yi[-1] + 0.5)
        fig.colorbar(im, ax=ax, label=what)
        ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    return fig, pd.DataFrame(rows)


def _point_means(ok: pd.DataFrame, metric: str, n_points: int, need: str, notes: list[str]):
    """Each point's mean of ``metric`` over its finished replicates, or None (with a note saying so) when
    some point has no finished run: the indices need every point."""
    y = ok.groupby("point")[metric].mean().reindex(range(n_points))
    if y.isna().any():
        notes.append(f"{metric}: {int(y.isna().sum())} of {n_points} points have no finished run; "
                     f"{need} (finish the sweep)")
        return None
    return y


def sobol_indices(runs: pd.DataFrame, meta: dict, metrics: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Sobol S1 and ST (with the half-widths of their 95 % bootstrap intervals, SALib's default 100 resamples,
    seeded) and the metric's :func:`seed_share`; notes for metrics that could not be analysed."""
    from SALib.analyze import sobol

    problem = meta["problem"]
    n_points = int(meta["n_points"])
    rows, notes = [], []
    ok = runs[runs["error"].isna()]
    seed = int(meta.get("spec", {}).get("seed") or 0)
    for m in metrics:
        y = _point_means(ok, m, n_points, "Sobol indices need every point", notes)
        if y is None:
            continue
        res = sobol.analyze(problem, y.to_numpy(float), calc_second_order=False, conf_level=LEVEL, seed=seed)
        share = seed_share(runs, m)
        for i, name in enumerate(problem["names"]):
            rows.append({"metric": m, "parameter": name, "S1": res["S1"][i], "S1_conf": res["S1_conf"][i],
                         "ST": res["ST"][i], "ST_conf": res["ST_conf"][i], "seed_share": share})
    cols = ["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf", "seed_share"]
    return pd.DataFrame(rows, columns=cols), notes


def seed_share(runs: pd.DataFrame, metric: str) -> float:
    """Share of ``metric``'s variance that comes from the seeds rather than the parameters.

    ``within / (within + between)``: ``within`` is the variance between replicates of a point (which differ
    only by their seeds), averaged over the points with two or more finished runs; ``between`` is the
    variance of the points' means less the part of it that is their own noise (``within_p / n_p``), at
    least 0: the variance the parameters make. Every point weighs the same, as in the Sobol and Morris
    analyses, so adaptive replication (more runs at the noisier points) does not tilt it. 0 when every
    replicate of a point gives the same value; about 1 when the parameters change nothing. NaN when no point
    has two finished runs (one replicate: the seeds' part cannot be told apart).
    """
    ok = runs.loc[runs["error"].isna(), ["point", metric]].copy()
    ok[metric] = pd.to_numeric(ok[metric], errors="coerce")
    ok = ok[np.isfinite(ok[metric].to_numpy(float))]
    g = ok.groupby("point")[metric]
    n, means, var = g.size(), g.mean(), g.var(ddof=1)
    multi = n >= 2
    if not multi.any():
        return math.nan
    within = float(var[multi].mean())
    if within <= 0.0:
        return 0.0
    noise = float((var.where(multi, within) / n).mean())
    between = max(0.0, float(means.var(ddof=1)) - noise) if len(means) >= 2 else 0.0
    return within / (within + between)


def _replicates_text(runs: pd.DataFrame, metric: str) -> str:
    """How many finished runs a point's mean averages: ``2``, or ``2-8`` when points differ."""
    n = runs[runs["error"].isna() & runs[metric].notna()].groupby("point").size()
    if n.empty:
        return "0"
    lo, hi = int(n.min()), int(n.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def morris_indices(runs: pd.DataFrame, meta: dict, metrics: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Morris screening (SALib) of each metric; notes for metrics that could not be analysed.

    The response of a point is the mean of the metric over its finished replicates. The design given to
    SALib is the sweep's own (``sweep.json``'s ``design``: unrounded, so an integer key's steps keep their
    direction); mu* has a bootstrap interval (1,000 resamples, seeded from the sweep's seed).
    """
    from SALib.analyze import morris

    problem = meta["problem"]
    n_points = int(meta["n_points"])
    spec = meta.get("spec", {})
    levels = int(meta.get("levels") or spec.get("levels") or 4)
    seed = int(spec.get("seed") or 0)
    if meta.get("design") is not None:
        x = np.asarray(meta["design"], dtype=float)
    else:  # an older folder: the points' values as run
        x = runs.groupby("point")[problem["names"]].first().reindex(range(n_points)).to_numpy(float)
    ok = runs[runs["error"].isna()]
    rows, notes = [], []
    for m in metrics:
        y = _point_means(ok, m, n_points, "Morris effects need every point of a trajectory", notes)
        if y is None:
            continue
        res = morris.analyze(problem, x, y.to_numpy(float), num_resamples=1000, conf_level=LEVEL,
                             num_levels=levels, seed=seed)
        share, reps = seed_share(runs, m), _replicates_text(runs, m)
        for i, name in enumerate(problem["names"]):
            rows.append({"metric": m, "parameter": name, "mu_star": float(res["mu_star"][i]),
                         "mu_star_conf": float(res["mu_star_conf"][i]), "mu": float(res["mu"][i]),
                         "sigma": float(res["sigma"][i]), "replicates": reps, "seed_share": share})
    cols = ["metric", "parameter", "mu_star", "mu_star_conf", "mu", "sigma", "replicates", "seed_share"]
    return pd.DataFrame(rows, columns=cols), notes


#: sigma / mu* lines of the Morris plot (Garcia Sanchez et al. 2014)
MORRIS_RATIOS = (0.1, 0.5, 1.0)


def plot_morris(indices: pd.DataFrame):
    """One panel per metric: every parameter at (mu*, sigma), with its mu* interval and its name."""
    metrics = list(dict.fromkeys(indices["metric"]))
    fig, axes = _figure(len(metrics), "Morris screening: mean absolute effect (mu*) against the spread of the "
                                      f"effects (sigma), {int(LEVEL * 100)}% bars on mu*", width=5.4, height=4.4)
    for ax, m in zip(axes, metrics):
        d = indices[indices["metric"] == m]
        ax.errorbar(d["mu_star"], d["sigma"], xerr=d["mu_star_conf"], fmt="o", ms=5, capsize=3, color="#2b6cb0",
                    ecolor="#90cdf4")
        top = max(float(np.nanmax(d["mu_star"] + d["mu_star_conf"])), float(np.nanmax(d["sigma"])), 1e-12) * 1.15
        xs = np.array([0.0, top * 1.35])  # room on the right for the names
        for ratio, style in zip(MORRIS_RATIOS, (":", "--", "-")):
            ax.plot(xs, ratio * xs, style, color="grey", lw=0.8, label=f"sigma = {ratio:g} mu*")
        for r in d.itertuples(index=False):
            ax.annotate(r.parameter, (r.mu_star, r.sigma), xytext=(4, 4), textcoords="offset points",
                        fontsize=8)
        ax.set_xlim(0, top * 1.35)
        ax.set_ylim(0, top)
        ax.set_xlabel("mu* (mean |elementary effect|, per whole range)")
        ax.set_ylabel("sigma (spread of the effects)")
        share = d["seed_share"].iloc[0] if len(d) else math.nan
        ax.set_title(f"{label(m)}; seeds: {fmt(share)} of the variance", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="upper left")
    return fig


def plot_sobol(indices: pd.DataFrame):
    metrics = list(dict.fromkeys(indices["metric"]))
    fig, axes = _figure(len(metrics), f"Sobol indices, first order (S1) and total (ST), {int(LEVEL * 100)}% bars")
    for ax, m in zip(axes, metrics):
        d = indices[indices["metric"] == m]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], capsize=3, label="S1")
        ax.bar(x + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], capsize=3, label="ST")
        ax.set_xticks(x, d["parameter"], rotation=30, ha="right")
        ax.set_title(m, fontsize="medium")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small")
    return fig


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(label(str(c)) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    def cell(v):
        if isinstance(v, (str, bool, np.bool_)):
            return str(v)
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        return fmt(v)

    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _seed_lines(indices: pd.DataFrame) -> list[str]:
    """The share of each metric's variance due to the seeds, as a table with what it means."""
    per = indices.groupby("metric", sort=False)["seed_share"].first()
    rows = pd.DataFrame({"metric": per.index, "seed share": [fmt(v) for v in per.to_numpy(float)]})
    return ["**Share of the variance due to seeds** (within-point variance, between replicates that differ "
            "only by their seeds, over the total: within plus what the parameters make between points; needs "
            "replicates >= 2, else n/a). Near 0 the parameters drive the metric; a large share "
            "means the indices above mostly describe noise from the seeds: add replicates (`until_ci`) or widen "
            "the ranges before trusting them.", "", _md_table(rows), ""]


def _adaptive(out: Path) -> dict | None:
    """The last sweep invocation's adaptive replication (manifest.json), if it asked for one."""
    try:
        ad = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("adaptive")
    except (OSError, ValueError, AttributeError):
        return None
    return ad if isinstance(ad, dict) and {"metric", "width", "reached", "capped", "points"} <= set(ad) else None


def _adaptive_line(ad: dict) -> str:
    return (f"replicates added until the {int(LEVEL * 100)} % interval of `{ad['metric']}` was narrower than "
            f"{fmt(ad['width'])}: {ad['reached']} of {ad['points']} points reached it, {ad['capped']} hit the cap "
            f"of {ad.get('max_replicates')} replicates")


def write_report(folder: str | Path) -> list[str]:
    """Write summary.csv, plots/*.png, sobol.csv (Saltelli) and report.md into ``folder``; return the names."""
    out = Path(folder)
    meta, runs = load_folder(out)
    params = list(meta["parameters"])
    metrics = [m for m in meta["metrics"] if m in runs]
    sampling = meta["sampling"]
    spec = meta.get("spec", {})
    total = int(meta["n_points"]) * int(meta["replicates"])
    summary = summarize(runs, params, metrics)
    figures: dict[str, Any] = {}
    if params:
        for m in metrics:
            figures[f"{safe_name(m)}.png"] = plot_metric(runs, params, m, sampled=sampling != "grid")
    heat = []
    if sampling == "grid":
        multi = [p for p in params if runs[p].nunique() > 1]
        pairs = [(a, b) for i, a in enumerate(multi) for b in multi[i + 1:]][:MAX_PAIRS]
        for p1, p2 in pairs:
            for m in metrics:
                name = f"heatmap_{safe_name(m)}__{safe_name(p1)}__{safe_name(p2)}.png"
                figures[name] = plot_heatmap(runs, p1, p2, m)
                heat.append((m, p1, p2, name))
    phase = phase_diagram(runs, spec) if sampling == "grid" else None
    if phase is not None:
        figures["phase_diagram.png"] = phase[0]
    indices, notes = (None, [])
    if sampling == "saltelli":
        indices, notes = sobol_indices(runs, meta, metrics)
        if len(indices):
            figures["sobol.png"] = plot_sobol(indices)
    screening, morris_notes = (None, [])
    if sampling == "morris":
        screening, morris_notes = morris_indices(runs, meta, metrics)
        if len(screening):
            figures["morris.png"] = plot_morris(screening)
    adaptive = _adaptive(out)
    planned = runs[runs["replicate"] < int(meta["replicates"])] if "replicate" in runs else runs
    extra = len(runs) - len(planned)
    # report.md
    failed = runs[runs["error"].notna()]
    lines = [f"# Sweep report: {spec.get('name', out.name)}", ""]
    if spec.get("description"):
        lines += [str(spec["description"]).strip(), ""]
    fixed = ", ".join(f"`{k}={v}`" for k, v in (spec.get("fixed") or {}).items()) or "none"
    lines += [
        f"- base scenario: `{spec.get('scenario')}`; fixed: {fixed}; steps: {spec.get('steps') or 'scenario'}",
        f"- sampling: **{sampling}**; swept: {', '.join(f'`{p}`' for p in params) or 'nothing'}",
        f"- {meta['n_points']} points x {meta['replicates']} replicates = {total} runs"
        + (f" + {extra} added by adaptive replication" if extra else "")
        + f"; finished {len(runs)}, failed {len(failed)}"
        + ("" if len(planned) == total else f" (**incomplete**: rerun the sweep command to finish)"),
        f"- seeds from `SeedSequence({spec.get('seed')})`, "
        + ("common random numbers (replicate r has the same seed at every point)" if spec.get("common_seeds", True)
           else "an independent seed per run"),
        f"- intervals: {int(LEVEL * 100)} % t-intervals of the mean over replicates",
        *([f"- adaptive replication: {_adaptive_line(adaptive)}"] if adaptive else []), "",
        "## Summary per point", "",
        f"Mean over replicates with {int(LEVEL * 100)} % interval; all {len(summary)} rows in `summary.csv`.", "",
    ]
    show = summary[["point", *params, "n", "failed", *metrics]].head(MAX_TABLE_ROWS)
    lines += [_md_table(show), ""]
    if len(summary) > MAX_TABLE_ROWS:
        lines += [f"({len(summary) - MAX_TABLE_ROWS} more rows in `summary.csv`)", ""]
    if params:
        lines += ["## Metrics against each parameter", ""]
        for m in metrics:
            lines += [f"![{label(m)}](plots/{safe_name(m)}.png)", ""]
    if heat:
        lines += ["## Heatmaps", ""]
        for m, p1, p2, name in heat:
            lines += [f"**{label(m)}** by `{p1}` and `{p2}`:", "", f"![{m}](plots/{name})", ""]
    if phase is not None:
        lines += ["## Phase diagram", "",
                  "Mean final share of helpers over benefit/cost and degree (and the community's stress where "
                  "psychology is on). Dashed: `b/c = k` (Ohtsuki et al. 2006, large populations under weak "
                  "selection). Orange: the exact threshold of Allen et al. (2017) for this network and size "
                  "(drawn on rings, where it is `(N - 2)/(N/k - 2)`). Circles: where the mean share crosses "
                  "one half.", "", "![phase diagram](plots/phase_diagram.png)", "", _md_table(phase[1]), ""]
    if sampling == "saltelli":
        lines += ["## Sobol indices", "",
                  "First-order (S1: the share of the variance due to the parameter alone) and total (ST: "
                  "including its interactions) indices, SALib, response = mean over replicates of each point; "
                  f"`±` is the half-width of the {int(LEVEL * 100)} % bootstrap interval.", ""]
        if indices is not None and len(indices):
            tbl = indices.assign(S1=[f"{fmt(a)} ± {fmt(b)}" for a, b in zip(indices["S1"], indices["S1_conf"])],
                                 ST=[f"{fmt(a)} ± {fmt(b)}" for a, b in zip(indices["ST"], indices["ST_conf"])])
            lines += [_md_table(tbl[["metric", "parameter", "S1", "ST"]]), "", "![Sobol](plots/sobol.png)", ""]
        lines += [f"- {n}" for n in notes] + ([""] if notes else [])
        if indices is not None and len(indices):
            lines += _seed_lines(indices)
    if sampling == "morris":
        lines += ["## Morris screening", "",
                  f"Elementary effects (Morris 1991; SALib), {spec.get('samples')} trajectories on a grid of "
                  f"{meta.get('levels') or spec.get('levels')} levels per range. **The response of a point is the "
                  "mean of the metric over its replicates** (column *replicates*). mu*: the mean absolute effect "
                  "of moving the parameter (on the metric's scale, per whole range of the parameter): how much it "
                  f"matters, `±` the half-width of its {int(LEVEL * 100)} % bootstrap interval; mu: the mean "
                  "effect (its sign: opposite signs cancel here); sigma: the spread of the effects "
                  "(non-linearity or interactions). Parameters by mu*, largest first.", ""]
        if screening is not None and len(screening):
            tbl = screening.sort_values(["metric", "mu_star"], ascending=[True, False], kind="stable")
            tbl = tbl.assign(**{"mu*": [f"{fmt(a)} ± {fmt(b)}" for a, b in zip(tbl["mu_star"], tbl["mu_star_conf"])],
                                "sigma/mu*": [fmt(b / a) if a > 0 else "n/a"
                                              for a, b in zip(tbl["mu_star"], tbl["sigma"])]})
            order = {m: i for i, m in enumerate(metrics)}
            tbl = tbl.sort_values("metric", key=lambda c: c.map(order), kind="stable")
            lines += [_md_table(tbl[["metric", "parameter", "mu*", "mu", "sigma", "sigma/mu*", "replicates"]]), "",
                      "![Morris](plots/morris.png)", ""]
            lines += _seed_lines(screening)
        lines += [f"- {n}" for n in morris_notes] + ([""] if morris_notes else [])
    if len(failed):
        lines += ["## Failed runs", "", f"{len(failed)} runs raised; the first ones:", ""]
        for r in failed.head(10).itertuples(index=False):
            lines.append(f"- run {r.run_id} (point {r.point}, replicate {r.replicate}, seed {r.seed}): "
                         f"`{r.error}`")
        lines.append("")
    lines += ["## Files", "", "`runs.parquet` (one row per run), `summary.csv`, `plots/`"
              + (", `sobol.csv`" if indices is not None and len(indices) else "")
              + (", `morris.csv`" if screening is not None and len(screening) else "") + ", `manifest.json`.", ""]
    written = []
    with StagedFiles(out / "plots") as files:
        for name, fig in figures.items():
            files.write_figure(name, fig)
        written += [f"plots/{n}" for n in files.names]
    with StagedFiles(out) as files:
        files.write_csv("summary.csv", summary)
        if indices is not None and len(indices):
            files.write_csv("sobol.csv", indices)
        if screening is not None and len(screening):
            files.write_csv("morris.csv", screening)
        files.write_text("report.md", "\n".join(lines))
        written = files.names + written
    return written
