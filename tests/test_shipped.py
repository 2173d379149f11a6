"""The shipped files are found as package resources, never through the checkout's layout.

(tests/test_wheel.py installs the wheel elsewhere and runs the tour; these are the quick checks.)
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from importlib import resources
from pathlib import Path

import pytest

from sim.cli import main
from sim.core import shipped

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_folders_are_the_packages_resources():
    assert shipped.SCENARIO_DIR == resources.files("sim.scenarios")
    assert shipped.ODD_PATH == resources.files("sim.docs") / "ODD.md"
    assert shipped.INFO_DIR == shipped.SCENARIO_DIR / "info" and shipped.SWEEP_DIR == shipped.SCENARIO_DIR / "sweeps"
    assert (shipped.SCENARIO_DIR / "baseline.yaml").is_file() and shipped.ODD_PATH.is_file()
    assert sorted(shipped.INFO_DIR.glob("*.md")) and sorted(shipped.SWEEP_DIR.glob("*.yaml"))
    app = importlib.util.find_spec(shipped.DASHBOARD_APP)
    assert app is not None and Path(app.origin).name == "app.py"
    # in a checkout, the packages are the repository's top-level folders themselves (one copy of each file)
    if (ROOT / "scenarios" / "baseline.yaml").is_file() and shipped.SCENARIO_DIR.resolve().is_relative_to(ROOT):
        assert shipped.SCENARIO_DIR.resolve() == (ROOT / "scenarios").resolve()
        assert Path(app.origin).resolve() == (ROOT / "dashboards" / "app.py").resolve()


def test_no_code_finds_files_through_the_checkouts_layout():
    """Files are found by package name (sim.core.shipped), not from a module's own path up into the
    repository (``parents[2] / "scenarios"``, ``Path(__file__).parent.parent / "dashboards"``): the modules
    that use ``__file__`` are these, each for a file of the package itself or of a checkout on purpose."""
    allowed = {
        "sim/output.py": "the git commit, when the code runs from a checkout",
        "sim/core/layout.py": "the generated _ref.py beside it",
        "sim/experiments/sweep/identity.py": "the code id: the package's own .py files",
        "dashboards/screenshots.py": "a checkout tool: writes docs/images",
        "dashboards/measure_fps.py": "a checkout tool",
        "sim/experiments/docfigures.py": "mutualaid docs rewrites the checkout's README and docs",
    }
    users = set()
    for folder in (ROOT / "sim", ROOT / "dashboards"):
        for f in folder.rglob("*.py"):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            if any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(tree)):
                users.add(f.relative_to(ROOT).as_posix())
    assert users <= set(allowed), sorted(users - set(allowed))


def test_the_dashboard_app_does_not_edit_sys_path():
    tree = ast.parse((ROOT / "dashboards" / "app.py").read_text(encoding="utf-8"))
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    froms = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "sys" not in imports
    assert "sim.dashboards" in froms and "dashboards" not in froms


def test_mutualaid_dashboard_serves_the_installed_module_with_this_interpreter(monkeypatch):
    seen = {}

    def execv(path, argv):
        seen["path"], seen["argv"] = path, argv
        raise SystemExit(0)  # stop here instead of becoming the server

    monkeypatch.setattr("os.execv", execv)
    with pytest.raises(SystemExit):
        main(["dashboard", "--host", "127.0.0.2", "--port", "8799"])
    assert seen["path"] == sys.executable
    assert seen["argv"] == [sys.executable, "-m", "solara", "run", "sim.dashboards.app", "--host", "127.0.0.2",
                            "--port", "8799", "--production", "--no-open"]


def test_mutualaid_dashboard_without_solara_says_how_to_install_it(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a))
    monkeypatch.setattr("os.execv", lambda *a: pytest.fail("started without solara"))
    assert main(["dashboard"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "solara is not installed" in err[0] and ".[dashboard]" in err[0]


def test_a_shipped_sweep_runs_by_name_from_any_folder(tmp_path, monkeypatch):
    from sim.experiments.sweep import SweepError, load_sweep, resolve_sweep_path, sweep_names

    monkeypatch.chdir(tmp_path)
    assert sweep_names() == sorted(p.stem for p in shipped.SWEEP_DIR.glob("*.yaml"))
    assert "checkins-x-isolation" in sweep_names()
    by_name = load_sweep("checkins-x-isolation")
    by_path = load_sweep(shipped.SWEEP_DIR / "checkins-x-isolation.yaml")
    assert by_name.name == by_path.name and by_name.points == by_path.points
    assert resolve_sweep_path("x/checkins-x-isolation") == Path("x/checkins-x-isolation")  # a path stays one
    (tmp_path / "checkins-x-isolation").write_text("not a sweep")  # a file of that name here wins
    assert resolve_sweep_path("checkins-x-isolation") == Path("checkins-x-isolation")
    with pytest.raises(SweepError, match="shipped sweep: checkins-x-isolation"):
        load_sweep("no-such-sweep")


def test_the_results_view_looks_in_the_folder_the_server_started_in(tmp_path, monkeypatch):
    from sim.dashboards import support

    monkeypatch.delenv("MUTUALAID_RESULTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert support.results_root() == (tmp_path / "results").resolve()
