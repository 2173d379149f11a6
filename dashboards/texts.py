"""The dashboard's words: the fixed texts (what to watch for, the Kropotkin walk-through, the views'
introductions) and the sentences generated from a run's numbers (headlines, findings, notable moments,
legends, the time left of a long job)."""

# Deferred imports (inside the functions that need them):
# - markdown: it comes with the dashboard's extra (solara), and only the ODD page needs it.
# - sim.experiments.compare: it imports the numba kernels' modules; the page's module loads without numba.

from __future__ import annotations

import html
import re
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from sim.core.schema import Scenario
from sim.core.shipped import ODD_PATH
from sim.dashboards.plots import _col, closure_window
from sim.dashboards.support import LABELS, format_value
from sim.experiments import findings, lesson, trial

#: scenario name -> what to watch for (Markdown); scenarios not listed show their description
WATCH = {
    "baseline": (
        "A community of 500 in meetings of 25. **Watch the crimson rings** (members in a lapse): most come "
        "back within days; helpers who check in and sponsors who answer calls make lapses a little shorter. "
        "The curves show the share using on any day and the relapses so far per 100 members."
    ),
    "kropotkin": (
        "Blue squares help, orange squares compete; darker means more stressed, crimson means using. "
        "**Watch the blue spread** from 30% to most of the community within the year, and stress fall with "
        "it. Two mechanisms do it: *partner choice* (ties to competitors wear away, and payoff comes through "
        "ties, so taking stops paying) and *survival of the supported* (members in crisis drop out, and "
        "competitors, with less support, are in crisis more often). Then set *Partner choice* to 0 and Reset: "
        "fewer helpers, and a community that stays in crisis. `mutualaid lesson kropotkin` shows every "
        "mechanism on and off."
    ),
    "struggle": (
        "Everyone meets everyone and taking pays. **Watch the helper curve fall** to a few percent within a "
        "month while stress and using climb and members in crisis drop out. Newcomers bring some helpers back, "
        "but the community stays in crisis all year: the struggle for existence with no mutual aid."
    ),
    "isolation": (
        "Meetings close from day 60 to day 150. **Watch stress and using rise during the closure** and ask "
        "what is left afterwards. Then switch *Check-ins* on and Reset."
    ),
    "isolation-with-checkins": (
        "The same closure, but helpers phone absent members. **Compare the using curve with 'isolation'**: "
        "outreach softens the blow."
    ),
    "no-checkins": (
        "Nobody calls a member who stops coming. **Watch lapses last longer** than in the baseline. The "
        "Compare tab shows the gap with the same seed."
    ),
    "no-sponsorship": "Newcomers have no sponsor to call. **Watch the newcomers' lapses** early in the year.",
    "nowak-may-1992": (
        "The classic spatial Prisoner's Dilemma (psychology off). **Watch the shifting blue and orange "
        "patterns**: with *T* = 1.85 neither side wins. Try *T* = 1.7, then *T* = 2.1, and Reset."
    ),
    "fermi-lattice": (
        "Noisy imitation on a 50 x 50 lattice. **Watch helpers survive only in compact clusters** at small "
        "temptation T; raise T a little and Reset."
    ),
    "death-birth": (
        "Death-birth updating on a ring with benefit 6 and cost 1: theory favours helpers when benefit/cost "
        "exceeds the number of neighbours (4), but selection is weak and one run drifts. **Watch the helper "
        "curve wander** up and down over hundreds of days; whether helpers gain shows over many runs (the Info "
        "panel). Set *T* = 3 and *R* = 2 (benefit/cost 3, below 4) and Reset to compare."
    ),
}

