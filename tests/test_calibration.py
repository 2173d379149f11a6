"""mutualaid calibrate (sim.experiments.calibration): ABC-SMC with replicates, budgets, resume and its outputs;
and the check that the method recovers known parameters."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.core.scenarios import ScenarioError
from sim.experiments import abcfit, calibration
from sim.experiments.calibrate import SPACE

pytest.importorskip("pyabc")

#: baseline with a short burn-in (the file says why)
SMALL = str(Path(__file__).with_name("calibration-small.yaml"))
TWO = ("psychology.lapse_max", "sponsorship.ask_prob")  # the lapse curve's height, the share sponsored
TINY = dict(parameters=",".join(TWO), replicates=2, population=6, size=200, workers=1)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_ess_is_kish():
    assert calibration.kish_ess([1, 1, 1, 1]) == pytest.approx(4)
    assert calibration.kish_ess([1, 0, 0]) == pytest.approx(1)
    assert calibration.kish_ess([2, 1]) == pytest.approx(9 / 5)
    assert calibration.kish_ess([0.2, 0.2, 0.6]) == pytest.approx(1 / (0.04 + 0.04 + 0.36))


def test_parameters_are_fitted_keys():
    assert calibration.parameter_keys(None) == abcfit.SCREENED
    assert calibration.parameter_keys("all") == tuple(SPACE)
    assert calibration.parameter_keys("sponsorship.ask_prob, psychology.lapse_max") == TWO  # SPACE's order
    for bad in ("nosuch.key", "population.size", "psychology.lapse_max,psychology.lapse_max", ""):
        with pytest.raises(ScenarioError):
            calibration.parameter_keys(bad)


def test_each_replicate_has_its_own_calibration_seed():
    theta = {k: (lo + hi) / 2 for k, (lo, hi) in SPACE.items()}
    s = calibration.seeds(theta, 5)
    assert s[0] == abcfit._seed(theta)  # one replicate: the seed abcfit always gave
    assert len(set(s)) == 5 and all(0 <= x < 1000 for x in s)  # calibration seeds only, never validation's
    assert s == calibration.seeds(dict(reversed(list(theta.items()))), 5)


def test_weighted_rank():
    assert calibration.weighted_rank([1, 2, 3, 4], [1, 1, 1, 1], 2.5) == pytest.approx(0.5)
    assert calibration.weighted_rank([1, 2, 3, 4], [0, 0, 0, 1], 3.5) == pytest.approx(0.0)
    assert calibration.weighted_rank([1, 2], [1, 1], 2) == pytest.approx(0.75)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One generation of a tiny calibration, then resumed for a second."""
    out = tmp_path_factory.mktemp("cal") / "baseline"
    lines = []
    first = calibration.calibrate(SMALL, generations=1, out=out, progress=lines.append, **TINY)
    db_before = (out / calibration.DB_FILE).stat().st_ino
    second = calibration.calibrate(SMALL, generations=2, out=out, progress=lines.append, **TINY)
    return out, first, second, lines, db_before


def test_outputs_have_the_documented_columns_and_keys(stored):
    out, first, second, lines, _ = stored
    for name in (*calibration.OUTPUTS, calibration.DB_FILE, calibration.SETTINGS_FILE):
        assert (out / name).is_file(), name
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == [*TWO, "weight"] and len(post) == 6
    for k in TWO:
        assert post[k].between(*SPACE[k]).all()
    s = json.loads((out / "summary.json").read_text())
    for key in ("parameters", "prior", "effective_sample_size", "quantiles", "defaults", "generations",
                "simulations", "minutes", "seeds", "code_version", "replicates", "sampler"):
        assert key in s, key
    assert s["effective_sample_size"] == pytest.approx(calibration.kish_ess(post["weight"]))
    for k in TWO:
        q = s["quantiles"][k]
        assert SPACE[k][0] <= q["q05"] <= q["q50"] <= q["q95"] <= SPACE[k][1]
        assert s["defaults"][k]["position"] in ("below", "inside", "above")
    assert all(0 <= x < 1000 for x in s["seeds"]["last_generation"])
    assert "no Dask" in s["sampler"] and "no Dask" in (out / "report.md").read_text()
    assert any(line.startswith("generation 0:") and "ESS" in line and "simulations so far" in line for line in lines)


