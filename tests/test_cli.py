"""The ``mutualaid`` command line: outputs, reproducibility, and one-line errors (CONTRACT.md).

Most tests call :func:`sim.cli.main` in-process (fast); a few run the console
script and ``python -m sim.cli`` in a subprocess to prove the real exit codes.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.core.metrics import COLUMNS
from sim.output import OutputPathError, StagedFiles, check_out_dir
from sim.progress import Progress, format_duration, progress_for
from sim.core.scenarios import SCENARIO_DIR

REPO = Path(__file__).resolve().parent.parent
STEPS = 10
SMALL = ["--set", "population.size=60", "--steps", str(STEPS)]
MEMBER_COLUMNS = ["id", "joined_step", "left_step", "strategy_final", "help_share", "ever_used",
                  "first_use_step", "used_days", "sponsor_id", "sponsees", "checkins_received"]
HAS_BASELINE = (SCENARIO_DIR / "baseline.yaml").is_file()


@pytest.fixture
def tiny_yaml(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text("name: tiny\ndescription: a small test community\nseed: 5\nsteps: 10\n"
                 "population:\n  size: 60\n", encoding="utf-8")
    return p


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def forbid_runs(monkeypatch):
    """Any run started from here on fails the test: bad input must be caught before a run starts."""
    import sim.api
    import sim.runner

    def no_run(*a, **k):
        raise AssertionError("bad input must be caught before any run starts")

    monkeypatch.setattr(sim.api, "run", no_run)  # mutualaid run
    monkeypatch.setattr(sim.runner, "run", no_run)  # the experiments (compare, trial, ...)


def old_results(tmp_path, manifest: bool = False):
    """An --out folder holding an earlier run's metrics.csv (and its manifest)."""
    import json

    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.csv").write_text("old results\n")
    if manifest:
        (out / "manifest.json").write_text(json.dumps({"command": "run", "files": ["metrics.csv", "manifest.json"]}))
    return out


