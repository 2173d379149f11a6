"""``mutualaid validate``: does the model reproduce what is known?

Each check runs shipped scenarios (on the kernel engine, which gives the Mesa
engine's bits) and compares one measured number with the published value or
direction. Classic games come first (psychology off). The recovery patterns
come in two groups, printed apart: the patterns the recovery parameters were
*fitted* to (on calibration seeds; they show the fit, they are not checks
of it) and *independent* patterns that were not fitted (on other seeds, each
with a stated test) (docs/ODD.md 1.2).

``--quick`` runs smaller lattices, fewer seeds and shorter runs (part of the
test suite); the full run is what docs/ODD.md and the README quote.
"""

# Deferred imports (inside the functions that need them):
# - sim.engines, sim.experiments.deathbirth: they load numba, which only the checks' runs need.
# - sim.experiments.effects, sim.output: they load pandas and pyarrow, which only some checks need.
# - scipy: only the fixation check's binomial test needs it.
# - matplotlib: half a second to import; it loads when the validation figure is drawn.

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from sim import runner
from sim.core.networks import build_lattice
from sim.core.scenarios import load_scenario
from sim.experiments.patterns import (  # noqa: F401  (CALIBRATION_SEEDS, VALIDATION_SEEDS: named here too)
    CALIBRATION_SEEDS, DENNIS_BINS, ENTRY_DAYS, VALIDATION_SEEDS, YEAR, measure, pinned, pooled,
)


@dataclass
class Check:
    name: str
    source: str
    expected: str
    measured: float
    passed: bool
    detail: str = ""
    series: dict = field(default_factory=dict, repr=False)
    group: str = "classic"  # classic, fitted (a calibration target: not a check), independent or sizes
    verdict: str = ""  # sizes: where the published figure lies against the model's interval

    @property
    def is_check(self) -> bool:
        return self.group in ("classic", "independent")


GROUPS = {"classic": "Classic games (psychology off)",
          "fitted": "Fitted: the calibration targets, on calibration seeds (they show the fit; they are not "
                    "independent checks)",
          "independent": "Independent: patterns that were not fitted, on validation seeds",
          "health": "Health of the model's construction: states off their bounds, drop-outs (diagnostics on the "
                    "calibration seeds; not fitted, not pass/fail)",
          "sizes": "Effect sizes beside the studies: check-ins, sponsorship and a closure, each arm against its "
                   "pair on the validation seeds (docs/ODD.md 1.3; a comparison, not a pass/fail check)"}


def Fitted(*args, **kw) -> Check:
    return Check(*args, group="fitted", **kw)


def Independent(*args, **kw) -> Check:
    return Check(*args, group="independent", **kw)


def summary(checks: list[Check]) -> str:
    real = [c for c in checks if c.is_check]
    sizes = [c for c in checks if c.group == "sizes" and c.verdict != "no published size"]
    fit = [c for c in checks if c.group == "fitted"]
    health = [c for c in checks if c.group == "health" and not c.verdict]
    text = (f"{sum(c.passed for c in real)}/{len(real)} checks passed; "
            f"{sum(c.passed for c in fit)}/{len(fit)} fitted patterns on target")
    if health:
        text += f"; {sum(c.passed for c in health)}/{len(health)} health diagnostics hold"
    if sizes:
        text += f"; {sum(c.verdict == 'consistent' for c in sizes)}/{len(sizes)} effect sizes consistent with the studies"
    return text


def _run(name, **kw):
    kw.setdefault("engine", "kernel")
    return runner.run(name, **kw)


#: Where the Nowak-May payoffs tie (Moore neighbourhood with self-interaction, R=1, T=b, S=P=0): a
#: cooperator's score is an integer from 0 to 9 and a defector's b times one, so the dynamics can change
#: only at b = p/q with p, q <= 9; between 5/3 and 2 the ties are at 7/4, 9/5 and 2.
NM_REGIMES = {"5/3 < b < 7/4": (1.70, 1.74), "7/4 < b < 9/5": (1.76, 1.79), "9/5 < b < 2": (1.81, 1.99),
              "2 < b < 9/4": (2.01, 2.20)}


