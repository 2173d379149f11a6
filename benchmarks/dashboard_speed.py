"""The dashboard's speed as a class meets it: real Chromium pages against a real Solara server.

    .venv/bin/python benchmarks/dashboard_speed.py [--seconds 8] [--pages 10] [--markdown FILE]

Measures, in one run (targets from the classroom issue, on an idle 2-core machine):

1. days per second the Explore view delivers while playing at the page's top speed (30 frames per
   second, one day per frame), counted from the day shown on the page over wall time, on a 100 x 100
   lattice and on a 1,000-member network (target: at least 20 each);
2. ``--pages`` pages opened at once: seconds until every one shows its population and curves
   (target: all within 15 s);
3. one page playing a 200 x 200 lattice beside another playing a 30 x 30 one: the 30 x 30 page's
   delivered rate with the big one playing, as a share of its rate alone (target: above one half).

Also with ``--busy`` the same beside a CPU-bound process (a laptop doing other things).

The server is started for the run (``solara run dashboards/app.py --production``) on a free port and
stopped afterwards; Chromium is Debian's (``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows"]

LATTICE_100 = "?scenario=kropotkin&network.width=100&network.height=100&steps=3000&fps=30"
NETWORK_1000 = "?scenario=baseline&population.size=1000&steps=3000&fps=30"
LATTICE_200 = "?scenario=kropotkin&network.width=200&network.height=200&steps=3000&fps=30"
LATTICE_30 = "?scenario=kropotkin&steps=3000&fps=30"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the floor: a Solara page of one line of text, opened the same way (Solara's and Chromium's own cost)
HELLO = """import solara


@solara.component
def Page():
    solara.Text("hello", classes=["ma-day"])
    solara.HTML(tag="img", attributes={"class": "ma-picture ma-curves", "src": "data:,"})
