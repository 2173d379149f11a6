"""``mutualaid report``: summary per point with intervals, plots that show something, Sobol indices."""

from __future__ import annotations

import json

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.experiments.report import mean_ci
from sim.experiments.sweep import load_sweep, run_sweep

TINY = {"population.size": 30}


def sweep_folder(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, workers=1)
    return out


def assert_png_shows_something(path: Path) -> None:
    from matplotlib.image import imread

    assert path.stat().st_size > 5_000
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert np.ptp(img[..., :3]) > 0.5  # not a blank canvas


def test_mean_ci_is_a_t_interval():
    mean, lo, hi, n = mean_ci([1.0, 2.0, 3.0, np.nan])
    assert (mean, n) == (2.0, 3)
    assert lo == pytest.approx(2 - 4.302653 / np.sqrt(3), rel=1e-5) and hi == pytest.approx(2 + 4.302653 / np.sqrt(3), rel=1e-5)


def test_grid_report_has_summary_plots_heatmaps_and_markdown(tmp_path, capsys):
    out = sweep_folder(tmp_path, {
        "name": "grid", "scenario": "baseline", "seed": 3, "replicates": 3, "steps": 8,
        "parameters": {"checkins.prob": [0.0, 1.0], "population.initial_helpers": [0.2, 0.5, 0.8], **TINY},
        "metrics": ["mean_helpers", "relapses"]})
    assert main(["report", str(out)]) == 0
    assert "report.md" in capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 6 and (summary["n"] == 3).all() and (summary["failed"] == 0).all()
    assert {"mean_helpers", "mean_helpers_ci_low", "mean_helpers_ci_high", "total_relapses"} <= set(summary.columns)
    assert (summary["mean_helpers_ci_low"] <= summary["mean_helpers"] + 1e-12).all()
    runs = pd.read_parquet(out / "runs.parquet")
    first = runs[runs["point"] == 0]["mean_helpers"]
    assert summary.loc[0, "mean_helpers"] == pytest.approx(first.mean())
    for name in ["mean_helpers.png", "total_relapses.png",
                 "heatmap_mean_helpers__checkins.prob__population.initial_helpers.png"]:
        assert_png_shows_something(out / "plots" / name)
    md = (out / "report.md").read_text()
    assert "plots/mean_helpers.png" in md and "## Heatmaps" in md and "| point |" in md


def test_saltelli_report_has_sobol_indices_with_intervals(tmp_path):
    out = sweep_folder(tmp_path, {
        "name": "sobol", "scenario": "baseline", "seed": 5, "replicates": 1, "steps": 5,
        "sampling": "saltelli", "samples": 8,
        "parameters": {"population.initial_helpers": {"low": 0.0, "high": 1.0},
                       "checkins.prob": {"low": 0.0, "high": 1.0}, **TINY},
        "metrics": ["mean_helpers"]})
    assert main(["report", str(out), "-q"]) == 0
    sobol = pd.read_csv(out / "sobol.csv")
    assert sobol["parameter"].tolist() == ["population.initial_helpers", "checkins.prob"]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(sobol.columns)
    # the initial share of helpers drives the mean share of helpers (no evolution): it dominates
    s = sobol.set_index("parameter")
    assert s.loc["population.initial_helpers", "ST"] > 0.5 > s.loc["checkins.prob", "ST"]
    assert_png_shows_something(out / "plots" / "sobol.png")
    assert_png_shows_something(out / "plots" / "mean_helpers.png")
    assert "## Sobol indices" in (out / "report.md").read_text()


