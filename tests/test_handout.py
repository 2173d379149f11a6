"""The trainer's handout (sim/experiments/handout.py): the takeaway first and in a trainer's words, one
large picture, questions for the group, the caveat on the front; the statistics on the back; the
sentences agree with the trial's own figures; HTML that prints as two A4 sides, and a two-page PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from sim.experiments import handout, trial


@pytest.fixture(scope="module")
def res():
    return trial.run_trial("baseline", "checkins", seeds=2, steps=60, set=["population.size=120"],
                           designs=("individual", "community"), workers=1)


def _png(res) -> bytes:
    buf = io.BytesIO()
    trial.plot_curves(res).savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def test_the_front_speaks_a_trainer_s_words_and_agrees_with_the_figures(res):
    page = handout.handout_html(res, _png(res), "mutualaid trial baseline --handout")
    front, back = page.split('<section class="back">', 1)
    text = re.sub(r"<[^>]+>", " ", front)
    for word in ("hazard", "member-years", "needed to treat", "seed", "Cox", "Kaplan"):
        assert word not in text, word  # statistics words are on the back
    first = re.search(r'<p class="takeaway">(.*?)</p>', front).group(1)
    assert front.index('class="takeaway"') < front.index("<img")  # the takeaway before the picture
    hr, lo, hi = handout._row(res, "community", "hazard ratio of returning")
    if lo > 1:
        assert "came back to meetings sooner" in first and "show it" in first
    elif hi < 1:
        assert "came back to meetings later" in first
    else:
        assert "includes 1" in first
    assert f"{hr:.2f}" in first
    est, lo, hi = handout._row(res, "community", "relapses per 100")
    second = handout.takeaways(res)[1]
    assert ("show an increase" in second) == (lo > 0) and ("show a decrease" in second) == (hi < 0)
    without, with_ = handout.arm_rates(res, "community")
    assert f"about {without:.0f} relapses happened without" in text and f"about {with_:.0f} with it" in text
    assert len(re.findall(r"<li>", front)) == 3 and "For the group" in front
    assert "not a prediction" in text
    assert front.count("<img") == 1  # one large picture
    assert "The statistics" in back and "hazard ratio of a first lapse" in back and "number needed to treat" in back
    assert res.headline in back and "not a clinical prediction" in back


def test_the_handout_prints_on_two_a4_sides_and_the_pdf_has_two_pages(res, tmp_path):
    pdf = tmp_path / "handout.pdf"
    handout.handout_pdf(res, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) == 2
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    if not chromium.exists():
        pytest.skip("chromium is not installed")
    html = tmp_path / "handout.html"
    html.write_text(handout.handout_html(res, _png(res)))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=["--headless", "--no-sandbox"])
        try:
            pg = b.new_page()
            pg.goto(html.as_uri())
            printed = pg.pdf(format="A4")
            # the front section's height as printed (A4 less the 14 mm margins, at 96 px per inch)
            pg.emulate_media(media="print")
            front_h = pg.eval_on_selector("section.front", "e => e.getBoundingClientRect().height")
        finally:
            b.close()
    assert len(re.findall(rb"/Type\s*/Page\b", printed)) == 2  # the front, then the statistics
    assert front_h <= (297 - 28) / 25.4 * 96
