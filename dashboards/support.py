"""Non-UI helpers of the dashboard (``dashboards/app.py``), importable by tests.

Everything here is plain Python: the controls generated from the scenario
schema, the guard that keeps the page inside ``scenarios/``, building a model
for a browser session, drawing the population and the curves as PNG bytes,
the paired comparison behind the Compare view and the tables behind the
Results view. The Solara components only wire these together.

Controls follow Mesa's ``SolaraViz`` ``model_params`` convention: flat keys
(``checkins_enabled``, the form :class:`sim.engines.agents.MutualAidModel` accepts as
keyword arguments) mapping to ``{"type", "value", "min", "max", "step",
"label"}``. Ranges come from the schema's ``ge``/``le`` bounds; where a range
is too wide to be a useful slider (payoffs in [-100, 100], a population of ten
million) the page narrows it with :data:`PAGE_LIMITS`, never widening it.
"""

from __future__ import annotations

import io
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from sim.core import registry
from sim.core.schema import Scenario
from sim.core.scenarios import (  # noqa: F401  (flat_key, dotted_key, value_of: used by the page)
    SCENARIO_DIR,
    ScenarioError,
    dotted_key,
    field_of,
    flat_key,
    load_scenario,
    scenario_names,
    value_of,
)

# ----------------------------------------------------------------------------- limits

#: largest population a page may build (a 200 x 200 lattice)
MAX_PAGE_POPULATION = 40_000
#: largest population of a non-lattice network in the Explore view (it is drawn node by node)
MAX_NETWORK_MEMBERS = 1_000
#: largest number of days a page may run
MAX_PAGE_STEPS = 3_000
#: the Explore view runs the numba kernel (the same numbers, faster at every size, benchmarks/RESULTS.md);
#: the Mesa agents engine only when a visitor asks for it ("Engine" control), up to this many members
MESA_MAX_MEMBERS = 1_000
#: engines a visitor may choose in the Explore view
PAGE_ENGINES = ("kernel", "agents")
#: highest frame rate of the play loop
MAX_FPS = 30
#: replicates the Compare view may ask for (default 12, as ``mutualaid compare``: enough for a meaningful
#: interval, benchmarks/RESULTS.md)
MAX_REPLICATES = 20
DEFAULT_REPLICATES = 12
#: largest population of a Compare run
MAX_COMPARE_MEMBERS = 5_000

# Labels, groups and slider ranges are declared with each key in sim/core/schema.py (``label=``,
# ``control=``, ``page=``, ``page_for=``) and read here from the registry.
#: narrower slider ranges than the schema allows (min, max); values stay inside the schema's bounds too
PAGE_LIMITS: dict[str, tuple[float, float]] = registry.page_limits()
#: narrower ranges still for one scenario's sliders: the values its texts name, each a click apart
#: (Nowak and May's thresholds 7/4, 9/5 and 2 need a grid of 0.01 between 1 and 2.2)
SCENARIO_LIMITS: dict[str, dict[str, tuple[float, float]]] = registry.scenario_limits()

#: a slider has at most this many steps, so that each is at least a pixel apart on the narrowest track the
#: page draws (tests/test_dashboard_projector.py: 120 px) and a value a card names can be clicked
MAX_POSITIONS = 100

#: the controls of the Explore view, in order: (section title, dotted keys)
CONTROL_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = registry.control_groups()

#: the toggles the Compare view offers per arm
TOGGLES = ("sponsorship.enabled", "checkins.enabled", "isolation.enabled", "evolution.enabled",
           "turnover.enabled")

#: dotted key -> the label the page shows
LABELS: dict[str, str] = registry.labels()


def _bounds(field_info) -> tuple[float | None, float | None, bool, bool]:
    lo = hi = None
    lo_open = hi_open = False
    for m in field_info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    return lo, hi, lo_open, hi_open


def control_spec(dotted: str, value: Any = None, scenario: str | None = None) -> dict[str, Any]:
    """One control in SolaraViz's ``model_params`` form, from the schema (``scenario``: its own narrower
    range in :data:`SCENARIO_LIMITS`, if any)."""
    f = field_of(dotted)
    ann = f.annotation
    label = LABELS.get(dotted, dotted)
    desc = f.description or ""
    default = f.default if value is None else value
    if ann is bool:
        return {"type": "Checkbox", "value": bool(default), "label": label, "description": desc}
    choices = getattr(ann, "__args__", None)
    if choices and all(isinstance(c, str) for c in choices):
        return {"type": "Select", "value": default, "values": list(choices), "label": label,
                "description": desc}
    lo, hi, lo_open, hi_open = _bounds(f)
    is_int = ann is int or (getattr(ann, "__args__", None) and int in ann.__args__ and float not in ann.__args__)
    limits = SCENARIO_LIMITS.get(scenario or "", {}).get(dotted) or PAGE_LIMITS.get(dotted)
    if limits:
        plo, phi = limits
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            # a shipped scenario's own value is always on its slider (death-birth ships R=5, T=6)
            plo, phi = min(plo, value), max(phi, value)
        lo_open = lo_open and (lo is None or plo <= lo)  # an open bound matters only where the page reaches it
        hi_open = hi_open and (hi is None or phi >= hi)
        lo = plo if lo is None else max(lo, plo)
        hi = phi if hi is None else min(hi, phi)
    if is_int:
        lo = int(math.ceil(lo + (1 if lo_open else 0)))
        hi = int(math.floor(hi - (1 if hi_open else 0)))
        step = 1
    else:
        step = grid_step(lo, hi, default)
        if lo_open:
            lo = lo + step
        if hi_open:
            hi = hi - step
    v = clamp_number(default if default is not None else lo, lo, hi, is_int)
    return {"type": "SliderInt" if is_int else "SliderFloat", "value": v, "min": lo, "max": hi, "step": step,
            "label": label, "description": desc}


def grid_step(lo: float, hi: float, value: Any = None) -> float:
    """A float slider's step: the finest of 1, 2, 5 x 10^k giving at most :data:`MAX_POSITIONS` steps from
    ``lo`` to ``hi``, made finer only when the scenario's own ``value`` would not lie on that grid (fermi's
    T = 1.02)."""
    span = hi - lo
    if not span > 0:
        return 0.01
    base = 10 ** math.floor(math.log10(span / MAX_POSITIONS))
    ladder = [base, 2 * base, 5 * base, 10 * base]
    coarse = next(c for c in ladder if span / c <= MAX_POSITIONS + 1e-9)

    def on_grid(c: float) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return True
        x = (value - lo) / c
        return abs(x - round(x)) < 1e-6

    for c in reversed(ladder[: ladder.index(coarse) + 1]):
        if on_grid(c):
            return float(f"{c:.10g}")
    return float(f"{base:.10g}")


def clamp_number(value, lo, hi, is_int: bool):
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float(lo)
    if not math.isfinite(x):
        x = float(lo)
    x = min(max(x, lo), hi)
    return int(round(x)) if is_int else float(x)


def clamp(dotted: str, value: Any, shipped: Any = None) -> Any:
    """A value for ``dotted`` that the page may set: inside the schema's and the page's bounds (the page's
    widened to include ``shipped``, the scenario's own value)."""
    spec = control_spec(dotted, shipped)
    t = spec["type"]
    if t == "Checkbox":
        return bool(value)
    if t == "Select":
        return value if value in spec["values"] else spec["value"]
    return clamp_number(value, spec["min"], spec["max"], t == "SliderInt")


