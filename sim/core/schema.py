"""Scenario schema: the one source of truth for every parameter.

Each field is the one declaration of its key: its type, range, default and a one-line meaning, and,
as :func:`P`'s further keywords (:class:`Meta`), everything else known about it: its unit, where its
default comes from (``fitted=(low, high)`` with the calibration's prior, ``sourced=``/``design=`` with
the source, else free or setting), its place in the Sobol sweep (``sobol=``) and the dashboard's label,
control group and slider range. The JSON Schema (``mutualaid schema``), the ODD parameter tables
(``docs/ODD.md``), the ``--set`` keys, the provenance lists, the calibration space, the dashboard's
controls and the Sobol sweep's ranges are all generated from these classes, through
:mod:`sim.core.registry` (whose docstring says how). Equations that use the parameters are in
``sim/core/rules.py`` and ``docs/ODD.md``.
"""

# Deferred imports (inside the functions that need them):
# - sim.core.networks: it loads numpy; `import sim` (and so `mutualaid --help`) loads this module, and only a
#   complete network's size check needs networks' limit.

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

NETWORK_KINDS = (
    "lattice",
    "ring",
    "watts_strogatz",
    "barabasi_albert",
    "erdos_renyi",
    "sbm",
    "complete",
    "edgelist",
)
ENGINES = ("auto", "agents", "kernel")
EVOLUTION_RULES = ("fermi", "imitate_best", "death_birth")
NEWCOMER_STRATEGIES = ("initial", "mix")
TRIAL_INTERVENTIONS = ("checkins", "sponsorship")
TRIAL_DESIGNS = ("individual", "meetings")

MAX_POPULATION = 10_000_000
#: Most tie slots (members x (degree + ties.extra_slots)); each is a neighbour (4 B) and a weight (8 B).
MAX_TIE_SLOTS = 400_000_000
#: Peak memory of the kernel engine per member at degree 8 (benchmarks/RESULTS.md), for the messages.
BYTES_PER_MEMBER = 550


def _no_bool(value):
    """``true``/``false`` where a number is due is refused (pydantic would read it as 1/0)."""
    if value is True or value is False:
        raise ValueError("a number is needed, not true/false")
    return value


#: numbers that refuse booleans (the check runs on these fields only: a scenario validates quickly,
#: which a sweep of 100,000 points needs)
Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


#: The dashboard's groups of Explore controls, in the order the page shows them (``control=(group, position)``).
MECHANISMS = "Mechanisms"
SUPPORT = "Check-ins, sponsorship, isolation, stress"
COMMUNITY = "Community"
GAME = "The game (benefit and cost)"
EVOLUTION = "Evolution"
ROUTES = "Routes to mutual aid (docs/ODD.md 1.4)"
CONTROL_GROUP_TITLES = (MECHANISMS, SUPPORT, COMMUNITY, GAME, EVOLUTION, ROUTES)

#: where a default comes from (docs/ODD.md 7.12; :mod:`sim.core.provenance` says what each means)
STATUSES = ("fitted", "sourced", "design", "free", "setting")


@dataclass(frozen=True)
class Meta:
    """What a key's declaration says beyond its type, range, default and meaning (:func:`P`'s keywords).

    Stored as the field's ``json_schema_extra``: pydantic calls it while writing the JSON Schema, where it
    adds the ``unit``; :mod:`sim.core.registry` reads the rest.
    """

    #: what the number counts ("probability per day", "share", "days", "members"...); "" where it has none
    unit: str = ""
    #: "fitted", "sourced" or "design"; "" leaves it to the rule (free in a people section, else setting)
    status: str = ""
    #: the published figure (sourced) or the definition (design) the default comes from
    source: str = ""
    #: fitted keys: the range the calibration searches (calibrate.SPACE, the Sobol sweep's range)
    prior: tuple[float, float] | None = None
    #: position in the Sobol sweep scenarios/sweeps/sobol-psychology.yaml (fitted: over ``prior``; free: over
    #: half to one and a half times the default); None: not in it
    sobol: int | None = None
    #: the dashboard's label of the key (its control, captions, Compare toggles)
    label: str = ""
    #: (group title, position in the group) of the key's control in the Explore view; None: no control
    control: tuple[str, int] | None = None
    #: the dashboard's slider range (min, max), narrower than the schema's bounds
    page: tuple[float, float] | None = None
    #: narrower slider ranges still for named scenarios: ((scenario, (min, max)), ...)
    page_for: tuple[tuple[str, tuple[float, float]], ...] = ()

    def __call__(self, schema: dict) -> None:
        if self.unit:
            schema["unit"] = self.unit


