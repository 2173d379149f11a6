"""The dashboard's runs: building and stepping the models a page shows (one browser session's
:class:`Runner`, its :class:`Frame` and :class:`Pacer`), the two arms of a comparison, and the lesson's and
the trial's computations, cached per server; with the tables a visitor downloads."""

# Deferred imports (inside the functions that need them):
# - sim.core.metrics, sim.core.threads, sim.engines.kernel, sim.experiments.compare: numba (compare imports
#   the kernels' modules); the kernels compile (or load from the cache) when a page first runs one
#   (warm_kernel), not when the page's module loads.

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from sim.api import make_model
from sim.core.schema import Scenario
from sim.core.scenarios import ScenarioError, load_scenario
from sim.dashboards.plots import (
    CURVES_PX, HISTORY_FONT_PX, curves_png, fig_png, live_curves_png, member_history_png, per_100,
)
from sim.dashboards.support import (
    MAX_COMPARE_MEMBERS, MAX_PAGE_STEPS, MESA_MAX_MEMBERS, build_scenario, clamp_number, scenario_path,
)
from sim.dashboards.texts import latest_happening, lesson_finding, lesson_notes_html, trial_findings
from sim.draw import lattice_png, member_at, network_edges, network_png, network_positions
from sim.experiments import handout, lesson, trial


def page_engine(sc: Scenario, asked: str | None = None) -> str:
    """The numba kernel, unless the visitor asked for the Mesa agents (allowed up to MESA_MAX_MEMBERS)."""
    if asked == "agents" and sc.population.size <= MESA_MAX_MEMBERS:
        return "agents"
    return "kernel"


_day0_lock = threading.Lock()
_day0: "dict[str, Any]" = {}
#: burnt-in day-0 models kept per server (a class opening the same scenario and seed lives its burn-in once)
DAY0_CACHE = 16


def make_page_model(sc: Scenario, engine: str | None = None):
    """A model of ``sc`` at day 0. Kernel models are copied from a per-server cache of burnt-in day-0
    models (:meth:`sim.engines.kernel.KernelModel.copy`: the same state, so the same run; a three-year
    burn-in of a 1,000-member community costs about a second)."""
    engine = engine or page_engine(sc)
    if engine != "kernel":
        return make_model(sc, engine)
    key = sc.model_dump_json()
    with _day0_lock:
        cached = _day0.get(key)
        if cached is not None:
            _day0[key] = _day0.pop(key)  # most recently used last
    if cached is None:
        cached = make_model(sc, "kernel")
        with _day0_lock:
            _day0[key] = cached
            while len(_day0) > DAY0_CACHE:
                _day0.pop(next(iter(_day0)))
    return cached.copy()


# ----------------------------------------------------------------------------- Explore: a session's run


@dataclass
class Frame:
    """What the page shows of a run at one moment (immutable once made)."""

    day: int
    steps: int
    members: int
    engine: str
    picture: bytes
    view: str  # "lattice" or "network"
    latest: dict[str, float]
    curves: bytes | None = None
    happening: str = ""
    #: days per second delivered over the last few seconds of playing (None when not playing)
    rate: float | None = None
    #: the inspected member (see :func:`member_info`), or None
    member: dict | None = None
    #: frames per second shown over the same window as ``rate``
    frames: float | None = None


class Pacer:
    """How many days the next frame advances so that a playing page delivers the requested days per second.

    At ``fps`` frames of ``per_frame`` days, a frame that takes longer to draw than 1/fps seconds would
    slow the days down with it; the pacer lets such frames carry the days that are due (at most
    :attr:`MAX_CATCH_UP` times ``per_frame``, and never a backlog older than a second, so a slow
    machine plays slower instead of jumping).
    """

    MAX_CATCH_UP = 8

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.rate: float | None = None
        self.t0 = 0.0
        self.done = 0

    def due(self, days_per_s: float, per_frame: int) -> int:
        now = self.clock()
        if self.rate != days_per_s:  # started, or the speed changed: count afresh
            self.rate, self.t0, self.done = float(days_per_s), now, 0
        owed = (now - self.t0) * self.rate - self.done
        if owed > self.rate:  # more than a second behind: forget the backlog
            self.t0, self.done = now - 1.0, 0
            owed = self.rate
        return int(max(per_frame, min(math.floor(owed), self.MAX_CATCH_UP * per_frame)))

    def stepped(self, n: int) -> None:
        self.done += n


