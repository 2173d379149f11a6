"""Output folders know whose they are (issue 26): a command replaces only a folder of its own kind, refuses
any other with exit 2 and one line, and a refused or failed start leaves no lock and no stray file.

The property at the end runs every command into a folder made by every other command (and into a user's
folder) and checks that nothing there is lost or changed.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.experiments import validate
from sim.experiments.validate import Check
from sim.output import FOLDER_KINDS, folder_kind

SMALL = ["--set", "population.size=40", "--steps", "3"]


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mutualaid: error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fake_checks(quick: bool = False, log=None) -> list[Check]:
    """Two validation checks in no time (the real ones take a minute): validate's own writing is tested."""
    return [Check("a classic check", "a source", "> 0", 0.5, True, series={"b=1.5": [0.1, 0.2]}),
            Check("another", "a source", "< 1", 0.4, True)]


def sweep_file(tmp: Path) -> Path:
    p = tmp / "tiny-sweep.yaml"
    p.write_text("name: tiny\nscenario: baseline\nsteps: 3\nreplicates: 1\nseed: 1\n"
                 "parameters:\n  checkins.prob: [0.2, 0.4]\n  population.size: 40\n", encoding="utf-8")
    return p


def decision_log(tmp: Path) -> Path:
    """A tiny session's decision log: one person's decisions on two days."""
    from sim.core.choices import Decision, DecisionLog
    from sim.core.scenarios import load_scenario

    log = DecisionLog(load_scenario("baseline", {"population.size": 40, "steps": 3, "population.burn_in": 5}))
    log.add([Decision(1, 3, help=True, attend=False), Decision(2, 3, call=True)])
    return log.write(tmp / "session.jsonl")