def P(default, description, *, ge=None, le=None, gt=None, lt=None, fitted=None, sourced=None, design=None,
      **meta):
    """A documented, bounded field, and everything else known about its key (:class:`Meta`'s fields as
    keywords; ``fitted=(low, high)`` marks it fitted over that prior, ``sourced=``/``design=`` give the
    source of a sourced or design default)."""
    if fitted is not None:
        meta.update(status="fitted", prior=fitted)
    for status, source in (("sourced", sourced), ("design", design)):
        if source is not None:
            meta.update(status=status, source=source)
    return Field(default, description=description, ge=ge, le=le, gt=gt, lt=lt,
                 json_schema_extra=Meta(**meta) if meta else None)


class Population(_Section):
    size: Int = P(500, "number of members (lattice: width*height)", ge=2, le=MAX_POPULATION,
        unit="members", label="Members", control=(COMMUNITY, 1), page=(20, 1000))
    initial_helpers: Float = P(0.6, "share of members playing HELP on day 0", ge=0, le=1,
        unit="share", label="Helpers on day 0", control=(COMMUNITY, 5))
    initial_stress: Float = P(0.15, "mean stress on day 0", ge=0, le=1, unit="stress")
    initial_craving: Float = P(0.12, "mean craving on day 0 (experienced members)", ge=0, le=1, unit="craving")
    initial_spread: Float = P(0.15, "day-0 stress and craving are uniform in mean +- spread", ge=0, le=0.5,
        unit="stress, craving")
    initial_using: Float = P(0.0, "share of members in a lapse on day 0", ge=0, le=1, unit="share")
    newcomer_share: Float = P(0.2, "share of day-0 members who are newcomers", ge=0, le=1, unit="share")
    newcomer_craving: Float = P(0.4, "mean craving of a newcomer (day 0 and turnover)", ge=0, le=1,
        unit="craving", fitted=(0.25, 0.4), sobol=6)
    newcomer_days: Int = P(90, "days since recovery began in the community during which a member counts as a newcomer", ge=0, le=36500,
        unit="days", design="a newcomer is new for 90 days (the fellowships' '90 meetings in 90 days'; ODD 7.1)")
    max_sober_days: Int = P(1825, "experienced members start with sober days uniform up to this", ge=0, le=36500,
        unit="days", design="day-0 members are up to five years into recovery (the longest bin of "
                            "Dennis, Foss & Scott 2007 starts at three years; ODD 5)")
    burn_in: Int = P(1095, "days the community lives before day 0 (psychology on): strategies fixed, no isolation, nothing recorded; day 0 then finds it at its steady state", ge=0, le=36500,
        unit="days", design="three years lived before day 0, long enough for a steady state (ODD 5; checked by "
                            "validate: lapses in year 2 / year 1)")


