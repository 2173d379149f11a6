"""The dashboard on a projector, in a real Chromium at 1024 x 768 and 1600 x 900 (issue 27, item 1).

What a teacher needs from the page with a mouse, measured from the page itself: every sidebar slider has a
track of at least 120 px and a click at either end of it sets the value clicked; labels never run over each
other; nothing is wider than its column; the curves are shown at the size they are drawn; in presentation
mode every piece of text is at least 18 px tall (the curves' digits measured in their pixels) and the
"Watch ..." prompt stays on the screen.

The server, browser and fixtures are those of tests/test_dashboard_browser.py (one server per module).
"""

from __future__ import annotations

import re
import time

import pytest

from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    UI_TIMEOUT, _open, _wait_until, browser, results_dir, server,
)

SIZES = [(1024, 768), (1600, 900)]
MIN_TRACK = 120  # px: a track a mouse can use
MIN_TEXT = 18  # px: text read from the back of a room


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def screen(request, browser, server):
    w, h = request.param
    ctx = browser.new_context(viewport={"width": w, "height": h})
    pg = ctx.new_page()
    pg.set_default_timeout(UI_TIMEOUT)
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.size = (w, h)
    yield pg
    ctx.close()


def _open_all_control_panels(page):
    """Every collapsible section of the sidebar opened (the first column of Explore)."""
    side = page.locator(".col", has=page.locator(".ma-seed")).last  # the innermost column holding the seed
    heads = side.locator(".v-expansion-panel-header")
    for i in range(heads.count()):
        head = heads.nth(i)
        panel = head.locator("xpath=..")
        if "v-expansion-panel--active" not in (panel.get_attribute("class") or ""):
            head.scroll_into_view_if_needed()
            head.click()
            _wait_until(lambda: "v-expansion-panel--active" in (panel.get_attribute("class") or ""),
                        what="a panel to open")
    time.sleep(0.8)  # the last opening animation
    return side


_SLIDERS = """(root) => Array.from(root.querySelectorAll('.v-input__slider')).map(inp => {
    const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; };
    const lab = inp.querySelector('.v-label'), track = inp.querySelector('.v-slider__track-container');
    const thumb = inp.querySelector('[role=slider]');
    return {label: lab.innerText, labelBox: box(lab), trackBox: box(track), clipped: lab.scrollWidth > lab.clientWidth + 1
            || lab.scrollHeight > lab.clientHeight + 1, min: +thumb.getAttribute('aria-valuemin'),
            max: +thumb.getAttribute('aria-valuemax')};
})"""


def _overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"])


def _number(label: str) -> float:
    """The value a slider's label shows ('Partner choice: ...: 0.03', 'Speed: 10 frames per second')."""
    m = re.search(r":\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)[^:]*$", label)
    assert m, label
    return float(m.group(1))


def test_every_sidebar_slider_is_usable_with_a_mouse(screen, server):
    """Tracks >= 120 px, labels whole and apart, and a click at each end of a track sets that end's value
    (the Partner choice slider had a 0 px track: a click at its left end set its maximum)."""
    page = screen
    _open(page, server, "?scenario=kropotkin")
    side = _open_all_control_panels(page)
    sliders = side.evaluate(_SLIDERS)
    assert len(sliders) >= 20  # speed, days per frame and the scenario's parameters
    for s in sliders:
        assert s["trackBox"]["width"] >= MIN_TRACK, (page.size, s["label"], s["trackBox"])
        assert not s["clipped"], (page.size, s["label"])
    boxes = [(s["label"], "label", s["labelBox"]) for s in sliders] + [(s["label"], "track", s["trackBox"])
                                                                       for s in sliders]
    for i, (na, ka, a) in enumerate(boxes):
        for nb, kb, b in boxes[i + 1:]:
            if na != nb:
                assert not _overlap(a, b), (page.size, na, ka, nb, kb)
    from dashboards import support as ds

    steps = {spec["label"]: spec["step"] for spec in ds.model_params(ds.build_scenario("kropotkin")).values()
             if "step" in spec}
    for k in range(len(sliders)):
        inp = side.locator(".v-input__slider").nth(k)
        name = sliders[k]["label"].rsplit(":", 1)[0]
        lo, hi = sliders[k]["min"], sliders[k]["max"]
        for end, want in ((0, lo), (1, hi)):
            inp.scroll_into_view_if_needed()
            track = inp.locator(".v-slider__track-container").bounding_box()
            x = track["x"] + (1 if end == 0 else track["width"] - 1)
            page.mouse.click(x, track["y"] + track["height"] / 2)
            # one pixel from the end: within a pixel and a half's worth of the range (or a step) of that end
            tol = max((hi - lo) * 1.5 / track["width"], steps.get(name, 1)) + 1e-9

            def shown():
                return _number(inp.locator(".v-label").inner_text())

            _wait_until(lambda: abs(shown() - want) <= max(tol, abs(want) * 1e-9), timeout=20,
                        what=f"{name} at {page.size}: a click at its {'left' if end == 0 else 'right'} end to set "
                             f"{want} (shows {inp.locator('.v-label').inner_text()})")
    assert page.errors == []