def command(kind: str, tmp: Path, out: Path) -> list:
    """The command line of ``kind`` writing into ``out``: small and in this process (-j 1)."""
    return {
        "run": ["run", "baseline", *SMALL, "-q", "--out", out],
        "compare": ["compare", "baseline", "no-checkins", "-r", "1", "-j", "1", *SMALL, "-q", "--out", out],
        "trial": ["trial", "baseline", "-r", "2", "--steps", "3", "--set", "population.size=40", "--designs",
                  "community", "-j", "1", "--handout", "-q", "--out", out],
        "lesson": ["lesson", "kropotkin", "-r", "2", "--steps", "2", "-j", "1", "-q", "--out", out],
        "sweep": ["sweep", sweep_file(tmp), "-j", "1", "-q", "--out", out],
        "validate": ["validate", "--quick", "-q", "--out", out],
        "report": ["report", out, "-q"],
        "replay": ["replay", decision_log(tmp), "-q", "--out", out],
    }[kind]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One folder made by each command (and a report inside the sweep's), plus a user's folder."""
    tmp = tmp_path_factory.mktemp("made")
    mp = pytest.MonkeyPatch()
    mp.setattr(validate, "run", fake_checks)
    made = {}
    try:
        for kind in FOLDER_KINDS:
            out = tmp / kind
            assert main([str(a) for a in command(kind, tmp, out)]) == 0, kind
            made[kind] = out
        assert main([str(a) for a in command("report", tmp, made["sweep"])]) == 0
    finally:
        mp.undo()
    user = tmp / "user"
    (user / ".git").mkdir(parents=True)
    (user / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (user / "notes.txt").write_text("mine")
    made["user"] = user
    return made


def test_each_folder_carries_its_commands_marker(folders):
    for kind in FOLDER_KINDS:
        assert folder_kind(folders[kind]) == kind
        assert json.loads((folders[kind] / "manifest.json").read_text())["command"] == kind
    assert folder_kind(folders["user"]) is None
    assert (folders["trial"] / "handout.pdf").is_file()
    assert (folders["sweep"] / "report.md").is_file()


def test_a_run_into_a_lesson_folder_is_refused_and_deletes_nothing(folders, tmp_path, capsys):
    """It used to delete lesson.md, lesson.png, runs.csv and summary.csv (rc 0)."""
    target = tmp_path / "lesson"
    shutil.copytree(folders["lesson"], target)
    before = snapshot(target)
    rc, _, err = run_cli(capsys, "run", "baseline", *SMALL, "--out", target)
    assert rc == 2
    one_line(err, "is a lesson's folder", "lesson.md", "not a run's", "nothing was written", "new or empty folder")
    assert snapshot(target) == before


def test_a_run_into_a_trial_folder_keeps_the_handout(folders, tmp_path, capsys):
    target = tmp_path / "trial"
    shutil.copytree(folders["trial"], target)
    before = snapshot(target)
    rc, _, err = run_cli(capsys, "run", "baseline", *SMALL, "--out", target)
    assert rc == 2
    one_line(err, "is a trial's folder")
    assert snapshot(target) == before and "handout.pdf" in before


@pytest.mark.parametrize("kind", ["compare", "lesson", "trial"])
def test_compare_lesson_and_trial_into_a_run_folder_are_refused(folders, tmp_path, capsys, kind):
    target = tmp_path / "run"
    shutil.copytree(folders["run"], target)
    before = snapshot(target)
    rc, _, err = run_cli(capsys, *command(kind, tmp_path, target))
    assert rc == 2
    one_line(err, "is a run's folder", "`mutualaid run` replaces it")
    assert snapshot(target) == before


@pytest.mark.parametrize("kind", ["sweep", "validate"])
def test_sweep_and_validate_refuse_a_folder_of_unrelated_files(folders, tmp_path, capsys, monkeypatch, kind):
    """They used to write into it (run refused it)."""
    monkeypatch.setattr(validate, "run", fake_checks)
    target = tmp_path / "user"
    shutil.copytree(folders["user"], target)
    before = snapshot(target)
    rc, _, err = run_cli(capsys, *command(kind, tmp_path, target))
    assert rc == 2
    one_line(err, "holds files that are not", "notes.txt")
    assert snapshot(target) == before


def test_validate_replaces_only_its_own_folder(folders, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(validate, "run", fake_checks)
    target = tmp_path / "validation"
    shutil.copytree(folders["validate"], target)
    (target / "validation.md").write_text("an earlier validation")
    assert run_cli(capsys, *command("validate", tmp_path, target))[0] == 0
    assert (target / "validation.md").read_text().startswith("# Validation: 2/2 checks passed")
    assert sorted(p.name for p in target.iterdir()) == sorted(json.loads((target / "manifest.json").read_text())
                                                              ["files"])


def test_an_earlier_validation_without_a_manifest_is_still_validates_own(tmp_path, capsys, monkeypatch):
    """A validation folder written before validate wrote a manifest is validate's own."""
    monkeypatch.setattr(validate, "run", fake_checks)
    old = tmp_path / "old"
    old.mkdir()
    (old / "validation.md").write_text("# Validation: earlier")
    (old / "nowak_may.png").write_bytes(b"png")
    assert folder_kind(old) == "validate"
    assert run_cli(capsys, *command("validate", tmp_path, old))[0] == 0
    assert folder_kind(old) == "validate" and (old / "manifest.json").is_file()


def test_a_folder_changed_during_the_run_is_not_replaced(folders, tmp_path, capsys, monkeypatch):
    """Checked again just before the swap: a file that came while the run ran is kept, with the folder."""
    import sim.api

    target = tmp_path / "run"
    shutil.copytree(folders["run"], target)
    real = sim.api.run

    def run_and_meddle(*a, **k):
        (target / "mine.txt").write_text("written during the run")
        return real(*a, **k)

    monkeypatch.setattr(sim.api, "run", run_and_meddle)
    rc, _, err = run_cli(capsys, "run", "baseline", *SMALL, "--out", target)
    assert rc == 2
    one_line(err, "mine.txt", "the new results were not written")
    assert (target / "mine.txt").read_text() == "written during the run"
    assert (target / "metrics.csv").read_bytes() == (folders["run"] / "metrics.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_report_names_the_kind_of_folder_it_was_given(folders, tmp_path, capsys):
    for kind in ("run", "lesson", "validate"):
        target = tmp_path / kind
        shutil.copytree(folders[kind], target)
        before = snapshot(target)
        rc, _, err = run_cli(capsys, "report", target)
        assert rc == 2
        one_line(err, f"is a {kind} command's folder, not a sweep's")
        assert snapshot(target) == before


# ----------------------------------------------------------------------------- locks and leftovers


def test_a_sweep_refused_for_a_run_folder_leaves_no_lock(folders, tmp_path, capsys):
    """It used to leave RUN/.lock, after which run refused the folder for holding .lock."""
    target = tmp_path / "run"
    shutil.copytree(folders["run"], target)
    before = snapshot(target)
    rc, _, err = run_cli(capsys, *command("sweep", tmp_path, target))
    assert rc == 2
    one_line(err, "is a run's folder", "not a sweep's")
    assert snapshot(target) == before
    assert run_cli(capsys, "run", "baseline", *SMALL, "-q", "--out", target)[0] == 0


def test_a_sweep_with_no_scheduler_leaves_nothing(tmp_path, capsys, monkeypatch):
    """No Dask scheduler answers: it used to leave .lock and sweep.json in the folder it created."""
    from sim.experiments import sweep as sweep_mod
    from sim.experiments.sweep import SweepError

    def no_scheduler(*a, **k):
        raise SweepError("--dask tcp://127.0.0.1:1: cannot reach the scheduler (refused)")
        yield  # noqa: unreachable - a generator, as the real one

    monkeypatch.setattr(sweep_mod.dispatch, "_iter_dask", no_scheduler)
    out = tmp_path / "new" / "sweep"
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "--dask", "tcp://127.0.0.1:1", "--out", out, "-q")
    assert rc == 2
    one_line(err, "cannot reach the scheduler")
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(capsys, "sweep", sweep_file(tmp_path), "--dask", "tcp://127.0.0.1:1", "--out", empty,
                   "-q")[0] == 2
    assert list(empty.iterdir()) == []  # the folder it was given stays, empty


def test_a_sweep_stopped_by_ctrl_c_before_any_run_leaves_nothing(tmp_path, capsys, monkeypatch):
    from sim.experiments import sweep as sweep_mod

    def interrupted(*a, **k):
        raise KeyboardInterrupt
        yield  # noqa: unreachable

    monkeypatch.setattr(sweep_mod.dispatch, "_iter_inline", interrupted)
    out = tmp_path / "s"
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "-j", "1", "--out", out, "-q")
    assert rc == 130 and "interrupted" in err
    assert not out.exists()


