"""The day, declared once: an ordered schedule of stages that both engines run.

Each :class:`Stage` names its ODD section, what it does, when it runs (the
scenario switches it needs, and whether only on revision days) and its
*scope*:

``member``
    the body (:mod:`sim.core.stages`) runs for every member; members read
    start-of-day state and write only their own entries, so the order does
    not matter. The Mesa engine calls ``member.<name>()`` for each agent; the
    kernel engine runs the stage's ``prange`` loop (``stages.<name>_all``).
``serial``
    the body runs for every member in slot order (it writes to another
    member: a sponsor's count of sponsees or of answered calls). A sponsor
    is always in its sponsee's meeting, so the kernel runs the meetings in
    parallel, each in slot order, which is the same.
``meeting``
    the body runs for every meeting (meetings are disjoint).
``community``
    one call for the whole community (Python; the day's opening, the tally,
    turnover).

The ODD table "Process overview and scheduling" is generated from
:data:`SCHEDULE` (``python -m sim.odd``); a test fails when they drift.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.core import stages, threads
from sim.core.community import Community
from sim.core.layout import REVISING
from sim.core.members import member_records
from sim.core.registry import dotted_key


@dataclass(frozen=True)
class Stage:
    """One stage of the day.

    name : the verb (``Member.<name>`` in the Mesa engine, ``stages.<name>`` the body).
    section : ODD section of its rules.
    scope : ``member``, ``serial``, ``meeting`` or ``community`` (see the module docstring).
    does : one line for the ODD table.
    requires : parameters (fields of the community's ``params``, i.e. scenario keys with ``_``: ``checkins_enabled``)
        that must all be true.
    revision_day : runs only on revision days (``evolution.enabled`` and ``t % evolution.interval == 0``).
    body : per member or meeting (numba), or per community (Python, takes a :class:`Community`).
    loop : the kernel's loop over all members or meetings (numba), for member/serial/meeting scopes.
    """

    name: str
    section: str
    scope: str
    does: str
    requires: tuple[str, ...] = ()
    revision_day: bool = False
    body: Callable | None = None
    loop: Callable | None = None

    def runs(self, params, clock) -> bool:
        if self.revision_day and clock[REVISING] != 1:
            return False
        return all(getattr(params, r) for r in self.requires)

    def run_all(self, comm: Community) -> None:
        """Run the stage over the whole community at array speed (the kernel engine)."""
        if self.scope == "community":
            self.body(comm)
        else:
            self.loop(comm.ref)


# ----------------------------------------------------------------------------- community-level bodies
def tally(comm: Community) -> None:
    """7.12 The day's counts (lapses, relapses, check-ins, calls answered) and mean payoff."""
    a = comm.arrays
    if comm.params.psychology_enabled:
        lapses, relapses, checkins, calls = stages.tally_counts(comm.ref)
        comm.counts = dict(lapses=int(lapses), relapses=int(relapses), checkins=int(checkins),
                           sponsor_calls=int(calls), dropouts=0)
    else:
        comm.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
    comm.met_today = bool(comm.params.psychology_enabled)
    payoff = a["payoff"]
    comm.mean_payoff = float(payoff.sum() / payoff.shape[0])  # what .mean() computes, without its overhead


def turnover(comm: Community) -> None:
    """7.11 Members in crisis for ``turnover.crisis_days``, and those who drift away
    (``turnover.leave_prob``), leave (their records are kept); newcomers take their places."""
    gone = stages.mark_leavers(comm.ref)
    if gone:
        leavers = np.flatnonzero(comm["leaving"])
        comm.records.append(member_records(comm, leavers, left=comm.day))
        stages.replace_leavers(comm.ref, leavers, newcomer_help_share(comm))
        stages.drop_left_sponsors(comm.ref)
    comm.counts["dropouts"] = int(gone)


def newcomer_help_share(comm: Community) -> float:
    """7.11 A newcomer's chance of joining as a helper (``turnover.newcomer_strategy``): the
    initial share, or today's share of helpers in the community, leavers included."""
    p = comm.params
    if p.newcomer_strategy_code == stages.MIX:
        return float(np.count_nonzero(comm["strategy"] == stages.HELP)) / comm.n
    return float(p.population_initial_helpers)


PSY = ("psychology_enabled",)

#: The day, in order.
SCHEDULE: tuple[Stage, ...] = (
    Stage("choose", "7.0", "member",
          "a person who plays a member and chose to help or to compete: its strategy from today (the "
          "other decisions act in the stages that make them)", body=stages.choose, loop=stages.choose_all),
    Stage("meet", "7.1-7.3", "member",
          "start of the day (isolation status, today's values cleared); effective tie weights; go to today's "
          "meeting or miss it (psychology on); the game with every neighbour; support, conflict, loneliness",
          body=stages.meet, loop=stages.meet_all),
    Stage("check_in", "7.4", "member",
          "absent members are reached by active helper neighbours (counted at both ends)",
          requires=PSY + ("checkins_enabled",), body=stages.check_in, loop=stages.check_in_all),
    Stage("find_sponsor", "7.5", "serial",
          "unsponsored newcomers, in slot order, take an eligible sponsor of their meeting",
          requires=PSY + ("sponsorship_enabled",), body=stages.find_sponsor, loop=stages.find_sponsor_all),
    Stage("call_sponsor", "7.5", "serial",
          "sponsees over the call threshold call; a sober sponsor answers",
          requires=PSY + ("sponsorship_enabled",), body=stages.call_sponsor, loop=stages.call_sponsor_all),
    Stage("update_mind", "7.6-7.8", "member",
          "stress and craving (with helper therapy), then a lapse or a return, shame, crisis days",
          requires=PSY, body=stages.update_mind, loop=stages.update_mind_all),
    Stage("weigh_fitness", "7.10", "member",
          "fitness: today's payoff plus the weight of start-of-day wellbeing",
          requires=("evolution_enabled",), revision_day=True, body=stages.weigh_fitness,
          loop=stages.weigh_fitness_all),
    Stage("revise", "7.10", "member",
          "strategy revision by the scenario's rule (start-of-day ties), then mutation",
          requires=("evolution_enabled",), revision_day=True, body=stages.revise, loop=stages.revise_all),
    Stage("update_ties", "7.9", "member",
          "ties strengthen, weaken and decay by the start-of-day strategies; weak ties break",
          requires=PSY + ("ties_dynamic",), body=stages.update_ties, loop=stages.update_ties_all),
    Stage("form_ties", "7.9", "meeting",
          "co-attendees paired at each meeting may form a new tie",
          requires=PSY + ("ties_dynamic",), body=stages.form_ties, loop=stages.form_ties_all),
    Stage("tally", "7.12", "community",
          "the day's counts (lapses, relapses, check-ins, calls answered) and mean payoff", body=tally),
    Stage("commit", "3.1", "member",
          "every member's updates of the day become its state at once (strategy only on revision days)",
          body=stages.commit, loop=stages.commit_all),
    Stage("turnover", "7.11", "community",
          "members in crisis too long leave; newcomers take their slots",
          requires=PSY + ("turnover_enabled",), body=turnover),
)

#: Stages that also run once on day 0, after initialization and burn-in (docs/ODD.md 5).
DAY_ZERO: tuple[str, ...] = ()

STAGES = {s.name: s for s in SCHEDULE}


def today(comm: Community, day: int) -> list[Stage]:
    """Open day ``day`` (clock, isolation, revision day, stream keys) and return the stages that run.

    What runs depends on the parameters (fixed for a community's life) and on whether today is a
    revision day, so the two lists are made once per community (:meth:`Stage.runs` decides both)."""
    stages.open_day(comm.ref, day)
    plans = comm.__dict__.get("_plans")
    if plans is None or plans[0] is not comm.params:
        clocks = [np.zeros_like(comm.clock) for _ in range(2)]
        clocks[1][REVISING] = 1
        plans = comm._plans = (comm.params, *([s for s in SCHEDULE if s.runs(comm.params, ck)] for ck in clocks))
    return plans[2] if comm.clock[REVISING] == 1 else plans[1]


def day_zero(comm: Community) -> list[Stage]:
    """Open day 0 and return the stages that run on it after initialization."""
    stages.open_day(comm.ref, 0)
    return [STAGES[name] for name in DAY_ZERO if STAGES[name].runs(comm.params, comm.clock)]


def run_day(comm: Community, day: int, after_stage: Callable[[Stage], None] | None = None) -> None:
    """One day at array speed (the kernel engine), on the threads its size calls for (:mod:`sim.core.threads`).

    ``after_stage(stage)``, when given, is called after each stage that ran (tests compare the state
    stage by stage)."""
    threads.use_for(comm.n)
    for stage in today(comm, day):
        stage.run_all(comm)
        if after_stage is not None:
            after_stage(stage)


#: ``report(days_done, days)`` called after each day of the burn-in, when set (``sim.run`` sets it from its
#: ``progress``: the CLI shows the burn-in as its own phase); a context variable, so that each thread or task
#: reports its own run's
burn_in_progress: contextvars.ContextVar = contextvars.ContextVar("burn_in_progress", default=None)


def burn_in(comm: Community) -> int:
    """5 The community's past: ``population.burn_in`` days (days ``-B .. -1``) lived before day 0.

    Every stage runs as on any day, but strategies are not revised (a
    revision day is a day ``t > 0``) and no meeting is closed (isolation
    starts on a day ``>= 0``). Then the members present become the day-0
    members (:func:`sim.core.stages.start_observation`) and what the past
    recorded is dropped. Both engines call this before their day 0, on the
    same arrays, so they start from the same state. Returns the days lived.
    """
    days = comm.params.population_burn_in if comm.params.psychology_enabled else 0
    report = burn_in_progress.get()
    for day in range(-days, 0):
        run_day(comm, day)
        if report is not None:
            report(day + days + 1, days)
    if days:
        comm.records.clear()
        stages.start_observation(comm.ref)
        comm.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
    return days


# ----------------------------------------------------------------------------- the ODD table
def _when(stage: Stage) -> str:
    parts = [f"`{dotted_key(r)}`" for r in stage.requires]
    if stage.revision_day:
        parts.append("on revision days (`t % evolution.interval == 0`)")
    return " and ".join(parts) if parts else "always"


def odd_table() -> str:
    """The schedule as the Markdown table of ODD section 3.1."""
    scope = {"member": "each member", "serial": "each member, in slot order", "meeting": "each meeting",
             "community": "the community"}
    lines = ["| # | stage | for | what happens | section | runs when |", "|---|---|---|---|---|---|"]
    for k, s in enumerate(SCHEDULE, 1):
        lines.append(f"| {k} | `{s.name}` | {scope[s.scope]} | {s.does} | {s.section} | {_when(s)} |")
    lines.append("")
    zero = ", ".join(f"`{n}`" for n in DAY_ZERO) if DAY_ZERO else "no stage"
    lines.append(f"Before day 0, the burn-in (section 5) runs these stages on days `-population.burn_in .. -1`; "
                 f"on day 0 itself {zero} runs. After every day, and on day 0, one row of the metrics table is "
                 "collected (7.12).")
    return "\n".join(lines)
