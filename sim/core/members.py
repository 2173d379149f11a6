"""Member records and the members table (``members.parquet``), the same for both engines.

A member's record is read from the community's arrays when it leaves
(:func:`member_records`, called by turnover) and, for those still present,
when the table is made (:func:`members_frame`).
"""

from __future__ import annotations

import numpy as np

from sim.core.rules import HELP

#: Column -> meaning, in the order of members.parquet.
COLUMNS: dict[str, str] = {
    "id": "member id (day-0 members 0..n-1, newcomers numbered on)",
    "joined_step": "day the member joined (0 for day-0 members)",
    "start_day": "day its recovery in this community began (<= 0 for day-0 members)",
    "left_step": "day it left (turnover), empty if still present",
    "strategy_final": "HELP or COMPETE, at leaving or at the end",
    "help_share": "share of its days spent playing HELP",
    "ever_used": "used at least once while present",
    "first_use_step": "day of its first use, empty if never",
    "used_days": "days spent in a lapse",
    "sponsor_id": "id of its (last) sponsor, empty if never sponsored",
    "sponsees": "sponsees it took in total",
    "checkins_received": "check-ins it received in total",
}


def member_records(comm, slots: np.ndarray, left: int) -> dict[str, np.ndarray]:
    """The records of the members in ``slots`` (arrays by column); ``left`` is the day they leave, -1 if present."""
    a = comm.arrays
    slots = np.asarray(slots, dtype=np.int64)
    days = a["days"][slots]
    strategy = a["strategy"][slots]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(days > 0, a["help_days"][slots] / np.maximum(days, 1), strategy.astype(np.float64))
    return {
        "id": a["member_id"][slots].astype(np.int64),
        "joined_step": a["joined_step"][slots].astype(np.int64),
        "start_day": a["start_day"][slots].astype(np.int64),
        "left_step": np.full(slots.shape[0], left, dtype=np.int64),
        "strategy_final": np.where(strategy == HELP, "HELP", "COMPETE"),
        "help_share": share.astype(np.float64),
        "ever_used": a["ever_used"][slots].copy(),
        "first_use_step": a["first_use_step"][slots].astype(np.int64),
        "used_days": a["used_days"][slots].astype(np.int64),
        "sponsor_id": a["sponsor_id"][slots].astype(np.int64),
        "sponsees": a["sponsees_total"][slots].astype(np.int64),
        "checkins_received": a["checkins_received"][slots].astype(np.int64),
    }


def members_frame(comm):
    """One row per member who ever existed, sorted by id (members.parquet)."""
    import pandas as pd

    chunks = comm.records + [member_records(comm, np.arange(comm.n), left=-1)]
    data = {c: np.concatenate([ch[c] for ch in chunks]) for c in COLUMNS}
    df = pd.DataFrame(data).sort_values("id", kind="stable").reset_index(drop=True)
    for col in ("left_step", "first_use_step", "sponsor_id"):
        df[col] = df[col].astype("Int64").mask(df[col] < 0)
    return df
