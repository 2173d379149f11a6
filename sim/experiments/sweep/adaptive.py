"""Adaptive replication (``until_ci: {metric: NAME, width: W}`` with a cap
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

# Deferred imports (inside the functions that need them):
# - scipy, pandas: only adaptive replication (until_ci) needs them; the sweep package loads without them.

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from sim.experiments.sweep.points import Sweep
    from sim.experiments.sweep.store import _Recorder


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