class Runner:
    """One browser session's model, stepped off the render thread.

    The page calls :meth:`step` / :meth:`frame` from its play thread and
    :meth:`reset` from a button; a lock keeps them from overlapping.
    """

    def __init__(self, sc: Scenario, engine: str | None = None):
        self.lock = threading.Lock()
        self.inspect: int | None = None
        self.curves_px, self.curves_font = CURVES_PX["normal"]
        self.history_font = HISTORY_FONT_PX["normal"]
        self.reset(sc, engine)

    def set_view(self, mode: str) -> None:
        """Draw the live curves for the page's mode ("normal" or "present"), at the size it shows them."""
        size, font = CURVES_PX[mode]
        self.history_font = HISTORY_FONT_PX[mode]
        if (size, font) != (self.curves_px, self.curves_font):
            self.curves_px, self.curves_font = size, font
            self._curves = None

    def reset(self, sc: Scenario, engine: str | None = None):
        with self.lock:
            self.scenario = sc
            self.engine = page_engine(sc, engine)
            self.model = make_page_model(sc, self.engine)
            self.lattice = sc.network.kind == "lattice"
            self.pos = None if self.lattice else network_positions(self.model.graph, sc.seed)
            self._curves_at = -1.0
            self._curves: bytes | None = None
            self._history: dict | None = None
            self._ticks: list[tuple[float, int]] = []
            self._cols: dict[str, list] = {}
            self._edges = None
            self._append_row()
            if self.inspect is not None and self.inspect >= sc.population.size:
                self.inspect = None

    @property
    def day(self) -> int:
        return int(self.model.steps)

    @property
    def done(self) -> bool:
        return self.day >= self.scenario.steps

    def step(self, n: int = 1) -> None:
        if self.engine == "kernel":
            few_threads(self.scenario.population.size)
        with self.lock:
            for _ in range(n):
                if self.day >= self.scenario.steps:
                    break
                self.model.step()
                self._append_row()
                if self._history is not None:
                    self._record(self.model.state_arrays())

    def _append_row(self) -> None:
        """Today's metrics row into the runner's own columns (the page reads these every frame; a pandas
        table of the whole run each frame cost more than the day itself)."""
        rows = getattr(self.model, "rows", None)
        row = rows[-1] if rows else getattr(self.model, "_row", None)
        if not row:  # the Mesa model before its first collection
            from sim.core import metrics as _m

            row = _m.day_row(self.model.community)
        for k, v in row.items():
            self._cols.setdefault(k, []).append(v)

    def columns(self) -> dict[str, np.ndarray]:
        """The run's metrics so far as arrays by column (day 0 first)."""
        with self.lock:
            return {k: np.asarray(v) for k, v in self._cols.items()}

    def metrics(self) -> pd.DataFrame:
        with self.lock:
            return self.model.metrics_frame()

    # --------------------------------------------------------------- the delivered rate
    def tick(self, playing: bool) -> tuple[float | None, float | None]:
        """Note that a frame was shown; (days per second, frames per second) over the last 3 s of playing."""
        now = time.perf_counter()
        if not playing:
            self._ticks = []
            return None, None
        self._ticks.append((now, self.day))
        self._ticks = [t for t in self._ticks if now - t[0] <= 3.0]
        if len(self._ticks) < 2 or self._ticks[-1][0] - self._ticks[0][0] < 0.5:
            return None, None
        (t0, d0), (t1, d1) = self._ticks[0], self._ticks[-1]
        return (d1 - d0) / (t1 - t0), (len(self._ticks) - 1) / (t1 - t0)

    # --------------------------------------------------------------- inspecting a member
    def choose_member(self, slot: int | None) -> None:
        """Inspect ``slot`` (its history is rebuilt by replaying the run from day 0: the run is
        deterministic), or stop inspecting (None)."""
        with self.lock:
            if slot is None or not 0 <= slot < self.scenario.population.size:
                self.inspect, self._history = None, None
                return
            self.inspect = int(slot)
            replay = make_page_model(self.scenario, "kernel")
            self._history = {"day": [], "stress": [], "craving": [], "using": [], "member_id": []}
            self._record(replay.state_arrays(), day=0)
            for d in range(1, self.day + 1):
                replay.step()
                self._record(replay.state_arrays(), day=d)

    def _record(self, st, day: int | None = None) -> None:
        h, i = self._history, self.inspect
        h["day"].append(self.day if day is None else day)
        for k in ("stress", "craving", "using", "member_id"):
            h[k].append(float(st[k][i]) if k != "member_id" else int(st[k][i]))

    def member(self) -> dict | None:
        with self.lock:
            if self.inspect is None:
                return None
            return member_info(self.model.state_arrays(), self.model.tie_arrays(), self.inspect,
                               self._history, self.scenario, self.history_font)

    def neighbours(self) -> np.ndarray:
        if self.inspect is None:
            return np.zeros(0, dtype=int)
        ptr, nbr, _ = self.model.tie_arrays()
        return np.asarray(nbr[ptr[self.inspect]:ptr[self.inspect + 1]])

    def member_at(self, x: float, y: float, shown_px: float) -> int | None:
        if self.lattice:
            g = self.model.graph
            return member_at(x, y, shown_px=shown_px, lattice=(g.width, g.height))
        return member_at(x, y, shown_px=shown_px, pos=self.pos)

    # --------------------------------------------------------------- pictures
    #: while playing, the network's ties layer is redrawn at most this often (seconds); members every frame
    EDGES_EVERY = 1.0

    def picture(self, size_px: int | None = None, playing: bool = False) -> bytes:
        with self.lock:
            st = self.model.state_arrays()
            mark = self.inspect
            if self.lattice:
                g = self.model.graph
                return lattice_png(st, g.width, g.height, target=size_px or 480, highlight=mark,
                                   neighbours=self.neighbours())
            if size_px:  # an export: everything drawn afresh at its size
                return network_png(st, self.model.tie_arrays(), self.pos, size_px=size_px, highlight=mark)
            now = time.perf_counter()
            cached = getattr(self, "_edges", None)
            if (cached is None or not playing or cached[1] != mark or cached[2] != self.day and
                    now - cached[0] >= self.EDGES_EVERY):
                cached = (now, mark, self.day, network_edges(self.model.tie_arrays(), self.pos, 520, mark))
                self._edges = cached
            return network_png(st, None, self.pos, highlight=mark, edges=cached[3])

    def curves(self, hi_res: bool = False, title: str = "") -> bytes:
        return curves_png(self.metrics(), self.scenario, title=title, hi_res=hi_res)

    def frame(self, curves_every: float = 0.0, playing: bool = False) -> Frame:
        """The current frame; the curves are redrawn at most every ``curves_every`` seconds."""
        pic = self.picture(playing=playing)
        cols = self.columns()
        now = time.perf_counter()
        if self._curves is None or now - self._curves_at >= curves_every or self.done:
            self._curves = live_curves_png(cols, self.scenario, self.curves_px, self.curves_font)
            self._curves_at = now
            self._happening = latest_happening(cols, self.scenario)
        latest = {c: float(cols[c][-1]) for c in ("helpers", "mean_stress", "mean_craving", "using")}
        latest["relapses_total"] = float(cols["relapses"][1:].sum())
        latest["relapses_per_100"] = float(per_100(cols, "relapses", self.scenario.population.size)[-1])
        rate, frames = self.tick(playing)
        return Frame(day=self.day, steps=self.scenario.steps, members=self.scenario.population.size,
                     engine=self.engine, picture=pic, view="lattice" if self.lattice else "network",
                     latest=latest, curves=self._curves, happening=self._happening,
                     rate=rate, frames=frames, member=self.member())


