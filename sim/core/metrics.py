"""The per-step metrics table: column names, meanings, and how they are computed.

Both engines read a day's row from the same community arrays (:func:`day_row`,
one pass of :func:`_reduce`), so a metric has one definition and the engines
report the same bits.
"""

from __future__ import annotations

from typing import NamedTuple

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



class Sums(NamedTuple):
    """A day's sums and counts by name: :func:`_reduce`'s tuple (a numba kernel returns a plain tuple, in
    this order), wrapped once on the Python side (:func:`day_row`)."""

    helpers: int       # members playing HELP
    users: int         # members in a lapse
    sum_stress: float
    sum_craving: float
    not_isolated: int  # members with a tie above the isolation threshold
    total_w: float     # tie weight over the tie slots (each tie twice)
    slots: int         # tie slots (twice the ties)
    touch_w: float     # tie weight touching a helper
    both_w: float      # tie weight between two helpers
    abstinent: int     # day-0 members who never used
    present: int       # members at today's meeting
    newcomers: int     # newcomers (when counted)
    sponsored: int     # newcomers with a sponsor


@njit(parallel=True, cache=True)
def _reduce(strategy, stress, craving, using, tie_ptr, deg, tie_nbr, tie_w, threshold,
            original, ever_used, attended, met, start_day, sponsor, day, newcomer_days, newcomers_counted):
    """Sums and counts the metrics are made of, in one pass over members and their ties.

    ``tie_ptr[i]`` and ``deg[i]`` locate member i's ties in ``tie_nbr``/``tie_w``
    (the community's tie slots). Blocks of :data:`BLOCK` members are summed
    in parallel, each serially, and the block sums are then added in block
    order: the same bits on any thread count and on both engines. Besides
    the sums: day-0 members who never used, members at today's meeting
    (``met``), and newcomers (``newcomers_counted``) with and without a sponsor. Returns the fields of
    :class:`Sums`, in their order.
    """
    n = strategy.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    ints = np.zeros((nb, 8), dtype=np.int64)    # helpers, users, not isolated, slots, abstinent, at the
    flts = np.zeros((nb, 5), dtype=np.float64)  # meeting, newcomers, sponsored newcomers | stress, craving,
    for b in prange(nb):                          # tie weight, touching a helper, helper-helper
        helpers = 0
        users = 0
        not_isolated = 0
        slots = 0
        abstinent = 0
        present = 0
        newcomers = 0
        sponsored = 0
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
            if original[i] and not ever_used[i]:
                abstinent += 1
            if met and attended[i]:
                present += 1
            if newcomers_counted and day - start_day[i] < newcomer_days:
                newcomers += 1
                if sponsor[i] >= 0:
                    sponsored += 1
            sum_x += stress[i]
            sum_y += craving[i]
            strong = False
            start = tie_ptr[i]
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
        ints[b, 4] = abstinent
        ints[b, 5] = present
        ints[b, 6] = newcomers
        ints[b, 7] = sponsored
        flts[b, 0] = sum_x
        flts[b, 1] = sum_y
        flts[b, 2] = total_w
        flts[b, 3] = touch_w
        flts[b, 4] = both_w
    ti = np.zeros(8, dtype=np.int64)
    tf = np.zeros(5, dtype=np.float64)
    for b in range(nb):
        for c in range(8):
            ti[c] += ints[b, c]
        for c in range(5):
            tf[c] += flts[b, c]
    return (ti[0], ti[1], tf[0], tf[1], ti[2], tf[2], ti[3], tf[3], tf[4], ti[4], ti[5], ti[6], ti[7])


def day_row(comm) -> dict:
    """Today's row of the metrics table, from a :class:`sim.core.community.Community` (both engines)."""
    a = comm.arrays
    sc = comm.scenario
    n = a["strategy"].shape[0]
    met = bool(comm.met_today)
    s = Sums(*_reduce(
        a["strategy"], a["stress"], a["craving"], a["using"], a["tie_ptr"], a["deg"], a["tie_nbr"], a["tie_w"],
        float(sc.ties.isolation_threshold), a["original"], a["ever_used"], a["attended"], met, a["start_day"],
        a["sponsor"], comm.day, sc.population.newcomer_days, sc.psychology.enabled and sc.sponsorship.enabled))
    c = comm.counts
    return {
        "step": comm.day,
        "helpers": s.helpers / n,
        "mean_stress": s.sum_stress / n,
        "mean_craving": s.sum_craving / n,
        "using": s.users / n,
        "lapses": int(c["lapses"]),
        "relapses": int(c["relapses"]),
        "attendance": int(s.present) / n if met else float("nan"),
        "checkins": int(c["checkins"]),
        "sponsor_calls": int(c["sponsor_calls"]),
        "mean_tie": s.total_w / s.slots if s.slots else float("nan"),
        "isolated": 1.0 - s.not_isolated / n,
        "dropouts": int(c["dropouts"]),
        "abstinent": int(s.abstinent) / comm.n0,
        "assortment": s.both_w / s.touch_w if s.touch_w > 0 else float("nan"),
        "mean_payoff": float(comm.mean_payoff),
        "sponsored_newcomers": int(s.sponsored) / int(s.newcomers) if s.newcomers else float("nan"),
        "ties": int(s.slots // 2),
    }


def typed_frame(df):
    """Order the columns as in :data:`COLUMNS`, counts as int64, the rest float64."""
    df = df[list(COLUMNS)].copy()
    for c in COLUMNS:
        df[c] = df[c].astype("int64" if c in COUNT_COLUMNS else "float64")
    return df
