"""Comparing two scenarios with common random numbers.

>>> from sim.experiments.compare import compare
>>> res = compare("baseline", "baseline", replicates=2, steps=10,
...               set={"population.size": 60})                   # doctest: +SKIP
>>> res.summary.query("stat == 'mean' and metric == 'using'")    # doctest: +SKIP

Replicate ``r`` of A and replicate ``r`` of B run with the same seed, taken
from a :class:`numpy.random.SeedSequence` spawned in the calling process, so
the two arms differ only by their parameters (common random numbers) and the
differences B - A are paired. The summary gives, for every metric of
:data:`sim.core.metrics.COLUMNS`, the mean of A and of B over replicates and the
mean paired difference with a 95 % t-interval, for three per-run statistics:

- ``mean``: the run's mean over days 1..steps,
- ``final``: the value on the last day,
- ``total``: the sum over the run (count metrics only).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np
import pandas as pd
from scipy import stats

from sim import runner
from sim.core.scenarios import ScenarioError
from sim.core.schema import Scenario
from sim.engines import resolve_engine
from sim.experiments.stats import METRICS, TOTALS, run_stats, run_stats_rows  # noqa: F401  (re-exported)
from sim.experiments.sweep import _iter_pool
from sim.limits import cap, check_count
from sim.output import fmt_fixed, key_values, new_figure, row_decimals, run_mean, table
from sim.runner import prepare

#: confidence level of the intervals
LEVEL = 0.95


#: default replicates: at 12 the 95% interval of the check-ins headline (baseline against no-checkins)
#: is about a third of the effect either side; at 5 it reaches zero (benchmarks/RESULTS.md)
DEFAULT_REPLICATES = 12

#: switches a trainer names in words: key -> the thing it switches
SWITCH_WORDS = {"checkins.enabled": "check-ins", "sponsorship.enabled": "sponsorship",
                "isolation.enabled": "the closure", "turnover.enabled": "turnover",
                "evolution.enabled": "evolution", "psychology.enabled": "psychology",
                "recovery.enabled": "recovery capital"}


def _flat(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def differences(a: Scenario, b: Scenario) -> dict[str, tuple[Any, Any]]:
    """The scenario keys in which B differs from A (name, description and seed aside): key -> (a, b)."""
    fa, fb = _flat(a.model_dump(mode="json")), _flat(b.model_dump(mode="json"))
    skip = {"name", "description", "seed", "engine"}
    return {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if k not in skip and fa.get(k) != fb.get(k)}


def difference_label(a: Scenario, b: Scenario) -> str:
    """B named by what differs from A: 'Without check-ins', 'With the closure',
    'With checkins.prob = 0.4 (A: 0.8)', or 'B (no difference)'."""
    diff = differences(a, b)
    if not diff:
        return "B (no difference)"
    words = []
    for k, (va, vb) in diff.items():
        if k in SWITCH_WORDS and isinstance(va, bool):
            words.append(("Without " if va and not vb else "With ") + SWITCH_WORDS[k])
    if len(words) == len(diff):
        return ", ".join(w if i == 0 else w[0].lower() + w[1:] for i, w in enumerate(words))
    k, (va, vb) = next(iter(diff.items()))
    more = f" and {len(diff) - 1} more" if len(diff) > 1 else ""
    return f"With {k} = {vb} (A: {va}){more}"


def arm_labels(a: Scenario, b: Scenario) -> tuple[str, str]:
    """Both arms named by what differs: ('With check-ins', 'Without check-ins'), or
    ('checkins.prob = 0.8', 'checkins.prob = 0.4'), or the scenario names when nothing differs."""
    diff = differences(a, b)
    if not diff:
        return a.name, f"{b.name} (no difference)"
    if all(k in SWITCH_WORDS and isinstance(va, bool) for k, (va, _) in diff.items()):
        word = lambda on, k: ("With " if on else "Without ") + SWITCH_WORDS[k]  # noqa: E731
        la = ", ".join(word(va, k) for k, (va, _) in diff.items())
        lb = ", ".join(word(vb, k) for k, (_, vb) in diff.items())
        return la, lb
    parts_a = [f"{k} = {va}" for k, (va, _) in list(diff.items())[:2]]
    parts_b = [f"{k} = {vb}" for k, (_, vb) in list(diff.items())[:2]]
    more = f" (+{len(diff) - 2} more)" if len(diff) > 2 else ""
    return ", ".join(parts_a) + more, ", ".join(parts_b) + more


def headline(res: "CompareResult") -> str:
    """The plain-words headline: '<B named by what differs>: +X relapses per 100 members over a year
    (95% interval a to b, N paired runs)'; the interval is the t-interval of the paired differences.
    Classic games (psychology off in both arms) have no relapses: their headline is the share of helpers
    at the end."""
    ra = res.runs[res.runs["arm"] == "A"].sort_values("replicate")
    rb = res.runs[res.runs["arm"] == "B"].sort_values("replicate")
    return headline_of(res.a, res.b, ra["total_relapses"], rb["total_relapses"], ra["final_helpers"],
                       rb["final_helpers"], ra.get("total_dropouts"), rb.get("total_dropouts"))


def classic(a: Scenario, b: Scenario) -> bool:
    """Both arms are classic games (psychology off): no stress, craving, use or relapse to compare."""
    return not a.psychology.enabled and not b.psychology.enabled


def headline_of(a: Scenario, b: Scenario, relapses_a, relapses_b, helpers_a, helpers_b,
                dropouts_a=None, dropouts_b=None) -> str:
    """The headline from each replicate's total relapses and final share of helpers, arm by arm (one
    definition for ``mutualaid compare`` and the dashboard's Compare tab). Given each replicate's drop-outs,
    the headline says beside the relapses how many more (or fewer) members left: leaving is a harm, and a
    setting that lowers relapses by losing members shows it."""
    if classic(a, b):
        diff, lo, hi, k = paired_difference(np.asarray(helpers_a, float), np.asarray(helpers_b, float))
        ci = f"95% interval {lo:+.3f} to {hi:+.3f}, " if k >= 2 else ""
        return f"{difference_label(a, b)}: {diff:+.3f} share of helpers at the end ({ci}{_paired(k)})"
    per = lambda x, sc: 100.0 * np.asarray(x, float) / sc.population.size * 365.0 / max(sc.steps, 1)  # noqa
    diff, lo, hi, k = paired_difference(per(relapses_a, a), per(relapses_b, b))
    span = "over a year" if a.steps == 365 else f"a year (from {a.steps} days)"
    ci = f"95% interval {lo:+.1f} to {hi:+.1f}, " if k >= 2 else ""
    text = (f"{difference_label(a, b)}: {diff:+.1f} relapses per 100 members {span}, every member counted, "
            f"newcomers included ({ci}{_paired(k)})")
    if dropouts_a is not None and dropouts_b is not None and (a.turnover.enabled or b.turnover.enabled):
        d, lo, hi, k = paired_difference(per(dropouts_a, a), per(dropouts_b, b))
        ci = f" (95% interval {lo:+.1f} to {hi:+.1f})" if k >= 2 else ""
        text += f"; {d:+.1f} drop-outs per 100 members {span}{ci}"
    return text


def _paired(k: int) -> str:
    """``12 paired runs``; one run has no interval, and says so."""
    return f"{k} paired runs" if k >= 2 else f"{k} paired run: no interval from one; use --replicates 2 or more"


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """One seed per replicate from ``SeedSequence(seed)``; the same for both arms."""
    ss = np.random.SeedSequence(int(seed))
    return [int(child.generate_state(1)[0]) for child in ss.spawn(replicates)]


def paired_difference(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, int]:
    """Mean of ``b - a`` over the pairs where both are finite, its t-interval, and the pair count.

    With fewer than two pairs the interval is NaN; with zero spread it is the
    point itself.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    n = int(d.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(d.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean, n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """The paired comparison from the per-run table (columns ``arm``, ``replicate``, stats)."""
    a = runs[runs["arm"] == "A"].set_index("replicate").sort_index()
    b = runs[runs["arm"] == "B"].set_index("replicate").sort_index()
    rows = []
    plan = [("mean", m) for m in METRICS] + [("final", m) for m in METRICS] + [("total", m) for m in TOTALS]
    for stat, m in plan:
        col = f"{stat}_{m}"
        va, vb = a[col].to_numpy(float), b[col].to_numpy(float)
        diff, lo, hi, n = paired_difference(va, vb)
        rows.append({"metric": m, "stat": stat, "a": _nanmean(va), "b": _nanmean(vb),
                     "diff": diff, "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows, columns=["metric", "stat", "a", "b", "diff", "ci_low", "ci_high", "n"])


@dataclass
class CompareResult:
    """What :func:`compare` produced.

    Attributes
    ----------
    a, b : the two resolved scenarios (both carry the base seed).
    seed : base seed; ``seeds[r]`` is replicate r's seed in both arms.
    metrics_a, metrics_b : one metrics frame per replicate.
    runs : one row per (arm, replicate): ``mean_*``, ``final_*``, ``total_*``.
    summary : the paired comparison, columns
        ``metric, stat, a, b, diff, ci_low, ci_high, n`` (diff is B - A).
    engines : engine actually used by each arm.
    """

    a: Scenario
    b: Scenario
    seed: int
    seeds: list[int]
    metrics_a: list[pd.DataFrame]
    metrics_b: list[pd.DataFrame]
    runs: pd.DataFrame
    summary: pd.DataFrame
    engines: dict[str, str]
    wall_time: float
    labels: dict[str, str] = field(default_factory=dict)

    def timeseries(self) -> pd.DataFrame:
        """Every replicate's metrics in one long frame: ``arm, scenario, replicate, seed, <metrics>``."""
        parts = []
        for arm, frames in (("A", self.metrics_a), ("B", self.metrics_b)):
            name = (self.a if arm == "A" else self.b).name
            for r, df in enumerate(frames):
                head = pd.DataFrame({"arm": arm, "scenario": name, "replicate": r, "seed": self.seeds[r]},
                                    index=df.index)
                parts.append(pd.concat([head, df], axis=1))
        return pd.concat(parts, ignore_index=True)

    def row(self, metric: str, stat: str = "mean") -> dict[str, Any]:
        """One summary row as a dict."""
        hit = self.summary[(self.summary["metric"] == metric) & (self.summary["stat"] == stat)]
        if hit.empty:
            raise KeyError(f"{metric} ({stat})")
        return hit.iloc[0].to_dict()


#: most replicates per arm of one comparison (each replicate is two runs)
MAX_COMPARE_REPLICATES = 10_000
#: the kernel's speed behind the time estimates in messages (member-days per second, one core;
#: benchmarks/RESULTS.md measures about 3.3e6)
KERNEL_MEMBER_DAYS_PER_S = 3.0e6


def prepare_pair(a, b, *, seed: int | None = None, steps: int | None = None,
                 set: Iterable[str] | Mapping[str, Any] = (), engine: str | None = None,
                 replicates: int = DEFAULT_REPLICATES, via: str = "--set"):
    """Validate everything a comparison needs before any run: ``(sc_a, sc_b, seed, engines)``."""
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise ScenarioError(f"replicates = {replicates!r}: must be an integer >= 1")
    if not isinstance(set, Mapping):
        set = list(set)
    sc_a = prepare(a, steps=steps, set=set, seed=seed, via=via)
    sc_b = prepare(b, steps=steps, set=set, seed=seed, via=via)
    base = int(sc_a.seed)
    if sc_b.seed != base:
        sc_b = sc_b.model_copy(update={"seed": base})
    engines = {"A": resolve_engine(sc_a, engine), "B": resolve_engine(sc_b, engine)}
    if replicates > MAX_COMPARE_REPLICATES:
        days = sc_a.steps + (sc_a.population.burn_in if sc_a.psychology.enabled else 0)
        hours = 2 * replicates * sc_a.population.size * days / KERNEL_MEMBER_DAYS_PER_S / 3600
        raise ScenarioError(f"replicates = {replicates:,}: more than the {MAX_COMPARE_REPLICATES:,} a comparison "
                            f"may run (2 x {replicates:,} runs of {sc_a.population.size:,} members for {days:,} "
                            f"days: about {hours:,.0f} hours); use a sweep for more")
    return sc_a, sc_b, base, engines


def compare(a: str | Path | Scenario | Mapping | None, b: str | Path | Scenario | Mapping | None, *,
            seed: int | None = None, replicates: int = DEFAULT_REPLICATES, steps: int | None = None,
            set: Iterable[str] | Mapping[str, Any] = (), engine: str | None = None,
            progress: Optional[Callable[[int, int], None]] = None, workers: int | None = 1) -> CompareResult:
    """Run A and B ``replicates`` times each with common random numbers and compare them.

    Parameters
    ----------
    a, b : scenario names, YAML paths, mappings or Scenarios.
    seed : base seed of the replicate seeds; default: A's scenario seed.
    replicates : runs per arm (>= 1).
    steps : overrides both scenarios' steps.
    set : overrides applied to both, ``["checkins.enabled=false"]`` or a mapping.
    engine : "auto", "agents" or "kernel"; default: each scenario's own.
    progress : called as ``progress(runs_done, runs_total)``, at the start and after each run.
    workers : worker processes (default 1: this process; None: the machine's cores; never more than the
        cores). The numbers do not depend on it.
    """
    sc_a, sc_b, base, engines = prepare_pair(a, b, seed=seed, steps=steps, set=set, engine=engine,
                                             replicates=replicates, via="compare")
    workers = min(cap("workers", check_count("workers", workers, "compare"))[0], 2 * replicates)
    seeds = replicate_seeds(base, replicates)
    total = 2 * replicates
    if progress is not None:
        progress(0, total)
    t0 = time.perf_counter()
    got: dict[tuple[int, str], pd.DataFrame] = {}
    done = 0
    for (r, arm), metrics in _runs(sc_a, sc_b, seeds, engines, workers):
        got[r, arm] = metrics
        done += 1
        if progress is not None:
            progress(done, total)
    frames: dict[str, list[pd.DataFrame]] = {"A": [], "B": []}
    rows = []
    for r, s in enumerate(seeds):
        for arm, sc in (("A", sc_a), ("B", sc_b)):
            frames[arm].append(got[r, arm])
            rows.append({"arm": arm, "scenario": sc.name, "replicate": r, "seed": s, **run_stats(got[r, arm])})
    runs = pd.DataFrame(rows).sort_values(["arm", "replicate"], kind="stable").reset_index(drop=True)
    la, lb = arm_labels(sc_a, sc_b)
    labels = {"A": f"A: {la}", "B": f"B: {lb}"}
    return CompareResult(a=sc_a, b=sc_b, seed=base, seeds=seeds, metrics_a=frames["A"], metrics_b=frames["B"],
                         runs=runs, summary=summarize(runs), engines=engines,
                         wall_time=time.perf_counter() - t0, labels=labels)


def _runs(sc_a: Scenario, sc_b: Scenario, seeds: list[int], engines: Mapping[str, str], workers: int):
    """``((replicate, arm), metrics)`` of every run, as they finish: in this process (``workers`` 1), else in
    a pool of worker processes (the sweep's); the same numbers either way."""
    if workers <= 1:
        for r, s in enumerate(seeds):
            for arm, sc in (("A", sc_a), ("B", sc_b)):
                yield (r, arm), runner.run(sc, seed=s, engine=engines[arm]).metrics
        return
    tasks = []
    for r, s in enumerate(seeds):
        for arm, sc in (("A", sc_a), ("B", sc_b)):
            tasks.append({"run_id": len(tasks), "point": arm, "replicate": r, "seed": int(s),
                          "engine": engines[arm], "timeseries": True,
                          "scenario": sc.model_copy(update={"seed": int(s)}).model_dump(mode="json")})
    for out in _iter_pool(tasks, workers):
        row = out["row"]
        if row["error"]:
            raise RuntimeError(f"{row['point']}, seed {row['seed']}: {row['error']}")
        yield (row["replicate"], row["point"]), out["timeseries"]


# ----------------------------------------------------------------------------- text and plot

#: rows printed by ``mutualaid compare``: (metric, stat)
KEY_ROWS = (
    [(m, "mean") for m in ("helpers", "mean_stress", "mean_craving", "using", "attendance", "mean_tie", "isolated")]
    + [("abstinent", "final"), ("helpers", "final")]
    + [(m, "total") for m in TOTALS]
)

#: the rows for two classic games (psychology off): the game's own outcomes, as ``mutualaid run`` prints them
CLASSIC_ROWS = [("helpers", "mean"), ("helpers", "final"), ("assortment", "mean"), ("assortment", "final"),
                ("mean_payoff", "mean")]


def summary_text(res: CompareResult) -> str:
    """The table printed after ``mutualaid compare`` (ASCII only)."""
    head = key_values([
        ("A", f"{res.a.name}  (engine {res.engines['A']})"),
        ("B", f"{res.b.name}  (engine {res.engines['B']})"),
        ("replicates", f"{len(res.seeds)}  (seed {res.seed}, same seeds for A and B)"),
        ("steps", f"{res.a.steps}" if res.a.steps == res.b.steps else f"A {res.a.steps}, B {res.b.steps}"),
        ("wall time", f"{res.wall_time:.2f} s"),
    ])
    rows = []
    for m, stat in (CLASSIC_ROWS if classic(res.a, res.b) else KEY_ROWS):
        try:
            r = res.row(m, stat)
        except KeyError:
            continue
        # one notation a row: as many decimals as the interval's half-width carries (two figures)
        half = (r["ci_high"] - r["ci_low"]) / 2 if r["n"] >= 2 else None
        d = row_decimals((r["a"], r["b"], r["diff"]), half)
        ci = f"[{fmt_fixed(r['ci_low'], d, True)}, {fmt_fixed(r['ci_high'], d, True)}]" if r["n"] >= 2 else ""
        rows.append((f"{m} ({stat}):", "A", fmt_fixed(r["a"], d), " B", fmt_fixed(r["b"], d), " B-A",
                     fmt_fixed(r["diff"], d, signed=True), ci))
    pct = int(round(LEVEL * 100))
    return (f"{headline(res)}\n\n{head}\n\n{table(rows)}\n\n[..]: {pct}% t-interval of the paired differences B-A "
            "over replicates")


def _band(frames: list[pd.DataFrame], col: str, cumulative: bool = False) -> pd.DataFrame:
    parts = []
    for r, df in enumerate(frames):
        y = df[col].cumsum() if cumulative else df[col]
        parts.append(pd.DataFrame({"step": df["step"].to_numpy(), "y": y.to_numpy(float), "r": r}))
    g = pd.concat(parts).groupby("step")["y"]
    return pd.DataFrame({"mean": g.mean(), "lo": g.min(), "hi": g.max()})


#: panels of ``compare.png``: (column, title, cumulative)
PANELS = (
    ("using", "using (share in a lapse)", False),
    ("mean_stress", "mean stress", False),
    ("relapses", "cumulative relapses", True),
    ("abstinent", "abstinent (share of day-0 members)", False),
    ("helpers", "helpers (share playing HELP)", False),
    ("attendance", "attendance (share at meeting)", False),
)


def plot_compare(res: CompareResult):
    """``compare.png``: A and B, mean over replicates with a min-max band."""
    n = len(res.seeds)
    fig, axes = new_figure(3, 2, f"{res.labels['A']}  vs  {res.labels['B']}  ({n} replicates, common seeds)")
    colors = {"A": "tab:blue", "B": "tab:orange"}
    for ax, (col, title, cum) in zip(axes, PANELS):
        for arm, frames in (("A", res.metrics_a), ("B", res.metrics_b)):
            band = _band(frames, col, cumulative=cum)
            ax.plot(band.index, band["mean"], color=colors[arm], label=res.labels[arm])
            ax.fill_between(band.index, band["lo"], band["hi"], color=colors[arm], alpha=0.2, linewidth=0)
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    for ax in axes[-2:]:
        ax.set_xlabel("day")
    return fig
