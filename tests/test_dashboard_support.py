"""The dashboard's non-UI helpers (dashboards/support.py, runner.py, plots.py and texts.py): controls,
guards, runs, drawings, tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dashboards import plots as dp
from dashboards import runner as dr
from dashboards import support as ds
from dashboards import texts
from sim import draw
from sim.core.schema import Scenario
from sim.core.scenarios import ScenarioError, load_scenario, scenario_names


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.size


# ----------------------------------------------------------------------------- controls from the schema


def test_every_control_range_lies_inside_the_schema():
    for name in ("baseline", "kropotkin"):
        sc = ds.build_scenario(name)
        for flat, spec in ds.model_params(sc).items():
            dotted = ds.dotted_key(flat)
            if spec["type"] not in ("SliderInt", "SliderFloat"):
                continue
            lo, hi, lo_open, hi_open = ds._bounds(ds.field_of(dotted))
            if lo is not None:
                assert spec["min"] > lo if lo_open else spec["min"] >= lo, dotted
            if hi is not None:
                assert spec["max"] < hi if hi_open else spec["max"] <= hi, dotted
            assert spec["min"] <= spec["value"] <= spec["max"], dotted


def test_toggles_and_selects_come_from_the_schema():
    params = ds.model_params(ds.build_scenario("baseline"))
    for key in ("sponsorship_enabled", "checkins_enabled", "isolation_enabled", "evolution_enabled"):
        assert params[key]["type"] == "Checkbox"
    assert params["evolution_rule"]["values"] == ["fermi", "imitate_best", "death_birth"]
    lattice = ds.model_params(ds.build_scenario("kropotkin"))
    assert "network_width" in lattice and "population_size" not in lattice


@pytest.mark.parametrize("dotted, given, expected", [
    ("population.initial_helpers", 7.5, 1.0),
    ("population.initial_helpers", -3, 0.0),
    ("population.initial_helpers", "nan", 0.0),
    ("population.size", 10**9, ds.MAX_NETWORK_MEMBERS),
    ("network.width", 5000, 200),
    ("evolution.temperature", 0, 0.02),
    ("evolution.rule", "../../etc", "fermi"),
    ("checkins.enabled", 0, False),
])
def test_clamp_keeps_values_inside_schema_and_page(dotted, given, expected):
    assert ds.clamp(dotted, given) == expected


def test_seed_stays_an_integer():
    assert ds.clamp_seed("17") == 17 and isinstance(ds.clamp_seed("17"), int)
    assert ds.clamp_seed(3.9) == 3
    assert ds.clamp_seed(-5) == 0
    assert ds.clamp_seed("not a number") == 0
    assert ds.build_scenario("baseline", seed="12").seed == 12


def test_flat_keys_round_trip_and_match_the_model():
    from sim.core.scenarios import flat_overrides

    for dotted in ("checkins.enabled", "population.initial_helpers", "game.T", "steps"):
        assert ds.dotted_key(ds.flat_key(dotted)) == dotted
        assert list(flat_overrides({ds.flat_key(dotted): 1})) == [dotted]


def test_page_overrides_are_clamped_and_population_capped():
    sc = ds.build_scenario("baseline", {"population_size": 10**7, "population_initial_helpers": 2.0})
    assert sc.population.size == ds.MAX_NETWORK_MEMBERS
    assert sc.population.initial_helpers == 1.0
    big = ds.build_scenario("kropotkin", {"network_width": 10**6, "network_height": 10**6})
    assert big.population.size == 200 * 200 <= ds.MAX_PAGE_POPULATION


# ----------------------------------------------------------------------------- only scenarios/


@pytest.mark.parametrize("bad", ["../tests/conftest", "/etc/passwd", "baseline.yaml", "scenarios/baseline",
                                 "..", "", None, 3, "baseline\x00"])
def test_only_shipped_scenarios_open(bad):
    with pytest.raises(ScenarioError):
        ds.scenario_path(bad)
    with pytest.raises(ScenarioError):
        ds.build_scenario(bad)


def test_a_yaml_outside_scenarios_cannot_be_opened(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: evil-outside\n")
    for spec in (str(evil), str(evil.with_suffix("")), f"../../{evil}"):
        with pytest.raises(ScenarioError):
            ds.build_scenario(spec)


def test_shipped_scenarios_all_open():
    for name in scenario_names():
        assert ds.scenario_path(name).is_file()
    assert "baseline" in ds.names()


# ----------------------------------------------------------------------------- models and drawings


def test_engine_is_the_kernel_unless_agents_are_asked_for_and_fit():
    small = ds.build_scenario("baseline")
    assert dr.page_engine(small) == "kernel"
    assert dr.page_engine(small, "agents") == "agents"
    big = ds.build_scenario("kropotkin", {"network_width": 100, "network_height": 100})
    assert dr.page_engine(big, "agents") == "kernel"  # Mesa objects only up to MESA_MAX_MEMBERS


def test_runner_steps_draws_and_resets():
    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 10})
    r = dr.Runner(sc, engine="agents")
    f0 = r.frame()
    assert f0.day == 0 and f0.view == "network" and f0.engine == "agents"
    r.step(3)
    f1 = r.frame()
    assert f1.day == 3 and f1.picture != f0.picture
    r.step(20)
    assert r.day == 10 and r.done
    r.reset(ds.build_scenario("baseline", {"population_size": 60, "population_initial_helpers": 1.0}))
    assert r.day == 0 and r.frame().latest["helpers"] == 1.0
    assert list(r.metrics().columns)[:2] == ["step", "helpers"]


def test_lattice_image_has_one_block_per_member():
    sc = ds.build_scenario("kropotkin", {"network_width": 20, "network_height": 10})
    r = dr.Runner(sc, engine="kernel")
    w, h = _png_size(r.picture())
    assert (w, h) == (20 * (480 // 20), 10 * (480 // 20))


def test_member_colors_mark_strategy_and_use():
    st = {"strategy": np.array([1, 0, 1]), "stress": np.zeros(3), "using": np.array([False, False, True])}
    rgb = member_colors = draw.member_colors(st)
    assert tuple(member_colors[0]) == tuple(draw.HELP_RGB.astype(np.uint8))
    assert tuple(rgb[1]) == tuple(draw.COMPETE_RGB.astype(np.uint8))
    assert tuple(rgb[2]) == tuple(draw.USING_RGB.astype(np.uint8))


def test_network_positions_are_stable():
    sc = ds.build_scenario("baseline", {"population_size": 80})
    a = dr.Runner(sc)
    b = dr.Runner(sc)
    assert np.array_equal(a.pos, b.pos)
    a.step(5)
    assert a.frame().picture  # drawn with the same positions


def test_metrics_csv_round_trips():
    r = dr.Runner(ds.build_scenario("baseline", {"population_size": 60, "steps": 10}))
    r.step(3)
    back = pd.read_csv(io.BytesIO(dr.metrics_csv(r.metrics())))
    assert len(back) == 4 and "relapses" in back.columns


# ----------------------------------------------------------------------------- Compare


def test_compare_pair_shares_the_seed_and_differs_in_one_toggle():
    a, b = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=7, steps=30)
    assert a.seed == b.seed == 7
    assert a.checkins.enabled and not b.checkins.enabled
    da, db = a.model_dump(), b.model_dump()
    da["checkins"].pop("enabled"), db["checkins"].pop("enabled")
    assert da == db


def test_compare_arm_a_does_not_depend_on_b():
    a1, _ = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=3, steps=20,
                            members=80)
    a2, _ = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": True}, seed=3, steps=20,
                            members=80)
    pd.testing.assert_frame_equal(dr.run_metrics(a1), dr.run_metrics(a2))


def test_gap_band_is_zero_for_identical_arms_and_brackets_the_mean():
    sc = load_scenario("baseline", {"population.size": 80, "steps": 20})
    frames = [dr.run_metrics(sc, s) for s in (1, 2, 3)]
    g = dp.gap_band(frames, frames, "using", False)
    assert np.all(g["diff"] == 0)
    other = [dr.run_metrics(sc.model_copy(update={"checkins": sc.checkins.model_copy(update={"enabled": False})}),
                            s) for s in (1, 2, 3)]
    g = dp.gap_band(frames, other, "relapses", True)
    ok = np.isfinite(g["lo"])
    assert np.all(g["lo"][ok] <= g["diff"][ok] + 1e-12) and np.all(g["diff"][ok] <= g["hi"][ok] + 1e-12)
    assert dp.compare_png(frames[0], other[0], "A", "B")[:4] == b"\x89PNG"
    assert dp.gap_png(frames, other)[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- Results


def _runs_table() -> pd.DataFrame:
    rows = []
    for b in (1.0, 1.5, 2.0):
        for k in (4, 8):
            for r in range(3):
                rows.append({"game.T": b, "network.degree": k, "replicate": r, "seed": 100 + r,
                             "mean_using": 0.01 * b + 0.001 * k + 0.001 * r, "final_helpers": 1 / b})
    return pd.DataFrame(rows)


def test_runs_columns_split_into_parameters_and_metrics():
    params, mets = ds.split_runs(_runs_table())
    assert params == ["game.T", "network.degree"]
    assert mets == ["mean_using", "final_helpers"]


def test_run_bookkeeping_is_never_an_axis_or_a_metric():
    """runs.parquet as the sweep writes it (CONTRACT.md): run_id and point come first."""
    t = _runs_table()
    t.insert(0, "point", np.arange(len(t)) // 3)
    t.insert(0, "run_id", np.arange(len(t)))
    t.insert(t.columns.get_loc("seed") + 1, "engine", "kernel")
    t["wall_time_s"] = 0.1
    params, mets = ds.split_runs(t)
    assert params == ["game.T", "network.degree"]
    assert mets == ["mean_using", "final_helpers"]


def test_line_and_heat_tables():
    df = _runs_table()
    t = dp.line_table(df, "game.T", "mean_using")
    assert list(t["game.T"]) == [1.0, 1.5, 2.0] and (t["n"] == 6).all()
    assert (t["lo"] <= t["mean"]).all() and (t["mean"] <= t["hi"]).all()
    h = dp.heat_table(df, "game.T", "network.degree", "final_helpers")
    assert h.shape == (2, 3)
    assert dp.results_png(df, "mean_using", "game.T")[:4] == b"\x89PNG"
    assert dp.results_png(df, "mean_using", "game.T", "network.degree")[:4] == b"\x89PNG"


def test_sweeps_are_found_only_under_the_results_root(tmp_path):
    (tmp_path / "sweep1").mkdir()
    _runs_table().to_parquet(tmp_path / "sweep1" / "runs.parquet")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    _runs_table().to_parquet(outside / "runs.parquet")
    assert ds.find_sweeps(tmp_path) == ["sweep1"]
    assert len(ds.open_sweep("sweep1", tmp_path)) == 18
    for bad in ("../" + outside.name, str(outside), "sweep1/../..", ""):
        with pytest.raises(ScenarioError):
            ds.open_sweep(bad, tmp_path)
    buf = io.BytesIO()
    _runs_table().to_parquet(buf)
    assert len(ds.read_runs_bytes(buf.getvalue())) == 18


def test_scenario_schema_is_the_one_source():
    assert set(ds.TOGGLES) <= {f"{s}.enabled" for s in Scenario.model_fields}


def test_cli_has_a_dashboard_subcommand(capsys):
    from sim.cli import main

    assert main(["dashboard", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out
    assert main(["dashboard", "--port", "0"]) == 2  # bad input: one line, exit code 2



def test_the_trial_views_handout_and_export():
    from dashboards import support as ds
    from dashboards import runner as dr

    res = dr.trial_result("baseline", "checkins", 4)
    html = res["handout"].decode("utf-8")
    assert res["headline"].startswith("Without check-ins: ") and "4 paired runs" in res["headline"]
    assert res["headline"] in html and "not a clinical prediction" in html and "data:image/png;base64," in html
    assert res["png"].startswith(b"\x89PNG") and "hazard ratio of a first lapse" in res["effects"]
    assert dr.trial_result("baseline", "checkins", 4) is res  # computed once per server
    assert ds.trial_eligible("isolation-with-checkins", "checkins") and not ds.trial_eligible("isolation", "checkins")


# ----------------------------------------------------------------------------- curves that teach


def _run(sc, days):
    m = dr.make_page_model(sc)
    for _ in range(days):
        m.step()
    return m.metrics_frame()


def test_curves_draw_day_zero_and_hide_psychology_when_it_is_off():
    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 30})
    fig = dp.curves_figure(_run(sc, 0), sc)
    ax1, ax2 = fig.axes
    labels = [ln.get_label() for ln in ax1.lines]
    assert {"helpers", "mean stress", "mean craving", "using"} <= set(labels)
    # one day is drawn as dots (a line through one point is invisible)
    assert all(ln.get_marker() == "o" for ln in ax1.lines if ln.get_label() == "helpers")
    game = ds.build_scenario("nowak-may-1992", {"network_width": 10, "network_height": 10, "steps": 10})
    assert not game.psychology.enabled
    labels = [ln.get_label() for ln in dp.curves_figure(_run(game, 3), game).axes[0].lines]
    assert "helpers" in labels and not {"mean stress", "mean craving", "using"} & set(labels)


def test_relapses_are_per_100_members_so_sizes_compare():
    df = pd.DataFrame({"step": [0, 1, 2], "relapses": [5.0, 2.0, 4.0]})
    assert dp.per_100(df, "relapses", 200).tolist() == [0.0, 1.0, 3.0]  # day 0 is the initial state
    assert dp.per_100(df, "relapses", 900)[-1] == pytest.approx(600 / 900)


def test_closures_are_shaded_and_revision_days_ticked():
    sc = ds.build_scenario("isolation", {"population_size": 60, "steps": 200})
    assert dp.closure_window(sc) == (sc.isolation.start, sc.isolation.start + sc.isolation.duration)
    fig = dp.curves_figure(_run(sc, 100), sc)
    spans = [p for p in fig.axes[0].patches if p.get_label() == "meetings closed"]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert (x0, x1) == (sc.isolation.start, sc.isolation.start + sc.isolation.duration)
    off = ds.build_scenario("isolation", {"population_size": 60, "isolation_enabled": False})
    assert dp.closure_window(off) is None
    evo = ds.build_scenario("kropotkin", {"network_width": 10, "network_height": 10, "steps": 60})
    assert dp.revision_days(evo).tolist() == list(range(evo.evolution.interval, 61, evo.evolution.interval))
    labels = [ln.get_label() for ln in dp.curves_figure(_run(evo, 30), evo).axes[0].lines]
    assert any(lab.startswith("revision day") for lab in labels)


def test_curve_labels_are_inside_the_figure():
    """The relapse axis label was clipped at the left edge once totals had five digits."""
    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 30})
    df = _run(sc, 20)
    df["relapses"] = 30000.0  # far more than any run: the tick labels are at their widest
    fig = dp.curves_figure(df, sc)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    for ax in fig.axes:
        box = ax.yaxis.label.get_window_extent(r)
        assert box.x0 >= 0 and box.y0 >= 0, ax.yaxis.label.get_text()
        for t in ax.get_yticklabels():
            assert t.get_window_extent(r).x0 >= 0
    # the live curves the page shows (PIL): the widest tick label moves the plot right instead of being cut
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(dp.live_curves_png(df, sc))).convert("L"))
    assert not (grey[:, :3] < 200).any()  # no text cut at the left edge (26 dark pixels there before)
    assert dp._tick_label(1_000_000.0) == "1,000,000" and dp._tick_label(0.2) == "0.2"


def test_hi_res_exports_are_at_least_1600_pixels_wide():
    sc = ds.build_scenario("kropotkin", {"network_width": 30, "network_height": 30, "steps": 20})
    r = dr.Runner(sc)
    r.step(5)
    assert _png_size(r.curves(hi_res=True, title="kropotkin, seed 1"))[0] >= dp.HI_RES_PX
    assert _png_size(r.picture(size_px=dp.HI_RES_PX))[0] >= 30 * (dp.HI_RES_PX // 30)
    net = dr.Runner(ds.build_scenario("baseline", {"population_size": 60, "steps": 20}))
    assert _png_size(net.picture(size_px=dp.HI_RES_PX))[0] == dp.HI_RES_PX


def test_happenings_name_closures_helpers_and_spikes():
    sc = ds.build_scenario("isolation", {"population_size": 60, "steps": 200})
    n = 120
    df = pd.DataFrame({"step": np.arange(n), "helpers": np.r_[np.full(70, 0.5), np.full(50, 0.3)],
                       "relapses": np.r_[np.zeros(100), [6.0], np.zeros(19)]})
    df.loc[40:99, "relapses"] = np.tile([1.0, 0.0, 0.0, 0.0], 15)
    ev = dict(texts.happenings(df, sc))
    assert ev[sc.isolation.start].startswith("meetings close")
    assert "below a third" in ev[70]
    assert ev[100].startswith("relapses spike: 6 today")
    assert texts.latest_happening(df, sc).startswith("Day 100: relapses spike")
    assert texts.latest_happening(df.iloc[:50], sc) == ""  # nothing in the last 30 days


# ----------------------------------------------------------------------------- links and seeds


@pytest.mark.parametrize("text, ok", [("7", 7), (" 42 ", 42), ("0", 0), ("abc", None), ("3.7", None),
                                     ("-5", None), ("", None), ("1e3", None), (str(2**64), None)])
def test_a_seed_is_a_whole_number_or_refused(text, ok):
    seed, why = ds.parse_seed(text)
    assert seed == ok
    assert (why is None) == (ok is not None)
    if why:
        assert "whole number" in why or "outside" in why


def test_a_link_round_trips_every_changed_setting_and_the_seed():
    sc = ds.build_scenario("kropotkin")
    params = {k: s["value"] for k, s in ds.model_params(sc).items()}
    params.update({"game_T": 1.85, "checkins_enabled": not params["checkins_enabled"], "evolution_interval": 3})
    q = ds.link_query("kropotkin", params, 1234, {"present": True})
    assert "game.T=1.85" in q and "seed=1234" in q and "present=true" in q
    assert "network.width" not in q  # unchanged settings stay out of the link
    link = ds.parse_link(q)
    assert link.notices == [] and link.scenario == "kropotkin" and link.seed == 1234
    assert link.options["present"] is True
    rebuilt = ds.build_scenario(link.scenario, link.params, seed=link.seed)
    direct = ds.build_scenario("kropotkin", params, seed=1234)
    assert rebuilt == direct


@pytest.mark.parametrize("query, fragment", [
    ("scenario=../etc/passwd", "not one of the shipped scenarios"),
    ("scenario=kropotkin&game.T=abc", "game.T='abc' ignored: not a number"),
    ("scenario=kropotkin&game.T=99", "ignored: outside"),
    ("scenario=kropotkin&network.width=3.5", "expected a whole number"),
    ("scenario=kropotkin&checkins.enabled=maybe", "expected true or false"),
    ("scenario=kropotkin&evolution.rule=random", "expected one of"),
    ("scenario=kropotkin&seed=-5", "seed '-5' is not a whole number"),
    ("scenario=kropotkin&bogus=1", "'bogus' ignored"),
    ("scenario=kropotkin&fps=0", "fps='0' ignored"),
    ("scenario=kropotkin&seed=1&seed=2", "appears more than once"),
    ("scenario=baseline&population.size=40&network.degree=39", ""),
])
def test_a_bad_link_gives_a_notice_never_an_error(query, fragment):
    link = ds.parse_link(query)
    assert link.scenario in ds.names()
    if fragment:
        assert any(fragment in n for n in link.notices), link.notices
    ds.build_scenario(link.scenario, link.params, seed=link.seed)  # always a community the page can build


# ----------------------------------------------------------------------------- inspecting a member


def test_a_click_maps_to_the_member_under_it():
    assert draw.member_at(0, 0, shown_px=480, lattice=(30, 30)) == 0
    assert draw.member_at(479, 479, shown_px=480, lattice=(30, 30)) == 899
    assert draw.member_at(16 * 3 + 1, 16 * 2 + 1, shown_px=480, lattice=(30, 30)) == 2 * 30 + 3
    assert draw.member_at(100, 300, shown_px=480, lattice=(40, 10)) is None  # below a wide lattice
    pos = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    assert draw.member_at(240, 240, shown_px=480, pos=pos) == 2
    assert draw.member_at(240, 100, shown_px=480, pos=pos) is None


def test_inspecting_a_member_shows_its_state_ties_and_history():
    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 30})
    r = dr.Runner(sc)
    r.step(8)
    plain = r.picture()
    r.choose_member(5)
    m = r.member()
    st = r.model.state_arrays()
    assert m["slot"] == 5 and m["stress"] == pytest.approx(float(st["stress"][5]))
    ptr, nbr, _ = r.model.tie_arrays()
    assert m["ties"] == ptr[6] - ptr[5]
    assert r.picture() != plain  # the member and its ties are marked
    r.step(4)
    h = r._history
    assert h["day"] == list(range(13))  # replayed from day 0, then recorded as the run goes on
    assert h["stress"][-1] == pytest.approx(float(r.model.state_arrays()["stress"][5]))
    # the replay is the same run: day 8's value equals a fresh run's
    fresh = dr.make_page_model(sc)
    for _ in range(8):
        fresh.step()
    assert h["stress"][8] == pytest.approx(float(fresh.state_arrays()["stress"][5]))
    assert _png_size(r.member()["history_png"])[0] > 100
    r.choose_member(None)
    assert r.member() is None and r.picture() != plain  # day 12 now, unmarked


def test_live_curves_show_day_zero_and_only_what_the_scenario_has():
    from PIL import Image

    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 30})
    r = dr.Runner(sc)
    png = r.frame().curves
    with Image.open(io.BytesIO(png)) as im:
        px = np.asarray(im.convert("RGB")).reshape(-1, 3)
    helpers_blue = np.array(dp._rgb("tab:blue"))
    assert (np.abs(px.astype(int) - helpers_blue).sum(axis=1) < 30).sum() > 20  # day 0 drawn (dots + legend)
    x, curves = dp.curve_series(r.columns(), sc)
    assert x.tolist() == [0.0]
    game = ds.build_scenario("nowak-may-1992", {"network_width": 10, "network_height": 10, "steps": 10})
    _, curves = dp.curve_series(dr.Runner(game).columns(), game)
    assert [c.label for c in curves] == ["helpers"]


def test_a_shipped_value_outside_the_page_range_survives_a_reset():
    """death-birth ships R=5, T=6; the page's game sliders span -2..3: a reset used to clamp them."""
    base = ds.build_scenario("death-birth")
    params = {k: s["value"] for k, s in ds.model_params(base).items()}
    again = ds.build_scenario("death-birth", params)
    assert (again.game.R, again.game.T) == (base.game.R, base.game.T) == (5.0, 6.0)
    assert ds.build_scenario("baseline", {"game_T": 9}).game.T == 3.0  # elsewhere the page's range holds


