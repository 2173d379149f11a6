"""The trainer's handout (sim/experiments/handout.py): the takeaway first and in a trainer's words, one
large picture, questions for the group, the caveat on the front; the statistics on the back; the
sentences agree with the trial's own figures; HTML that prints as two A4 sides, and a two-page PDF."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from sim.experiments import handout, trial


@pytest.fixture(scope="module")
def res():
    return trial.run_trial("baseline", "checkins", seeds=2, steps=60, set=["population.size=120"],
                           designs=("individual", "community"), workers=1)


def test_the_front_speaks_a_trainer_s_words_and_agrees_with_the_figures(res):
    page = handout.handout_html(res, "mutualaid trial baseline --handout")
    front, back = page.split('<section class="back">', 1)
    text = re.sub(r"<[^>]+>", " ", front)
    for word in ("hazard", "member-years", "needed to treat", "NNT", "per 100", "seed", "Cox", "Kaplan"):
        assert word not in text, word  # statistics words are on the back
    # intention to treat: members are counted by what they were offered, not by whether a call came
    assert "checked on" not in text and "members offered check-ins" in text
    assert "Who is counted: the members present when the trial began (day 0)" in text
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
    assert ("more without (" in second) == (round(lo) > 0) and ("fewer without (" in second) == (round(hi) < 0)
    without, with_ = handout.arm_rates(res, "community")
    plain = handout.takeaways(res)[1]
    assert plain.startswith(f"Put plainly: about {without:.0f} relapses for every 100 members followed for a year")
    assert f"about {with_:.0f} among those offered" in plain
    assert ("the runs put it " in plain) or ("do not make clear" in plain)  # how sure, always
    assert html.escape(plain) in front
    assert len(re.findall(r"<li>", front)) == 3 and "For the group" in front
    assert "not a prediction" in text
    assert front.count("<img") == 1  # one large picture
    assert "The statistics" in back and "hazard ratio of a first lapse" in back and "number needed to treat" in back
    assert res.headline in back and "not a clinical prediction" in back


def _fake(days, first, returning, relapses, designs=("individual", "meetings", "community")):
    import pandas as pd

    rows = []
    for d in designs:
        rows += [dict(design=d, measure="relapses per 100 member-years, control - intervention", estimate=relapses[0],
                      low=relapses[1], high=relapses[2]),
                 dict(design=d, measure="days abstinent a year, intervention - control", estimate=days[0],
                      low=days[1], high=days[2]),
                 dict(design=d, measure="hazard ratio of a first lapse", estimate=first[0], low=first[1],
                      high=first[2]),
                 dict(design=d, measure="hazard ratio of returning after a first absence", estimate=returning[0],
                      low=returning[1], high=returning[2])]
    return type("R", (), dict(effects=pd.DataFrame(rows), intervention="checkins", designs=list(designs),
                              seeds=list(range(8)), steps=365))()


def test_the_front_reports_every_headline_outcome_whichever_way(monkeypatch):
    """Synthetic trials: outcomes against the offer (fewer days without using, -2.2; a first lapse sooner;
    more relapses with it) are on the front as plainly as those for it, and a result without a clear
    direction says so."""
    monkeypatch.setattr(handout, "arm_rates", lambda res, d: (40.0 - res.effects["estimate"].iloc[0], 40.0))
    against = handout.takeaways(_fake((-2.2, -4.0, -0.5), (1.3, 1.1, 1.5), (0.8, 0.7, 0.9), (-3.0, -5.0, -1.0)))
    assert len(against) == 4
    assert "came back to meetings later" in against[0]
    assert "about 3 fewer without" in against[1] and "between 1 and 5 fewer" in against[1]
    assert "Members offered check-ins had fewer days without using in a year than members not offered check-ins: " \
           "2.2 fewer" in against[2]
    assert "had a first lapse sooner" in against[3]
    for_it = handout.takeaways(_fake((2.2, 0.5, 4.0), (0.8, 0.7, 0.9), (1.4, 1.2, 1.6), (4.0, 1.4, 6.2)))
    assert "came back to meetings sooner" in for_it[0] and "about 4 more without" in for_it[1]
    assert "more days without using" in for_it[2] and "went longer before a first lapse" in for_it[3]
    none = handout.takeaways(_fake((0.3, -1.0, 1.6), (1.0, 0.9, 1.1), (1.0, 0.9, 1.1), (0.5, -1.0, 2.0)))
    assert "includes 1" in none[0] and "do not make clear" in none[1] and "includes zero" in none[2]
    assert "includes 1" in none[3]


def test_the_back_figure_prints_its_text_at_8_pt_or_more(res):
    """The back page's curves are drawn at the size they print (HTML and PDF), every label at least 8 pt
    (the figure scaled from a screen version printed at 5 pt)."""
    from matplotlib.text import Text

    fig = handout.back_figure(res)
    assert tuple(fig.get_size_inches()) == handout.BACK_FIGURE_IN
    texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    assert texts and min(t.get_fontsize() for t in texts) >= handout.PRINT_MIN_PT
    fig.canvas.draw()  # tick labels exist once drawn
    ticks = [t for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    assert ticks and min(t.get_fontsize() for t in ticks) >= handout.PRINT_MIN_PT
    fw, fh = handout.BACK_FIGURE_IN
    page = handout.handout_html(res)
    assert f"img.curves {{ width: {fw}in; height: {fh}in; }}" in page  # printed at its own size
    assert fw * 25.4 <= 182  # inside A4's width less the margins


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
    html.write_text(handout.handout_html(res))
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