def clamp_seed(value: Any) -> int:
    """The seed stays an integer within the schema's range (a string seed is another random stream)."""
    lo, hi, _, _ = _bounds(Scenario.model_fields["seed"])
    try:
        x = int(value)
    except (TypeError, ValueError, OverflowError):
        return int(lo)
    return int(min(max(x, lo), hi))


def model_params(sc: Scenario) -> dict[str, dict[str, Any]]:
    """SolaraViz-style ``model_params`` for the Explore controls, valued from the scenario.

    Lattices get width/height and no population slider; other networks get
    a population slider and no width/height.
    """
    lattice = sc.network.kind == "lattice"
    out: dict[str, dict[str, Any]] = {}
    for _, keys in CONTROL_GROUPS:
        for k in keys:
            if lattice and k in ("population.size", "network.degree"):
                continue
            if not lattice and k in ("network.width", "network.height"):
                continue
            if not sc.psychology.enabled and k.split(".")[0] in ("checkins", "sponsorship", "isolation",
                                                                 "psychology"):
                continue  # a classic game: these have no effect
            if k == "network.degree" and sc.network.kind not in ("ring", "watts_strogatz", "erdos_renyi", "sbm",
                                                                  "barabasi_albert"):
                continue
            out[flat_key(k)] = control_spec(k, value_of(sc, k), sc.name)
    return out


# ----------------------------------------------------------------------------- scenarios


def scenario_path(name: str) -> Path:
    """The file of a shipped scenario, or :class:`ScenarioError`.

    Only names listed by :func:`sim.core.scenarios.scenario_names` are accepted, so
    no text from the page (``../x``, ``/etc/passwd``, ``a.yaml``) reaches
    the file system outside ``scenarios/``.
    """
    if not isinstance(name, str) or name not in scenario_names():
        raise ScenarioError(f"{name!r} is not a scenario in scenarios/")
    path = (SCENARIO_DIR / f"{name}.yaml").resolve()
    if path.parent != SCENARIO_DIR.resolve():
        raise ScenarioError(f"{name!r} is not a scenario in scenarios/")
    return path


def scenario_description(name: str) -> str:
    from sim.core.scenarios import read_scenario_file

    return str(read_scenario_file(scenario_path(name)).get("description") or "").strip()


def build_scenario(name: str, params: Mapping[str, Any] | None = None, seed: Any = None) -> Scenario:
    """A shipped scenario with page overrides (flat or dotted keys), every value clamped.

    Raises :class:`ScenarioError` for a name not in ``scenarios/`` or a
    combination the schema rejects (e.g. ``degree >= size``).
    """
    base = load_scenario(scenario_path(name))
    over: dict[str, Any] = {}
    for k, v in (params or {}).items():
        d = dotted_key(k)
        if d == "seed":
            continue
        try:
            shipped = value_of(base, d)
        except Exception:  # a key the scenario does not have: the schema's own checks refuse it below
            shipped = None
        over[d] = clamp(d, v, shipped)
    lattice = over.get("network.kind", base.network.kind) == "lattice"
    if lattice:
        over.pop("population.size", None)
    if seed is not None:
        over["seed"] = clamp_seed(seed)
    if base.network.kind == "edgelist":
        raise ScenarioError("edge-list scenarios are not offered in the dashboard")
    sc = load_scenario(base, over) if over else base
    if sc.population.size > MAX_PAGE_POPULATION:
        raise ScenarioError(f"{sc.population.size} members: the page allows at most {MAX_PAGE_POPULATION}")
    if not lattice and sc.population.size > MAX_NETWORK_MEMBERS:
        sc = load_scenario(sc, {"population.size": MAX_NETWORK_MEMBERS})
    if sc.steps > MAX_PAGE_STEPS:
        sc = load_scenario(sc, {"steps": MAX_PAGE_STEPS})
    return sc


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
    from sim.api import make_model

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


# ----------------------------------------------------------------------------- drawing

from sim.draw import (  # noqa: F401  (the page's pictures; also the frames of `mutualaid run --movie`)
    COMPETE_RGB, HELP_RGB, USING_RGB, lattice_png, member_at, member_colors, network_png,
    network_positions, png_bytes,
)


def fig_png(fig, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _figure(w: float, h: float, constrained: bool = True):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), layout="constrained" if constrained else None)


#: the live curves (CONTRACT.md metrics): (column, label, colour, needs psychology)
SHARE_CURVES = (("helpers", "helpers", "tab:blue", False), ("mean_stress", "mean stress", "tab:purple", True),
                ("mean_craving", "mean craving", "tab:brown", True), ("using", "using", "crimson", True))
#: hi-resolution exports (``hi_res=True``): at least this many pixels across, for slides
HI_RES_PX = 1600


def closure_window(sc: Scenario) -> tuple[int, int] | None:
    """Days [start, end) on which meetings are closed (ODD 7.1), None if none close in this run."""
    iso = sc.isolation
    if not (sc.psychology.enabled and iso.enabled and iso.share > 0 and iso.duration > 0):
        return None
    if iso.start > sc.steps:
        return None
    return int(iso.start), int(min(iso.start + iso.duration, sc.steps + 1))


def revision_days(sc: Scenario, upto: int | None = None) -> np.ndarray:
    """Days on which strategies are revised (ODD 7.10: ``day > 0 and day % evolution.interval == 0``)."""
    if not sc.evolution.enabled:
        return np.zeros(0, dtype=int)
    end = sc.steps if upto is None else upto
    return np.arange(sc.evolution.interval, end + 1, sc.evolution.interval)


def revision_note(sc: Scenario) -> str:
    """One sentence under the curves on what their revision-day ticks mean, from the scenario's own
    interval: why the share of helpers moves in steps (empty when strategies never change)."""
    if not sc.evolution.enabled:
        return ""
    n = int(sc.evolution.interval)
    if n <= 1:
        return ("Every day is a revision day: members compare how they fare with their neighbours and may "
                "switch between helping and competing, so the share of helpers can move every day.")
    return (f"The ticks on the day axis are revision days, every {n} days: only on those days do members "
            f"compare how they fare with their neighbours and switch between helping and competing, so the "
            f"share of helpers jumps on a tick and stays level for the {n - 1} days between.")


def caption(name: str, changed: Mapping[str, Any]) -> str:
    """What is on the screen, named as the page names it: the scenario and every setting changed from it
    (a walk-through step's variant), in the sliders' words ("kropotkin, with Partner choice: ties to
    competitors wear away = 0")."""
    if not changed:
        return name
    parts = [f"{LABELS.get(k, k)} = {format_value(v)}" for k, v in changed.items()]
    return f"{name}, with " + "; ".join(parts)


def _col(df, col: str) -> np.ndarray:
    """A column of a metrics table or of a mapping of arrays, as floats."""
    v = df[col]
    return v.to_numpy(float) if hasattr(v, "to_numpy") else np.asarray(v, dtype=float)


def per_100(df, col: str, members: int) -> np.ndarray:
    """Running total of a daily count per 100 members (day 0 counts nothing: it is the initial state)."""
    x = _col(df, col).copy()
    if x.size:
        x[0] = 0.0
    return np.cumsum(x) * 100.0 / max(members, 1)


@dataclass
class Curve:
    panel: int  # 0: shares (0..1), 1: running totals per 100 members
    label: str
    color: str
    y: np.ndarray
    dashed: bool = False