#: the guided walk-through: (title, text, scenario, overrides as flat keys)
KROPOTKIN_STEPS = (
    (
        "1. The struggle for existence",
        "Darwin's readers in the 1890s stressed competition: the strong take, the weak perish. Here everyone "
        "meets everyone, helping is costly and taking pays. Press **Play**: within a month the helpers fall "
        "to a few percent, stress climbs, and members in crisis drop out. Newcomers bring a few helpers back, "
        "but the community stays in crisis.",
        "struggle",
        {},
    ),
    (
        "2. Mutual aid",
        "Kropotkin answered that those who support each other fare best. Here 30% help, in a community "
        "strained by years of competition. Press **Play**: the blue spreads to most of the lattice within the "
        "year and stress falls. Ties to competitors wear away (partner choice), so taking stops paying, and "
        "members left without support fall into crisis and drop out (survival of the supported).",
        "kropotkin",
        {},
    ),
    (
        "3. Take partner choice away",
        "Now ties to competitors no longer wear away. Press **Play** and compare with step 2: fewer helpers "
        "win through, and the community stays in crisis, with stress about twice as high. Partner choice "
        "is what makes helping pay here.",
        "kropotkin",
        {"ties_conflict_loss": 0.0},
    ),
    (
        "4. Benefit and cost",
        "Raise the temptation (what a competitor gains from a helper): move *T* from 1 to 1.6. Press **Play** and "
        "compare with step 2: helpers still become the majority, but fewer of them, and stress stays higher. "
        "Try *Wellbeing counts as success* = 0 as well: success is then payoff alone.",
        "kropotkin",
        {"game_T": 1.6},
    ),
    (
        "5. Who meets whom",
        "Structure matters in the classic spatial game (Nowak & May 1992, psychology off): helpers survive in "
        "clusters, in ever-changing patterns, though a well-mixed population would lose them all. Move *T* to "
        "1.7 and Reset: clusters of helpers hold most of the lattice. Move *T* to 2.1 and Reset: competitors "
        "take over.",
        "nowak-may-1992",
        {},
    ),
)

#: the control each walk-through step is about (dotted keys): loading the step opens only its section of
#: the sidebar; a step without one closes them all (it is about Play)
STEP_CONTROLS = {
    "3. Take partner choice away": ("ties.conflict_loss",),
    "4. Benefit and cost": ("game.T",),
    "5. Who meets whom": ("game.T",),
}

LESSON_INTRO = (
    "**Which mechanisms let mutual aid win?** Five named mechanisms can each let helpers win in the "
    "`kropotkin` community: *network reciprocity* (helpers beside helpers on a lattice), *wellbeing counts "
    "as success* (members imitate those who are well, and helping keeps one well), *partner choice* (ties "
    "to competitors wear away), *newcomers re-seed helpers* (newcomers help at the initial share) and "
    "*survival of the supported* (members in crisis drop out). The lesson runs them all off, each alone, all "
    "on, and all on but one, on the same seeds, and shows the share of helpers at the end **and** the "
    "community's health. Look for the two mechanisms without which the community stays in crisis."
)

TRIAL_INTRO = (
    "A **virtual randomised trial** inside one community: members (or whole meetings) are assigned at random "
    "to get the intervention or not, as the checkup trials did. Beside them, the whole community both ways. "
    "The curves show how long members stay without a lapse and how soon they come back after an absence; "
    "the table gives hazard ratios, relapses per 100 members and the number needed to treat. The sentences "
    "under the headline are written from this run's own figures: which design found the larger effect, and "
    "whether the intervals show it."
)

TRAINER_INTRO = (
    "Two runs of the same community with the **same random seed**: life shocks and chance meetings are "
    "drawn from the same random numbers in A and B. Each arm has lived its own past under its own settings "
    "before day 0, so the two can already differ on day 0 (each arm's day-0 stress is shown below). "
    "The shaded area is the difference. Below, several replicates (different seeds, still paired) show "
    "how sure we can be: a band that stays away from zero means these runs show a difference in that "
    "direction, of a size within the band; it is what the model does, not a measurement of a real group."
)

RESULTS_INTRO = (
    "Open a finished sweep (`mutualaid sweep`): its `runs.parquet` has one row per run, the swept "
    "parameters as columns, then summary columns. Pick a metric and one parameter (a line with its 95% "
    "band over replicates) or two (a heatmap of the mean)."
)


