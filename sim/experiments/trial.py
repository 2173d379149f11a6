"""``mutualaid trial``: a virtual randomised trial inside the simulated community (docs/ODD.md 7.13).

The trainer's evidence. One intervention (check-ins, or a sponsor) is
withheld from a control arm, and the trial reports what trials report:

- Kaplan-Meier curves, with 95% bands, of the time to the first lapse and
  of the time from a member's first absence (from the day a check-in could
  first come) to returning to a meeting;
- hazard ratios (intervention against control) from a Cox model, stratified
  by seed, with cluster-robust intervals (clusters: members, meetings or
  whole communities, by design);
- the difference in days abstinent a year and in relapses per 100 member-
  years, with 95% intervals (percentile bootstrap over the paired seeds);
- the number needed to treat to prevent one member from relapsing;
- the same effects in the measures of the checkup and sponsorship studies
  (docs/ODD.md 1.3), beside the published figures.

Three designs run on the same seeds, side by side, to show spillover:

- ``individual``: member slots are randomised, half to each arm, inside one
  community (``trial.design = individual``);
- ``meetings``: whole meetings are randomised (cluster randomisation);
- ``community``: two whole communities with the same seed, one with the
  intervention for everyone and one without (the comparison no real trial
  can make: the same people, both ways). Its difference is the
  intervention's total effect, spillover included, and the headline.

A control member's helper may be in the intervention arm, and a check-in's
benefit travels along ties; individual randomisation therefore measures a
diluted effect, cluster randomisation less so.

The survival estimators are ``lifelines``' (Kaplan-Meier, Cox proportional
hazards); nothing here re-implements them.
"""

# Deferred imports (inside the functions that need them):
# - sim.core.threads, sim.core.members, sim.experiments.compare: they load numba; the trial's constants
#   and texts (read by the dashboard's texts and the handout) load without it.
# - lifelines: a second to import; only the survival curves and hazard ratios need it.
# - matplotlib: half a second to import; it loads when the trial's figure is drawn.

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from sim import runner
from sim.core.scenarios import ScenarioError, parse_override
from sim.core.schema import Scenario
from sim.engines import resolve_engine
from sim.experiments import findings
from sim.experiments.effects import p_greater
from sim.experiments.patterns import spell_table
from sim.experiments.sweep import _worker_init, spawn_context
from sim.limits import cap, check_count, cores
from sim.runner import prepare

DESIGNS = ("individual", "meetings", "community")
DESIGN_LABELS = {"individual": "members randomised", "meetings": "meetings randomised",
                 "community": "whole community, both ways"}
#: what is withheld, as the trainer names it
INTERVENTIONS = {"checkins": "check-ins", "sponsorship": "a sponsor"}
#: paired seeds by default: at 12 the check-ins headline's 95% interval is about a third of the effect
#: either side (measured: benchmarks/RESULTS.md, "Trial replicates")
DEFAULT_SEEDS = 12
#: sponsorship cohort: newcomers who join in the trial's first ENTRY_DAYS days
ENTRY_DAYS = 180
BOOT = 2000

#: published figures the trial's effects are set beside (docs/ODD.md 1.3)
PUBLISHED = {
    "checkins": [
        ("days from an absence to returning, with / without (ratio of means)", "return_ratio", 0.63,
         "Dennis, Scott & Funk 2003 (Recovery Management Checkups: days to re-entry, 0.63 of control)"),
        ("days abstinent, Cohen's d", "days_abstinent_d", (0.04, 0.29),
         "Scott & Dennis 2009 (checkup trials 1 and 2: d from 0.04 to 0.29)"),
    ],
    "sponsorship": [
        ("abstinent through the follow-up, odds ratio", "abstinent_or", 1.3,
         "Bergman et al. 2015 (sponsorship in early recovery: odds ratio about 1.3)"),
    ],
}


# ----------------------------------------------------------------------------- one run's per-member data


