"""The trainer's handout of a virtual trial: one page in a trainer's words, the statistics on the back.

Front: the takeaway first (coming back after an absence, then relapses), one large picture, what each
number means in a sentence, two or three questions for the group, the honest caveat. Back: the
statistics table of every design, the full curves, settings and seeds. Every sentence that states a
result is generated from the trial's own figures (sim/experiments/findings.py), so it says "sooner" only
when the interval shows it and says so when it does not.

``mutualaid trial ... --handout`` writes it (HTML and PDF) through :func:`handout_html` and
:func:`handout_pdf`; the dashboard's trial view offers both downloads. This module reads the trial's
results (:mod:`sim.experiments.trial`); the trial does not import it.
"""

# Deferred imports (inside the functions that need them):
# - matplotlib: half a second to import; it loads when a handout's figure or PDF is drawn.

from __future__ import annotations

import html
import io
import math

import numpy as np

from sim.experiments import findings
from sim.experiments.trial import (
    DESIGN_LABELS, INTERVENTIONS, NOT_A_PREDICTION, _num, _per_seed, _rate, first_spells, km, plot_curves,
)

#: what the page calls the people the trial follows, and the intervention, in a trainer's words. Members are
#: counted by the arm they were assigned to (intention to treat): "offered check-ins", whether or not a call
#: came; ``cohort`` says whom the trial counts (not everyone in the community)
WORDS = {
    "checkins": dict(title="Checking on members who stop coming", who="members", given="offered check-ins",
                     withheld="not offered check-ins", them="them",
                     action="the offer of a call from a fellow member after missed meetings",
                     cohort="the members present when the trial began (day 0)"),
    "sponsorship": dict(title="A sponsor for every newcomer", who="newcomers", given="offered a sponsor",
                        withheld="not offered a sponsor", them="one", action="the offer of a sponsor to call",
                        cohort="the newcomers who joined in the trial's first 180 days"),
}

QUESTIONS = {
    "checkins": (
        "Who in your group would notice if a member stopped coming, and after how many missed meetings?",
        "What makes a call after an absence welcome rather than intrusive?",
        "Besides a call, what brings people back to meetings in your community?",
    ),
    "sponsorship": (
        "How does a newcomer in your group find someone to call?",
        "What does a sponsor do in the first weeks that a meeting cannot?",
        "Who supports the sponsors, and how many sponsees can one person carry?",
    ),
}

CAVEAT = ("A teaching model, not a prediction: the members are simulated from rules and published patterns, the "
          "same simulated people in both arms, which no real study can do. The numbers show how the mechanism "
          "works in the model; they do not say what a programme will achieve with real people.")


def _row(res, design: str, start: str) -> tuple[float, float, float]:
    e = res.effects
    r = e[(e["design"] == design) & (e["measure"].str.startswith(start))].iloc[0]
    return float(r["estimate"]), float(r["low"]), float(r["high"])


def main_design(res) -> str:
    return "community" if "community" in res.designs else res.designs[0]


def arm_rates(res, design: str) -> tuple[float, float]:
    """Relapses per 100 member-years without and with the intervention (means over seeds)."""
    m = res.members[res.members["design"] == design]
    tab = _per_seed(m, _rate)
    return float(np.nanmean(tab[0].to_numpy(float))), float(np.nanmean(tab[1].to_numpy(float)))


def counted(res) -> str:
    """Whom the trial counts, for the front page: the cohort, how long each is followed, how many runs."""
    w = WORDS[res.intervention]
    d = main_design(res)
    how = ("the whole community had the offer in one run and not in its twin" if d == "community"
           else f"{DESIGN_LABELS[d]} to have the offer or not")
    return (f"Who is counted: {w['cohort']}, each followed for up to {res.steps} days, in {len(res.seeds)} "
            f"pairs of runs of the simulation ({how}). {w['who'].capitalize()} are counted by what they were "
            f"offered, whether or not a call came.") if res.intervention == "checkins" else (
            f"Who is counted: {w['cohort']}, each followed from the day they joined, in {len(res.seeds)} pairs "
            f"of runs of the simulation ({how}). Newcomers are counted by what they were offered.")


def takeaways(res) -> list[str]:
    """The front page's sentences, generated from the trial's figures: coming back after an absence,
    relapses put plainly with how sure the runs are, days without using and the first lapse (each said
    whichever way it went, for the offer or against it)."""
    w = WORDS[res.intervention]
    d = main_design(res)
    n = len(res.seeds)
    given, withheld = f"{w['who']} {w['given']}", f"{w['who']} {w['withheld']}"
    out = [findings.ratio(f"After a first absence, {given}", *_row(res, d, "hazard ratio of returning"),
                          above="came back to meetings sooner", below="came back to meetings later")]
    est, lo, hi = _row(res, d, "relapses per 100")
    without, with_ = arm_rates(res, d)
    out.append(findings.plainly(f"relapses for every 100 {w['who']} followed for a year", without, with_,
                                f"among those {w['withheld']}", f"among those {w['given']}", est, lo, hi, n))
    e, lo, hi = _row(res, d, "days abstinent a year")
    out.append(findings.difference(f"{given.capitalize()} had", "days without using in a year", e, lo, hi, n,
                                   than=withheld, runs="pairs of runs"))
    out.append(findings.ratio(f"{given.capitalize()}", *_row(res, d, "hazard ratio of a first lapse"),
                              above="had a first lapse sooner", below="went longer before a first lapse"))
    return out


