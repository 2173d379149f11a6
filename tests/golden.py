"""Fingerprints of every shipped scenario's and sweep's outputs, to hold a refactoring to "nothing changes".

``python -m tests.golden`` prints the fingerprints; ``python -m tests.golden --write`` records them in
``tests/golden.json``, which ``tests/test_golden.py`` compares against. A change that is meant to change
the model's numbers (a new mechanism, a fixed rule) rewrites the file in the same commit, and the commit
message says why; a change that is meant to change nothing (moving code, renaming, splitting modules)
must leave it as it is.

Each scenario runs on both engines, cut down so that the whole set takes about a minute: at most
:data:`STEPS` days after a burn-in of at most :data:`BURN_IN`, lattices of at most ``LATTICE`` x
``LATTICE`` and other communities of at most :data:`SIZE` members, with the per-member table and the
member-day table. Each sweep runs with one replicate, two values of each listed parameter, the smallest
sample and the same cuts. What is hashed is the numbers, written with full precision: the daily metrics,
the members, the member-days and the sweep's run table (without its timing columns).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).with_name("golden.json")
STEPS = 120
BURN_IN = 90
SIZE = 240
LATTICE = 14
SWEEP_STEPS = 20
SWEEP_SIZE = 60
#: run-table columns that measure the machine, not the model
#: switches the shipped scenarios leave off, run on ``baseline`` so that their code is held too
VARIANTS: dict[str, dict] = {
    "baseline+v3": {"psychology.help_acts": True, "psychology.saturating": True, "attendance.rhythm": True,
                    "turnover.newcomer_tie": True, "turnover.newcomer_strategy": "mix", "evolution.enabled": True},
    "baseline+trial": {"trial.enabled": True, "trial.intervention": "sponsorship", "trial.design": "meetings",
                       "isolation.enabled": True, "isolation.start": 20, "isolation.duration": 30},
    "baseline+imitate": {"evolution.enabled": True, "evolution.rule": "imitate_best", "network.kind": "sbm"},
}
TIMING = ("wall_time", "seconds", "elapsed", "started", "finished", "worker", "host", "pid")
#: the code identity the sweeps' fingerprints were recorded under: a sweep's run table carries
#: sim.experiments.sweep.code_id() (the version and a hash of every sim/**/*.py) in its ``code`` column, so
#: any edit to the sources, even a comment, changed every sweep's fingerprint; the sweeps run under this
#: identity instead, and their fingerprints hold the numbers only
RECORDED_CODE = "0.1.0+e08b2124d08b"


def _frame_hash(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return "none"
    frame = frame.reset_index(drop=False)
    h = hashlib.sha256()
    h.update(",".join(map(str, frame.columns)).encode())
    for col in frame.columns:
        values = frame[col].to_numpy()
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values.astype(np.float64)).tobytes())
        else:
            h.update("\x1f".join(map(str, values)).encode())
    return h.hexdigest()[:16]


def _cut(name: str) -> dict:
    from sim.core.scenarios import load_scenario

    sc = load_scenario(name)
    cut: dict = {"steps": min(sc.steps, STEPS)}
    if sc.population.burn_in > BURN_IN:
        cut["population.burn_in"] = BURN_IN
    if sc.network.kind == "lattice":
        if (sc.network.width or 0) > LATTICE:
            cut.update({"network.width": LATTICE, "network.height": LATTICE, "population.size": LATTICE ** 2})
    elif sc.population.size > SIZE:
        cut["population.size"] = SIZE
    return cut


def scenario_prints() -> dict[str, str]:
    import sim
    from sim.core.shipped import SCENARIO_DIR

    out = {}
    cases = {name: {} for name in sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))}
    cases.update(VARIANTS)
    for name, extra in cases.items():
        base = name.split("+")[0]
        cut = {**_cut(base), **extra}
        for engine in ("kernel", "agents"):
            r = sim.run(base, engine=engine, steps=cut["steps"],
                        set={k: v for k, v in cut.items() if k != "steps"}, members=True, member_days=True)
            out[f"{name}/{engine}"] = "/".join(
                _frame_hash(f) for f in (r.metrics, r.members, r.member_days))
    return out


def _cut_sweep(spec: dict) -> dict:
    spec = dict(spec)
    spec["replicates"] = 1
    spec["steps"] = min(int(spec.get("steps", SWEEP_STEPS)), SWEEP_STEPS)
    if spec.get("sampling"):
        spec["samples"] = 2
    params = {}
    for key, value in spec.get("parameters", {}).items():
        if isinstance(value, list):
            value = value[:2]
        params[key] = value
    params["population.size"] = SWEEP_SIZE
    params["population.burn_in"] = BURN_IN // 3
    if "network.degree" in params and isinstance(params["network.degree"], list):
        params["network.degree"] = [d for d in params["network.degree"] if d < SWEEP_SIZE][:2]
    spec["parameters"] = params
    spec.pop("adaptive", None)
    return spec


def sweep_prints() -> dict[str, str]:
    import yaml

    import sim
    from sim.core.shipped import SWEEP_DIR

    from sim.experiments import sweep

    out = {}
    code, sweep._CODE_ID = sweep._CODE_ID, RECORDED_CODE
    try:
        for path in sorted(SWEEP_DIR.glob("*.yaml")):
            spec = _cut_sweep(yaml.safe_load(path.read_text(encoding="utf-8")))
            with tempfile.TemporaryDirectory() as tmp:
                runs = sim.sweep(spec, out=Path(tmp) / "out", workers=1)
            runs = runs[[c for c in runs.columns if not any(t in c for t in TIMING)]]
            out[f"sweep/{path.stem}"] = _frame_hash(runs.sort_values(list(runs.columns[:3])).reset_index(drop=True))
    finally:
        sweep._CODE_ID = code
    return out


def fingerprints() -> dict[str, str]:
    return {**scenario_prints(), **sweep_prints()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record the fingerprints in tests/golden.json")
    args = ap.parse_args(argv)
    prints = fingerprints()
    if args.write:
        GOLDEN.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {len(prints)} fingerprints to {GOLDEN}")
    else:
        json.dump(prints, sys.stdout, indent=1, sort_keys=True)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