class Network(_Section):
    kind: Literal[NETWORK_KINDS] = Field("watts_strogatz", description="topology of the initial ties")
    degree: Int = P(8, "mean number of ties per member (ring, watts_strogatz, erdos_renyi, sbm; barabasi_albert attaches degree/2 edges)", ge=1, le=1000,
        unit="ties", label="Ties per member", control=(COMMUNITY, 4), page=(2, 20))
    rewire: Float = P(0.1, "watts_strogatz rewiring probability", ge=0, le=1, unit="probability")
    width: Optional[int] = P(None, "lattice width (size = width*height)", ge=1, le=10000,
        unit="members", label="Lattice width", control=(COMMUNITY, 2), page=(2, 200))
    height: Optional[int] = P(None, "lattice height (size = width*height)", ge=1, le=10000,
        unit="members", label="Lattice height", control=(COMMUNITY, 3), page=(2, 200))
    neighborhood: Literal["moore", "von_neumann"] = Field("moore", description="lattice neighbourhood: 8 (moore) or 4 (von_neumann) neighbours")
    periodic: bool = Field(True, description="lattice wraps around (torus); false gives fixed edges")
    self_interaction: bool = Field(False, description="members also play the game against themselves (Nowak & May 1992)")
    groups: Int = P(10, "sbm: number of groups (meetings of the stochastic block model)", ge=1, le=100000,
        unit="meetings")
    between_share: Float = P(0.1, "sbm: share of a member's expected ties that go to other groups", ge=0, le=1,
        unit="share")
    path: Optional[str] = Field(None, description="edgelist: file of 'i j' lines, members numbered 0..size-1 (relative paths are read from the scenario's folder)")


class Meetings(_Section):
    size: Int = P(25, "members per meeting; member i belongs to meeting i // size (sbm: its group)", ge=2, le=MAX_POPULATION,
        unit="members")


class Game(_Section):
    R: Float = P(0.8, "payoff to HELP meeting HELP (reward)", ge=-100, le=100,
        unit="payoff", label="R: help meets help", control=(GAME, 1), page=(-1.0, 3.0))
    S: Float = P(-0.2, "payoff to HELP meeting COMPETE (sucker)", ge=-100, le=100,
        unit="payoff", label="S: help meets compete", control=(GAME, 2), page=(-1.0, 3.0))
    T: Float = P(1.0, "payoff to COMPETE meeting HELP (temptation)", ge=-100, le=100,
        unit="payoff", label="T: compete meets help", control=(GAME, 3), page=(-1.0, 3.0), page_for=(("nowak-may-1992", (1.0, 2.2)), ("fermi-lattice", (0.9, 2.0))))
    P: Float = P(0.0, "payoff to COMPETE meeting COMPETE (punishment)", ge=-100, le=100,
        unit="payoff", label="P: compete meets compete", control=(GAME, 4), page=(-1.0, 3.0))


