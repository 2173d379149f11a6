"""The classroom (Solara): students each play a member of one community from their phones.

    mutualaid classroom baseline --set population.size=60      # prints the teacher's link

One room per server (:class:`sim.experiments.classroom.Room`), made when the server starts from
``MUTUALAID_CLASSROOM`` (JSON: scenario, seed, set, round_seconds, engine; the command sets it). Pages:

- ``/?teacher=KEY`` the teacher's screen, for a projector: the join link, its code and a QR code; start,
  pause, next day, end; who has answered; the class's curves; at the end the debrief (the class beside
  the same community played by bots alone) and every decision as CSV.
- ``/`` a student's join form (the code and a first name), then ``/?seat=TOKEN``: the member's day in
  plain words and the round's choices, for a phone (360 px wide and up). Reloading keeps the seat.

Every page ticks the room once a second (under one lock), so a round ends when its time is up whoever is
watching; a change any page makes (an answer, a day played, the teacher's buttons) wakes every page at once
(:data:`CHANGED`), so the last answer of a round shows the new day on every phone without waiting for a tick.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import threading
import time
import urllib.parse

import matplotlib
import segno

matplotlib.use("Agg")

import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.dashboards.widgets import Prose, Table  # noqa: E402
from sim.experiments.classroom import ENDED, LOBBY, PLAYING, Room, RoomError  # noqa: E402

ENV = "MUTUALAID_CLASSROOM"
SETTINGS = json.loads(os.environ.get(ENV) or "{}")
ROOM = Room(SETTINGS.get("scenario", "baseline"), seed=SETTINGS.get("seed"),
            set=SETTINGS.get("set") or ({} if "scenario" in SETTINGS else {"population.size": 60}),
            round_seconds=SETTINGS.get("round_seconds", 45), engine=SETTINGS.get("engine", "kernel"),
            days_per_round=SETTINGS.get("days_per_round", 1))
TEACHER_KEY = SETTINGS.get("teacher_key") or secrets.token_urlsafe(9)
LOCK = threading.RLock()  # re-entrant: a render inside a handler that holds it must not wait for itself
#: notified (under LOCK) whenever the room changes: every page's ticker wakes and redraws
CHANGED = threading.Condition(LOCK)


def changed() -> None:
    """Play the day if its round is over, then wake every page (call after changing the room)."""
    with CHANGED:
        ROOM.tick()
        CHANGED.notify_all()

CSS = """
.mc-page { max-width: 100%; overflow-x: hidden; font-size: 18px; }
.mc-big { font-size: 22px; font-weight: 600; }
.mc-code { font-size: 64px; font-weight: 700; letter-spacing: 0.15em; }
.mc-link { font-size: 24px; word-break: break-all; }
.mc-choice .v-btn-toggle { display: flex; flex-wrap: wrap; background: transparent; }
.mc-choice .v-btn { min-height: 52px !important; font-size: 18px !important; margin: 4px 4px 4px 0;
                    text-transform: none; letter-spacing: normal; flex: 1 1 auto; border-radius: 6px !important; }
