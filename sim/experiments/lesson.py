"""``mutualaid lesson kropotkin``: which mechanisms let mutual aid win, and what it does for the community.

A small factorial demonstration on the ``kropotkin`` scenario. Four named
mechanisms can each let helpers win (docs/ODD.md 1.4, each with its source
and its switch, :data:`MECHANISMS`); the lesson runs them all off, each on
alone, all on, and all on but one, over the same paired seeds, and reports
for every arm the share of helpers at the end of the year **and** the
community's health (abstinence, stress, use, relapses and dropouts per 100
members a year), each with a 95% bootstrap interval over seeds. Every arm
is compared with all-off by a one-sided paired Wilcoxon signed-rank test on
the final share of helpers.

Held on in every arm, and the notes say so: members leave for other
reasons (``turnover.leave_prob``) and newcomers take their places, as in
every recovery community; whether members in crisis drop out, and which
strategy newcomers bring, are factors.

>>> from sim.experiments.lesson import run_lesson
>>> res = run_lesson(seeds=2, arms=("all off", "all on"), workers=1)   # doctest: +SKIP
>>> res.summary[["arm", "helpers", "helpers_low", "helpers_high"]]      # doctest: +SKIP
"""

# Deferred imports (inside the functions that need them):
# - matplotlib: half a second to import; it loads when the lesson's figure is drawn.
# - sim.experiments.compare: it loads numba; the dashboard's controls import this module for its
#   mechanisms (sim.dashboards.support) and load without numba.

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from sim.core.scenarios import ScenarioError
from sim.experiments.effects import p_greater
from sim.experiments.sweep import _iter_inline, _iter_pool
from sim.limits import cap, check_count, cores
from sim.runner import prepare


@dataclass(frozen=True)
class Mechanism:
    key: str
    name: str
    what: str
    on: Mapping[str, Any]
    off: Mapping[str, Any]
    odd: str
    source: str


#: The named routes by which mutual aid can win in this model (docs/ODD.md 1.4). ``on`` is the
#: ``kropotkin`` scenario's setting; ``off`` takes the route away and keeps everything else.
MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("clustering", "Network reciprocity",
              "helpers sit beside helpers on a lattice, so clusters of helpers help each other; off: the same "
              "members with the same mean number of ties, placed at random",
              {"network.kind": "lattice"}, {"network.kind": "erdos_renyi"},
              "7.10; 1.4", "Nowak & May 1992; Ohtsuki et al. 2006"),
    Mechanism("wellbeing", "Wellbeing counts as success",
              "members imitate neighbours who are well (low stress and craving) as well as those who gain; "
              "helping lowers one's own craving (helper therapy), so helpers look successful; off: payoff "
              "alone is imitated",
              {"evolution.wellbeing_weight": 2.0}, {"evolution.wellbeing_weight": 0.0},
              "7.7, 7.10; 1.4", "Riessman 1965 (helper therapy); Pagano et al. 2004"),
    Mechanism("partner_choice", "Partner choice",
              "ties to competitors wear away, and a member's payoff comes through its ties, so taking stops "
              "paying and helpers are no longer exploited; off: conflict does not weaken ties",
              {"ties.conflict_loss": 0.03}, {"ties.conflict_loss": 0.0},
              "7.9; 1.4", "Santos, Pacheco & Lenaerts 2006; Pacheco, Traulsen & Nowak 2006"),
    Mechanism("newcomers", "Newcomers re-seed helpers",
              "a newcomer who takes a leaver's place helps with the scenario's initial share (0.3), whatever "
              "the community has become; off: a newcomer takes up the community's current mix",
              {"turnover.newcomer_strategy": "initial"}, {"turnover.newcomer_strategy": "mix"},
              "7.11; 1.4", "Wright 1931 (inflow at a fixed frequency, the island model)"),
    Mechanism("survival", "Survival of the supported",
              "a member in crisis for a month drops out and a newcomer takes the place; members without "
              "support are in crisis more often, and competitors have less support; off: nobody drops out "
              "in crisis (members still leave for other reasons, and newcomers still come)",
              {"turnover.crisis_days": 30}, {"turnover.crisis_days": 100000},
              "7.11; 1.4", "Kropotkin 1902; Kelly & Moos 2003 (who drops out of mutual-help groups)"),
)
KEYS = tuple(m.key for m in MECHANISMS)