def curve_series(df, sc: Scenario) -> tuple[np.ndarray, list[Curve]]:
    """What the curves show (the one definition both the live PNG and the export draw): helpers, and
    stress, craving and using only when psychology is on; relapses (psychology) and dropouts (turnover,
    each replaced by a newcomer) as running totals per 100 members."""
    x = _col(df, "step")
    psych = sc.psychology.enabled
    out = [Curve(0, label, color, _col(df, col)) for col, label, color, needs in SHARE_CURVES if psych or not needs]
    if psych:
        out.append(Curve(1, "relapses so far", "crimson", per_100(df, "relapses", sc.population.size)))
    if sc.turnover.enabled:
        out.append(Curve(1, "dropouts so far (each replaced by a newcomer)", "0.3",
                         per_100(df, "dropouts", sc.population.size), dashed=True))
    return x, out


def curves_png(df, sc: Scenario, title: str = "", hi_res: bool = False) -> bytes:
    """:func:`curves_figure` as PNG bytes (72 dpi; at least HI_RES_PX across with ``hi_res``)."""
    fig = curves_figure(df, sc, title, hi_res)
    return fig_png(fig, dpi=int(math.ceil(HI_RES_PX / fig.get_figwidth())) if hi_res else 72)


def curves_figure(df, sc: Scenario, title: str = "", hi_res: bool = False):
    """The curves with matplotlib (exports): shares above, running totals per 100 members below; closed
    meetings shaded, revision days ticked; drawn from day 0 (a single day shows as dots)."""
    w, h = (10.0, 6.25) if hi_res else (6.0, 4.0)
    fig = _figure(w, h, constrained=False)  # a fixed layout: constrained layout would double the cost
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95 if not title else 0.9, bottom=0.12, hspace=0.12)
    x, curves = curve_series(df, sc)
    if any(c.panel == 1 for c in curves):
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    else:  # nothing counted per 100 members (psychology and turnover off): no empty panel
        ax1 = fig.subplots(1, 1)
        ax2 = None
    style = {"lw": 1.6, "marker": "o" if x.size <= 2 else None, "ms": 4}
    for c in curves:
        (ax1, ax2)[c.panel].plot(x, c.y, label=c.label, color=c.color, ls="--" if c.dashed else "-", **style)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("share / level")
    win = closure_window(sc)
    for ax in (ax1,) if ax2 is None else (ax1, ax2):
        if win:
            ax.axvspan(win[0], win[1], color="0.6", alpha=0.18, lw=0,
                       label="meetings closed" if ax is ax1 else None)
        ax.grid(alpha=0.3)
    rev = revision_days(sc, int(x.max()) if x.size else 0)
    if rev.size and rev.size <= 120:
        ax1.plot(rev, np.full(rev.size, -0.005), "|", color="0.35", ms=6,
                 label=f"revision day (every {sc.evolution.interval})")
    ax1.legend(loc="upper right", fontsize="small", ncol=2)
    if title:
        ax1.set_title(title, fontsize="medium")
    if ax2 is not None:
        ax2.legend(loc="upper left", fontsize="small")
        ax2.set_ylabel("per 100 members")
        ax2.set_ylim(bottom=0)
    (ax1 if ax2 is None else ax2).set_xlabel("day")
    ax1.set_xlim(0, max(sc.steps, int(x.max()) if x.size else 1))
    return fig


def _rgb(color: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(int(round(255 * v)) for v in to_rgb(color))


def _nice_ticks(hi: float, n: int = 4) -> np.ndarray:
    if hi <= 0:
        return np.array([0.0])
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(0, hi + step * 0.01, step)


def _tick_label(t: float) -> str:
    """An axis tick as a person reads it: 0.2, 40, 12,500 (never 1e+06)."""
    return f"{t:,.0f}" if abs(t) >= 1000 else f"{t:g}"


#: the shade of closed meetings on the live curves (slightly blue, so no grey of text or grid matches it)
CLOSED_RGB = (226, 226, 240)


def _legend_rows(d, font, head: str, items, width: float, font_px: int = 12) -> list[list]:
    """Legend items wrapped into rows no wider than ``width`` (the first row starts with ``head``)."""
    rows, row, used = [], [], d.textlength(head, font=font) + 8
    split = []
    for lab, col in items:  # a label longer than a row goes on in words without a swatch (colour None)
        words, piece = lab.split(" "), ""
        for w in words:
            cand = f"{piece} {w}".strip()
            if piece and d.textlength(cand, font=font) + 2 * font_px > width:
                split.append((piece, col))
                piece, col = w, None
            else:
                piece = cand
        split.append((piece, col))
    for lab, col in split:
        wdt = d.textlength(lab, font=font) + 2 * font_px
        if row and used + wdt > width:
            rows.append(row)
            row, used = [], 0
        row.append((lab, col, wdt))
        used += wdt
    rows.append(row)
    return rows


#: the live curves' size in pixels and their text's height (font size, pixels) by page mode: the page shows
#: them at exactly this size (CSS pixels), so text on a projector is as tall as drawn
CURVES_PX: dict[str, tuple[tuple[int, int], int]] = {"normal": ((600, 400), 13), "present": ((520, 420), 20)}


def live_curves_png(df, sc: Scenario, size: tuple[int, int] = (600, 400), font_px: int = 12) -> bytes:
    """The curves of :func:`curve_series` drawn with PIL while a run plays: a few milliseconds a frame
    where matplotlib takes a quarter of a second, so the page keeps its frame rate. Same content as the
    export: shares above, running totals per 100 members below, closures shaded, revision days ticked,
    legends above each panel, axes with ticks; day 0 alone shows as dots."""
    from PIL import Image, ImageDraw, ImageFont

    W, H = size
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=font_px)
    except TypeError:  # pragma: no cover - Pillow < 10.1
        font = ImageFont.load_default()
    x, curves = curve_series(df, sc)
    win = closure_window(sc)
    rev = revision_days(sc, int(x.max()) if x.size else 0)
    ticks_rev = bool(rev.size and rev.size <= 120)
    lower = [c for c in curves if c.panel == 1]
    items0 = [(c.label, _rgb(c.color)) for c in curves if c.panel == 0]
    if win:
        items0.append(("meetings closed", CLOSED_RGB))
    if ticks_rev:
        items0.append((f"revision day (every {sc.evolution.interval})", (90, 90, 90)))
    items1 = [(c.label, _rgb(c.color)) for c in lower]
    ymax1 = max([float(c.y.max()) for c in lower if c.y.size] + [0.05]) * 1.05
    # the left margin fits the widest tick label (running totals per 100 members reach five digits and more)
    labels1 = [_tick_label(t) for t in _nice_ticks(ymax1 / 1.05)]
    labels0 = ["0.8"]
    left = max(int(3.6 * font_px), int(max(d.textlength(s, font=font) for s in labels1 + labels0)) + 12)
    right = W - 12
    heads = ("share / level:", "per 100 members:")
    legends = [_legend_rows(d, font, h, it, right - left - 8, font_px) if it else []
               for h, it in zip(heads, (items0, items1))]
    row_h = font_px + 4
    top0 = 4 + row_h * len(legends[0])
    bottom = H - (2 * font_px + 10)
    if lower:
        room = bottom - top0 - row_h * len(legends[1]) - 8
        h1 = int(room * 2 / 3)
        top1 = top0 + h1 + 8 + row_h * len(legends[1])
        boxes = [(left, top0, right, top0 + h1), (left, top1, right, bottom)]
    else:  # nothing counted per 100 members (psychology and turnover off): the shares take the whole height
        boxes = [(left, top0, right, bottom)]
        legends = legends[:1]
    xmax = max(sc.steps, int(x.max()) if x.size else 1)
    ranges = [(-0.02, 1.02), (0.0, ymax1)]

    def px(i, xv, yv):
        x0, y0, x1, y1 = boxes[i]
        lo, hi = ranges[i]
        return x0 + (np.asarray(xv, float) / xmax) * (x1 - x0), y1 - (np.asarray(yv, float) - lo) / (hi - lo) * (y1 - y0)

    grey, ink = (120, 120, 120), (60, 60, 60)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if win:
            a, _ = px(i, [win[0]], [0])
            b, _ = px(i, [min(win[1], xmax)], [0])
            d.rectangle((float(a[0]), y0, float(b[0]), y1), fill=CLOSED_RGB)
        # as many ticks as the panel's height holds with a line of text between two labels
        fit = max(1, int((y1 - y0) / (2.2 * font_px)))
        ticks = ([0, 0.2, 0.4, 0.6, 0.8, 1.0] if fit >= 5 else [0, 0.5, 1.0] if fit >= 2 else [0, 1.0]) if i == 0 \
            else _nice_ticks(ranges[1][1] / 1.05, min(4, max(2, fit)))
        for t in ticks:
            _, yy = px(i, [0], [t])
            if y0 <= float(yy[0]) <= y1:
                d.line((x0, float(yy[0]), x1, float(yy[0])), fill=(235, 235, 235))
                d.text((x0 - 5, float(yy[0])), _tick_label(t), fill=ink, font=font, anchor="rm")
        d.rectangle((x0, y0, x1, y1), outline=grey)
    for t in _nice_ticks(xmax, 6):
        xx, _ = px(len(boxes) - 1, [t], [0])
        d.line((float(xx[0]), bottom, float(xx[0]), bottom + 4), fill=grey)
        d.text((float(xx[0]), bottom + 6), f"{t:g}", fill=ink, font=font, anchor="mt")
    d.text(((left + right) / 2, H - 2), "day", fill=ink, font=font, anchor="mb")
    if ticks_rev:
        xx, _ = px(0, rev, np.zeros(rev.size))
        for v in xx:
            d.line((float(v), boxes[0][3] - 6, float(v), boxes[0][3]), fill=(90, 90, 90))
    for c in curves:
        xs, ys = px(c.panel, x, c.y)
        col = _rgb(c.color)
        pts = list(zip(xs.tolist(), ys.tolist()))
        if len(pts) <= 2:
            for (u, v) in pts:
                d.ellipse((u - 3, v - 3, u + 3, v + 3), fill=col)
        elif c.dashed:
            for k in range(0, len(pts) - 1, 2):
                d.line(pts[k:k + 2], fill=col, width=2)
        else:
            d.line(pts, fill=col, width=2)
    for i, rows in enumerate(legends):  # above each panel, never over the curves
        cy = boxes[i][1] - row_h * len(rows) - 1
        for r_i, row in enumerate(rows):
            cx = left + 2
            if r_i == 0:
                d.text((cx, cy), heads[i], fill=(40, 40, 40), font=font)
                cx += d.textlength(heads[i], font=font) + 8
            for lab, col, wdt in row:
                if col is not None:
                    d.rectangle((cx, cy + font_px * 0.3, cx + font_px * 1.1, cy + font_px * 0.8), fill=col)
                d.text((cx + font_px * 1.5, cy), lab, fill=(40, 40, 40), font=font)
                cx += wdt
            cy += row_h
    return png_bytes(img)