class Psychology(_Section):
    enabled: bool = Field(True, description="false: stress, craving, attendance and recovery are switched off and ties are frozen (the classic games)")
    stress_decay: Float = P(0.04, "daily relaxation of stress towards 0", ge=0, le=1, unit="share per day", sobol=13)
    conflict_stress: Float = P(0.04, "stress added per day at full conflict (all ties compete)", ge=0, le=1,
        unit="stress per day")
    loneliness_stress: Float = P(0.04, "stress added per day at full loneliness (no ties)", ge=0, le=1,
        unit="stress per day")
    support_buffer: Float = P(0.05, "share of stress removed per day at full support", ge=0, le=1, unit="share per day")
    shock_prob: Float = P(0.02, "daily probability of a life shock", ge=0, le=1,
        unit="probability per day", sobol=15, label="Daily chance of a life shock", control=(SUPPORT, 7))
    shock_size: Float = P(0.3, "stress added by a life shock", ge=0, le=1, unit="stress")
    stress_craving: Float = P(0.032, "craving added per day per unit of stress", ge=0, le=1,
        unit="craving per day per unit of stress", fitted=(0.03, 0.07), sobol=4)
    craving_decay: Float = P(0.03, "daily relaxation of craving towards 0", ge=0, le=1, unit="share per day", sobol=14)
    support_craving: Float = P(0.02, "share of craving removed per day at full support", ge=0, le=1,
        unit="share per day")
    using_stress: Float = P(0.03, "stress added per day in a lapse", ge=0, le=1, unit="stress per day")
    using_craving: Float = P(0.02, "craving added per day in a lapse", ge=0, le=1, unit="craving per day")
    helper_therapy: Float = P(0.019, "craving removed from a helper per unit act of help (Pagano et al. 2004)", ge=0, le=1,
        unit="craving per act of help", fitted=(0.0, 0.02), sobol=5, label="Helper therapy (craving removed by helping)", control=(SUPPORT, 8))
    scarcity_stress: Float = P(0.0, "stress added per day at full scarcity: the game's payoff per unit tie weight at the worst entry of (R, S, T, P), none at the best", ge=0, le=1,
        unit="stress per day")
    lapse_max: Float = P(0.056, "daily lapse probability as craving approaches 1", ge=0, le=1,
        unit="probability per day", fitted=(0.03, 0.09), sobol=1)
    lapse_midpoint: Float = P(0.75, "craving at which the lapse probability is half of lapse_max", ge=0, le=1,
        unit="craving", fitted=(0.55, 0.8), sobol=2)
    lapse_width: Float = P(0.29, "width of the logistic lapse curve in craving", gt=0, le=1,
        unit="craving", fitted=(0.15, 0.3), sobol=3)
    stop_base: Float = P(0.05, "daily probability of ending a lapse, with no support", ge=0, le=1,
        unit="probability per day", sobol=16)
    stop_support: Float = P(0.15, "added probability of ending a lapse at full support", ge=0, le=1,
        unit="probability per day", sobol=17)
    shame: Float = P(0.2, "stress added by a lapse, times (1 - support): support absorbs shame", ge=0, le=1,
        unit="stress", sobol=18)
    relapse_days: Int = P(3, "consecutive days of use after which a lapse counts as a relapse", ge=1, le=365,
        unit="days", design="a lapse of this many days counts as a relapse (ODD 7.8)")
    tie_target: Float = P(3.0, "total tie weight below which a member is lonely", gt=0, le=1000, unit="tie weight")
    help_acts: bool = Field(False, description="helping is behaviour, not a trait: helper therapy and recovery capital's help bonus come only from acts of help that reached someone today (check-ins made, sponsor calls answered), and a member's chance of reaching out grows with its own recovery capital (docs/ODD.md 7.4, 7.7); false: a helper's tie weight counts as help given every day")
    saturating: bool = Field(False, description="stress and craving respond smoothly near their bounds: what raises them acts on the room left below 1, what lowers them on what there is, so no member is driven to the cap of 1 and held there (docs/ODD.md 7.6); false: additive changes clamped to [0, 1]")


class Attendance(_Section):
    propensity_a: Float = P(1.0, "members' own attendance propensity (the chance with no ties, stress or use) is Kumaraswamy(a, b); a = b = 1 is uniform", gt=0, le=100)
    propensity_b: Float = P(4.6, "second shape of the attendance propensity (larger b: lower propensities)", gt=0, le=100,
        sobol=19)
    tie_effect: Float = P(0.15, "added at total tie weight >= psychology.tie_target", ge=0, le=1, unit="probability")
    stress_effect: Float = P(0.4, "removed at stress 1", ge=0, le=1, unit="probability")
    using_effect: Float = P(0.4, "removed while in a lapse", ge=0, le=1, unit="probability")
    checkin_boost: Float = P(0.3, "added at full re-engagement after a check-in (checkins.effect_days: 1 means the day after being reached only)", ge=0, le=1,
        unit="probability", sobol=20)
    newcomer_boost: Float = P(0.49, "added while a member is a newcomer (population.newcomer_days): newcomers go to many meetings", ge=0, le=1,
        unit="probability", fitted=(0.4, 0.6), sobol=12)
    stress_relief: Float = P(0.01, "stress removed by attending a meeting", ge=0, le=1, unit="stress")
    craving_relief: Float = P(0.004, "craving removed by attending a meeting", ge=0, le=1, unit="craving")
    rhythm: bool = Field(False, description="members have a home group and a weekly rhythm of meetings: each goes on its own weekdays (attendance.weekly_mean a week on average), and 'missed' counts its own scheduled meetings missed in a row (docs/ODD.md 7.1); false: a daily chance from the member's propensity")
    weekly_mean: Float = P(2.5, "rhythm: mean meetings a week among members (1 + Binomial(6, (mean - 1) / 6))", ge=1, le=7,
        unit="meetings per week", sourced="members go to 2.5 meetings a week on average (Alcoholics Anonymous 2014 "
                                          "Membership Survey; ODD 7.1)")
    newcomer_weekly: Int = P(5, "rhythm: meetings a week of a newcomer (population.newcomer_days) who would otherwise go to fewer", ge=1, le=7,
        unit="meetings per week")
    show: Float = P(0.7, "rhythm: chance of going to one's scheduled meeting before ties, stress, use and check-ins", ge=0, le=1,
        unit="probability")