def nowak_may_regimes(quick: bool) -> list[Check]:
    """Nowak & May (1992) by regime: one lattice within a regime, another across each tie; the shares."""
    side, steps = (60, 150) if quick else (200, 400)
    lattice = {"network.width": side, "network.height": side}
    final, shares, series = {}, {}, {}
    for regime, bs in NM_REGIMES.items():
        for b in bs:
            r = _run("nowak-may-1992", steps=steps, set=dict(lattice, **{"game.T": b}))
            final[b] = r.model.community["strategy"].copy()
            shares[b] = float(r.metrics["helpers"].iloc[steps // 2:].mean())
            if b == bs[0]:
                series[f"b={b}"] = r.metrics["helpers"].to_numpy()
    src = "Nowak & May 1992, Nature 359:826"
    where = f"{side}x{side}, {steps} days, mean over days {steps // 2}-{steps}"
    same = {regime: bool(np.array_equal(final[lo], final[hi])) for regime, (lo, hi) in NM_REGIMES.items()}
    pairs = list(NM_REGIMES.values())
    changes = {f"{a[1]} | {b[0]}": not np.array_equal(final[a[1]], final[b[0]]) for a, b in zip(pairs, pairs[1:])}
    chaos = shares[1.81]
    return [
        Check("Nowak-May: within a regime the lattice is the same cell for cell", src,
              "b at both ends of each interval between ties gives identical runs", float(sum(same.values())),
              all(same.values()), f"{sum(same.values())}/{len(same)} regimes; {side}x{side}, {steps} days", series),
        Check("Nowak-May: across each tie (7/4, 9/5, 2) the dynamics change", src,
              "the last day's lattice differs on the two sides of every tie", float(sum(changes.values())),
              all(changes.values()), ", ".join(f"{k}: {'differs' if v else 'same'}" for k, v in changes.items())),
        Check("Nowak-May b < 9/5: cooperator clusters hold the lattice", src, "share of helpers > 0.5 at 1.70-1.79",
              min(shares[b] for b in (1.70, 1.74, 1.76, 1.79)),
              all(shares[b] > 0.5 for b in (1.70, 1.74, 1.76, 1.79)),
              "; ".join(f"b={b}: {shares[b]:.3f}" for b in (1.70, 1.74, 1.76, 1.79)) + f"; {where}"),
        Check("Nowak-May 9/5 < b < 2: chaotic coexistence, asymptotic share", src,
              "0.318 +- 0.01 (random start, 10% defectors)", chaos, abs(chaos - 0.318) <= (0.03 if quick else 0.01),
              where),
        Check("Nowak-May b > 2: defectors take over", src, "share of helpers < 0.1", shares[2.01], shares[2.01] < 0.1,
              f"b=2.01: {shares[2.01]:.3f}, b=2.20: {shares[2.20]:.3f}; {where}"),
    ]


def kaleidoscope(quick: bool) -> Check:
    """One defector in the centre of a fixed-edge lattice of cooperators grows a symmetric pattern."""
    from sim.engines import make_model

    side, steps = (41, 40) if quick else (99, 100)
    sc = load_scenario("nowak-may-1992", {"network.width": side, "network.height": side,
                                           "network.periodic": False, "population.initial_helpers": 1.0,
                                           "steps": steps})
    model = make_model(sc, "kernel")
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


def fermi_threshold(quick: bool) -> Check:
    """Szabo & Toke (1998): with Fermi imitation at K = 0.1, cooperators survive below b ~ 1.04 and die out above.

    The threshold lies between b = 1.03 and b = 1.05: at 1.03 cooperators are still there at the end of
    every seed's run, at 1.05 they have died out in every one.
    """
    side, steps, seeds = (50, 6000, 3) if quick else (100, 10000, 4)
    end = {}
    for b in (1.03, 1.05):
        end[b] = [float(_run("fermi-lattice", seed=s, steps=steps,
                             set={"network.width": side, "network.height": side, "game.T": b}
                             ).metrics["helpers"].iloc[-steps // 10:].mean()) for s in range(seeds)]
    ok = min(end[1.03]) > 0.0 and max(end[1.05]) == 0.0
    return Check("Fermi rule (K=0.1): the threshold of b lies between 1.03 and 1.05",
                 "Szabo & Toke 1998, Phys Rev E 58:69", "cooperators survive at b=1.03 and die out at b=1.05",
                 float(np.mean(end[1.03])), ok,
                 f"share over the last tenth: b=1.03 {', '.join(f'{v:.3f}' for v in end[1.03])}; b=1.05 "
                 f"{', '.join(f'{v:.3f}' for v in end[1.05])}; {side}x{side}, {steps} days "
                 f"({steps // 10} Monte Carlo steps), {seeds} seeds")


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


def death_birth_threshold(quick: bool) -> list[Check]:
    """Allen et al. (2017): under weak selection (w = 0.01) death-birth favours helpers above an exact (b/c)*.

    On a 10x10 torus with 4 and with 8 neighbours the exact finite-population
    threshold is 4.26 and 9.33, not k = 4 and 8 (Ohtsuki's b/c > k is the
    large-population limit). Fixation runs one death at a time
    (:mod:`sim.experiments.deathbirth`), each from half the members helping,
    at five ratios from 0.8 to 1.2 times the exact value, and at b/c = k.
    Passed when the exact value lies inside the 95% bootstrap interval of
    the estimated crossing and, at b/c = k, helpers fix in fewer than half
    the runs (one-sided binomial test, p < 0.01). ``quick`` checks degree 8
    only (at degree 4 the gap between k and the exact value needs the full
    run's 6,000 runs per ratio to show).
    """
    from scipy.stats import binomtest

    from sim.experiments.deathbirth import allen_threshold, fixation_share, weak_selection_threshold

    runs = 2000 if quick else 6000
    out = []
    for hood, k in ((("moore", 8),) if quick else (("von_neumann", 4), ("moore", 8))):
        g = build_lattice(10, 10, hood)
        exact = allen_threshold(g)
        est = weak_selection_threshold(g, exact * np.linspace(0.8, 1.2, 5), w=0.01, runs=runs, seed=2017 + k)
        at_k = fixation_share(g, float(k), 1.0, 0.01, runs, seed=4017 + k)
        p_k = binomtest(int(round(at_k.sum())), runs, 0.5, alternative="less").pvalue
        ok = est.low <= exact <= est.high and p_k < 0.01
        shares = ", ".join(f"{r:.2f}: {m:.3f}" for r, (m, _) in est.shares.items())
        out.append(Check(f"Death-birth, weak selection (w=0.01), 10x10 torus of degree {k}: helpers favoured "
                         f"above the exact (b/c)* = {exact:.2f}",
                         "Allen et al. 2017, Nature 544:227 (exact threshold); Ohtsuki et al. 2006 (b/c > k)",
                         f"fixation share crosses 1/2 at {exact:.2f}; below 1/2 at b/c = k = {k}", est.estimate, ok,
                         f"crossing {est.estimate:.2f} (95% {est.low:.2f} to {est.high:.2f}); helpers' fixation share "
                         f"by b/c {shares}; at b/c = {k}: {at_k.mean():.3f} (binomial p = {p_k:.1g}); {runs} runs "
                         f"each, one death at a time, from half helping"))
    return out


def _paired_p(x, y) -> float:
    """One-sided Wilcoxon signed-rank p-value that x > y, paired over seeds (the effect sizes' test)."""
    from sim.experiments.effects import p_greater

    return p_greater(x, y)


def fitted_patterns(quick: bool) -> list[Check]:
    """The patterns the recovery parameters were fitted to (docs/ODD.md 1.2), on calibration seeds.

    Reported so a reader sees how well the fit holds, never as independent
    checks. The treatment-outcome figures are read on the entry cohort
    (newcomers of the first 90 days, each followed a year from joining), as
    the studies followed people from the start of their recovery; the
    Dennis figures on the day-0 members by time abstinent.
    """
    seeds = list(CALIBRATION_SEEDS[: 6 if quick else 24])
    results = [_run("baseline", seed=s, steps=YEAR + ENTRY_DAYS, members=True, member_days=True) for s in seeds]
    p = pooled([measure(r) for r in results])
    pin = pooled([pinned(r.member_days) for r in results])
    detail = f"{len(seeds)} calibration seeds of baseline, {p['entry_members']:.0f} newcomers a run"
    # leaving is censoring (Kaplan-Meier), and beside it an outcome (used or left; left)
    u = 1.0 - p["entry_abstinent_km"]
    h, nh = p["entry_helpers_abstinent_km"], p["entry_nonhelpers_abstinent_km"]
    sust = {k: p[f"sustained_km_{k}"] for k in DENNIS_BINS}
    published = {"1-12 months": 0.36, "1-3 years": 0.66, "3+ years": 0.86}
    f90 = p["entry_first_use_within_90_days_km"]
    sp = p["entry_sponsored"]
    left = (f"used or left within the year {p['entry_used_or_left']:.2f}, left {p['entry_left']:.2f} "
            f"(leavers censored in the measured figure)")
    return [
        Fitted("Newcomers who return to use within a year of joining (Kaplan-Meier, leaving censored)",
               "McLellan et al. 2000, JAMA 284:1689", "0.40-0.60", u, 0.40 <= u <= 0.60, f"{left}; {detail}"),
        Fitted("Most first lapses come early: share of the year's within 90 days (Kaplan-Meier)",
               "Hunt, Barnett & Branch 1971, J Clin Psychol 27:455", "about 2/3 (0.55-0.80)", f90,
               0.55 <= f90 <= 0.80, detail),
        *[Fitted(f"Risk falls with time abstinent: sustained a year, {k} abstinent on day 0 (Kaplan-Meier)",
                 "Dennis, Foss & Scott 2007, Eval Rev 31:585", f"{published[k]:.2f} +- 0.08", sust[k],
                 abs(sust[k] - published[k]) <= 0.08,
                 f"used or left {p[f'sustained_or_left_{k}']:.2f}; {len(seeds)} calibration seeds")
          for k in DENNIS_BINS],
        Fitted("Helpers stay abstinent more often than non-helpers (Kaplan-Meier)",
               "Pagano et al. 2004, J Stud Alcohol 65:766",
               "gap >= 0.10 (published: 0.40 vs 0.22)", h - nh, h - nh >= 0.10,
               f"abstinent a year after joining: helpers {h:.3f}, non-helpers {nh:.3f}; used or left: helpers "
               f"{p['entry_helpers_used_or_left']:.2f}, non-helpers {p['entry_nonhelpers_used_or_left']:.2f}; "
               f"{detail}"),
        Fitted("Newcomers who have a sponsor within the year", "Kelly, Greene & Bergman 2016, Drug Alcohol "
               "Depend 162:64", "about 0.69 (0.55-0.80)", sp, 0.55 <= sp <= 0.80, detail),
        Check("No member state pinned at a bound (share of member-days at 0 or 1, the largest)",
              "docs/ODD.md 7.6 (psychology.saturating)", "at most 0.01", pin["worst"], pin["worst"] <= 0.01,
              "; ".join(f"{k.replace('_at_', ' at ')} {v:.3f}" for k, v in pin.items() if k != "worst")
              + f"; {len(seeds)} calibration seeds", group="health"),
        Check("Drop-outs: day-0 members who leave within a year", "Kelly & Moos 2003 (drop-out from 12-step "
              "groups is common; the rate is not yet sourced: docs/ODD.md 7.11)", "reported",
              p["day0_left_within_year"], True, f"newcomers who left within a year of joining: "
              f"{p['entry_left']:.2f}; {len(seeds)} calibration seeds", group="health", verdict="reported"),
    ]


_ARM_RUNS: dict = {}


def validation_runs(quick: bool) -> dict[str, list[dict]]:
    """The four arms of :mod:`sim.experiments.effects` on the validation seeds, two years each
    (run once, shared by the independent patterns and the effect sizes)."""
    from sim.experiments.effects import run_arms

    if quick not in _ARM_RUNS:
        _ARM_RUNS.clear()
        _ARM_RUNS[quick] = run_arms(VALIDATION_SEEDS[: 8 if quick else 20], steps=2 * 365)
    return _ARM_RUNS[quick]


def independent_patterns(quick: bool) -> list[Check]:
    """Patterns nobody fitted, on validation seeds, each with a one-sided paired Wilcoxon test (alpha 0.01)."""
    runs = validation_runs(quick)
    on, off = runs["baseline"], runs["no-checkins"]

    def col(rows, key):
        return np.array([r[key] for r in rows], dtype=np.float64)

    detail = f"{len(on)} validation seeds"
    sp, unsp = col(on, "entry_sponsored_abstinent_km"), col(on, "entry_unsponsored_abstinent_km")
    keep = np.isfinite(sp) & np.isfinite(unsp)
    sp, unsp = sp[keep], unsp[keep]
    a, b = float(np.mean(sp)), float(np.mean(unsp))
    p_sp = _paired_p(sp, unsp)
    ret_on, ret_off = col(on, "days_to_return"), col(off, "days_to_return")
    d_on, d_off = float(np.mean(ret_on)), float(np.mean(ret_off))
    p_ret = _paired_p(ret_off, ret_on)
    w_on, w_off = float(np.mean(col(on, "returned_within_30_days"))), float(np.mean(col(off, "returned_within_30_days")))
    y1, y2 = col(on, "lapses_per_member_year"), col(on, "lapses_per_member_year2")
    ratio = float(np.mean(y2)) / float(np.mean(y1))
    return [
        Independent("Newcomers with a sponsor stay abstinent more often (early affiliation)",
                    "Tonigan & Rice 2010, Psychol Addict Behav 24:397",
                    "sponsored > unsponsored (one-sided p < 0.01)", a - b, a > b and p_sp < 0.01,
                    f"abstinent a year after joining (Kaplan-Meier, leaving censored): {a:.3f} sponsored vs "
                    f"{b:.3f} not; p = {p_sp:.2g}; "
                    f"{int(keep.sum())} of {detail}"),
        Independent("Check-ins bring absent members back sooner", "Dennis, Scott & Funk 2003, Eval Program "
                    "Plann 26:339 (ERI-1: days to re-entry 376 vs 600; returned 64% vs 51%)",
                    "days to return with / without check-ins < 1 (one-sided p < 0.01)", d_on / d_off,
                    d_on < d_off and p_ret < 0.01, f"{d_on:.1f} vs {d_off:.1f} days after the threshold; back "
                    f"within 30 days {w_on:.2f} vs {w_off:.2f}; p = {p_ret:.2g}; {detail}; its size: see below"),
        Independent("A community at steady state: lapses in year 2 / year 1", "docs/ODD.md 5 (burn-in)",
                    "0.85-1.15", ratio, 0.85 <= ratio <= 1.15, f"{np.mean(y1):.2f} vs {np.mean(y2):.2f} lapses "
                    f"per member-year; {detail}"),
    ]


def effect_sizes(quick: bool) -> list[Check]:
    """The sizes of :func:`sim.experiments.effects.effects` beside the published ones (docs/ODD.md 1.3)."""
    from sim.experiments.effects import effects

    runs = validation_runs(quick)
    n = len(runs["baseline"])
    out = []
    for e in effects(runs):
        out.append(Check(f"{e.intervention}: {e.outcome}", e.source if e.source != "-" else "(no study gives it)",
                         e.published_text, e.model, e.verdict == "consistent",
                         f"{e.measure}, {e.arms}; 95% interval {e.low:.3f} to {e.high:.3f}; direction p = "
                         f"{e.p:.2g}; {n} seeds", group="sizes", verdict=e.verdict))
    return out


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Check]:
    checks: list[Check] = []
    steps = [("Nowak-May regimes", lambda: nowak_may_regimes(quick)), ("kaleidoscope", lambda: [kaleidoscope(quick)]),
             ("Fermi", lambda: [fermi_threshold(quick)]), ("death-birth", lambda: [death_birth_direction(quick)]),
             ("death-birth threshold", lambda: death_birth_threshold(quick)),
             ("fitted recovery patterns", lambda: fitted_patterns(quick)),
             ("independent recovery patterns", lambda: independent_patterns(quick)),
             ("effect sizes", lambda: effect_sizes(quick))]
    for label, fn in steps:
        t0 = time.perf_counter()
        got = fn()
        checks.extend(got)
        if got and got[0].group == "sizes":
            sized = [c for c in got if c.verdict != "no published size"]
            log(f"  {label}: {sum(c.passed for c in sized)}/{len(sized)} consistent with the studies, "
                f"{len(got) - len(sized)} without a published size ({time.perf_counter() - t0:.0f} s)")
        else:
            main = [c for c in got if c.group != "health"]
            word = "on target" if main and not main[0].is_check else "passed"
            health = [c for c in got if c.group == "health" and not c.verdict]
            extra = f"; {sum(c.passed for c in health)}/{len(health)} health diagnostics hold" if health else ""
            log(f"  {label}: {sum(c.passed for c in main)}/{len(main)} {word}{extra} "
                f"({time.perf_counter() - t0:.0f} s)")
    return checks


def table(checks: list[Check]) -> str:
    """The checks as Markdown, one table per group (classic, fitted, independent)."""
    lines = []
    for group, title in GROUPS.items():
        rows = [c for c in checks if c.group == group]
        if not rows:
            continue
        lines += ["" if lines else None, f"**{title}**", "",
                  "| check | source | expected | measured | result |", "|---|---|---|---|---|"]
        for c in rows:
            detail = f" ({c.detail})" if c.detail else ""
            if group == "sizes":
                result = c.verdict
            elif group == "fitted":
                result = "on target" if c.passed else "off target"
            elif group == "health":
                result = c.verdict or ("holds" if c.passed else "does not hold")
            else:
                result = "pass" if c.passed else "FAIL"
            lines.append(f"| {c.name} | {c.source} | {c.expected} | {c.measured:.3f}{detail} | {result} |")
    return "\n".join(x for x in lines if x is not None)


def write(checks: list[Check], out: Path, command: str, wall: float, argv: list[str] | None = None) -> list[str]:
    """Write validation.md (and nowak_may.png) with a manifest naming the command (the folder's typed marker:
    only ``validate`` replaces it, :func:`sim.output.check_out_dir`); the folder is replaced whole."""
    from sim.output import StagedFiles, base_manifest

    out = Path(out)
    nm = next((c for c in checks if c.series and any(k.startswith("b=") for k in c.series)), None)
    with StagedFiles(out, replace=True, kind="validate") as staged:
        if nm is not None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(7, 4))
            ax = fig.subplots()
            for k, v in nm.series.items():
                ax.plot(v, label=k)
            ax.axhline(0.318, color="grey", ls="--", lw=1, label="0.318 (Nowak & May)")
            ax.set(xlabel="day", ylabel="share of helpers", title="Nowak-May lattice: three regimes of b")
            ax.legend()
            fig.tight_layout()
            staged.write_figure("nowak_may.png", fig, dpi=100)
        text = [f"# Validation: {summary(checks)}", "",
                f"Command: `{command}` ({wall:.0f} s).", "", table(checks), ""]
        if nm is not None:
            text += ["![Nowak-May regimes](nowak_may.png)", ""]
        staged.write_text("validation.md", "\n".join(text))
        files = staged.names
        manifest = base_manifest("validate", argv if argv is not None else command.split()[1:], wall,
                                 passed=sum(bool(c.passed) for c in checks if c.is_check),
                                 checks=sum(1 for c in checks if c.is_check), files=files + ["manifest.json"])
        staged.write_json("manifest.json", manifest)
    return files + ["manifest.json"]
