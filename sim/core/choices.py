"""People in the simulation: a person's decisions replace the rules' for the member it plays (ODD 7.0).

A classroom (students each playing a member) or a script decides, day by
day, for some members; bots (the model's own rules) play every other
member. A :class:`Decision` says what one person decided for one day:

``help``
    True to help (HELP) or False to compete (COMPETE) with its ties, from
    that day on (:func:`sim.core.stages.choose`; strategy revision leaves it
    alone that day);
``attend``
    True to go to a meeting that day (its own group's day or not), False to
    stay away (:func:`sim.core.stages.meet`; an isolated member cannot go);
``checkin``
    the member id it checks on (reached for sure if that member is tied to
    it and has gone missing, and it is sober), or ``"nobody"``
    (:func:`sim.core.stages.would_reach`);
``call``
    True to call its sponsor whatever its craving, False not to call
    (:func:`sim.core.stages.call_sponsor`; the sponsor answers as always).

``None`` leaves that decision to the rule. Every decision enters the day
through the arrays of group ``choice`` (:data:`sim.core.layout.MEMBER_ARRAYS`),
which both engines and the reference read in the stage that makes the
decision, so a run and its decisions replay bit for bit
(:func:`sim.runner.replay`): a :class:`DecisionLog` records the scenario and
every decision as JSON lines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from sim.core.layout import CHOICES
from sim.core.schema import Scenario

#: The decisions a person can make, in the order of a log line.
DECISIONS = ("help", "attend", "checkin", "call")
LOG_KIND = "mutualaid-decisions"


class ChoiceError(ValueError):
    """A decision that cannot apply (a member not in the community, a value of the wrong kind)."""


@dataclass(frozen=True)
class Decision:
    """What the person playing member ``member`` (its id) decided for day ``day``."""

    day: int
    member: int
    help: bool | None = None
    attend: bool | None = None
    checkin: int | str | None = None
    call: bool | None = None

    def __post_init__(self):
        for name in ("help", "attend", "call"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, bool):
                raise ChoiceError(f"decision {name!r} of member {self.member}: true, false or none, not {v!r}")
        c = self.checkin
        if c is not None and c != "nobody" and (isinstance(c, bool) or not isinstance(c, int) or c < 0):
            raise ChoiceError(f"decision 'checkin' of member {self.member}: a member id or 'nobody', not {c!r}")
        if isinstance(self.member, bool) or not isinstance(self.member, int) or self.member < 0:
            raise ChoiceError(f"a decision's member must be a member id, not {self.member!r}")


def slots_of(comm, ids: Iterable[int]) -> dict[int, int]:
    """Slot of each member id among the members present today."""
    present = comm["member_id"]
    where = {int(m): int(s) for s, m in enumerate(present)}
    out = {}
    for m in ids:
        if m not in where:
            raise ChoiceError(f"member {m} is not in the community on day {comm.day + 1}")
        out[m] = where[m]
    return out


def apply(comm, decisions: Iterable[Decision]) -> None:
    """Set today's decisions (those of the coming day) into the community's ``choice`` arrays."""
    decisions = list(decisions)
    if not decisions:
        return
    ids = {d.member for d in decisions} | {d.checkin for d in decisions if isinstance(d.checkin, int)}
    slot = slots_of(comm, ids)
    seen = set()
    for d in decisions:
        if d.member in seen:
            raise ChoiceError(f"member {d.member} has two decisions for day {d.day}")
        seen.add(d.member)
        i = slot[d.member]
        if d.help is not None:
            comm["choice_help"][i] = 2 if d.help else 1
        if d.attend is not None:
            comm["choice_attend"][i] = 2 if d.attend else 1
        if d.checkin is not None:
            comm["choice_checkin"][i] = 1 if d.checkin == "nobody" else slot[d.checkin] + 2
        if d.call is not None:
            comm["choice_call"][i] = 2 if d.call else 1
    comm.clock[CHOICES] = 1


def clear(comm) -> None:
    """After the day: no decision carries over to the next."""
    if comm.clock[CHOICES]:
        for name in ("choice_help", "choice_attend", "choice_checkin", "choice_call"):
            comm[name][:] = 0
        comm.clock[CHOICES] = 0


# ----------------------------------------------------------------------------- the log and its replay
class DecisionLog:
    """Every decision of a run, with the scenario that makes it reproducible, as JSON lines: a header
    line ``{"kind": "mutualaid-decisions", "scenario": {...}, "engine": ...}``, then one line per
    decision ``{"day", "member", "help", "attend", "checkin", "call"}``."""

    def __init__(self, scenario, engine: str = "kernel"):
        self.scenario = scenario
        self.engine = engine
        self.decisions: list[Decision] = []

    def add(self, decisions: Iterable[Decision]) -> None:
        self.decisions.extend(decisions)

    def lines(self) -> list[str]:
        head = {"kind": LOG_KIND, "scenario": self.scenario.model_dump(mode="json"), "engine": self.engine}
        return [json.dumps(head)] + [json.dumps(asdict(d)) for d in self.decisions]

    def write(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines()) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path) -> "DecisionLog":
        text = Path(path).read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(text[0]) if text else {}
        except json.JSONDecodeError as e:
            raise ChoiceError(f"{path}: the first line is not JSON ({e.msg})") from None
        if not isinstance(head, dict) or head.get("kind") != LOG_KIND:
            raise ChoiceError(f"{path}: not a decision log (its first line must say kind {LOG_KIND!r})")
        log = cls(Scenario.model_validate(head["scenario"]), head.get("engine", "kernel"))
        for k, line in enumerate(text[1:], start=2):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                log.decisions.append(Decision(**row))
            except (json.JSONDecodeError, TypeError) as e:
                raise ChoiceError(f"{path}, line {k}: not a decision ({e})") from None
        return log

    def by_day(self) -> dict[int, list[Decision]]:
        out: dict[int, list[Decision]] = {}
        for d in self.decisions:
            out.setdefault(d.day, []).append(d)
        return out

