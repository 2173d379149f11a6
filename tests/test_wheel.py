"""The wheel ships what the package runs, and the README's tour runs from it outside the checkout.

The wheel is built with ``pip wheel . --no-deps`` in a copy of the checkout (as a fresh clone would be:
without ``.git``, ``.venv``, ``build/`` or ``results/``; a stale ``build/`` would carry deleted files into
a wheel, and a test writes nothing into the checkout). It is installed into a fresh virtual environment in
a temporary folder, and the tour runs from another temporary folder: ``scenarios``, ``run``, ``compare``,
``lesson``, ``trial``, ``sweep`` (a shipped sweep by name), ``report``, ``validate --quick`` and a
dashboard page in Chromium, all at small sizes.

To stay fast the new environment reuses this one's dependencies instead of downloading them: a ``.pth``
line puts this environment's site-packages after its own, written after the wheel is installed (so pip
sees an empty environment). The line is a plain path, so this environment's own ``.pth`` files (the
checkout's editable install among them) are not run there: ``sim`` is found only in the wheel's copy,
which the first tour test checks. The data files those dependencies installed into this environment's
prefix rather than its site-packages (``share/``: the front end solara-assets serves without a CDN, the
widgets' Jupyter extensions; ``etc/jupyter``) are linked into the new environment's prefix, where a real
install keeps them.

Marked ``wheel`` (``pytest -m wheel`` runs it alone); ``make test`` runs it with the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from .servers import stop_group, wait_until_serving

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
#: seconds any one command of the tour may take (the first compiles the kernels: about a minute)
TIMEOUT = 900
#: not copied into the build folder: what a fresh clone does not have
NOT_IN_A_CLONE = (".git", ".venv", "build", "dist", "results", "*.egg-info", "__pycache__", ".pytest_cache",
                  ".hypothesis", ".coverage*")


def _fail_or_skip(what: str):
    msg = f"{what}; the wheel's dashboard page needs it (.ci/run installs Debian's chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def _run(cmd: list, cwd: Path, env: dict | None = None, ok: int = 0) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == ok, (f"{' '.join(map(str, cmd))} exited with {res.returncode}:\n"
                                  f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel . --no-deps`` in a copy of the checkout."""
    src = tmp_path_factory.mktemp("clone") / "mutual-aid-sim"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    out = tmp_path_factory.mktemp("wheelhouse")
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "--disable-pip-version-check", "-w", out],
         cwd=src)
    (whl,) = out.glob("mutual_aid_sim-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed (dependencies: this one's)."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], cwd=env_dir.parent)
    py = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q",
          "--disable-pip-version-check", wheel], cwd=env_dir.parent)
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=env_dir.parent).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "zz_test_environment.pth").write_text("".join(f"{p}\n" for p in ours))
    for folder in ("share", "etc"):
        if (Path(sys.prefix) / folder).is_dir():
            (env_dir / folder).symlink_to(Path(sys.prefix) / folder, target_is_directory=True)
    return env_dir


@pytest.fixture(scope="module")
def tour(tmp_path_factory, venv):
    """``(mutualaid, python, working folder, environment)``: the folder is outside the checkout and the venv."""
    work = tmp_path_factory.mktemp("tour")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), MPLBACKEND="Agg",
               SOLARA_TELEMETRY_MIXPANEL_ENABLE="False", PYTHONUNBUFFERED="1")
    return venv / "bin" / "mutualaid", venv / "bin" / "python", work, env


def _expected_files() -> dict[str, Path]:
    """Name in the wheel -> its source in the checkout, for every file the package must ship."""
    want = {f"sim/{p.relative_to(ROOT / 'sim').as_posix()}": p for p in (ROOT / "sim").rglob("*.py")}
    for folder, package, patterns in (("scenarios", "sim/scenarios", ("*.yaml", "info/*.md", "sweeps/*.yaml")),
                                      ("dashboards", "sim/dashboards", ("*.py",))):
        for pattern in patterns:
            for p in (ROOT / folder).glob(pattern):
                want[f"{package}/{p.relative_to(ROOT / folder).as_posix()}"] = p
    want["sim/docs/ODD.md"] = ROOT / "docs" / "ODD.md"
    return want


