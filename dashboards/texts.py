"""Plain-language text of the dashboard: what to watch for, and the Kropotkin walk-through."""

#: scenario name -> what to watch for (Markdown); scenarios not listed show their description
WATCH = {
    "baseline": (
        "A community of 500 in meetings of 25. **Watch the crimson rings** (members in a lapse): most come "
        "back within days; helpers who check in and sponsors who answer calls make lapses a little shorter. "
        "The curves show most members staying abstinent through the year while most keep helping."
    ),
    "kropotkin": (
        "Blue squares help, orange squares compete; darker means more stressed, crimson means using. "
        "**Watch the blue clusters**: scattered helpers lose at first, but helpers next to helpers support "
        "each other, stay well and are imitated, so the clusters grow. Then try *Weight of wellbeing* = 0 and "
        "Reset: success is payoff alone."
    ),
    "struggle": (
        "Everyone meets everyone and taking pays. **Watch the helper curve fall** within weeks, then stress "
        "and using climb: the struggle for existence with no mutual aid."
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
        "patterns**: with T = 1.85 neither side wins. Try T = 1.7 or 2.1 and Reset."
    ),
    "fermi-lattice": (
        "Noisy imitation on a 50 x 50 lattice. **Watch helpers survive only in compact clusters** at small "
        "temptation T; raise T a little and Reset."
    ),
    "death-birth": (
        "Death-birth updating on a ring with benefit 6 and cost 1: helpers are favoured when benefit/cost "
        "exceeds the number of neighbours. **Watch the helper curve slowly climb**; set T = 3 and R = 2 to "
        "see it fall."
    ),
}

#: the guided walk-through: (title, text, scenario, overrides as flat keys)
KROPOTKIN_STEPS = (
    (
        "1. The struggle for existence",
        "Darwin's readers in the 1890s stressed competition: the strong take, the weak perish. Here everyone "
        "meets everyone, helping is costly and taking pays. Press **Play** and watch the helpers disappear, "
        "and with them the support that kept stress and craving down.",
        "struggle",
        {},
    ),
    (
        "2. Mutual aid",
        "Kropotkin answered that the species that survive best are those whose members support each other. "
        "On a lattice, helpers can sit next to helpers; when success counts wellbeing as well as payoff, "
        "their clusters spread. Press **Play** and watch the blue clusters grow.",
        "kropotkin",
        {},
    ),
    (
        "3. Benefit and cost",
        "Mutual aid is not guaranteed. Raise the temptation *T* (what a competitor gains from a helper) and "
        "success stops counting wellbeing: helpers now have to win on payoff alone. Press **Play** and "
        "compare with step 2: what does it take for helpers to hold their ground?",
        "kropotkin",
        {"game_T": 1.6, "evolution_wellbeing_weight": 0.0},
    ),
    (
        "4. Who meets whom",
        "Structure matters. In the classic spatial game (Nowak & May 1992), helpers survive in clusters even "
        "though a well-mixed population would lose them all. Move *T* between 1.7 and 2.1 and Reset to find "
        "where clusters stop holding.",
        "nowak-may-1992",
        {},
    ),
)

TRAINER_INTRO = (
    "Two runs of the same community with the **same random seed**: every life shock, every chance meeting "
    "is identical, so any difference between A and B comes from the one setting that differs. "
    "The shaded area is the difference. Below, several replicates (different seeds, still paired) show "
    "how sure we can be: a band that stays away from zero is a real effect."
)

RESULTS_INTRO = (
    "Open a finished sweep (`mutualaid sweep`): its `runs.parquet` has one row per run, the swept "
    "parameters as columns, then summary columns. Pick a metric and one parameter (a line with its 95% "
    "band over replicates) or two (a heatmap of the mean)."
)