def happenings(df: pd.DataFrame, sc: Scenario) -> list[tuple[int, str]]:
    """Notable moments of a run so far, as (day, one line), oldest first.

    - meetings close and reopen (ODD 7.1);
    - helpers fall below a third (or climb back above it) of the community;
    - a relapse spike: at least 3 relapses in a day and at least three times the mean of the 30 days
      before (per day).
    """
    out: list[tuple[int, str]] = []
    days = _col(df, "step").astype(int)
    win = closure_window(sc)
    if win:
        share = f"{sc.isolation.share:.0%} of members" if sc.isolation.share < 1 else "every member"
        if days.size and days[-1] >= win[0]:
            out.append((win[0], f"meetings close for {share}, for {win[1] - win[0]} days"))
        if days.size and days[-1] >= win[1] and win[1] <= sc.steps:
            out.append((win[1], "meetings reopen"))
    helpers = _col(df, "helpers")
    below = helpers < 1 / 3
    for i in np.nonzero(below[1:] != below[:-1])[0] + 1:
        if below[i]:
            out.append((int(days[i]), f"helpers fell below a third of the community ({helpers[i]:.0%})"))
        else:
            out.append((int(days[i]), f"helpers are back above a third ({helpers[i]:.0%})"))
    if sc.psychology.enabled:
        r = _col(df, "relapses")
        if r.size > 31:
            c = np.concatenate([[0.0], np.cumsum(r)])
            i = np.arange(31, r.size)
            before = (c[i] - c[i - 30]) / 30  # the daily mean of the 30 days before day i
            spike = (r[i] >= 3) & (r[i] >= 3 * np.maximum(before, 1e-9))
            before_prev = (c[i - 1] - c[i - 31]) / 30
            spike_prev = (r[i - 1] >= 3) & (r[i - 1] >= 3 * np.maximum(before_prev, 1e-9))
            for k in np.nonzero(spike & ~spike_prev)[0]:
                j = int(i[k])
                out.append((int(days[j]), f"relapses spike: {int(r[j])} today, {r[j] / max(before[k], 1e-9):.1f} "
                                          f"times the daily mean of the month before"))
    out.sort(key=lambda e: e[0])
    return out


def latest_happening(df: pd.DataFrame, sc: Scenario, within: int = 30) -> str:
    """The most recent notable moment of the last ``within`` days, as "Day N: ...", or ""."""
    ev = happenings(df, sc)
    steps = _col(df, "step")
    today = int(steps[-1]) if steps.size else 0
    ev = [e for e in ev if today - e[0] <= within]
    return f"Day {ev[-1][0]}: {ev[-1][1]}" if ev else ""


# ----------------------------------------------------------------------------- links and the seed

#: query keys of a page link besides the scenario's settings
LINK_OPTIONS = ("scenario", "seed", "present", "fps", "per_frame", "engine")


def seed_bounds() -> tuple[int, int]:
    lo, hi, _, _ = _bounds(Scenario.model_fields["seed"])
    return int(lo), int(hi)


def parse_seed(text: Any) -> tuple[int | None, str | None]:
    """(seed, None) for a whole number inside the schema's range, else (None, why) - never a silent change."""
    lo, hi = seed_bounds()
    t = str(text).strip()
    if isinstance(text, bool) or not t.isdigit():
        return None, f"seed {t!r} is not a whole number from {lo} to {hi}; Reset keeps the run's seed"
    v = int(t)
    if not lo <= v <= hi:
        return None, f"seed {t} is outside {lo} to {hi}; Reset keeps the run's seed"
    return v, None


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def parse_value(spec: Mapping[str, Any], text: str) -> Any:
    """A link's text value for a control, or ValueError saying why not (never clamped silently)."""
    t = spec["type"]
    raw = str(text).strip()
    if t == "Checkbox":
        low = raw.lower()
        if low in ("true", "1", "on", "yes"):
            return True
        if low in ("false", "0", "off", "no"):
            return False
        raise ValueError("expected true or false")
    if t == "Select":
        if raw not in spec["values"]:
            raise ValueError(f"expected one of {', '.join(spec['values'])}")
        return raw
    try:
        x = float(raw)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(x):
        raise ValueError("not a finite number")
    if t == "SliderInt":
        if x != int(x):
            raise ValueError("expected a whole number")
        x = int(x)
    if not spec["min"] <= x <= spec["max"]:
        raise ValueError(f"outside {spec['min']:g} to {spec['max']:g}")
    return x


