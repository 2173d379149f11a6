"""Sweeps under faults: infrastructure failures are not results, identity, one sweep per folder."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.experiments import sweep as sweep_mod
from sim.experiments.sweep import CRASH, SweepError, code_id, load_sweep, run_sweep, run_task


def _sweep(tmp_path: Path, name="faults", **extra):
    data = {"name": name, "scenario": "baseline", "seed": 11, "replicates": 2, "steps": 5,
            "parameters": {"checkins.prob": [0.0, 1.0], "population.size": 30}, "metrics": ["relapses"]}
    data.update(extra)
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_sweep(p)


def _runs(folder):
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


def test_every_row_carries_the_code_and_a_resume_on_other_code_is_refused(tmp_path, monkeypatch):
    sw = _sweep(tmp_path)
    run_sweep(sw, tmp_path / "out", workers=1)
    assert (_runs(tmp_path / "out")["code"] == code_id()).all()
    monkeypatch.setattr(sweep_mod, "_CODE_ID", "0.1.0+otherhash")
    with pytest.raises(SweepError, match=r"different sweep \(changed: code\)"):
        run_sweep(_sweep(tmp_path), tmp_path / "out", workers=1)


def test_a_worker_on_other_code_does_not_run_the_task():
    sw_task = {"run_id": 0, "point": 0, "replicate": 0, "seed": 1, "engine": "kernel", "code": "0.0.0+elsewhere",
               "scenario": {}, "timeseries": False}
    res = run_task(sw_task)
    assert "runs code" in res["infra"] and res["row"]["error"] is None


def test_a_run_that_kills_its_worker_is_isolated_and_recorded_and_the_sweep_completes(tmp_path, monkeypatch):
    monkeypatch.setenv(sweep_mod.FAULT_ENV, "crash:2")
    sw = _sweep(tmp_path, replicates=3)
    res = run_sweep(sw, tmp_path / "out", workers=2)
    runs = _runs(tmp_path / "out")
    assert len(runs) == sw.n_runs == 6 and res.infra == []
    assert runs.loc[runs["run_id"] == 2, "error"].item() == CRASH
    assert runs.loc[runs["run_id"] != 2, "error"].isna().all()
    monkeypatch.delenv(sweep_mod.FAULT_ENV)
    clean = _sweep(tmp_path, name="clean", replicates=3)
    run_sweep(clean, tmp_path / "clean", workers=1)
    ok = runs["run_id"] != 2
    pd.testing.assert_series_equal(runs.loc[ok, "total_relapses"], _runs(tmp_path / "clean").loc[ok, "total_relapses"])


def test_a_second_sweep_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 1 on elsewhere")
        fh.flush()
        with pytest.raises(SweepError, match="another sweep is writing into this folder"):
            run_sweep(_sweep(tmp_path), out, workers=1)
    run_sweep(_sweep(tmp_path), out, workers=1)  # the lock released: it runs
    assert len(_runs(out)) == 4


def test_locked_folder_exits_2_with_one_line(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "out"
    out.mkdir()
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"name": "x", "scenario": "baseline", "seed": 1, "replicates": 1, "steps": 3,
                                 "parameters": {"checkins.prob": [0.2, 0.4], "population.size": 30}}))
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["sweep", str(p), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another sweep is writing" in err[0]


def test_two_sweeps_with_the_same_seeds_on_one_cluster_do_not_mix(tmp_path):
    """Task keys are unique per invocation: sweep A's rows are A's numbers, not B's."""
    distributed = pytest.importorskip("distributed")
    a, b = _sweep(tmp_path, name="a"), _sweep(tmp_path, name="b", parameters={"checkins.prob": [0.3, 0.6],
                                                                                "population.size": 30})
    run_sweep(a, tmp_path / "a1", workers=1)
    run_sweep(b, tmp_path / "b1", workers=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        errors = []

        def go(sw, out):
            try:
                run_sweep(sw, out, dask=cluster.scheduler_address)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=go, args=(sw, tmp_path / f"{sw.name}2")) for sw in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    cols = ["run_id", "checkins.prob", "seed", "total_relapses", "mean_using"]
    for name in ("a", "b"):
        pd.testing.assert_frame_equal(_runs(tmp_path / f"{name}1")[cols], _runs(tmp_path / f"{name}2")[cols])


def test_time_series_read_as_one_dataset_with_the_parameters(tmp_path):
    import pyarrow.dataset as ds

    sw = _sweep(tmp_path, timeseries=True)
    run_sweep(sw, tmp_path / "out", workers=1)
    ts = pd.read_parquet(tmp_path / "out" / "timeseries")
    assert len(ts) == sw.n_runs * 6  # days 0..5
    assert {"run_id", "checkins.prob", "replicate", "seed", "step", "helpers"} <= set(ts.columns)
    runs = _runs(tmp_path / "out")
    joined = ts[ts["step"] == 5].merge(runs, on=["run_id", "checkins.prob", "replicate", "seed"])
    assert len(joined) == sw.n_runs
    assert (joined["relapses"] >= 0).all()
    assert ds.dataset(tmp_path / "out" / "timeseries").count_rows() == len(ts)
