"""``mutualaid validate``: does the model reproduce what is known?

Each check runs shipped scenarios (on the kernel engine, which gives the Mesa
engine's bits) and compares one measured number with the published value or
direction. Classic games come first (psychology off), then the recovery
patterns the baseline is calibrated to (docs/ODD.md, "Patterns").

``--quick`` runs smaller lattices, fewer seeds and shorter runs (part of the
test suite); the full run is what docs/ODD.md and the README quote.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import sim


@dataclass
class Check:
    name: str
    source: str
    expected: str
    measured: float
    passed: bool
    detail: str = ""
    series: dict = field(default_factory=dict, repr=False)


def _run(name, **kw):
    kw.setdefault("engine", "kernel")
    return sim.run(name, **kw)


def nowak_may_regimes(quick: bool) -> list[Check]:
    """Nowak & May (1992): the three regimes of b, and the chaotic share ~0.318."""
    side, steps = (60, 150) if quick else (200, 400)
    lattice = {"network.width": side, "network.height": side}
    out = []
    series = {}
    shares = {}
    for b in (1.7, 1.85, 2.1):
        m = _run("nowak-may-1992", steps=steps, set=dict(lattice, **{"game.T": b})).metrics
        series[f"b={b}"] = m["helpers"].to_numpy()
        shares[b] = float(m["helpers"].iloc[steps // 2:].mean())
    src = "Nowak & May 1992, Nature 359:826"
    out.append(Check("Nowak-May b=1.7: cooperator clusters hold the lattice", src,
                     "share of helpers > 0.5", shares[1.7], shares[1.7] > 0.5, f"{side}x{side}, {steps} days",
                     series))
    out.append(Check("Nowak-May b=1.85: chaotic coexistence, asymptotic share", src,
                     "0.318 +- 0.03 (random start, 10% defectors)", shares[1.85],
                     abs(shares[1.85] - 0.318) <= 0.03, f"mean over days {steps // 2}-{steps}"))
    out.append(Check("Nowak-May b=2.1: defectors take over", src, "share of helpers < 0.1", shares[2.1],
                     shares[2.1] < 0.1, f"mean over days {steps // 2}-{steps}"))
    return out


def kaleidoscope(quick: bool) -> Check:
    """One defector in the centre of a fixed-edge lattice of cooperators grows a symmetric pattern."""
    from sim.engines.kernel import KernelModel
    from sim.core.scenarios import load_scenario

    side, steps = (41, 40) if quick else (99, 100)
    sc = load_scenario("nowak-may-1992", {"network.width": side, "network.height": side,
                                           "network.periodic": False, "population.initial_helpers": 1.0,
                                           "steps": steps})
    model = KernelModel(sc)
    model.community["strategy"][(side // 2) * side + side // 2] = 0
    symmetric = True
    defectors = []
    for _ in range(steps):
        model.step()
        g = model.community["strategy"].reshape(side, side)
        symmetric &= bool(np.array_equal(g, g.T) and np.array_equal(g, g[::-1]) and np.array_equal(g, g[:, ::-1]))
        defectors.append(int((g == 0).sum()))
    alive = 0 < defectors[-1] < side * side
    return Check("Nowak-May kaleidoscope from one defector (fixed edges)", "Nowak & May 1992",
                 "pattern keeps the square's symmetry; defectors neither vanish nor take over",
                 float(defectors[-1]), symmetric and alive, f"{side}x{side}, {steps} days, symmetric={symmetric}",
                 {"defectors": np.array(defectors)})


def fermi_direction(quick: bool) -> Check:
    """Szabo & Toke (1998): with Fermi imitation, cooperation survives at small b and dies at larger b."""
    side, steps, seeds = (40, 400, 3) if quick else (60, 1000, 5)
    res = {}
    for b in (1.01, 1.10):
        res[b] = float(np.mean([_run("fermi-lattice", seed=s, steps=steps,
                                     set={"network.width": side, "network.height": side, "game.T": b}
                                     ).metrics["helpers"].iloc[-steps // 8:].mean() for s in range(seeds)]))
    ok = res[1.01] > 0.2 and res[1.10] < 0.1
    return Check("Fermi rule (K=0.1): cooperators survive at b=1.01, die out at b=1.10",
                 "Szabo & Toke 1998, Phys Rev E 58:69", "share(b=1.01) > 0.2 and share(b=1.10) < 0.1",
                 res[1.01] - res[1.10], ok, f"share {res[1.01]:.3f} vs {res[1.10]:.3f}, {seeds} seeds")


def death_birth_direction(quick: bool) -> Check:
    """Ohtsuki et al. (2006): under death-birth on a graph of degree k, helpers win when b/c > k."""
    n, steps, seeds = (200, 2000, 6) if quick else (400, 4000, 12)
    res = {}
    for bc in (6.0, 2.0):
        res[bc] = float(np.mean([_run("death-birth", seed=s, steps=steps,
                                      set={"population.size": n, "game.R": bc - 1, "game.T": bc,
                                           "evolution.selection": 0.1}).metrics["helpers"].iloc[-steps // 10:].mean()
                                 for s in range(seeds)]))
    ok = res[6.0] > 0.5 > res[2.0]
    return Check("Death-birth on a ring of degree k=4: helpers favoured iff b/c > k",
                 "Ohtsuki et al. 2006, Nature 441:502", "share(b/c=6) > 0.5 > share(b/c=2), from 0.5",
                 res[6.0] - res[2.0], ok, f"share {res[6.0]:.3f} vs {res[2.0]:.3f}, {seeds} seeds, w=0.1")


def _newcomers(r):
    """Day-0 members in early recovery: the population the studies followed."""
    mem = r.members
    return mem[(mem["joined_step"] == 0) & (mem["start_day"] > -r.scenario.population.newcomer_days)]


def recovery_patterns(quick: bool) -> list[Check]:
    """The baseline's day-0 newcomers against the recovery literature, pooled over seeds."""
    seeds = 6 if quick else 30
    used, help_abs, non_abs, with_sp, without_sp = [], [], [], [], []
    for s in range(seeds):
        nc = _newcomers(_run("baseline", seed=s, steps=365, members=True))
        used.append(float(nc["ever_used"].mean()))
        helper = nc["help_share"] > 0.5
        help_abs.append(float((~nc.loc[helper, "ever_used"]).mean()))
        non_abs.append(float((~nc.loc[~helper, "ever_used"]).mean()))
        with_sp.append(float((~nc["ever_used"]).mean()))
        without_sp.append(float((~_newcomers(_run("no-sponsorship", seed=s, steps=365, members=True))
                                 ["ever_used"]).mean()))
    u = float(np.mean(used))
    h, nh = float(np.mean(help_abs)), float(np.mean(non_abs))
    ws, wo = float(np.mean(with_sp)), float(np.mean(without_sp))
    return [
        Check("Newcomers who return to use within a year", "McLellan et al. 2000, JAMA 284:1689",
              "0.40-0.60", u, 0.40 <= u <= 0.60, f"{seeds} seeds of baseline"),
        Check("Helpers stay abstinent more often than non-helpers", "Pagano et al. 2004, J Stud Alcohol 65:766",
              "gap >= 0.10 (published: 0.40 vs 0.22, gap 0.18)", h - nh, h - nh >= 0.10,
              f"abstinent a year later: helpers {h:.3f}, non-helpers {nh:.3f}"),
        Check("Sponsorship: newcomers stay abstinent more often with sponsors", "Tonigan & Rice 2010, "
              "Psychol Addict Behav 24:397", "baseline - no-sponsorship > 0.05", ws - wo, ws - wo > 0.05,
              f"abstinent a year later: {ws:.3f} with sponsorship, {wo:.3f} without (same seeds)"),
    ]


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Check]:
    checks: list[Check] = []
    steps = [("Nowak-May regimes", lambda: nowak_may_regimes(quick)), ("kaleidoscope", lambda: [kaleidoscope(quick)]),
             ("Fermi", lambda: [fermi_direction(quick)]), ("death-birth", lambda: [death_birth_direction(quick)]),
             ("recovery patterns", lambda: recovery_patterns(quick))]
    for label, fn in steps:
        t0 = time.perf_counter()
        got = fn()
        checks.extend(got)
        log(f"  {label}: {sum(c.passed for c in got)}/{len(got)} passed ({time.perf_counter() - t0:.0f} s)")
    return checks