def prompt(name: str, description: str = "") -> str:
    """Presentation mode's one line: the sentence of the scenario's text that holds its bold **Watch ...**
    (the whole text when it has none, or the description for a scenario without a text)."""
    text = WATCH.get(name) or description
    m = re.search(r"\*\*[^*]+\*\*[^.]*\.", text)
    return m.group(0) if m else text


# ----------------------------------------------------------------------------- sentences generated from a run's numbers


def revision_note(sc: Scenario) -> str:
    """One sentence under the curves on what their revision-day ticks mean, from the scenario's own
    interval: why the share of helpers moves in steps (empty when strategies never change)."""
    if not sc.evolution.enabled:
        return ""
    n = int(sc.evolution.interval)
    if n <= 1:
        return ("Every day is a revision day: members compare how they fare with their neighbours and may "
                "switch between helping and competing, so the share of helpers can move every day.")
    return (f"The ticks on the day axis are revision days, every {n} days: only on those days do members "
            f"compare how they fare with their neighbours and switch between helping and competing, so the "
            f"share of helpers jumps on a tick and stays level for the {n - 1} days between.")


def caption(name: str, changed: Mapping[str, Any]) -> str:
    """What is on the screen, named as the page names it: the scenario and every setting changed from it
    (a walk-through step's variant), in the sliders' words ("kropotkin, with Partner choice: ties to
    competitors wear away = 0")."""
    if not changed:
        return name
    parts = [f"{LABELS.get(k, k)} = {format_value(v)}" for k, v in changed.items()]
    return f"{name}, with " + "; ".join(parts)


def happenings(df: pd.DataFrame, sc: Scenario) -> list[tuple[int, str]]:
    """Notable moments of a run so far, as (day, one line), oldest first.

    - meetings close and reopen (ODD 7.1);
    - helpers fall below a third (or climb back above it) of the community;
    - a relapse spike: at least 3 relapses in a day and at least three times the mean of the 30 days
      before (per day).
    """
    out: list[tuple[int, str]] = []
    days = _col(df, "step").astype(int)
    win = closure_window(sc)
    if win:
        share = f"{sc.isolation.share:.0%} of members" if sc.isolation.share < 1 else "every member"
        if days.size and days[-1] >= win[0]:
            out.append((win[0], f"meetings close for {share}, for {win[1] - win[0]} days"))
        if days.size and days[-1] >= win[1] and win[1] <= sc.steps:
            out.append((win[1], "meetings reopen"))
    helpers = _col(df, "helpers")
    below = helpers < 1 / 3
    for i in np.nonzero(below[1:] != below[:-1])[0] + 1:
        if below[i]:
            out.append((int(days[i]), f"helpers fell below a third of the community ({helpers[i]:.0%})"))
        else:
            out.append((int(days[i]), f"helpers are back above a third ({helpers[i]:.0%})"))
    if sc.psychology.enabled:
        r = _col(df, "relapses")
        if r.size > 31:
            c = np.concatenate([[0.0], np.cumsum(r)])
            i = np.arange(31, r.size)
            before = (c[i] - c[i - 30]) / 30  # the daily mean of the 30 days before day i
            spike = (r[i] >= 3) & (r[i] >= 3 * np.maximum(before, 1e-9))
            before_prev = (c[i - 1] - c[i - 31]) / 30
            spike_prev = (r[i - 1] >= 3) & (r[i - 1] >= 3 * np.maximum(before_prev, 1e-9))
            for k in np.nonzero(spike & ~spike_prev)[0]:
                j = int(i[k])
                out.append((int(days[j]), f"relapses spike: {int(r[j])} today, {r[j] / max(before[k], 1e-9):.1f} "
                                          f"times the daily mean of the month before"))
    out.sort(key=lambda e: e[0])
    return out


def latest_happening(df: pd.DataFrame, sc: Scenario, within: int = 30) -> str:
    """The most recent notable moment of the last ``within`` days, as "Day N: ...", or ""."""
    ev = happenings(df, sc)
    steps = _col(df, "step")
    today = int(steps[-1]) if steps.size else 0
    ev = [e for e in ev if today - e[0] <= within]
    return f"Day {ev[-1][0]}: {ev[-1][1]}" if ev else ""