def test_resume_continues_the_stored_run(stored):
    out, first, second, lines, db_before = stored
    assert first.summary["generations"] == 1 and second.summary["generations"] == 2
    assert second.summary["simulations"] > first.summary["simulations"]
    assert (out / calibration.DB_FILE).stat().st_ino == db_before  # the same database, continued
    assert any(line.startswith("resuming") for line in lines)


def test_a_resume_with_other_settings_is_refused_in_one_line(stored, capsys):
    out = stored[0]
    before = digest(out)
    with pytest.raises(ScenarioError, match="replicates 2, not 3") as e:
        calibration.calibrate(SMALL, generations=3, out=out, **{**TINY, "replicates": 3})
    assert "\n" not in str(e.value)
    assert main(["calibrate", SMALL, "--parameters", "all", "--replicates", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "parameters" in err
    assert digest(out) == before


@pytest.mark.parametrize("argv", [
    ["--parameters", "nosuch.key"], ["--parameters", "population.size"], ["--budget-sims", "0"],
    ["--budget-minutes", "0"], ["--budget-minutes", "nan"], ["--replicates", "0"], ["--population", "1"],
    ["--method", "npe"], ["--size", "3"],
])
def test_bad_input_exits_2_in_one_line_and_leaves_the_folder(stored, argv, capsys):
    out = stored[0]
    before = digest(out)
    assert main(["calibrate", "baseline", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mutualaid: error:") and "\n" not in err
    assert digest(out) == before


def test_a_folder_of_something_else_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="not a calibration"):
        calibration.calibrate(SMALL, out=tmp_path, **TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_budget_stops_the_run_at_the_end_of_a_generation(tmp_path):
    res = calibration.calibrate(SMALL, generations=4, budget_sims=1, out=tmp_path / "b", **TINY)
    assert res.summary["generations"] == 1 and "budget" in res.stopped
    assert res.summary["simulations"] >= 1


def test_known_parameters_are_recovered_within_their_90_percent_ranges(tmp_path):
    """Synthetic data from known parameters (the particles' statistic: the mean of 2 runs of 200 members),
    fitted back: each truth lies in its posterior's 90% range. A failure means the method or this setup is
    wrong, not an unlucky seed. (16 particles: with 8, a weighted 5-95% range is about the sample's extremes,
    and a perfect posterior's draws miss the truth on one side or the other about one time in five.)"""
    truth = {"psychology.lapse_max": 0.05, "sponsorship.ask_prob": 0.06}
    observed = calibration.Simulator(SMALL, 200, 2)(truth)
    res = calibration.calibrate(SMALL, parameters=TWO, replicates=2, population=16, generations=2, size=200,
                                workers=1, out=tmp_path / "r", observed=observed, truth=truth)
    q = res.summary["quantiles"]
    for k, v in truth.items():
        assert q[k]["q05"] <= v <= q[k]["q95"], (k, v, q[k])
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["truth"] == truth


def test_the_sbc_check_writes_ranks_and_coverage(tmp_path):
    res = calibration.sbc(SMALL, 2, parameters=TWO, replicates=1, population=4, generations=1, size=200,
                          workers=1, out=tmp_path / "check")
    assert set(res["coverage"]) == set(TWO) and len(res["truths"]) == 2
    for row in res["truths"]:
        for k in TWO:
            assert 0 <= row["ranks"][k] <= 1 and SPACE[k][0] <= row["truth"][k] <= SPACE[k][1]
    for c in res["coverage"].values():
        assert 0 <= c["50%"] <= c["90%"] <= 1
    for name in ("sbc.json", "sbc.md", "ranks.png", "truth_0/summary.json", "truth_1/posterior.parquet"):
        assert (tmp_path / "check" / name).is_file(), name


def test_the_helper_ratio_is_bounded_when_no_non_helper_stays_abstinent():
    from sim.experiments.calibrate import TARGETS

    p = {k: m for k, (m, _) in TARGETS.items()}
    p.update(entry_helpers_abstinent_km=0.5, entry_nonhelpers_abstinent_km=0.0)
    assert abcfit.patterns(p)["helper_ratio"] == pytest.approx(0.5 / abcfit.RATIO_FLOOR)
