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


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """``mutualaid classroom`` serving a 40-member baseline; yields (the teacher's link, the server's base)."""
    if not (Path(sys.executable).parent / "solara").exists():
        _missing("solara is not installed")
    port = _free_port()
    logs = tmp_path_factory.mktemp("classroom")
    err_path = logs / "stderr.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mutualaid"), "classroom", "baseline", "--set",
                             "population.size=40", "--seed", "7", "--host", "127.0.0.1", "--port", str(port),
                             "--round-seconds", "60"], cwd=logs, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(err_path, "wb"), start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, base, err_path, START_TIMEOUT, what="the classroom")
        first = err_path.read_text().splitlines()[0]
        m = re.search(r"(http://\S+\?teacher=\S+)", first)
        assert m, first
        yield m.group(1), base
    finally:
        stop_group(proc)


def _font_px(page, selector):
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_three_phones_and_a_projector_play_a_round_and_read_the_debrief(browser, classroom):
    teacher_link, base = classroom
    contexts = []
    try:
        tctx = offline_context(browser, base, viewport={"width": 1024, "height": 768})
        contexts.append(tctx)
        teacher = tctx.new_page()
        teacher.set_default_timeout(UI_TIMEOUT)
        teacher.goto(teacher_link)
        teacher.wait_for_selector(".mc-code")
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
        # everyone has answered: the day is played without waiting for the 60 s round
        _wait_until(lambda: "Day 1 of" in teacher.inner_text("body"), timeout=30, what="the day to be played")
        _wait_until(lambda: "You did not go to a meeting." in phones[0].inner_text("body"), timeout=30,
                    what="Ana to read that she stayed away")
        assert "You went to the meeting." in phones[1].inner_text("body")

        teacher.get_by_role("button", name="End").click()
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