class Checkins(_Section):
    enabled: bool = P(True, "members who miss meetings are reached by helper neighbours",
        label="Check-ins", control=(MECHANISMS, 2))
    missed_threshold: Int = P(2, "consecutive missed meetings after which a member is checked on", ge=1, le=365,
        unit="meetings", design="meetings missed before a check-in is due (ODD 7.4)", label="Check-in: meetings missed before a call", control=(SUPPORT, 2))
    prob: Float = P(0.5, "probability that an active helper neighbour reaches out, times the tie weight and the helper's readiness", ge=0, le=1,
        unit="probability", sobol=21, label="Check-in: chance a helper neighbour reaches out", control=(SUPPORT, 1))
    capacity: Int = P(2, "most check-ins a helper makes in a day (strongest ties first)", ge=1, le=1000,
        unit="check-ins per day")
    readiness_a: Float = P(2.0, "members' readiness to reach out is Kumaraswamy(a, b) (a large, b = 1: everyone fully ready)", gt=0, le=1000)
    readiness_b: Float = P(1.0, "second shape of the readiness to reach out", gt=0, le=1000)
    stress_relief: Float = P(0.05, "stress removed by being reached", ge=0, le=1, unit="stress")
    stop_boost: Float = P(0.2, "added probability of ending a lapse when reached (and, with checkins.effect_days > 1, at the re-engagement carried from earlier check-ins)", ge=0, le=1,
        unit="probability", sobol=22)
    effect_days: Float = P(1.0, "how long being reached lasts: re-engagement is 1 after a check-in and keeps 1 - 1/effect_days of itself each day (1: the day after only)", ge=1, le=3650,
        unit="days")


class Sponsorship(_Section):
    enabled: bool = P(True, "newcomers are paired with experienced sober helpers who answer their calls",
        label="Sponsorship", control=(MECHANISMS, 1))
    min_sober_days: Int = P(365, "sober days a sponsor needs", ge=0, le=36500,
        unit="days", design="a sponsor has a year of sobriety (ODD 7.5)")
    capacity: Int = P(3, "most sponsees per sponsor", ge=1, le=1000,
        unit="sponsees", label="Sponsees per sponsor", control=(SUPPORT, 4))
    ask_prob: Float = P(0.085, "daily chance that an unsponsored newcomer at today's meeting asks for a sponsor", ge=0, le=1,
        unit="probability per day", fitted=(0.04, 0.1), sobol=11)
    call_threshold: Float = P(0.15, "craving above which a sponsee calls the sponsor", ge=0, le=1, unit="craving")
    answer_prob: Float = P(0.8, "probability that a sober sponsor answers a call", ge=0, le=1,
        unit="probability", label="Sponsor answers the call (chance)", control=(SUPPORT, 3))
    craving_relief: Float = P(0.15, "craving removed by an answered call", ge=0, le=1, unit="craving")
    stop_boost: Float = P(0.2, "added probability of ending a lapse after an answered call", ge=0, le=1,
        unit="probability", sobol=23)


class Isolation(_Section):
    enabled: bool = P(False, "meetings close for part of the community for a period",
        label="Isolation (meetings close)", control=(MECHANISMS, 3))
    start: Int = P(60, "first day meetings are closed", ge=0, le=100000, unit="day")
    duration: Int = P(90, "days meetings stay closed", ge=0, le=100000,
        unit="days", label="Isolation: days meetings stay closed", control=(SUPPORT, 6))
    share: Float = P(1.0, "share of members whose meetings close", ge=0, le=1,
        unit="share", label="Isolation: share of members whose meetings close", control=(SUPPORT, 5))
    tie_scale: Float = P(0.5, "ties of an isolated member count this much while isolation lasts", ge=0, le=1,
        unit="factor")