def link_query(name: str, params: Mapping[str, Any], seed: int, options: Mapping[str, Any] | None = None) -> str:
    """The query string of a link that reproduces a run: the scenario, every setting that differs from
    the shipped file (dotted keys), the seed, then page options (presentation mode, speed)."""
    base = build_scenario(name)
    shipped = {k: sp["value"] for k, sp in model_params(base).items()}
    q: list[tuple[str, str]] = [("scenario", name)]
    for k, v in params.items():
        if k in shipped and v != shipped[k]:
            q.append((dotted_key(k), format_value(v)))
    q.append(("seed", str(int(seed))))
    for k, v in (options or {}).items():
        if v is not None:
            q.append((k, format_value(v)))
    import urllib.parse

    return urllib.parse.urlencode(q, safe=".")


@dataclass
class Link:
    """What a page link asks for, after checking every value; ``notices`` list what was ignored and why."""

    scenario: str
    params: dict[str, Any]
    seed: int | None
    options: dict[str, Any]
    notices: list[str]


def parse_link(query: str) -> Link:
    """Read a page's query string. Anything unknown or invalid is ignored with a notice, never raised."""
    import urllib.parse

    notices: list[str] = []
    try:
        pairs = urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True, max_num_fields=200)
    except ValueError as e:
        return Link(DEFAULT_LINK_SCENARIO, {}, None, {}, [f"the link could not be read ({e})"])
    got: dict[str, str] = {}
    for k, v in pairs:
        if k in got:
            notices.append(f"{k} appears more than once in the link; the first value is used")
            continue
        got[k] = v
    name = got.pop("scenario", DEFAULT_LINK_SCENARIO)
    if name not in names():
        notices.append(f"scenario {name[:60]!r} is not one of the shipped scenarios; showing "
                       f"{DEFAULT_LINK_SCENARIO}")
        name = DEFAULT_LINK_SCENARIO
    seed = None
    if "seed" in got:
        seed, why = parse_seed(got.pop("seed"))
        if why:
            notices.append(why.replace("; Reset keeps the run's seed", "; the scenario's seed is used"))
    options: dict[str, Any] = {}
    if "present" in got:
        options["present"] = got.pop("present").strip().lower() in ("1", "true", "on", "yes")
    for key, lo, hi in (("fps", 1, MAX_FPS), ("per_frame", 1, 10)):
        if key in got:
            raw = got.pop(key).strip()
            if raw.isdigit() and lo <= int(raw) <= hi:
                options[key] = int(raw)
            else:
                notices.append(f"{key}={raw[:20]!r} ignored: a whole number from {lo} to {hi}")
    if "engine" in got:
        raw = got.pop("engine").strip()
        if raw in PAGE_ENGINES:
            options["engine"] = raw
        else:
            notices.append(f"engine={raw[:20]!r} ignored: {' or '.join(PAGE_ENGINES)}")
    specs = model_params(build_scenario(name))
    params: dict[str, Any] = {}
    for k, v in got.items():
        flat = flat_key(k) if "." in k else k
        if flat not in specs:
            notices.append(f"{k[:60]!r} ignored: not a setting the page offers for {name}")
            continue
        try:
            params[flat] = parse_value(specs[flat], v)
        except ValueError as e:
            notices.append(f"{dotted_key(flat)}={v[:30]!r} ignored: {e}")
    try:
        build_scenario(name, params, seed=seed)
    except ScenarioError as e:
        notices.append(f"these settings do not make a community ({e}); showing {name} as shipped")
        params = {}
    return Link(name, params, seed, options, notices)


DEFAULT_LINK_SCENARIO = "baseline"


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


def view_legend(sc: Scenario, present: bool = False) -> str:
    """The key under the picture (HTML): colours, and on a lattice how meetings lie on it (members meet in
    runs of ``meetings.size`` in reading order, so what a meeting shares shows as horizontal streaks)."""
    lattice = sc.network.kind == "lattice"
    parts = ["<span style='color:#2678b2'>&#9632; helps</span>",
             "<span style='color:#f08c28'>&#9632; competes</span>"]
    if sc.psychology.enabled:
        parts += ["darker: more stress", "<span style='color:#c8143c'>&#9632; using</span>"]
    if not lattice:
        parts.append("(ring); size: stress; lines: ties by weight")
    if present:  # a projector: the colours only
        return " &nbsp; ".join(parts)
    parts.append("click a member to inspect it")
    out = " &nbsp; ".join(parts)
    if lattice and sc.psychology.enabled:
        w, m = sc.network.width, sc.meetings.size
        out += (f"<div class='ma-meetings'>Meetings: members sit in reading order (left to right, row after "
                f"row; a row has {w}) and each run of {m} meets together, so what a meeting shares, such as "
                f"lower stress, shows as horizontal streaks.</div>")
    return out


#: a member's history plot: its width on the page (CSS pixels, drawn at that size) and its text height by
#: mode (presentation mode: the 18 px the room reads)
HISTORY_PX = 420
HISTORY_FONT_PX = {"normal": 12, "present": 20}

#: the picture's width on the page in CSS pixels (fixed, so that a click maps to a member)
VIEW_PX = {"normal": 480, "present": 440}


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
            from sim.draw import network_edges

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


def member_history_png(h: dict, font_px: int = 11) -> bytes:
    """Curves of one member's stress, craving and lapses (shaded) since day 0, drawn at the size the page
    shows them (:data:`HISTORY_PX` wide, 100 dpi) with text ``font_px`` pixels tall: 18 or more in
    presentation mode."""
    dpi = 100
    w = HISTORY_PX
    h_px = max(140, 7 * font_px + 40)
    fig = _figure(w / dpi, h_px / dpi, constrained=True)
    ax = fig.add_subplot()
    d = np.asarray(h["day"])
    use = np.asarray(h["using"]) > 0
    if use.any():
        ax.fill_between(d, 0, 1, where=use, color="crimson", alpha=0.25, lw=0, step="mid", label="using")
    mid = np.asarray(h["member_id"])
    for k in np.nonzero(np.diff(mid))[0]:
        ax.axvline(d[k + 1], color="0.3", ls=":", lw=1)  # the slot was taken by a newcomer
    ax.plot(d, h["stress"], color="tab:purple", lw=1.2, label="stress", marker="o" if d.size <= 2 else None)
    ax.plot(d, h["craving"], color="tab:brown", lw=1.2, label="craving", marker="o" if d.size <= 2 else None)
    ax.set_ylim(0, 1)
    ax.set_xlim(0, max(1, int(d.max())))
    pt = font_px * 72 / dpi
    ax.tick_params(labelsize=pt)
    ax.legend(loc="upper right", fontsize=pt, ncol=3, borderpad=0.2, handlelength=1.0, columnspacing=0.8)
    return fig_png(fig, dpi=dpi)


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
            from sim.experiments import lesson

            res = lesson.run_lesson("kropotkin", seeds=seeds, progress=progress)
            _lesson_cache[seeds] = {"png": fig_png(lesson.plot(res, projector=True), dpi=100),
                                    "png_full": fig_png(lesson.plot(res), dpi=90), "table": lesson.table(res),
                                    "notes": lesson.notes(res), "notes_html": lesson_notes_html(res),
                                    "finding": lesson_finding(res.summary),
                                    "csv": metrics_csv(res.runs),
                                    "summary": res.summary}
        return _lesson_cache[seeds]


