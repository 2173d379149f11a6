"""`mutualaid validate`: its folder and its refusals. That `validate --quick` passes every check is tested
once, on the installed wheel (tests/test_wheel.py's tour)."""

from sim.cli import main


def test_validate_refuses_a_file_as_out_folder(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["validate", "--quick", "--out", str(f)]) == 2
    assert "--out" in capsys.readouterr().err


def test_validate_refuses_an_out_it_cannot_create_before_running_the_checks(capsys, monkeypatch):
    """/proc refuses new folders even to root: the command says so at once, without running a check."""
    from sim.experiments import validate

    def never(**_):
        raise AssertionError("the checks ran before --out was checked")

    monkeypatch.setattr(validate, "run", never)
    assert main(["validate", "--quick", "--out", "/proc/mutualaid-x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mutualaid: error: --out /proc/mutualaid-x: cannot create it")


def test_health_diagnostics_are_reported_apart_and_never_fail_the_run():
    from sim.experiments import validate as v

    checks = [v.Check("classic", "s", "e", 1.0, True),
              v.Check("pinned", "s", "at most 0.01", 0.6, False, group="health"),
              v.Check("drop-outs", "s", "reported", 0.2, True, group="health", verdict="reported")]
    assert v.summary(checks) == "1/1 checks passed; 0/0 fitted patterns on target; 0/1 health diagnostics hold"
    text = v.table(checks)
    assert "| pinned | s | at most 0.01 | 0.600 | does not hold |" in text
    assert "| drop-outs | s | reported | 0.200 | reported |" in text
    assert "FAIL" not in text
