"""What the page's texts tell a class to do can be done with its controls (dashboards/texts.py, the Info
files as the page shows them): every value a card, a walk-through step or a "thing to try" names lies on
its slider's grid, on a slider a mouse can set step by step; slider ranges are ones a class would use;
settings are named in plain words."""

from __future__ import annotations

import math
import re

import pytest

from dashboards import plots as dp
from dashboards import runner as dr
from dashboards import support as ds
from dashboards import texts

NUMBER = r"(-?\d+(?:\.\d+)?)"
#: the one-letter payoffs the texts use, as the sliders name them ("T: compete meets help")
LETTERS = {"R": "game.R", "S": "game.S", "T": "game.T", "P": "game.P"}


def _key_of(name: str) -> str:
    """A setting named in a text (*T*, *Partner choice*, `ties.conflict_loss`) -> its dotted key; a name
    no slider carries fails the test (the text would send the class looking for a control that is not
    there)."""
    if name in LETTERS:
        return LETTERS[name]
    if name in ds.LABELS:
        return name
    hits = [k for k, label in ds.LABELS.items() if label.lower().startswith(name.lower())]
    assert len(hits) == 1, f"{name!r} names no slider (labels: {sorted(ds.LABELS.values())})"
    return hits[0]


def _named(text: str) -> list[tuple[str, float]]:
    """(dotted key, value) for every "*Name* to V", "*Name* = V" and "`key` to V" in ``text``."""
    out = []
    for m in re.finditer(r"(?:\*([^*]+)\*|`([a-z_]+\.[a-z_]+)`)(?: from {0})?(?: to|\s*=)\s*{0}".format(NUMBER),
                         text):
        name = m.group(1) or m.group(2)
        out.append((_key_of(name), float(m.group(4))))
    return out


def _places() -> list[tuple[str, str, str]]:
    """(where, scenario, text) for every card, walk-through step and Info file the page shows."""
    from sim.info import read_info

    out = [(f"card {n}", n, t) for n, t in texts.WATCH.items()]
    out += [(f"walk-through {title}", scn, t) for title, t, scn, _ in texts.KROPOTKIN_STEPS]
    for n in ds.names():
        try:
            info = read_info(n)
        except (OSError, ValueError):
            continue
        out.append((f"Info {n}", n, "\n".join(info.values())))
    return out


def _check_on_grid(where: str, scenario: str, key: str, value: float) -> None:
    sc = ds.build_scenario(scenario)
    specs = ds.model_params(sc)
    flat = ds.flat_key(key)
    assert flat in specs, f"{where}: {key} = {value} names a setting the page has no control for on {scenario}"
    spec = specs[flat]
    lo, hi, step = spec["min"], spec["max"], spec.get("step", 1)
    assert lo - 1e-9 <= value <= hi + 1e-9, f"{where}: {key} = {value} outside its slider {lo}..{hi}"
    k = (value - lo) / step
    assert abs(k - round(k)) < 1e-6, f"{where}: {key} = {value} is not on its slider's grid ({lo} + n x {step})"
    # a float slider's steps are at least a pixel apart on the narrowest track the page draws (120 px), so
    # a mouse can land on every one of them (whole-number sliders: the arrow keys step by one)
    if spec["type"] == "SliderFloat" or not where.startswith("Info"):
        assert round((hi - lo) / step, 6) <= 120, f"{where}: {key}'s slider has {(hi - lo) / step:.0f} steps"


def test_the_texts_name_their_values_in_a_form_the_test_reads():
    """The parser finds what the walk-through asks (it was "Move it to 2.1": now each value names its slider)."""
    step5 = next(t for title, t, *_ in texts.KROPOTKIN_STEPS if title.startswith("5."))
    assert _named(step5) == [("game.T", 1.7), ("game.T", 2.1)]
    step4 = next(t for title, t, *_ in texts.KROPOTKIN_STEPS if title.startswith("4."))
    assert ("game.T", 1.6) in _named(step4) and ("evolution.wellbeing_weight", 0.0) in _named(step4)
    assert ("ties.conflict_loss", 0.0) in _named(texts.WATCH["kropotkin"])


@pytest.mark.parametrize("where, scenario, text", [pytest.param(*p, id=p[0]) for p in _places()])
def test_every_value_a_text_names_can_be_set_on_its_slider(where, scenario, text):
    for key, value in _named(text):
        _check_on_grid(where, scenario, key, value)