_OVERFLOW = """() => { const out = [];
  for (const e of document.querySelectorAll('.ma-root *')) {
    const cs = getComputedStyle(e);
    if (!e.offsetParent || cs.position === 'absolute' || cs.position === 'fixed' || cs.visibility === 'hidden') continue;
    if (e.classList.contains('row')) continue;  // a grid row's negative margins are its columns' padding
    const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) continue;
    const col = e.parentElement.closest('.col, .ma-root, .v-card, .ma-live-pic, .ma-live-side');
    if (!col) continue; const c = col.getBoundingClientRect();
    if (r.right > c.right + 1 || r.left < c.left - 1)
      out.push([e.tagName, String(e.className).slice(0, 60), (e.innerText || '').slice(0, 40), Math.round(r.left),
                Math.round(r.right), Math.round(c.left), Math.round(c.right)]);
  }
  if (document.documentElement.scrollWidth > window.innerWidth) out.push(['page', 'scrolls sideways']);
  return out; }"""

_NATURAL = "e => [e.naturalWidth, e.naturalHeight, e.getBoundingClientRect().width, e.getBoundingClientRect().height]"


@pytest.mark.parametrize("query", ["?scenario=kropotkin", "?scenario=baseline", "?scenario=kropotkin&present=1"])
def test_nothing_is_wider_than_its_column_and_curves_are_shown_as_drawn(screen, server, query):
    page = screen
    _open(page, server, query)
    page.wait_for_selector("img.ma-curves")
    if "present" not in query:
        _open_all_control_panels(page)
    time.sleep(0.5)
    assert page.evaluate(_OVERFLOW) == [], page.size
    nw, nh, w, h = page.eval_on_selector("img.ma-curves", _NATURAL)
    assert abs(w - nw) <= 1 and abs(h - nh) <= 1, (page.size, nw, nh, w, h)  # no scaling: text as drawn
    pic = page.locator("img.ma-picture").bounding_box()
    assert pic["x"] >= 0 and pic["x"] + pic["width"] <= page.size[0]
    assert page.errors == []


def test_compare_fits_its_columns_at_1024(browser, server):
    """The presets, the controls and the finished comparison's pictures and downloads inside their columns
    at 1024 x 768 (the fourth preset and the download row ran past the edge)."""
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    try:
        _open(page, server)
        page.get_by_role("tab", name="Compare").click()
        page.wait_for_selector(".ma-headline", timeout=240_000)
        _wait_until(lambda: page.locator(".ma-compare-status").count() == 0, timeout=240, what="compare to finish")
        from dashboards import support as ds

        assert page.locator(".ma-presets .v-btn").count() == len(ds.PRESETS) == 7
        assert page.evaluate(_OVERFLOW) == []
        # the sentence under the headline agrees with the headline's own numbers
        head = page.inner_text(".ma-headline")
        est, lo, hi = (float(x) for x in re.findall(r"[+-]?\d+\.\d", head)[:3])
        finding = page.inner_text(".ma-finding")
        assert f"{abs(est):.1f}" in finding
        if lo > 0:
            assert "more relapses" in finding and "show an increase" in finding
        elif hi < 0:
            assert "fewer relapses" in finding and "show a decrease" in finding
        else:
            assert "includes zero" in finding
        for sel in ("img.ma-compare", "img.ma-gap"):
            nw, nh, w, h = page.eval_on_selector(sel, _NATURAL)
            assert w <= 1024 - 24 and abs(w - nw) <= 1, (sel, nw, w)
        # a change of settings clears the headline at once: no sentence about the previous run stays up
        old = page.inner_text(".ma-headline")
        page.get_by_label("B: Sponsorship").click(force=True)
        _wait_until(lambda: page.locator(".ma-compare-stale").count() == 1 or (
            page.locator(".ma-headline").count() == 1 and page.inner_text(".ma-headline") != old), timeout=20,
            what="the headline cleared or replaced after B changed")
        if page.locator(".ma-headline").count():
            assert page.inner_text(".ma-headline") != old
    finally:
        ctx.close()


