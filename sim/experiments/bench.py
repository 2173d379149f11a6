"""``mutualaid bench``: the engines measured side by side, in one run.

Four tables (issue: "The numba kernel engine"):

a. agent-steps per second of both engines on ``baseline`` at N = 10^3 and
   10^4, and of the kernel up to 10^6 (10^7 without ``--quick``), with the
   ratio, plus one bare pass over the same graph's edges (the floor any
   network model pays);
b. the classic ``nowak-may-1992`` scenario on the kernel against Mesa's own
   ``mesa.examples.advanced.pd_grid`` in its Simultaneous regime on the same
   lattices;
c. numba compile time, cold (empty cache) and warm, and how long
   ``baseline`` takes from process start to its first computed day;
d. peak memory per member.

``baseline`` runs here without its burn-in (``population.burn_in = 0``):
the tables measure a day, and the burn-in is that many ordinary days before
day 0 (a start-up cost proportional to it).

Every figure comes from this machine in this run; ratios are taken within
the run because machines here are noisy. Sizes that need separate processes
(c, d) run in subprocesses.
"""

# Deferred imports (inside the functions that need them):
# - mesa.examples: Mesa's own example model (and networkx, pandas with it); only the Mesa comparison table
#   needs it.

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from numba import njit, prange

from sim.engines import make_model
from sim.runner import prepare


def _timed_steps(model, min_seconds: float, max_steps: int) -> tuple[int, float]:
    """Step until ``min_seconds`` have passed (at least one step, at most ``max_steps``)."""
    done, t0 = 0, time.perf_counter()
    while True:
        model.step()
        done += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds or done >= max_steps:
            return done, elapsed


def _model(engine: str, n: int, name: str = "baseline", **extra):
    # the step is measured, not the burn-in (population.burn_in ordinary days before day 0)
    over = {"population.size": n, "population.burn_in": 0} if name == "baseline" else {}
    over.update(extra)
    sc = prepare(name, set=over)
    return make_model(sc, engine)


@njit(parallel=True, cache=True)
def _edge_pass(indptr, indices, value, out):
    """The floor: one pass over every tie summing a neighbour value."""
    for i in prange(indptr.shape[0] - 1):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += value[indices[k]]
        out[i] = acc


def throughput(sizes_agents, sizes_kernel, min_seconds=1.0, log=print):
    """Table a: agent-steps per second by engine and size."""
    rows = []
    for n in sorted(set(sizes_agents) | set(sizes_kernel)):
        row = {"members": n}
        for engine, sizes in (("agents", sizes_agents), ("kernel", sizes_kernel)):
            if n not in sizes:
                continue
            model = _model(engine, n)
            model.step()  # warm: compilation and first-touch are not throughput
            steps, secs = _timed_steps(model, min_seconds, 200)
            row[f"{engine}_steps_per_s"] = steps / secs
            row[f"{engine}_agent_steps_per_s"] = n * steps / secs
            if engine == "kernel":
                g = model.graph
                value = np.random.default_rng(0).random(g.n)
                out = np.empty(g.n)
                _edge_pass(g.indptr, g.indices, value, out)
                reps, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < 0.3 or reps < 3:
                    _edge_pass(g.indptr, g.indices, value, out)
                    reps += 1
                row["edge_pass_ms"] = (time.perf_counter() - t0) / reps * 1e3
                row["kernel_step_ms"] = secs / steps * 1e3
            del model
        if "agents_agent_steps_per_s" in row and "kernel_agent_steps_per_s" in row:
            row["ratio"] = row["kernel_agent_steps_per_s"] / row["agents_agent_steps_per_s"]
        log(_fmt_row(row, "throughput"))
        rows.append(row)
    return rows


def nowak_may_vs_pd_grid(sides, min_seconds=1.0, log=print):
    """Table b: the kernel on nowak-may-1992 against Mesa's pd_grid (Simultaneous)."""
    from mesa.examples.advanced.pd_grid.model import PdGrid

    rows = []
    for side in sides:
        pd = PdGrid(width=side, height=side, activation_order="Simultaneous", seed=1)
        pd.step()
        steps, secs = _timed_steps(pd, min_seconds, 50)
        mesa_rate = steps / secs
        del pd
        model = _model("kernel", side * side, "nowak-may-1992", **{"network.width": side, "network.height": side})
        model.step()
        ksteps, ksecs = _timed_steps(model, min_seconds, 2000)
        row = {"lattice": f"{side}x{side}", "pd_grid_steps_per_s": mesa_rate,
               "kernel_steps_per_s": ksteps / ksecs, "ratio": (ksteps / ksecs) / mesa_rate}
        log(_fmt_row(row, "nowak_may"))
        rows.append(row)
    return rows


_PROBE = r"""
import time, json, resource, sys
t_start = time.perf_counter()
import sim
from sim.api import make_model, prepare
n = int(sys.argv[1]); steps = int(sys.argv[2]); engine = sys.argv[3]
t_import = time.perf_counter() - t_start
sc = prepare("baseline", set={"population.size": n, "population.burn_in": 0})
model = make_model(sc, engine)
t_built = time.perf_counter() - t_start
model.step()
t_first = time.perf_counter() - t_start
for _ in range(steps - 1):
    model.step()
t_end = time.perf_counter() - t_start
# VmHWM is this process's own peak (ru_maxrss would inherit the parent's peak across fork)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
print(json.dumps({"import_s": t_import, "built_s": t_built, "first_day_s": t_first, "total_s": t_end,
                  "maxrss_kib": hwm}))
"""