class Ties(_Section):
    dynamic: bool = Field(True, description="ties strengthen, weaken, break and form (needs psychology.enabled)")
    initial_weight: Float = P(0.5, "weight of day-0 ties", gt=0, le=1, unit="tie weight")
    help_gain: Float = P(0.02, "daily strengthening of a tie between two helpers, times (1 - w); half of it with one helper", ge=0, le=1,
        unit="share per day")
    conflict_loss: Float = P(0.03, "daily weakening of a tie between two competitors, times w; half of it with one competitor", ge=0, le=1,
        unit="share per day", label="Partner choice: ties to competitors wear away", control=(ROUTES, 1), page=(0.0, 0.2))
    decay: Float = P(0.002, "daily decay of every tie", ge=0, le=1, unit="per day")
    break_below: Float = P(0.02, "a tie whose weight falls below this breaks", ge=0, le=1, unit="tie weight")
    form_prob: Float = P(0.05, "probability that two co-attendees paired at a meeting form a tie", ge=0, le=1,
        unit="probability")
    new_weight: Float = P(0.2, "weight of a newly formed tie", gt=0, le=1, unit="tie weight")
    extra_slots: Int = P(8, "room for new ties per member beyond its day-0 degree", ge=0, le=1000,
        unit="ties", design="room for new ties (memory layout; ODD 2.3)")
    isolation_threshold: Float = P(0.1, "a member with no tie above this counts as isolated", ge=0, le=1,
        unit="tie weight", design="definition of the `isolated` metric (ODD 7.12)")


class Evolution(_Section):
    enabled: bool = P(False, "members revise their strategy by imitation",
        label="Evolution (imitation)", control=(MECHANISMS, 4))
    rule: Literal[EVOLUTION_RULES] = P("fermi", "fermi (pairwise comparison), imitate_best (deterministic, includes self), death_birth",
        label="Imitation rule", control=(EVOLUTION, 1))
    interval: Int = P(7, "days between strategy revisions", ge=1, le=100000,
        unit="days", label="Days between revisions", control=(EVOLUTION, 2), page=(1, 60))
    temperature: Float = P(0.1, "fermi noise K: adopt j with 1/(1+exp((f_i-f_j)/K))", gt=0, le=1000,
        unit="payoff", label="Noise K (fermi)", control=(EVOLUTION, 3), page=(0.02, 2.0))
    mutation: Float = P(0.001, "probability that a revising member takes a random strategy", ge=0, le=1,
        unit="probability", page=(0.0, 0.05))
    wellbeing_weight: Float = P(0.0, "weight of wellbeing (1 - (stress+craving)/2) in fitness", ge=0, le=100,
        label="Wellbeing counts as success (weight)", control=(ROUTES, 2), page=(0.0, 5.0))
    selection: Float = P(0.1, "death_birth selection strength w: fitness 1 - w + w*payoff", ge=0, le=1)
    revision_share: Float = P(1.0, "chance that a member revises at a revision (death_birth: that its site is vacated); small values approach one-at-a-time (asynchronous) updating", gt=0, le=1,
        unit="probability")


class Turnover(_Section):
    enabled: bool = P(True, "members in crisis too long drop out and newcomers take their place",
        label="Turnover (dropouts, newcomers)", control=(MECHANISMS, 5))
    crisis_stress: Float = P(0.85, "stress at or above which a member is in crisis (a lapse is always crisis)", ge=0, le=1,
        unit="stress")
    # page: a week to four months in crisis; the lesson's "off" (nobody drops out in crisis) is a Compare preset
    crisis_days: Int = P(30, "consecutive crisis days after which a member drops out", ge=1, le=100000,
        unit="days", design="a month in crisis drives a member out (ODD 7.11)", label="Survival: days in crisis before dropping out", control=(ROUTES, 4), page=(7, 120))
    leave_prob: Float = P(0.0005, "daily chance that a member leaves for other reasons (moves away, stops coming): the steady stream of newcomers", ge=0, le=1,
        unit="probability per day", sobol=25)
    newcomer_strategy: Literal[NEWCOMER_STRATEGIES] = P("initial", "how a newcomer picks its strategy: initial (HELP with population.initial_helpers) or mix (HELP with the community's share of helpers that day)",
        label="Newcomers help at the initial share, or copy the mix", control=(ROUTES, 3))
    newcomer_tie: bool = Field(False, description="a newcomer arrives with a tie (weight ties.new_weight) to the member who brought it: one of its meeting drawn at random who stays and has room for a tie (docs/ODD.md 7.11); false: newcomers arrive with no ties")