def test_a_finished_sweep_leaves_no_lock_and_a_stale_one_is_taken_over_with_a_notice(tmp_path, capsys):
    out = tmp_path / "s"
    assert run_cli(capsys, "sweep", sweep_file(tmp_path), "-j", "1", "--out", out, "-q")[0] == 0
    assert not (out / ".lock").exists()
    (out / ".lock").write_text("pid 999999 on gone")  # a process killed with SIGKILL left it; nobody holds it
    rc, _, err = run_cli(capsys, "sweep", sweep_file(tmp_path), "-j", "1", "--out", out)
    assert rc == 0
    assert "took over the lock left by pid 999999 on gone, which is no longer running" in err
    assert not (out / ".lock").exists()


def test_a_run_is_not_refused_for_a_stale_lock_but_is_for_a_held_one(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / ".lock").write_text("pid 999999 on gone")
    assert run_cli(capsys, "run", "baseline", *SMALL, "-q", "--out", out)[0] == 0
    assert not (out / ".lock").exists()
    held = tmp_path / "held"
    held.mkdir()
    with open(held / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 1 on elsewhere")
        fh.flush()
        rc, _, err = run_cli(capsys, "run", "baseline", *SMALL, "--out", held)
    assert rc == 2
    one_line(err, "a sweep is writing into this folder", "pid 1 on elsewhere")


# ----------------------------------------------------------------------------- the property


def test_no_command_loses_another_commands_results(folders, tmp_path, capsys, monkeypatch):
    """Every command into a folder made by every command (and a user's): the folder is replaced only by its
    own command (a sweep's resumed, a report added to a sweep's); otherwise refused with exit 2 and one line,
    and every file in it is as it was."""
    monkeypatch.setattr(validate, "run", fake_checks)
    expensive = {"lesson", "trial"}  # their own folder is replaced as the others' are (tested above for run)
    for made_by, folder in folders.items():
        for kind in (*FOLDER_KINDS, "report"):
            target = tmp_path / f"{made_by}-by-{kind}"
            shutil.copytree(folder, target)
            before = snapshot(target)
            own = kind == made_by or (kind == "report" and made_by == "sweep")
            if own and kind in expensive:
                continue
            rc, _, err = run_cli(capsys, *command(kind, tmp_path, target))
            case = f"{kind} into a folder made by {made_by}"
            if own:
                assert rc == 0, (case, err)
                assert folder_kind(target) == made_by, case
                if made_by == "sweep":  # resumed: every earlier file is still there
                    assert set(before) <= set(snapshot(target)), case
                continue
            assert rc == 2, (case, err)
            one_line(err)
            assert snapshot(target) == before, case
            assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], case  # no staging left
