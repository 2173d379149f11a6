"""The classroom room (sim.experiments.classroom): seats, rounds, decisions reaching the model, the debrief's
replay and its bots-alone twin. The pages that show a room are tested in the browser tests."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from sim.core.rules import COMPETE, HELP
from sim.experiments.classroom import MAX_MEMBERS, PAUSED, PLAYING, Room, RoomError
from sim.runner import replay, run

SMALL = {"population.size": 40, "steps": 60}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return Clock()


def _room(clock, **kw):
    """A room with a fixed code: the code seeds who plays which member, so each test plays the same game
    every time it runs (a random code once handed a student a member who left the community)."""
    return Room("baseline", seed=kw.pop("seed", 11), set={**SMALL, **kw.pop("set", {})}, clock=clock,
                round_seconds=30, code=kw.pop("code", "KQTMX"), **kw)


def _slot(room, member):
    return int(np.flatnonzero(room.present() == member)[0])


def test_students_get_different_members_and_names_are_checked(clock):
    room = _room(clock)
    tokens = [room.join(n) for n in ("Ana", "Ben", "  Chen   Li ")]
    members = [room.seat(t).member for t in tokens]
    assert len(set(members)) == 3 and all(m in set(room.present().tolist()) for m in members)
    assert room.seat(tokens[2]).name == "Chen Li"
    assert len(room.code) == 5 and room.code.isalnum()
    for bad, said in (("", "empty"), ("x" * 25, "at most 24"), ("a\x00b", "control"), (7, "text")):
        with pytest.raises(RoomError, match=said):
            room.join(bad)


def test_a_room_refuses_a_community_too_big_or_full(clock):
    with pytest.raises(RoomError, match=f"a room plays 10 to {MAX_MEMBERS}.*population.size"):
        Room("baseline", set={"population.size": 400}, clock=clock)
    room = Room("baseline", seed=2, set={"population.size": 10, "steps": 5}, clock=clock)
    n = room.present().size
    for k in range(n):
        room.join(f"s{k}")
    with pytest.raises(RoomError, match="full"):
        room.join("one too many")


def test_a_students_decisions_reach_their_member_and_the_rest_is_left_to_the_rules(clock):
    room = _room(clock, set={"evolution.interval": 1000})  # no strategy revision: only the student changes hers
    a, b = room.join("Ana"), room.join("Ben")
    ma, mb = room.seat(a).member, room.seat(b).member
    room.start()
    room.decide(a, help=False, attend=False)
    assert room.tick() is False  # Ben has not answered and the time is not up
    room.decide(b, help=True, attend=True)
    assert room.answered() == {ma, mb}
    assert room.tick() is True and room.day == 1
    comm = room.model.community
    assert comm["strategy"][_slot(room, ma)] == COMPETE and comm["strategy"][_slot(room, mb)] == HELP
    assert not comm["attended"][_slot(room, ma)]
    assert room.answered() == set()  # a new round
    view = room.student_view(a)
    assert view["yesterday"]["went_to_meeting"] is False and view["helps"] is False


def test_a_round_ends_when_its_time_is_up_and_pause_keeps_the_time_left(clock):
    room = _room(clock)
    a = room.join("Ana")
    room.join("Ben")
    room.start()
    room.decide(a, attend=True)
    clock.t += 20
    assert room.tick() is False and room.seconds_left() == pytest.approx(10)
    room.pause()
    clock.t += 100  # paused: the clock runs, the round does not
    assert room.state == PAUSED and room.tick() is False and room.seconds_left() == pytest.approx(10)
    room.start()
    assert room.state == PLAYING
    clock.t += 10
    assert room.tick() is True and room.day == 1  # Ben never answered: the rules decided for him
    assert room.seconds_left() == pytest.approx(30)


def test_decisions_out_of_turn_or_beyond_the_options_are_refused_in_one_line(clock):
    room = _room(clock)
    a = room.join("Ana")
    with pytest.raises(RoomError, match="not playing"):
        room.decide(a, help=True)
    room.start()
    opts = room.options(a)
    me = room.seat(a).member
    stranger = next(int(m) for m in room.present() if int(m) != me and int(m) not in opts["checkin"])
    with pytest.raises(RoomError, match="not a tie .* gone missing"):
        room.decide(a, checkin=stranger)
    with pytest.raises(RoomError):
        room.decide(a, help="yes")
    if not opts["call"]:
        with pytest.raises(RoomError, match="no sponsor"):
            room.decide(a, call=True)
    with pytest.raises(RoomError, match="not in the room"):
        room.decide("made-up-token", help=True)
    with pytest.raises(RoomError, match="round_seconds"):
        Room("baseline", set=SMALL, round_seconds=0)


def test_a_student_who_leaves_hands_the_member_to_a_bot_and_a_late_joiner_takes_a_bot(clock):
    room = _room(clock)
    a, b = room.join("Ana"), room.join("Ben")
    room.start()
    room.decide(a, help=False)
    room.leave(a)
    assert room.seat(b).member in room.held() and len(room.held()) == 1
    with pytest.raises(RoomError, match=f"you left the game on day 0: the computer plays member "
                                        f"{room.seats[a].member} now"):
        room.student_view(a)
    room.advance()
    c = room.join("Cleo")  # late: a member the bots were playing
    assert room.seat(c).member not in (room.seat(b).member,) and room.seat(c).since_day == 1
    assert room.log.decisions == []  # Ana's answer went with her


def _play(room, rounds, seed):
    """Students answering at random among their options, as a class might."""
    pick = random.Random(seed)
    for _ in range(rounds):
        for t in list(room.held().values()):
            if not room.student_view(t)["in_community"]:
                room.reseat(t)
            opts = room.options(t)
            room.decide(t, help=pick.choice([True, False, None]), attend=pick.choice([True, False, None]),
                        checkin=pick.choice(opts["checkin"] + ["nobody", None]),
                        call=pick.choice([True, False, None]) if opts["call"] else None)
        room.advance()


def test_the_class_run_replays_from_its_log_and_differs_from_the_bots_alone(clock):
    room = _room(clock, set={"population.size": 30})
    for k in range(12):
        room.join(f"s{k}")
    room.start()
    _play(room, 40, seed=5)
    d = room.debrief()
    assert d["days"] == 40 and d["decisions"] > 12 * 30
    assert d["replays"] is True
    assert not d["class"].equals(d["bots"])  # twelve of thirty members decided otherwise
    for figure in d["last_day"].values():
        assert figure["difference"] == pytest.approx(figure["class"] - figure["bots"])
    lines = room.decisions_csv().splitlines()
    assert lines[0].startswith("day,name,member,answered")
    assert len(lines) - 1 == len(room.history) == sum(1 for _ in room.history)
    assert len(room.history) >= 40 * 12
    exported = room.export_log()  # what the teacher downloads: the days the class played, then it stops
    assert exported.scenario.steps == 40 and exported.decisions == room.log.decisions
    assert replay(exported).metrics_frame().equals(d["class"])


def test_a_room_nobody_plays_is_the_plain_run(clock):
    room = _room(clock)
    room.start()
    for _ in range(25):
        assert room.tick() is False  # nobody seated: rounds wait for the clock or the teacher
        room.advance()
    plain = run("baseline", seed=11, set={**SMALL, "steps": 25}).metrics
    assert room.model.metrics_frame().equals(plain)
    assert room.debrief()["replays"] is True


def test_the_room_ends_with_the_scenarios_days(clock):
    room = Room("baseline", seed=4, set={"population.size": 30, "steps": 3}, clock=clock)
    a = room.join("Ana")
    room.start()
    for _ in range(3):
        room.advance()
    assert room.state == "ended" and room.tick() is False
    with pytest.raises(RoomError, match="ended"):
        room.advance()
    with pytest.raises(RoomError, match="ended"):
        room.join("Late")
    assert room.teacher_view()["students"][0]["member"] == room.seat(a).member


def test_the_student_view_lists_ties_and_who_is_missing(clock):
    room = _room(clock)
    a = room.join("Ana")
    room.start()
    for _ in range(10):
        room.advance()
    v = room.student_view(a)
    if not v["in_community"]:
        room.reseat(a)
        v = room.student_view(a)
    strengths = [t["strength"] for t in v["ties"]]
    assert strengths == sorted(strengths, reverse=True)
    assert sorted(t["member"] for t in v["ties"] if t["missing"]) == v["options"]["checkin"]
    assert 0 <= v["stress"] <= 1 and 0 <= v["craving"] <= 1 and v["day"] == 10


def test_nicknames_hold_letters_digits_and_a_few_marks_only(clock):
    room = _room(clock)
    assert room.seat(room.join("Zoë O'Neil-Smith Jr.")).name == "Zoë O'Neil-Smith Jr."
    assert room.seat(room.join("李 2")).name == "李 2"
    for bad, odd in (("<b>x</b>", "</>"), ("see x.io/a", "/"), ("a@b", "@"), ("hi :)", "):")):
        with pytest.raises(RoomError, match=re.escape(f"not {''.join(sorted(odd))!r}")):
            room.join(bad)


def test_a_seat_hammering_answers_and_a_flood_of_joins_are_refused(clock):
    from sim.experiments import classroom

    room = _room(clock)
    t = room.join("Ana")
    room.start()
    for _ in range(classroom.SEAT_ANSWERS):
        room.decide(t, help=True)
    with pytest.raises(RoomError, match="answers: too many in 10 seconds"):
        room.decide(t, help=False)
    assert room.pending[room.seat(t).member]["help"] is True  # the refused answer changed nothing
    clock.t += classroom.RATE_WINDOW  # the window has passed: answers are taken again
    room.decide(t, help=False)
    room.advance()
    for _ in range(classroom.SEAT_ANSWERS):  # a new round counts afresh
        room.decide(t, help=True)

    crowd = _room(clock, set={"population.size": 200})
    for k in range(classroom.ROOM_JOINS):
        crowd.join(f"s{k}")
    with pytest.raises(RoomError, match="joining room .*too many"):
        crowd.join("late")
    clock.t += classroom.RATE_WINDOW
    crowd.join("late")


def test_the_teacher_takes_a_nickname_out_and_a_bot_plays_its_member(clock):
    room = _room(clock)
    rude, kind = room.join("Rude"), room.join("Kind")
    m = room.seat(rude).member
    room.start()
    v0 = room.version
    assert room.remove("Rude") == 1 and room.version > v0
    with pytest.raises(RoomError, match="teacher has taken this seat out"):
        room.student_view(rude)
    with pytest.raises(RoomError, match="teacher has taken"):
        room.decide(rude, help=True)
    assert m not in room.held() and room.seat(kind).member in room.held()
    with pytest.raises(RoomError, match="teacher has taken 'rUDE' out"):  # the same name cannot come back
        room.join("rUDE")
    assert room.remove("Nobody") == 0


def test_two_students_cannot_share_a_nickname_but_a_leavers_can_be_reused(clock):
    room = _room(clock)
    amy = room.join("Amy")
    with pytest.raises(RoomError, match="already called 'amy'"):
        room.join("amy")
    room.leave(amy)
    room.join("Amy")  # she left: her nickname is free again


def test_an_answer_sent_for_a_round_that_has_ended_is_refused(clock):
    room = _room(clock)
    a = room.join("Ana")
    room.start()
    room.decide(a, attend=True, day=0)
    room.advance()
    with pytest.raises(RoomError, match="that answer was for day 0; the game has moved on to day 1"):
        room.decide(a, attend=False, day=0)
    assert room.pending == {}
    room.decide(a, attend=False, day=1)


def test_missing_means_the_models_own_absence_count_not_a_meeting_day(clock):
    room = _room(clock, set={"attendance.rhythm": True})
    a = room.join("Ana")
    room.start()
    threshold = room.scenario.checkins.missed_threshold
    flagged = total = 0
    for _ in range(20):
        if not room.student_view(a)["in_community"]:  # her member left the community: she plays another
            room.reseat(a)
        v = room.student_view(a)
        missed = np.asarray(room.model.community["missed"])
        for t in v["ties"]:
            assert t["missing"] == (missed[_slot(room, t["member"])] >= threshold) == (t["missed"] >= threshold)
            flagged += t["missing"]
            total += 1
        assert set(room.options(a)["checkin"]) == {t["member"] for t in v["ties"] if t["missing"]}
        room.advance()
    assert total > 0 and flagged < total  # not everyone is missing


def test_every_change_a_page_shows_moves_the_version(clock):
    room = _room(clock)
    seen = [room.version]

    def moved():
        seen.append(room.version)
        return seen[-1] > seen[-2]

    t = room.join("Ana")
    assert moved()
    room.start()
    assert moved()
    room.decide(t, attend=True)
    assert moved()
    room.advance()
    assert moved()
    room.pause()
    assert moved()
    room.start()
    assert moved()
    room.tick()  # nothing to do: the round is under way and Ana has not answered
    assert not moved()
    room.end()
    assert moved()


@pytest.mark.parametrize("scenario,cut", [("baseline", {"population.size": 40}),
                                          ("kropotkin", {"network.width": 10, "network.height": 10,
                                                         "population.size": 100})])
def test_the_community_picture_rings_the_members_students_play(clock, scenario, cut):
    from io import BytesIO

    from PIL import Image

    room = Room(scenario, seed=5, set=cut, clock=clock)
    plain = np.asarray(Image.open(BytesIO(room.picture(420))).convert("RGB")).astype(int)
    room.join("Ana")
    ringed = np.asarray(Image.open(BytesIO(room.picture(420))).convert("RGB")).astype(int)
    assert plain.shape == ringed.shape == (420, 420, 3)
    differs = np.argwhere(np.abs(plain - ringed).sum(axis=2) > 0)
    assert differs.size  # the ring and the name are drawn
    black = (ringed.sum(axis=2) < 60) & (plain.sum(axis=2) >= 60)
    assert black.sum() >= 40  # a ring a class sees from the back, not a speck
    ys, xs = np.nonzero(black)
    assert xs.min() >= 0 and xs.max() < 420 and ys.max() < 420


def test_a_round_of_a_week_plays_seven_days_with_the_answers_holding_and_replays(clock):
    room = _room(clock, days_per_round=7)
    a, b = room.join("Ana"), room.join("Ben")
    room.start()
    missing = room.options(a)["checkin"]
    room.decide(a, help=False, attend=False, checkin=missing[0] if missing else None)
    room.decide(b, attend=True)
    assert room.tick() and room.day == 7
    ana, ben = room.seat(a).member, room.seat(b).member
    mine = [d for d in room.log.decisions if d.member == ana]
    assert [d.day for d in mine] == list(range(1, 8)) and all(d.help is False and d.attend is False for d in mine)
    assert all(d.checkin is None for d in mine[1:])  # a check-in is made once, on the round's first day
    summary = room.student_view(a)["round"]
    assert summary["days"] == 7 and summary["meetings"] == 0
    assert room.student_view(b)["round"]["meetings"] == 7
    assert int(room.model.community["strategy"][_slot(room, ana)]) == COMPETE
    assert [r["day"] for r in room.history if r["member"] == ben] == list(range(1, 8))
    for _ in range(3):
        room.decide(a, help=True)
        room.advance()
    assert room.day == 28
    assert replay(room.export_log()).metrics_frame().equals(room.model.metrics_frame())
    for bad in (0, 8, 2.5, True):
        with pytest.raises(RoomError, match="days_per_round"):
            _room(clock, days_per_round=bad)


def test_a_week_long_round_stops_at_the_scenarios_last_day(clock):
    room = _room(clock, days_per_round=7, set={"steps": 10})
    room.start()
    room.advance()
    room.advance()
    assert room.day == 10 and room.state == "ended"


@pytest.mark.parametrize("args,said", [
    (["--days-per-round", "9"], "--days-per-round: 9: must be <= 7"),
    (["--round-seconds", "2"], "--round-seconds: 2: must be >= 5"),
    (["--set", "population.size=400"], "a room plays 10 to 300"),
])
def test_the_command_refuses_a_room_it_cannot_open_in_one_line(args, said):
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:  # a port nobody listens on, so that only the room's settings can be wrong
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = subprocess.run([sys.executable, "-m", "sim", "classroom", "baseline", "--host", "127.0.0.1", "--port",
                          str(port), *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and said in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_the_debrief_tells_which_choices_went_with_whose_recovery(clock):
    room = _room(clock)
    ana, ben = room.join("Ana"), room.join("Ben")
    room.start()
    for day in range(6):
        missing = room.options(ana)["checkin"]
        room.decide(ana, help=True, attend=True, checkin=missing[0] if missing else None)
        room.decide(ben, help=False, attend=False)
        room.advance()
    rows = {r["name"]: r for r in room.debrief()["students"]}
    assert set(rows) == {"Ana", "Ben"}
    assert rows["Ana"]["days"] == rows["Ben"]["days"] == 6
    assert rows["Ana"]["helping"] == 6 and rows["Ben"]["helping"] == 0  # the strategy each chose, each day
    assert rows["Ana"]["meetings"] >= 5 and rows["Ben"]["meetings"] == 0  # a closure or a lapse may stop her
    made = sum(1 for d in room.log.decisions if d.member == room.seat(ana).member and isinstance(d.checkin, int))
    assert rows["Ana"]["checkins_made"] == made and rows["Ben"]["checkins_made"] == 0
    last = {r["member"]: r for r in room.history if r["day"] == 6}
    assert rows["Ben"]["stress"] == last[room.seat(ben).member]["stress"]