class Eta:
    """The time left of a long job, from the speed measured on this machine: the first run's time (worker
    start, compiling) is left out, and until a second run has finished the page says it is measuring.

    ``text(done, total)`` is the status line after ``done`` of ``total`` runs."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.first: tuple[int, float] | None = None

    def text(self, done: int, total: int) -> str:
        now = self.clock()
        if done <= 0:
            return f"runs 0 of {total}; measuring this machine's speed on the first runs ..."
        if self.first is None:
            self.first = (done, now)
            return f"runs {done} of {total}; measuring this machine's speed on the first runs ..."
        runs, secs = done - self.first[0], now - self.first[1]
        if runs <= 0 or secs <= 0:
            return f"runs {done} of {total}; measuring this machine's speed on the first runs ..."
        left = (total - done) * secs / runs
        when = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
        return (f"runs {done} of {total}; about {when} left, estimated from the speed measured so far "
                f"({60 * runs / secs:.0f} runs a minute)")


def lesson_notes_html(res) -> str:
    """The lesson's notes as the page shows them: what was run, each mechanism in a sentence (a list, in
    words, without scenario keys), and how to read a cell. ``mutualaid lesson`` prints the technical notes
    (with the keys switched) itself."""
    import html
    import re

    from sim.experiments import lesson

    def words(text: str) -> str:  # "(turnover.leave_prob a day)" -> "(a daily chance)": no keys on the page
        return re.sub(r"\s*\([a-z_]+\.[a-z_.]+[^)]*\)", "", text)

    esc = html.escape
    items = "".join(f"<li><b>{esc(m.name)}</b>: {esc(words(m.what))}. <i>Source: {esc(m.source)}.</i></li>"
                    for m in lesson.MECHANISMS)
    return (f"<p>{len(res.seeds)} paired seeds per arm, {len(res.runs)} runs ({res.wall_time:.0f} s). The five "
            f"mechanisms, each switched on or off:</p><ul>{items}</ul>"
            f"<p>In every arm, {esc(words(lesson.HELD_ON))}.</p>"
            f"<p>Each cell is the mean over the seeds with its 95% interval. Helpers and stress are read over the "
            f"last {lesson.TAIL} days; <i>abstinent</i> is the share of the members of day 0 who never used in "
            f"the year. <i>p vs all off</i>: how likely so many more helpers than with every mechanism off would "
            f"be by chance (a one-sided paired Wilcoxon signed-rank test).</p>")


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lesson_finding(summary: pd.DataFrame) -> str:
    """The lesson's finding in plain sentences generated from its table (helpers at the end, with 95%
    intervals): which mechanisms alone end clearly above every mechanism off, and which, taken away from
    all on, leave clearly fewer helpers ("clearly": the two intervals do not overlap)."""
    rows = {r["arm"]: r for _, r in summary.iterrows()}
    off, on = rows["all off"], rows["all on"]
    f = lambda v: f"{v:.2f}"  # noqa: E731
    alone = [a[: -len(" only")] for a in rows if a.endswith(" only")]
    r2 = lambda v: round(float(v), 2)  # noqa: E731  (the verdict from the figures as the table shows them)
    lift = [a for a in alone if r2(rows[f"{a} only"]["helpers_low"]) > r2(off["helpers_high"])]
    rest = [a for a in alone if a not in lift]
    if lift:
        vals = ", ".join(f(rows[f"{a} only"]["helpers"]) for a in lift)
        s1 = (f"Alone, {_names([a.lower() for a in lift])} {'ends' if len(lift) == 1 else 'each end'} with "
              f"clearly more helpers than with every mechanism off ({vals} against {f(off['helpers'])})")
        s1 += (f"; {_names([a.lower() for a in rest])} alone {'does' if len(rest) == 1 else 'do'} not clearly "
               f"lift helpers above it." if rest else ".")
    else:
        s1 = (f"No mechanism alone ends with clearly more helpers than every mechanism off "
              f"({f(off['helpers'])}): the intervals overlap.")
    but = [a for a in rows if a.startswith("all but ")]
    drop = [a for a in but if r2(rows[a]["helpers_high"]) < r2(on["helpers_low"])]
    if drop:
        vals = ", ".join(f(rows[a]["helpers"]) for a in drop)
        s2 = (f" Taking {_names([a[len('all but '):] for a in drop])} away from all on leaves clearly fewer "
              f"helpers ({vals} against {f(on['helpers'])}).")
    else:
        s2 = f" Taking any one mechanism away from all on ({f(on['helpers'])}) leaves no clearly fewer helpers."
    return s1 + s2


def lesson_cached(seeds: int) -> dict | None:
    return _lesson_cache.get(seeds)


def metrics_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


# ----------------------------------------------------------------------------- Compare


#: one-click trainer questions: (label, base scenario, A overrides, B overrides)
PRESETS: dict[str, tuple[str, str, dict, dict]] = {
    "checkins": ("Check-ins: on vs off", "baseline", {"checkins.enabled": True}, {"checkins.enabled": False}),
    "sponsorship": ("Sponsorship: on vs off", "baseline", {"sponsorship.enabled": True},
                    {"sponsorship.enabled": False}),
    "isolation": ("Isolation: meetings open vs closed", "baseline", {"isolation.enabled": False},
                  {"isolation.enabled": True}),
    "isolation_checkins": ("Isolation: with vs without check-ins", "isolation",
                           {"isolation.enabled": True, "checkins.enabled": True},
                           {"isolation.enabled": True, "checkins.enabled": False}),
}


def _mechanism_presets() -> dict[str, tuple[str, str, dict, dict]]:
    """The Lesson's mechanisms that one setting switches (sim.experiments.lesson.MECHANISMS), on (A)
    against off (B) in ``kropotkin``: the comparisons the lesson speaks of, with its own on/off values
    (dropping out in crisis is off at 100000 days, beyond any slider)."""
    from sim.experiments.lesson import MECHANISMS

    words = {"partner_choice": "Partner choice", "wellbeing": "Wellbeing counts as success",
             "survival": "Survival of the supported (dropping out in crisis)"}
    return {f"mechanism_{m.key}": (f"{words[m.key]}: on vs off", "kropotkin", dict(m.on), dict(m.off))
            for m in MECHANISMS if m.key in words}


PRESETS.update(_mechanism_presets())

#: parameters that B may change in the Compare view
COMPARE_PARAMS = ("checkins.prob", "checkins.missed_threshold", "sponsorship.answer_prob", "sponsorship.capacity",
                  "isolation.share", "isolation.duration", "population.initial_helpers", "game.T",
                  "psychology.shock_prob", "psychology.helper_therapy")


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


#: curves of the Compare view: (column, title, cumulative)
COMPARE_PANELS = (("relapses", "total relapses", True), ("using", "using (share in a lapse)", False),
                  ("mean_stress", "mean stress", False))


def gap_band(frames_a: list[pd.DataFrame], frames_b: list[pd.DataFrame], col: str, cumulative: bool,
             level: float = 0.95) -> pd.DataFrame:
    """Per day: mean paired difference B - A over replicates with its t-interval."""
    from scipy import stats

    def arr(frames):
        m = np.stack([f[col].to_numpy(float) for f in frames])
        return np.cumsum(m, axis=1) if cumulative else m

    d = arr(frames_b) - arr(frames_a)
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n >= 2:
        half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
    else:
        half = np.full_like(mean, np.nan)
    return pd.DataFrame({"step": frames_a[0]["step"].to_numpy(), "diff": mean, "lo": mean - half,
                         "hi": mean + half})


def _dpi(fig, hi_res: bool) -> int:
    return int(math.ceil(HI_RES_PX / fig.get_figwidth())) if hi_res else 80


def compare_png(df_a: pd.DataFrame, df_b: pd.DataFrame, label_a: str, label_b: str, title: str = "",
                hi_res: bool = False) -> bytes:
    """A and B overlaid, one panel per metric, the difference shaded."""
    fig = _figure(9.6, 3.2)
    axes = fig.subplots(1, len(COMPARE_PANELS))
    for ax, (col, ttl, cum) in zip(axes, COMPARE_PANELS):
        x = df_a["step"].to_numpy()
        ya = df_a[col].to_numpy(float)
        yb = df_b[col].to_numpy(float)
        if cum:
            ya, yb = np.cumsum(ya), np.cumsum(yb)
        ax.fill_between(x, ya, yb, where=yb >= ya, color="tab:orange", alpha=0.25, lw=0, interpolate=True)
        ax.fill_between(x, ya, yb, where=yb < ya, color="tab:blue", alpha=0.25, lw=0, interpolate=True)
        ax.plot(x, ya, color="tab:blue", lw=1.6, label=label_a)
        ax.plot(x, yb, color="tab:orange", lw=1.6, label=label_b)
        ax.set_title(ttl, fontsize="medium")
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig_png(fig, dpi=_dpi(fig, hi_res))


def gap_png(frames_a, frames_b, title: str = "", hi_res: bool = False) -> bytes:
    """B - A per day over replicates: mean and 95 % t-band, one panel per metric."""
    fig = _figure(9.6, 2.8)
    axes = fig.subplots(1, len(COMPARE_PANELS))
    n = len(frames_a)
    for ax, (col, ttl, cum) in zip(axes, COMPARE_PANELS):
        g = gap_band(frames_a, frames_b, col, cum)
        ax.axhline(0, color="gray", lw=0.8)
        ax.fill_between(g["step"], g["lo"], g["hi"], color="tab:green", alpha=0.25, lw=0,
                        label="95% band" if n >= 2 else None)
        ax.plot(g["step"], g["diff"], color="tab:green", lw=1.6, label=f"B - A, mean of {n}")
        ax.set_title(f"B - A: {ttl}", fontsize="medium")
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig_png(fig, dpi=_dpi(fig, hi_res))


def plain_keys(text: str) -> str:
    """Scenario keys in a generated sentence ("turnover.crisis_days = 100000") named as the page's sliders
    name them ("Survival: days in crisis before dropping out = 100000"): the command line's labels are
    keys, the page's are words."""
    import re

    return re.sub(r"\b([a-z_]+\.[a-z_]+)\b", lambda m: LABELS.get(m.group(1), m.group(1)), text)


