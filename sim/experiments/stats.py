"""Per-run statistics of a metrics table: ``mean_<m>``, ``final_<m>`` and ``total_<count>`` (what
``mutualaid compare`` compares and a sweep's ``runs.parquet`` holds), in one module both read, so that
neither imports the other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.metrics import COLUMNS
from sim.output import TOTAL_METRICS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: metrics compared (every column but ``step``)
METRICS = tuple(c for c in COLUMNS if c != "step")
#: count metrics whose run totals are compared
TOTALS = TOTAL_METRICS


def _stat_names(present) -> list[str]:
    return [c for c in dict.fromkeys(("step", *METRICS, *TOTALS)) if c in present]


def run_stats(metrics: pd.DataFrame) -> dict[str, float]:
    """Per-run statistics: ``mean_<m>``, ``final_<m>`` for every metric and ``total_<count>``."""
    names = _stat_names(metrics.columns)
    return _stats_matrix(names, np.ascontiguousarray(metrics[names].to_numpy(dtype=np.float64,
                                                                               na_value=np.nan).T))


def run_stats_rows(rows: list[dict]) -> dict[str, float]:
    """:func:`run_stats` straight from an engine's metrics rows (no DataFrame: the sweeps' bookkeeping)."""
    names = _stat_names(rows[0])
    return _stats_matrix(names, np.array([[r[c] for r in rows] for c in names], dtype=np.float64))


def _stats_matrix(names: list[str], mat: np.ndarray) -> dict[str, float]:
    """The statistics from a (metrics x days) C-ordered float matrix whose rows are ``names``; ``mean_``
    is over days 1..steps (day 0 alone when nothing was simulated), NaN-safe, as
    :func:`sim.output.run_mean`. Each row is summed as one contiguous array (numpy's pairwise sum, the
    same bits as summing that metric alone)."""
    row = {c: i for i, c in enumerate(names)}
    days = mat[row["step"]] > 0
    if not days.any():
        days = np.ones_like(days)
    sub = np.ascontiguousarray(mat[:, days])  # rows contiguous: each summed pairwise, as alone
    ok = ~np.isnan(sub)
    counts = ok.sum(axis=1)
    sums = sub.sum(axis=1)
    totals = mat.sum(axis=1)
    out: dict[str, float] = {}
    for m in METRICS:
        i = row[m]
        k = int(counts[i])
        if k == sub.shape[1]:
            out[f"mean_{m}"] = float(sums[i] / counts[i])
        elif k:
            out[f"mean_{m}"] = float(sub[i][ok[i]].sum() / counts[i])
        else:
            out[f"mean_{m}"] = float("nan")
    for m in METRICS:
        out[f"final_{m}"] = float(mat[row[m], -1])
    for m in TOTALS:
        out[f"total_{m}"] = float(totals[row[m]])
    return out
