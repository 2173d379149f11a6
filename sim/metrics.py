"""The per-step metrics table: column names, meanings, and how they are computed.

Both engines hand the same arrays (in the same order) to :func:`compute`, so
a metric has one definition and the engines report the same bits.
"""

from __future__ import annotations

import numpy as np

#: column -> meaning. The order is the column order of ``metrics.parquet``.
COLUMNS: dict[str, str] = {
    "step": "day, 0..steps (0 is the initial state)",
    "helpers": "share of members playing HELP",
    "mean_stress": "mean stress, in [0, 1]",
    "mean_craving": "mean craving, in [0, 1]",
    "using": "share of members currently in a lapse",
    "lapses": "members who started a lapse this step",
    "relapses": "lapses that reached psychology.relapse_days of use this step",
    "attendance": "share of members at today's meeting (NaN on day 0 and with psychology off)",
    "checkins": "check-ins made this step (helper reaches absent member)",
    "sponsor_calls": "sponsor calls answered this step",
    "mean_tie": "mean tie weight over existing ties",
    "isolated": "share of members with no tie above ties.isolation_threshold",
    "dropouts": "members who left this step (turnover)",
    "abstinent": "share of the day-0 members who have not used since day 0 (leavers count as not abstinent)",
    "assortment": "share of tie weight between two helpers among ties touching a helper",
    "mean_payoff": "mean material payoff from today's game",
    "sponsored_newcomers": "share of newcomers who have a sponsor (NaN when there are none or sponsorship is off)",
    "ties": "number of ties (edges)",
}

COUNT_COLUMNS = ("step", "lapses", "relapses", "checkins", "sponsor_calls", "dropouts", "ties")


def compute(step, strategy, stress, craving, using, attended, tie_ptr, tie_nbr, tie_w, *,
            lapses, relapses, checkins, sponsor_calls, dropouts, abstinent_count, n0,
            isolation_threshold, mean_payoff, newcomers, sponsored_newcomers):
    """One row of the metrics table.

    Parameters
    ----------
    strategy, stress, craving, using : arrays of shape (n,), by member slot.
    attended : bool array (n,) or None (no meeting that day).
    tie_ptr : int64 (n+1,) CSR pointers of the current ties; row i lists the
        ties of slot i with neighbours in ascending order.
    tie_nbr : int (tie_ptr[-1],) neighbour slot of each tie end.
    tie_w : float64 (tie_ptr[-1],) tie weights in that order (each tie twice).
    """
    n = strategy.shape[0]
    helper = strategy == 1
    deg = np.diff(tie_ptr)
    rows = np.repeat(np.arange(n), deg)
    total_w = tie_w.sum() if tie_w.size else 0.0
    n_slots = tie_w.size
    strong = tie_w > isolation_threshold
    has_strong = np.bincount(rows[strong], minlength=n) > 0
    if n_slots:
        from_helper = helper[rows]
        nbr_helper = helper[tie_nbr]
        touch = from_helper | nbr_helper
        both = from_helper & nbr_helper
        denom = tie_w[touch].sum()
        assort = tie_w[both].sum() / denom if denom > 0 else float("nan")
    else:
        assort = float("nan")
    return {
        "step": int(step),
        "helpers": float(helper.mean()),
        "mean_stress": float(stress.mean()),
        "mean_craving": float(craving.mean()),
        "using": float(using.mean()),
        "lapses": int(lapses),
        "relapses": int(relapses),
        "attendance": float(attended.mean()) if attended is not None else float("nan"),
        "checkins": int(checkins),
        "sponsor_calls": int(sponsor_calls),
        "mean_tie": float(total_w / n_slots) if n_slots else float("nan"),
        "isolated": float(1.0 - has_strong.mean()),
        "dropouts": int(dropouts),
        "abstinent": float(abstinent_count / n0),
        "assortment": float(assort),
        "mean_payoff": float(mean_payoff),
        "sponsored_newcomers": float(sponsored_newcomers / newcomers) if newcomers else float("nan"),
        "ties": int(n_slots // 2),
    }


def typed_frame(df):
    """Order the columns as in :data:`COLUMNS`, counts as int64, the rest float64."""
    df = df[list(COLUMNS)].copy()
    for c in COLUMNS:
        df[c] = df[c].astype("int64" if c in COUNT_COLUMNS else "float64")
    return df