def table(checks: list[Check]) -> str:
    lines = ["| check | source | expected | measured | result |", "|---|---|---|---|---|"]
    for c in checks:
        detail = f" ({c.detail})" if c.detail else ""
        lines.append(f"| {c.name} | {c.source} | {c.expected} | {c.measured:.3f}{detail} | "
                     f"{'pass' if c.passed else 'FAIL'} |")
    return "\n".join(lines)


def write(checks: list[Check], out: Path, command: str, wall: float) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    files = []
    nm = next((c for c in checks if c.series and any(k.startswith("b=") for k in c.series)), None)
    if nm is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        for k, v in nm.series.items():
            ax.plot(v, label=k)
        ax.axhline(0.318, color="grey", ls="--", lw=1, label="0.318 (Nowak & May)")
        ax.set(xlabel="day", ylabel="share of helpers", title="Nowak-May lattice: three regimes of b")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "nowak_may.png", dpi=100)
        plt.close(fig)
        files.append("nowak_may.png")
    passed = sum(c.passed for c in checks)
    text = [f"# Validation: {passed}/{len(checks)} checks passed", "",
            f"Command: `{command}` ({wall:.0f} s).", "", table(checks), ""]
    if files:
        text += ["![Nowak-May regimes](nowak_may.png)", ""]
    (out / "validation.md").write_text("\n".join(text))
    files.append("validation.md")
    return files