def picture_png(res, dpi: int = 110) -> bytes:
    """One large picture: the share of first absences ended (back at a meeting) by day since the absence,
    with and without the intervention, in the main design; large type."""
    from matplotlib.figure import Figure


    w = WORDS[res.intervention]
    d = main_design(res)
    sp = first_spells(res.spells[res.spells["design"] == d])
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    for arm, colour, label in ((1, "#2b6cb0", f"{w['who']} {w['given']}"), (0, "#c05621", f"{w['who']} {w['withheld']}")):
        s = sp[sp["arm"] == arm]
        if len(s):
            f = km(s["duration"], s["returned"], label)
            t = f.survival_function_.index.to_numpy()
            ax.step(t, 1 - f.survival_function_.iloc[:, 0].to_numpy(), where="post", color=colour, lw=2.5,
                    label=label)
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("days since the absence began", fontsize=13)
    ax.set_ylabel("share back at a meeting", fontsize=13)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=12, loc="lower right")
    ax.set_title("Coming back after an absence", fontsize=14)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def stats_rows(res) -> list[tuple[str, str, str, str, str]]:
    """The back page's table: design, relapses (without - with), hazard ratios, number needed to treat."""
    rows = []
    for d in res.designs:
        r = _row(res, d, "relapses per 100")
        h = _row(res, d, "hazard ratio of a first lapse")
        b = _row(res, d, "hazard ratio of returning")
        nn = _row(res, d, "number needed")
        rows.append((DESIGN_LABELS[d], f"{r[0]:+.1f} ({r[1]:+.1f} to {r[2]:+.1f})",
                     f"{_num(h[0])} ({_num(h[1])} to {_num(h[2])})", f"{_num(b[0])} ({_num(b[1])} to {_num(b[2])})",
                     _num(nn[0], 0)))
    return rows


#: the back page's figure, drawn at the size it is printed (inches) so its type is the size it says; no
#: text in it below PRINT_MIN_PT points
BACK_FIGURE_IN = (7.0, 6.4)
PRINT_MIN_PT = 8.0


def back_figure(res):
    """The curves of every design for the back page, drawn at :data:`BACK_FIGURE_IN` with every piece of
    text at least 9 pt (the dashboard's version is drawn for a screen, at 4.6 inches a design)."""
    from matplotlib.text import Text


    fig = plot_curves(res)
    fig.set_size_inches(*BACK_FIGURE_IN)
    for t in fig.findobj(Text):
        if t.get_text():
            t.set_fontsize(max(float(t.get_fontsize()), 9.0))
    for ax in fig.axes:
        ax.tick_params(labelsize=9)
        ax.title.set_fontsize(9)
        ax.title.set_text(ax.get_title().replace(": ", ":\n", 1))
    return fig