def assert_one_line_error(err: str, *fragments: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mutualaid: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


# ----------------------------------------------------------------------------- run: outputs


def test_run_writes_metrics_manifest_members_and_plot(tmp_path, tiny_yaml, capsys):
    out = tmp_path / "out"
    rc, stdout, err = run_cli(capsys, "run", tiny_yaml, "--out", out, "--members", "--plot", *SMALL)
    assert rc == 0, err
    # not a terminal: nothing but the log's progress lines, and those only for long work (a cold numba
    # cache on a busy machine makes this small run long)
    assert all(re.match(r"(compil|burn-in day |day \d)", line) for line in err.splitlines()), err

    csv = pd.read_csv(out / "metrics.csv")
    pq = pd.read_parquet(out / "metrics.parquet")
    assert list(csv.columns) == list(COLUMNS)
    assert list(pq.columns) == list(COLUMNS)
    assert csv["step"].tolist() == list(range(STEPS + 1))
    pd.testing.assert_frame_equal(csv, pq, check_dtype=False)

    man = json.loads((out / "manifest.json").read_text())
    assert man["command"] == "run"
    assert man["engine"] == "kernel"      # engine: auto is the kernel at every size
    assert man["seed"] == 5 == man["scenario"]["seed"]
    assert man["scenario"]["population"]["size"] == 60
    assert man["scenario"]["steps"] == STEPS
    assert man["scenario"]["checkins"]["enabled"] is True  # full resolved scenario, defaults included
    for pkg in ("python", "sim", "mesa", "numpy", "numba", "networkx", "pandas", "pydantic", "pyarrow"):
        assert man["versions"][pkg], pkg
    assert "commit" in man["git"]
    assert man["wall_time_s"] >= 0
    assert man["command_line"].startswith("mutualaid run ")
    assert man["created_utc"].endswith("Z")
    assert set(man["files"]) == {"metrics.parquet", "metrics.csv", "members.parquet", "metrics.png",
                                 "manifest.json"}

    members = pd.read_parquet(out / "members.parquet")
    assert set(MEMBER_COLUMNS) <= set(members.columns), set(MEMBER_COLUMNS) - set(members.columns)
    assert len(members) >= 60 and members["id"].is_unique

    png = (out / "metrics.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000

    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
    for word in ("tiny", "kernel", "helpers", "using", "totals:", "lapses", "relapses", "checkins",
                 "sponsor_calls", "dropouts", str(out)):
        assert word in stdout, word


def test_same_seed_same_bytes_other_seed_differs(tmp_path, tiny_yaml, capsys):
    texts = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        rc, _, err = run_cli(capsys, "run", tiny_yaml, "--seed", seed, "--out", tmp_path / name, *SMALL)
        assert rc == 0, err
        texts[name] = (tmp_path / name / "metrics.csv").read_bytes()
    assert texts["a"] == texts["b"]
    assert texts["a"] != texts["c"]


def test_set_lands_in_manifest_and_in_the_run(tmp_path, tiny_yaml, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", out, "--set", "checkins.enabled=false", *SMALL)
    assert rc == 0, err
    man = json.loads((out / "manifest.json").read_text())
    assert man["scenario"]["checkins"]["enabled"] is False
    assert "checkins.enabled=false" in man["command_line"]
    assert pd.read_csv(out / "metrics.csv")["checkins"].sum() == 0
    assert not (out / "members.parquet").exists() and not (out / "metrics.png").exists()


def test_default_out_dir_is_results_scenario_name(tmp_path, tiny_yaml, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--quiet", *SMALL)
    assert rc == 0, err
    assert (tmp_path / "results" / "tiny" / "metrics.parquet").is_file()


def test_quiet_prints_nothing(tmp_path, tiny_yaml, capsys):
    rc, out, err = run_cli(capsys, "run", tiny_yaml, "--out", tmp_path / "o", "--quiet", *SMALL)
    assert (rc, out, err) == (0, "", "")


def _earlier_run(out: Path) -> None:
    """A folder as an earlier run leaves it: its files and the manifest that lists them."""
    out.mkdir()
    (out / "metrics.csv").write_text("old results\n")
    (out / "manifest.json").write_text(json.dumps({"command": "run", "files": ["metrics.csv", "manifest.json"]}))


def test_rerun_replaces_the_earlier_run_whole(tmp_path, tiny_yaml, capsys):
    out = tmp_path / "out"
    assert run_cli(capsys, "run", tiny_yaml, "--out", out, "--members", "--plot", *SMALL)[0] == 0
    assert (out / "members.parquet").exists() and (out / "metrics.png").exists()
    assert run_cli(capsys, "run", tiny_yaml, "--out", out, *SMALL)[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(man["files"])   # nothing of the first run is left
    assert "members.parquet" not in man["files"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no staging folder left


def test_a_folder_with_other_files_is_refused_before_the_run(tmp_path, tiny_yaml, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", out, *SMALL)
    assert rc == 2
    assert_one_line_error(err, "notes.txt", "new or empty folder")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("hidden", [".git", ".keep"])
def test_a_folder_with_hidden_files_is_not_replaced(tmp_path, tiny_yaml, capsys, hidden):
    """The run replaces its folder whole: a folder with only `.git/` (or `.keep`), alone or beside an earlier
    run, used to count as empty, and the run deleted it."""
    for name, earlier in (("alone", False), ("beside", True)):
        out = tmp_path / name
        _earlier_run(out) if earlier else out.mkdir()
        if hidden == ".git":
            (out / ".git").mkdir()
            (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        else:
            (out / ".keep").write_text("")
        before = sorted(p.name for p in out.iterdir())
        rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", out, *SMALL)
        assert rc == 2
        assert_one_line_error(err, hidden, "new or empty folder")
        assert sorted(p.name for p in out.iterdir()) == before
        if hidden == ".git":
            assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"


def test_a_sweep_folder_is_not_replaced_by_a_run(tmp_path, tiny_yaml, capsys):
    """A sweep's folder lists its files in its manifest too; a run used to take it for an earlier run and
    delete runs.parquet and sweep.json."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: s\nscenario: {tiny_yaml}\nsteps: 3\nreplicates: 2\nseed: 1\n"
                     f"parameters:\n  game.T: [1.2, 1.5]\n", encoding="utf-8")
    out = tmp_path / "swept"
    assert run_cli(capsys, "sweep", sweep, "--out", out, "--workers", "1", "--quiet")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "runs.parquet" in before and "sweep.json" in before
    for cmd in (["run", tiny_yaml], ["compare", tiny_yaml, tiny_yaml, "--replicates", "1"]):
        rc, _, err = run_cli(capsys, *cmd, "--out", out, *SMALL)
        assert rc == 2
        assert_one_line_error(err, "is a sweep's folder", "nothing was written")
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.skipif(not HAS_BASELINE, reason="scenarios/baseline.yaml not shipped yet")
def test_run_baseline_by_name(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "run", "baseline", "--out", tmp_path / "b", *SMALL)
    assert rc == 0, err
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["scenario"]["name"] == "baseline"
    assert man["scenario"]["population"]["size"] == 60


# ----------------------------------------------------------------------------- bad input


def _file(tmp, name, data: bytes):
    p = tmp / name
    p.write_bytes(data)
    return p


def _malformed(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: broken\npopulation: [1, 2\n", encoding="utf-8")
    return p


def _unknown_key_file(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text("name: typo\ncheckin:\n  enabled: false\n", encoding="utf-8")
    return p


# (id, argv builder(tmp_path, tiny_yaml), fragments the error line must contain)
BAD = [
    ("unknown-key", lambda t, y: ["run", y, "--set", "checkin.enabled=false"], ["checkin.enabled", "checkins.enabled"]),
    ("unknown-key-in-file", lambda t, y: ["run", _unknown_key_file(t)], ["checkin", "checkins"]),
    ("wrong-type", lambda t, y: ["run", y, "--set", "population.size=abc"], ["population.size", "abc"]),
    ("out-of-range", lambda t, y: ["run", y, "--set", "population.initial_helpers=1.5"], ["initial_helpers", "1"]),
    ("lattice-mismatch", lambda t, y: ["run", y, "--set", "network.kind=lattice", "--set", "population.size=50"],
     ["lattice", "50"]),
    ("missing-file", lambda t, y: ["run", t / "nope.yaml"], ["nope.yaml"]),
    ("malformed-yaml", lambda t, y: ["run", _malformed(t)], ["broken.yaml", "YAML"]),
    ("undecodable-bytes", lambda t, y: ["run", _file(t, "bytes.yaml", b"name: \xff\n")], ["bytes.yaml", "UTF-8"]),
    ("empty-file", lambda t, y: ["run", _file(t, "empty.yaml", b"# nothing\n")], ["empty.yaml", "empty"]),
    ("duplicate-key", lambda t, y: ["run", _file(t, "dup.yaml", b"steps: 3\nsteps: 4\n")], ["dup.yaml", "duplicate key"]),
    ("bool-as-number", lambda t, y: ["run", y, "--set", "network.degree=true"], ["network.degree", "a number"]),
    ("unknown-scenario", lambda t, y: ["run", "no-such-scenario-xyz"], ["no-such-scenario-xyz"]),
    ("set-without-equals", lambda t, y: ["run", y, "--set", "checkins.enabled"], ["KEY=VALUE"]),
    ("set-bad-yaml", lambda t, y: ["run", y, "--set", "population.size=[1,"], ["population.size"]),
    ("bad-engine", lambda t, y: ["run", y, "--engine", "turbo"], ["--engine", "turbo"]),
    ("negative-seed", lambda t, y: ["run", y, "--seed", "-1"], ["--seed"]),
    # a value above the scenario key's bound names the option given, not --set
    ("seed-too-large", lambda t, y: ["run", y, "--seed", str(2**70)], ["--seed", "must be <= 9223372036854775807"]),
    ("compare-steps-too-large", lambda t, y: ["compare", y, y, "--steps", "2000000"],
     ["--steps", "must be <= 1000000"]),
    ("trial-seed-too-large", lambda t, y: ["trial", y, "--seed", str(2**70)], ["--seed", "<= 9223372036854775807"]),
    ("non-integer-steps", lambda t, y: ["run", y, "--steps", "ten"], ["--steps", "ten"]),
    ("unknown-option", lambda t, y: ["run", y, "--bogus"], ["--bogus"]),
    ("no-scenario", lambda t, y: ["run"], ["SCENARIO"]),
    ("no-command", lambda t, y: [], ["COMMAND"]),
    ("unknown-command", lambda t, y: ["fly"], ["fly"]),
    ("replicates-zero", lambda t, y: ["compare", y, y, "--replicates", "0"], ["--replicates"]),
    ("replicates-negative", lambda t, y: ["compare", y, y, "--replicates", "-3"], ["--replicates"]),
    ("compare-bad-b", lambda t, y: ["compare", y, t / "nope.yaml"], ["nope.yaml"]),
    ("compare-unknown-key", lambda t, y: ["compare", y, y, "--set", "checkin.enabled=false"], ["checkins.enabled"]),
]


@pytest.mark.parametrize("build, fragments", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path, tiny_yaml, capsys, monkeypatch, build,
                                                           fragments):
    forbid_runs(monkeypatch)
    out = old_results(tmp_path)
    argv = [str(a) for a in build(tmp_path, tiny_yaml)]
    if len(argv) >= 2:
        argv += ["--out", str(out)]
    rc, stdout, err = run_cli(capsys, *argv)
    assert rc == 2
    assert_one_line_error(err, *fragments)
    assert (out / "metrics.csv").read_text() == "old results\n"
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv"]


def test_out_is_an_existing_file(tmp_path, tiny_yaml, capsys):
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", target, *SMALL)
    assert rc == 2
    assert_one_line_error(err, "--out", "taken.txt", "not a folder")
    assert target.read_text() == "keep me"
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", target / "sub", *SMALL)
    assert rc == 2
    assert_one_line_error(err, "--out")


def test_unreadable_edgelist_is_bad_input(tmp_path, tiny_yaml, capsys):
    edges = tmp_path / "edges.txt"
    edges.write_text("0 1\n1 2\nx y\n")
    out = tmp_path / "out"
    _earlier_run(out)
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--set", "network.kind=edgelist",
                         "--set", f"network.path={edges}", "--out", out, *SMALL)
    assert rc == 2
    assert_one_line_error(err, "edges.txt")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.csv"]
    assert (out / "metrics.csv").read_text() == "old results\n"


def test_check_out_dir_accepts_new_nested_folders_without_creating_them(tmp_path):
    p = check_out_dir(tmp_path / "a" / "b" / "c")
    assert not p.exists()
    with pytest.raises(OutputPathError):
        check_out_dir("")


def test_both_engines_write_the_same_metrics(tmp_path, tiny_yaml, capsys):
    outs = {}
    for engine in ("agents", "kernel"):
        rc, _, _ = run_cli(capsys, "run", tiny_yaml, "--engine", engine, "--out", tmp_path / engine, *SMALL)
        assert rc == 0
        manifest = json.loads((tmp_path / engine / "manifest.json").read_text())
        assert manifest["engine"] == engine
        outs[engine] = (tmp_path / engine / "metrics.csv").read_text()
    assert outs["agents"] == outs["kernel"]


def test_internal_error_is_exit_1_with_debug_hint(tmp_path, tiny_yaml, capsys, monkeypatch):
    import sim.api

    def boom(*a, **k):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(sim.api, "run", boom)
    monkeypatch.delenv("MUTUALAID_DEBUG", raising=False)
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", tmp_path / "o", *SMALL)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "boom" in lines[0] and "MUTUALAID_DEBUG=1" in lines[0]
    assert not (tmp_path / "o").exists()

    monkeypatch.setenv("MUTUALAID_DEBUG", "1")
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", tmp_path / "o", *SMALL)
    assert rc == 1 and "Traceback" in err


def test_failure_while_writing_keeps_earlier_files(tmp_path, tiny_yaml, capsys, monkeypatch):
    """A failed write (here: the plot) leaves neither half files nor replaced ones."""
    import sim.output

    out = tmp_path / "out"
    _earlier_run(out)

    class BadFigure:
        def savefig(self, path, **kw):
            Path(path).write_bytes(b"half a png")
            raise OSError("disk full")

    monkeypatch.setattr(sim.output, "plot_metrics", lambda *a, **k: BadFigure())
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", out, "--plot", *SMALL)
    assert rc == 1 and "disk full" in err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.csv"]
    assert (out / "metrics.csv").read_text() == "old results\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # the staging folder is gone


def test_staged_files_all_or_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with pytest.raises(RuntimeError):
        with StagedFiles(tmp_path) as files:
            files.write_text("a.txt", "new a")
            files.write_text("b.txt", "new b")
            raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a"
    with StagedFiles(tmp_path / "new") as files:
        files.write_text("a.txt", "x")
        files.write_json("m.json", {"k": 1})
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["a.txt", "m.json"]
    assert json.loads((tmp_path / "new" / "m.json").read_text()) == {"k": 1}


# ----------------------------------------------------------------------------- schema, scenarios, help


def test_schema_is_json_schema_of_a_scenario(capsys):
    rc, out, _ = run_cli(capsys, "schema")
    assert rc == 0
    schema = json.loads(out)
    assert {"population", "network", "checkins", "seed", "steps"} <= set(schema["properties"])


def test_scenarios_lists_shipped_names(capsys):
    from sim.core.scenarios import scenario_names

    rc, out, _ = run_cli(capsys, "scenarios")
    assert rc == 0
    for name in scenario_names():
        assert any(line.startswith(name + " ") or line == name for line in out.splitlines()), name


def test_lesson_writes_its_table_figure_and_runs(tmp_path, capsys):
    import json

    out = tmp_path / "lesson"
    rc, text, _ = run_cli(capsys, "lesson", "kropotkin", "--seeds", "2", "--steps", "5", "--workers", "1",
                          "--out", out, "--quiet")
    assert rc == 0 and text == ""
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(["lesson.md", "runs.csv", "summary.csv", "lesson.png",
                                                "manifest.json"])
    assert sorted(p.name for p in out.iterdir()) == sorted(manifest["files"])
    md = (out / "lesson.md").read_text()
    assert "| Partner choice only |" in md and "Survival of the supported" in md
    assert len(manifest["arms"]) == 12 and len(manifest["seeds"]) == 2


def test_lesson_bad_options_exit_2(capsys):
    rc, _, err = run_cli(capsys, "lesson", "kropotkin", "--seeds", "1")
    assert rc == 2 and "--seeds" in err
    rc, _, err = run_cli(capsys, "lesson", "baseline")
    assert rc == 2 and "invalid choice" in err


def test_classic_game_summary_has_no_psychology_rows(tmp_path, capsys):
    rc, out, _ = run_cli(capsys, "run", "nowak-may-1992", "--steps", "3", "--set", "network.width=10",
                         "--set", "network.height=10", "--out", tmp_path / "nm")
    assert rc == 0
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"helpers", "assortment"} <= rows
    assert not rows & {"mean_stress", "mean_craving", "using", "abstinent", "attendance", "totals:"}
    rc, out, _ = run_cli(capsys, "run", "baseline", "--steps", "3", "--set", "population.size=40",
                         "--out", tmp_path / "b")
    assert "mean_stress" in out and "totals:" in out


def test_help_exits_0(capsys):
    rc, out, _ = run_cli(capsys, "--help")
    assert rc == 0 and "run" in out and "compare" in out
    rc, out, _ = run_cli(capsys, "run", "--help")
    assert rc == 0 and "--set" in out


# ----------------------------------------------------------------------------- progress


def log_on(monkeypatch):
    """Progress lines in a log, which the suite turns off elsewhere (tests/conftest.py)."""
    from sim import progress

    monkeypatch.setattr(progress, "LOG", True)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_one_updating_line_on_a_terminal():
    term = FakeTerminal()
    with Progress("day", stream=term, min_interval=0) as p:
        for t in range(0, 11):
            p(t, 10)
    text = term.getvalue()
    assert "\n" not in text
    assert "day 5/10" in text and "50%" in text and "ETA" in text
    assert text.endswith("\r")  # erased at the end


def test_progress_off_terminal_is_silent_for_short_work_and_with_quiet(monkeypatch):
    log_on(monkeypatch)
    plain = io.StringIO()
    p = progress_for("run", stream=plain)
    p(1, 2)
    p(2, 2)
    p.close()
    assert plain.getvalue() == ""  # short work: nothing in the log
    term = FakeTerminal()
    q = progress_for("run", quiet=True, stream=term)
    q(1, 2)
    q.close()
    assert term.getvalue() == ""
    piped = io.StringIO()
    q = progress_for("run", quiet=True, stream=piped, compiling=True)
    q.phase("burn-in", 1, 2)
    q(1, 2)
    assert piped.getvalue() == ""


def test_progress_in_a_log_is_a_line_every_few_seconds_and_a_last_one(monkeypatch):
    """Without a terminal (CI, `make run > log`) long work used to print nothing at all."""
    log_on(monkeypatch)
    from sim import progress

    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    log = io.StringIO()
    p = progress_for("day", stream=log)
    for t in range(0, 11):
        now[0] = 2.0 * t  # each day 2 s after the one before
        p(t, 10)
    p.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 4  # at 6, 12 and 18 s (LOG_INTERVAL is 5 s), and the last
    assert all(re.fullmatch(r"day \d+/10 +\d+%  (ETA \S+|done in \S+)", x) for x in lines), lines
    assert lines[-1].startswith("day 10/10") and "done in" in lines[-1]
    assert "\r" not in log.getvalue()


def test_the_burn_in_is_its_own_phase_on_a_terminal_and_in_a_log(monkeypatch):
    log_on(monkeypatch)
    term = FakeTerminal()
    with Progress("day", stream=term, min_interval=0) as p:
        for d in range(0, 5):
            p.phase("burn-in", d, 4)
        for t in range(0, 3):
            p(t, 2)
    text = term.getvalue()
    assert "burn-in day 2/4" in text and "day 1/2" in text and "\n" not in text
    from sim import progress

    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    log = io.StringIO()
    p = progress_for("day", stream=log)
    p.phase("burn-in", 3, 4)
    p(1, 2)
    assert log.getvalue().splitlines()[0].startswith("burn-in day 3/4")
    assert log.getvalue().splitlines()[1].startswith("day 1/2")


def test_a_run_without_a_terminal_reports_its_burn_in_and_days_in_the_log(tmp_path, capsys, monkeypatch):
    """A 100,000-member run used to print nothing for the 20-30 s of its burn-in: the burn-in was not in the
    progress line, and off a terminal there was no progress at all."""
    log_on(monkeypatch)
    from sim import progress

    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # every report makes a line
    monkeypatch.setattr(progress, "kernel_compiled", lambda: True)
    rc, _, err = run_cli(capsys, "run", "baseline", "--set", "population.size=40", "--steps", "3",
                         "--set", "population.burn_in=4", "--out", tmp_path / "o")
    assert rc == 0
    lines = err.splitlines()
    assert "burn-in day 4/4  100%" in " ".join(lines) and lines[-1].startswith("day 3/3  100%  done in")
    assert lines.index(next(x for x in lines if x.startswith("burn-in"))) < lines.index(lines[-1])
    assert all(re.match(progress.LOG_LINE, x) for x in lines), lines


def test_format_duration():
    assert format_duration(4.2) == "4s"
    assert format_duration(125) == "2m05s"
    assert format_duration(3720) == "1h02m"


# ----------------------------------------------------------------------------- the real executables


def _env():
    env = dict(os.environ)
    env.pop("MUTUALAID_DEBUG", None)
    return env


def test_console_script_runs_and_exits_0(tmp_path, tiny_yaml):
    exe = Path(sys.executable).parent / "mutualaid"
    if not exe.exists():
        pytest.skip("console script not installed next to this python")
    out = tmp_path / "out"
    res = subprocess.run([str(exe), "run", str(tiny_yaml), "--out", str(out), *SMALL],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    from sim.progress import LOG_LINE

    # piped: a log, which gets progress lines only (the first compile; a line every few seconds of a slow run)
    assert all(re.match(LOG_LINE, line) for line in res.stderr.splitlines()), res.stderr
    assert "totals:" in res.stdout
    assert (out / "metrics.parquet").is_file()


def test_module_bad_input_exits_2_with_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True, env=_env(), cwd=REPO, timeout=120)
    assert res.returncode == 2
    assert_one_line_error(res.stderr, "missing.yaml")
    res = subprocess.run([sys.executable, "-m", "sim.cli", "compare", "a", "b", "--replicates", "0"],
                         capture_output=True, text=True, env=_env(), cwd=REPO, timeout=120)
    assert res.returncode == 2
    assert_one_line_error(res.stderr, "--replicates")


@pytest.mark.parametrize("kwargs,fragment", [
    ({"scenario": 42}, "scenario = 42: expected a scenario name"),
    ({"seed": True}, "seed = True: expected an integer"),
    ({"seed": 3.7}, "seed = 3.7: expected an integer"),
    ({"steps": "10"}, "steps = '10': expected an integer"),
    ({"members": "no"}, "members = 'no': expected True or False"),
    ({"set": 5}, "set = 5: expected a mapping"),
    ({"set": [("population.size", 3)]}, "expected a 'KEY=VALUE' string"),
    # set= as strings: the errors name the call, not the command line's --set
    ({"set": "population.size"}, "sim.run: set item 'population.size': expected 'KEY=VALUE'"),
    ({"set": ["population.sise=30"]}, "sim.run: unknown key 'population.sise' (did you mean 'population.size'?)"),
    ({"set": ["population.size=[30"]}, "sim.run: set item 'population.size=[30': cannot read the value"),
])
def test_the_python_api_checks_its_arguments(kwargs, fragment):
    import sim
    from sim.core.scenarios import ScenarioError

    kwargs = dict({"scenario": "baseline", "steps": 2}, **kwargs)
    with pytest.raises(ScenarioError, match=re.escape(fragment)) as e:
        sim.run(kwargs.pop("scenario"), **kwargs)
    assert "--set" not in str(e.value)


def test_the_python_api_takes_one_override_string_and_numpy_integers():
    import numpy as np

    import sim

    r = sim.run("baseline", steps=np.int64(2), seed=np.int64(5), set="population.size=30", engine="kernel")
    assert r.scenario.population.size == 30 and r.scenario.seed == 5 and len(r.metrics) == 3


def test_a_cold_compile_is_announced_in_a_log_too_with_its_end(monkeypatch):
    """With output redirected nothing appeared for the minute of the first compile."""
    log_on(monkeypatch)
    import io

    from sim import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(progress, "kernel_compiled", lambda: False)
    tty, pipe = Tty(), io.StringIO()
    assert progress.compile_notice(False, tty) and progress.compile_notice(False, pipe)
    assert not progress.compile_notice(True, tty2 := Tty())
    assert "compiling the simulation kernel" in tty.getvalue()
    assert "compiling the simulation kernel" in pipe.getvalue()
    assert tty2.getvalue() == ""
    p = progress.progress_for("day", stream=pipe, compiling=True)
    p(0, 3)
    assert "compiled" not in pipe.getvalue()  # nothing done yet
    p(1, 3)
    p(2, 3)
    assert pipe.getvalue().count("compiled the simulation kernel in") == 1
    monkeypatch.setattr(progress, "kernel_compiled", lambda: True)
    warm = Tty()
    assert not progress.compile_notice(False, warm)
    assert warm.getvalue() == ""


def test_the_kernel_cache_is_found_once_compiled():
    import sim
    from sim import progress

    sim.run("baseline", steps=1, set={"population.size": 30}, engine="kernel")
    assert progress.kernel_compiled()


def test_threads_changes_nothing_but_the_threads(tmp_path, capsys):
    import numba

    outs = {}
    for n in ("1", "2"):
        rc, _, err = run_cli(capsys, "run", "baseline", "--steps", "5", "--set", "population.size=200",
                             "--threads", n, "--out", tmp_path / n, "-q")
        assert rc == 0, err
        assert numba.get_num_threads() == min(int(n), numba.config.NUMBA_NUM_THREADS)
        outs[n] = (tmp_path / n / "metrics.csv").read_text()
    assert outs["1"] == outs["2"]
    rc, _, err = run_cli(capsys, "run", "baseline", "--threads", "0")
    assert rc == 2 and "--threads" in err
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_every_shipped_scenario_file_validates_against_the_printed_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from sim.core.scenarios import SCENARIO_DIR, scenario_names

    rc, out, _ = run_cli(capsys, "schema")
    assert rc == 0
    schema = json.loads(out)
    assert "extends" in schema["properties"]
    for name in scenario_names():
        jsonschema.validate(yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"extends": "baseline", "checkin": {"enabled": False}}, schema)


def test_ctrl_c_stops_a_large_run_promptly_and_writes_nothing(tmp_path):
    """SIGINT in the middle of a 200,000-member run: exit 130 with one line, no results folder.
    (The latency, about 0.5 s here, is measured in the closing note; the bound is loose.)"""
    import signal
    import time

    exe = Path(sys.executable).parent / "mutualaid"
    out = tmp_path / "big"
    p = subprocess.Popen([str(exe), "run", "baseline", "--set", "population.size=200000", "--steps", "200",
                          "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(4)
    assert p.poll() is None, "the run ended before it could be interrupted"
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and time.monotonic() - t0 < 10
    assert err.decode().strip().splitlines() == ["mutualaid: interrupted"]
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("target", ["/proc/mutualaid-x", "/proc/sys/mutualaid-x"])
def test_an_out_folder_that_cannot_be_created_is_refused_before_the_run(capsys, target):
    """Permission bits pass for root on /proc; the folder still cannot be made (was an internal error, exit 1)."""
    rc, out, err = run_cli(capsys, "run", "baseline", "--out", target)
    assert rc == 2 and err.count("\n") == 1 and "is not writable" in err and target in err
    assert not Path(target).exists()


@pytest.mark.parametrize("argv", [
    ["compare", "baseline", "no-checkins", "-r", "2", "--steps", "2", "--set", "population.size=30"],
    ["sweep", REPO / "scenarios" / "sweeps" / "checkins-x-isolation.yaml"],
], ids=["compare", "sweep"])
def test_compare_and_sweep_refuse_an_out_folder_that_cannot_be_created(capsys, monkeypatch, argv):
    import sim.experiments.sweep

    def no_sweep(*a, **k):
        raise AssertionError("bad input must be caught before the sweep starts")

    forbid_runs(monkeypatch)
    monkeypatch.setattr(sim.experiments.sweep, "run_sweep", no_sweep)
    rc, out, err = run_cli(capsys, *argv, "--out", "/proc/mutualaid-x")
    assert rc == 2 and err.count("\n") == 1 and "is not writable" in err and "/proc/mutualaid-x" in err
    assert not Path("/proc/mutualaid-x").exists()


def test_compare_refuses_replicates_beyond_its_cap_before_running(capsys):
    """`--replicates 100000000` used to run until memory ran out."""
    rc, out, err = run_cli(capsys, "compare", "baseline", "no-checkins", "--replicates", "100000000")
    assert rc == 2 and err.count("\n") == 1 and "more than the 10,000" in err and "hours" in err


def test_a_long_step_in_a_log_still_gets_a_line_every_few_seconds(monkeypatch):
    """One long run (or the first compile) between two reports used to leave a log silent for its length."""
    log_on(monkeypatch)
    import time

    from sim import progress

    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.5)
    log = io.StringIO()
    with progress_for("run", stream=log, compiling=True) as p:
        time.sleep(1.3)  # compiling: no report yet
        p(1, 3)
        time.sleep(1.3)  # the second run takes long
    lines = log.getvalue().splitlines()
    assert any(x.startswith("compiling the simulation kernel ... (") for x in lines), lines
    assert any(x.startswith("run 1/3") and "(working:" in x for x in lines), lines
    assert all(re.match(progress.LOG_LINE, x) for x in lines), lines  # what a tool reading the log looks for
    n = len(lines)
    time.sleep(1.2)
    assert len(log.getvalue().splitlines()) == n  # closed: no more lines


def test_a_scenario_file_that_does_not_name_itself_gets_its_own_folder(tmp_path, capsys, monkeypatch):
    """``extends: baseline`` alone inherits the name "baseline": its run went to results/baseline/ and
    replaced baseline's own results there (the review of issue 26 found it). Its folder is now the file's."""
    monkeypatch.chdir(tmp_path)
    small = ["--steps", "2", "--set", "population.size=40", "-q"]
    rc, _, err = run_cli(capsys, "run", "baseline", *small)
    assert rc == 0, err
    before = (tmp_path / "results" / "baseline" / "manifest.json").read_bytes()
    (tmp_path / "variant.yaml").write_text("extends: baseline\ncheckins:\n  enabled: false\n")
    rc, _, err = run_cli(capsys, "run", "variant.yaml", *small)
    assert rc == 0, err
    assert (tmp_path / "results" / "baseline" / "manifest.json").read_bytes() == before
    man = json.loads((tmp_path / "results" / "variant" / "manifest.json").read_text())
    assert man["scenario"]["checkins"]["enabled"] is False
    (tmp_path / "named.yaml").write_text("name: my-variant\nextends: baseline\n")
    rc, _, err = run_cli(capsys, "run", "named.yaml", *small)
    assert rc == 0 and (tmp_path / "results" / "my-variant" / "manifest.json").is_file(), err
