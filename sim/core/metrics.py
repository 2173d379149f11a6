"""The per-step metrics table: column names, meanings, and how they are computed.

Both engines hand the same arrays (in the same order) to :func:`compute`, so
a metric has one definition and the engines report the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


#: Members per block of the metrics reduction. Fixed, so the order of every
#: floating-point sum (serial within a block, then block by block) does not
#: depend on the thread count.
BLOCK = 4096


@njit(parallel=True, cache=True)
def _reduce(strategy, stress, craving, using, tie_start, deg, tie_nbr, tie_w, threshold):
    """Sums the metrics are made of, in one pass over members and their ties.

    ``tie_start[i]`` and ``deg[i]`` locate member i's ties in ``tie_nbr``/``tie_w``
    (CSR rows or the kernel's slots). Blocks of :data:`BLOCK` members are summed
    in parallel, each serially, and the block sums are then added in block
    order: the same bits on any thread count and on both engines.
    """
    n = strategy.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    ints = np.zeros((nb, 4), dtype=np.int64)    # helpers, users, not isolated, slots
    flts = np.zeros((nb, 5), dtype=np.float64)  # stress, craving, tie weight, touching a helper, helper-helper
    for b in prange(nb):
        helpers = 0
        users = 0
        not_isolated = 0
        slots = 0
        sum_x = 0.0
        sum_y = 0.0
        total_w = 0.0
        touch_w = 0.0
        both_w = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            hi = strategy[i] == 1
            if hi:
                helpers += 1
            if using[i]:
                users += 1
            sum_x += stress[i]
            sum_y += craving[i]
            strong = False
            start = tie_start[i]
            for k in range(start, start + deg[i]):
                w = tie_w[k]
                total_w += w
                slots += 1
                if w > threshold:
                    strong = True
                hj = strategy[tie_nbr[k]] == 1
                if hi or hj:
                    touch_w += w
                    if hi and hj:
                        both_w += w
            if strong:
                not_isolated += 1
        ints[b, 0] = helpers
        ints[b, 1] = users
        ints[b, 2] = not_isolated
        ints[b, 3] = slots
        flts[b, 0] = sum_x
        flts[b, 1] = sum_y
        flts[b, 2] = total_w
        flts[b, 3] = touch_w
        flts[b, 4] = both_w
    ti = np.zeros(4, dtype=np.int64)
    tf = np.zeros(5, dtype=np.float64)
    for b in range(nb):
        for c in range(4):
            ti[c] += ints[b, c]
        for c in range(5):
            tf[c] += flts[b, c]
    return ti[0], ti[1], tf[0], tf[1], ti[2], tf[2], ti[3], tf[3], tf[4]


def compute(step, strategy, stress, craving, using, attended, tie_start, deg, tie_nbr, tie_w, *,
            lapses, relapses, checkins, sponsor_calls, dropouts, abstinent_count, n0,
            isolation_threshold, mean_payoff, newcomers, sponsored_newcomers):
    """One row of the metrics table.

    Parameters
    ----------
    strategy, stress, craving, using : arrays of shape (n,), by member slot.
    attended : bool array (n,) or None (no meeting that day).
    tie_start, deg : int arrays (n,): member i's ties are entries
        ``tie_start[i] .. tie_start[i] + deg[i] - 1`` of ``tie_nbr`` (neighbour
        slots, ascending) and ``tie_w`` (weights); each tie appears at both ends.
    """
    n = strategy.shape[0]
    (helpers, users, sum_x, sum_y, not_isolated, total_w, slots, touch_w, both_w) = _reduce(
        strategy, stress, craving, using, tie_start, deg, tie_nbr, tie_w, isolation_threshold)
    return {
        "step": int(step),
        "helpers": helpers / n,
        "mean_stress": sum_x / n,
        "mean_craving": sum_y / n,
        "using": users / n,
        "lapses": int(lapses),
        "relapses": int(relapses),
        "attendance": int(np.count_nonzero(attended)) / n if attended is not None else float("nan"),
        "checkins": int(checkins),
        "sponsor_calls": int(sponsor_calls),
        "mean_tie": total_w / slots if slots else float("nan"),
        "isolated": 1.0 - not_isolated / n,
        "dropouts": int(dropouts),
        "abstinent": abstinent_count / n0,
        "assortment": both_w / touch_w if touch_w > 0 else float("nan"),
        "mean_payoff": float(mean_payoff),
        "sponsored_newcomers": sponsored_newcomers / newcomers if newcomers else float("nan"),
        "ties": int(slots // 2),
    }


def typed_frame(df):
    """Order the columns as in :data:`COLUMNS`, counts as int64, the rest float64."""
    df = df[list(COLUMNS)].copy()
    for c in COLUMNS:
        df[c] = df[c].astype("int64" if c in COUNT_COLUMNS else "float64")
    return df


def day_row(comm) -> dict:
    """Today's row of the metrics table, from a :class:`sim.core.community.Community`."""
    a = comm.arrays
    sc = comm.scenario
    abstinent = int(np.count_nonzero(a["original"] & ~a["ever_used"]))
    if sc.psychology.enabled and sc.sponsorship.enabled:
        newcomer = (comm.day - a["start_day"]) < sc.population.newcomer_days
        newcomers = int(np.count_nonzero(newcomer))
        sponsored = int(np.count_nonzero(newcomer & (a["sponsor"] >= 0)))
    else:
        newcomers = sponsored = 0
    return compute(
        comm.day, a["strategy"], a["stress"], a["craving"], a["using"], a["attended"] if comm.met_today else None,
        a["tie_ptr"][:-1], a["deg"], a["tie_nbr"], a["tie_w"], abstinent_count=abstinent, n0=comm.n0,
        isolation_threshold=sc.ties.isolation_threshold, mean_payoff=comm.mean_payoff,
        newcomers=newcomers, sponsored_newcomers=sponsored, **comm.counts,
    )
