"""The dashboard's controls (``dashboards/app.py``), importable by tests: what a visitor may set and open.

The controls generated from the scenario schema and their limits, the scenarios the page offers and the
guard that keeps it inside ``scenarios/``, a page link's settings (read and written), the Compare view's
presets and the Results view's guard on sweep folders. Running the models is :mod:`sim.dashboards.runner`,
drawing them :mod:`sim.dashboards.plots`, the words about them :mod:`sim.dashboards.texts`; the Solara
components (``dashboards/app.py``) only wire these together.

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
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

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
    read_scenario_file,
    scenario_names,
    value_of,
)
from sim.experiments.lesson import MECHANISMS

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


# ----------------------------------------------------------------------------- links and the seed



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
    words = {"partner_choice": "Partner choice", "wellbeing": "Wellbeing counts as success",
             "survival": "Survival of the supported (dropping out in crisis)"}
    return {f"mechanism_{m.key}": (f"{words[m.key]}: on vs off", "kropotkin", dict(m.on), dict(m.off))
            for m in MECHANISMS if m.key in words}


PRESETS.update(_mechanism_presets())

#: parameters that B may change in the Compare view
COMPARE_PARAMS = ("checkins.prob", "checkins.missed_threshold", "sponsorship.answer_prob", "sponsorship.capacity",
                  "isolation.share", "isolation.duration", "population.initial_helpers", "game.T",
                  "psychology.shock_prob", "psychology.helper_therapy")


def trial_eligible(name: str, intervention: str) -> bool:
    """Whether a shipped scenario can host a trial of ``intervention`` on the page (it is switched on, and
    the community is small enough for the Compare view)."""
    try:
        sc = build_scenario(name)
    except ScenarioError:
        return False
    return (getattr(sc, intervention).enabled and sc.psychology.enabled
            and sc.population.size <= MAX_COMPARE_MEMBERS)


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
