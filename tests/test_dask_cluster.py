"""A real Dask cluster on 127.0.0.1: a scheduler and two workers as separate processes. A worker is
SIGKILLed mid-sweep, then the scheduler; the cluster is restarted and the same command resumes. The
result must equal a one-worker run exactly, with no infrastructure failure stored as a run's result."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .servers import child_count  # noqa: E402

pytest.importorskip("distributed")
BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kw = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    sched = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--no-dashboard"], **kw)
    time.sleep(3)
    workers = [subprocess.Popen([str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                 "--no-dashboard", "--no-nanny", "--host", "127.0.0.1"], **kw) for _ in range(2)]
    return [sched, *workers]


def _kill(procs):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)


def test_kill_a_worker_then_the_scheduler_and_resume(tmp_path):
    spec = {"name": "cluster", "scenario": "baseline", "seed": 5, "replicates": 8, "steps": 500,
            "parameters": {"checkins.prob": [0.2, 0.5, 0.8], "sponsorship.capacity": [1, 3], "population.size": 300},
            "metrics": ["relapses", "mean_using"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    ref_out, out = tmp_path / "ref", tmp_path / "out"
    subprocess.run([str(BIN / "mutualaid"), "sweep", str(path), "--out", str(ref_out), "--workers", "1", "-q"],
                   check=True, timeout=600)
    port = _port()
    procs = _start(port)
    cmd = [str(BIN / "mutualaid"), "sweep", str(path), "--out", str(out), "--dask", f"tcp://127.0.0.1:{port}", "-q"]
    try:
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "MUTUALAID_FLUSH_SECONDS": "0.5"})
        deadline = time.monotonic() + 300
        while not list((out / "parts").glob("*.parquet")):  # the first runs are in: mid-sweep
            assert run.poll() is None and time.monotonic() < deadline, "the sweep ended before the faults"
            time.sleep(0.2)
        _kill([procs[1]])           # a worker, mid-sweep
        time.sleep(2)
        _kill([procs[0]])           # then the scheduler
        _, err = run.communicate(timeout=300)
        print("first run:", run.returncode, err.decode()[-500:])
        assert run.returncode != 0, "the sweep finished before the faults: make it longer"
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mutualaid: error: ") and "rerun" in lines[0], lines
        if (out / "runs.parquet").exists():
            partial = pd.read_parquet(out / "runs.parquet")
            # nothing the infrastructure broke is stored as a result
            assert partial["error"].isna().all(), partial["error"].dropna().tolist()[:3]
        _kill(procs)
        procs = _start(port)
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr
    finally:
        _kill(procs)
    got = pd.read_parquet(out / "runs.parquet").sort_values("run_id").reset_index(drop=True)
    ref = pd.read_parquet(ref_out / "runs.parquet").sort_values("run_id").reset_index(drop=True)
    assert len(got) == 48 and got["error"].isna().all()
    cols = [c for c in ref.columns if c not in ("engine",)]
    pd.testing.assert_frame_equal(got[cols], ref[cols])


# ----------------------------------------------------------------------------- workers that cannot run it

ROOT = Path(__file__).resolve().parent.parent


def _tiny_sweep(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "scenario": "baseline", "seed": 1, "replicates": 2, "steps": 5,
                                    "parameters": {"population.size": 30}}, sort_keys=False))
    return path


def _scheduler(port: int) -> subprocess.Popen:
    p = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    time.sleep(3)
    return p


@pytest.mark.parametrize("kind, expected", [
    ("without the project", "a worker cannot run the project (Exception: ImportError('mutual-aid-sim is not installed"),
    ("on other code", "runs code"),
])
def test_a_worker_that_cannot_run_the_sweep_is_refused_when_it_connects(tmp_path, kind, expected):
    """A worker whose Python finds no project (or a changed copy of it) ahead of this one: the sweep
    stops at connect time with exit 2 and one line, and nothing is run or stored."""
    import shutil

    shadow = tmp_path / "shadow" / "sim"
    if kind == "without the project":
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text('raise ImportError("mutual-aid-sim is not installed here")\n')
    else:
        shutil.copytree(ROOT / "sim", shadow, ignore=shutil.ignore_patterns("__pycache__"))
        with open(shadow / "rules.py", "a") as fh:
            fh.write("\n# a different version of the rules\n")
    port = _port()
    procs = [_scheduler(port)]
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    procs.append(subprocess.Popen([str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                   "--no-dashboard", "--no-nanny", "--host", "127.0.0.1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                  env=env))
    out = tmp_path / "out"
    try:
        res = subprocess.run([str(BIN / "mutualaid"), "sweep", str(_tiny_sweep(tmp_path)), "--out", str(out),
                              "--dask", f"tcp://127.0.0.1:{port}", "-q"], capture_output=True, text=True,
                             timeout=300)
    finally:
        _kill(procs)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and lines[0].startswith("mutualaid: error: --dask tcp://127.0.0.1:") and expected in lines[0]
    assert not (out / "runs.parquet").exists() and not list(out.glob("parts/*.parquet"))


def test_a_cluster_with_no_worker_says_so_after_the_wait(tmp_path, monkeypatch):
    from sim.experiments import sweep as sweep_mod

    monkeypatch.setattr(sweep_mod.dispatch, "DASK_WORKER_WAIT", 3)
    port = _port()
    procs = [_scheduler(port)]
    try:
        t0 = time.monotonic()
        with pytest.raises(sweep_mod.SweepError, match="no worker joined the scheduler within 3 s"):
            sweep_mod.run_sweep(sweep_mod.load_sweep(_tiny_sweep(tmp_path)), tmp_path / "out",
                                dask=f"tcp://127.0.0.1:{port}")
        assert time.monotonic() - t0 < 60
    finally:
        _kill(procs)


def test_ctrl_c_on_a_local_cluster_says_one_line_and_keeps_what_finished(tmp_path):
    """``--dask local`` stopped by Ctrl-C (issue 26: a 13-line ``RuntimeError: dictionary changed size during
    iteration``, a leftover ``.lock``, and workers logging their cancelled tasks): exit 130, one line, no lock,
    and what finished kept for the same command to resume (resuming is tested in tests/test_sweep.py)."""
    spec = {"name": "stopped", "scenario": "baseline", "seed": 3, "replicates": 60, "steps": 100,
            "parameters": {"checkins.prob": [0.2, 0.8], "population.size": 100}, "metrics": ["relapses"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    cmd = [str(BIN / "mutualaid"), "sweep", str(path), "--out", str(out), "--dask", "local", "--workers", "2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)  # its own process group, as a terminal's foreground job
    lines: list[str] = []
    try:
        for line in proc.stderr:  # progress lines in a log, every few seconds
            lines.append(line.rstrip("\n"))
            m = re.match(r"runs (\d+)/120 ", line)
            if m and 0 < int(m.group(1)) < 120:  # some runs done, most still to do
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group, the cluster's workers included
                break
        lines += proc.communicate(timeout=120)[1].splitlines()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = "\n".join(lines)
    assert proc.returncode == 130, err
    said = [line for line in err.splitlines() if line.strip() and not line.startswith("runs ")]
    assert said[-1] == "mutualaid: interrupted", err
    assert not any("Traceback" in line or "Error" in line or "WARNING" in line for line in said), err
    assert not (out / ".lock").exists()
    assert (out / "parts").is_dir() and not (out / "runs.parquet").exists()  # what finished is kept, to resume


def test_ctrl_c_while_the_local_cluster_starts_is_not_ignored(tmp_path):
    """A Ctrl-C in the seconds the local cluster takes to start was ignored (the sweep then ran to its end
    and exited 0): it stops the sweep, with nothing recorded as done."""
    spec = {"name": "early", "scenario": "baseline", "seed": 3, "replicates": 60, "steps": 100,
            "parameters": {"checkins.prob": [0.2, 0.8], "population.size": 100}, "metrics": ["relapses"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    proc = subprocess.Popen([str(BIN / "mutualaid"), "sweep", str(path), "--out", str(out), "--dask", "local",
                             "--workers", "2", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while child_count(proc.pid) == 0:  # the cluster's first processes are being made: the start is under way
            assert proc.poll() is None and time.monotonic() < deadline, "no cluster was started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode in (130, -signal.SIGINT)  # stopped, not run to its end (0)
    assert not (out / "runs.parquet").exists() and not (out / ".lock").exists()
