"""A classroom room: students each play a member of a small community, bots play the rest (issue 28).

A teacher opens a :class:`Room` for a scenario; students join with its code and are each given a member
(a late joiner takes over a bot; one who leaves hands the member back to a bot). The room plays in
rounds, one day each: a round takes the decisions of the students who answer (help or compete with their
ties, go to a meeting or not, check on a tie who has gone missing, call their sponsor), and ends when
everyone seated has answered, when its time is up, or when the teacher advances it. A student who does
not answer leaves that day to the rules, as a bot would decide it.

Every decision enters the model through :meth:`sim.engines.Engine.decide` (docs/ODD.md 7.0) and is kept
in a :class:`sim.core.choices.DecisionLog`, so the class's run replays bit for bit
(:func:`sim.runner.replay`) and the debrief sets it beside the same community and seed played by bots
alone (:meth:`Room.debrief`).

The room holds no network code: the dashboard's pages (teacher and phone) call it, one room per process.
Time is read from ``clock`` (``time.monotonic`` by default) so that tests can move it.

>>> room = Room("baseline", seed=3, set={"population.size": 40})
>>> alice = room.join("Alice")
>>> room.start()
>>> room.decide(alice, help=True, attend=True)
>>> room.tick()  # everyone seated has answered: the day is played
True
>>> room.day
1
"""

from __future__ import annotations

import builtins
import csv
import io
import random
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sim import draw
from sim.core.choices import ChoiceError, Decision, DecisionLog
from sim.core.metrics import COUNT_COLUMNS
from sim.core.scenarios import ScenarioError
from sim.engines import make_model, resolve_engine
from sim.runner import prepare, replay

#: a room's community: small enough that each student's member matters, large enough for a community
MIN_MEMBERS, MAX_MEMBERS = 10, 300
#: seconds a round waits for answers unless the teacher says otherwise
ROUND_SECONDS = 45
#: days one round plays: a day (the finest grain) up to a week, the students' answers holding each day
MAX_DAYS_PER_ROUND = 7
#: letters of a room's code: no 0/O, 1/I/L, 2/Z, 5/S, 8/B that a class misreads from a projector
CODE_LETTERS = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 5
NAME_LIMIT = 24
#: the room's states, in order
LOBBY, PLAYING, PAUSED, ENDED = "lobby", "playing", "paused", "ended"
#: at most this many answers from one seat in :data:`RATE_WINDOW` seconds of one round (a round needs one
#: or two; a script hammering the server is refused)
SEAT_ANSWERS = 20
#: at most this many students join a room in :data:`RATE_WINDOW` seconds (a class joins within a minute)
ROOM_JOINS = 120
RATE_WINDOW = 10.0
#: what a nickname may hold besides letters and digits of any script: a space and ' - .
NAME_MARKS = " '-."


class RoomError(ScenarioError):
    """Something a room cannot do (a full room, an unknown seat, a decision out of turn): one line."""


@dataclass
class Seat:
    """A student's place: a secret token (in the student's link), a name, the member played."""

    token: str
    name: str
    member: int
    since_day: int
    left_day: Optional[int] = None
    removed: bool = False  # sent away by the teacher (the phone says so)
    members: list = field(default_factory=list)  # every member this seat has played, in order


def _clean_name(name: Any) -> str:
    if not isinstance(name, str):
        raise RoomError(f"a name must be text, not {type(name).__name__}")
    name = " ".join(name.split())
    if not name:
        raise RoomError("a name cannot be empty")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise RoomError("a name cannot hold control characters")
    if len(name) > NAME_LIMIT:
        raise RoomError(f"a name has at most {NAME_LIMIT} characters, not {len(name)}")
    odd = sorted({c for c in name if not (unicodedata.category(c)[0] in "LMN" or c in NAME_MARKS)})
    if odd:
        raise RoomError(f"a name holds letters, digits, spaces and ' - . only, not {''.join(odd)!r}")
    return name


class _Rate:
    """At most ``most`` events in any ``window`` seconds of ``clock`` (a sliding window)."""

    def __init__(self, most: int, window: float, clock: Callable[[], float]):
        self.most, self.window, self.clock = most, window, clock
        self.times: list[float] = []

    def take(self, what: str) -> None:
        now = self.clock()
        self.times = [t for t in self.times if now - t < self.window]
        if len(self.times) >= self.most:
            raise RoomError(f"{what}: too many in {self.window:.0f} seconds; wait a moment")
        self.times.append(now)