.mc-choice .v-btn--active { background: #1b7837 !important; color: white !important; }
.mc-send.v-btn { min-height: 56px !important; font-size: 20px !important; width: 100%; text-transform: none; }
.mc-bar-label { margin-top: 6px; }
.mc-bar { height: 14px; background: #ddd; border-radius: 7px; }
.mc-bar > div { height: 14px; border-radius: 7px; }
.mc-tie { padding: 4px 0; border-bottom: 1px solid #eee; }
.mc-note { color: #444; }
.mc-teacher { font-size: 22px; }
.mc-teacher .v-btn { min-height: 56px !important; font-size: 20px !important; margin-right: 8px; text-transform: none; }
.mc-qr svg { width: 320px; height: 320px; }
.mc-join-strip { gap: 16px; }
.mc-qr-small svg { width: 110px; height: 110px; }
.mc-link-small { font-size: 20px; word-break: break-all; }
.mc-code-small { font-size: 40px; font-weight: 700; letter-spacing: 0.12em; }
.mc-end.v-btn { text-transform: none; }
.ma-table table { border-collapse: collapse; margin: 8px 0; }
.ma-table th, .ma-table td { padding: 4px 14px; text-align: right; border-bottom: 1px solid #ddd; }
.ma-table th:first-child, .ma-table td:first-child { text-align: left; }
.mc-community img, .mc-curves img { max-width: 100%; }
.mc-leave.v-btn { margin-top: 32px; text-transform: none; letter-spacing: normal; min-height: 44px !important;
                 font-size: 16px !important; margin-right: 8px; }
.mc-sent { font-weight: 600; color: #1b7837; }
/* the "runs on Solara" note: after the content, never over a button */
div:has(> b > a[href*="solara.dev"]) { position: static !important; text-align: right; }
"""


def join_url(base: str) -> str:
    return f"{base.rstrip('/')}/?" + urllib.parse.urlencode({"join": ROOM.code})


def qr_svg(text: str, scale: int = 10) -> str:
    """The QR code of ``text`` as an SVG element (drawn here: nothing is fetched)."""
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True)
    return buf.getvalue().decode()


def curves_png(frame, width_px: int = 960, height_px: int = 420) -> bytes:
    """The class's curves (helpers, mean stress, share using) drawn at the size shown, 18 px text."""
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_subplot()
    for col, label, color in (("helpers", "helping", "#1b7837"), ("mean_stress", "stress", "#b2182b"),
                              ("using", "using", "#762a83")):
        ax.plot(frame["step"], frame[col], label=label, color=color, lw=3)
    ax.set_xlabel("day", fontsize=18)
    ax.set_ylim(0, 1)
    ax.set_xlim(0, max(7, int(frame["step"].max())))  # day 0 alone: a week's axis, not -0.04 to 0.04
    ax.tick_params(labelsize=16)
    ax.legend(fontsize=16, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False,
              borderaxespad=0.2)  # above the plot, never over the curves or past the frame
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _cell(text: str) -> str:
    """A nickname in a Markdown table cell: nothing it holds can be read as Markdown or HTML."""
    return "".join(f"&#{ord(c)};" if not c.isalnum() and c != " " else c for c in text)


def _locked(fn, *args):
    with LOCK:
        return fn(*args)


def _everything():
    return ROOM.version


def _the_day():
    return ROOM.day, ROOM.state


def _ticker(watch=_everything):
    """Re-render the page once a second and as soon as what it ``watch``-es changes (:data:`CHANGED`: the
    teacher's page watches every change, a phone only the day and the room's state, so forty answers do not
    redraw forty phones forty times), and play the day when its round is over; returns the counter (a hook:
    call it first in a page's component)."""
    counter = solara.use_reactive(0)

    def loop(cancel: threading.Event):
        while not cancel.is_set():
            with CHANGED:
                seen = watch()
                CHANGED.wait_for(lambda: watch() != seen or cancel.is_set(), timeout=1.0)
                if ROOM.tick():
                    CHANGED.notify_all()
            if not cancel.is_set():
                counter.set(counter.value + 1)

    solara.use_thread(loop, dependencies=[], intrusive_cancel=False)
    _ = counter.value  # read while rendering: each tick re-renders the page
    return counter


def _bars(*bars: tuple[str, float, str]) -> str:
    """Labelled bars as one piece of HTML (one widget, not three per bar: forty phones redraw each day)."""
    return "".join(f'<div class="mc-bar-label">{label}: {value:.0%}</div><div class="mc-bar"><div style="width:'
                   f'{100 * value:.0f}%;background:{color}"></div></div>' for label, value, color in bars)


def _times(n: int, one: str, many: str) -> str:
    return one if n == 1 else many.format(n=n)


def _last_round(r: dict) -> str:
    """A round of several days in a sentence or three (one day: :func:`_yesterday`)."""
    said = [f"Over the last {r['days']} days you went to "
            + (_times(r["meetings"], "one meeting", "{n} meetings") if r["meetings"] else "no meeting") + "."]
    if r["checked_on"]:
        said.append("Someone checked on you " + _times(r["checked_on"], "once", "{n} times") + ".")
    if r["called"]:
        said.append("You called your sponsor " + _times(r["called"], "once", "{n} times") + ".")
    said.append("You used on " + _times(r["used"], "one day", "{n} days") + "." if r["used"] else
                "You did not use.")
    return " ".join(said)


def _yesterday(y: dict) -> str:
    said = ["You went to the meeting." if y["went_to_meeting"] else "You did not go to a meeting."]
    if y["checked_on"]:
        said.append("Someone checked on you.")
    if y["called_sponsor"]:
        said.append("You called your sponsor.")
    if y["lapsed"]:
        said.append("You used again.")
    return " ".join(said)


def _time_without(days: int) -> str:
    """Days without using in words a teenager reads: days, then weeks, months, years."""
    if days < 14:
        return f"{days} day{'' if days == 1 else 's'}"
    if days < 60:
        return f"{days // 7} weeks"
    if days < 730:
        return f"{days // 30} months"
    return f"{days // 365} years"


def _tie_state(t: dict) -> str:
    if t["missing"]:
        return f"missing (skipped {t['missed']} meetings in a row)"
    return "struggling" if t["struggling"] else "doing all right"


@solara.component
def Choices(token: str, v: dict):
    """The round's choices and Send. Made afresh for every day (its key is the day), so a new round starts
    with nothing chosen and no "Sent." left over from the last."""
    help_ = solara.use_reactive(None)
    attend = solara.use_reactive(None)
    checkin = solara.use_reactive(None)
    call = solara.use_reactive(None)
    message = solara.use_reactive("")
    opts = v["options"]
    span = "today" if ROOM.days_per_round == 1 else f"the next {ROOM.days_per_round} days"
    Prose(f"**Your choices for {span}**")
    with solara.Row(classes=["mc-choice"], style={"flex-wrap": "wrap"}):
        solara.ToggleButtonsSingle(value=help_, mandatory=False, children=[
            solara.Button("Help the people I know", value=True), solara.Button("Look after myself", value=False)])
    with solara.Row(classes=["mc-choice"], style={"flex-wrap": "wrap"}):
        solara.ToggleButtonsSingle(value=attend, mandatory=False, children=[
            solara.Button("Go to the meeting" if ROOM.days_per_round == 1 else "Go to meetings", value=True),
            solara.Button("Stay away", value=False)])
    if opts["checkin"]:
        solara.Text("Check on someone who has gone missing:")
        with solara.Row(classes=["mc-choice"], style={"flex-wrap": "wrap"}):
            solara.ToggleButtonsSingle(value=checkin, mandatory=False, children=[
                *[solara.Button(f"Member {m}", value=m) for m in opts["checkin"]],
                solara.Button("Nobody", value="nobody")])
    if opts["call"]:
        with solara.Row(classes=["mc-choice"], style={"flex-wrap": "wrap"}):
            solara.ToggleButtonsSingle(value=call, mandatory=False, children=[
                solara.Button("Call my sponsor", value=True), solara.Button("Don't call", value=False)])

    def send():
        try:
            with LOCK:
                ROOM.decide(token, help=help_.value, attend=attend.value, checkin=checkin.value,
                            call=call.value if opts["call"] else None, day=v["day"])
            message.set("Sent. You can change your mind until the round is played.")
        except RoomError as e:
            message.set(str(e)[0].upper() + str(e)[1:] + ".")
        changed()

    solara.Button("Send my choices", on_click=send, color="primary", classes=["mc-send"])
    if message.value:
        solara.Text(message.value, classes=["mc-note", "mc-sent"])
    elif not v["answered"]:
        solara.Text("Not sent yet: choose, then press Send.", classes=["mc-note"])


@solara.component
def Leave(token: str):
    """Leaving, in two steps (a thumb slips)."""
    sure = solara.use_reactive(False)

    def leave():
        with LOCK:
            ROOM.leave(token)
        changed()

    if not sure.value:
        solara.Button("Leave the game", on_click=lambda: sure.set(True), text=True, classes=["mc-leave"])
        return
    solara.Text("Leave for good? The computer will play your member.", classes=["mc-note"])
    with solara.Row():
        solara.Button("Yes, leave", on_click=leave, classes=["mc-leave"])
        solara.Button("No, stay", on_click=lambda: sure.set(False), color="primary", classes=["mc-leave"])


@solara.component
def Student(token: str):
    _ticker(_the_day)
    with LOCK:
        try:
            v = ROOM.student_view(token)
        except RoomError as e:
            solara.Style(CSS)
            with solara.Column(classes=["mc-page"]):
                solara.Text(str(e)[0].upper() + str(e)[1:] + ".", classes=["mc-big"])
                if "taken this seat out" not in str(e):
                    solara.HTML(tag="a", unsafe_innerHTML="Join again",
                                attributes={"href": "/?" + urllib.parse.urlencode({"join": ROOM.code})},
                                classes=["mc-big"])
            return
    solara.Style(CSS)
    with solara.Column(classes=["mc-page"]):
        left = v["seconds_left"]
        Prose(f"**{v['name']}** · day {v['day']} of {v['days']}"
              + (f" · {left:.0f} s left" if left is not None and v["state"] == PLAYING else ""), classes=["mc-top"])
        if not v["in_community"]:
            solara.Text("Your member has left the community.", classes=["mc-big"])

            def another():
                with LOCK:
                    ROOM.reseat(token)
                changed()

            solara.Button("Play another member", on_click=another, classes=["mc-send"])
            return
        solara.Text(f"You are member {v['member']}: you "
                    + ("help the people you know." if v["helps"] else "look after yourself first."),
                    classes=["mc-big"])
        solara.HTML(unsafe_innerHTML=_bars(("Stress", v["stress"], "#b2182b"), ("Craving", v["craving"], "#762a83"),
                                           ("Recovery", v["recovery"], "#1b7837")))
        solara.Text(("You are using today." if v["using"] else
                     f"Without using for {_time_without(v['days_without_using'])}"), classes=["mc-big"])
        if v["yesterday"] and (ROOM.days_per_round == 1 or v["round"]["days"] > 0):
            solara.Text(_yesterday(v["yesterday"]) if ROOM.days_per_round == 1 else _last_round(v["round"]),
                        classes=["mc-note"])
        Prose("**The people you know**")
        if not v["ties"]:
            solara.Text("Nobody yet: go to a meeting to meet people.", classes=["mc-note"])
        else:
            solara.HTML(unsafe_innerHTML="".join(
                f'<div class="mc-tie">Member {t["member"]}{" (a classmate)" if t["student"] else ""}: '
                f'{_tie_state(t)}</div>' for t in v["ties"][:8]))
        if v["state"] == ENDED:
            solara.Text("The game has ended: look at the big screen.", classes=["mc-big"])
            return
        if v["state"] == PLAYING:
            Choices(token, v).key(f"day-{v['day']}")
        else:
            solara.Text("The teacher has paused the game." if v["state"] == "paused" else
                        "Waiting for the teacher to start the game.", classes=["mc-big"])
        Leave(token)


@solara.component
def Join(code: str):
    router = solara.use_router()
    name = solara.use_reactive("")
    typed = solara.use_reactive(code)
    error = solara.use_reactive("")
    solara.Style(CSS)

    def go():
        if typed.value.strip().upper() != ROOM.code:
            error.set(f"That is not this room's code ({len(ROOM.code)} letters, on the big screen).")
            return
        try:
            with LOCK:
                token = ROOM.join(name.value)
        except RoomError as e:
            error.set(str(e))
            return
        changed()
        router.push("/?" + urllib.parse.urlencode({"seat": token}))

    with solara.Column(classes=["mc-page"]):
        solara.Text("Join the class's community", classes=["mc-big"])
        solara.InputText("Room code", value=typed)
        solara.InputText("Your first name", value=name)
        solara.Button("Join", on_click=go, color="primary", classes=["mc-send"])
        if error.value:
            solara.Error(error.value)


#: the debrief's measures in words (counts over the days played; the others on the last day)
DEBRIEF_LABELS = {"helpers": "share helping (last day)", "mean_stress": "mean stress (last day)",
                  "using": "share using (last day)", "lapses": "lapses (all the days)",
                  "dropouts": "drop-outs (all the days)"}


def _figure(key: str, value: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign}.0f}" if key in ("lapses", "dropouts") else f"{value:{sign}.2f}"


@solara.component
def JoinBlock(link: str, compact: bool):
    """The QR code, the link and the code: big in the lobby; a strip once the game runs (for late joiners)."""
    if compact:
        with solara.Row(style={"align-items": "center"}, classes=["mc-join-strip"]):
            solara.HTML(unsafe_innerHTML=qr_svg(link, scale=4), classes=["mc-qr-small"])
            solara.Text(f"Join: {link}", classes=["mc-link-small"])
            solara.Text(ROOM.code, classes=["mc-code-small"])
        return
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.HTML(unsafe_innerHTML=qr_svg(link), classes=["mc-qr"])
        with solara.Column():
            solara.Text("Join on your phone:", classes=["mc-big"])
            solara.Text(link, classes=["mc-link"])
            solara.Text(ROOM.code, classes=["mc-code"])


@solara.component
def Debrief(d: dict):
    rows = "\n".join(f"| {DEBRIEF_LABELS.get(k, k)} | {_figure(k, f['class'])} | {_figure(k, f['bots'])} | "
                     f"{_figure(k, f['difference'], signed=True)} |" for k, f in d["last_day"].items())
    Prose(f"**After {d['days']} days**: {d['decisions']} answers from the class (one for each student on each day "
          f"played). The same community, seed and days played by the bots alone:")
    Table(f"| measure | our class | bots alone | difference |\n|---|---|---|---|\n{rows}")
    Prose("One run of each: a difference of one or two lapses or drop-outs can be chance (docs/CLASSROOM.md "
          "shows what many runs give). "
          + ("The decision log replays the class's run exactly." if d["replays"]
             else "The decision log did NOT replay the run."), classes=["mc-note"])
    if d["students"]:
        Prose("**Who chose what, and how their member fared** (days played; share of them helping, at "
              "a meeting, using; check-ins made; stress on the last day):")
        Table("| student | days | helping | at a meeting | using | check-ins made | stress |\n"
              "|---|---|---|---|---|---|---|\n" + "\n".join(
                  f"| {_cell(s['name'])} | {s['days']} | {s['helping'] / s['days']:.0%} | "
                  f"{s['meetings'] / s['days']:.0%} | {s['using'] / s['days']:.0%} | {s['checkins_made']} | "
                  f"{s['stress']:.2f} |" for s in d["students"]))
    with LOCK:
        csv_text = ROOM.decisions_csv()
        log_text = "\n".join(ROOM.export_log().lines()) + "\n"
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.FileDownload(csv_text.encode(), filename=f"classroom-{ROOM.code}.csv",
                            label="Every decision and outcome (CSV)")
        solara.FileDownload(log_text.encode(), filename=f"classroom-{ROOM.code}.jsonl",
                            label="Decision log (replay it: mutualaid replay FILE)")


@solara.component
def Teacher(base: str):
    _ticker()
    debrief = solara.use_reactive(None)
    out = solara.use_reactive("")
    ending = solara.use_reactive(False)
    solara.Style(CSS)
    with LOCK:
        tv = ROOM.teacher_view()
    link = join_url(base)

    def act(fn):
        def run():
            with LOCK:
                fn()
            ending.set(False)
            changed()
        return run

    def make():
        with LOCK:
            d = ROOM.debrief()
        debrief.set(d)  # outside the lock: setting it renders the page, which takes the lock

    with solara.Column(classes=["mc-teacher"]):
        if tv["state"] != ENDED:
            JoinBlock(link, compact=tv["state"] != LOBBY)
        left = tv["seconds_left"]
        answered = sum(s["answered"] for s in tv["students"])
        k = len(tv["students"])
        solara.Text(f"Day {tv['day']} of {tv['days']} · {k} student{'' if k == 1 else 's'}, {answered} answered"
                    + (f" · {left:.0f} s left" if left is not None else "") + f" · {tv['state']}",
                    classes=["mc-big"])
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            if tv["state"] in (LOBBY, "paused"):
                solara.Button("Start" if tv["state"] == LOBBY else "Resume", on_click=act(ROOM.start),
                              color="primary")
            if tv["state"] == PLAYING:
                solara.Button("Pause", on_click=act(ROOM.pause))
                solara.Button("Next day now" if ROOM.days_per_round == 1 else "Next round now",
                              on_click=act(ROOM.advance))
            if tv["state"] != ENDED:
                solara.HTML(tag="span", unsafe_innerHTML="", style={"flex": "1 1 40px"})
                if not ending.value:
                    solara.Button("End the game…", on_click=lambda: ending.set(True), classes=["mc-end"])
                else:
                    solara.Text("End for good?", classes=["mc-big"])
                    solara.Button("Yes, end", on_click=act(ROOM.end), color="error")
                    solara.Button("No", on_click=lambda: ending.set(False))
            elif debrief.value is None:
                solara.Button("Debrief: our run beside the bots'", on_click=make, color="primary")
        if debrief.value is not None:
            Debrief(debrief.value)
        solara.Text(" · ".join(f"{s['name']} {'✓' if s['answered'] else '…'}" for s in tv["students"])
                    or "Nobody has joined yet.", classes=["mc-note"])
        # drawn again only when the day or the class's seats change, not on every answer
        seated = tuple(sorted((s["member"], s["name"]) for s in tv["students"]))
        picture = solara.use_memo(lambda: _locked(ROOM.picture, 400), dependencies=[tv["day"], seated])
        curves = solara.use_memo(lambda: curves_png(tv["curves"], width_px=560, height_px=400),
                                 dependencies=[tv["day"]])
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            solara.Image(picture, classes=["mc-community"])
            solara.Image(curves, classes=["mc-curves"])
        Prose("Blue: helps the people they know. Orange: looks after themselves first. Darker: more stressed. "
              "Crimson: using. Black rings: members played by the class.", classes=["mc-note"])
        names = sorted({s["name"] for s in tv["students"]})
        if names and tv["state"] != ENDED:
            with solara.Row(style={"align-items": "center"}):
                solara.Select(label="Take a student out of the game", value=out, values=names)
                if out.value in names:
                    solara.Button(f"Take {out.value} out", on_click=act(lambda: ROOM.remove(out.value)))
        if tv["state"] != ENDED and tv["day"] > 0 and debrief.value is None:
            solara.Button("Debrief so far: our run beside the bots'", on_click=make)


@solara.component
def Page():
    router = solara.use_router()
    q = urllib.parse.parse_qs((router.search or "").lstrip("?"))
    if q.get("teacher", [""])[0] == TEACHER_KEY:
        base = os.environ.get("MUTUALAID_CLASSROOM_URL", "")
        return Teacher(base)
    if "seat" in q:
        return Student(q["seat"][0])
    return Join(q.get("join", [""])[0])
