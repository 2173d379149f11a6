"""Plain-language text of the dashboard: what to watch for, and the Kropotkin walk-through."""

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
    import re

    text = WATCH.get(name) or description
    m = re.search(r"\*\*[^*]+\*\*[^.]*\.", text)
    return m.group(0) if m else text
