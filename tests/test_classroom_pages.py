"""The classroom's pages in a real Chromium (``mutualaid classroom``): a teacher at a 1024 x 768 projector and
three students on 360 px phones join, answer a round and see the day played; the teacher ends the game and
reads the debrief. Sizes are measured from the pages: the QR code and the room's code read from the back of
a room, buttons a thumb can hit, nothing wider than a phone. Every page reaches only the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    START_TIMEOUT, UI_TIMEOUT, _free_port, _missing, _wait_until, browser, offline_context,
)

from .servers import stop_group, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def _serve(logs: Path):
    """Start ``mutualaid classroom`` serving a 40-member baseline; returns (process, teacher's link, base).
    Rounds of 900 s: on a loaded machine (a cold numba cache, the suite's other worker) no round may end by
    its clock while the test's phones are still answering (one did at 60 s, and the phones' answers fell
    into the next day)."""
    if not (Path(sys.executable).parent / "solara").exists():
        _missing("solara is not installed")
    port = _free_port()
    err_path = logs / f"stderr-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mutualaid"), "classroom", "baseline", "--set",
                             "population.size=40", "--seed", "7", "--host", "127.0.0.1", "--port", str(port),
                             "--round-seconds", "900"], cwd=logs, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(err_path, "wb"), start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, base, err_path, START_TIMEOUT, what="the classroom")
    except BaseException:
        stop_group(proc)
        raise
    first = err_path.read_text().splitlines()[0]
    m = re.search(r"(http://\S+\?teacher=\S+)", first)
    assert m, first
    return proc, m.group(1), base


@pytest.fixture
def classroom(tmp_path_factory):
    """A classroom server for one test; yields (the teacher's link, the server's base)."""
    proc, link, base = _serve(tmp_path_factory.mktemp("classroom"))
    try:
        yield link, base
    finally:
        stop_group(proc)


def _teacher(browser, base, link, contexts):
    """The teacher's page at a 1024 x 768 projector, once the room's code shows."""
    ctx = offline_context(browser, base, viewport={"width": 1024, "height": 768})
    contexts.append(ctx)
    teacher = ctx.new_page()
    teacher.set_default_timeout(UI_TIMEOUT)
    teacher.goto(link)
    teacher.wait_for_selector(".mc-code")
    return teacher


def _font_px(page, selector):
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_three_phones_and_a_projector_play_a_round_and_read_the_debrief(browser, classroom):
    teacher_link, base = classroom
    contexts = []
    try:
        teacher = _teacher(browser, base, teacher_link, contexts)
        code = teacher.inner_text(".mc-code").strip()
        assert re.fullmatch(r"[A-Z0-9]{5}", code)
        assert _font_px(teacher, ".mc-code") >= 48  # read from the back of a room
        qr = teacher.locator(".mc-qr svg").bounding_box()
        assert qr["width"] >= 300 and qr["height"] >= 300
        assert teacher.evaluate("document.scrollingElement.scrollWidth") <= 1024
        link = teacher.inner_text(".mc-link")
        assert link == f"{base}?join={code}"

        phones = []
        for name in ("Ana", "Ben", "Cleo"):
            ctx = offline_context(browser, base, viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True)
            contexts.append(ctx)
            ph = ctx.new_page()
            ph.set_default_timeout(UI_TIMEOUT)
            ph.goto(link)  # the QR code's link: the code is filled in
            ph.get_by_label("Your first name").fill(name)
            ph.get_by_role("button", name="Join").click()
            ph.wait_for_selector("text=Waiting for the teacher")
            assert "seat=" in ph.url  # a reload keeps the seat
            phones.append(ph)
        _wait_until(lambda: "3 students" in teacher.inner_text("body"), what="the teacher to see three students")

        teacher.get_by_role("button", name="Start").click()
        for k, ph in enumerate(phones):
            ph.wait_for_selector("text=Send my choices")
            assert ph.evaluate("document.scrollingElement.scrollWidth") <= 360  # nothing wider than the phone
            for b in ph.locator(".mc-choice .v-btn, .mc-send").all():
                box = b.bounding_box()
                assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
            assert _font_px(ph, ".mc-big") >= 18
            ph.get_by_role("button", name="Help the people I know").click()
            ph.get_by_role("button", name="Stay away" if k == 0 else "Go to the meeting").click()
            ph.get_by_role("button", name="Send my choices").click()
        # everyone has answered: the day is played without waiting for the 900 s round
        _wait_until(lambda: "Day 1 of" in teacher.inner_text("body"), timeout=30, what="the day to be played")
        _wait_until(lambda: "You did not go to a meeting." in phones[0].inner_text("body"), timeout=30,
                    what="Ana to read that she stayed away")
        assert "You went to the meeting." in phones[1].inner_text("body")

        teacher.get_by_role("button", name="End the game…").click()
        teacher.get_by_role("button", name="Yes, end").click()
        _wait_until(lambda: "· ended" in teacher.inner_text("body"), timeout=30, what="the game to end")
        teacher.get_by_role("button", name=re.compile("^Debrief")).click()
        teacher.wait_for_selector(".ma-table table")
        table = teacher.inner_text(".ma-table")
        assert "our class" in table and "bots alone" in table
        assert "replays the class's run exactly" in teacher.inner_text("body")
        for ph in phones:
            _wait_until(lambda: "The game has ended" in ph.inner_text("body"), timeout=30, what="the end")
        for ctx in contexts:
            assert ctx.outside == [], ctx.outside
    finally:
        for ctx in contexts:
            ctx.close()


def _phone(browser, base, contexts):
    ctx = offline_context(browser, base, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    contexts.append(ctx)
    ph = ctx.new_page()
    ph.set_default_timeout(UI_TIMEOUT)
    return ph


def _join(ph, link, name):
    ph.goto(link)
    ph.get_by_label("Your first name").fill(name)
    ph.get_by_role("button", name="Join").click()
    ph.wait_for_selector("text=You are member")
    return int(re.search(r"You are member (\d+)", ph.inner_text("body")).group(1))


def test_five_rounds_a_leaver_a_late_joiner_forged_links_and_the_exported_log_replays(browser, classroom,
                                                                                       tmp_path):
    from sim.core.choices import DecisionLog
    from sim.runner import replay

    teacher_link, base = classroom
    contexts = []
    try:
        teacher = _teacher(browser, base, teacher_link, contexts)
        link = teacher.inner_text(".mc-link")
        ana, ben = _phone(browser, base, contexts), _phone(browser, base, contexts)
        ana_member, ben_member = _join(ana, link, "Ana"), _join(ben, link, "Ben")
        assert ana_member != ben_member
        seat = re.search(r"seat=([^&]+)", ben.url).group(1)

        # forged links: a made-up seat, the teacher's page with a wrong key or with a student's own token
        forger = _phone(browser, base, contexts)
        forger.goto(f"{base}?seat=AAAAAAAAAAAAAAAA")
        forger.wait_for_selector("text=This seat is not in the room")
        for key in ("wrong-key", seat):
            forger.goto(f"{base}?teacher={key}")
            forger.wait_for_selector("text=Join the class's community")
            assert forger.get_by_role("button", name="Start").count() == 0
            assert forger.get_by_role("button", name="End the game…").count() == 0

        teacher.get_by_role("button", name="Start").click()
        cleo = None
        sent = {}
        for day in range(1, 6):
            players = [("Ana", ana)] + ([("Ben", ben)] if day <= 2 else []) + ([("Cleo", cleo)] if cleo else [])
            for name, ph in players:
                ph.wait_for_selector("text=Send my choices")
                go = (day + len(name)) % 2 == 0
                ph.get_by_role("button", name="Go to the meeting" if go else "Stay away").click()
                ph.get_by_role("button", name="Send my choices").click()
                sent[(name, day)] = go
            if day == 2:  # Ben answered, then leaves: a bot plays his member from day 3
                _wait_until(lambda: f"Day {day} of" in teacher.inner_text("body"), timeout=30, what=f"day {day}")
                ben.wait_for_selector(f"text=day {day} of")
                ben.get_by_role("button", name="Leave the game").click()
                ben.get_by_role("button", name="Yes, leave").click()
                ben.wait_for_selector(f"text=You left the game on day {day}: the computer plays member "
                                      f"{ben_member} now")
                _wait_until(lambda: "1 student," in teacher.inner_text("body"), timeout=30, what="Ben gone")
            elif day == 3:  # Cleo joins late and takes over a member a bot was playing
                _wait_until(lambda: f"Day {day} of" in teacher.inner_text("body"), timeout=30, what=f"day {day}")
                cleo = _phone(browser, base, contexts)
                cleo_member = _join(cleo, link, "Cleo")
                assert cleo_member != ana_member
                _wait_until(lambda: "2 students" in teacher.inner_text("body"), timeout=30, what="Cleo seated")
            else:
                _wait_until(lambda: f"Day {day} of" in teacher.inner_text("body"), timeout=30, what=f"day {day}")
        for name, ph in (("Ana", ana), ("Cleo", cleo)):
            ph.wait_for_selector("text=day 5 of")
            said = "You went to the meeting." if sent[(name, 5)] else "You did not go to a meeting."
            assert said in ph.inner_text("body")

        teacher.get_by_role("button", name="End the game…").click()
        teacher.get_by_role("button", name="Yes, end").click()
        _wait_until(lambda: "· ended" in teacher.inner_text("body"), timeout=30, what="the game to end")
        teacher.get_by_role("button", name=re.compile("^Debrief")).click()
        teacher.wait_for_selector(".ma-table table")
        assert "replays the class's run exactly" in teacher.inner_text("body")
        with teacher.expect_download() as got:
            teacher.get_by_role("button", name=re.compile("^Decision log")).click()
        log_path = tmp_path / "class.jsonl"
        got.value.save_as(log_path)
        with teacher.expect_download() as got:
            teacher.get_by_role("button", name=re.compile("^Every decision and outcome")).click()
        csv_path = tmp_path / "class.csv"
        got.value.save_as(csv_path)

        log = DecisionLog.read(log_path)
        assert log.scenario.steps == 5
        mine = {(d.day, d.member): d for d in log.decisions}
        for (name, day), go in sent.items():
            member = {"Ana": ana_member, "Ben": ben_member, "Cleo": cleo_member}[name]
            assert mine[(day, member)].attend is go, (name, day)
        assert not any(d.member == ben_member and d.day > 2 for d in log.decisions)  # the bot played him
        rows = csv_path.read_text().splitlines()
        assert rows[0].startswith("day,name,member,answered")
        assert sum(1 for r in rows[1:] if ",Cleo," in r) == 2  # days 4 and 5
        # the log, replayed outside the server, gives the numbers the debrief showed
        again = replay(log).metrics_frame()
        table = teacher.inner_text(".ma-table")
        helpers = float(re.search(r"share helping \(last day\)\s+([0-9.]+)", table).group(1))
        assert helpers == pytest.approx(float(again["helpers"].iloc[-1]), abs=5e-3)  # shown with two decimals
        lapses = int(re.search(r"lapses \(all the days\)\s+([0-9]+)", table).group(1))
        assert lapses == int(again["lapses"].iloc[1:].sum())
        for ctx in contexts:
            assert ctx.outside == [], ctx.outside
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_room_that_crashes_does_not_touch_another(browser, tmp_path):
    """Each room is its own server process: killing one (as a crash would) leaves the other playing."""
    import signal

    first, second = _serve(tmp_path), None
    contexts = []
    try:
        second = _serve(tmp_path)
        teacher = _teacher(browser, second[2], second[1], contexts)
        code = teacher.inner_text(".mc-code").strip()
        os.killpg(first[0].pid, signal.SIGKILL)
        first[0].wait(timeout=30)
        ph = _phone(browser, second[2], contexts)
        _join(ph, teacher.inner_text(".mc-link"), "Ana")
        teacher.get_by_role("button", name="Start").click()
        ph.get_by_role("button", name="Send my choices").click()
        _wait_until(lambda: "Day 1 of" in teacher.inner_text("body"), timeout=30, what="the day to be played")
        assert teacher.inner_text(".mc-code-small").strip() == code  # the strip late joiners read
        for c in contexts:
            assert c.outside == [], c.outside
    finally:
        for c in contexts:
            c.close()
        for room in (first, second):
            if room is not None:
                stop_group(room[0])