def view_legend(sc: Scenario, present: bool = False) -> str:
    """The key under the picture (HTML): colours, and on a lattice how meetings lie on it (members meet in
    runs of ``meetings.size`` in reading order, so what a meeting shares shows as horizontal streaks)."""
    lattice = sc.network.kind == "lattice"
    parts = ["<span style='color:#2678b2'>&#9632; helps</span>",
             "<span style='color:#f08c28'>&#9632; competes</span>"]
    if sc.psychology.enabled:
        parts += ["darker: more stress", "<span style='color:#c8143c'>&#9632; using</span>"]
    if not lattice:
        parts.append("(ring); size: stress; lines: ties by weight")
    if present:  # a projector: the colours only
        return " &nbsp; ".join(parts)
    parts.append("click a member to inspect it")
    out = " &nbsp; ".join(parts)
    if lattice and sc.psychology.enabled:
        w, m = sc.network.width, sc.meetings.size
        out += (f"<div class='ma-meetings'>Meetings: members sit in reading order (left to right, row after "
                f"row; a row has {w}) and each run of {m} meets together, so what a meeting shares, such as "
                f"lower stress, shows as horizontal streaks.</div>")
    return out


class Eta:
    """The time left of a long job, from the speed measured on this machine: the first run's time (worker
    start, compiling) is left out, and until a second run has finished the page says it is measuring.

    ``text(done, total)`` is the status line after ``done`` of ``total`` runs."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.first: tuple[int, float] | None = None

    def text(self, done: int, total: int) -> str:
        now = self.clock()
        if done <= 0:
            return f"runs 0 of {total}; measuring this machine's speed on the first runs ..."
        if self.first is None:
            self.first = (done, now)
            return f"runs {done} of {total}; measuring this machine's speed on the first runs ..."
        runs, secs = done - self.first[0], now - self.first[1]
        if runs <= 0 or secs <= 0:
            return f"runs {done} of {total}; measuring this machine's speed on the first runs ..."
        left = (total - done) * secs / runs
        when = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
        return (f"runs {done} of {total}; about {when} left, estimated from the speed measured so far "
                f"({60 * runs / secs:.0f} runs a minute)")


def lesson_notes_html(res) -> str:
    """The lesson's notes as the page shows them: what was run, each mechanism in a sentence (a list, in
    words, without scenario keys), and how to read a cell. ``mutualaid lesson`` prints the technical notes
    (with the keys switched) itself."""
    def words(text: str) -> str:  # "(turnover.leave_prob a day)" -> "(a daily chance)": no keys on the page
        return re.sub(r"\s*\([a-z_]+\.[a-z_.]+[^)]*\)", "", text)

    esc = html.escape
    items = "".join(f"<li><b>{esc(m.name)}</b>: {esc(words(m.what))}. <i>Source: {esc(m.source)}.</i></li>"
                    for m in lesson.MECHANISMS)
    return (f"<p>{len(res.seeds)} paired seeds per arm, {len(res.runs)} runs ({res.wall_time:.0f} s). The five "
            f"mechanisms, each switched on or off:</p><ul>{items}</ul>"
            f"<p>In every arm, {esc(words(lesson.HELD_ON))}.</p>"
            f"<p>Each cell is the mean over the seeds with its 95% interval. Helpers and stress are read over the "
            f"last {lesson.TAIL} days; <i>abstinent</i> is the share of the members of day 0 who never used in "
            f"the year. <i>p vs all off</i>: how likely so many more helpers than with every mechanism off would "
            f"be by chance (a one-sided paired Wilcoxon signed-rank test).</p>")


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lesson_finding(summary: pd.DataFrame) -> str:
    """The lesson's finding in plain sentences generated from its table (helpers at the end, with 95%
    intervals): which mechanisms alone end clearly above every mechanism off, and which, taken away from
    all on, leave clearly fewer helpers ("clearly": the two intervals do not overlap)."""
    rows = {r["arm"]: r for _, r in summary.iterrows()}
    off, on = rows["all off"], rows["all on"]
    f = lambda v: f"{v:.2f}"  # noqa: E731
    alone = [a[: -len(" only")] for a in rows if a.endswith(" only")]
    r2 = lambda v: round(float(v), 2)  # noqa: E731  (the verdict from the figures as the table shows them)
    lift = [a for a in alone if r2(rows[f"{a} only"]["helpers_low"]) > r2(off["helpers_high"])]
    rest = [a for a in alone if a not in lift]
    if lift:
        vals = ", ".join(f(rows[f"{a} only"]["helpers"]) for a in lift)
        s1 = (f"Alone, {_names([a.lower() for a in lift])} {'ends' if len(lift) == 1 else 'each end'} with "
              f"clearly more helpers than with every mechanism off ({vals} against {f(off['helpers'])})")
        s1 += (f"; {_names([a.lower() for a in rest])} alone {'does' if len(rest) == 1 else 'do'} not clearly "
               f"lift helpers above it." if rest else ".")
    else:
        s1 = (f"No mechanism alone ends with clearly more helpers than every mechanism off "
              f"({f(off['helpers'])}): the intervals overlap.")
    but = [a for a in rows if a.startswith("all but ")]
    drop = [a for a in but if r2(rows[a]["helpers_high"]) < r2(on["helpers_low"])]
    if drop:
        vals = ", ".join(f(rows[a]["helpers"]) for a in drop)
        s2 = (f" Taking {_names([a[len('all but '):] for a in drop])} away from all on leaves clearly fewer "
              f"helpers ({vals} against {f(on['helpers'])}).")
    else:
        s2 = f" Taking any one mechanism away from all on ({f(on['helpers'])}) leaves no clearly fewer helpers."
    return s1 + s2


def plain_keys(text: str) -> str:
    """Scenario keys in a generated sentence ("turnover.crisis_days = 100000") named as the page's sliders
    name them ("Survival: days in crisis before dropping out = 100000"): the command line's labels are
    keys, the page's are words."""
    return re.sub(r"\b([a-z_]+\.[a-z_]+)\b", lambda m: LABELS.get(m.group(1), m.group(1)), text)