def test_the_wheel_holds_the_code_the_scenarios_info_sweeps_dashboard_and_odd(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        want = _expected_files()
        missing = sorted(set(want) - names)
        assert not missing, f"not in the wheel: {missing}"
        differ = [n for n, p in want.items() if z.read(n) != p.read_bytes()]
        assert not differ, f"the wheel's copy differs from the checkout's: {differ}"
    # the kinds the package runs are all there (not only whatever the folders happen to hold today)
    for folder, least in (("sim/scenarios/", 10), ("sim/scenarios/info/", 10), ("sim/scenarios/sweeps/", 4),
                          ("sim/dashboards/", 4)):
        shipped = [n for n in names if n.startswith(folder) and "/" not in n[len(folder):]]
        assert len(shipped) >= least, f"{folder}: {sorted(shipped)}"
    for name in ("sim/scenarios/baseline.yaml", "sim/scenarios/info/kropotkin.md",
                 "sim/scenarios/sweeps/checkins-x-isolation.yaml", "sim/dashboards/app.py", "sim/docs/ODD.md"):
        assert name in names
    # and nothing of the repository's that is not the package's
    data = {n for n in names if ".dist-info/" not in n}
    assert data <= set(want) | {"sim/scenarios/__init__.py", "sim/docs/__init__.py"}, sorted(data - set(want))
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/", "scenarios/", "dashboards/"))]


def test_the_installed_package_is_the_wheels_and_finds_its_files_there(tour):
    from sim.experiments.sweep import code_id

    _, py, work, env = tour
    out = _run([py, "-c", "import json, sim; from sim.core import shipped; from sim.experiments.sweep import code_id; "
                "print(json.dumps({'sim': sim.__file__, 'scenarios': str(shipped.SCENARIO_DIR), "
                "'odd': str(shipped.ODD_PATH), 'code': code_id()}))"], cwd=work, env=env)
    found = json.loads(out.stdout)
    venv = py.parent.parent.resolve()
    for key in ("sim", "scenarios", "odd"):
        assert Path(found[key]).resolve().is_relative_to(venv), (key, found[key])
        assert not Path(found[key]).resolve().is_relative_to(ROOT), (key, found[key])
    assert Path(found["odd"]).is_file()
    assert found["code"] == code_id()  # the checkout and its wheel have one code id (sweeps resume across them)


def test_tour_scenarios_run_compare(tour):
    mutualaid, _, work, env = tour
    listed = _run([mutualaid, "scenarios"], cwd=work, env=env).stdout
    assert "baseline" in listed and "kropotkin" in listed and "nowak-may-1992" in listed

    _run([mutualaid, "run", "baseline", "--steps", 30, "--set", "population.size=400", "--out", "run", "-q"],
         cwd=work, env=env)
    metrics = pd.read_csv(work / "run" / "metrics.csv")
    assert list(metrics["step"]) == list(range(31))
    assert json.loads((work / "run" / "manifest.json").read_text())["scenario"]["name"] == "baseline"

    _run([mutualaid, "compare", "baseline", "no-checkins", "--replicates", 2, "--steps", 30,
          "--set", "population.size=200", "--out", "compare", "-q"], cwd=work, env=env)
    for name in ("compare.png", "summary.csv", "runs.csv", "compare.csv", "manifest.json"):
        assert (work / "compare" / name).stat().st_size > 0, name
    assert len(pd.read_csv(work / "compare" / "runs.csv")) == 4  # two scenarios x two replicates


def test_tour_lesson_and_trial(tour):
    mutualaid, _, work, env = tour
    _run([mutualaid, "lesson", "kropotkin", "--seeds", 2, "--steps", 30, "--out", "lesson", "-q"], cwd=work, env=env)
    assert "kropotkin" in (work / "lesson" / "lesson.md").read_text().lower()
    assert (work / "lesson" / "lesson.png").stat().st_size > 0

    _run([mutualaid, "trial", "baseline", "--intervention", "checkins", "--seeds", 2, "--steps", 30,
          "--designs", "individual", "--set", "population.size=200", "--handout", "--out", "trial", "-q"],
         cwd=work, env=env)
    for name in ("trial.md", "effects.csv", "curves.png", "handout.html", "manifest.json"):
        assert (work / "trial" / name).stat().st_size > 0, name


def test_tour_sweep_by_name_and_report(tour):
    from sim.experiments.sweep import load_sweep

    mutualaid, _, work, env = tour
    shipped = load_sweep(ROOT / "scenarios" / "sweeps" / "checkins-x-isolation.yaml")
    _run([mutualaid, "sweep", "checkins-x-isolation", "--workers", 2, "--out", "sweep", "-q"], cwd=work, env=env)
    runs = pd.read_parquet(work / "sweep" / "runs.parquet")
    assert len(runs) == len(shipped.points) * shipped.replicates
    _run([mutualaid, "report", "sweep", "-q"], cwd=work, env=env)
    assert (work / "sweep" / "report.md").stat().st_size > 0
    assert list((work / "sweep" / "plots").glob("*.png"))


def test_tour_validate_quick_and_the_shipped_odd_is_current(tour):
    mutualaid, py, work, env = tour
    # the suite's one run of `validate --quick` (it was also run from the checkout: the same code, twice):
    # every check passes, installed
    out = _run([mutualaid, "validate", "--quick", "--out", "validate", "-q"], cwd=work, env=env).stdout
    assert out == ""  # --quiet: no table and no summary on the screen; they are in the folder
    text = (work / "validate" / "validation.md").read_text()
    assert "| check | source | expected | measured | result |" in text
    assert "FAIL" not in text, text
    for name in ("Nowak-May: within a regime", "9/5 < b < 2", "kaleidoscope", "Fermi", "Death-birth", "McLellan",
                 "Pagano", "Tonigan", "Dennis, Scott & Funk", "Bergman", "Gilbert"):
        assert name in text
    assert (work / "validate" / "nowak_may.png").stat().st_size > 10_000
    _run([py, "-m", "sim.odd", "--check"], cwd=work, env=env)  # the installed ODD's generated tables


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tour_dashboard_page_in_chromium(tour):
    if not CHROMIUM.exists():
        _fail_or_skip(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("the playwright package is not installed")
    mutualaid, _, work, env = tour
    port = _free_port()
    log_path = work / "dashboard.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(mutualaid), "dashboard", "--host", "127.0.0.1", "--port", str(port)], cwd=work,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, url, log_path, 180, what="the dashboard")
        # it serves the installed app (ps shows the module, run by the venv's interpreter)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"sim.dashboards.app" in cmdline and Path(cmdline[0].decode()).parent == mutualaid.parent

        odd_heading = next(line[3:].strip() for line in (ROOT / "docs" / "ODD.md").read_text().splitlines()
                           if line.startswith("## "))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(90_000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url)
                page.wait_for_selector(".ma-day")
                assert page.inner_text(".ma-day").split()[1] == "0"
                page.wait_for_selector("img.ma-curves")
                page.goto(url + "?view=odd")
                odd = page.wait_for_selector(".ma-odd")
                assert odd_heading in odd.inner_text() and "is missing" not in odd.inner_text()
                assert errors == []
            finally:
                browser.close()
    finally:
        stop_group(proc, timeout=15)
