"""The smaller things a teacher or trainer met in the room (issue 27, item 5), each in a real Chromium:
a seed typed while a run plays, dismissable link notices, no empty curve panel without psychology, the
Info panel without test file paths, meetings explained under the lattice, nothing fetched from
outside the server (checked on every browser test's page), and Mesa's own SolaraViz example running.

The server, browser and page fixtures are those of tests/test_dashboard_browser.py (one server per module).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    START_TIMEOUT, UI_TIMEOUT, _day, _free_port, _missing, _open, _wait_until, browser, page, results_dir, server,
)

from .servers import stop_group, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def test_a_seed_typed_while_playing_is_kept_and_applied_at_reset(page, server):
    """Typing into the seed box while a run played was undone by the next frame: the seed was dropped."""
    _open(page, server, "?scenario=kropotkin")
    page.get_by_role("button", name="Play").click()
    _wait_until(lambda: _day(page) >= 3, what="the run to play")
    seed = page.locator(".ma-seed input")
    seed.click()
    seed.press("Control+a")
    seed.press_sequentially("1234", delay=100)  # as a person types, one key at a time, frames arriving between
    time.sleep(1.5)  # a dozen frames more
    assert page.get_by_role("button", name="Pause").is_visible()  # still playing
    assert seed.input_value() == "1234"
    seed.press("Enter")
    _wait_until(lambda: "seed 1234" in page.inner_text(".ma-pending"), what="the notice of the pending seed")
    time.sleep(1.0)
    assert seed.input_value() == "1234" and page.get_by_role("button", name="Pause").is_visible()
    note = page.inner_text(".ma-pending")
    assert "seed 1234" in note and "seed 42" in note and "Reset" in note
    page.get_by_role("button", name="Pause").click()
    page.locator(".ma-reset").click()
    _wait_until(lambda: "seed=1234" in (page.get_attribute("a.ma-link", "href") or ""), what="seed 1234 applied")
    _wait_until(lambda: _day(page) == 0, timeout=10, what="day 0 after Reset")
    time.sleep(1.0)  # no frame of the old run lands afterwards
    assert _day(page) == 0 and page.inner_text(".ma-pending") == ""
    assert page.errors == []


def test_link_notices_can_be_dismissed_one_by_one(page, server):
    _open(page, server, "?scenario=kropotkin&game.T=abc&bogus=1")
    notices = page.locator(".ma-link-notice")
    _wait_until(lambda: notices.count() == 2, what="two notices")

    def shown() -> list[str]:
        return [n.inner_text() for n in notices.all() if n.is_visible()]

    assert len(shown()) == 2 and "game.T" in shown()[0]
    notices.nth(0).get_by_role("button", name="Close").click()
    _wait_until(lambda: len(shown()) == 1, what="the first notice to close")
    assert "bogus" in shown()[0]
    page.locator(".ma-step").click()  # the page goes on; the closed notice stays closed
    _wait_until(lambda: _day(page) == 1, what="a step")
    time.sleep(0.5)
    assert len(shown()) == 1 and "bogus" in shown()[0]
    assert page.errors == []


_ROWS = """(sel) => new Promise(done => {
    const img = document.querySelector(sel);
    const go = () => {
        const W = img.naturalWidth, H = img.naturalHeight;
        const c = document.createElement('canvas'); c.width = W; c.height = H;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, W, H).data;
        // plot frames: rows where a long horizontal run of the frames' grey (120, 120, 120) starts or ends a box
        let rows = [];
        for (let y = 0; y < H; y++) { let run = 0, best = 0;
            for (let x = 0; x < W; x++) { const i = 4 * (y * W + x);
                run = (Math.abs(d[i] - 120) + Math.abs(d[i + 1] - 120) + Math.abs(d[i + 2] - 120) <= 12) ? run + 1 : 0;
                best = Math.max(best, run); }
            if (best > W / 2) rows.push(y); }
        done({rows: rows, height: H});
    };
    if (img.complete) go(); else img.onload = go;
})"""


def test_without_psychology_the_curves_have_no_empty_panel(page, server):
    """nowak-may-1992 (psychology and turnover off) drew a second, empty, unlabelled panel."""
    _open(page, server, "?scenario=nowak-may-1992")
    page.wait_for_selector("img.ma-curves")
    frames = page.evaluate(_ROWS, "img.ma-curves")["rows"]
    assert len(frames) == 2, frames  # one box: its top and bottom edges
    assert frames[1] - frames[0] > 0.6 * page.evaluate(_ROWS, "img.ma-curves")["height"]
    _open(page, server, "?scenario=kropotkin")  # psychology on: shares above, totals per 100 members below
    page.wait_for_selector("img.ma-curves")
    assert len(page.evaluate(_ROWS, "img.ma-curves")["rows"]) == 4
    assert page.errors == []


def test_the_info_panel_shows_no_test_file_paths(page, server):
    for name in ("kropotkin", "fermi-lattice"):
        _open(page, server, f"?scenario={name}")
        page.locator(".v-expansion-panel-header", has_text="Info: what it is").click()
        page.wait_for_selector(".ma-info-text h2")
        text = page.inner_text(".ma-info-text")
        assert "Things to notice" in text
        assert "tests/" not in text and ".py" not in text and "::" not in text
        assert "a test checks this" in text or "a test compares" in text
    assert page.errors == []


def test_the_lattice_legend_explains_meetings(page, server):
    from dashboards import support as ds
    from dashboards import texts

    _open(page, server, "?scenario=kropotkin")
    sc = ds.build_scenario("kropotkin")
    legend = page.inner_text(".ma-legend")
    assert "Meetings" in legend and f"each run of {sc.meetings.size} meets together" in legend
    assert f"a row has {sc.network.width}" in legend and "horizontal streaks" in legend
    _open(page, server, "?scenario=kropotkin&network.width=20&network.height=20")
    assert "a row has 20" in page.inner_text(".ma-legend")
    small = sc.model_copy(update={"meetings": sc.meetings.model_copy(update={"size": 10})})
    assert "each run of 10 meets together" in texts.view_legend(small)  # the sentence follows the setting
    _open(page, server, "?scenario=nowak-may-1992")  # no meetings without psychology
    assert "Meetings" not in page.inner_text(".ma-legend")
    assert page.errors == []


def test_a_request_beyond_the_server_is_caught(page, server):
    """Every browser test's page reaches only the server (``offline_context`` in test_dashboard_browser.py):
    Explore, Compare with its trial and handout, the Lesson and the rest are checked on the views those tests
    open, instead of running them all again here. This shows the guard catches a request to another host."""
    _open(page, server, "?scenario=kropotkin")
    page.evaluate("fetch('https://example.invalid/katex.min.css').catch(() => null)")
    _wait_until(lambda: page.context.outside != [], timeout=10, what="the outside request to be recorded")
    assert page.context.outside == ["https://example.invalid/katex.min.css"]
    page.context.outside.clear()  # caught, as it should be: the fixture's own check sees nothing left over


@pytest.fixture(scope="module")
def mesa_server(results_dir):
    solara = Path(sys.executable).parent / "solara"
    if not solara.exists():
        _missing("solara is not installed")
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    log_path = results_dir / "mesa_server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(solara), "run", str(ROOT / "dashboards" / "mesa_viz.py"), "--host", "127.0.0.1",
                             "--port", str(port), "--production", "--no-open"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, url, log_path, START_TIMEOUT, what="solara")
        yield url, log_path
    finally:
        stop_group(proc)
        log.close()


def test_the_mesa_solaraviz_example_runs_steps_and_resets(page, mesa_server):
    """dashboards/mesa_viz.py crashed ("Missing required model parameter: flat"); now it draws the lattice,
    steps, and Reset rebuilds the model from its parameters (a different seed, the same scenario)."""
    url, log_path = mesa_server
    page.goto(url)
    page.wait_for_selector("text=Step: 0", timeout=120_000)
    page.wait_for_selector("text=Model Parameters")
    for _ in range(2):
        page.get_by_role("button", name="Step").click()
    page.wait_for_selector("text=Step: 2", timeout=60_000)
    seed = page.locator(".v-input", has_text="Seed").locator(".v-slider__track-container")
    box = seed.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)  # seed about 50
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector("text=Step: 0", timeout=60_000)
    time.sleep(1.0)
    log = log_path.read_text(errors="replace")
    assert "Missing required model parameter" not in log and "Traceback" not in log, log[-2000:]
    assert page.errors == []