def compare_headline(sc_a: Scenario, sc_b: Scenario, frames_a, frames_b) -> str:
    """The plain-words headline of the paired replicates (as ``mutualaid compare`` prints it, settings named
    in the page's words)."""
    from sim.experiments.compare import headline_of

    return plain_keys(headline_of(sc_a, sc_b, [f["relapses"].iloc[1:].sum() for f in frames_a],
                       [f["relapses"].iloc[1:].sum() for f in frames_b],
                       [f["helpers"].iloc[-1] for f in frames_a], [f["helpers"].iloc[-1] for f in frames_b],
                       [f["dropouts"].iloc[1:].sum() for f in frames_a],
                       [f["dropouts"].iloc[1:].sum() for f in frames_b]))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def compare_finding(sc_a: Scenario, sc_b: Scenario, frames_a, frames_b) -> str:
    """The comparison's finding in one sentence generated from its replicates (which way, how big, how
    sure; sim/experiments/findings.py): relapses per 100 members a year, or the share of helpers at the end
    when both arms are classic games."""
    from sim.experiments import findings
    from sim.experiments.compare import arm_labels, classic, paired_difference

    la, lb = (plain_keys(x) for x in arm_labels(sc_a, sc_b))
    if classic(sc_a, sc_b):
        ha = [float(f["helpers"].iloc[-1]) for f in frames_a]
        hb = [float(f["helpers"].iloc[-1]) for f in frames_b]
        d, lo, hi, n = paired_difference(ha, hb)
        return findings.difference(f"{lb} (B), the community had a", "share of helpers at the end", d, lo, hi, n,
                                   more="higher", fewer="lower", digits=3, than=f"{_lower_first(la)} (A)")
    year = 365.0 / max(sc_a.steps, 1)
    per = lambda frames, sc: [100.0 * float(f["relapses"].iloc[1:].sum()) / sc.population.size * year  # noqa
                              for f in frames]
    ra, rb = per(frames_a, sc_a), per(frames_b, sc_b)
    d, lo, hi, n = paired_difference(ra, rb)
    out = findings.difference(f"{lb} (B), members had", "relapses per 100 members a year", d, lo, hi, n,
                              reference=float(np.mean(ra)), than=f"{_lower_first(la)} (A)") + (
        " Counted: every member, newcomers included.")
    if sc_a.evolution.enabled or sc_b.evolution.enabled:  # strategies change: the share of helpers too
        ha = [float(f["helpers"].iloc[-1]) for f in frames_a]
        hb = [float(f["helpers"].iloc[-1]) for f in frames_b]
        d, lo, hi, n = paired_difference(ha, hb)
        out += " " + findings.difference(f"{lb} (B), the community had a", "share of helpers at the end", d, lo,
                                         hi, n, more="higher", fewer="lower", digits=3,
                                         than=f"{_lower_first(la)} (A)")
    return out


def trial_findings(res) -> list[str]:
    """The trial's findings as sentences generated from its effects table, each saying whom it counts (the
    trial's cohort, not every member as the comparison above does): relapses, days without using, the first
    lapse and coming back in the whole-community design (or the first design run), each whichever way it
    went; and which of every design run found the largest effect on relapses."""
    from sim.experiments import findings, trial

    e = res.effects
    what = trial.INTERVENTIONS[res.intervention]
    cohort = trial.COHORT[res.intervention]

    def row(design, start):
        r = e[(e["design"] == design) & (e["measure"].str.startswith(start))].iloc[0]
        return float(r["estimate"]), float(r["low"]), float(r["high"])

    measures = set(e["measure"])
    design = "community" if "community" in res.designs else res.designs[0]
    where = trial.DESIGN_LABELS[design]
    n = len(res.seeds)
    est, lo, hi = row(design, "relapses per 100")
    # members are counted by the arm they were assigned to, whether or not a call came (intention to treat)
    out = [findings.difference(f"In the trial ({where}, {n} paired seeds; counted: the {cohort}), those "
                               f"not offered {what} had", "relapses per 100 member-years", est, lo, hi, n,
                               than=f"those offered {what}", runs="paired seeds")]
    if any(m.startswith("days abstinent a year") for m in measures):
        out.append(findings.difference(f"The {cohort} offered {what} had", "days without using a year",
                                       *row(design, "days abstinent a year"), n, than="those not offered it",
                                       runs="paired seeds"))
    if any(m.startswith("hazard ratio of a first lapse") for m in measures):
        out.append(findings.ratio(f"The {cohort} offered {what}", *row(design, "hazard ratio of a first lapse"),
                                  above="had a first lapse sooner", below="went longer before a first lapse"))
    hr = row(design, "hazard ratio of returning")
    out.append(findings.ratio(f"After a first absence, the {cohort} offered {what}", *hr,
                              above="came back sooner", below="came back later"))
    if len(res.designs) >= 2:
        out.append(findings.largest(trial.design_rows(res, "relapses per 100"),
                                    f"fewer relapses per 100 member-years with {what}"))
    return out


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


