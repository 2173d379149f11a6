"""Screening and adaptive replication (issue 14, item 6): Morris elementary effects as a sampling method and
in the report, the share of a metric's variance due to seeds, and replicates added until each point's
interval is narrow enough (reproducible, resumable, the same on any number of workers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from tests.test_sweep import write
from sim.experiments.report import morris_indices, seed_share
from sim.experiments.sweep import (ci_widths, extra_replicates, load_sweep, morris_design, run_sweep)

TINY = {"population.size": 40}


def morris(**extra) -> dict:
    data = {"name": "screen", "scenario": "baseline", "seed": 21, "replicates": 1, "steps": 10,
            "sampling": "morris", "samples": 3,
            "parameters": {"population.initial_helpers": {"low": 0.1, "high": 0.9},
                           "checkins.prob": {"low": 0.0, "high": 1.0}, **TINY},
            "metrics": ["mean_helpers", "relapses"]}
    data.update(extra)
    return data


def runs_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


# ----------------------------------------------------------------------------- Morris design


def test_morris_design_is_reproducible_from_the_seed_and_has_r_trajectories_of_k_plus_1_points(tmp_path):
    data = morris(samples=5, levels=6,
                  parameters={"population.initial_helpers": {"low": 0.1, "high": 0.9},
                              "checkins.prob": {"low": 0.0, "high": 1.0},
                              "sponsorship.capacity": {"low": 1, "high": 9}, **TINY})
    a = load_sweep(write(tmp_path, data, "a.yaml"))
    b = load_sweep(write(tmp_path, data, "b.yaml"))
    assert len(a.points) == 5 * (3 + 1) and a.design.shape == (20, 3)
    assert a.points == b.points and (a.design == b.design).all()
    other = load_sweep(write(tmp_path, {**data, "seed": 22}, "c.yaml"))
    assert other.points != a.points
    # a grid of 6 levels per range, integer keys rounded, and in each trajectory one parameter moves per row
    unit = (a.design - [0.1, 0.0, 1]) / [0.8, 1.0, 8]
    assert np.allclose(unit * 5, np.round(unit * 5))
    assert all(isinstance(p["sponsorship.capacity"], int) for p in a.points)
    steps = np.diff(unit.reshape(5, 4, 3), axis=1)
    assert ((np.abs(steps) > 1e-12).sum(axis=2) == 1).all()
    assert np.allclose(np.abs(steps[np.abs(steps) > 1e-12]), 6 / (2 * 5))
    # the file's levels are part of the fingerprint (a different design), and the default is 4
    assert load_sweep(write(tmp_path, {**data, "levels": 4}, "d.yaml")).fingerprint() != a.fingerprint()
    assert load_sweep(write(tmp_path, morris(), "e.yaml")).levels == 4


@pytest.mark.parametrize("change, expected", [
    ({"levels": 3}, "levels = 3: must be an even integer >= 2"),
    ({"levels": 0}, "levels = 0: must be an even integer >= 2"),
    ({"levels": "four"}, "levels = 'four': must be an even integer >= 2"),
    ({"levels": True}, "levels = True: must be an even integer >= 2"),
    ({"samples": 1}, "samples = 1: Morris screening needs at least 2 trajectories"),
    ({"samples": None}, "samples: required with sampling: morris (an integer >= 2"),
    ({"sampling": "latin", "levels": 4}, "levels = 4: only with sampling: morris"),
    ({"parameters": {"checkins.prob": [0.1, 0.2]}}, "a list expands only with sampling: grid"),
    ({"parameters": {"sponsorship.capacity": {"low": 1, "high": 2}}},
     "an integer key needs Morris steps of at least 1, here 0.667"),
    ({"until_ci": {"metric": "mean_helpers"}}, "until_ci = {'metric': 'mean_helpers'}: must be a mapping"),
    ({"until_ci": {"metric": "helper", "width": 0.1}, "max_replicates": 4},
     "until_ci: metric: unknown metric 'helper'"),
    ({"until_ci": {"metric": "mean_helpers", "width": 0}, "max_replicates": 4}, "width = 0: must be a number > 0"),
    ({"until_ci": {"metric": "mean_helpers", "width": 0.1}}, "max_replicates: required with until_ci"),
    ({"until_ci": {"metric": "mean_helpers", "width": 0.1}, "max_replicates": 1},
     "max_replicates = 1: must be an integer >= 2"),
    ({"max_replicates": 4}, "max_replicates = 4: only with until_ci"),
])
def test_bad_morris_and_adaptive_keys_get_one_line_and_exit_2(tmp_path, capsys, change, expected):
    data = morris(**change)
    data = {k: v for k, v in data.items() if v is not None}
    path = write(tmp_path, data)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert str(path) in err and expected in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, expected", [
    (["--until-ci", "mean_helpers"], "--until-ci 'mean_helpers': expected METRIC=WIDTH"),
    (["--until-ci", "mean_helpers=wide", "--max-replicates", "4"], "expected METRIC=WIDTH"),
    (["--until-ci", "mean_helpers=0.1"], "--until-ci: --max-replicates: required with until_ci"),
    (["--max-replicates", "4"], "--max-replicates 4: only with --until-ci"),
    (["--until-ci", "nope=0.1", "--max-replicates", "4"], "--until-ci: until_ci: metric: unknown metric 'nope'"),
    # a cap that could not be held is refused before anything is built (as `replicates: 100000000` is)
    (["--until-ci", "mean_helpers=0.1", "--max-replicates", "100000000"],
     "--max-replicates 100,000,000 = "),
])
def test_bad_adaptive_options_get_one_line_and_exit_2(tmp_path, capsys, flags, expected):
    path = write(tmp_path, morris())
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err, err
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- Morris analysis


def synthetic_morris(seed: int, effect_b: float, replicates: int = 2, noise: float = 0.05):
    """A runs table of a Morris design in (a, b, c) with metric = 5 a + effect_b * b + noise (c does nothing)."""
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]}
    x = morris_design(problem, 20, 4, seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    for p, (a, b, c) in enumerate(x):
        for r in range(replicates):
            rows.append({"run_id": p * replicates + r, "point": p, "a": a, "b": b, "c": c, "replicate": r,
                         "error": None, "m": 5 * a + effect_b * b + noise * rng.standard_normal()})
    meta = {"problem": problem, "n_points": len(x), "levels": 4, "design": x.tolist(), "spec": {"seed": seed}}
    return pd.DataFrame(rows), meta


def test_morris_analysis_recovers_a_known_ranking():
    runs, meta = synthetic_morris(seed=4, effect_b=0.1)
    table, notes = morris_indices(runs, meta, ["m"])
    assert not notes
    t = table.set_index("parameter")
    # a linear response: mu* is the coefficient (per whole range), sigma is the noise only
    assert t.loc["a", "mu_star"] == pytest.approx(5, abs=0.1)
    assert t.loc["a", "mu_star"] > 20 * t.loc["b", "mu_star"]
    assert t.loc["b", "mu_star"] > t.loc["c", "mu_star"]
    assert t.loc["a", "mu_star"] - t.loc["a", "mu_star_conf"] > t.loc["b", "mu_star"] + t.loc["b", "mu_star_conf"]
    assert t.loc["a", "mu"] == pytest.approx(5, abs=0.1) and t.loc["a", "sigma"] < 0.2
    assert (table["replicates"] == "2").all()
    again, _ = morris_indices(runs, meta, ["m"])
    pd.testing.assert_frame_equal(table, again)  # the bootstrap is seeded
    # the response of a point is the mean over its replicates
    one, _ = morris_indices(runs.groupby("point", as_index=False).agg(
        {"run_id": "first", "a": "first", "b": "first", "c": "first", "replicate": "first", "error": "first",
         "m": "mean"}), meta, ["m"])
    assert np.allclose(one["mu_star"], table["mu_star"]) and np.allclose(one["sigma"], table["sigma"])


def test_seed_share_is_0_for_identical_replicates_and_near_1_without_parameter_effects():
    runs, _ = synthetic_morris(seed=5, effect_b=0.1, noise=0.0)
    assert seed_share(runs, "m") == 0.0
    flat = runs.assign(m=np.random.default_rng(1).standard_normal(len(runs)))  # only the seeds matter
    assert 0.85 < seed_share(flat, "m") <= 1.0
    assert np.isnan(seed_share(runs[runs["replicate"] == 0], "m"))  # one replicate: n/a


def test_report_of_a_tiny_morris_sweep_has_the_table_and_the_plot(tmp_path, capsys):
    path = write(tmp_path, morris(replicates=2))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    assert json.loads((out / "sweep.json").read_text())["levels"] == 4
    assert main(["report", str(out)]) == 0
    assert "morris.csv" in capsys.readouterr().out
    table = pd.read_csv(out / "morris.csv")
    assert list(table.columns) == ["metric", "parameter", "mu_star", "mu_star_conf", "mu", "sigma", "replicates",
                                   "seed_share"]
    assert len(table) == 2 * 2 and (table["replicates"] == 2).all()
    helpers = table[table["metric"] == "mean_helpers"].set_index("parameter")
    # the initial share of helpers sets the mean share of helpers (no evolution in the baseline): it dominates
    assert helpers.loc["population.initial_helpers", "mu_star"] > 5 * helpers.loc["checkins.prob", "mu_star"]
    assert 0 <= helpers["seed_share"].iloc[0] < 0.5
    from matplotlib.image import imread

    img = imread(out / "plots" / "morris.png")
    assert img.shape[1] > 800 and np.ptp(img[..., :3]) > 0.5
    md = (out / "report.md").read_text()
    assert "## Morris screening" in md and "mean of the metric over its replicates" in md
    assert "| mean_helpers | population.initial_helpers |" in md and "plots/morris.png" in md
    assert "Share of the variance due to seeds" in md


def test_sobol_report_gives_the_seed_share_beside_the_indices(tmp_path):
    data = {"name": "sobol", "scenario": "baseline", "seed": 5, "replicates": 1, "steps": 5,
            "sampling": "saltelli", "samples": 4,
            "parameters": {"population.initial_helpers": {"low": 0.0, "high": 1.0},
                           "checkins.prob": {"low": 0.0, "high": 1.0}, "population.size": 30},
            "metrics": ["mean_helpers"]}
    out = tmp_path / "out"
    run_sweep(load_sweep(write(tmp_path, data)), out, workers=1)
    assert main(["report", str(out), "-q"]) == 0
    sobol = pd.read_csv(out / "sobol.csv")
    assert {"S1_conf", "ST_conf", "seed_share"} <= set(sobol.columns)
    assert sobol["seed_share"].isna().all()  # one replicate: the seeds' part cannot be told apart
    md = (out / "report.md").read_text()
    assert "| mean_helpers | n/a |" in md


# ----------------------------------------------------------------------------- adaptive replication


def test_widths_and_extra_replicates_follow_the_rule():
    v = np.array([[1.0, 2, 3, np.nan], [1, 1, 1, 1], [np.nan] * 4, [5, np.nan, np.nan, np.nan]])
    w = ci_widths(v)
    from sim.experiments.report import mean_ci

    _, lo, hi, _ = mean_ci([1.0, 2, 3])
    assert w[0] == pytest.approx(hi - lo) and w[1] == 0 and np.isnan(w[2]) and w[3] == np.inf
    # wide: grows (at most doubling), narrow: stops, no finished run: stops, one run: doubles, never past the cap
    assert extra_replicates(np.array([4, 4, 4, 4]), w, 0.5, 10).tolist() == [4, 0, 0, 4]
    assert extra_replicates(np.array([4, 4, 4, 4]), w, 0.5, 6).tolist() == [2, 0, 0, 2]
    assert extra_replicates(np.array([4, 4, 4, 4]), w, 4.0, 10).tolist() == [3, 0, 0, 4]  # ceil(4 (4.97/4)^2) = 7
    assert extra_replicates(np.array([4]), w[:1], 5.0, 10).tolist() == [0]
    # all runs agree: narrow from three finished runs, not from two (two equal counts are common)
    zero = np.array([0.0, 0.0, 0.0])
    assert extra_replicates(np.array([2, 3, 2]), zero, 0.1, 8, finished=np.array([2, 3, 2])).tolist() == [1, 0, 1]
    assert extra_replicates(np.array([2]), zero[:1], 0.1, 2, finished=np.array([2])).tolist() == [0]  # the cap


def adaptive(**extra) -> dict:
    data = {"name": "adapt", "scenario": "baseline", "seed": 3, "replicates": 2, "steps": 10,
            "parameters": {"population.initial_helpers": [0.2, 0.8], **TINY},
            "metrics": ["mean_helpers"], "until_ci": {"metric": "mean_helpers", "width": 0.08},
            "max_replicates": 6}
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adapt")
    path = write(tmp, adaptive())
    sw = load_sweep(path)
    res = run_sweep(sw, tmp / "one", workers=1)
    return tmp, path, sw, res


def test_adaptive_replication_stops_at_the_width_or_the_cap(adapted):
    tmp, path, sw, res = adapted
    runs = runs_of(tmp / "one")
    n = runs.groupby("point").size()
    widths = ci_widths([np.pad(g["mean_helpers"].to_numpy(float), (0, n.max() - len(g)), constant_values=np.nan)
                        for _, g in runs.groupby("point")])
    assert (n <= 6).all()                                          # the cap
    assert ((widths <= 0.08) | (n.to_numpy() == 6)).all()          # every point narrow enough, or capped
    assert res.adaptive["reached"] == int((widths <= 0.08).sum()) >= 1
    assert res.adaptive["capped"] == int(((widths > 0.08) & (n.to_numpy() == 6)).sum()) >= 1
    assert res.adaptive["extra_runs"] == len(runs) - 4 == res.total - 4 > 0
    # rounds: point 0 has 2, 4, then 6 runs (narrow at 6), point 1 (its first two runs agree) 2, 3, 5, 6 (the cap)
    assert n.tolist() == [6, 6] and res.adaptive["rounds"] == 3
    # added replicates: the seeds of a sweep planned with more replicates, ids after the planned runs
    bigger = load_sweep(write(tmp, adaptive(replicates=6, until_ci=None, max_replicates=None), "big.yaml"))
    seeds = bigger.seeds()
    for r in runs.itertuples():
        assert r.seed == seeds[r.point, r.replicate]
        assert r.run_id == (r.point * 2 + r.replicate if r.replicate < 2 else r.replicate * 2 + r.point)


def test_adaptive_replication_adds_nothing_to_a_point_already_narrow_enough(tmp_path):
    res = run_sweep(load_sweep(write(tmp_path, adaptive(until_ci={"metric": "mean_helpers", "width": 0.5}))),
                    tmp_path / "out", workers=1)
    n = runs_of(tmp_path / "out").groupby("point").size()
    # point 0 (interval 0.32 wide from its 2 runs) gets none; point 1, whose 2 runs agree, gets one: narrow at 3
    assert n.tolist() == [2, 3] and res.adaptive["reached"] == 2 and res.adaptive["capped"] == 0
    assert res.adaptive["extra_runs"] == 1 and res.adaptive["rounds"] == 1


def test_adaptive_replication_is_the_same_on_two_workers_and_a_rerun_runs_nothing(adapted, capsys):
    tmp, path, sw, res = adapted
    two = tmp / "two"
    assert main(["sweep", str(path), "--out", str(two), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{res.adaptive['reached']} of 2 points reached it, {res.adaptive['capped']} hit the cap" in out
    pd.testing.assert_frame_equal(runs_of(two), runs_of(tmp / "one"))
    # the same command again: everything planned is done, nothing runs
    assert main(["sweep", str(path), "--out", str(two), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{res.total} already done, 0 run now" in out
    manifest = json.loads((two / "manifest.json").read_text())
    assert manifest["ran"] == 0 and manifest["adaptive"]["extra_runs"] == res.adaptive["extra_runs"]


def test_a_higher_cap_from_the_command_line_runs_only_the_new_replicates(adapted, tmp_path, capsys):
    tmp, path, sw, res = adapted
    import shutil

    folder = tmp_path / "more"
    shutil.copytree(tmp / "one", folder)
    before = runs_of(folder)
    assert main(["sweep", str(path), "--out", str(folder), "--workers", "1", "--until-ci", "mean_helpers=0.08",
                 "--max-replicates", "8"]) == 0
    out = capsys.readouterr().out
    after = runs_of(folder)
    n = after.groupby("point").size()
    assert n.max() == 8 and len(after) > len(before)
    assert f"{len(before)} already done, {len(after) - len(before)} run now" in out
    pd.testing.assert_frame_equal(after[after["run_id"].isin(before["run_id"])].reset_index(drop=True), before)
    # and the report counts the planned runs as complete, the added ones apart
    assert main(["report", str(folder), "-q"]) == 0
    md = (folder / "report.md").read_text()
    assert f"+ {len(after) - 4} added by adaptive replication" in md and "incomplete" not in md
    assert "hit the cap of 8 replicates" in md