def compare_headline(sc_a: Scenario, sc_b: Scenario, frames_a, frames_b) -> str:
    """The plain-words headline of the paired replicates (as ``mutualaid compare`` prints it, settings named
    in the page's words)."""
    from sim.experiments.compare import headline_of

    return plain_keys(headline_of(sc_a, sc_b, [f["relapses"].iloc[1:].sum() for f in frames_a],
                       [f["relapses"].iloc[1:].sum() for f in frames_b],
                       [f["helpers"].iloc[-1] for f in frames_a], [f["helpers"].iloc[-1] for f in frames_b],
                       [f["dropouts"].iloc[1:].sum() for f in frames_a],
                       [f["dropouts"].iloc[1:].sum() for f in frames_b]))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def compare_finding(sc_a: Scenario, sc_b: Scenario, frames_a, frames_b) -> str:
    """The comparison's finding in one sentence generated from its replicates (which way, how big, how
    sure; sim/experiments/findings.py): relapses per 100 members a year, or the share of helpers at the end
    when both arms are classic games."""
    from sim.experiments.compare import arm_labels, classic, paired_difference

    la, lb = (plain_keys(x) for x in arm_labels(sc_a, sc_b))
    if classic(sc_a, sc_b):
        ha = [float(f["helpers"].iloc[-1]) for f in frames_a]
        hb = [float(f["helpers"].iloc[-1]) for f in frames_b]
        d, lo, hi, n = paired_difference(ha, hb)
        return findings.difference(f"{lb} (B), the community had a", "share of helpers at the end", d, lo, hi, n,
                                   more="higher", fewer="lower", digits=3, than=f"{_lower_first(la)} (A)")
    year = 365.0 / max(sc_a.steps, 1)
    per = lambda frames, sc: [100.0 * float(f["relapses"].iloc[1:].sum()) / sc.population.size * year  # noqa
                              for f in frames]
    ra, rb = per(frames_a, sc_a), per(frames_b, sc_b)
    d, lo, hi, n = paired_difference(ra, rb)
    out = findings.difference(f"{lb} (B), members had", "relapses per 100 members a year", d, lo, hi, n,
                              reference=float(np.mean(ra)), than=f"{_lower_first(la)} (A)") + (
        " Counted: every member, newcomers included.")
    if sc_a.evolution.enabled or sc_b.evolution.enabled:  # strategies change: the share of helpers too
        ha = [float(f["helpers"].iloc[-1]) for f in frames_a]
        hb = [float(f["helpers"].iloc[-1]) for f in frames_b]
        d, lo, hi, n = paired_difference(ha, hb)
        out += " " + findings.difference(f"{lb} (B), the community had a", "share of helpers at the end", d, lo,
                                         hi, n, more="higher", fewer="lower", digits=3,
                                         than=f"{_lower_first(la)} (A)")
    return out