def member_info(st: Mapping[str, np.ndarray], ties, slot: int, history: dict | None, sc: Scenario,
                font_px: int = HISTORY_FONT_PX["normal"]) -> dict:
    """What the page shows of one member: state, recovery, sponsor, ties and a small history plot (its
    text ``font_px`` tall as shown)."""
    ptr, nbr, w = ties
    lo, hi = int(ptr[slot]), int(ptr[slot + 1])
    partners = sorted(zip(np.asarray(w)[lo:hi].tolist(), np.asarray(nbr)[lo:hi].tolist()), reverse=True)
    using = bool(st["using"][slot])
    if using:
        state = f"using (day {int(st['use_days'][slot])} of this lapse)"
    else:
        state = f"abstinent for {int(st['sober_days'][slot])} days"
    sponsor = int(st["sponsor"][slot])
    info = {
        "slot": int(slot), "member_id": int(st["member_id"][slot]),
        "strategy": "helps" if int(st["strategy"][slot]) == 1 else "competes",
        "stress": float(st["stress"][slot]), "craving": float(st["craving"][slot]), "state": state,
        "capital": float(st["capital"][slot]) if sc.recovery.enabled else None,
        "sponsor": sponsor if sponsor >= 0 else None, "sponsees": int(st["sponsees"][slot]),
        "missed": int(st["missed"][slot]),
        "ties": len(partners), "strongest": [(int(j), float(x)) for x, j in partners[:6]],
        "history_png": member_history_png(history, font_px) if history and len(history["day"]) else None,
    }
    return info