_INK = """(sel) => new Promise(done => {
    const img = document.querySelector(sel);
    const go = () => {
        const W = img.naturalWidth, H = img.naturalHeight;
        const c = document.createElement('canvas'); c.width = W; c.height = H;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, W, H).data;
        const at = (x, y) => { const i = 4 * (y * W + x); return [d[i], d[i + 1], d[i + 2]]; };
        // the plots' left frame: the first column with a long vertical run of the frame's grey
        let frame = -1;
        for (let x = 0; x < W / 2 && frame < 0; x++) { let run = 0;
            for (let y = 0; y < H; y++) { const [r, gg, b] = at(x, y);
                run = (Math.abs(r - 120) + Math.abs(gg - 120) + Math.abs(b - 120) <= 12) ? run + 1 : 0;
                if (run >= 40) { frame = x; break; } } }
        // rows with dark ink left of the frame (the tick labels): each run of such rows is a label's digits
        // (the median run: two labels that touch, as the lowest tick and the day axis's 0, count as one run)
        const runs = []; let run = 0;
        for (let y = 0; y <= H; y++) { let ink = false;
            if (y < H) for (let x = 0; x < frame - 2; x++) { const [r, gg, b] = at(x, y); if (r + gg + b < 3 * 140) { ink = true; break; } }
            if (ink) run++; else if (run) { runs.push(run); run = 0; } }
        runs.sort((a, b) => a - b);
        const shown = img.getBoundingClientRect().height / H;
        done({frame: frame, runs: runs, digit: runs.length ? runs[Math.floor(runs.length / 2)] * shown : 0});
    };
    if (img.complete) go(); else img.onload = go;
})"""

_REF_DIGIT = """(px) => { const c = document.createElement('canvas').getContext('2d');
    c.font = px + 'px ' + getComputedStyle(document.querySelector('.ma-root')).fontFamily;
    const m = c.measureText('0'); return m.actualBoundingBoxAscent + m.actualBoundingBoxDescent; }"""

_SMALL_TEXT = """() => { const out = []; const w = document.createTreeWalker(document.querySelector('.ma-root'), NodeFilter.SHOW_TEXT);
    let n; while ((n = w.nextNode())) { if (!n.textContent.trim()) continue; const e = n.parentElement;
        if (!e.offsetParent) continue; const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) continue;
        const fs = parseFloat(getComputedStyle(e).fontSize); if (fs < %d) out.push([n.textContent.trim().slice(0, 40), fs]); }
    return out; }""" % MIN_TEXT


def test_presentation_mode_text_is_18_px_and_keeps_the_prompt(screen, server):
    from dashboards import texts

    page = screen
    w, h = page.size
    _open(page, server, "?scenario=kropotkin&present=1")
    page.wait_for_selector(".ma-present img.ma-curves")
    time.sleep(1.0)
    assert page.evaluate(_SMALL_TEXT) == []  # every piece of text on the page, measured
    ref = page.evaluate(_REF_DIGIT, MIN_TEXT)  # the height of a digit of 18 px text in the page's font
    ink = page.evaluate(_INK, "img.ma-curves")
    assert ink["frame"] > 0 and len(ink["runs"]) >= 4  # at least four tick labels found
    assert ink["digit"] >= ref - 0.5, (ink, ref)  # the curves' tick labels as tall as 18 px text, as shown
    prompt = page.locator(".ma-prompt")
    assert prompt.is_visible() and prompt.inner_text().startswith("Watch the blue spread")
    assert prompt.inner_text() == texts.prompt("kropotkin").replace("**", "")
    for sel in (".ma-prompt", "img.ma-curves", "img.ma-picture", ".ma-day", ".ma-play"):
        b = page.locator(sel).bounding_box()
        assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= w and b["y"] + b["height"] <= h, (sel, b)
    assert page.errors == []


