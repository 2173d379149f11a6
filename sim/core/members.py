"""Member records and the members table (``members.parquet``), the same for both engines.

A member's record is read from the community's arrays when it leaves
(:func:`member_records`, called by turnover) and, for those still present,
when the table is made (:func:`members_frame`).
"""

# Deferred imports (inside the functions that need them):
# - pandas: only the members table needs it; a run (sim.engines.kernel and sim.core.schedule import this
#   module) loads without it.

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
    "attended_days": "days it was at its meeting",
    "sober_days_start": "consecutive sober days when it entered the record (day 0, or 0 for a newcomer)",
    "lapses": "lapses it had (a day of use after a sober day)",
    "relapses": "relapses it had (a lapse reaching psychology.relapse_days)",
    "help_acts": "acts of help that reached someone: check-ins it made and sponsor calls it answered",
    "meeting": "meeting of its slot",
    "trial_arm": "trial arm of its slot: 1 intervention, 0 control (1 without a trial; ODD 7.13)",
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
        "attended_days": a["attended_days"][slots].astype(np.int64),
        "sober_days_start": a["sober_days_start"][slots].astype(np.int64),
        "lapses": a["lapses_total"][slots].astype(np.int64),
        "relapses": a["relapses_total"][slots].astype(np.int64),
        "help_acts": a["help_acts_total"][slots].astype(np.int64),
        "meeting": a["meeting_of"][slots].astype(np.int64),
        "trial_arm": a["trial_arm"][slots].astype(np.int64),
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


# ----------------------------------------------------------------------------- member_days.parquet
#: Column -> meaning, in the order of member_days.parquet (one row per member per day).
DAY_COLUMNS: dict[str, str] = {
    "step": "day (0 is the initial state)",
    "id": "member id",
    "attended": "was at today's meeting",
    "due": "today was one of its own meeting days (every day without attendance.rhythm)",
    "using": "in a lapse at the end of the day",
    "stress": "stress at the end of the day",
    "craving": "craving at the end of the day",
    "capital": "recovery capital at the end of the day (0 with recovery off)",
    "strategy": "HELP or COMPETE at the end of the day",
    "sponsor": "id of its sponsor, empty if none",
    "reached": "reached by a check-in today",
    "sober_days": "consecutive sober days",
    "missed": "consecutive meetings missed",
}

#: The most rows (members x (steps + 1)) that ``member_days`` output accepts: about 1 GB in memory.
MAX_MEMBER_DAY_ROWS = 20_000_000


def member_days_too_many(sc) -> str | None:
    """Why a scenario's member_days output would be refused (too many rows), or None."""
    rows = sc.population.size * (sc.steps + 1)
    if rows <= MAX_MEMBER_DAY_ROWS:
        return None
    return (f"population.size={sc.population.size} x (steps + 1)={sc.steps + 1} is {rows:,} rows, "
            f"above the limit of {MAX_MEMBER_DAY_ROWS:,}")


class MemberDays:
    """Collects one row per member per day from a community (both engines): call :meth:`collect`
    after day 0 and after every step, then :meth:`frame`."""

    def __init__(self):
        self._chunks: list[dict[str, np.ndarray]] = []

    def collect(self, comm) -> None:
        a = comm.arrays
        n = comm.n
        sponsor = a["sponsor"]
        self._chunks.append({
            "step": np.full(n, comm.day, dtype=np.int32),
            "id": a["member_id"].astype(np.int64),
            "attended": a["attended"].copy() if comm.met_today else np.zeros(n, dtype=bool),
            "due": a["due"].copy() if comm.met_today else np.zeros(n, dtype=bool),
            "using": a["using"].copy(),
            "stress": a["stress"].astype(np.float32),
            "craving": a["craving"].astype(np.float32),
            "capital": a["capital"].astype(np.float32),
            "strategy": a["strategy"].copy(),
            "sponsor": np.where(sponsor >= 0, a["member_id"][np.maximum(sponsor, 0)], -1),
            "reached": a["reached"].copy() if comm.met_today else np.zeros(n, dtype=bool),
            "sober_days": a["sober_days"].astype(np.int32),
            "missed": a["missed"].astype(np.int32),
        })

    def frame(self):
        import pandas as pd

        data = {c: np.concatenate([ch[c] for ch in self._chunks]) for c in DAY_COLUMNS}
        df = pd.DataFrame(data)
        df["strategy"] = pd.Categorical.from_codes(df["strategy"].astype(np.int8), ["COMPETE", "HELP"])
        df["sponsor"] = df["sponsor"].astype("Int64").mask(df["sponsor"] < 0)
        return df