def _spells(md: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Absence spells of the members in ``md`` (days 1..T), beyond each member's own pattern:
    :func:`sim.experiments.patterns.spell_table`."""
    return spell_table(md, threshold)


def per_member(result, intervention: str, arm: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trial's cohort in one run: one row per member, and one row per absence spell.

    Check-ins: the day-0 members. Sponsorship: newcomers who join on days 1..ENTRY_DAYS, followed
    from the day they join. Each member's arm is its slot's (``arm`` overrides it: the community
    design). Columns: ``id, arm, meeting, followed`` (days), ``t_lapse`` (days to the first lapse,
    or followed), ``lapsed``, ``days_abstinent`` (share of followed days sober), ``relapses``,
    ``relapsed``.
    """
    mem = result.members
    steps = result.scenario.steps
    if intervention == "checkins":
        c = mem[mem["joined_step"] == 0]
    else:
        c = mem[(mem["joined_step"] >= 1) & (mem["joined_step"] <= ENTRY_DAYS)]
    start = c["joined_step"].to_numpy(np.int64)
    end = c["left_step"].fillna(steps).to_numpy(np.int64)
    followed = np.maximum(end - start, 0).astype(float)
    first = c["first_use_step"].to_numpy(dtype="float64", na_value=np.inf)
    # day-0 members in a lapse on day 0 are not at risk of a first lapse
    at_risk = ~((intervention == "checkins") & (first == 0))
    lapsed = np.isfinite(first) & (first > start)
    t_lapse = np.where(lapsed, first - start, followed)
    used = c["used_days"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sober_share = np.where(followed > 0, 1.0 - np.minimum(used, followed) / np.maximum(followed, 1), np.nan)
    rows = pd.DataFrame({
        "id": c["id"].to_numpy(np.int64),
        "arm": c["trial_arm"].to_numpy(np.int64) if arm is None else np.full(len(c), arm, dtype=np.int64),
        "meeting": c["meeting"].to_numpy(np.int64), "followed": followed, "at_risk": at_risk,
        "t_lapse": t_lapse, "lapsed": lapsed, "days_abstinent": sober_share,
        "relapses": c["relapses"].to_numpy(np.int64), "relapsed": c["relapses"].to_numpy(np.int64) > 0,
        "left": (c["left_step"].notna() & (end < steps)).to_numpy(bool)})
    md = result.member_days
    md = md[(md["step"] >= 1) & md["id"].isin(rows["id"])]
    sp = _spells(md, result.scenario.checkins.missed_threshold).merge(rows[["id", "arm", "meeting"]], on="id")
    return rows, sp


def _task(task: dict) -> dict:
    """One run of a trial (in a worker process): the per-member rows and spells, tagged."""
    from sim.core import threads

    threads.for_worker()
    sc = Scenario.model_validate(task["scenario"])
    res = runner.run(sc, members=True, member_days=True)  # the scenario's engine: auto is the kernel (the same bits)
    rows, sp = per_member(res, task["intervention"], task["arm"])
    tags = {"design": task["design"], "seed": task["seed"], "replicate": task["replicate"]}
    return {"rows": rows.assign(**tags), "spells": sp.assign(**tags)}


def _pool(tasks: list[dict], workers: int, progress=None) -> Iterable[dict]:
    if workers <= 1:
        for k, t in enumerate(tasks, 1):
            yield _task(t)
            if progress:
                progress(k, len(tasks))
        return
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed


    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn_context(),
                             initializer=_worker_init, initargs=(os.getpid(),)) as ex:
        futures = [ex.submit(_task, t) for t in tasks]
        for k, fut in enumerate(as_completed(futures), 1):
            yield fut.result()
            if progress:
                progress(k, len(tasks))


# ----------------------------------------------------------------------------- the trial


@dataclass
class TrialResult:
    scenario: str
    intervention: str
    seeds: list[int]
    steps: int
    designs: tuple[str, ...]
    members: pd.DataFrame          # every cohort member of every run: design, seed, replicate, arm, ...
    spells: pd.DataFrame           # every absence spell of the cohort
    effects: pd.DataFrame          # one row per design and measure: estimate, low, high, p
    headline: str
    wall_time: float
    settings: dict = field(default_factory=dict)
    published: pd.DataFrame | None = None


def _tasks(scenario, intervention, seeds, steps, overrides, designs) -> tuple[list[dict], dict]:
    tasks, settings = [], {}
    for design in designs:
        if design == "community":
            arms = ((1, {}), (0, {f"{intervention}.enabled": False}))
        else:
            arms = ((None, {"trial.enabled": True, "trial.intervention": intervention, "trial.design": design}),)
        for arm, ov in arms:
            for r, s in enumerate(seeds):
                sc = prepare(scenario, seed=s, steps=steps, set={**overrides, **ov})
                settings.setdefault(f"{design}{'' if arm is None else f' arm {arm}'}", sc.model_dump(mode="json"))
                tasks.append({"scenario": sc.model_dump(mode="json"), "intervention": intervention, "arm": arm,
                              "design": design, "seed": s, "replicate": r})
    return tasks, settings


def run_trial(scenario: str = "baseline", intervention: str = "checkins", seeds: int = DEFAULT_SEEDS,
              steps: int = 365, set: Mapping[str, Any] | Iterable[str] = (), designs: tuple[str, ...] = DESIGNS,
              workers: int | None = None, seed: int | None = None,
              progress: Callable[[int, int], None] | None = None, via: str = "run_trial") -> TrialResult:
    """Run the trial (see the module notes); ``seeds`` paired seeds, children of ``seed`` (default the
    scenario's)."""
    from sim.experiments.compare import replicate_seeds

    if intervention not in INTERVENTIONS:
        raise ScenarioError(f"trial: intervention {intervention!r}: expected one of {', '.join(INTERVENTIONS)}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 2 <= seeds <= 10_000:
        raise ScenarioError(f"trial: seeds = {seeds!r}: expected an integer from 2 to 10000")
    bad = [d for d in designs if d not in DESIGNS]
    if bad or not designs:
        raise ScenarioError(f"trial: design {bad[0] if bad else '(none)'!r}: expected some of {', '.join(DESIGNS)}")
    if isinstance(set, str):
        set = [set]
    overrides = dict(set) if isinstance(set, Mapping) else dict(parse_override(x, via) for x in set)
    for key, option in (("steps", "--steps" if via == "--set" else "steps="),
                        ("seed", "--seed" if via == "--set" else "seed=")):
        if key in overrides:  # the trial's own option decides it: an override would be silently replaced
            raise ScenarioError(f"trial: {via} {key}={overrides[key]!r}: give the trial's {key} with {option}")
    base = prepare(scenario, steps=steps, set=overrides, via=via)
    from sim.core.members import member_days_too_many

    resolve_engine(base)  # an unknown engine, or the Mesa engine above its cap, before any run
    too_many = member_days_too_many(base)
    if too_many:
        raise ScenarioError(f"trial: {too_many} (a trial follows every member every day): use fewer members "
                            f"(population.size) or days (--steps)")
    if not getattr(base, intervention).enabled:
        raise ScenarioError(f"trial: {intervention}.enabled is false in {scenario!r}: there is nothing to randomise")
    if intervention == "sponsorship" and steps <= ENTRY_DAYS:
        raise ScenarioError(f"trial: steps = {steps}: a sponsorship trial follows newcomers of the first "
                            f"{ENTRY_DAYS} days, so it needs more days")
    run_seeds = replicate_seeds(base.seed if seed is None else seed, seeds)
    tasks, settings = _tasks(scenario, intervention, run_seeds, steps, overrides, designs)
    # the default, up to 2, keeps a dashboard's lesson or trial from taking a big server's every core
    workers = cap("workers", check_count("workers", workers, "trial") or min(2, cores()))[0]
    t0 = time.perf_counter()
    rows, spells = [], []
    for out in _pool(tasks, workers, progress):
        rows.append(out["rows"])
        spells.append(out["spells"])
    members = pd.concat(rows, ignore_index=True).sort_values(["design", "seed", "arm", "id"], kind="stable")
    spells_df = pd.concat(spells, ignore_index=True)
    eff = estimate(members, spells_df, designs, run_seeds)
    res = TrialResult(str(scenario), intervention, run_seeds, steps, tuple(designs), members.reset_index(drop=True),
                      spells_df, eff, "", time.perf_counter() - t0, settings)
    res.headline = headline(res)
    res.published = published(res)
    return res


# ----------------------------------------------------------------------------- estimators


def first_spells(spells: pd.DataFrame) -> pd.DataFrame:
    """Each member's first absence spell (spells are in day order per member; the arms of the community
    design are two runs, so a member id appears once per arm)."""
    return spells.drop_duplicates(["design", "seed", "arm", "id"], keep="first") if len(spells) else spells


def km(durations, events, label: str = ""):
    """Kaplan-Meier fit (lifelines) with its 95% band."""
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(alpha=0.05).fit(np.asarray(durations, float), np.asarray(events, bool), label=label)


def cox_hr(df: pd.DataFrame, duration: str, event: str, cluster: str | None, strata: str | None = "seed"):
    """Hazard ratio of ``arm`` (1 against 0) from a Cox model (lifelines), stratified by ``strata``,
    with cluster-robust 95% interval and p-value. Returns (hr, low, high, p)."""
    from lifelines import CoxPHFitter

    cols = [duration, event, "arm"] + ([strata] if strata else []) + ([cluster] if cluster else [])
    d = df[cols].copy()
    d[event] = d[event].astype(bool)
    if d["arm"].nunique() < 2 or not d[event].any():
        return (math.nan,) * 4
    cph = CoxPHFitter()
    cph.fit(d, duration_col=duration, event_col=event, strata=[strata] if strata else None,
            cluster_col=cluster, robust=cluster is not None)
    s = cph.summary.loc["arm"]
    return (float(s["exp(coef)"]), float(s["exp(coef) lower 95%"]), float(s["exp(coef) upper 95%"]), float(s["p"]))


def _per_seed(df: pd.DataFrame, fn) -> pd.DataFrame:
    """``fn(arm_rows)`` per seed and arm, as a table seed x arm; both arms' columns are there (0 control,
    1 intervention), NaN where an arm has no rows (no absence ended in it within a short follow-up)."""
    if df.empty:
        return pd.DataFrame(columns=[0, 1], dtype=float)
    return df.groupby(["seed", "arm"]).apply(fn, include_groups=False).unstack("arm").reindex(columns=[0, 1])


def _log_odds_ratios(lapsed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per seed, the log odds ratio of staying abstinent, arm 1 against arm 0 (columns 0 and 1: control,
    intervention). A seed whose 2x2 table has an empty cell (nobody, or everybody, lapsed in an arm: small
    communities, short follow-ups) gets 0.5 added to each of its cells (the Haldane-Anscombe correction;
    Haldane 1956, Anscombe 1956), so its ratio is finite instead of 0 or infinite; other seeds are as
    counted."""
    cells = np.stack([n[:, 1] - lapsed[:, 1], lapsed[:, 1], n[:, 0] - lapsed[:, 0], lapsed[:, 0]], axis=1)
    cells = cells + 0.5 * (cells == 0).any(axis=1, keepdims=True)
    return np.log(cells[:, 0] / cells[:, 1]) - np.log(cells[:, 2] / cells[:, 3])


def _nanmean(values) -> float:
    """``np.nanmean`` without its warning when every value is NaN (then NaN: a short follow-up can leave an
    arm without an absence that ended, so a measure has nothing to average)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values)


def _boot_paired(values: np.ndarray, stat, rng) -> tuple[float, float]:
    n = len(values)
    idx = rng.integers(0, n, size=(BOOT, n))
    vals = np.array([stat(values[ix]) for ix in idx])
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return math.nan, math.nan
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _rate(g: pd.DataFrame) -> float:
    years = g["followed"].sum() / 365.0
    return 100.0 * g["relapses"].sum() / years if years > 0 else math.nan


def _cohen_d(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    sp = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    return float((x.mean() - y.mean()) / sp) if sp > 0 else math.nan


def estimate(members: pd.DataFrame, spells: pd.DataFrame, designs, seeds) -> pd.DataFrame:
    """Every design's effects (intervention against control); see the module notes."""
    rng = np.random.default_rng(0)
    out = []
    for design in designs:
        m = members[members["design"] == design]
        sp = spells[spells["design"] == design]
        cluster = {"individual": None, "meetings": "cluster", "community": "cluster"}[design]
        m = m.assign(cluster=m["seed"].astype(str) + ":" + (m["meeting"].astype(str) if design == "meetings"
                                                             else m["arm"].astype(str)))
        sp = sp.assign(cluster=sp["seed"].astype(str) + ":" + (sp["meeting"].astype(str) if design == "meetings"
                                                               else sp["arm"].astype(str)))
        risk = m[m["at_risk"]]
        hr = cox_hr(risk, "t_lapse", "lapsed", cluster)
        out.append(dict(design=design, measure="hazard ratio of a first lapse", estimate=hr[0], low=hr[1],
                        high=hr[2], p=hr[3]))
        # each member's first absence: one spell per member, as a trial follows each participant's first
        # need to come back (a member's later spells are not independent of it)
        hr = cox_hr(first_spells(sp), "duration", "returned", cluster)
        out.append(dict(design=design, measure="hazard ratio of returning after a first absence", estimate=hr[0],
                        low=hr[1], high=hr[2], p=hr[3]))
        # per-seed paired differences (intervention - control)
        rate = _per_seed(m, _rate)
        abst = _per_seed(m, lambda g: 365.0 * g["days_abstinent"].mean())
        relap = _per_seed(m, lambda g: g["relapsed"].mean())
        ret = _per_seed(sp[sp["returned"]], lambda g: g["duration"].mean())
        for measure, tab, scale in (("relapses per 100 member-years, control - intervention", rate, -1),
                                    ("days abstinent a year, intervention - control", abst, 1),
                                    ("share who relapse, control - intervention", relap, -1)):
            d = scale * (tab[1] - tab[0]).to_numpy(float)
            lo, hi = _boot_paired(d, _nanmean, rng)
            p = p_greater(d, np.zeros_like(d))
            out.append(dict(design=design, measure=measure, estimate=float(_nanmean(d)), low=lo, high=hi, p=p))
        arr = out[-1]

        def inverse(x: float) -> float:  # a share difference below one in 10^9 is none (a float's rounding)
            return 1.0 / x if x > 1e-9 else math.inf

        out.append(dict(design=design, measure="number needed to treat (one member fewer relapses)",
                        estimate=inverse(arr["estimate"]), low=inverse(arr["high"]), high=inverse(arr["low"]),
                        p=arr["p"]))
        if "left" in m.columns:  # leaving is an outcome beside the censoring it is in the survival figures
            gone = _per_seed(m, lambda g: g["left"].mean())
            d = -(gone[1] - gone[0]).to_numpy(float)
            lo, hi = _boot_paired(d, _nanmean, rng)
            out.append(dict(design=design, measure="share who left, control - intervention",
                            estimate=float(_nanmean(d)), low=lo, high=hi, p=p_greater(d, np.zeros_like(d))))
        ratio = (ret[1] / ret[0]).to_numpy(float)
        lo, hi = _boot_paired(ratio, _nanmean, rng)
        out.append(dict(design=design, measure="days from an absence to returning, intervention / control",
                        estimate=float(_nanmean(ratio)), low=lo, high=hi,
                        p=p_greater(ret[0].to_numpy(float), ret[1].to_numpy(float))))
        x1 = m[m["arm"] == 1]["days_abstinent"].to_numpy(float)
        x0 = m[m["arm"] == 0]["days_abstinent"].to_numpy(float)
        dd = _cohen_d(x1, x0)
        per_seed_d = np.array([_cohen_d(g[g["arm"] == 1]["days_abstinent"].to_numpy(float),
                                        g[g["arm"] == 0]["days_abstinent"].to_numpy(float))
                               for _, g in m.groupby("seed")])
        lo, hi = _boot_paired(per_seed_d, _nanmean, rng)
        out.append(dict(design=design, measure="days abstinent, Cohen's d", estimate=dd, low=lo, high=hi,
                        p=p_greater(per_seed_d, np.zeros_like(per_seed_d))))
        log_or = _log_odds_ratios(_per_seed(m, lambda g: int(g["lapsed"].sum())).to_numpy(float),
                                  _per_seed(m, lambda g: int(len(g))).to_numpy(float))
        lo, hi = _boot_paired(log_or, _nanmean, rng)
        out.append(dict(design=design, measure="abstinent through the follow-up, odds ratio",
                        estimate=float(np.exp(_nanmean(log_or))), low=math.exp(lo), high=math.exp(hi),
                        p=p_greater(log_or, np.zeros(len(log_or)))))
    df = pd.DataFrame(out)
    df["runs"] = [len(seeds) * (2 if d == "community" else 1) for d in df["design"]]
    return df


#: whom the trial counts, in the words of its sentences (not everyone in the community: see per_member)
COHORT = {"checkins": "members present on day 0", "sponsorship": f"newcomers of days 1-{ENTRY_DAYS}"}


def headline(res: TrialResult) -> str:
    """'Without check-ins: +X relapses per 100 members present on day 0 over a year (95% interval a to b,
    N paired runs)' (newcomers of the first days, for sponsorship: its cohort); from the whole-community
    design where it ran. It names whom it counts: ``mutualaid compare`` counts every member."""
    e = res.effects
    design = "community" if "community" in res.designs else res.designs[0]
    row = e[(e["design"] == design) & (e["measure"].str.startswith("relapses per 100"))].iloc[0]
    what = INTERVENTIONS[res.intervention]
    cohort = COHORT[res.intervention]
    who = cohort if design == "community" else f"{cohort} ({DESIGN_LABELS[design]})"
    text = (f"Without {what}: {row['estimate']:+.1f} relapses per 100 {who} over a year "
            f"(95% interval {row['low']:+.1f} to {row['high']:+.1f}, {len(res.seeds)} paired runs)")
    gone = e[(e["design"] == design) & (e["measure"] == "share who left, control - intervention")]
    if len(gone):  # leaving is a harm: how many more (or fewer) of them left, said beside the relapses
        g = gone.iloc[0]
        text += (f"; {100 * g['estimate']:+.1f} of every 100 of them left (95% interval {100 * g['low']:+.1f} "
                 f"to {100 * g['high']:+.1f})")
    return text


def published(res: TrialResult) -> pd.DataFrame:
    """The trial's effects beside the published figures (docs/ODD.md 1.3)."""
    names = {"return_ratio": "days from an absence to returning, intervention / control",
             "days_abstinent_d": "days abstinent, Cohen's d", "abstinent_or": "abstinent through the follow-up, odds ratio"}
    rows = []
    for label, key, value, source in PUBLISHED[res.intervention]:
        for design in res.designs:
            r = res.effects[(res.effects["design"] == design) & (res.effects["measure"] == names[key])].iloc[0]
            lo, hi = (value, value) if not isinstance(value, tuple) else value
            if not np.isfinite(r["low"]):
                verdict = "-"
            elif r["high"] < lo:
                verdict = "weaker" if key != "return_ratio" else "stronger"
            elif r["low"] > hi:
                verdict = "stronger" if key != "return_ratio" else "weaker"
            else:
                verdict = "consistent"
            pub = f"{value}" if not isinstance(value, tuple) else f"{value[0]}-{value[1]}"
            rows.append(dict(measure=label, design=DESIGN_LABELS[design], model=r["estimate"], low=r["low"],
                             high=r["high"], published=pub, source=source, verdict=verdict))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- tables, figures, handout


def _num(v: float, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


def effects_table(res: TrialResult, markdown: bool = True) -> str:
    """Designs side by side: each measure as estimate (95% interval)."""
    e = res.effects
    measures = list(dict.fromkeys(e["measure"]))
    head = ["measure"] + [DESIGN_LABELS[d] for d in res.designs]
    body = []
    for meas in measures:
        digits = 1 if ("per 100" in meas or "days abstinent a year" in meas or "needed" in meas) else 2
        cells = [meas]
        for d in res.designs:
            r = e[(e["design"] == d) & (e["measure"] == meas)].iloc[0]
            cells.append(f"{_num(r['estimate'], digits)} ({_num(r['low'], digits)} to {_num(r['high'], digits)})")
        body.append(cells)
    return _render(head, body, markdown)


def published_table(res: TrialResult, markdown: bool = True) -> str:
    p = res.published
    head = ["measure", "design", "model (95% interval)", "published", "verdict", "source"]
    body = [[r.measure, r.design, f"{_num(r.model)} ({_num(r.low)} to {_num(r.high)})", r.published, r.verdict,
             r.source] for r in p.itertuples()]
    return _render(head, body, markdown)


def _render(head, body, markdown: bool) -> str:
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(map(str, r)) + " |" for r in body])
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in body])