def intervention_words() -> dict[str, str]:
    """The trial's interventions as the page offers them: key -> words ("checkins" -> "check-ins")."""
    from sim.experiments.trial import INTERVENTIONS

    return dict(INTERVENTIONS)


def intervention_key(words: str) -> str | None:
    """The intervention a choice on the page names (None for anything else)."""
    return next((k for k, w in intervention_words().items() if w == words), None)


def trial_eligible(name: str, intervention: str) -> bool:
    """Whether a shipped scenario can host a trial of ``intervention`` on the page (it is switched on, and
    the community is small enough for the Compare view)."""
    try:
        sc = build_scenario(name)
    except ScenarioError:
        return False
    return (getattr(sc, intervention).enabled and sc.psychology.enabled
            and sc.population.size <= MAX_COMPARE_MEMBERS)


def trial_result(scenario: str, intervention: str, seeds: int, progress=None) -> dict:
    """The virtual trial (``sim.experiments.trial``) as the page shows it, computed once per server and
    settings (one at a time): headline, curves (PNG), effects and published tables (Markdown), handout
    (HTML), every member-run (CSV)."""
    from sim.experiments import trial

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
    from sim.experiments import handout

    return handout.handout_html(res)


def _handout_pdf(res) -> bytes:
    from sim.experiments import handout

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


# ----------------------------------------------------------------------------- Results (sweeps)


def results_root() -> Path:
    """Where the Results view looks for sweep folders: ``results/`` in the folder the server started in (or ``$MUTUALAID_RESULTS_DIR``,
    set by whoever starts the server, never by the page)."""
    env = os.environ.get("MUTUALAID_RESULTS_DIR")
    return Path(env).resolve() if env else Path("results").resolve()


def find_sweeps(root: Path | None = None, max_depth: int = 4, limit: int = 200) -> list[str]:
    """Sweep folders under the results root holding a ``runs.parquet``, as relative paths."""
    root = results_root() if root is None else root
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root)
        if len(rel.parts) >= max_depth:
            dirnames[:] = []
        dirnames.sort()
        if "runs.parquet" in filenames:
            out.append(str(rel) if str(rel) != "." else ".")
            if len(out) >= limit:
                break
    return sorted(out)


def open_sweep(rel: str, root: Path | None = None) -> pd.DataFrame:
    """``runs.parquet`` of a listed sweep folder; anything not listed by :func:`find_sweeps` is refused."""
    root = results_root() if root is None else root
    if rel not in find_sweeps(root):
        raise ScenarioError(f"{rel!r} is not a sweep folder under {root.name}/")
    return pd.read_parquet(root / rel / "runs.parquet")


def read_runs_bytes(data: bytes) -> pd.DataFrame:
    """An uploaded ``runs.parquet`` (read from memory, never from a path)."""
    return pd.read_parquet(io.BytesIO(data))


#: bookkeeping columns of runs.parquet (CONTRACT.md): never offered as an axis or a metric
RUN_COLUMNS = ("run_id", "point", "replicate", "seed", "engine", "code", "error", "wall_time_s", "worker")


def split_runs(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(swept parameters, summary metrics) of a runs table: the columns before ``replicate`` and the
    numeric columns after ``seed``."""
    cols = list(df.columns)
    if "replicate" in cols:
        params = [c for c in cols[: cols.index("replicate")] if c not in RUN_COLUMNS]
    else:
        params = [c for c in cols if c not in RUN_COLUMNS and df[c].nunique() <= 50][:4]
    after = cols[cols.index("seed") + 1:] if "seed" in cols else [c for c in cols if c not in params]
    metrics_ = [c for c in after if pd.api.types.is_numeric_dtype(df[c]) and c not in RUN_COLUMNS]
    return params, metrics_


def line_table(df: pd.DataFrame, x: str, metric: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``metric`` per value of ``x`` over all other runs, with a t-interval."""
    from scipy import stats

    g = df.groupby(x)[metric]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()
    tq = np.array([stats.t.ppf(0.5 + level / 2, k - 1) if k >= 2 else np.nan for k in out["n"]])
    half = tq * out["sd"].to_numpy(float) / np.sqrt(out["n"].to_numpy(float))
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    return out


def heat_table(df: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of ``metric`` on the (y, x) grid."""
    return df.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")


def results_png(df: pd.DataFrame, metric: str, x: str, y: str | None = None) -> bytes:
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    if y and y != x:
        h = heat_table(df, x, y, metric)
        im = ax.imshow(h.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(h.columns)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in h.columns],
                      rotation=45)
        ax.set_yticks(range(len(h.index)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in h.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(im, ax=ax, label=f"mean {metric}")
        ax.set_title(f"{metric} by {x} and {y}", fontsize="medium")
    else:
        t = line_table(df, x, metric)
        xs = t[x]
        numeric = pd.api.types.is_numeric_dtype(xs)
        pos = xs.to_numpy(float) if numeric else np.arange(len(xs))
        ax.fill_between(pos, t["lo"], t["hi"], color="tab:blue", alpha=0.25, lw=0, label="95% band")
        ax.plot(pos, t["mean"], "o-", color="tab:blue", label=f"mean {metric}")
        if not numeric:
            ax.set_xticks(pos, [str(v) for v in xs])
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax.set_title(f"{metric} against {x} (mean over runs)", fontsize="medium")
    return fig_png(fig)


def warm_kernel() -> None:
    """Compile (or load from cache) the numba kernels on a tiny community, so a page never waits on it."""
    try:
        sc = load_scenario("baseline", {"population.size": 40, "steps": 2})
        run_metrics(sc)
    except Exception:  # pragma: no cover - warming is best effort
        pass


def github_slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading (lower case, punctuation dropped, spaces to hyphens)."""
    import re

    t = title.strip().lower()
    t = re.sub(r"[^\w\- ]", "", t)
    return t.replace(" ", "-")


_odd_cache: dict[str, str] = {}


def odd_html() -> str:
    """docs/ODD.md as HTML with GitHub-style heading ids (the Info panels link to its sections)."""
    if "html" not in _odd_cache:
        import markdown

        from sim.core.shipped import ODD_PATH as path
        text = path.read_text(encoding="utf-8") if path.is_file() else "# ODD\n\ndocs/ODD.md is missing."
        _odd_cache["html"] = markdown.markdown(
            text, extensions=["tables", "toc"], extension_configs={"toc": {"slugify": lambda v, sep: github_slug(v)}})
    return _odd_cache["html"]


_names_cache: dict[tuple, list[str]] = {}


def names() -> list[str]:
    """Shipped scenarios the page can open (not edge lists), read once per set of files."""
    key = tuple(scenario_names())
    if key not in _names_cache:
        _names_cache[key] = [n for n in key if load_scenario(scenario_path(n)).network.kind != "edgelist"]
    return list(_names_cache[key])


def compare_names() -> list[str]:
    """Shipped scenarios small enough for the Compare view (read once)."""
    key = ("compare", *names())
    if key not in _names_cache:
        _names_cache[key] = [n for n in names() if build_scenario(n).population.size <= MAX_COMPARE_MEMBERS]
    return list(_names_cache[key])


__all__: Iterable[str] = [n for n in dir() if not n.startswith("_")]