#: Held on in every arm (see the module notes).
HELD_ON = ("members leave for other reasons (turnover.leave_prob a day) and newcomers take their places, as in "
           "every recovery community")


def arm_table() -> dict[str, frozenset]:
    """The arms, in table order: all off, each alone, all on, all on but one."""
    out = {"all off": frozenset()}
    for m in MECHANISMS:
        out[f"{m.name} only"] = frozenset({m.key})
    out["all on"] = frozenset(KEYS)
    for m in MECHANISMS:
        out[f"all but {m.name.lower()}"] = frozenset(KEYS) - {m.key}
    return out


ARMS = tuple(arm_table())
DEFAULT_SEEDS = 20
#: Days at the end of the run over which the final share of helpers and stress are read.
TAIL = 30


def overrides(on: frozenset, size: int, degree: int) -> dict[str, Any]:
    """Scenario overrides for an arm with the mechanisms ``on`` switched on and the rest off.

    Without clustering the lattice's ``size`` members get a random graph of the lattice's ``degree``.
    """
    out: dict[str, Any] = {}
    for m in MECHANISMS:
        out.update(m.on if m.key in on else m.off)
    if "clustering" not in on:
        out["population.size"] = size
        out["network.degree"] = degree
    return out


def figures(m: pd.DataFrame, size: int) -> dict[str, float]:
    """The lesson's measures of one run from its daily metrics."""
    days = len(m) - 1
    per_year = 100.0 / size * 365.0 / days
    tail = m.iloc[-TAIL:]
    return {"helpers": float(tail["helpers"].mean()),
            "abstinent": float(m["abstinent"].iloc[-1]),
            "stress": float(tail["mean_stress"].mean()),
            "using": float(m["using"].iloc[1:].mean()),
            "relapses_per_100": float(m["relapses"].iloc[1:].sum() * per_year),
            "dropouts_per_100": float(m["dropouts"].iloc[1:].sum() * per_year)}


MEASURES = {"helpers": "helpers at the end", "abstinent": "abstinent all year", "stress": "stress at the end",
            "using": "using on a day", "relapses_per_100": "relapses /100/yr", "dropouts_per_100": "dropouts /100/yr"}


@dataclass
class LessonResult:
    scenario: str
    seeds: list[int]
    runs: pd.DataFrame          # one row per arm and seed
    summary: pd.DataFrame       # one row per arm: means, intervals, p against all off
    wall_time: float
    scenarios: dict = field(default_factory=dict, repr=False)