def test_every_walk_through_setting_lies_on_its_slider():
    for title, _, scn, over in texts.KROPOTKIN_STEPS:
        for key, value in over.items():
            _check_on_grid(f"walk-through {title}", scn, key, float(value))


def test_slider_ranges_are_ones_a_class_would_use():
    """No float slider of a shipped scenario has more steps than a 120 px track has pixels, nor the days in
    crisis (they ran 1..100000)."""
    for n in ds.names():
        sc = ds.build_scenario(n)
        for flat, spec in ds.model_params(sc).items():
            if spec["type"] not in ("SliderFloat", "SliderInt"):
                continue
            positions = round((spec["max"] - spec["min"]) / spec["step"], 6)
            if spec["type"] == "SliderFloat" or flat == "turnover_crisis_days":
                assert positions <= 120, (n, flat, spec)
    crisis = ds.control_spec("turnover.crisis_days", 30)
    assert 7 <= crisis["min"] and crisis["max"] <= 365  # a week to a year, never 100000 days


def test_the_info_panel_names_settings_in_plain_words():
    """The Info files name settings by their keys (for --set); on the page they read as the sliders do."""
    from dashboards.app import _info_html

    page = _info_html("kropotkin")
    assert "ties.conflict_loss" not in page and ds.LABELS["ties.conflict_loss"] in page
    assert not re.search(r"<code>(game|ties|evolution|population|checkins|isolation)\.[a-z_]+</code>", page)


def test_fermi_s_own_temptation_stays_on_its_slider():
    """1.02 needs a finer grid than 0.05: the step is made finer rather than the value moved."""
    spec = ds.control_spec("game.T", 1.02)
    k = (1.02 - spec["min"]) / spec["step"]
    assert abs(k - round(k)) < 1e-6 and not math.isclose(spec["step"], 0.05)


def test_no_text_claims_more_than_an_interval_supports():
    """An interval away from zero shows a direction in these runs; "a real effect" said more than that."""
    every = [*texts.WATCH.values(), *(t for _, t, *_ in texts.KROPOTKIN_STEPS), texts.LESSON_INTRO,
             texts.TRIAL_INTRO, texts.TRAINER_INTRO, texts.RESULTS_INTRO]
    for t in every:
        assert "real effect" not in t and "proves" not in t, t
    assert "within the band" in texts.TRAINER_INTRO


def test_the_caption_names_the_variant_on_the_screen():
    """Presentation mode's caption named the base scenario while a walk-through variant ran."""
    assert texts.caption("kropotkin", {}) == "kropotkin"
    cap = texts.caption("kropotkin", {"ties.conflict_loss": 0.0})
    assert cap == f"kropotkin, with {ds.LABELS['ties.conflict_loss']} = 0"
    cap = texts.caption("nowak-may-1992", {"game.T": 2.1, "population.initial_helpers": 0.5})
    assert "T: compete meets help = 2.1" in cap and "Helpers on day 0 = 0.5" in cap


def test_the_revision_note_explains_the_steps_from_the_scenario_s_interval():
    kro = ds.build_scenario("kropotkin")
    note = texts.revision_note(kro)
    n = kro.evolution.interval
    assert f"every {n} days" in note and "jumps" in note and f"{n - 1} days between" in note
    assert texts.revision_note(ds.build_scenario("baseline")) == ""  # nobody changes strategy there
    every_day = texts.revision_note(ds.build_scenario("nowak-may-1992"))
    assert every_day.startswith("Every day is a revision day")


def test_the_lesson_s_time_left_comes_from_the_measured_speed():
    """The first run (workers starting, compiling) took 30 s, each later one 2 s: the time left is 2 s a
    run, not the 7 s a run an average over the first runs said; before a second run it says it measures."""
    t = [0.0]
    eta = texts.Eta(clock=lambda: t[0])
    assert "measuring" in eta.text(0, 60)
    t[0] = 30.0
    assert "measuring" in eta.text(1, 60) and "left" not in eta.text(1, 60)
    for done in range(2, 6):
        t[0] += 2.0
        line = eta.text(done, 60)
    assert line.startswith("runs 5 of 60; about 2 min left")  # 55 runs x 2 s and "30 runs a minute" in line
    t[0] += 2.0 * 50
    assert "about 10 s left" in eta.text(55, 60)