def test_report_of_a_folder_that_is_not_a_sweep_is_bad_input(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no sweep.json here" in err and err.count("\n") == 1


@pytest.mark.parametrize("damage,fragment", [
    (lambda d: (d / "sweep.json").write_text("{not json"), "sweep.json: unreadable (JSONDecodeError"),
    (lambda d: (d / "sweep.json").write_text("[1, 2]"), "not a sweep description"),
    (lambda d: (d / "sweep.json").write_text('{"metrics": []}'), "missing parameters"),
    (lambda d: (d / "runs.parquet").write_bytes(b"PAR1 truncated"), "a results file cannot be read"),
])
def test_a_damaged_sweep_folder_is_bad_input_exit_2(tmp_path, capsys, damage, fragment):
    out = sweep_folder(tmp_path, {"name": "d", "scenario": "baseline", "seed": 1, "steps": 3,
                                  "parameters": {"checkins.prob": [0.0, 1.0], **TINY}})
    damage(out)
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def _edit_meta(d, **change):
    meta = json.loads((d / "sweep.json").read_text())
    meta.update(change)
    (d / "sweep.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("change,fragment", [
    ({"parameters": 5}, "parameters = 5: expected a list of parameter names"),
    ({"parameters": ["checkins.prob", 3]}, "expected a list of parameter names"),
    ({"parameters": ["no.such"]}, "no column 'no.such'"),
    ({"metrics": "relapses"}, "metrics = 'relapses': expected a list"),
    ({"n_points": "many"}, "n_points = 'many': expected a whole number >= 1"),
    ({"n_points": True}, "n_points = True"),
    ({"replicates": -1}, "replicates = -1"),
    ({"sampling": "sobol"}, "sampling = 'sobol': expected one of grid"),
    ({"sampling": "saltelli", "problem": None}, "problem = None"),
    ({"spec": [1]}, "spec = [1]: expected a mapping"),
])
def test_a_sweep_json_with_wrong_types_is_bad_input_exit_2(tmp_path, capsys, change, fragment):
    """A sweep.json that parses but holds the wrong types (hand-edited) used to end in an internal error."""
    out = sweep_folder(tmp_path, {"name": "d", "scenario": "baseline", "seed": 1, "steps": 3,
                                  "parameters": {"checkins.prob": [0.0, 1.0], **TINY}})
    _edit_meta(out, **change)
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "sweep.json" in err[0], err


def test_phase_diagram_of_a_death_birth_sweep_draws_the_exact_threshold(tmp_path, capsys):
    out = sweep_folder(tmp_path, {
        "name": "phase", "scenario": "death-birth", "seed": 1, "replicates": 1, "steps": 30,
        "parameters": {"donation.b_over_c": [1, 4, 16], "network.degree": [2, 4], "psychology.enabled": [False, True],
                       "population.size": 30},
        "metrics": ["final_helpers", "final_mean_stress"]})
    assert main(["report", str(out)]) == 0
    assert_png_shows_something(out / "plots" / "phase_diagram.png")
    md = (out / "report.md").read_text()
    assert "## Phase diagram" in md and "Allen et al. (2017)" in md
    rows = [line.split("|")[1:-1] for line in md.splitlines() if line.startswith("| off |")]
    exact = {int(r[1]): float(r[3]) for r in rows}
    assert exact == pytest.approx({2: 28 / 13, 4: 28 / 5.5}, rel=1e-3)  # (N - 2)/(N/k - 2), N = 30


def test_no_phase_diagram_without_benefit_cost_and_degree(tmp_path):
    out = sweep_folder(tmp_path, {
        "name": "grid", "scenario": "baseline", "seed": 3, "replicates": 1, "steps": 5,
        "parameters": {"checkins.prob": [0.0, 1.0], **TINY}, "metrics": ["mean_helpers"]})
    assert main(["report", str(out)]) == 0
    assert "## Phase diagram" not in (out / "report.md").read_text()
    assert not (out / "plots" / "phase_diagram.png").exists()


def test_report_names_are_readable():
    from sim.experiments.report import label

    assert label("mean_mean_stress") == "mean stress (mean over days)"
    assert label("final_helpers") == "helpers (last day)"
    assert label("total_relapses") == "relapses (total)"
    assert label("network.degree") == "network.degree"