def _boot_ci(x: np.ndarray, rng, boot: int = 2000) -> tuple[float, float]:
    idx = rng.integers(0, len(x), size=(boot, len(x)))
    means = x[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def run_settings(settings: Mapping[str, tuple[str, Mapping[str, Any]]], seeds: list[int],
                 workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                 steps: int | None = None) -> dict[str, pd.DataFrame]:
    """Run each ``label: (scenario, overrides)`` on every seed (the same seeds for all: paired).

    Returns ``{label: DataFrame}`` with one row per seed (in ``seeds`` order) of :func:`figures`,
    plus ``helpers_start`` and ``stress_start`` (day 0) and ``helpers_min`` with ``day_min`` (the
    lowest share of helpers and its day). Runs on the kernel, ``workers`` processes (default up to 2;
    never more than the machine's cores; ``mutualaid lesson`` passes its --workers, default the cores).
    """
    tasks, sizes = [], {}
    for label, (scenario, ov) in settings.items():
        for r, s in enumerate(seeds):
            sc = prepare(scenario, seed=int(s), steps=steps, set=dict(ov))
            sizes[label] = sc.population.size
            tasks.append({"run_id": len(tasks), "point": label, "replicate": r, "seed": int(s), "engine": "kernel",
                          "scenario": sc.model_dump(mode="json"), "timeseries": True})
    # the default, up to 2, keeps a dashboard's lesson or trial from taking a big server's every core
    workers = cap("workers", check_count("workers", workers, "lesson") or min(2, cores()))[0]
    rows: dict[str, list] = {label: [None] * len(seeds) for label in settings}
    it = _iter_pool(tasks, workers) if workers > 1 else _iter_inline(tasks)
    for done, out in enumerate(it, 1):
        row = out["row"]
        if row["error"]:
            raise RuntimeError(f"{row['point']}, seed {row['seed']}: {row['error']}")
        m = out["timeseries"]
        rec = figures(m, sizes[row["point"]])
        rec.update(seed=row["seed"], helpers_start=float(m["helpers"].iloc[0]),
                   stress_start=float(m["mean_stress"].iloc[0]), helpers_min=float(m["helpers"].min()),
                   day_min=int(m["step"].iloc[int(m["helpers"].to_numpy().argmin())]))
        rows[row["point"]][row["replicate"]] = rec
        if progress is not None:
            progress(done, len(tasks))
    return {label: pd.DataFrame(r) for label, r in rows.items()}


def run_lesson(scenario: str = "kropotkin", seeds: int = DEFAULT_SEEDS, arms: tuple[str, ...] = ARMS,
               workers: int | None = None, steps: int | None = None,
               progress: Callable[[int, int], None] | None = None, seed: int | None = None) -> LessonResult:
    """Run every arm on the same ``seeds`` paired seeds (children of ``seed``, default the scenario's)."""
    from sim.experiments.compare import replicate_seeds

    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 2 <= seeds <= 10_000:
        raise ScenarioError(f"lesson: seeds = {seeds!r}: expected an integer from 2 to 10000")
    table = arm_table()
    unknown = [a for a in arms if a not in table]
    if unknown:
        raise ScenarioError(f"lesson: unknown arm {unknown[0]!r}; the arms are {', '.join(table)}")
    base = prepare(scenario, steps=steps, seed=seed)
    if base.network.kind != "lattice":
        raise ScenarioError(f"lesson: scenario {scenario!r} has network.kind={base.network.kind}; the lesson "
                            "switches network reciprocity off by replacing a lattice, so it needs one")
    size = base.population.size
    degree = 4 if base.network.neighborhood == "von_neumann" else 8
    run_seeds = replicate_seeds(base.seed, seeds)
    settings = {arm: (scenario, overrides(table[arm], size, degree)) for arm in arms}
    scenarios = {arm: prepare(scenario, seed=run_seeds[0], steps=steps, set=ov).model_dump(mode="json")
                 for arm, (_, ov) in settings.items()}
    t0 = time.perf_counter()
    got = run_settings(settings, run_seeds, workers=workers, progress=progress, steps=steps)
    runs = pd.concat([df.assign(arm=arm, replicate=range(len(df))) for arm, df in got.items()], ignore_index=True)
    runs = runs[["arm", "replicate", "seed", *MEASURES]]
    rng = np.random.default_rng(base.seed)
    summary = []
    ref = runs[runs.arm == "all off"].sort_values("replicate")["helpers"].to_numpy() if "all off" in arms else None
    for arm in arms:
        part = runs[runs.arm == arm].sort_values("replicate")
        rec: dict[str, Any] = {"arm": arm, "mechanisms": ", ".join(k for k in KEYS if k in table[arm]) or "-"}
        for col in MEASURES:
            x = part[col].to_numpy()
            lo, hi = _boot_ci(x, rng)
            rec[col], rec[f"{col}_low"], rec[f"{col}_high"] = float(x.mean()), lo, hi
        rec["p_helpers_vs_all_off"] = (float("nan") if ref is None or arm == "all off"
                                       else p_greater(part["helpers"].to_numpy(), ref))
        summary.append(rec)
    return LessonResult(scenario, run_seeds, runs, pd.DataFrame(summary), time.perf_counter() - t0, scenarios)


def _fmt(v: float, col: str) -> str:
    return f"{v:.0f}" if col.endswith("_per_100") else f"{v:.2f}"


def table(res: LessonResult, markdown: bool = True) -> str:
    """The lesson table: every measure as mean (95% interval), and the test against all off."""
    cols = list(MEASURES)
    head = ["arm"] + [MEASURES[c] for c in cols] + ["p vs all off"]
    body = []
    for _, r in res.summary.iterrows():
        cells = [r["arm"]] + [f"{_fmt(r[c], c)} ({_fmt(r[c + '_low'], c)}-{_fmt(r[c + '_high'], c)})" for c in cols]
        p = r["p_helpers_vs_all_off"]
        cells.append("-" if not np.isfinite(p) else f"{p:.1g}")
        body.append(cells)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c) + " |" for c in body]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [head] + body) for i in range(len(head))]
    fmt = lambda row: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def notes(res: LessonResult) -> str:
    """What the table is: mechanisms, the held-on one, seeds, tests."""
    lines = [f"Kropotkin lesson on `{res.scenario}`: {len(res.seeds)} paired seeds per arm (children of the "
             f"scenario's seed), {len(res.runs)} runs, {res.wall_time:.0f} s.", "",
             "Mechanisms (docs/ODD.md 1.4):"]
    for m in MECHANISMS:
        on = ", ".join(f"{k}={v}" for k, v in m.on.items())
        off = ", ".join(f"{k}={v}" for k, v in m.off.items())
        lines.append(f"- {m.name} ({m.key}): {m.what}. On: {on}; off: {off}. Source: {m.source}.")
    lines += [f"- Held on in every arm: {HELD_ON}.", "",
              "Each cell: mean over seeds (95% percentile bootstrap interval). Helpers and stress are read over "
              f"the last {TAIL} days; abstinent is the share of day-0 members who did not use all year. "
              "p: one-sided paired Wilcoxon signed-rank test that the arm ends with more helpers than all off."]
    return "\n".join(lines)


