"""Frames per second of the Explore play loop on a 100 x 100 lattice, without the page.

    .venv/bin/python dashboards/measure_fps.py [--side 100] [--frames 200]

A frame is what the play thread does per tick: one day of the model (numba
kernel above 1000 members), the lattice drawn as a PNG, the readout, and the
curves redrawn at most every 0.25 s (dashboards/app.py CURVES_EVERY). The page
itself caps playing at dashboards.support.MAX_FPS frames per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import runner as dr  # noqa: E402
from dashboards import support as ds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=100)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--scenario", default="kropotkin")
    a = ap.parse_args()
    sc = ds.build_scenario(a.scenario, {"network_width": a.side, "network_height": a.side, "steps": a.frames + 20})
    r = dr.Runner(sc)
    for _ in range(5):  # warm-up: numba cache load, first figure
        r.step()
        r.frame(curves_every=0.25)
    t0 = time.perf_counter()
    for _ in range(a.frames):
        r.step()
        r.frame(curves_every=0.25)
    dt = time.perf_counter() - t0
    print(f"{a.side}x{a.side} lattice ({sc.population.size} members, engine {r.engine}): "
          f"{a.frames / dt:.1f} frames/s (step + lattice PNG + readout + curves every 0.25 s), "
          f"{1000 * dt / a.frames:.1f} ms per frame")


if __name__ == "__main__":
    main()