def plot_curves(res: TrialResult):
    """Kaplan-Meier curves with 95% bands: first lapse and return after an absence, one column per design."""
    from matplotlib.figure import Figure

    what = INTERVENTIONS[res.intervention]
    fig = Figure(figsize=(4.6 * len(res.designs), 7.2), layout="constrained")
    axes = fig.subplots(2, len(res.designs), squeeze=False)
    colours = {1: "#2b6cb0", 0: "#c05621"}
    names = {1: f"with {what}", 0: f"without {what}"}
    for col, design in enumerate(res.designs):
        m = res.members[(res.members["design"] == design) & res.members["at_risk"]]
        sp = first_spells(res.spells[res.spells["design"] == design])
        for arm in (1, 0):
            g = m[m["arm"] == arm]
            if len(g):
                f = km(g["t_lapse"], g["lapsed"], names[arm])
                f.plot_survival_function(ax=axes[0, col], ci_show=True, color=colours[arm])
            s = sp[sp["arm"] == arm]
            if len(s):
                f = km(s["duration"], s["returned"], names[arm])
                # share still away = survival; plot the share back (1 - S)
                t = f.survival_function_.index.to_numpy()
                back = 1 - f.survival_function_.iloc[:, 0].to_numpy()
                ci = f.confidence_interval_survival_function_
                axes[1, col].step(t, back, where="post", color=colours[arm], label=names[arm])
                axes[1, col].fill_between(t, 1 - ci.iloc[:, 1].to_numpy(), 1 - ci.iloc[:, 0].to_numpy(),
                                          step="post", color=colours[arm], alpha=0.2)
        axes[0, col].set_title(f"{DESIGN_LABELS[design]}: no lapse yet", fontsize=10)
        axes[0, col].set_xlabel("days since the trial began" if res.intervention == "checkins"
                                else "days since joining")
        axes[0, col].set_ylabel("share without a lapse")
        axes[0, col].set_ylim(0, 1.02)
        axes[1, col].set_title(f"{DESIGN_LABELS[design]}: back after a first absence", fontsize=10)
        axes[1, col].set_xlabel("days since a check-in could first come")
        axes[1, col].set_ylabel("share of absences ended")
        axes[1, col].set_xlim(0, 60)
        axes[1, col].set_ylim(0, 1.02)
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[1]:  # an empty panel (no absence in a short follow-up): no legend
                ax.legend(fontsize=8, loc="best")
    fig.suptitle(f"Virtual trial: {what} on `{res.scenario}`, {len(res.seeds)} paired seeds "
                 "(Kaplan-Meier, 95% bands)", fontsize=11)
    return fig