def test_a_walk_through_step_opens_only_the_section_of_its_control(browser, server):
    """Step 3 (take partner choice away) at 1024 x 768: the sidebar shows the Partner choice slider's section
    and no other; a step about Play closes them all."""
    from tests.test_dashboard_classroom import _is_open, _panel

    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    try:
        _open(page, server, "?scenario=kropotkin")
        _panel(page, "Kropotkin: a guided walk-through").locator(".v-expansion-panel-header").click()
        page.get_by_role("button", name=re.compile("^Load: kropotkin with Partner choice")).click()
        _wait_until(lambda: "0" == page.locator(".v-input", has_text="Partner choice").locator(
            "[role=slider]").get_attribute("aria-valuenow"), what="partner choice set to 0")
        sections = ["Mechanisms", "Check-ins, sponsorship", "Community", "The game", "Evolution", "Routes to mutual aid"]
        assert [s for s in sections if _is_open(_panel(page, s))] == ["Routes to mutual aid"]
        slider = page.locator(".v-input", has_text="Partner choice").locator(".v-slider__track-container")
        slider.scroll_into_view_if_needed()
        assert slider.bounding_box()["width"] >= MIN_TRACK
        page.get_by_role("button", name=re.compile("^Load: struggle")).click()
        _wait_until(lambda: not any(_is_open(_panel(page, s)) for s in sections), what="every section closed")
    finally:
        ctx.close()


def test_presentation_mode_names_the_variant_explains_revision_days_and_shows_a_member_large(browser, server):
    """At 1024 x 768: a walk-through step's variant (Partner choice = 0) is named in presentation mode's
    caption, not only its base scenario; the revision-day ticks are explained under the curves; a member's
    card and its history are text of 18 px or more, the history shown at the size drawn."""
    from dashboards import plots as dp
    from dashboards import support as ds
    from dashboards import texts
    from tests.test_dashboard_classroom import _panel

    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open(page, server, "?scenario=kropotkin")
        _panel(page, "Kropotkin: a guided walk-through").locator(".v-expansion-panel-header").click()
        page.get_by_role("button", name=re.compile("^Load: kropotkin with Partner choice")).click()
        _wait_until(lambda: "0" == page.locator(".v-input", has_text="Partner choice").locator(
            "[role=slider]").get_attribute("aria-valuenow"), what="partner choice set to 0")
        page.locator(".ma-present-toggle input").click(force=True)
        page.wait_for_selector(".ma-present .ma-present-name")
        want = texts.caption("kropotkin", {"ties.conflict_loss": 0.0})
        _wait_until(lambda: page.inner_text(".ma-present-name") == want, what=f"the caption {want!r}")
        note = page.locator(".ma-revision-note")
        sc = ds.build_scenario("kropotkin")
        assert note.is_visible() and note.inner_text() == texts.revision_note(sc)
        assert float(note.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= MIN_TEXT
        pic = page.locator("img.ma-picture").bounding_box()
        page.mouse.click(pic["x"] + pic["width"] / 2, pic["y"] + pic["height"] / 2)
        page.wait_for_selector(".ma-member img.ma-member-history")
        time.sleep(0.5)
        assert page.evaluate(_SMALL_TEXT) == []  # the member's card among every text on the page
        nw, nh, w, h = page.eval_on_selector("img.ma-member-history", _NATURAL)
        assert abs(w - nw) <= 1 and nw == dp.HISTORY_PX  # drawn at the size shown (20 px text)
        assert errors == []
    finally:
        ctx.close()
