"""The kernel's speed on a busy machine: the bench's ratios idle and beside CPU-bound processes.

Users run this on laptops that are doing other things. The table compares, in one run, idle and with
one and two other CPU-bound processes (busy loops, one core each) on the machine:

- the kernel's agent-steps per second at 10^4 members, and its ratio to the Mesa engine's (`bench` table a);
- ``nowak-may-1992`` on a 100x100 lattice: the kernel against Mesa's own ``pd_grid`` (table b).

Target (the kernel-default issue): the ratios under one competing process stay within 2x of idle.

    .venv/bin/python benchmarks/contention.py [--markdown FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time


def _burn(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def measure(log=print) -> dict:
    from sim.experiments.bench import nowak_may_vs_pd_grid, throughput

    a = throughput([10_000], [10_000], min_seconds=2.0, log=lambda *_: None)[0]
    b = nowak_may_vs_pd_grid([100], min_seconds=2.0, log=lambda *_: None)[0]
    return {"kernel_agent_steps_per_s": a["kernel_agent_steps_per_s"], "kernel_vs_agents": a["ratio"],
            "kernel_vs_pd_grid": b["ratio"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = p.parse_args(argv)
    measure()  # warm: compilation, first touch
    rows = []
    ctx = mp.get_context("spawn")
    for load in (0, 1, 2):
        stop = ctx.Event()
        burners = [ctx.Process(target=_burn, args=(stop,), daemon=True) for _ in range(load)]
        for b in burners:
            b.start()
        time.sleep(0.5 if load else 0)
        try:
            r = measure()
        finally:
            stop.set()
            for b in burners:
                b.join()
        r["load"] = load
        rows.append(r)
        print(f"load {load}: kernel {r['kernel_agent_steps_per_s']:.3g} agent-steps/s, "
              f"kernel/agents {r['kernel_vs_agents']:.1f}x, kernel/pd_grid {r['kernel_vs_pd_grid']:.1f}x", flush=True)
    idle = rows[0]
    lines = ["| other CPU-bound processes | kernel agent-steps/s (10^4) | kernel / agents | kernel / pd_grid (100x100) "
             "| ratios against idle |", "|---|---|---|---|---|"]
    for r in rows:
        rel = (f"{r['kernel_vs_agents'] / idle['kernel_vs_agents']:.2f}, "
               f"{r['kernel_vs_pd_grid'] / idle['kernel_vs_pd_grid']:.2f}")
        lines.append(f"| {r['load']} | {r['kernel_agent_steps_per_s']:.3g} | {r['kernel_vs_agents']:.1f}x | "
                     f"{r['kernel_vs_pd_grid']:.1f}x | {rel} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
