"""Every per-member array of the community, declared once (docs/ODD.md 2.2).

Each :class:`Array` says its name, dtype, group, the value of an empty slot,
the day array that holds tomorrow's value when it is double-buffered, and
what it means. From this list come

- the community's arrays and the compiled handle's fields (:mod:`sim.core.layout`);
- the generated kernels of :mod:`sim.core._ref` (``python -m sim.core.community``):
  ``clear_member`` (a slot at its empty values, for a newcomer or day 0) and
  ``start_records`` (a member's lifetime record as its observation begins);
- the member attributes of the Mesa engine (:data:`VIEWS`);
- the member state the engines report (:data:`STATE_NAMES`);
- the table of ODD section 2.2 (``python -m sim.odd``);
- the reference's blank member (``tests/reference.py``: names and empty
  values are part of the specification).

What the stages compute stays written in :mod:`sim.core.stages`; the commit
(3.1) applies each double-buffered array (a test holds it to :data:`BUFFERED`).

Groups: ``state`` (carried from day to day), ``record`` (the lifetime record
of members.parquet), ``day`` (today's transient values, written by the stages
and read by later stages or the commit), ``choice`` (a person's decisions for
today, set before the day and cleared after it: :mod:`sim.core.choices`),
``scratch`` (work space of tie formation).

This module imports numpy only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Array(NamedTuple):
    """One per-member array.

    name : the array (``c.<name>[i]`` in the stages).
    dtype : its numpy dtype.
    group : ``state``, ``record``, ``day``, ``choice`` or ``scratch``.
    means : one line for the ODD and the docs.
    empty : its value in an empty slot (a newcomer before its draws); for ``day``, ``choice`` and
        ``scratch`` arrays the value they start with.
    buffer : the ``day`` array holding tomorrow's value, which the commit (3.1) applies (double-buffered).
    kind : type and range for the ODD table (state and record arrays).
    reported : part of the member state the engines report (``state_arrays``: drawn, compared).
    view : an attribute of the Mesa engine's members (state and record arrays always are).
    observed : for a ``record`` array, its value when the member's observation begins (day 0, or after
        the burn-in), a numba expression in ``c`` and ``i``; None: its empty value.
    """

    name: str
    dtype: type
    group: str
    means: str
    empty: bool | int | float = 0
    buffer: str | None = None
    kind: str = ""
    reported: bool = True
    view: bool = False
    observed: str | None = None


F, I8, I32, I64, B = np.float64, np.int8, np.int32, np.int64, np.bool_

MEMBERS: tuple[Array, ...] = (
    # ------------------------------------------------------------------ state (docs/ODD.md 2.2)
    Array("member_id", I64, "state", "identity: day-0 members 0..n-1 by slot, newcomers numbered on", kind="int"),
    Array("strategy", I8, "state", "helps its neighbours (mutual aid) or takes without giving",
          buffer="next_strategy", kind="1 HELP, 0 COMPETE"),
    Array("stress", F, "state", "raised by conflict, loneliness, life shocks, use and lapses; lowered by support "
          "and check-ins", 0.0, buffer="next_stress", kind="float in [0, 1]"),
    Array("craving", F, "state", "raised by stress and use; lowered by support, sponsor calls and one's own help",
          0.0, buffer="next_craving", kind="float in [0, 1]"),
    Array("using", B, "state", "currently in a lapse", False, buffer="next_using", kind="bool"),
    Array("use_days", I32, "state", "length of the current lapse (0 when sober)", buffer="next_use_days",
          kind="int ≥ 0"),
    Array("sober_days", I32, "state", "consecutive days without use (sponsor eligibility)",
          buffer="next_sober_days", kind="int ≥ 0"),
    Array("start_day", I32, "state", "day the member's recovery in this community began (newcomer status)",
          kind="int (≤ 0 for day-0 members)", reported=False),
    Array("joined_step", I32, "state", "day the member joined (0 for day-0 members)", kind="int", reported=False),
    Array("original", B, "state", "present on day 0", False, kind="bool", reported=False),
    Array("missed", I32, "state", "consecutive meetings missed (check-ins react to it)", buffer="next_missed",
          kind="int ≥ 0"),
    Array("sponsor", I32, "state", "the member's sponsor", -1, kind="slot or -1"),
    Array("sponsees", I32, "state", "current number of sponsees", kind="int in [0, capacity]"),
    Array("crisis_days", I32, "state", "consecutive days in crisis (turnover)", buffer="next_crisis",
          kind="int ≥ 0"),
    Array("capital", F, "state", "recovery capital (7.8): grown by sober days, meetings, helping and support, cut "
          "by lapses; lowers the lapse hazard and raises the return hazard (`recovery.enabled`)", 0.0,
          buffer="next_capital", kind="float in [0, 1]"),
    Array("propensity", F, "state", "attendance propensity: its own chance of going to a meeting with no ties, "
          "stress or use (7.1); drawn once", 0.0, kind="float in [0, 1]"),
    Array("readiness", F, "state", "readiness to reach out: scales its chance of making a check-in (7.4); drawn "
          "once", 0.0, kind="float in [0, 1]"),
    Array("engaged", F, "state", "re-engagement left by check-ins (7.4): 1 after being reached, keeping "
          "`1 - 1/checkins.effect_days` of itself each day; raises attendance and the chance of ending a lapse",
          0.0, kind="float in [0, 1]"),
    Array("weekly", I8, "state", "meetings a week at its home group (7.1, `attendance.rhythm`); drawn once",
          kind="int in 1..7"),
    Array("weekday", I8, "state", "first weekday of its meetings (7.1); drawn once", kind="int in 0..6"),
    # ------------------------------------------------------------------ lifetime record (members.parquet)
    Array("ever_used", B, "record", "used at least once while observed", False, kind="bool",
          observed="c.using[i]"),
    Array("first_use_step", I32, "record", "day of its first use, -1 if never", -1, kind="int or -1",
          observed="0 if c.using[i] else -1"),
    Array("used_days", I32, "record", "days spent in a lapse", kind="int ≥ 0"),
    Array("help_days", I32, "record", "days spent playing HELP", kind="int ≥ 0"),
    Array("days", I32, "record", "days observed", kind="int ≥ 0"),
    Array("sponsor_id", I64, "record", "id of its (last) sponsor, -1 if never sponsored", -1, kind="int or -1",
          observed="c.sponsor[i]"),
    Array("sponsees_total", I32, "record", "sponsees it took in total", kind="int ≥ 0", observed="c.sponsees[i]"),
    Array("checkins_received", I32, "record", "check-ins it received in total", kind="int ≥ 0"),
    Array("attended_days", I32, "record", "days it was at its meeting", kind="int ≥ 0"),
    Array("sober_days_start", I32, "record", "consecutive sober days when the record began (day 0, or 0 for a "
          "newcomer)", kind="int ≥ 0", observed="c.sober_days[i]"),
    Array("lapses_total", I32, "record", "lapses it had", kind="int ≥ 0"),
    Array("relapses_total", I32, "record", "relapses it had", kind="int ≥ 0"),
    Array("help_acts_total", I32, "record", "check-ins it made and sponsor calls it answered", kind="int ≥ 0"),
    # ------------------------------------------------------------------ today's transient values
    Array("iso", B, "day", "its meeting is closed by isolation today", False),
    Array("attended", B, "day", "at its meeting today", False, view=True),
    Array("due", B, "day", "today is one of its own meeting days", False),
    Array("role", I8, "day", "its part in today's check-ins (bits: needs one, can make one)"),
    Array("next_missed", I32, "day", "tomorrow's `missed`"),
    Array("tie_total", F, "day", "total effective tie weight W_i", 0.0),
    Array("payoff", F, "day", "today's payoff from the game", 0.0, view=True),
    Array("help_given", F, "day", "help given today: W_i when playing HELP", 0.0),
    Array("support", F, "day", "share of its tie weight to helpers", 0.0, view=True),
    Array("conflict", F, "day", "share of its tie weight to competitors", 0.0),
    Array("lonely", F, "day", "shortfall of its tie weight below the target", 0.0),
    Array("scarce", F, "day", "how far its payoff per tie falls below the best", 0.0),
    Array("checkins_in", I32, "day", "check-ins received today"),
    Array("reached", B, "day", "reached by a check-in today", False, view=True),
    Array("calls_made", I32, "day", "check-ins made today"),
    Array("called", B, "day", "its call to its sponsor was answered today", False),
    Array("answered", I32, "day", "calls it answered as a sponsor today"),
    Array("next_stress", F, "day", "tomorrow's `stress`", 0.0),
    Array("next_craving", F, "day", "tomorrow's `craving`", 0.0),
    Array("next_using", B, "day", "tomorrow's `using`", False),
    Array("next_use_days", I32, "day", "tomorrow's `use_days`"),
    Array("next_sober_days", I32, "day", "tomorrow's `sober_days`"),
    Array("next_crisis", I32, "day", "tomorrow's `crisis_days`"),
    Array("next_capital", F, "day", "tomorrow's `capital`", 0.0),
    Array("lapsed", B, "day", "lapsed today", False, view=True),
    Array("relapsed", B, "day", "a lapse reached `psychology.relapse_days` today", False, view=True),
    Array("fitness", F, "day", "today's fitness (revision days)", 0.0),
    Array("next_strategy", I8, "day", "tomorrow's `strategy` (revision days)"),
    Array("leaving", B, "day", "leaves today (turnover)", False),
    # ------------------------------------------------------------------ a person's decisions (sim.core.choices)
    Array("choice_help", I8, "choice", "0 the rule decides, 1 COMPETE, 2 HELP"),
    Array("choice_attend", I8, "choice", "0 the rule decides, 1 stays away, 2 goes to a meeting"),
    Array("choice_checkin", I32, "choice", "0 the rule decides, 1 calls nobody, k + 2 checks on slot k"),
    Array("choice_call", I8, "choice", "0 the rule decides, 1 does not call its sponsor, 2 calls"),
    # ------------------------------------------------------------------ scratch of tie formation
    Array("buf_slot", I64, "scratch", "slots of a meeting's attendees, in pairing order"),
    Array("buf_key", F, "scratch", "their pairing keys", 0.0),
)

BY_NAME: dict[str, Array] = {a.name: a for a in MEMBERS}
#: What a member carries: state and lifetime record (cleared for a newcomer).
KEPT: tuple[Array, ...] = tuple(a for a in MEMBERS if a.group in ("state", "record"))
#: The member state the engines report (``state_arrays``), in declaration order.
STATE_NAMES: tuple[str, ...] = tuple(a.name for a in MEMBERS if a.group == "state" and a.reported)
#: Member attributes of the Mesa engine that are views onto the arrays.
VIEWS: tuple[str, ...] = tuple(a.name for a in MEMBERS if a.group in ("state", "record") or a.view)
#: state array -> the day array holding tomorrow's value (the commit applies it).
BUFFERED: dict[str, str] = {a.name: a.buffer for a in MEMBERS if a.buffer}


def _check() -> None:
    names = [a.name for a in MEMBERS]
    assert len(set(names)) == len(names), "an array is declared twice"
    for a in MEMBERS:
        assert a.group in ("state", "record", "day", "choice", "scratch"), a
        assert a.buffer is None or BY_NAME[a.buffer].group == "day", a
        assert a.observed is None or a.group == "record", a
        assert np.dtype(a.dtype).type(a.empty) == a.empty, a


_check()


def blank() -> dict:
    """A member at its empty values (state and record), as plain Python values."""
    return {a.name: a.empty for a in KEPT}


def odd_table() -> str:
    """The member state and record as the Markdown table of ODD section 2.2."""
    lines = ["| variable | group | type, range | empty | meaning | tomorrow's value in |", "|---|---|---|---|---|---|"]
    for a in KEPT:
        empty = str(a.empty).lower() if isinstance(a.empty, bool) else repr(a.empty)
        buf = f"`{a.buffer}`" if a.buffer else ""
        lines.append(f"| `{a.name}` | {a.group} | {a.kind} | {empty} | {a.means} | {buf} |")
    return "\n".join(lines)
