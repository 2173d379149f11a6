"""The recovery patterns of docs/ODD.md 1.2, measured on a run's cohorts.

A run that keeps its members table (``members=True``) is read by cohort,
as the studies followed people:

- the **early cohort**: day-0 members whose recovery began less than
  ``population.newcomer_days`` before day 0 (members in early recovery, the
  population the treatment-outcome studies followed);
- the day-0 members by **time abstinent** on day 0 (``sober_days_start``), in
  the bins of Dennis, Foss & Scott (2007): 1-12 months, 1-3 years, 3 years
  and more.

Each figure is "within a year" of day 0, so the run needs at least 365 days.
:func:`measure` returns one dict of figures per run; :func:`pooled` averages
them over seeds. The validation (``mutualaid validate``) and the calibration
(``python -m sim.experiments.calibrate``) both read them here.
"""

from __future__ import annotations

import numpy as np

YEAR = 365

#: Bins of time abstinent on day 0 (days, lower bound inclusive, upper exclusive).
DENNIS_BINS = {"1-12 months": (30, 365), "1-3 years": (365, 3 * 365), "3+ years": (3 * 365, 10 ** 9)}


def _used_within_year(mem) -> np.ndarray:
    first = mem["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)
    return np.isfinite(first) & (first <= YEAR)


def measure(result) -> dict[str, float]:
    """The patterns of one run (a :class:`sim.api.RunResult` with members and >= 365 steps)."""
    sc = result.scenario
    if result.members is None or sc.steps < YEAR:
        raise ValueError("patterns need a run of at least 365 days with members=True")
    mem = result.members
    day0 = mem[mem["joined_step"] == 0]
    used = _used_within_year(day0)
    early = (-day0["start_day"].to_numpy() < sc.population.newcomer_days)
    out: dict[str, float] = {}
    e_used = used[early]
    out["early_members"] = float(early.sum())
    out["early_used_within_year"] = float(e_used.mean()) if early.any() else np.nan
    first = day0["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)[early]
    lapsed = np.isfinite(first) & (first <= YEAR)
    out["early_first_use_within_90_days"] = float((first[lapsed] <= 90).mean()) if lapsed.any() else np.nan
    helper = day0["help_share"].to_numpy()[early] > 0.5
    abst = ~e_used
    out["early_helpers_abstinent"] = float(abst[helper].mean()) if helper.any() else np.nan
    out["early_nonhelpers_abstinent"] = float(abst[~helper].mean()) if (~helper).any() else np.nan
    sponsored = day0["sponsor_id"].notna().to_numpy()[early]
    out["early_sponsored"] = float(sponsored.mean()) if early.any() else np.nan
    out["early_sponsored_abstinent"] = float(abst[sponsored].mean()) if sponsored.any() else np.nan
    out["early_unsponsored_abstinent"] = float(abst[~sponsored].mean()) if (~sponsored).any() else np.nan
    sober0 = day0["sober_days_start"].to_numpy()
    for label, (lo, hi) in DENNIS_BINS.items():
        sel = (sober0 >= lo) & (sober0 < hi)
        out[f"sustained_{label}"] = float((~used[sel]).mean()) if sel.any() else np.nan
    days = np.maximum(_days_present(day0, sc.steps), 1)
    share = day0["attended_days"].to_numpy() / days
    out["attendance_mean"] = float(share.mean())
    out["attendance_sd"] = float(share.std())
    m = result.metrics
    n = sc.population.size
    year1 = m[(m["step"] >= 1) & (m["step"] <= YEAR)]
    out["relapses_per_member_year"] = float(year1["relapses"].sum()) / n
    out["lapses_per_member_year"] = float(year1["lapses"].sum()) / n
    if sc.steps >= 2 * YEAR:
        year2 = m[(m["step"] > YEAR) & (m["step"] <= 2 * YEAR)]
        out["lapses_per_member_year2"] = float(year2["lapses"].sum()) / n
    out["abstinent_day0_members_at_year"] = float(m.loc[m["step"] == YEAR, "abstinent"].iloc[0])
    return out


def _days_present(mem, steps: int) -> np.ndarray:
    left = mem["left_step"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(left), left, steps) - mem["joined_step"].to_numpy()


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each figure over runs (NaN-aware)."""
    keys = rows[0].keys()
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def run_seeds(scenario="baseline", seeds=range(8), set=None, steps: int = YEAR, size: int | None = None):
    """:func:`measure` on one run per seed (kernel engine)."""
    import sim

    over = dict(set or {})
    if size is not None:
        over["population.size"] = size
    return [measure(sim.run(scenario, engine="kernel", seed=s, steps=steps, members=True, set=over))
            for s in seeds]


if __name__ == "__main__":  # a quick look: python -m sim.experiments.patterns [scenario] [seeds]
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else "baseline"
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for key, v in pooled(run_seeds(name, range(k))).items():
        print(f"{key:36s} {v:.3f}")
