"""Every number bounded, every error one line (issue 26): counts capped by the machine and said so, huge
integers and bad paths refused in one short line, the dashboard's address checked before it is announced,
and the Python API raising ScenarioError in the command line's words."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numba
import pytest

import sim
from sim import limits
from sim.cli import SOLARA_COOKIE_WARNING, main
from sim.core.scenarios import ScenarioError
from sim.output import safe_name

SMALL = ["--set", "population.size=40", "--steps", "3"]
NINES = "9" * 5000


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_short_line(err: str, *fragments: str, longest: int = 400) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    assert lines[0].startswith("mutualaid: error: ") and "Traceback" not in err, err[:2000]
    assert len(lines[0]) <= longest, (len(lines[0]), lines[0][:300])
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def sweep_file(tmp: Path, extra: str = "") -> Path:
    p = tmp / "s.yaml"
    p.write_text("name: s\nscenario: baseline\nsteps: 3\nreplicates: 1\nseed: 1\n"
                 "parameters:\n  checkins.prob: [0.2, 0.4]\n  population.size: 40\n" + extra, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- counts capped by the machine


def test_workers_beyond_the_cores_are_capped_and_said(tmp_path, capsys, monkeypatch):
    from sim.experiments import sweep as sweep_mod

    monkeypatch.setattr(limits, "cores", lambda: 2)
    seen = {}

    def fake_run_sweep(sweep, out, *, workers, **kw):
        seen["workers"] = workers
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_run_sweep)
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "--workers", "10000", "--out", tmp_path / "o")
    assert rc == 130 and seen["workers"] == 2
    assert "--workers 10,000: this machine has 2 cores; using 2" in err
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "--out", tmp_path / "o")
    assert seen["workers"] == 2 and "using" not in err  # the default: the cores, nothing to say


def test_the_python_api_caps_workers_too(monkeypatch):
    monkeypatch.setattr(limits, "cores", lambda: 1)
    assert limits.cap("workers", 50) == (1, "workers 50: this machine has 1 core; using 1 (the results are the "
                                            "same for any number)")
    assert limits.cap("workers", None) == (1, None)


def test_threads_beyond_the_cores_are_capped_and_said(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "run", "baseline", *SMALL, "--threads", "100000", "--out", tmp_path / "o")
    assert rc == 0
    most = min(limits.cores(), numba.config.NUMBA_NUM_THREADS)
    assert f"--threads 100,000: this machine has {most} core" in err
    assert numba.get_num_threads() <= most


# ----------------------------------------------------------------------------- huge integers, long echoes


@pytest.mark.parametrize("argv, fragment", [
    (["run", "baseline", "--set", f"population.size={NINES}"], "population.size"),
    (["run", "baseline", "--seed", NINES], "--seed"),
    (["run", "baseline", "--seed", "9" * 4000], "--seed"),  # Python can read it: still one short line
    (["run", "baseline", "--set", f"seed={'9' * 4000}"], "seed"),
    (["run", "baseline", "--threads", NINES], "--threads"),
    (["compare", "baseline", "no-checkins", "-r", NINES], "--replicates"),
    (["run", "baseline", "--set", f"name={'x' * 5000}", "--set", "population.size=-1"], "population.size"),
], ids=["set-5000-digits", "seed-5000-digits", "seed-4000-digits", "set-seed-4000-digits", "threads",
        "replicates", "long-name"])
def test_huge_integers_are_refused_in_one_short_line(tmp_path, capsys, argv, fragment):
    rc, _, err = run_cli(capsys, *argv, "--out", tmp_path / "o")
    assert rc == 2
    one_short_line(err, fragment)
    assert not (tmp_path / "o").exists()


def test_a_scenario_file_with_a_huge_integer_is_one_line(tmp_path, capsys):
    p = tmp_path / "big.yaml"
    p.write_text(f"name: big\npopulation:\n  size: {NINES}\n")
    rc, _, err = run_cli(capsys, "run", p, "--out", tmp_path / "o")
    assert rc == 2
    one_short_line(err, "big.yaml", "too large")


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("out, fragment", [
    ("x" * 300, "a folder name of 300 bytes is too long"),
    ("-", "'-' is not a folder"),
    ("a\x07b", "control character"),
    ("a\nb", "control character"),
    ("/".join(["d" * 200] * 25), "too long"),
    ("/".join(["d"] * 2000), "2000 folders deep is too deep"),  # a RecursionError before (the review)
], ids=["long-name", "dash", "bell", "newline", "long-path", "deep-path"])
def test_bad_out_paths_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch, out, fragment):
    monkeypatch.chdir(tmp_path)
    for argv in (["run", "baseline", *SMALL], ["validate", "--quick"], ["sweep", sweep_file(tmp_path)]):
        rc, _, err = run_cli(capsys, *argv, "--out", out)
        assert rc == 2, argv
        one_short_line(err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # nothing made


def test_a_scenario_name_keeps_its_letters_in_its_folder(tmp_path, capsys, monkeypatch):
    """``café 😀`` used to write to results/caf/."""
    assert safe_name("café 😀") == "café"
    assert safe_name("Ωmega run") == "Ωmega_run"
    assert safe_name("../../etc") == "etc"
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "cafe.yaml"
    p.write_text("extends: baseline\nname: café 😀\n", encoding="utf-8")
    assert run_cli(capsys, "run", p, *SMALL, "-q")[0] == 0
    assert (tmp_path / "results" / "café" / "metrics.csv").is_file()


# ----------------------------------------------------------------------------- the dashboard's address


def test_the_dashboard_port_and_host_are_checked_before_anything_is_announced(capsys, monkeypatch):
    monkeypatch.setattr(os, "execv", lambda *a: pytest.fail("must not start the server"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = [(["--port", "70000"], "70000"), (["--host", "not a host"], "--host"),
                 (["--host", "no-such-host.invalid"], "not a known host"),
                 (["--host", "192.0.2.1"], "not an address of this machine"),
                 (["--port", str(port)], "already in use")]
        for argv, fragment in cases:
            rc, out, err = run_cli(capsys, "dashboard", *argv)
            assert rc == 2, argv
            one_short_line(err, fragment)
            assert "http://" not in err + out  # nothing announced


def test_the_dashboard_silences_solaras_cookie_warning(capsys, monkeypatch):
    started = {}

    def execv(path, argv):
        started["argv"] = argv
        started["warnings"] = os.environ.get("PYTHONWARNINGS", "")
        raise KeyboardInterrupt  # as if stopped at once

    monkeypatch.setattr(os, "execv", execv)
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert main(["dashboard", "--port", str(port)]) == 130
    assert SOLARA_COOKIE_WARNING in started["warnings"].split(",")
    # the filter does silence Solara's words
    res = subprocess.run([sys.executable, "-c", "import warnings; warnings.warn('Cookies with samesite=none "
                          "require https, but according to the asgi framework, the scheme is http')"],
                         env={**os.environ, "PYTHONWARNINGS": started["warnings"]}, capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == ""


# ----------------------------------------------------------------------------- accepted silently before


def test_trial_designs_listed_twice_are_refused(capsys):
    rc, _, err = run_cli(capsys, "trial", "baseline", "--designs", "individual,individual")
    assert rc == 2
    one_short_line(err, "individual is listed twice")


def test_compare_with_one_replicate_says_it_has_no_interval(tmp_path, capsys):
    rc, out, _ = run_cli(capsys, "compare", "baseline", "no-checkins", "-r", "1", "-j", "1", *SMALL,
                         "--out", tmp_path / "c")
    assert rc == 0
    assert "1 paired run: no interval" in out and "(1 paired runs)" not in out


def test_donation_keys_must_be_positive(tmp_path, capsys):
    p = tmp_path / "d.yaml"
    p.write_text("name: d\nscenario: baseline\nsteps: 3\nreplicates: 1\nseed: 1\n"
                 "parameters:\n  donation.b_over_c: [-1, 0]\n  population.size: 40\n")
    rc, _, err = run_cli(capsys, "sweep", p, "--out", tmp_path / "o")
    assert rc == 2
    one_short_line(err, "donation.b_over_c", "-1", "must be a number > 0")
    assert not (tmp_path / "o").exists()


def test_a_donation_game_and_the_games_payoffs_cannot_both_be_set(tmp_path, capsys):
    """Fixed ``donation.b_over_c: 3`` beside ``game.T: 5`` ran with T = 3, game.T dropped without a word (the
    review of issue 26 found it)."""
    p = tmp_path / "d.yaml"
    p.write_text("name: d\nscenario: baseline\nsteps: 3\nreplicates: 1\nseed: 1\n"
                 "parameters:\n  donation.b_over_c: 3\n  game.T: 5\n  population.size: 40\n")
    rc, _, err = run_cli(capsys, "sweep", p, "--out", tmp_path / "o")
    assert rc == 2
    one_short_line(err, "game.T and donation.b_over_c both set the game's payoffs", "give one")
    assert not (tmp_path / "o").exists()


def test_an_empty_sweep_file_says_what_a_sweep_needs(tmp_path, capsys):
    empty = tmp_path / "e.yaml"
    empty.write_text("# nothing\n")
    rc, _, err = run_cli(capsys, "sweep", empty, "--out", tmp_path / "o")
    assert rc == 2
    one_short_line(err, "needs at least 'scenario'", "without them it runs the scenario's replicates")


# ----------------------------------------------------------------------------- the Python API


@pytest.mark.parametrize("call, fragment", [
    (lambda: sim.run(None, steps=1), "sim.run: scenario = None"),
    (lambda: sim.run("baseline", member_days=True, population_size=200_000, steps=365),
     "sim.run: member_days: population.size=200000"),
    (lambda: sim.sweep(42), "sim.sweep: spec = 42"),
    (lambda: sim.batch_run("baseline", "notadict"), "sim.batch_run: parameters = 'notadict'"),
    (lambda: sim.batch_run("baseline", {"population.size": 30}, workers=0), "sim.batch_run: workers = 0: must be >= 1"),
    (lambda: sim.batch_run("baseline", {"population.size": 30}, out="/etc/passwd"),
     "out /etc/passwd: is an existing file, not a folder"),
    (lambda: sim.run("baseline", steps=1, set={"population.size": 50}, population_size=60),
     "population.size is given twice"),
    (lambda: sim.run("baseline", set={"seed": 3}, seed=4, steps=1), "seed is given twice"),
    # found by the review of issue 26: raw TypeErrors, and a key given twice used silently
    (lambda: sim.run("baseline", set={1: 2}, steps=1), "sim.run: set key 1: expected a dotted key"),
    (lambda: sim.sweep({"scenario": "baseline"}, bogus=1), "sim.sweep: unknown keyword 'bogus'"),
    (lambda: sim.batch_run("baseline", {"population.size": 30}, bogus=1), "sim.batch_run: unknown keyword 'bogus'"),
    (lambda: sim.batch_run("baseline", {"population.size": [50], "population_size": 60}),
     "sim.batch_run: population.size is given twice in parameters"),
])
def test_the_python_api_raises_scenario_error(call, fragment):
    with pytest.raises(ScenarioError) as e:
        call()
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_mutualaidmodel_names_the_unknown_keyword():
    from sim.engines.agents import MutualAidModel

    with pytest.raises(ScenarioError, match=r"MutualAidModel: unknown keyword 'bogus'; keywords are"):
        MutualAidModel("baseline", bogus=1)


def test_the_api_and_the_cli_agree_on_workers(capsys, tmp_path):
    """--workers 0 is refused by both, in the same words."""
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "--workers", "0", "--out", tmp_path / "o")
    assert rc == 2 and "0: must be >= 1" in err
    with pytest.raises(ScenarioError, match="workers = 0: must be >= 1"):
        sim.sweep(sweep_file(tmp_path), out=tmp_path / "o", workers=0)
    assert not (tmp_path / "o").exists()


def test_the_same_value_both_ways_is_fine():
    r = sim.run("baseline", steps=1, set={"population.size": 30}, population_size=30, engine="kernel")
    assert r.scenario.population.size == 30


def test_the_package_names_its_error_and_the_mesa_model():
    """The README says a wrong argument raises ``sim.ScenarioError``; ``from sim import ScenarioError`` and
    ``sim.MutualAidModel`` were missing (the review found it)."""
    import sim
    from sim.core.scenarios import ScenarioError
    from sim.engines.agents import MutualAidModel

    assert sim.ScenarioError is ScenarioError and sim.MutualAidModel is MutualAidModel
    with pytest.raises(sim.ScenarioError, match="scenario = None"):
        sim.run(None)
