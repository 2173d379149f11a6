"""Sweeps: the grammar, seeds fixed in the parent, identical results on any number of
workers (and on Dask), resume after a kill, failing runs recorded, changed files refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.experiments.sweep import SweepError, SweepProgress, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
TINY = {"population.size": 30}


def write(tmp_path: Path, data: dict, name: str = "sweep.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def grid(**extra) -> dict:
    data = {"name": "tiny", "scenario": "baseline", "seed": 11, "replicates": 2, "steps": 6,
            "parameters": {"checkins.prob": [0.0, 1.0], "sponsorship.capacity": [1, 3], **TINY},
            "metrics": ["relapses", "final_abstinent", "mean_helpers"]}
    data.update(extra)
    return data


def runs_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


# ----------------------------------------------------------------------------- grammar


def test_lists_expand_to_a_full_grid_and_scalars_stay_fixed(tmp_path):
    sw = load_sweep(write(tmp_path, grid(parameters={"checkins.prob": [0.0, 0.5, 1.0], "isolation.duration": [30, 90],
                                                      "population.size": 40})))
    assert sw.parameters == ["checkins.prob", "isolation.duration"]
    assert sw.fixed == {"population.size": 40}
    assert len(sw.points) == 6 and sw.n_runs == 12
    assert sw.points[:2] == [{"checkins.prob": 0.0, "isolation.duration": 30},
                             {"checkins.prob": 0.0, "isolation.duration": 90}]
    tasks = sw.tasks()
    assert [t["run_id"] for t in tasks] == list(range(12))
    scs = [sw.task_scenario(t) for t in tasks]
    assert all(sc.population.size == 40 and sc.steps == 6 for sc in scs)
    assert [sc.seed for sc in scs] == [t["seed"] for t in tasks]
    assert scs[3].isolation.duration == 90 and tasks[3]["replicate"] == 1


def test_seeds_are_fixed_in_the_parent_and_common_across_points_by_default(tmp_path):
    sw = load_sweep(write(tmp_path, grid()))
    seeds = sw.seeds()
    assert seeds.shape == (4, 2)
    assert (seeds == seeds[0]).all() and seeds[0, 0] != seeds[0, 1]
    assert (load_sweep(write(tmp_path, grid(), "again.yaml")).seeds() == seeds).all()
    indep = load_sweep(write(tmp_path, grid(common_seeds=False), "indep.yaml")).seeds()
    assert len(np.unique(indep)) == indep.size
    other = load_sweep(write(tmp_path, grid(seed=12), "other.yaml")).seeds()
    assert not np.isin(other, seeds).any()


def test_latin_and_saltelli_designs_stay_in_their_ranges(tmp_path):
    ranges = {"checkins.prob": {"low": 0.1, "high": 0.9}, "isolation.duration": {"low": 10, "high": 100}, **TINY}
    lhs = load_sweep(write(tmp_path, grid(sampling="latin", samples=10, parameters=ranges)))
    assert len(lhs.points) == 10
    probs = np.array([p["checkins.prob"] for p in lhs.points])
    assert ((probs >= 0.1) & (probs <= 0.9)).all()
    # a Latin hypercube puts exactly one point in each tenth of every range
    assert sorted(np.floor((probs - 0.1) / 0.08).astype(int).clip(0, 9)) == list(range(10))
    assert all(isinstance(p["isolation.duration"], int) for p in lhs.points)
    sal = load_sweep(write(tmp_path, grid(sampling="saltelli", samples=8, parameters=ranges), "s.yaml"))
    assert len(sal.points) == 8 * (2 + 2)
    assert sal.problem()["names"] == ["checkins.prob", "isolation.duration"]


def test_donation_keys_set_the_game(tmp_path):
    sw = load_sweep(write(tmp_path, grid(parameters={"donation.b_over_c": [2, 6], "donation.cost": 0.5, **TINY})))
    games = [sw.task_scenario(t).game.model_dump() for t in sw.tasks()[::2]]
    assert games[1] == {"R": 2.5, "S": -0.5, "T": 3.0, "P": 0.0}


@pytest.mark.parametrize("change, expected", [
    ({"replicate": 3}, "unknown key 'replicate' (did you mean 'replicates'?)"),
    ({"parameters": {"checkins.prb": [0.1, 0.2]}}, "parameters: unknown key 'checkins.prb' (did you mean 'checkins.prob'?)"),
    ({"parameters": {"checkins.prob": [0.5, 2.0]}}, "checkins.prob = 2.0: must be <= 1"),
    ({"replicates": 0}, "replicates = 0: must be an integer >= 1"),
    ({"sampling": "sobol"}, "sampling = 'sobol': allowed: grid, latin, saltelli"),
    ({"sampling": "latin", "samples": 4}, "a list expands only with sampling: grid"),
    ({"parameters": {"checkins.prob": {"low": 0, "high": 1}}}, "needs sampling: latin, saltelli or morris"),
    ({"sampling": "saltelli", "samples": 6, "parameters": {"checkins.prob": {"low": 0, "high": 1},
                                                           "isolation.duration": {"low": 1, "high": 9}}},
     "samples = 6: Saltelli sampling needs a power of two"),
    ({"metrics": ["relapse"]}, "unknown metric 'relapse' (did you mean 'relapses'?)"),
    ({"scenario": "baselin"}, "unknown scenario 'baselin' (did you mean 'baseline'?)"),
    ({"parameters": {"network.degree": [4, 40], **TINY}}, "network.degree=40 must be below"),
    # the Mesa engine's cap holds for each point, as for `run` (a sweep used to start, fail each run, exit 0)
    ({"engine": "agents", "parameters": {"population.size": [30, 200_000]}},
     "population.size = 200,000 is above the Mesa engine's limit of 100,000 members"),
    ({"engine": "agents", "parameters": {"population.size": [30, 200_000]}}, "(at population.size=200000)"),
    # a complete graph beyond its cap, refused by `run` before it starts, is refused for its point too
    # (the sweep used to start, fail that point's runs and exit 0)
    ({"parameters": {"network.kind": "complete", "population.size": [30, 20_000]}},
     "population.size=20,000 would need 199,990,000 ties"),
])
def test_bad_sweep_files_get_one_line_and_exit_2(tmp_path, capsys, change, expected):
    path = write(tmp_path, grid(**change))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert str(path) in err and expected in err, err
    assert not (tmp_path / "out").exists()


def test_a_missing_sweep_file_is_bad_input(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.yaml")]) == 2
    assert "sweep file not found" in capsys.readouterr().err


# ----------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny grid run inline (1 worker): the table every other way must reproduce."""
    tmp = tmp_path_factory.mktemp("ref")
    sw = load_sweep(write(tmp, grid()))
    res = run_sweep(sw, tmp / "out", workers=1)
    assert res.total == 8 and res.ran == 8 and res.failed == 0
    return sw, runs_of(tmp / "out")