def _probe(n, steps, engine="kernel", env=None, timeout=3600):
    started = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _PROBE, str(n), str(steps), engine], env=env,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "probe failed")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - started
    return out


def compile_times(log=print):
    """Table c: cold compile (empty numba cache) versus a warm cache, in fresh processes."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = _probe(500, 1, env=env)
        warm = _probe(500, 1, env=env)
    default = _probe(500, 1)  # the project's own cache, as `mutualaid run` uses it
    for label, r in (("cold cache", cold), ("warm cache", warm), ("default cache", default)):
        row = {"case": label, "process_to_first_day_s": r["process_s"] - (r["total_s"] - r["first_day_s"]),
               "import_s": r["import_s"], "build_s": r["built_s"] - r["import_s"],
               "first_day_s": r["first_day_s"] - r["built_s"]}
        log(_fmt_row(row, "compile"))
        rows.append(row)
    rows.append({"case": "compile (cold - warm)", "process_to_first_day_s":
                 rows[0]["process_to_first_day_s"] - rows[1]["process_to_first_day_s"]})
    log(_fmt_row(rows[-1], "compile"))
    return rows


def memory(sizes, steps, log=print):
    """Table d: peak resident memory per member (kernel engine), in fresh processes."""
    base = _probe(1000, 1)["maxrss_kib"]
    rows = []
    for n, k in zip(sizes, steps):
        r = _probe(n, k)
        peak = r["maxrss_kib"] * 1024
        row = {"members": n, "steps": k, "peak_mib": peak / 2**20,
               "bytes_per_member": (peak - base * 1024) / n, "wall_s": r["total_s"]}
        log(_fmt_row(row, "memory"))
        rows.append(row)
    return rows


def _fmt(v):
    """One notation in every column (rows are printed as they are measured, so a column cannot be
    formatted as a whole): thousands separated, no exponents; two decimals below 100, four below 0.01."""
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.2f}" if v == 0 or abs(v) >= 1e-2 else f"{v:.4f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


#: the columns of each table as printed (name, width); a row may leave some out
COLUMNS = {
    "throughput": ("members", "agents_steps_per_s", "agents_agent_steps_per_s", "kernel_steps_per_s",
                   "kernel_agent_steps_per_s", "edge_pass_ms", "kernel_step_ms", "ratio"),
    "nowak_may": ("lattice", "pd_grid_steps_per_s", "kernel_steps_per_s", "ratio"),
    "compile": ("case", "process_to_first_day_s", "import_s", "build_s", "first_day_s"),
    "memory": ("members", "steps", "peak_mib", "bytes_per_member", "wall_s"),
}
_printed: set = set()


def _fmt_row(row, table: str | None = None):
    """One aligned line of a table (its header first, once per table and process)."""
    cols = COLUMNS.get(table) or tuple(row)
    widths = [max(len(c), 22 if c == "case" else 10) for c in cols]
    line = "  ".join((_fmt(row[c]) if c in row else "-").rjust(w) for c, w in zip(cols, widths))
    if table is not None and table not in _printed:
        _printed.add(table)
        return "  ".join(c.rjust(w) for c, w in zip(cols, widths)) + "\n" + line
    return line


def markdown_table(rows):
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[k]) if k in r else "" for k in keys) + " |")
    return "\n".join(lines)


def run(quick: bool = False, log=print) -> dict:
    """All four tables; returns them as lists of dicts."""
    import platform

    log(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads")
    log("\n(a) agent-steps per second, baseline scenario")
    kernel_sizes = [10**3, 10**4, 10**5, 10**6] + ([] if quick else [10**7])
    a = throughput([10**3, 10**4], kernel_sizes, min_seconds=0.5 if quick else 2.0, log=log)
    log("\n(b) nowak-may-1992 on the kernel vs Mesa's pd_grid (Simultaneous)")
    b = nowak_may_vs_pd_grid([100, 200], min_seconds=0.5 if quick else 2.0, log=log)
    log("\n(c) numba compile time and start-up (fresh processes, baseline, 500 members)")
    c = compile_times(log=log)
    log("\n(d) peak memory per member (kernel, fresh processes)")
    d = memory([10**5, 10**6] if quick else [10**6, 10**7], [5, 5] if quick else [100, 100], log=log)
    return {"throughput": a, "nowak_may": b, "compile": c, "memory": d}


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(prog="mutualaid bench")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    args = p.parse_args(argv)
    res = run(args.quick)
    if args.markdown:
        write_markdown(res, args.markdown, " ".join(["mutualaid bench"] + (["--quick"] if args.quick else [])))
    return 0


def write_markdown(res, path, command):
    parts = [f"Command: `{command}`", ""]
    for title, key in (("(a) agent-steps per second, baseline", "throughput"),
                       ("(b) nowak-may-1992: kernel vs Mesa pd_grid (Simultaneous)", "nowak_may"),
                       ("(c) compile time and start-up", "compile"), ("(d) peak memory per member", "memory")):
        parts += [f"### {title}", "", markdown_table(res[key]), ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    sys.exit(main())