def test_the_pacer_keeps_the_requested_days_per_second_when_frames_are_slow():
    t = [0.0]
    p = dr.Pacer(clock=lambda: t[0])
    days = 0
    for _ in range(20):  # 30 days/s requested at 30 fps, but a frame takes 0.1 s: 10 frames/s
        n = p.due(30, 1)
        p.stepped(n)
        days += n
        t[0] += 0.1
    assert 55 <= days <= 62  # about 30 days/s over 2 s, not the 20 days one day per frame would give
    q = dr.Pacer(clock=lambda: t[0])
    assert q.due(10, 1) == 1  # at the start nothing is owed: one frame's days
    t[0] += 100.0  # the machine stalled: no burst of days afterwards
    assert q.due(10, 1) <= dr.Pacer.MAX_CATCH_UP
    fast = dr.Pacer(clock=lambda: t[0])
    for _ in range(5):  # frames on time: one frame's days each
        assert fast.due(10, 2) == 2
        fast.stepped(2)
        t[0] += 0.2


def test_a_page_model_from_the_day0_cache_runs_exactly_as_a_fresh_one():
    from sim.engines.kernel import KernelModel

    sc = ds.build_scenario("isolation", {"population_size": 80, "steps": 80})
    first = dr.make_page_model(sc)   # fills the cache
    second = dr.make_page_model(sc)  # a copy of the cached day 0
    fresh = KernelModel(sc)
    for _ in range(70):  # through the closure (day 60) and turnover
        first.step()
        second.step()
        fresh.step()
    pd.testing.assert_frame_equal(second.metrics_frame(), fresh.metrics_frame())
    pd.testing.assert_frame_equal(first.metrics_frame(), fresh.metrics_frame())
    for k, v in fresh.state_arrays().items():
        assert np.array_equal(second.state_arrays()[k], v), k
    assert dr.make_page_model(sc).day == 0  # the cached model itself never moved


def test_every_thing_to_try_in_an_info_panel_is_a_control_on_the_page():
    """The Info panel tells visitors which settings to change: each is offered for that scenario."""
    import re

    from sim.info import read_info

    for name in ds.names():
        offered = {ds.dotted_key(k) for k in ds.model_params(ds.build_scenario(name))}
        keys = set(re.findall(r"`([a-z_]+\.[a-z_.]+)`", read_info(name)["Things to try"]))
        assert keys and keys <= offered, (name, keys - offered)


def test_compare_exports_are_slide_sized_and_titled():
    sc_a, sc_b = dr.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=3,
                                 steps=30, members=60)
    a, b = dr.run_metrics(sc_a), dr.run_metrics(sc_b)
    assert _png_size(dp.compare_png(a, b, "A", "B", "baseline, seed 3", hi_res=True))[0] >= dp.HI_RES_PX
    assert _png_size(dp.gap_png([a, a], [b, b], "B - A", hi_res=True))[0] >= dp.HI_RES_PX
    assert _png_size(dp.compare_png(a, b, "A", "B"))[0] < dp.HI_RES_PX  # the page's own stays light