def test_runs_parquet_has_the_contract_columns(reference):
    sw, runs = reference
    assert list(runs.columns[:7]) == ["run_id", "point", "checkins.prob", "sponsorship.capacity", "replicate",
                                      "seed", "engine"]
    assert {"mean_helpers", "final_abstinent", "total_relapses"} <= set(runs.columns)
    assert runs["error"].isna().all()
    assert runs["seed"].tolist() == sw.seeds().ravel().tolist()


def test_two_workers_give_the_same_table_as_one(tmp_path, reference):
    sw, ref = reference
    run_sweep(sw, tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(runs_of(tmp_path / "two"), ref)


def test_dask_local_cluster_gives_the_same_table(tmp_path, reference):
    pytest.importorskip("distributed")
    sw, ref = reference
    res = run_sweep(sw, tmp_path / "dask", workers=2, dask="local")
    assert res.backend == "dask local"
    pd.testing.assert_frame_equal(runs_of(tmp_path / "dask"), ref)


def test_rerun_skips_finished_runs_and_a_changed_file_is_refused(tmp_path, capsys):
    path = write(tmp_path, grid(replicates=1))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    before = runs_of(out)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "4 already done, 0 run now" in capsys.readouterr().out
    pd.testing.assert_frame_equal(runs_of(out), before)
    write(tmp_path, grid(replicates=1, seed=12, steps=7))
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "holds results of a different sweep (changed: seed, steps)" in err
    assert len(err.strip().splitlines()) == 1
    pd.testing.assert_frame_equal(runs_of(out), before)


def test_name_description_and_metrics_may_change_on_a_resume(tmp_path, capsys):
    import json

    path = write(tmp_path, grid(replicates=1))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    before = runs_of(out)
    write(tmp_path, grid(replicates=1, name="renamed", description="Said better.", metrics=["mean_stress"]))
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "4 already done, 0 run now" in capsys.readouterr().out
    pd.testing.assert_frame_equal(runs_of(out), before)
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["spec"]["name"] == "renamed" and meta["spec"]["description"] == "Said better."
    assert meta["metrics"] == ["mean_mean_stress"]  # the day-mean of mean_stress
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert report.startswith("# Sweep report: renamed") and "Said better." in report
    assert all("mean_mean_stress" in p.name for p in (out / "plots").glob("*.png"))
    assert (out / "plots" / "mean_mean_stress.png").is_file()


def test_replicates_added_to_a_finished_sweep_run_only_the_new_ones(tmp_path, capsys):
    path = write(tmp_path, grid(replicates=2))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 0
    first = runs_of(out)
    write(tmp_path, grid(replicates=3))
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2"]) == 0
    assert "8 already done, 4 run now" in capsys.readouterr().out
    grown = runs_of(out)
    assert len(grown) == 12 and grown["run_id"].is_unique
    # the first runs are untouched, ids included
    pd.testing.assert_frame_equal(grown[grown["replicate"] < 2].reset_index(drop=True), first)
    # and the whole equals a sweep asked for with 3 replicates from the start (ids aside)
    assert main(["sweep", str(path), "--out", str(tmp_path / "fresh"), "--workers", "1", "-q"]) == 0
    key = ["point", "replicate"]
    fresh = runs_of(tmp_path / "fresh").sort_values(key).drop(columns="run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(grown.sort_values(key).drop(columns="run_id").reset_index(drop=True), fresh)
    # a rerun has nothing left to do; fewer replicates are refused in one line, and nothing is lost
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "12 already done, 0 run now" in capsys.readouterr().out
    write(tmp_path, grid(replicates=1))
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "replicates = 1 is fewer than the 3 this folder was run with" in err and len(err.splitlines()) == 1
    pd.testing.assert_frame_equal(runs_of(out), grown)
    assert main(["report", str(out)]) == 0
    assert "4 points x 3 replicates = 12 runs; finished 12, failed 0" in (out / "report.md").read_text()


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    edges = tmp_path / "edges.txt"
    edges.write_text("0 1\n1 2\n2 20\n")  # member 20 exists only in the larger community
    data = grid(parameters={"population.size": [10, 30], "network.kind": "edgelist", "network.path": str(edges)})
    sw = load_sweep(write(tmp_path, data))
    res = run_sweep(sw, tmp_path / "out", workers=1)
    runs = runs_of(tmp_path / "out")
    assert res.failed == 2 and len(runs) == 4
    bad = runs[runs["population.size"] == 10]
    assert bad["error"].str.contains("NetworkError: edgelist .* node 20 out of range", regex=True).all()
    assert bad["mean_helpers"].isna().all()
    good = runs[runs["population.size"] == 30]
    assert good["error"].isna().all() and good["mean_helpers"].notna().all()


def test_a_sweep_killed_partway_resumes_without_losing_or_repeating_runs(tmp_path):
    data = grid(replicates=6, steps=25, parameters={"checkins.prob": [0.0, 0.5, 1.0, 0.25], "population.size": 40})
    path = write(tmp_path, data)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "MUTUALAID_FLUSH_SECONDS": "0.5"})
    try:
        deadline = time.monotonic() + 90
        while not list((out / "parts").glob("*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, all at once
        proc.wait(timeout=30)
    assert not (out / "runs.parquet").exists()
    partial = pd.concat([pd.read_parquet(p) for p in (out / "parts").glob("*.parquet")])
    assert 0 < len(partial) < 24
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    runs = runs_of(out)
    assert runs["run_id"].tolist() == list(range(24))
    assert not (out / "parts").exists()
    # the same rows as an uninterrupted sweep, run inline
    ref = run_sweep(load_sweep(path), tmp_path / "ref", workers=1).runs
    pd.testing.assert_frame_equal(runs, ref.reset_index(drop=True))


def test_progress_line_shows_done_failed_rate_and_eta():
    p = SweepProgress()
    p.failed, p.new = 2, 5
    line = p.p.line(5, 20)
    assert line.startswith("runs 5/20") and "failed 2" in line and "runs/s" in line and "ETA" in line


#: analyses shipped as sweeps, with the number of runs their documents report
ANALYSES = {"sobol-psychology": 1728,  # docs/SENSITIVITY.md
            "kropotkin-phase": 288}     # the phase diagram (its description, the README)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_example_sweeps_are_valid(path):
    sw = load_sweep(path)
    if path.stem in ANALYSES:  # a shipped analysis: exactly the runs its document reports
        assert sw.description and sw.n_runs == ANALYSES[path.stem]
    else:                      # an example: seconds to run
        assert sw.description and 0 < sw.n_runs <= 300
    import re

    stated = re.findall(r"([\d,]+) runs", " ".join(sw.description.split()))
    assert all(int(n.replace(",", "")) == sw.n_runs for n in stated), (stated, sw.n_runs)


def test_a_sweep_in_which_every_run_failed_exits_1_with_one_line(tmp_path, capsys):
    from sim.cli import main

    edges = tmp_path / "edges.txt"
    edges.write_text("0 1\n1 2\n2 20\n")  # node 20 is out of range at both sizes
    path = write(tmp_path, grid(parameters={"population.size": [10, 12], "network.kind": "edgelist",
                                            "network.path": str(edges)}))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every one of the" in err[0] and "runs.parquet" in err[0]
    assert len(runs_of(tmp_path / "out")) == 4     # and what ran is kept
    # the same command again runs nothing new: every run of the sweep still failed, so still exit 1
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every one of the" in err[0], err
    assert len(runs_of(tmp_path / "out")) == 4


@pytest.mark.parametrize("over,fragment", [
    ({"replicates": 100_000_000}, "100,000,000 replicates"),
    ({"parameters": {"checkins.prob": [i / 100 for i in range(50)], "sponsorship.capacity": list(range(1, 51)),
                     "population.initial_helpers": [i / 100 for i in range(50)],
                     "isolation.duration": list(range(0, 500))}}, "62,500,000 points"),
])
def test_a_sweep_too_large_is_refused_before_its_points_are_built(tmp_path, over, fragment):
    import time

    t0 = time.perf_counter()
    with pytest.raises(SweepError, match=fragment):
        load_sweep(write(tmp_path, grid(**over)))
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("address", ["notanaddress", "host:99999", "tcp://"])
def test_a_malformed_dask_address_is_refused_before_anything_runs(tmp_path, capsys, address):
    from sim.cli import main

    out = tmp_path / "out"
    assert main(["sweep", str(write(tmp_path, grid())), "--dask", address, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dask" in err[0] and "tcp://host:8786" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("data", [
    grid(parameters={"checkins.prob": [0.0, 0.3, 1.0], "sponsorship.capacity": [1, 4], "population.size": 40,
                     "isolation.enabled": [True, False], "trial.enabled": [False, True]}),
    grid(sampling="latin", samples=25, parameters={"checkins.prob": {"low": 0.0, "high": 1.0},
                                                   "population.size": {"low": 20, "high": 90},
                                                   "game.T": {"low": 1.0, "high": 2.0}}),
    grid(parameters={"donation.b_over_c": [2.0, 5.0], "network.degree": [2, 4], "population.size": 30}),
    grid(scenario="nowak-may-1992", parameters={"game.T": [1.5, 1.9]}),
], ids=["grid", "latin", "donation-and-network", "lattice"])
def test_a_point_validated_by_sections_is_the_whole_scenario(tmp_path, data):
    """The parent checks every point before a sweep starts, section by section where that applies; the
    scenario is the one the whole validation gives (the trial needs its intervention: some points fail
    the scenario-wide check, and then both say the same)."""
    from sim.experiments.sweep import point_scenario

    if "trial.enabled" in data["parameters"]:
        data["parameters"]["checkins.enabled"] = False  # trial.enabled=true then fails _check_trial
        with pytest.raises(SweepError, match="trial.intervention=checkins needs checkins.enabled=true"):
            load_sweep(write(tmp_path, data))
        data["parameters"]["checkins.enabled"] = True
    sw = load_sweep(write(tmp_path, data))
    for values in sw.points:
        assert point_scenario(sw, values).model_dump() == point_scenario(sw, values, whole=True).model_dump()