"""


def start_server(app: Path | None = None):
    port = _free_port()
    solara = Path(sys.executable).parent / "solara"
    proc = subprocess.Popen([str(solara), "run", str(app or ROOT / "dashboards" / "app.py"), "--host", "127.0.0.1",
                             "--port", str(port), "--production", "--no-open"], cwd=ROOT,
                            env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the dashboard did not start within 120 s")


def stop_server(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _day(page) -> int:
    return int(page.inner_text(".ma-day").split()[1])


def _ready(page, timeout_ms=120_000):
    page.wait_for_selector("img.ma-curves", timeout=timeout_ms, state="attached")
    page.wait_for_selector("img.ma-picture", timeout=timeout_ms, state="attached")


def open_page(browser, url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url)
    _ready(page)
    return ctx, page


def play(page):
    page.get_by_role("button", name="Play").click()


def pause(page):
    btn = page.get_by_role("button", name="Pause")
    if btn.count():
        btn.click()


def rate(page, seconds: float) -> tuple[float, float]:
    """(days per second, frames per second) shown on the page over ``seconds`` of wall time (after a
    1.5 s warm-up); frames are counted as changes of the population picture, polled every 10 ms."""
    time.sleep(1.5)
    d0, t0 = _day(page), time.perf_counter()
    frames = page.evaluate("""(ms) => new Promise(done => {
        const img = document.querySelector('img.ma-picture'); let last = img.src, n = 0;
        const t = setInterval(() => { if (img.src !== last) { n++; last = img.src; } }, 10);
        setTimeout(() => { clearInterval(t); done(n); }, ms); })""", int(seconds * 1000))
    d1, t1 = _day(page), time.perf_counter()
    return (d1 - d0) / (t1 - t0), frames / (t1 - t0)


def delivered(browser, url, query, seconds) -> tuple[float, float]:
    ctx, page = open_page(browser, url + query)
    try:
        play(page)
        r = rate(page, seconds)
        pause(page)
        return r
    finally:
        ctx.close()


def many_at_once(browser, url, n: int) -> list[float]:
    """Seconds from opening ``n`` pages together until each shows its population and curves."""
    ctxs = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
    pages = [c.new_page() for c in ctxs]
    t0 = time.perf_counter()
    for p in pages:
        p.goto(url, wait_until="commit")
    out = []
    try:
        for p in pages:
            _ready(p, timeout_ms=180_000)
            out.append(time.perf_counter() - t0)
    finally:
        for c in ctxs:
            c.close()
    return out


def interference(browser, url, seconds):
    """((days/s, frames/s) of a 30 x 30 page alone, the same while another page plays 200 x 200)."""
    alone = delivered(browser, url, LATTICE_30, seconds)
    big_ctx, big = open_page(browser, url + LATTICE_200)
    try:
        play(big)
        time.sleep(1.0)
        beside = delivered(browser, url, LATTICE_30, seconds)
        pause(big)
    finally:
        big_ctx.close()
    return alone, beside


def _burn(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def measure(seconds: float, pages: int, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                _, warm = open_page(browser, url)  # the server's first page: imports, kernel cache
                warm.context.close()
                res = {}
                res["lattice_100"] = delivered(browser, url, LATTICE_100, seconds)
                log("100x100 lattice: %.1f days/s, %.1f frames/s" % res["lattice_100"])
                res["network_1000"] = delivered(browser, url, NETWORK_1000, seconds)
                log("1,000-member network: %.1f days/s, %.1f frames/s" % res["network_1000"])
                times = many_at_once(browser, url, pages)
                res["pages"], res["pages_max_s"] = pages, max(times)
                log(f"{pages} pages at once: all rendered within {max(times):.1f} s "
                    f"(first {min(times):.1f} s)")
                alone, beside = interference(browser, url, seconds)
                res["alone_30"], res["beside_200"] = alone, beside
                log("30x30 alone %.1f days/s (%.1f frames/s), beside a 200x200 page %.1f days/s (%.1f frames/s)"
                    % (*alone, *beside))
            finally:
                browser.close()
    finally:
        stop_server(proc)
    return res


def table(rows: dict[str, dict]) -> str:
    head = ("| machine | 100x100 lattice: days/s (>= 20), frames/s | 1,000-member network: days/s (>= 20), "
            "frames/s | pages opened at once: all rendered (s, <= 15) | 30x30 beside 200x200 / alone: days/s "
            "(> 0.5), frames/s |")
    lines = [head, "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        (ld, lf), (nd, nf), (ad, af), (bd, bf) = r["lattice_100"], r["network_1000"], r["alone_30"], r["beside_200"]
        lines.append(f"| {name} | {ld:.1f}, {lf:.1f} | {nd:.1f}, {nf:.1f} | {r['pages_max_s']:.1f} ({r['pages']} pages) | "
                     f"{bd / ad:.2f} ({bd:.1f} / {ad:.1f}), {bf / af:.2f} ({bf:.1f} / {af:.1f}) |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds of playing per rate (default 8)")
    ap.add_argument("--pages", type=int, default=10, help="pages opened at once (default 10)")
    ap.add_argument("--busy", action="store_true", help="also measure beside one CPU-bound process")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    a = ap.parse_args(argv)
    rows = {"idle": measure(a.seconds, a.pages)}
    if a.busy:
        stop = mp.Event()
        burner = mp.Process(target=_burn, args=(stop,), daemon=True)
        burner.start()
        try:
            print("beside one CPU-bound process:")
            rows["one busy process"] = measure(a.seconds, a.pages)
        finally:
            stop.set()
            burner.join(5)
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:  # the floor, for reference
        app = Path(tmp) / "hello.py"
        app.write_text(HELLO, encoding="utf-8")
        proc, url = start_server(app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                many_at_once(browser, url, 1)
                floor = max(many_at_once(browser, url, a.pages))
                browser.close()
        finally:
            stop_server(proc)
    out = table(rows) + (f"\n\nFloor: {a.pages} pages of a one-line Solara app opened at once, all rendered "
                         f"within {floor:.1f} s (the same browser and server, idle machine).")
    print(out)
    if a.markdown:
        Path(a.markdown).write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
