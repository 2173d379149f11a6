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
    monkeypatch.setattr(sweep_mod.identity, "_CODE_ID", "0.1.0+otherhash")
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
    import duckdb  # the third reader the README names: one query over the folder, joined to runs.parquet

    folder = (tmp_path / "out").as_posix()
    got = duckdb.sql(f"""SELECT t.run_id, t."checkins.prob" AS p, r.replicate, t.helpers
                         FROM read_parquet('{folder}/timeseries/*.parquet') t
                         JOIN read_parquet('{folder}/runs.parquet') r USING (run_id)
                         WHERE t.step = 5 ORDER BY t.run_id""").df()
    last = ts[ts["step"] == 5].sort_values("run_id")
    assert got["run_id"].tolist() == last["run_id"].tolist() and len(got) == sw.n_runs
    assert got["p"].tolist() == last["checkins.prob"].tolist()
    assert got["helpers"].tolist() == last["helpers"].tolist()


# ----------------------------------------------------------------------------- a full disk


def _disk_full_after(monkeypatch, writes_ok: int):
    """Every parquet write after the first ``writes_ok`` fails as pyarrow fails on a full disk (errno 28,
    its own message, no file name)."""
    import errno

    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def to_parquet(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > writes_ok:
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    return calls


def _sweep_file(tmp_path: Path, name="disk", **extra) -> Path:
    data = {"name": name, "scenario": "baseline", "seed": 11, "replicates": 3, "steps": 5,
            "parameters": {"checkins.prob": [0.0, 1.0], "population.size": 30}, "metrics": ["relapses"]}
    data.update(extra)
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.mark.parametrize("writes_ok, kept", [(2, 2), (6, 6)], ids=["while-running", "while-consolidating"])
def test_a_full_disk_gives_one_line_and_loses_no_saved_run(tmp_path, monkeypatch, capsys, writes_ok, kept):
    """Each finished run is saved at once (flush interval 0): after ``writes_ok`` saves the disk is full.
    6 runs: the 7th write is the first of consolidation. Exit 1, one line naming the file and the reason;
    the saved runs are still there; once there is room the same command finishes, equal to a clean run."""
    from sim.cli import main

    monkeypatch.setenv(sweep_mod.FLUSH_ENV, "0")
    path, out = _sweep_file(tmp_path), tmp_path / "out"
    _disk_full_after(monkeypatch, writes_ok)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"mutualaid: error: cannot write {out}") and ".parquet: No space left on device;" in err[0]
    assert "are kept" in err[0] and "internal error" not in err[0]
    saved = sweep_mod.read_parts(out)
    assert saved is not None and len(saved) == kept
    assert not list(out.rglob("*.tmp")) and not (out / "runs.parquet").exists()
    monkeypatch.undo()
    monkeypatch.setenv(sweep_mod.FLUSH_ENV, "0")
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert f"{kept} already done, {6 - kept} run now" in capsys.readouterr().out
    assert main(["sweep", str(path), "--out", str(tmp_path / "clean"), "--workers", "1", "-q"]) == 0
    pd.testing.assert_frame_equal(_runs(out), _runs(tmp_path / "clean"))


def test_a_full_disk_while_a_run_saves_keeps_the_earlier_results(tmp_path, monkeypatch, capsys):
    """`mutualaid run` into a folder holding an earlier run: ENOSPC while the new files are written gives
    one line and exit 1, and the folder still holds exactly the earlier run's files."""
    from sim.cli import main

    out = tmp_path / "res"
    assert main(["run", "baseline", "--set", "population.size=30", "--steps", "5", "--out", str(out), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _disk_full_after(monkeypatch, 0)
    assert main(["run", "baseline", "--set", "population.size=30", "--steps", "7", "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metrics.parquet: No space left on device;" in err[0] and "as they were" in err[0], err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_script_without_a_main_guard_runs_its_sweep_once(tmp_path):
    """The README's Python examples have no ``if __name__ == "__main__":``. Run as a script with workers,
    each spawned worker ran the script again (starting workers of its own): every run came back as a
    crashed worker, with exit 0 and thousands of lines of RuntimeError. The workers now skip the script."""
    import subprocess
    import sys

    script = tmp_path / "my_sweep.py"
    script.write_text(
        "import sim\n"
        "print('script body ran')\n"
        "runs = sim.batch_run('baseline', {'checkins.prob': [0.2, 0.8], 'population.size': 60}, steps=20,\n"
        f"                    replicates=3, workers=2, out={str(tmp_path / 'out')!r})\n"
        "print('runs', len(runs), 'failed', int(runs['error'].notna().sum()) if 'error' in runs else 0)\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.splitlines() == ["script body ran", "runs 6 failed 0"], res.stdout[-2000:]
    assert "bootstrapping" not in res.stderr and "Traceback" not in res.stderr, res.stderr[-3000:]


def test_ctrl_c_while_the_pools_workers_start_says_one_line(tmp_path):
    """Ctrl-C reaches the whole process group: each process-pool worker still starting printed its own
    KeyboardInterrupt traceback (80-100 lines after "interrupted", the review of issue 26 found it). The
    workers start with Ctrl-C ignored; the sweep answers it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    from .servers import child_count

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "stop", "scenario": "baseline", "seed": 3, "replicates": 60,
                                    "steps": 100, "metrics": ["relapses"],
                                    "parameters": {"checkins.prob": [0.2, 0.8], "population.size": 100}}))
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mutualaid"), "sweep", str(path), "-j", "2", "--out",
                             str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while child_count(proc.pid) < 2:  # the pool's workers are being made (and import as we go)
            assert proc.poll() is None and time.monotonic() < deadline, "no pool was started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    said = [line for line in err.splitlines() if line.strip() and not line.startswith("runs ")]
    assert proc.returncode == 130 and said == ["mutualaid: interrupted"], err[-3000:]
