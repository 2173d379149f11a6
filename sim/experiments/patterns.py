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

**Leaving is censoring, and an outcome.** A member who leaves the community
before a year is up has not been seen to stay abstinent: counting it as
abstinent flatters every cohort (most newcomers leave within a year). So
each abstinence figure is estimated by Kaplan-Meier with leaving as
censoring (``*_km``: :func:`km_survival`), and beside it the share who
*used or left* within the year (``*_used_or_left``) and the share who left
(``*_left``), the drop-outs, a harm in their own right. The older figures
that count leavers as abstinent stay in the output under their old names
for comparison only.
:func:`measure` returns one dict of figures per run; :func:`pooled` averages
them over seeds. The validation (``mutualaid validate``) and the calibration
(``python -m sim.experiments.calibrate``) both read them here.
"""

# Deferred imports (inside the functions that need them):
# - pandas: only a table of patterns needs it; measuring a run and the constants load without it.

from __future__ import annotations

import numpy as np

from sim import runner

YEAR = 365

#: Seeds of the calibration (the fitted patterns are reported on these) and of the validation
#: (the independent patterns, the effect sizes); the two sets do not overlap.
CALIBRATION_SEEDS = range(0, 1000)
VALIDATION_SEEDS = range(1000, 2000)

#: Bins of time abstinent on day 0 (days, lower bound inclusive, upper exclusive).
DENNIS_BINS = {"1-12 months": (30, 365), "1-3 years": (365, 3 * 365), "3+ years": (3 * 365, 10 ** 9)}
#: Every stratum of Dennis, Foss & Scott (2007), Eval Rev 31:585: the share who sustained abstinence a
#: further year, by time abstinent at the start (their figure: 0.36, 0.66, 0.86 at 1-12 months, 1-3 years
#: and 5+ years; 3-5 years lies between). Checked one by one (validate).
DENNIS_STRATA = {"1-12 months": (30, 365), "1-3 years": (365, 3 * 365), "3-5 years": (3 * 365, 5 * 365),
                 "5+ years": (5 * 365, 10 ** 9)}


def km_survival(time, event, at: float) -> float:
    """Kaplan-Meier estimate of S(at): the chance of no event by time ``at``.

    ``time`` is each subject's time of the event (``event`` true) or of censoring (false); an event and
    a censoring at the same time count the event first (the usual convention: the censored subject was
    at risk at that time). NaN when nobody is at risk at the start."""
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    if time.size == 0:
        return float("nan")
    s = 1.0
    for t in np.unique(time[event & (time <= at)]):
        at_risk = np.count_nonzero(time >= t)
        d = np.count_nonzero(event & (time == t))
        s *= 1.0 - d / at_risk
    return float(s)


def _follow_up(first, left, joined, horizon=YEAR):
    """Per member followed from ``joined`` for ``horizon`` days: (time, used, left) where time is the day
    of first use, of leaving (censored) or ``horizon`` (censored), all counted from joining."""
    first = np.asarray(first, dtype=np.float64) - joined
    left = np.asarray(left, dtype=np.float64) - joined
    used = np.isfinite(first) & (first <= horizon)
    gone = ~used & np.isfinite(left) & (left < horizon)
    time = np.where(used, first, np.where(gone, left, horizon))
    return time, used, gone


def cohort_figures(prefix: str, time, used, gone, groups: dict[str, np.ndarray], horizon=YEAR) -> dict[str, float]:
    """A cohort's honest figures: abstinent a year by Kaplan-Meier (leaving censored), used or left, left,
    the share of the year's first uses within 90 days (from the KM curve), and each group's KM abstinence."""
    out = {}
    n = time.size
    s_year = km_survival(time, used, horizon)
    out[f"{prefix}_abstinent_km"] = s_year
    out[f"{prefix}_used_or_left"] = float(np.mean(used | gone)) if n else np.nan
    out[f"{prefix}_left"] = float(np.mean(gone)) if n else np.nan
    s90 = km_survival(time, used, 90)
    out[f"{prefix}_first_use_within_90_days_km"] = (1 - s90) / (1 - s_year) if n and s_year < 1 else np.nan
    for name, sel in groups.items():
        out[f"{prefix}_{name}_abstinent_km"] = km_survival(time[sel], used[sel], horizon) if sel.any() else np.nan
        out[f"{prefix}_{name}_used_or_left"] = float(np.mean((used | gone)[sel])) if sel.any() else np.nan
    return out


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
    first0 = day0["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)
    left0 = day0["left_step"].to_numpy(dtype="float64", na_value=np.nan)
    time0, used0, gone0 = _follow_up(first0, left0, 0)
    out.update(cohort_figures("early", time0[early], used0[early], gone0[early],
                              {"helpers": helper, "nonhelpers": ~helper, "sponsored": sponsored,
                               "unsponsored": ~sponsored}))
    sober0 = day0["sober_days_start"].to_numpy()
    for label, (lo, hi) in DENNIS_BINS.items():
        sel = (sober0 >= lo) & (sober0 < hi)
        out[f"sustained_{label}"] = float((~used[sel]).mean()) if sel.any() else np.nan
        out[f"sustained_km_{label}"] = km_survival(time0[sel], used0[sel], YEAR) if sel.any() else np.nan
        out[f"sustained_or_left_{label}"] = float(np.mean((used0 | gone0)[sel])) if sel.any() else np.nan
    for label, (lo, hi) in DENNIS_STRATA.items():
        sel = (sober0 >= lo) & (sober0 < hi)
        out[f"stratum_km_{label}"] = km_survival(time0[sel], used0[sel], YEAR) if sel.any() else np.nan
        out[f"stratum_members_{label}"] = float(sel.sum())
    out["day0_left_within_year"] = float(np.mean(np.isfinite(left0) & (left0 <= YEAR)))
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
    honest = {}
    if "left_step" in mem:
        time, used_e, gone = _follow_up(mem["first_use_step"].to_numpy(dtype="float64", na_value=np.nan)[sel],
                                        mem["left_step"].to_numpy(dtype="float64", na_value=np.nan)[sel], j[sel])
        h = mem["help_share"].to_numpy()[sel] > 0.5
        spn = mem["sponsor_id"].notna().to_numpy()[sel]
        groups = {"helpers": h, "nonhelpers": ~h, "sponsored": spn, "unsponsored": ~spn}
        if "help_acts" in mem:  # helping as behaviour: any act of help that reached someone
            acted = mem["help_acts"].to_numpy()[sel] > 0
            groups.update(acting=acted, notacting=~acted)
        honest = cohort_figures("entry", time, used_e, gone, groups)
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
            "entry_unsponsored_abstinent": share(abst, ~sponsored), **honest}


def _days_present(mem, steps: int) -> np.ndarray:
    left = mem["left_step"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(left), left, steps) - mem["joined_step"].to_numpy()


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each figure over runs (NaN-aware)."""
    keys = rows[0].keys()
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def run_seeds(scenario="baseline", seeds=range(8), set=None, steps: int = YEAR, size: int | None = None):
    """:func:`measure` on one run per seed (kernel engine)."""
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


