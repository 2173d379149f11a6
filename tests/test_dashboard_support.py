"""The dashboard's non-UI helpers (dashboards/support.py): controls, guards, drawings, tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dashboards import support as ds
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


def test_engine_is_mesa_for_small_and_kernel_for_large():
    assert ds.page_engine(ds.build_scenario("baseline")) == "agents"
    assert ds.page_engine(ds.build_scenario("kropotkin", {"network_width": 100, "network_height": 100})) == "kernel"


def test_runner_steps_draws_and_resets():
    sc = ds.build_scenario("baseline", {"population_size": 60, "steps": 10})
    r = ds.Runner(sc)
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
    r = ds.Runner(sc, engine="kernel")
    w, h = _png_size(r.picture())
    assert (w, h) == (20 * (480 // 20), 10 * (480 // 20))


def test_member_colors_mark_strategy_and_use():
    st = {"strategy": np.array([1, 0, 1]), "stress": np.zeros(3), "using": np.array([False, False, True])}
    rgb = member_colors = ds.member_colors(st)
    assert tuple(member_colors[0]) == tuple(ds.HELP_RGB.astype(np.uint8))
    assert tuple(rgb[1]) == tuple(ds.COMPETE_RGB.astype(np.uint8))
    assert tuple(rgb[2]) == tuple(ds.USING_RGB.astype(np.uint8))


def test_network_positions_are_stable():
    sc = ds.build_scenario("baseline", {"population_size": 80})
    a = ds.Runner(sc)
    b = ds.Runner(sc)
    assert np.array_equal(a.pos, b.pos)
    a.step(5)
    assert a.frame().picture  # drawn with the same positions


def test_metrics_csv_round_trips():
    r = ds.Runner(ds.build_scenario("baseline", {"population_size": 60, "steps": 10}))
    r.step(3)
    back = pd.read_csv(io.BytesIO(ds.metrics_csv(r.metrics())))
    assert len(back) == 4 and "relapses" in back.columns


# ----------------------------------------------------------------------------- Compare


def test_compare_pair_shares_the_seed_and_differs_in_one_toggle():
    a, b = ds.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=7, steps=30)
    assert a.seed == b.seed == 7
    assert a.checkins.enabled and not b.checkins.enabled
    da, db = a.model_dump(), b.model_dump()
    da["checkins"].pop("enabled"), db["checkins"].pop("enabled")
    assert da == db


def test_compare_arm_a_does_not_depend_on_b():
    a1, _ = ds.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": False}, seed=3, steps=20,
                            members=80)
    a2, _ = ds.compare_pair("baseline", {"checkins.enabled": True}, {"checkins.enabled": True}, seed=3, steps=20,
                            members=80)
    pd.testing.assert_frame_equal(ds.run_metrics(a1), ds.run_metrics(a2))


def test_gap_band_is_zero_for_identical_arms_and_brackets_the_mean():
    sc = load_scenario("baseline", {"population.size": 80, "steps": 20})
    frames = [ds.run_metrics(sc, s) for s in (1, 2, 3)]
    g = ds.gap_band(frames, frames, "using", False)
    assert np.all(g["diff"] == 0)
    other = [ds.run_metrics(sc.model_copy(update={"checkins": sc.checkins.model_copy(update={"enabled": False})}),
                            s) for s in (1, 2, 3)]
    g = ds.gap_band(frames, other, "relapses", True)
    ok = np.isfinite(g["lo"])
    assert np.all(g["lo"][ok] <= g["diff"][ok] + 1e-12) and np.all(g["diff"][ok] <= g["hi"][ok] + 1e-12)
    assert ds.compare_png(frames[0], other[0], "A", "B")[:4] == b"\x89PNG"
    assert ds.gap_png(frames, other)[:4] == b"\x89PNG"


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


def test_line_and_heat_tables():
    df = _runs_table()
    t = ds.line_table(df, "game.T", "mean_using")
    assert list(t["game.T"]) == [1.0, 1.5, 2.0] and (t["n"] == 6).all()
    assert (t["lo"] <= t["mean"]).all() and (t["mean"] <= t["hi"]).all()
    h = ds.heat_table(df, "game.T", "network.degree", "final_helpers")
    assert h.shape == (2, 3)
    assert ds.results_png(df, "mean_using", "game.T")[:4] == b"\x89PNG"
    assert ds.results_png(df, "mean_using", "game.T", "network.degree")[:4] == b"\x89PNG"


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

    res = ds.trial_result("baseline", "checkins", 4)
    html = res["handout"].decode("utf-8")
    assert res["headline"].startswith("Without check-ins: ") and "4 paired runs" in res["headline"]
    assert res["headline"] in html and "not a clinical prediction" in html and "data:image/png;base64," in html
    assert res["png"].startswith(b"\x89PNG") and "hazard ratio of a first lapse" in res["effects"]
    assert ds.trial_result("baseline", "checkins", 4) is res  # computed once per server
    assert ds.trial_eligible("isolation-with-checkins", "checkins") and not ds.trial_eligible("isolation", "checkins")