NOT_A_PREDICTION = (
    "This is a teaching model, not a clinical prediction. The community, its members and their lapses are "
    "simulated from rules and published patterns (docs/ODD.md); the trial shows how the model behaves when "
    "an intervention is withheld from some members, with the same simulated people in both arms, which no "
    "real study can do. Its numbers illustrate mechanisms (being missed and reached, finding a sponsor, "
    "spillover between arms); they do not predict what a programme will achieve with real people."
)


def report_markdown(res: TrialResult, command: str = "") -> str:
    what = INTERVENTIONS[res.intervention]
    lines = [f"# Virtual trial: {what} on `{res.scenario}`", "", f"**{res.headline}**", "",
             f"{len(res.seeds)} paired seeds (children of the scenario's seed), {res.steps} days; "
             f"cohort: {'the day-0 members' if res.intervention == 'checkins' else f'newcomers of days 1-{ENTRY_DAYS}'}; "
             f"{len(res.members)} member-runs, {len(res.spells)} absences; {res.wall_time:.0f} s."
             + (f" Command: `{command}`." if command else ""), "",
             "## Effects by design", "",
             "Intervention against control. Hazard ratios: Cox model stratified by seed, cluster-robust 95% "
             "intervals (clusters: meetings, or whole communities). Differences: mean over paired seeds with "
             "a 95% percentile bootstrap interval. Hazard ratio of a first lapse below 1 and of returning "
             "above 1 favour the intervention.", "", effects_table(res), "",
             "## Beside the published trials", "", published_table(res), "",
             "## What this is", "", NOT_A_PREDICTION, "",
             "Spillover: a control member's helper may be in the intervention arm, and support travels along "
             "ties between the arms; randomising whole meetings keeps the arms further apart, and the "
             "whole-community comparison shows the total effect. " + _designs_sentence(res), ""]
    return "\n".join(lines)


def _designs_sentence(res: TrialResult) -> str:
    """Which design found the largest effect on relapses, over every design the trial ran
    (findings.largest), from this trial's figures."""
    if len(res.designs) < 2:
        return ""
    return findings.largest(design_rows(res, "relapses per 100"),
                            f"fewer relapses per 100 member-years with {INTERVENTIONS[res.intervention]}")


#: each design as the sentences name it
DESIGN_WORDS = {"individual": "randomising members", "meetings": "randomising meetings",
                "community": "the whole community both ways"}


def design_rows(res: TrialResult, start: str) -> list[tuple[str, tuple[float, float, float]]]:
    """Every design's (words, (estimate, low, high)) of the measure starting with ``start``."""
    e = res.effects
    out = []
    for d in res.designs:
        r = e[(e["design"] == d) & e["measure"].str.startswith(start)].iloc[0]
        out.append((DESIGN_WORDS[d], (float(r["estimate"]), float(r["low"]), float(r["high"]))))
    return out