def test_the_lesson_figure_and_the_member_history_are_drawn_for_a_projector():
    """Text in the lesson's page figure and in a member's history (presentation mode) is 18 px or more at
    the size they are shown (the lesson figure was 16 inches scaled into a column: about 9 px)."""
    import io

    import numpy as np
    import pandas as pd
    from matplotlib.text import Text
    from PIL import Image

    from sim.experiments import lesson

    arms = ["all off", *[f"{m.name} only" for m in lesson.MECHANISMS], "all on",
            *[f"all but {m.name.lower()}" for m in lesson.MECHANISMS]]
    cols = {c: np.linspace(0.1, 0.9, len(arms)) for c in lesson.PROJECTOR_COLS}
    summary = pd.DataFrame({"arm": arms, **cols, **{f"{c}_low": v - 0.05 for c, v in cols.items()},
                            **{f"{c}_high": v + 0.05 for c, v in cols.items()}})
    res = type("R", (), dict(summary=summary, seeds=list(range(5)), scenario="kropotkin"))()
    fig = lesson.plot(res, projector=True)
    fig.canvas.draw()
    px = [t.get_fontsize() * 100 / 72 for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    assert px and min(px) >= 18
    png = dp.fig_png(fig, dpi=100)
    assert Image.open(io.BytesIO(png)).size[0] == lesson.PROJECTOR_PX  # shown unscaled at that width
    from dashboards.app import LESSON_PX

    assert LESSON_PX == lesson.PROJECTOR_PX <= 1024 - 48
    hist = {"day": np.arange(30), "using": np.zeros(30), "member_id": np.ones(30), "stress": np.full(30, 0.4),
            "craving": np.full(30, 0.2)}
    img = Image.open(io.BytesIO(dp.member_history_png(hist, dp.HISTORY_FONT_PX["present"])))
    assert img.size[0] == dp.HISTORY_PX and dp.HISTORY_FONT_PX["present"] >= 18


def test_compare_offers_the_mechanisms_the_lesson_speaks_of():
    """Partner choice, wellbeing counting as success and survival of the supported, each on (A) against
    off (B) in kropotkin with the lesson's own values (dropping out in crisis off at 100000 days, beyond
    the slider), and the sentence then speaks of helpers too, settings in the sliders' words."""
    from sim.experiments import lesson

    mech = {m.key: m for m in lesson.MECHANISMS}
    for key in ("partner_choice", "wellbeing", "survival"):
        label, scn, a, b = ds.PRESETS[f"mechanism_{key}"]
        assert scn == "kropotkin" and a == dict(mech[key].on) and b == dict(mech[key].off)
        assert label.endswith(": on vs off")
        sc_a, sc_b = dr.compare_pair(scn, {}, {}, seed=1, steps=30, fixed_a=a, fixed_b=b)
        for k, v in b.items():
            assert ds.value_of(sc_b, k) == v and ds.value_of(sc_a, k) == a[k]
    import numpy as np
    import pandas as pd

    def frames(helpers):
        return [pd.DataFrame({"step": np.arange(31), "relapses": np.full(31, 0.1),
                              "helpers": np.full(31, h)}) for h in helpers]

    _, scn, a, b = ds.PRESETS["mechanism_survival"]
    sc_a, sc_b = dr.compare_pair(scn, {}, {}, seed=1, steps=30, fixed_a=a, fixed_b=b)
    s = texts.compare_finding(sc_a, sc_b, frames([0.9, 0.92, 0.91, 0.93]), frames([0.5, 0.55, 0.52, 0.5]))
    assert "lower share of helpers at the end" in s and "show a decrease" in s
    assert "turnover.crisis_days" not in s and "Survival: days in crisis before dropping out = 100000" in s


def test_the_trial_s_choice_is_offered_in_words():
    """The trial's "Withheld from the control arm" offered the scenario keys checkins and sponsorship."""
    words = texts.intervention_words()
    assert set(words) == {"checkins", "sponsorship"}
    for key, w in words.items():
        assert w != key and "." not in w and texts.intervention_key(w) == key
    assert texts.intervention_key("checkins") is None