class Recovery(_Section):
    enabled: bool = Field(True, description="members carry recovery capital, built by sober days, meetings, helping and support and cut by lapses; it lowers the lapse hazard and raises the return hazard (needs psychology.enabled)")
    build: Float = P(0.0005, "daily growth of capital on a sober day, times (1 - capital)", ge=0, le=1,
        unit="share per day", fitted=(0.0005, 0.0015), sobol=7)
    meeting_bonus: Float = P(1.0, "added to the growth factor on a day at a meeting", ge=0, le=100)
    help_bonus: Float = P(4.8, "added to the growth factor on a day with any act of help", ge=0, le=100,
        fitted=(0.0, 5.0), sobol=10)
    support_bonus: Float = P(1.0, "added to the growth factor at full support", ge=0, le=100)
    lapse_loss: Float = P(0.4, "share of capital lost on the day of a lapse", ge=0, le=1,
        unit="share", fitted=(0.4, 0.8), sobol=9)
    use_loss: Float = P(0.02, "share of capital lost per further day in a lapse", ge=0, le=1, unit="share per day")
    protection: Float = P(0.94, "lapse hazard times (1 - protection * capital)", ge=0, le=1,
        fitted=(0.8, 0.95), sobol=8)
    return_boost: Float = P(0.1, "added to the chance of ending a lapse, times capital", ge=0, le=1,
        unit="probability", sobol=24)
    newcomer_capital: Float = P(0.05, "capital at the start of recovery (day-0 members: grown by their sober days at the plain rate)", ge=0, le=1,
        unit="recovery capital")


class Trial(_Section):
    enabled: bool = Field(False, description="a virtual randomised trial from day 0: members of the control arm do not get the intervention (mutualaid trial; docs/ODD.md 7.13)")
    intervention: Literal[TRIAL_INTERVENTIONS] = Field("checkins", description="what the control arm goes without: checkins (nobody checks on them when they miss meetings) or sponsorship (as newcomers they find no sponsor)")
    design: Literal[TRIAL_DESIGNS] = Field("individual", description="individual: member slots are randomised; meetings: whole meetings are (cluster randomisation)")
    share: Float = P(0.5, "share of member slots (or meetings) in the intervention arm, assigned by a balanced draw", gt=0, lt=1,
        unit="share")