class Room:
    """One class playing one community. See the module's description."""

    def __init__(self, scenario="baseline", *, seed: int | None = None, set: Mapping[str, Any] | Iterable[str] = (),
                 engine: str = "kernel", round_seconds: float = ROUND_SECONDS, days_per_round: int = 1,
                 code: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.scenario = prepare(scenario, seed=seed, set=set, via="classroom")
        if not (isinstance(round_seconds, (int, float)) and not isinstance(round_seconds, bool)
                and 5 <= round_seconds <= 3600):
            raise RoomError(f"round_seconds = {round_seconds!r}: between 5 and 3600 seconds")
        if not (isinstance(days_per_round, int) and not isinstance(days_per_round, bool)
                and 1 <= days_per_round <= MAX_DAYS_PER_ROUND):
            raise RoomError(f"days_per_round = {days_per_round!r}: a whole number of days, 1 to {MAX_DAYS_PER_ROUND}")
        self.days_per_round = days_per_round
        if engine not in ("auto", "kernel", "agents"):
            raise RoomError(f"engine = {engine!r}: auto, kernel or agents")
        self.engine = engine = resolve_engine(self.scenario, engine)
        self.model = make_model(self.scenario, engine=engine)
        n = self.present().size
        if not MIN_MEMBERS <= n <= MAX_MEMBERS:
            raise RoomError(f"classroom {self.scenario.name}: {n} members on day 0; a room plays {MIN_MEMBERS} to "
                            f"{MAX_MEMBERS} (e.g. --set population.size=60, or network.width and network.height "
                            f"for a lattice)")
        self.code = code or "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
        self.round_seconds = float(round_seconds)
        self.clock = clock
        self.state = LOBBY
        self.seats: dict[str, Seat] = {}
        self.pending: dict[int, dict[str, Any]] = {}  # member -> this round's decisions
        self.log = DecisionLog(self.scenario, engine)
        self.deadline: float | None = None
        self._left: float | None = None  # seconds left when paused
        # members handed out at random, not by id (ids run in the order of the burn-in's arrivals)
        self._pick = random.Random(f"{self.scenario.seed}-{self.code}")
        self.history: list[dict[str, Any]] = []  # one row per seated member per day played
        #: counts every change a page shows (a seat, an answer, a day, the state): pages redraw when it moves
        self.version = 0
        self._joins = _Rate(ROOM_JOINS, RATE_WINDOW, clock)
        self._answers: dict[str, _Rate] = {}
        self._pos: np.ndarray | None = None  # the community picture's layout (by slot), made once
        # nicknames the teacher took out: they cannot join again (``set`` is the scenario's overrides here)
        self._removed: builtins.set[str] = builtins.set()

    # ------------------------------------------------------------------ who is in the community
    @property
    def day(self) -> int:
        return int(self.model.day)

    def present(self) -> np.ndarray:
        return np.asarray(self.model.community["member_id"]).copy()

    def _slot(self, member: int) -> int | None:
        where = np.flatnonzero(self.present() == member)
        return int(where[0]) if where.size else None

    def held(self) -> dict[int, str]:
        """Members played by a student now: member id -> the seat's token."""
        return {s.member: t for t, s in self.seats.items() if s.left_day is None and s.member >= 0}

    # ------------------------------------------------------------------ seats
    def _free_member(self) -> int:
        held = self.held()
        free = [int(m) for m in self.present() if int(m) not in held]
        if not free:
            raise RoomError(f"room {self.code} is full: every one of its {self.present().size} members is played "
                            f"by a student")
        return self._pick.choice(sorted(free))

    def join(self, name: str) -> str:
        """Seat a student; returns the secret token of the seat (the student's link carries it). A student who
        joins after the start takes over a member a bot was playing."""
        if self.state == ENDED:
            raise RoomError(f"room {self.code} has ended")
        name = _clean_name(name)
        folded = name.casefold()
        if folded in self._removed:
            raise RoomError(f"the teacher has taken {name!r} out of this game")
        if any(s.name.casefold() == folded for s in self.seats.values() if s.left_day is None):
            raise RoomError(f"someone in the room is already called {name!r}: add a letter or a number")
        self._joins.take(f"joining room {self.code}")
        token = secrets.token_urlsafe(12)
        m = self._free_member()
        self.seats[token] = Seat(token, name, m, self.day, members=[m])
        self.version += 1
        return token

    def seat(self, token: str) -> Seat:
        s = self.seats.get(token) if isinstance(token, str) else None
        if s is not None and s.removed:
            raise RoomError("the teacher has taken this seat out of the game")
        if s is not None and s.left_day is not None:
            raise RoomError(f"you left the game on day {s.left_day}: the computer plays member {s.member} now")
        if s is None:
            raise RoomError("this seat is not in the room (its link is old or mistyped)")
        return s

    def leave(self, token: str) -> None:
        """The student leaves; a bot plays the member again from the next day."""
        s = self.seat(token)
        self.pending.pop(s.member, None)
        s.left_day = self.day
        self.version += 1

    def remove(self, name: str) -> int:
        """The teacher sends away every seat of this name (an unkind nickname, a student seated twice); a bot
        plays their members from the next day. Returns how many seats left."""
        gone = [t for t, s in self.seats.items() if s.left_day is None and s.name == name]
        for t in gone:
            self.leave(t)
            self.seats[t].removed = True
        self._removed.add(name.casefold())
        return len(gone)

    def reseat(self, token: str) -> int:
        """A student whose member has left the community is given another (returns its id)."""
        s = self.seat(token)
        if self._slot(s.member) is not None:
            raise RoomError(f"member {s.member} is still in the community")
        s.member = -1
        s.member = self._free_member()
        s.members.append(s.member)
        self.version += 1
        return s.member

    # ------------------------------------------------------------------ rounds
    def start(self) -> None:
        if self.state == ENDED:
            raise RoomError(f"room {self.code} has ended")
        if self.state in (LOBBY, PAUSED):
            left = self._left if self.state == PAUSED and self._left is not None else self.round_seconds
            self.deadline = self.clock() + left
            self.state = PLAYING
            self.version += 1

    def pause(self) -> None:
        if self.state == PLAYING:
            self._left = max(0.0, self.deadline - self.clock()) if self.deadline is not None else None
            self.state = PAUSED
            self.version += 1

    def end(self) -> None:
        self.state = ENDED
        self.deadline = None
        self.version += 1

    def seconds_left(self) -> float | None:
        if self.state == PAUSED:
            return self._left
        if self.state != PLAYING or self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock())

    def _missing(self, j: int) -> bool:
        """Slot j has gone missing: it has missed ``checkins.missed_threshold`` of its meetings in a row, the
        model's own definition of who is due a check-in (docs/ODD.md 7.4)."""
        return int(self.model.community["missed"][j]) >= self.scenario.checkins.missed_threshold

    def options(self, token: str) -> dict[str, Any]:
        """The choices open to a seat's member this round: always help/compete and go/stay away; the ties
        who have gone missing it may check on; whether it has a sponsor to call."""
        s = self.seat(token)
        i = self._slot(s.member)
        if i is None:
            return {"help": False, "attend": False, "checkin": [], "call": False}
        comm = self.model.community
        ptr, nbr, w = self.model.tie_arrays()
        ids = self.present()
        missing = [int(ids[j]) for j, wt in zip(nbr[ptr[i]:ptr[i + 1]], w[ptr[i]:ptr[i + 1]])
                   if j >= 0 and wt > 0 and self._missing(j)]
        return {"help": True, "attend": True, "checkin": sorted(missing), "call": int(comm["sponsor"][i]) >= 0}

    def decide(self, token: str, *, help: bool | None = None, attend: bool | None = None,
               checkin: int | str | None = None, call: bool | None = None, day: int | None = None) -> None:
        """A student's decisions for the round under way (given again, the last answer counts). ``day``, the
        day the student's screen showed, refuses an answer sent after the round it was meant for ended."""
        s = self.seat(token)
        if self.state != PLAYING:
            raise RoomError(f"room {self.code} is not playing a round ({self.state})")
        if day is not None and day != self.day:
            raise RoomError(f"that answer was for day {day}; the game has moved on to day {self.day}: choose again")
        self._answers.setdefault(token, _Rate(SEAT_ANSWERS, RATE_WINDOW, self.clock)).take("answers")
        try:  # the Decision checks the kinds of the values (true/false/none; a member id or 'nobody')
            d = Decision(self.day + 1, s.member, help=help, attend=attend, checkin=checkin, call=call)
        except ChoiceError as e:
            raise RoomError(str(e)) from None
        opts = self.options(token)
        if self._slot(s.member) is None:
            raise RoomError(f"member {s.member} has left the community; ask for another")
        if checkin is not None and checkin != "nobody" and checkin not in opts["checkin"]:
            raise RoomError(f"member {checkin!r} is not a tie of member {s.member} who has gone missing")
        if call and not opts["call"]:
            raise RoomError(f"member {s.member} has no sponsor to call")
        self.pending[s.member] = {k: getattr(d, k) for k in ("help", "attend", "checkin", "call")}
        self.version += 1

    def answered(self) -> set[int]:
        held = self.held()
        return {m for m in self.pending if m in held}

    def everyone_answered(self) -> bool:
        held = {m for m in self.held() if self._slot(m) is not None}
        return bool(held) and held <= set(self.pending)

    def tick(self) -> bool:
        """Plays the day if the round is over (all seated answered, or its time is up); returns whether it
        did. The page calls it every second or so."""
        if self.state != PLAYING:
            return False
        if self.everyone_answered() or (self.deadline is not None and self.clock() >= self.deadline):
            self.advance()
            return True
        return False

    def advance(self) -> None:
        """Plays the round's days now, with the decisions given so far (the teacher's button). Each answer
        holds for every day of the round; a check-in is made once, on its first day."""
        if self.state == ENDED:
            raise RoomError(f"room {self.code} has ended")
        held = self.held()
        answers = {m: d for m, d in sorted(self.pending.items()) if m in held}
        for k in range(self.days_per_round):
            if self.day >= self.scenario.steps:
                break
            decisions = []
            for m, d in answers.items():
                if self._slot(m) is None:  # left the community during the round
                    continue
                if k > 0:
                    d = {**d, "checkin": None}
                decisions.append(Decision(self.day + 1, m, **d))
            self.model.decide(decisions)
            self.log.add(decisions)
            self.model.step()
            self._record(held, {d.member for d in decisions})
        self.pending = {}
        self._answers = {}  # a new round: each seat's answers are counted afresh
        self.version += 1
        if self.day >= self.scenario.steps:
            self.end()
        elif self.state == PLAYING:
            self.deadline = self.clock() + self.round_seconds

    # ------------------------------------------------------------------ what each one sees
    def _record(self, held: Mapping[int, str], answered: set[int]) -> None:
        comm = self.model.community
        for m, token in sorted(held.items()):
            i = self._slot(m)
            row = {"day": self.day, "seat": token, "name": self.seats[token].name, "member": m,
                   "answered": m in answered, "in_community": i is not None}
            if i is not None:
                row.update({
                    "helps": int(comm["strategy"][i]) == 1, "stress": float(comm["stress"][i]),
                    "craving": float(comm["craving"][i]), "using": bool(comm["using"][i]),
                    "went_to_meeting": bool(comm["attended"][i]), "checked_on": bool(comm["reached"][i]),
                    "called_sponsor": bool(comm["called"][i]), "lapsed": bool(comm["lapsed"][i]),
                    "days_without_using": int(comm["sober_days"][i]),
                })
            self.history.append(row)

    def student_view(self, token: str) -> dict[str, Any]:
        """What a student's phone shows: the member's state, its ties and who among them is struggling or
        missing, what happened yesterday, the round's choices and time left."""
        s = self.seat(token)
        view: dict[str, Any] = {"room": self.code, "name": s.name, "member": s.member, "day": self.day,
                                "days": self.scenario.steps, "state": self.state,
                                "seconds_left": self.seconds_left(), "answered": s.member in self.pending}
        i = self._slot(s.member)
        view["in_community"] = i is not None
        if i is None:
            return view
        comm = self.model.community
        ids = self.present()
        ptr, nbr, w = self.model.tie_arrays()
        ties = []
        for j, wt in zip(nbr[ptr[i]:ptr[i + 1]], w[ptr[i]:ptr[i + 1]]):
            if j < 0 or wt <= 0:
                continue
            ties.append({"member": int(ids[j]), "strength": float(wt), "helps": int(comm["strategy"][j]) == 1,
                         "struggling": bool(comm["using"][j]) or int(comm["crisis_days"][j]) > 0,
                         "missing": self._missing(j), "missed": int(comm["missed"][j]),
                         "student": int(ids[j]) in self.held()})
        ties.sort(key=lambda t: -t["strength"])
        view.update({
            "helps": int(comm["strategy"][i]) == 1, "stress": float(comm["stress"][i]),
            "craving": float(comm["craving"][i]), "recovery": float(comm["capital"][i]),
            "using": bool(comm["using"][i]), "days_without_using": int(comm["sober_days"][i]),
            "has_sponsor": int(comm["sponsor"][i]) >= 0, "ties": ties,
            "yesterday": {"went_to_meeting": bool(comm["attended"][i]), "checked_on": bool(comm["reached"][i]),
                          "called_sponsor": bool(comm["called"][i]), "lapsed": bool(comm["lapsed"][i]),
                          "payoff": float(comm["payoff"][i])} if self.day > 0 else None,
            "options": self.options(token),
            "round": self._round_summary(s.member) if self.day > 0 else None,
        })
        return view

    def _round_summary(self, member: int) -> dict[str, int]:
        """The last round's days of a member: how many, at a meeting, checked on, called, using."""
        first = self.day - self.days_per_round
        rows = [r for r in self.history if r["member"] == member and r["day"] > first and r["in_community"]]
        return {"days": len(rows), "meetings": sum(r["went_to_meeting"] for r in rows),
                "checked_on": sum(r["checked_on"] for r in rows), "called": sum(r["called_sponsor"] for r in rows),
                "used": sum(r["using"] for r in rows)}

    def teacher_view(self) -> dict[str, Any]:
        """What the projector shows: the room's code, who plays, who has answered, the class's curves."""
        held = self.held()
        return {"room": self.code, "scenario": self.scenario.name, "seed": self.scenario.seed, "day": self.day,
                "days": self.scenario.steps, "days_per_round": self.days_per_round, "state": self.state, "seconds_left": self.seconds_left(),
                "students": [{"name": self.seats[t].name, "member": m, "answered": m in self.pending,
                              "in_community": self._slot(m) is not None} for m, t in sorted(held.items())],
                "members": int(self.present().size), "curves": self.model.metrics_frame()}

    def picture(self, size_px: int = 480) -> bytes:
        """The community as the dashboard draws it (sim.draw: blue helps, orange competes, darker with
        stress, crimson while using), each member a student plays ringed in black with the student's name."""
        model = self.model
        st = model.state_arrays()
        g = model.graph
        if getattr(g, "width", None) and getattr(g, "height", None) and self.scenario.network.kind == "lattice":
            img = Image.open(io.BytesIO(draw.lattice_png(st, g.width, g.height, target=size_px))).convert("RGB")
            cell = img.width / g.width
            xy = np.array([((i % g.width + 0.5) * cell, (i // g.width + 0.5) * cell) for i in range(g.n)])
            r = max(4.0, 0.6 * cell)
        else:
            if self._pos is None:
                self._pos = draw.network_positions(g, self.scenario.seed)
            img = draw.network_image(st, model.tie_arrays(), self._pos, size_px=size_px)
            scale = size_px / 520.0
            xy = draw.node_xy(self._pos, size_px, margin=int(12 * scale))
            r = 10 * scale
        pen = ImageDraw.Draw(img)
        font = ImageFont.load_default(size=max(16, size_px // 16))
        for m, token in sorted(self.held().items()):
            i = self._slot(m)
            if i is None:
                continue
            x, y = xy[i]
            pen.ellipse((x - r, y - r, x + r, y + r), outline=(0, 0, 0), width=3)
            name = self.seats[token].name
            wide = pen.textlength(name, font=font)
            tx = x + r + 2 if x + r + 2 + wide <= img.width else x - r - 2 - wide  # inside the picture
            pen.text((max(0.0, tx), min(max(0.0, y - r), img.height - font.size - 4)), name, fill=(0, 0, 0),
                     font=font, stroke_width=2, stroke_fill=(255, 255, 255))
        return draw.png_bytes(img)

    # ------------------------------------------------------------------ the debrief
    def bots_alone(self):
        """The same community and seed, the same days, every member played by the rules."""
        model = make_model(self.scenario, engine=self.engine)
        for _ in range(self.day):
            model.step()
        return model

    def debrief(self, columns: Iterable[str] = ("helpers", "mean_stress", "using", "lapses", "dropouts")) -> dict:
        """The class's run beside the bots' run of the same community and seed: the last day's figures of
        each and their difference, the decisions made, and whether the log replays the class's run."""
        ours = self.model.metrics_frame()
        bots = self.bots_alone().metrics_frame()
        cols = [c for c in columns if c in ours.columns]
        # counts (lapses, drop-outs) over the days played; shares and means on the last day
        def figure(frame, c):
            return float(frame[c].iloc[1:].sum() if c in COUNT_COLUMNS else frame[c].iloc[-1])

        last = {c: {"class": figure(ours, c), "bots": figure(bots, c),
                    "difference": figure(ours, c) - figure(bots, c)} for c in cols}
        again = replay(self.log, steps=self.day).metrics_frame()
        return {"days": self.day, "decisions": len(self.log.decisions), "last_day": last,
                "replays": bool(again.equals(ours)), "class": ours, "bots": bots, "students": self.by_student()}

    def by_student(self) -> list[dict[str, Any]]:
        """Which choices went with whose recovery: per student (a nickname may have played more than one
        member), the days played, the share of them helping, at a meeting, checked on, and using, a
        check-in made, and the stress of the last day played."""
        made = {(d.day, d.member): d for d in self.log.decisions}
        rows: dict[str, dict[str, Any]] = {}
        for r in self.history:
            if not r["in_community"]:
                continue
            s = rows.setdefault(r["seat"], {"name": r["name"], "days": 0, "helping": 0, "meetings": 0,
                                            "checked_on": 0, "checkins_made": 0, "using": 0, "stress": 0.0})
            d = made.get((r["day"], r["member"]))
            s["days"] += 1
            s["helping"] += r["helps"]
            s["meetings"] += r["went_to_meeting"]
            s["checked_on"] += r["checked_on"]
            s["using"] += r["using"]
            s["checkins_made"] += d is not None and isinstance(d.checkin, int)
            s["stress"] = r["stress"]
        return sorted(rows.values(), key=lambda s: s["name"].casefold())

    def export_log(self) -> DecisionLog:
        """The decision log to download: the scenario's days cut to the days the class played, so that
        ``mutualaid replay`` of it shows the class's run and stops where the class stopped."""
        played = self.scenario.model_copy(update={"steps": self.day}) if self.day > 0 else self.scenario
        log = DecisionLog(played, self.engine)
        log.add(self.log.decisions)
        return log

    def decisions_csv(self) -> str:
        """Every decision and its member's day, one row per seated member per day played."""
        keys = ["day", "name", "member", "answered", "in_community", "help", "attend", "checkin", "call",
                "helps", "stress", "craving", "using", "went_to_meeting", "checked_on", "called_sponsor",
                "lapsed", "days_without_using"]
        made = {(d.day, d.member): d for d in self.log.decisions}
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in self.history:
            d = made.get((row["day"], row["member"]))
            out = dict(row)
            for k in ("help", "attend", "checkin", "call"):
                v = getattr(d, k) if d is not None else None
                out[k] = "" if v is None else v
            w.writerow(out)
        return buf.getvalue()


#: how a scripted class answers (:func:`scripted_class`): each a name and what every student sends
POLICIES: dict[str, str] = {
    "mutual aid": "help the people they know, go to meetings, check on a tie who has gone missing, call "
                  "their sponsor",
    "each alone": "look after themselves, stay away from meetings, check on nobody, do not call",
}


class _Still:
    """A clock that does not move: a scripted class answers at once."""

    def __call__(self) -> float:
        return 0.0


#: the settings docs/CLASSROOM.md opens its room with (besides the size): meetings with a weekly rhythm, so
#: that "missing" means absent from one's own meetings (docs/ODD.md 7.1)
GUIDE_SET = {"attendance.rhythm": True}


def scripted_class(policy: str, *, scenario="baseline", seed: int = 1, members: int = 60, students: int = 30,
                   rounds: int = 12, days_per_round: int = 7, set: Mapping[str, Any] = GUIDE_SET) -> dict:
    """A class whose every student answers by ``policy`` (:data:`POLICIES`) each round: its debrief
    (:meth:`Room.debrief`). What the classroom guide's figures are made of (docs/CLASSROOM.md)."""
    if policy not in POLICIES:
        raise RoomError(f"policy = {policy!r}: one of {', '.join(POLICIES)}")
    code = "".join(random.Random(f"scripted-{seed}").choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
    room = Room(scenario, seed=seed, set={**set, "population.size": members}, clock=_Still(),
                days_per_round=days_per_round, code=code)  # the code seeds who plays whom: fixed, reproducible
    tokens = [room.join(f"student {k + 1}") for k in range(students)]
    room.start()
    aid = policy == "mutual aid"
    for _ in range(rounds):
        if room.state == ENDED:
            break
        for t in tokens:
            if room.seat(t).member < 0 or room._slot(room.seat(t).member) is None:
                room.reseat(t)
            opts = room.options(t)
            room.decide(t, help=aid, attend=aid, checkin=(opts["checkin"][0] if aid and opts["checkin"] else
                                                          None if aid else "nobody"),
                        call=aid if opts["call"] else None)
        room.advance()
    return room.debrief()