def spell_table(md, threshold: int):
    """Absence spells of the members in ``md`` (``member_days`` rows of days >= 1): one row per spell,
    ``id, duration, returned``.

    A member is absent beyond its own pattern from the first day on which it has already missed
    ``threshold`` of its *own* meetings in a row (``due`` days it did not attend; without the ``due``
    column every day is a meeting day) and does not attend: the first day a check-in can come (ODD 7.4).
    The spell ends on the day it is back at a meeting (``returned``, ``duration`` the days from the
    spell's first day to that day); a spell still open at the member's last row (the end of the run,
    or leaving) is censored at its days so far. Being reached does not end a spell: only coming back does.
    """
    import pandas as pd

    md = md.sort_values(["id", "step"], kind="stable")
    ids = md["id"].to_numpy()
    attended = md["attended"].to_numpy(dtype=bool)
    due = md["due"].to_numpy(dtype=bool) if "due" in md else np.ones(len(ids), dtype=bool)
    out_id, out_len, out_end = [], [], []
    missed, open_, length = 0, False, 0
    for t in range(len(ids)):
        if t and ids[t] != ids[t - 1]:
            if open_:
                out_id.append(ids[t - 1]), out_len.append(length), out_end.append(False)
            missed, open_, length = 0, False, 0
        if attended[t]:
            if open_:
                out_id.append(ids[t]), out_len.append(length), out_end.append(True)
            missed, open_, length = 0, False, 0
            continue
        if not open_ and missed >= threshold:
            open_, length = True, 0
        if open_:
            length += 1
        if due[t]:
            missed += 1
    if len(ids) and open_:
        out_id.append(ids[-1]), out_len.append(length), out_end.append(False)
    return pd.DataFrame({"id": np.asarray(out_id, dtype=np.int64), "duration": np.asarray(out_len, float),
                         "returned": np.asarray(out_end, dtype=bool)})


def absence_spells(result, threshold: int | None = None) -> dict[str, float]:
    """Absences from meetings long enough to need a check-in, and how they end (needs ``member_days``).

    A spell (:func:`spell_table`) starts on the first day a check-in can come,
    once the member has missed ``threshold`` of its own meetings in a row
    (``checkins.missed_threshold`` by default), and ends on the day it is
    back at a meeting; a spell still open at the end of the run, or when the
    member leaves, is censored. Returns the number of spells, the
    share that ended within 30 days of reaching the threshold, and the mean
    days from reaching it to returning among those that ended (the analogue
    of the checkup trials' days to re-entry).
    """
    md = result.member_days
    if md is None:
        raise ValueError("absence_spells needs a run with member_days=True")
    k = result.scenario.checkins.missed_threshold if threshold is None else threshold
    sp = spell_table(md[md["step"] >= 1], k)
    spells = len(sp)
    lengths = sp["duration"].to_numpy()[sp["returned"].to_numpy()]
    return {"spells": float(spells),
            "returned_within_30_days": float((lengths <= 30).sum() / spells) if spells else np.nan,
            "days_to_return": float(lengths.mean()) if lengths.size else np.nan}


#: Member states read for pinning at a bound (member_days columns).
BOUNDED = ("stress", "craving", "capital")


def pinned(md) -> dict[str, float]:
    """Share of member-days (days >= 1) on which each bounded state sits exactly at 0 or at 1.

    A state held at a bound by a clamp (stress at its cap driving crisis and exit; a helper's
    craving at 0 whatever happens) produces effects by construction; the model is healthy when no
    state spends more than 1% of member-days there (``worst`` is the largest share)."""
    md = md[md["step"] >= 1]
    out = {}
    for col in BOUNDED:
        v = md[col].to_numpy(dtype=np.float64)
        out[f"{col}_at_0"] = float(np.mean(v <= 0.0)) if v.size else np.nan
        out[f"{col}_at_1"] = float(np.mean(v >= 1.0)) if v.size else np.nan
    out["worst"] = max(out.values())
    return out