def back_png(res, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    back_figure(res).savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def html_page(res, command: str = "") -> str:
    import base64

    w = WORDS[res.intervention]
    esc = html.escape
    sentences = takeaways(res)
    pic = base64.b64encode(picture_png(res)).decode()
    curves = base64.b64encode(back_png(res)).decode()
    rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in stats_rows(res))
    questions = "".join(f"<li>{esc(q)}</li>" for q in QUESTIONS[res.intervention])
    settings = esc(f"Scenario {res.scenario}; {INTERVENTIONS[res.intervention]} withheld from the control arm; "
                   f"{len(res.seeds)} paired seeds (first {res.seeds[0]}); {res.steps} days. {command}")
    fw, fh = BACK_FIGURE_IN
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(w['title'])}: a virtual trial</title>
<style>
@page {{ size: A4; margin: 14mm; }}
body {{ font-family: sans-serif; max-width: 182mm; margin: auto; font-size: 12pt; line-height: 1.35; color: #1a202c; }}
h1 {{ font-size: 20pt; margin: 0 0 6pt; }} h2 {{ font-size: 14pt; margin: 10pt 0 4pt; }}
p {{ margin: 4pt 0; }}
.takeaway {{ font-size: 14pt; font-weight: bold; margin: 6pt 0; }}
.counted {{ font-size: 11pt; color: #2d3748; }}
img.picture {{ width: 100%; }} img.curves {{ width: {fw}in; height: {fh}in; }}
.caveat {{ font-size: 10.5pt; color: #4a5568; border-top: 1px solid #cbd5e0; padding-top: 4pt; }}
.back {{ page-break-before: always; break-before: page; font-size: 10pt; }}
table {{ border-collapse: collapse; font-size: 9.5pt; }} td, th {{ border: 1px solid #cbd5e0; padding: 2pt 5pt; }}
</style></head><body>
<section class="front">
<h1>{esc(w['title'])}</h1>
{''.join(f'<p class="takeaway">{esc(s)}</p>' if i == 0 else f'<p>{esc(s)}</p>' for i, s in enumerate(sentences))}
<p class="counted">{esc(counted(res))}</p>
<img class="picture" alt="Share of absent members back at a meeting, by day since the absence" src="data:image/png;base64,{pic}">
<h2>For the group</h2>
<ol class="questions">{questions}</ol>
<p class="caveat">{esc(CAVEAT)}</p>
</section>
<section class="back">
<h2>The statistics</h2>
<p class="headline"><b>{esc(res.headline)}</b></p>
<table><tr><th>design</th><th>relapses per 100 member-years, without - with (95%)</th>
<th>hazard ratio of a first lapse (95%)</th><th>hazard ratio of returning after an absence (95%)</th>
<th>number needed to treat</th></tr>{rows}</table>
<img class="curves" alt="Kaplan-Meier curves of every design" src="data:image/png;base64,{curves}">
<p>{settings}</p>
<p>{esc(NOT_A_PREDICTION)}</p>
</section>
</body></html>
"""


#: A4 in inches, the PDF's page
A4_IN = (8.27, 11.69)


def pdf_bytes(res, command: str = "") -> bytes:
    """The same two pages as a PDF (matplotlib only): the front page, then the statistics; the back
    figure placed at its own size (:data:`BACK_FIGURE_IN`), so its type prints at the size it was drawn."""
    import textwrap

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.image import imread


    w = WORDS[res.intervention]
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        front = Figure(figsize=A4_IN)
        front.text(0.07, 0.96, w["title"], fontsize=20, weight="bold", va="top")
        y = 0.915
        for i, s in enumerate([*takeaways(res), counted(res)]):
            lines = textwrap.wrap(s, 70 if i == 0 else 88)
            front.text(0.07, y, "\n".join(lines), fontsize=13 if i == 0 else 11, weight="bold" if i == 0 else None,
                       va="top", linespacing=1.3)
            y -= (0.0195 if i == 0 else 0.0165) * len(lines) + 0.01
        ax = front.add_axes((0.1, y - 0.34, 0.8, 0.33))
        ax.imshow(imread(io.BytesIO(picture_png(res, dpi=150))))
        ax.axis("off")
        y -= 0.36
        front.text(0.07, y, "For the group", fontsize=14, weight="bold", va="top")
        y -= 0.028
        for k, q in enumerate(QUESTIONS[res.intervention], 1):
            lines = textwrap.wrap(f"{k}. {q}", 88)
            front.text(0.07, y, "\n".join(lines), fontsize=11, va="top", linespacing=1.3)
            y -= 0.0165 * len(lines) + 0.007
        front.text(0.07, 0.06, "\n".join(textwrap.wrap(CAVEAT, 100)), fontsize=9.5, va="top", color="#4a5568")
        pdf.savefig(front)
        back = Figure(figsize=A4_IN)
        back.text(0.06, 0.965, "The statistics", fontsize=15, weight="bold", va="top")
        back.text(0.06, 0.935, "\n".join(textwrap.wrap(res.headline, 90)), fontsize=10.5, weight="bold", va="top")
        lines = ["design: relapses /100 member-years (without - with); HR first lapse; HR returning; NNT"]
        lines += [f"  {r[0]}: {r[1]}; {r[2]}; {r[3]}; {r[4]}" for r in stats_rows(res)]
        back.text(0.06, 0.9, "\n".join(lines), fontsize=8.5, va="top", family="monospace")
        fw, fh = BACK_FIGURE_IN
        ax = back.add_axes(((1 - fw / A4_IN[0]) / 2, 0.82 - fh / A4_IN[1], fw / A4_IN[0], fh / A4_IN[1]))
        ax.imshow(imread(io.BytesIO(back_png(res))))
        ax.axis("off")
        settings = (f"Settings: scenario {res.scenario}, {len(res.seeds)} paired seeds (first {res.seeds[0]}), "
                    f"{res.steps} days. {command}")
        back.text(0.06, 0.24, "\n".join(textwrap.wrap(settings, 100)), fontsize=8.5, va="top")
        back.text(0.06, 0.19, "\n".join(textwrap.wrap(NOT_A_PREDICTION, 100)), fontsize=8.5, va="top",
                  color="#4a5568")
        pdf.savefig(back)
    return buf.getvalue()


def handout_html(res, command: str = "") -> str:
    """The trainer's handout as HTML: one page in a trainer's words, the statistics on the back."""
    return html_page(res, command)


def handout_pdf(res, path, command: str = "") -> None:
    """The same handout as a two-page PDF (matplotlib: no other dependency)."""
    with open(path, "wb") as f:
        f.write(pdf_bytes(res, command))