def trial_findings(res) -> list[str]:
    """The trial's findings as sentences generated from its effects table, each saying whom it counts (the
    trial's cohort, not every member as the comparison above does): relapses, days without using, the first
    lapse and coming back in the whole-community design (or the first design run), each whichever way it
    went; and which of every design run found the largest effect on relapses."""
    e = res.effects
    what = trial.INTERVENTIONS[res.intervention]
    cohort = trial.COHORT[res.intervention]

    def row(design, start):
        r = e[(e["design"] == design) & (e["measure"].str.startswith(start))].iloc[0]
        return float(r["estimate"]), float(r["low"]), float(r["high"])

    measures = set(e["measure"])
    design = "community" if "community" in res.designs else res.designs[0]
    where = trial.DESIGN_LABELS[design]
    n = len(res.seeds)
    est, lo, hi = row(design, "relapses per 100")
    # members are counted by the arm they were assigned to, whether or not a call came (intention to treat)
    out = [findings.difference(f"In the trial ({where}, {n} paired seeds; counted: the {cohort}), those "
                               f"not offered {what} had", "relapses per 100 member-years", est, lo, hi, n,
                               than=f"those offered {what}", runs="paired seeds")]
    if any(m.startswith("days abstinent a year") for m in measures):
        out.append(findings.difference(f"The {cohort} offered {what} had", "days without using a year",
                                       *row(design, "days abstinent a year"), n, than="those not offered it",
                                       runs="paired seeds"))
    if any(m.startswith("hazard ratio of a first lapse") for m in measures):
        out.append(findings.ratio(f"The {cohort} offered {what}", *row(design, "hazard ratio of a first lapse"),
                                  above="had a first lapse sooner", below="went longer before a first lapse"))
    hr = row(design, "hazard ratio of returning")
    out.append(findings.ratio(f"After a first absence, the {cohort} offered {what}", *hr,
                              above="came back sooner", below="came back later"))
    if len(res.designs) >= 2:
        out.append(findings.largest(trial.design_rows(res, "relapses per 100"),
                                    f"fewer relapses per 100 member-years with {what}"))
    return out


def intervention_words() -> dict[str, str]:
    """The trial's interventions as the page offers them: key -> words ("checkins" -> "check-ins")."""
    return dict(trial.INTERVENTIONS)


def intervention_key(words: str) -> str | None:
    """The intervention a choice on the page names (None for anything else)."""
    return next((k for k, w in intervention_words().items() if w == words), None)


def github_slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading (lower case, punctuation dropped, spaces to hyphens)."""
    t = title.strip().lower()
    t = re.sub(r"[^\w\- ]", "", t)
    return t.replace(" ", "-")


_odd_cache: dict[str, str] = {}


def odd_html() -> str:
    """docs/ODD.md as HTML with GitHub-style heading ids (the Info panels link to its sections)."""
    if "html" not in _odd_cache:
        import markdown

        text = ODD_PATH.read_text(encoding="utf-8") if ODD_PATH.is_file() else "# ODD\n\ndocs/ODD.md is missing."
        _odd_cache["html"] = markdown.markdown(
            text, extensions=["tables", "toc"], extension_configs={"toc": {"slugify": lambda v, sep: github_slug(v)}})
    return _odd_cache["html"]