# ----------------------------------------------------------------------------- the Kropotkin lesson

#: seeds per arm the Lesson view offers (the command's default is 20)
LESSON_SEEDS = (5, 10, 20)
_lesson_lock = threading.Lock()
_lesson_cache: dict[int, dict] = {}


def lesson_result(seeds: int, progress=None) -> dict:
    """The Kropotkin lesson (``sim.experiments.lesson``) with ``seeds`` paired seeds per arm, as the page
    shows it: figure (PNG), Markdown table and notes, runs (CSV).

    Deterministic, so it is computed once per server and number of seeds: one computation at a time
    (a second visitor waits for the first and gets the same result), on up to 2 worker processes.
    """
    if seeds not in LESSON_SEEDS:
        raise ScenarioError(f"lesson: seeds = {seeds!r}: the page offers {', '.join(map(str, LESSON_SEEDS))}")
    with _lesson_lock:
        if seeds not in _lesson_cache:
            res = lesson.run_lesson("kropotkin", seeds=seeds, progress=progress)
            _lesson_cache[seeds] = {"png": fig_png(lesson.plot(res, projector=True), dpi=100),
                                    "png_full": fig_png(lesson.plot(res), dpi=90), "table": lesson.table(res),
                                    "notes": lesson.notes(res), "notes_html": lesson_notes_html(res),
                                    "finding": lesson_finding(res.summary),
                                    "csv": metrics_csv(res.runs),
                                    "summary": res.summary}
        return _lesson_cache[seeds]


def lesson_cached(seeds: int) -> dict | None:
    return _lesson_cache.get(seeds)


def metrics_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


# ----------------------------------------------------------------------------- Compare: the two arms, the trial


def compare_pair(name: str, a: Mapping[str, Any], b: Mapping[str, Any], *, seed: Any, steps: int,
                 members: int | None = None, fixed_a: Mapping[str, Any] | None = None,
                 fixed_b: Mapping[str, Any] | None = None) -> tuple[Scenario, Scenario]:
    """The two scenarios of a comparison, same seed, page limits applied to ``a`` and ``b`` (a visitor's
    settings); ``fixed_a``/``fixed_b`` are a preset's own values (the lesson's "off" for dropping out in
    crisis is 100000 days), checked by the schema only."""
    common: dict[str, Any] = {"steps": int(clamp_number(steps, 10, MAX_PAGE_STEPS, True))}
    base = load_scenario(scenario_path(name))
    if members is not None and base.network.kind != "lattice":
        common["population.size"] = int(clamp_number(members, 20, MAX_COMPARE_MEMBERS, True))
    sc_a = build_scenario(name, {**common, **dict(a)}, seed=seed)
    sc_b = build_scenario(name, {**common, **dict(b)}, seed=seed)
    if fixed_a:
        sc_a = load_scenario(sc_a, dict(fixed_a))
    if fixed_b:
        sc_b = load_scenario(sc_b, dict(fixed_b))
    for sc in (sc_a, sc_b):
        if sc.population.size > MAX_COMPARE_MEMBERS:
            raise ScenarioError(f"{sc.population.size} members: Compare allows at most {MAX_COMPARE_MEMBERS}")
    return sc_a, sc_b


def few_threads(members: int) -> None:
    """Run small communities' kernels on one numba thread (in the calling thread only).

    A page's communities are small, several sessions share the server and
    numba's parallel loops at a few hundred members cost more in thread
    wake-ups than they save (100x slower on a loaded 2-core machine).
    Results do not depend on the thread count (tests/test_engines.py).
    """
    from sim.core import threads

    # for this session's thread only; larger communities follow the kernel's own rule (sim/core/threads.py)
    threads.choose(1 if members < 50_000 else None, this_thread=True)
    threads.use_for(members)


