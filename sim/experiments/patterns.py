"""The recovery patterns of docs/ODD.md 1.2, measured on a run's cohorts.

A run that keeps its members table (``members=True``) is read by cohort,
as the studies followed people:

- the **early cohort**: day-0 members whose recovery began less than
  ``population.newcomer_days`` before day 0 (members in early recovery, the
  population the treatment-outcome studies followed);
- the day-0 members by **time abstinent** on day 0 (``sober_days_start``), in
  the bins of Dennis, Foss & Scott (2007): 1-12 months, 1-3 years, 3 years
  and more;
- the **entry cohort**: newcomers who joined in the first 90 days of the run,
  each followed for a year from the day it joined (as treatment-outcome
  studies follow people from discharge); needs ``steps >= 455``.

Each figure is "within a year" of day 0, so the run needs at least 365 days.
:func:`measure` returns one dict of figures per run; :func:`pooled` averages
them over seeds. The validation (``mutualaid validate``) and the calibration
(``python -m sim.experiments.calibrate``) both read them here.
"""

from __future__ import annotations

import numpy as np

YEAR = 365

#: Seeds of the calibration (the fitted patterns are reported on these) and of the validation
#: (the independent patterns, the effect sizes); the two sets do not overlap.
CALIBRATION_SEEDS = range(0, 1000)
VALIDATION_SEEDS = range(1000, 2000)

#: Bins of time abstinent on day 0 (days, lower bound inclusive, upper exclusive).
DENNIS_BINS = {"1-12 months": (30, 365), "1-3 years": (365, 3 * 365), "3+ years": (3 * 365, 10 ** 9)}


def _used_within_year(mem) -> np.ndarray:
    first = mem["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)
    return np.isfinite(first) & (first <= YEAR)


def measure(result) -> dict[str, float]:
    """The patterns of one run (a :class:`sim.runner.RunResult` with members and >= 365 steps)."""
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
    if sc.steps >= YEAR + ENTRY_DAYS:
        out.update(entry_cohort(mem))
    return out


#: Newcomers joining on days 1..ENTRY_DAYS form the entry cohort.
ENTRY_DAYS = 90


def entry_cohort(mem) -> dict[str, float]:
    """Newcomers who joined on days 1..90, each followed for 365 days from joining."""
    j = mem["joined_step"].to_numpy()
    sel = (j >= 1) & (j <= ENTRY_DAYS)
    first = mem["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)[sel] - j[sel]
    used = np.isfinite(first) & (first <= YEAR)
    abst = ~used
    helper = mem["help_share"].to_numpy()[sel] > 0.5
    sponsored = mem["sponsor_id"].notna().to_numpy()[sel]

    def share(x, where):
        return float(x[where].mean()) if where.any() else np.nan

    return {"entry_members": float(sel.sum()),
            "entry_used_within_year": float(used.mean()) if sel.any() else np.nan,
            "entry_first_use_within_90_days": float((first[used] <= 90).mean()) if used.any() else np.nan,
            "entry_helpers_abstinent": share(abst, helper), "entry_nonhelpers_abstinent": share(abst, ~helper),
            "entry_sponsored": float(sponsored.mean()) if sel.any() else np.nan,
            "entry_sponsored_abstinent": share(abst, sponsored),
            "entry_unsponsored_abstinent": share(abst, ~sponsored)}


def _days_present(mem, steps: int) -> np.ndarray:
    left = mem["left_step"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(left), left, steps) - mem["joined_step"].to_numpy()


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each figure over runs (NaN-aware)."""
    keys = rows[0].keys()
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def run_seeds(scenario="baseline", seeds=range(8), set=None, steps: int = YEAR, size: int | None = None):
    """:func:`measure` on one run per seed (kernel engine)."""
    from sim import runner

    over = dict(set or {})
    if size is not None:
        over["population.size"] = size
    return [measure(runner.run(scenario, engine="kernel", seed=s, steps=steps, members=True, set=over))
            for s in seeds]


if __name__ == "__main__":  # a quick look: python -m sim.experiments.patterns [scenario] [seeds]
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else "baseline"
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for key, v in pooled(run_seeds(name, range(k))).items():
        print(f"{key:36s} {v:.3f}")


def absence_spells(result, threshold: int | None = None) -> dict[str, float]:
    """Absences from meetings long enough to need a check-in, and how they end (needs ``member_days``).

    A spell is a run of consecutive days away from the member's meeting that
    reaches ``threshold + 1`` days (``checkins.missed_threshold + 1`` by
    default: the first day a check-in can come). It ends on the day the
    member is back at a meeting; a spell still open at the end of the run,
    or when the member leaves, is censored. Returns the number of spells, the
    share that ended within 30 days of reaching the threshold, and the mean
    days from reaching it to returning among those that ended (the analogue
    of the checkup trials' days to re-entry).
    """
    md = result.member_days
    if md is None:
        raise ValueError("absence_spells needs a run with member_days=True")
    k = (result.scenario.checkins.missed_threshold if threshold is None else threshold) + 1
    md = md[md["step"] >= 1].sort_values(["id", "step"], kind="stable")
    ids = md["id"].to_numpy()
    away = ~md["attended"].to_numpy()
    spells, ended, lengths = 0, 0, []
    run = 0
    for t in range(len(ids)):
        if t and ids[t] != ids[t - 1]:
            if run >= k:
                spells += 1  # censored at the end of the member's days
            run = 0
        if away[t]:
            run += 1
        else:
            if run >= k:
                spells += 1
                ended += 1
                lengths.append(run - k + 1)
            run = 0
    if run >= k:
        spells += 1
    lengths = np.asarray(lengths, dtype=np.float64)
    return {"spells": float(spells),
            "returned_within_30_days": float((lengths <= 30).sum() / spells) if spells else np.nan,
            "days_to_return": float(lengths.mean()) if lengths.size else np.nan}
