"""Where each parameter's default comes from (the ``status`` column of docs/ODD.md 7.12).

``fitted``
    set by the pattern-oriented calibration (docs/ODD.md 1.2): the keys of
    :data:`sim.experiments.calibrate.SPACE` (a test keeps the two equal).
``sourced``
    taken from a published figure, named here.
``design``
    a definition or modelling choice stated in the ODD, not an empirical
    quantity (how long a newcomer counts as new, what counts as a relapse).
``free``
    hand-set, neither fitted nor sourced: what the model's results may
    depend on without support. docs/SENSITIVITY.md screens the fitted and
    the main free ones with Sobol indices.
``setting``
    what a scenario chooses (sizes, network, game, switches, the closure's
    timing, the initial state the burn-in starts from): not a property of
    people in recovery.
"""

from __future__ import annotations

FITTED: tuple[str, ...] = (
    "psychology.lapse_max", "psychology.lapse_midpoint", "psychology.lapse_width", "psychology.stress_craving",
    "psychology.helper_therapy", "population.newcomer_craving", "recovery.build", "recovery.protection",
    "recovery.lapse_loss", "recovery.help_bonus", "sponsorship.ask_prob", "attendance.newcomer_boost",
)

SOURCED: dict[str, str] = {
    "attendance.weekly_mean": "members go to 2.5 meetings a week on average (Alcoholics Anonymous 2014 "
                              "Membership Survey; ODD 7.1)",
}

DESIGN: dict[str, str] = {
    "population.newcomer_days": "a newcomer is new for 90 days (the fellowships' '90 meetings in 90 days'; ODD 7.1)",
    "population.max_sober_days": "day-0 members are up to five years into recovery (the longest bin of "
                                 "Dennis, Foss & Scott 2007 starts at three years; ODD 5)",
    "population.burn_in": "three years lived before day 0, long enough for a steady state (ODD 5; checked by "
                          "validate: lapses in year 2 / year 1)",
    "psychology.relapse_days": "a lapse of this many days counts as a relapse (ODD 7.8)",
    "checkins.missed_threshold": "meetings missed before a check-in is due (ODD 7.4)",
    "sponsorship.min_sober_days": "a sponsor has a year of sobriety (ODD 7.5)",
    "turnover.crisis_days": "a month in crisis drives a member out (ODD 7.11)",
    "ties.extra_slots": "room for new ties (memory layout; ODD 2.3)",
    "ties.isolation_threshold": "definition of the `isolated` metric (ODD 7.12)",
}

#: Sections whose numeric keys describe people and support (free unless fitted, sourced or design).
PEOPLE_SECTIONS = ("psychology", "attendance", "checkins", "sponsorship", "turnover", "recovery", "ties")


def status(key: str, kind: str) -> str:
    """The status of scenario key ``key`` (dotted) of type name ``kind`` (``int``, ``float``, ``bool``...)."""
    if key in FITTED:
        return "fitted"
    if key in SOURCED:
        return "sourced"
    if key in DESIGN:
        return "design"
    section = key.split(".", 1)[0] if "." in key else ""
    if section in PEOPLE_SECTIONS and kind in ("int", "float"):
        return "free"
    return "setting"