#: the dashboard's projector figure: helpers and stress only, drawn at the pixels it is shown (PROJECTOR_PX
#: wide at 100 dpi) with text PROJECTOR_FONT_PX tall
PROJECTOR_COLS = ("helpers", "stress")
PROJECTOR_PX = 960
PROJECTOR_FONT_PX = 20


def plot(res: LessonResult, projector: bool = False):
    """One figure a teacher can project: helpers and four health measures by arm, with intervals.

    ``projector``: the page's version, helpers and stress only, :data:`PROJECTOR_PX` pixels wide at 100 dpi
    with every piece of text :data:`PROJECTOR_FONT_PX` pixels tall, shown unscaled (the five-measure
    figure, 16 inches wide, is scaled down to a column and its text to about 9 px)."""
    if projector:
        pt = PROJECTOR_FONT_PX * 72 / 100
        return _plot(res, list(PROJECTOR_COLS), (PROJECTOR_PX / 100, 0.5 * len(res.summary) + 1.6), pt, pt, pt)
    return _plot(res, ["helpers", "abstinent", "stress", "relapses_per_100", "dropouts_per_100"],
                 (16, 0.42 * len(res.summary) + 1.8), 11, 12, None)


def _plot(res: LessonResult, cols: list[str], size: tuple[float, float], title_pt: float, head_pt: float,
          tick_pt: float | None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(1, len(cols), sharey=True)
    s = res.summary.iloc[::-1]
    y = np.arange(len(s))
    for ax, col in zip(axes, cols):
        mean = s[col].to_numpy()
        err = np.vstack([mean - s[f"{col}_low"].to_numpy(), s[f"{col}_high"].to_numpy() - mean])
        colour = "#2b6cb0" if col == "helpers" else "#4a5568"
        ax.errorbar(mean, y, xerr=err, fmt="o", color=colour, ecolor=colour, capsize=3)
        ax.set_title(MEASURES[col], fontsize=title_pt)
        if tick_pt:
            ax.tick_params(labelsize=tick_pt)
        ax.grid(axis="x", alpha=0.3)
        if col in ("helpers", "abstinent", "stress"):
            ax.set_xlim(-0.02, 1.02)
        else:
            ax.set_xlim(left=0)
    names = s["arm"].tolist()
    for ax in axes:  # lines between the groups: all off / each alone / all on / all but one
        for k, name in enumerate(names[:-1]):
            if (name == "all on") != (names[k + 1] == "all on") and "all but" not in names[k + 1] or \
                    (names[k + 1] == "all off"):
                ax.axhline(k + 0.5, color="#a0aec0", lw=0.8)
    axes[0].set_yticks(y, names)
    head = (f"Which mechanisms let mutual aid win? {res.scenario}, {len(res.seeds)} paired seeds per arm "
            "(95% intervals)")
    if tick_pt:  # the projector's: two lines, so that it fits at its size
        head = f"Which mechanisms let mutual aid win?\n{len(res.seeds)} paired seeds per arm, 95% intervals"
    fig.suptitle(head, fontsize=head_pt)
    return fig