def run_metrics(sc: Scenario, seed: int | None = None) -> pd.DataFrame:
    """One run's metrics on the numba kernel (bit-identical to the Mesa engine, faster)."""
    from sim.engines.kernel import KernelModel

    few_threads(sc.population.size)
    if seed is not None:
        sc = sc.model_copy(update={"seed": int(seed)})
    m = KernelModel(sc)
    for _ in range(sc.steps):
        m.step()
    return m.metrics_frame()


def replicates_csv(frames_a, frames_b, seeds, label_a: str, label_b: str) -> bytes:
    """Every replicate of both arms (long: arm, replicate, seed, metrics), then per-replicate totals with
    their differences and a 95% t-interval, as one CSV with a ``table`` column."""
    from sim.experiments.compare import paired_difference

    parts = []
    for arm, label, frames in (("A", label_a, frames_a), ("B", label_b, frames_b)):
        for r, (f, s) in enumerate(zip(frames, seeds)):
            parts.append(f.assign(table="daily", arm=arm, arm_label=label, replicate=r, seed=s))
    rows = []
    for col in ("relapses", "lapses", "checkins", "dropouts"):
        a = [float(f[col].iloc[1:].sum()) for f in frames_a]
        b = [float(f[col].iloc[1:].sum()) for f in frames_b]
        d, lo, hi, n = paired_difference(a, b)
        for r, (x, y, s) in enumerate(zip(a, b, seeds)):
            rows.append({"table": "replicate totals", "metric": col, "replicate": r, "seed": s, "A": x, "B": y,
                         "B - A": y - x})
        rows.append({"table": "difference", "metric": col, "replicate": None, "seed": None, "A": float(np.mean(a)),
                     "B": float(np.mean(b)), "B - A": d, "ci_low": lo, "ci_high": hi, "n": n})
    return metrics_csv(pd.concat([pd.concat(parts, ignore_index=True), pd.DataFrame(rows)], ignore_index=True))


#: paired seeds the Compare view's trial offers
TRIAL_SEEDS = (4, 8, 12)
_trial_lock = threading.Lock()
_trial_cache: dict[tuple, dict] = {}


def trial_result(scenario: str, intervention: str, seeds: int, progress=None) -> dict:
    """The virtual trial (``sim.experiments.trial``) as the page shows it, computed once per server and
    settings (one at a time): headline, curves (PNG), effects and published tables (Markdown), handout
    (HTML), every member-run (CSV)."""
    if seeds not in TRIAL_SEEDS:
        raise ScenarioError(f"trial: seeds = {seeds!r}: the page offers {', '.join(map(str, TRIAL_SEEDS))}")
    scenario_path(scenario)  # only shipped scenarios
    key = (scenario, intervention, seeds)
    with _trial_lock:
        if key not in _trial_cache:
            res = trial.run_trial(scenario, intervention, seeds=seeds, progress=progress)
            png = fig_png(trial.plot_curves(res), dpi=80)
            _trial_cache[key] = {"headline": res.headline, "findings": trial_findings(res), "png": png,
                                 "effects": trial.effects_table(res),
                                 "published": trial.published_table(res),
                                 "handout": _handout_html(res).encode("utf-8"),
                                 # the PDF is drawn when the button asks for it
                                 "handout_pdf": lambda res=res: _handout_pdf(res),
                                 "csv": metrics_csv(res.members)}
        return _trial_cache[key]


def _handout_html(res) -> str:
    return handout.handout_html(res)


def _handout_pdf(res) -> bytes:
    return handout.pdf_bytes(res)


def arm_summary(df: pd.DataFrame) -> dict[str, float]:
    """The numbers printed under each arm."""
    return {
        "total_relapses": float(df["relapses"].sum()),
        "mean_using": float(df["using"].iloc[1:].mean()) if len(df) > 1 else float(df["using"].iloc[0]),
        "final_using": float(df["using"].iloc[-1]),
        "mean_stress": float(df["mean_stress"].iloc[1:].mean()) if len(df) > 1 else float(df["mean_stress"].iloc[0]),
        "final_abstinent": float(df["abstinent"].iloc[-1]),
        "day0_stress": float(df["mean_stress"].iloc[0]),
    }


def warm_kernel() -> None:
    """Compile (or load from cache) the numba kernels on a tiny community, so a page never waits on it."""
    try:
        sc = load_scenario("baseline", {"population.size": 40, "steps": 2})
        run_metrics(sc)
    except Exception:  # pragma: no cover - warming is best effort
        pass
