"""A real Dask cluster on 127.0.0.1: a scheduler and two workers as separate processes. A worker is
SIGKILLed mid-sweep, then the scheduler; the cluster is restarted and the same command resumes. The
result must equal a one-worker run exactly, with no infrastructure failure stored as a run's result."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

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
