"""The dashboard in a classroom, in a real Chromium: the bugs a presenter hit (each test failed before its
fix), presentation mode at 1024 x 768, movies and hi-res exports, links that reproduce a run, the Info
panel and the ODD view, inspecting a member, the delivered rate and the "what just happened" line.

The server, browser and page fixtures are those of tests/test_dashboard_browser.py (one server per module).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    ARGS, CHROMIUM, UI_TIMEOUT, _day, _free_port, _open, _open_compare, _open_results, _wait_until, browser, page,
    results_dir, server,
)

ROOT = Path(__file__).resolve().parent.parent


def _panel(page, title):
    """The collapsible section whose header starts with ``title``."""
    head = page.locator(".v-expansion-panel-header", has_text=re.compile("^" + re.escape(title)))
    return page.locator(".ma-panel").filter(has=head).first


def _is_open(panel) -> bool:
    return "v-expansion-panel--active" in (panel.locator(".v-expansion-panel").first.get_attribute("class") or "")


def _click_slider(page, container, label, fraction):
    slider = container.locator(".v-input", has_text=label).locator(".v-slider")
    slider.wait_for(state="visible")
    slider.scroll_into_view_if_needed()
    # a panel's opening animation moves the slider's box, longer on a loaded machine: wait until two readings
    # 0.3 s apart agree (the fixed 0.6 s wait clicked beside the slider under CI load)
    box, deadline = slider.bounding_box(), time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.3)
        again = slider.bounding_box()
        if again == box and box and box["width"] > 0:
            break
        box = again
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def _readout(page) -> str:
    return page.inner_text(".ma-readout")


# ----------------------------------------------------------------------------- the bugs


def test_a_panel_stays_open_while_its_sliders_move(page, server):
    """Walk-through step 4 ("move T between 1.7 and 2.1"): the panel used to snap shut at the first nudge."""
    _open(page, server, "?scenario=kropotkin")
    game = _panel(page, "The game (benefit and cost)")
    evo = _panel(page, "Evolution")
    game.locator(".v-expansion-panel-header").click()
    _wait_until(lambda: _is_open(game), what="the game panel to open")
    assert not _is_open(evo)
    label0 = game.locator(".v-input", has_text="T: compete meets help").inner_text()
    _click_slider(page, game, "T: compete meets help", 0.75)
    page.wait_for_selector("text=Changed settings apply on Reset")
    time.sleep(1.0)
    assert _is_open(game) and not _is_open(evo)
    label1 = game.locator(".v-input", has_text="T: compete meets help").inner_text()
    assert label1 != label0
    _click_slider(page, game, "T: compete meets help", 0.8)  # the second nudge
    _wait_until(lambda: game.locator(".v-input", has_text="T: compete meets help").inner_text() != label1,
                what="the slider to move again")
    assert _is_open(game) and not _is_open(evo)
    # the Evolution panel too: open it beside the game panel, move its noise slider twice
    evo.locator(".v-expansion-panel-header").click()
    _wait_until(lambda: _is_open(evo), what="the evolution panel to open")
    label0 = evo.locator(".v-input", has_text="Noise K").inner_text()
    _click_slider(page, evo, "Noise K", 0.3)
    _wait_until(lambda: evo.locator(".v-input", has_text="Noise K").inner_text() != label0,
                what="the noise slider to move")
    time.sleep(1.0)
    assert _is_open(evo) and _is_open(game)
    label1 = evo.locator(".v-input", has_text="Noise K").inner_text()
    _click_slider(page, evo, "Noise K", 0.6)
    _wait_until(lambda: evo.locator(".v-input", has_text="Noise K").inner_text() != label1,
                what="the noise slider to move again")
    assert _is_open(evo) and _is_open(game)
    assert page.errors == []


def test_results_offers_only_swept_parameters_as_axes(page, server):
    _open_results(page, server)
    assert "swept: game.T, network.degree" in page.inner_text(".ma-results-info")
    against = page.locator(".v-select", has_text="Against")
    assert "game.T" in against.inner_text()
    against.click()
    # the menu opens with an animation: read its options once they are there (a CI run read an empty list)
    _wait_until(lambda: page.get_by_role("option").count() > 0, what="the axis menu to open")
    options = [o.inner_text() for o in page.get_by_role("option").all()]
    assert "run_id" not in options and "point" not in options and "game.T" in options
    assert page.errors == []


def test_a_bad_seed_is_refused_not_silently_replaced(page, server):
    _open(page, server)
    seed = page.locator(".ma-seed input")
    for bad in ("abc", "3.7", "-5"):
        seed.fill(bad)
        seed.press("Enter")
        # wait for the error about *this* value: the previous value's error is still on the page, and typing
        # the next value before the server has answered this one raced with its echo (a CI run kept "-5")
        _wait_until(lambda: page.locator(".ma-seed-error").count() == 1
                    and bad in page.inner_text(".ma-seed-error"), what=f"the error for seed {bad}")
        assert "Reset keeps the run's seed" in page.inner_text(".ma-seed-error")
        assert page.locator(".ma-reset").is_disabled()
    seed.fill("7")
    seed.press("Enter")
    _wait_until(lambda: page.locator(".ma-seed-error").count() == 0, what="the seed error to clear")
    page.wait_for_selector("text=Changed settings apply on Reset")
    page.locator(".ma-reset").click()
    _wait_until(lambda: "seed=7" in (page.get_attribute("a.ma-link", "href") or ""), what="the run to use seed 7")
    assert page.errors == []


def test_stopping_the_dashboard_by_its_pid_frees_the_port():
    """`kill PID` of `mutualaid dashboard` used to leave its solara child serving the port."""
    exe = Path(sys.executable).parent / "mutualaid"
    if not exe.exists():
        pytest.skip("the mutualaid command is not installed in this environment")
    port = _free_port()
    proc = subprocess.Popen([str(exe), "dashboard", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def serving() -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        _wait_until(serving, timeout=120, what="the dashboard to serve")
        os.kill(proc.pid, signal.SIGTERM)
        _wait_until(lambda: not serving(), timeout=30, what="the port to be free after kill PID")
        proc.wait(timeout=30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_rates_per_100_members_and_no_stress_without_psychology(page, server):
    _open(page, server)
    assert "per 100 members" in _readout(page)
    page.wait_for_selector("img.ma-curves")
    assert page.evaluate(_PIXELS, "img.ma-curves")["purple"] > 20  # mean stress: its legend and day-0 dot
    _open(page, server, "?scenario=nowak-may-1992")
    text = _readout(page)
    assert "psychology off" in text and "stress" not in text
    page.wait_for_selector("img.ma-curves")
    assert page.evaluate(_PIXELS, "img.ma-curves")["purple"] == 0  # no flat stress line without psychology
    assert page.errors == []


def test_compare_names_the_parameter_b_changes(page, server):
    _open(page, server)
    page.get_by_role("tab", name="Compare").click()
    page.locator(".ma-b-param").click()
    page.get_by_role("option", name="Check-in: chance a helper neighbour reaches out").click()
    page.wait_for_selector("text=B: Check-in: chance a helper neighbour reaches out")
    assert "checkins.prob" not in page.inner_text("body")
    assert page.errors == []


# ----------------------------------------------------------------------------- presentation mode


def _inside(box, w, h) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= w + 1 and box["y"] + box["height"] <= h + 1


def _overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"])


def test_presentation_mode_fills_a_1024_by_768_projector(browser, server):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    try:
        page.goto(server + "?scenario=kropotkin&present=1")
        page.wait_for_selector(".ma-present img.ma-curves")
        time.sleep(1.0)
        pic = page.locator("img.ma-picture").bounding_box()
        curves = page.locator("img.ma-curves").bounding_box()
        for box in (pic, curves):
            assert _inside(box, 1024, 768), box
        assert pic["width"] >= 400 and curves["width"] >= 400  # the view and the curves fill the screen
        size = float(page.eval_on_selector(".ma-day", "e => parseFloat(getComputedStyle(e).fontSize)"))
        assert size >= 28
        assert not page.locator(".ma-seed input").is_visible()  # controls tucked away
        assert page.locator(".ma-play").is_visible()
        badge = page.locator("a[href*='solara.dev']")
        if badge.count():
            b = badge.first.bounding_box()
            if b:
                assert not _overlap(b, pic) and not _overlap(b, curves)
        # the toggle turns it off and on
        page.locator(".ma-present-toggle input").click(force=True)
        _wait_until(lambda: page.locator(".ma-present").count() == 0, what="presentation mode off")
        assert page.locator(".ma-seed input").is_visible()
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- keep what you show


def _download(page, label, tmp_path, name):
    with page.expect_download(timeout=240_000) as dl:
        page.get_by_text(label).click(timeout=120_000)
    path = tmp_path / name
    dl.value.save_as(path)
    return path


def test_movies_and_hi_res_pictures_download(page, server, tmp_path):
    import imageio.v3 as iio
    from PIL import Image

    _open(page, server, "?scenario=kropotkin&network.width=20&network.height=20&per_frame=5")
    for _ in range(4):
        page.locator(".ma-step").click()
    _wait_until(lambda: _day(page) == 20, what="day 20")
    gif = _download(page, "Movie (GIF)", tmp_path, "run.gif")
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] >= 3 and frames.shape[2] >= 1000  # day 0 ... day 20, slide-sized
    mp4 = _download(page, "Movie (MP4)", tmp_path, "run.mp4")
    assert mp4.read_bytes()[4:8] == b"ftyp"
    assert iio.imread(mp4, index=None, plugin="FFMPEG" if False else None).shape[0] >= 3
    png = _download(page, "Curves (PNG, 1600 px)", tmp_path, "curves.png")
    with Image.open(png) as im:
        assert im.size[0] >= 1600
    assert page.errors == []


# ----------------------------------------------------------------------------- links


def test_compare_refuses_a_bad_seed_and_downloads_slide_sized_pictures(page, server, tmp_path):
    """The Compare tab's seed: a bad value is named and the comparison keeps its seed (there is no Reset
    there); its curves and gap download as titled 1600-pixel PNGs."""
    from PIL import Image

    _open_compare(page, server)
    head = page.inner_text(".ma-headline")
    seed = page.locator(".ma-compare-seed input")
    seed.fill("abc")
    seed.press("Enter")
    _wait_until(lambda: page.locator(".ma-compare-seed-error").count() == 1, what="the seed's error")
    assert "the comparison keeps seed 42" in page.inner_text(".ma-compare-seed-error")
    assert page.inner_text(".ma-headline") == head and page.locator(".ma-compare-status").count() == 0
    for label, name in (("Curves (PNG, 1600 px)", "compare.png"), ("Gap (PNG, 1600 px)", "gap.png")):
        button = [b for b in page.get_by_text(label).all() if b.is_visible()][0]
        with page.expect_download(timeout=240_000) as dl:
            button.click(timeout=120_000)
        path = tmp_path / name
        dl.value.save_as(path)
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size[0] >= 1600
    assert page.errors == []


def test_a_link_reproduces_the_run_exactly(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read",
                                                                                       "clipboard-write"])
    try:
        a = ctx.new_page()
        a.set_default_timeout(UI_TIMEOUT)
        a.errors = []
        a.on("pageerror", lambda e: a.errors.append(str(e)))
        _open(a, server, "?scenario=kropotkin")
        a.locator("label", has_text="Check-ins").first.click()
        seed = a.locator(".ma-seed input")
        seed.fill("7")
        seed.press("Enter")
        a.wait_for_selector("text=Changed settings apply on Reset")
        a.locator(".ma-reset").click()
        _wait_until(lambda: "seed=7" in (a.get_attribute("a.ma-link", "href") or ""), what="seed 7 applied")
        for _ in range(3):
            a.locator(".ma-step").click()
        _wait_until(lambda: _day(a) == 3, what="day 3")
        href = a.eval_on_selector("a.ma-link", "e => e.href")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(href).query))
        assert q["scenario"] == "kropotkin" and q["seed"] == "7" and "checkins.enabled" in q
        a.locator(".ma-copy-link").click()
        _wait_until(lambda: a.inner_text(".ma-copy-link") == "Link copied", what="the copy button")
        assert a.evaluate("navigator.clipboard.readText()") == href
        expected = _readout(a)
        b = ctx.new_page()
        b.set_default_timeout(UI_TIMEOUT)
        b.goto(href)
        b.wait_for_selector(".ma-day")
        assert b.locator(".ma-link-notice").count() == 0
        for _ in range(3):
            b.locator(".ma-step").click()
        _wait_until(lambda: _day(b) == 3, what="day 3 on the link's page")
        assert _readout(b) == expected
        assert b.eval_on_selector("a.ma-link", "e => e.href") == href
        assert a.errors == []
    finally:
        ctx.close()


def test_a_link_with_bad_values_shows_notices_and_still_works(page, server):
    _open(page, server, "?scenario=kropotkin&game.T=abc&seed=-5&bogus=1&network.width=9999")
    notices = page.locator(".ma-link-notice")
    _wait_until(lambda: notices.count() == 4, what="four notices")
    text = " | ".join(notices.all_inner_texts())
    assert "game.T" in text and "seed" in text and "bogus" in text and "network.width" in text
    assert "900 members" in page.inner_text("body")  # kropotkin as shipped
    page.locator(".ma-step").click()
    _wait_until(lambda: _day(page) == 1, what="a step")
    assert page.errors == []


# ----------------------------------------------------------------------------- Info and ODD


def test_the_info_panel_explains_the_scenario_and_links_to_the_odd(page, server):
    _open(page, server, "?scenario=isolation")
    _panel(page, "Info: what it is").locator(".v-expansion-panel-header").click()
    page.wait_for_selector(".ma-info-text h2")
    text = page.inner_text(".ma-info-text")
    for title in ("What it is", "How it works", "Things to notice", "Things to try", "How to cite"):
        assert title in text
    href = page.get_attribute(".ma-info-text a[href^='?view=odd']", "href")
    anchor = urllib.parse.unquote(href.split("#", 1)[1])
    page.goto(server + href)
    page.wait_for_selector(".ma-odd h2")
    assert page.locator(f"[id='{anchor}']").count() == 1
    assert page.errors == []


# ----------------------------------------------------------------------------- inspecting a member


def test_clicking_a_member_inspects_it_and_marks_its_ties(page, server):
    _open(page, server, "?scenario=kropotkin")  # a 30 x 30 lattice drawn 480 px wide: 16 px per member
    img = page.locator("img.ma-picture")
    before = img.get_attribute("src")
    img.click(position={"x": 16 * 3 + 8, "y": 16 * 2 + 8})
    page.wait_for_selector(".ma-member")
    card = page.inner_text(".ma-member")
    assert "slot 63" in card and "stress" in card and "sponsor" in card and "ties:" in card
    page.wait_for_selector("img.ma-member-history")
    _wait_until(lambda: img.get_attribute("src") != before, what="the member to be marked")
    page.locator(".ma-step").click()
    _wait_until(lambda: _day(page) == 1, what="a step")
    assert "slot 63" in page.inner_text(".ma-member")
    page.get_by_role("button", name="Stop inspecting").click()
    _wait_until(lambda: page.locator(".ma-member").count() == 0, what="the card to close")
    assert page.errors == []


def test_clicking_a_node_of_a_network_inspects_that_member(page, server):
    """The network view: a click on a node's dot opens that member's card and marks its ties."""
    import numpy as np

    from sim.core.networks import build_network
    from sim.core.rng import network_seed
    from sim.core.scenarios import load_scenario
    from sim.draw import network_positions, node_xy

    _open(page, server)  # baseline: a small-world network of 500 members
    sc = load_scenario("baseline")
    graph = build_network(sc.network, sc.population.size, network_seed(sc.seed))
    xy = node_xy(network_positions(graph, sc.seed), 520)  # the page's picture is 520 px, its layout the same
    gap = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) + np.eye(len(xy)) * 1e9
    target = int(np.argmax(gap.min(axis=1)))  # the node farthest from any other: a click can only mean it
    img = page.locator("img.ma-picture")
    box = img.bounding_box()
    before = img.get_attribute("src")
    img.click(position={"x": float(xy[target, 0]) * box["width"] / 520,
                        "y": float(xy[target, 1]) * box["width"] / 520})
    page.wait_for_selector(".ma-member")
    card = page.inner_text(".ma-member")
    assert f"slot {target}" in card and "ties:" in card
    _wait_until(lambda: img.get_attribute("src") != before, what="the member and its ties to be marked")
    assert page.errors == []


# ----------------------------------------------------------------------------- speed and what happened


def test_the_page_shows_the_delivered_rate_and_what_just_happened(page, server):
    _open(page, server, "?scenario=isolation&per_frame=2&fps=10")
    assert "requested 20 days/s" in page.inner_text(".ma-rate")
    page.get_by_role("button", name="Play").click()
    _wait_until(lambda: "days/s" in page.inner_text(".ma-rate").split("delivered", 1)[1], what="a delivered rate")
    _wait_until(lambda: _day(page) >= 62, timeout=120, what="day 62")
    rate = page.inner_text(".ma-rate").split("delivered", 1)[1]
    page.get_by_role("button", name="Pause").click()
    assert float(rate.split()[0]) > 0 and "frames/s" in rate
    assert _day(page) < 60 + 30  # the line speaks of the last 30 days
    _wait_until(lambda: "Day 60: meetings close" in page.inner_text(".ma-happening"), what="the closure line")
    assert page.errors == []


def test_the_line_says_when_helpers_fall_below_a_third(page, server):
    """struggle: newcomers bring the helpers back to about a third of the community by mid-year, and they
    keep dipping below it (day 182 with the shipped seed); the line under the view says so when they do."""
    _open(page, server, "?scenario=struggle&per_frame=1&fps=10")
    page.get_by_role("button", name="Play").click()
    _wait_until(lambda: "helpers fell below a third" in page.inner_text(".ma-happening"), timeout=120,
                what="the helpers line")
    page.get_by_role("button", name="Pause").click()
    assert page.errors == []


_PIXELS = """(sel) => new Promise(done => {
    const img = document.querySelector(sel);
    const go = () => {
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        // pixels of a colour; with xmax, only those left of x = xmax (the plot's first day; legends start further right)
        const count = (r, gg, b, tol, xmax) => { let n = 0; for (let i = 0; i < d.length; i += 4) {
            if (xmax !== undefined && (i / 4) % c.width > xmax) continue;
            if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - gg) + Math.abs(d[i + 2] - b) <= tol) n++; } return n; };
        done({blue: count(31, 119, 180, 30), blue_day0: count(31, 119, 180, 30, 52),
              purple: count(148, 103, 189, 30), shade: count(226, 226, 240, 0), width: c.width});
    };
    if (img.complete) go(); else img.onload = go;
})"""


def test_the_curves_on_the_page_start_on_day_zero_and_shade_the_closure(page, server):
    """The curves were empty on day 0 and closures were not shaded."""
    _open(page, server, "?scenario=isolation")
    page.wait_for_selector("img.ma-curves")
    px = page.evaluate(_PIXELS, "img.ma-curves")
    assert px["blue_day0"] > 20  # the helpers' day-0 dot at the plot's left edge (the legend is further right)
    assert px["shade"] > 1000  # days 60 to 150 shaded, before they come
    _open(page, server, "?scenario=baseline&isolation.enabled=false")
    page.wait_for_selector("img.ma-curves")
    assert page.evaluate(_PIXELS, "img.ma-curves")["shade"] == 0
    assert page.errors == []