class Scenario(_Section):
    """A complete, validated scenario."""

    name: str = Field("unnamed", description="short name of the scenario")
    description: str = Field("", description="what the scenario shows")
    seed: Int = P(1, "integer seed of the run", ge=0, le=2**63 - 1)
    steps: Int = P(365, "days to simulate", ge=0, le=1_000_000,
        unit="days", label="Days", control=(COMMUNITY, 6), page=(10, 3000))
    engine: Literal[ENGINES] = Field("auto", description="agents (Mesa), kernel (numba) or auto")
    population: Population = Field(default_factory=Population)
    network: Network = Field(default_factory=Network)
    meetings: Meetings = Field(default_factory=Meetings)
    game: Game = Field(default_factory=Game)
    psychology: Psychology = Field(default_factory=Psychology)
    attendance: Attendance = Field(default_factory=Attendance)
    checkins: Checkins = Field(default_factory=Checkins)
    sponsorship: Sponsorship = Field(default_factory=Sponsorship)
    isolation: Isolation = Field(default_factory=Isolation)
    ties: Ties = Field(default_factory=Ties)
    evolution: Evolution = Field(default_factory=Evolution)
    turnover: Turnover = Field(default_factory=Turnover)
    recovery: Recovery = Field(default_factory=Recovery)
    trial: Trial = Field(default_factory=Trial)

    @model_validator(mode="after")
    def _check_trial(self):
        t = self.trial
        if t.enabled and not getattr(self, t.intervention).enabled:
            raise ValueError(f"trial.intervention={t.intervention} needs {t.intervention}.enabled=true "
                             "(otherwise neither arm gets it)")
        return self

    @model_validator(mode="after")
    def _check_network(self):
        net, pop = self.network, self.population
        if net.kind == "lattice":
            if net.width is None and net.height is None:
                side = math.isqrt(pop.size)
                if side * side != pop.size:
                    raise ValueError(
                        f"network.kind=lattice needs network.width and network.height "
                        f"(population.size={pop.size} is not a square)"
                    )
                object.__setattr__(net, "width", side)
                object.__setattr__(net, "height", side)
            elif net.width is None or net.height is None:
                raise ValueError("network.kind=lattice needs both network.width and network.height")
            cells = net.width * net.height
            if cells > MAX_POPULATION:
                raise ValueError(
                    f"network.width*network.height = {net.width}*{net.height} = {cells:,} members is more than "
                    f"the {MAX_POPULATION:,} allowed (about {cells * BYTES_PER_MEMBER / 2**30:.0f} GiB)")
            if cells != pop.size:
                if "size" in pop.model_fields_set:
                    raise ValueError(
                        f"population.size={pop.size} does not match network.width*network.height="
                        f"{net.width}*{net.height}={cells} (lattice)"
                    )
                object.__setattr__(pop, "size", cells)
            if cells < 2:
                raise ValueError("lattice needs at least 2 cells (network.width*network.height)")
        slots = pop.size * (net.degree + self.ties.extra_slots)
        if slots > MAX_TIE_SLOTS:
            raise ValueError(
                f"population.size*(network.degree+ties.extra_slots) = {pop.size:,}*({net.degree}+"
                f"{self.ties.extra_slots}) = {slots:,} tie slots is more than the {MAX_TIE_SLOTS:,} allowed "
                f"(about {slots * 12 / 2**30:.0f} GiB for the ties alone)")
        if net.kind == "complete":  # every pair tied: checked here too, so a sweep refuses such a point at once
            from sim.core.networks import MAX_COMPLETE_TIES

            ties = pop.size * (pop.size - 1) // 2
            if ties > MAX_COMPLETE_TIES:
                most = (1 + math.isqrt(1 + 8 * MAX_COMPLETE_TIES)) // 2
                raise ValueError(
                    f"network.kind=complete with population.size={pop.size:,} would need {ties:,} ties, more "
                    f"than the {MAX_COMPLETE_TIES:,} allowed (about {ties * 24 / 2**30:.0f} GiB); use at most "
                    f"{most:,} members or another network.kind")
        if net.kind == "edgelist" and not net.path:
            raise ValueError("network.kind=edgelist needs network.path (a file of 'i j' lines)")
        if net.kind in ("ring", "watts_strogatz") and net.degree >= pop.size:
            raise ValueError(
                f"network.degree={net.degree} must be below population.size={pop.size} for {net.kind}"
            )
        if net.kind == "sbm" and net.groups > pop.size:
            raise ValueError(f"network.groups={net.groups} exceeds population.size={pop.size}")
        return self


def scenario_file_schema() -> dict:
    """JSON Schema of a scenario *file*: every key of :class:`Scenario`, and ``extends`` (the name or
    path of a scenario the file builds on; its keys are merged under the file's own)."""
    schema = Scenario.model_json_schema()
    schema["properties"] = {"extends": {"type": "string", "title": "Extends",
                                        "description": "name in scenarios/ or path of a scenario this file "
                                                       "builds on; the file's own keys are merged over it"},
                            **schema["properties"]}
    return schema
