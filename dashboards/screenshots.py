"""Screenshots of the dashboard's views for the README (docs/images/dashboard-*.png).

    .venv/bin/python dashboards/screenshots.py

Starts a server on a free port, builds a small real sweep for the Results
view (baseline, 200 members, 120 days: game.T x checkins.enabled x 3
replicates), drives Debian's chromium with Playwright, then stops the server.
"""

# Deferred imports (inside the functions that need them):
# - sim, dashboards: the checkout's packages, importable once the script has put it on sys.path.
# - playwright: it comes with the dev extra only.

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def small_sweep(folder: Path) -> None:
    from dashboards import runner as dr
    from sim.experiments.compare import replicate_seeds, run_stats
    from sim.core.scenarios import load_scenario

    rows = []
    for t in (0.8, 1.0, 1.2, 1.4):
        for chk in (True, False):
            sc = load_scenario("baseline", {"population.size": 200, "steps": 120, "game.T": t,
                                            "checkins.enabled": chk})
            for r, s in enumerate(replicate_seeds(42, 3)):
                m = dr.run_metrics(sc, s)
                rows.append({"game.T": t, "checkins.enabled": chk, "replicate": r, "seed": s, **run_stats(m)})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "runs.parquet")


def main() -> None:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    small_sweep(tmp / "T-by-checkins")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "solara"), "run", str(ROOT / "dashboards/app.py"),
                             "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"],
                            env={**os.environ, "MUTUALAID_RESULTS_DIR": str(tmp)}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            pg = b.new_page(viewport={"width": 1400, "height": 1050})
            pg.set_default_timeout(120_000)

            def play(days):
                pg.get_by_role("button", name="Play").click()
                while int(pg.inner_text(".ma-day").split()[1]) < days:
                    time.sleep(0.3)
                pg.get_by_role("button", name="Pause").click()
                time.sleep(1.5)

            pg.goto(url + "?scenario=isolation")
            pg.wait_for_selector(".ma-day")
            play(75)  # inside the closure: shaded on the curves, named under the view
            pg.screenshot(path=str(OUT / "dashboard-explore-network.png"))
            pg.goto(url + "?scenario=kropotkin")
            pg.wait_for_selector(".ma-day")
            play(120)
            pg.locator("img.ma-picture").click(position={"x": 16 * 14 + 8, "y": 16 * 12 + 8})
            pg.wait_for_selector("img.ma-member-history")
            time.sleep(1.0)
            pg.screenshot(path=str(OUT / "dashboard-explore-lattice.png"))
            pg.goto(url + "?scenario=isolation")
            pg.wait_for_selector(".ma-day")
            pg.locator(".v-expansion-panel-header", has_text="Info: what it is").click()
            pg.wait_for_selector(".ma-info-text h2")
            time.sleep(1.0)
            pg.locator(".ma-info").scroll_into_view_if_needed()
            pg.screenshot(path=str(OUT / "dashboard-info.png"))
            proj = b.new_page(viewport={"width": 1024, "height": 768})
            proj.set_default_timeout(120_000)
            proj.goto(url + "?scenario=kropotkin&present=1")
            proj.wait_for_selector(".ma-present img.ma-curves")
            proj.get_by_role("button", name="Play").click()
            while int(proj.inner_text(".ma-day").split()[1]) < 90:
                time.sleep(0.3)
            proj.get_by_role("button", name="Pause").click()
            time.sleep(1.5)
            proj.screenshot(path=str(OUT / "dashboard-presentation.png"))
            proj.close()
            pg.goto(url)
            pg.wait_for_selector(".ma-day")
            pg.get_by_role("tab", name="Compare").click()
            pg.wait_for_selector(".ma-gap")
            while pg.locator(".ma-compare-status").count():
                time.sleep(0.3)
            time.sleep(1)
            pg.screenshot(path=str(OUT / "dashboard-compare.png"), full_page=True)
            pg.get_by_role("tab", name="Results").click()
            pg.locator(".v-select", has_text="Sweep folder").click()
            pg.get_by_role("option", name="T-by-checkins").click()
            pg.wait_for_selector("img.ma-results-plot")
            time.sleep(1)
            pg.screenshot(path=str(OUT / "dashboard-results.png"))
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("dashboard-*.png"))))


if __name__ == "__main__":
    main()
