"""Figures quoted in the project's prose, written from runs: ``mutualaid docs`` (``make docs``).

Every number the README, docs/ODD.md, docs/SENSITIVITY.md, docs/CALIBRATION.md and the scenarios' Info
files quote from a run sits in a marked block::

    <!-- figures:NAME command="mutualaid run kropotkin" seeds="42" commit="1a2b3c4d5e6f" sha="..." -->
    ...the sentences and numbers, written by the block's function below...
    <!-- /figures:NAME -->

``command`` is the command whose runs the block reports (anyone can run it and read the same numbers),
``seeds`` the seeds those runs used, ``commit`` the code's git commit when the block was written
(``+changes`` when ``sim/`` or the shipped scenarios differed from it), and ``sha`` a hash of the name,
command, seeds and the text between the markers: a block edited by hand no longer matches its hash,
which ``mutualaid docs --check`` and ``tests/test_docfigures.py`` report without running anything.

Each block is a function in :data:`REGISTRY` that runs what it reports and returns the block's text, the
sentence around a number included wherever the number could change the words (more or fewer, a
majority or not). *Cheap* blocks (seconds) are rewritten by every ``mutualaid docs``; *expensive* ones
(many seeds, minutes of CPU) only when named, ``mutualaid docs --only NAME``; a plain ``mutualaid docs``
still checks their hashes.
"""

# Deferred imports (inside the functions that need them):
# - pandas, sim.experiments.compare, sim.experiments.effects, sim.experiments.lesson, sim.experiments.report,
#   sim.experiments.sensitivity, sim.experiments.classroom: each figure's own experiment (and pandas, numba, matplotlib with it) loads
#   when that figure is drawn; `mutualaid docs --check` draws only the figures whose inputs changed.

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from sim import runner
from sim.core.scenarios import ScenarioError
from sim.core.shipped import SWEEP_DIR
from sim.experiments import validate
from sim.experiments.sweep import SweepError, load_sweep, run_sweep
from sim.experiments.validate import validation_runs
from sim.runner import prepare

#: the files that may hold figure blocks, relative to the checkout's root (globs allowed)
DOC_FILES = ("README.md", "docs/ODD.md", "docs/SENSITIVITY.md", "docs/CALIBRATION.md", "docs/CLASSROOM.md",
             "scenarios/info/*.md")
#: what the ``commit`` attribute is checked against: the files that change a run
MODEL_FILES = ("sim", "scenarios/*.yaml", "scenarios/sweeps")

_BEGIN = re.compile(r"^<!-- figures:(?P<name>[a-z0-9][a-z0-9-]*)(?P<attrs>(?: [a-z]+=\"[^\"]*\")*) -->[ \t]*$",
                    re.M)
_ANY_MARK = re.compile(r"^<!-- /?figures:", re.M)
_ATTR = re.compile(r"([a-z]+)=\"([^\"]*)\"")


class DocsError(ScenarioError):
    """A figure block that is malformed, unknown, edited by hand or stale (exit code 2 on the command line)."""


@dataclass(frozen=True)
class Figure:
    """One named block: what it reports (``command``, ``seeds``) and the function writing its text."""

    name: str
    command: str
    seeds: str
    text: Callable[[], str]
    cheap: bool = True


REGISTRY: dict[str, Figure] = {}


def figure(name: str, command: str, seeds: str, *, cheap: bool = True):
    """Register the decorated function as the writer of block ``name``."""
    def register(fn: Callable[[], str]) -> Callable[[], str]:
        if name in REGISTRY:
            raise ValueError(f"figure block {name!r} registered twice")
        REGISTRY[name] = Figure(name, command, seeds, fn, cheap)
        return fn
    return register


# ----------------------------------------------------------------------------- blocks in a text


@dataclass
class Block:
    """A marked block found in a document: its name, header attributes, text and where it lies."""

    path: str
    name: str
    attrs: dict[str, str]
    text: str
    start: int   # offset of the begin marker
    end: int     # offset just after the end marker

    @property
    def hand_edited(self) -> bool:
        return self.attrs.get("sha") != block_hash(self.name, self.attrs.get("command", ""),
                                                   self.attrs.get("seeds", ""), self.text)


def block_hash(name: str, command: str, seeds: str, text: str) -> str:
    """The hash recorded in a block's header: of its name, command, seeds and text."""
    return hashlib.sha256(f"{name}\n{command}\n{seeds}\n{text}".encode("utf-8")).hexdigest()[:16]


def _quote(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _unquote(value: str) -> str:
    return value.replace("&quot;", '"').replace("&amp;", "&")


def render(name: str, command: str, seeds: str, commit: str, text: str) -> str:
    """A whole block, markers included, for ``text`` (no trailing newline)."""
    text = text.strip("\n")
    sha = block_hash(name, command, seeds, text)
    return (f'<!-- figures:{name} command="{_quote(command)}" seeds="{_quote(seeds)}" commit="{_quote(commit)}" '
            f'sha="{sha}" -->\n{text}\n<!-- /figures:{name} -->')


def find_blocks(doc: str, path: str = "") -> list[Block]:
    """The figure blocks of a document, in order. A marker without its pair, or blocks inside each other,
    raise :class:`DocsError` naming the file and the block."""
    out: list[Block] = []
    pos = 0
    marks = [m.start() for m in _ANY_MARK.finditer(doc)]
    while True:
        m = _BEGIN.search(doc, pos)
        if m is None:
            break
        name = m.group("name")
        close = f"\n<!-- /figures:{name} -->"
        j = doc.find(close, m.end())
        if j < 0:
            raise DocsError(f"{path}: figure block {name!r} has no end marker '<!-- /figures:{name} -->'")
        inner = [k for k in marks if m.start() < k <= j]
        if inner:
            raise DocsError(f"{path}: figure block {name!r} holds another figure marker; blocks do not nest")
        attrs = {k: _unquote(v) for k, v in _ATTR.findall(m.group("attrs"))}
        text = doc[m.end() + 1:j] if j > m.end() else ""
        end = j + len(close)
        out.append(Block(path, name, attrs, text, m.start(), end))
        pos = end
    begins = {b.start for b in out}
    ends = {doc.rfind("\n", 0, b.end) + 1 for b in out}
    stray = [k for k in marks if k not in begins and k not in ends]
    if stray:
        line = doc.count("\n", 0, stray[0]) + 1
        raise DocsError(f"{path}:{line}: a figure marker that is not a block's begin or end "
                        f"('<!-- figures:NAME command=\"...\" seeds=\"...\" commit=\"...\" sha=\"...\" -->' ... "
                        f"'<!-- /figures:NAME -->')")
    return out


def strip_blocks(doc: str) -> str:
    """The document without its figure blocks (what is left is written by hand)."""
    for b in reversed(find_blocks(doc)):
        doc = doc[:b.start] + doc[b.end:]
    return doc


# ----------------------------------------------------------------------------- the checkout


def checkout_root() -> Path:
    """The source checkout whose documents the blocks live in: the folder holding this package's ``sim/``
    (an editable install or a clone). An installed wheel has no README to write: bad input."""
    root = Path(__file__).resolve().parents[2]
    if not ((root / "README.md").is_file() and (root / "docs").is_dir() and (root / "pyproject.toml").is_file()):
        raise DocsError(f"docs: {root} is not a source checkout of mutual-aid-sim (no README.md and docs/ "
                        f"beside sim/); run mutualaid docs from an editable install of a clone")
    return root


def doc_paths(root: Path) -> list[Path]:
    out: list[Path] = []
    for pattern in DOC_FILES:
        out.extend(sorted(root.glob(pattern)))
    return out


def current_commit(root: Path) -> str:
    """``git rev-parse --short=12 HEAD``, with ``+changes`` when the files that change a run differ from it;
    ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *MODEL_FILES], cwd=root,
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


# ----------------------------------------------------------------------------- check and write


@dataclass
class Outcome:
    """What :func:`update` found and did."""

    problems: list[str]          # one phrase per stale, hand-edited or unknown block
    written: list[str]           # "NAME (FILE)" rewritten
    current: list[str]           # names regenerated and found unchanged
    unchecked: list[str]         # expensive names whose hash holds but were not rerun


def _selected(only: Iterable[str] | None) -> list[Figure]:
    if only:
        names = list(dict.fromkeys(only))
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise DocsError(f"docs --only {unknown[0]}: no such figure block; the blocks are: "
                            f"{', '.join(REGISTRY)}")
        return [REGISTRY[n] for n in names]
    return [f for f in REGISTRY.values() if f.cheap]


def update(root: Path | None = None, *, check: bool = False, only: Iterable[str] | None = None,
           log: Callable[[str], None] = lambda _: None, commit: str | None = None) -> Outcome:
    """Regenerate the selected blocks (every cheap one, or ``only``) and check every block's hash.

    With ``check`` nothing is written; otherwise the documents are rewritten where a regenerated block
    differs (a block whose text, command and seeds are unchanged keeps its header, commit included).
    """
    root = checkout_root() if root is None else Path(root)
    chosen = _selected(only)
    docs = {p: p.read_text(encoding="utf-8") for p in doc_paths(root)}
    found: dict[Path, list[Block]] = {p: find_blocks(t, str(p.relative_to(root))) for p, t in docs.items()}
    problems: list[str] = []
    everywhere = {b.name for bs in found.values() for b in bs}
    for bs in found.values():
        for b in bs:
            if b.name not in REGISTRY:
                problems.append(f"{b.name} ({b.path}: no such block in sim.experiments.docfigures)")
    missing = [n for n in (f.name for f in chosen) if n not in everywhere]
    for n in missing:
        problems.append(f"{n} (in no document)")
    regenerate = {f.name for f in chosen}
    for bs in found.values():
        for b in bs:
            if b.hand_edited and b.name not in regenerate and b.name in REGISTRY:
                problems.append(f"{b.name} ({b.path}: edited by hand; rewrite it with mutualaid docs --only "
                                f"{b.name})")
    written: list[str] = []
    current: list[str] = []
    commit_now = commit if commit is not None or check else current_commit(root)
    for fig in chosen:
        if fig.name in missing:
            continue
        log(f"docs: {fig.name}: {fig.command} (seeds {fig.seeds}) ...")
        text = fig.text().strip("\n")
        same = True
        for p, bs in found.items():
            for b in bs:
                if b.name != fig.name:
                    continue
                if (b.text, b.attrs.get("command"), b.attrs.get("seeds")) == (text, fig.command, fig.seeds) \
                        and not b.hand_edited:
                    # the same text, written from code since committed: record the commit (not when checking)
                    if check or not b.attrs.get("commit", "").endswith("+changes") or commit_now.endswith("+changes"):
                        continue
                same = False
                if check:
                    why = "edited by hand" if b.hand_edited else "differs from a new run"
                    problems.append(f"{fig.name} ({b.path}: {why})")
        if same:
            current.append(fig.name)
            continue
        if check:
            continue
        for p in found:
            doc = docs[p]
            for b in reversed(found[p]):
                if b.name == fig.name:
                    doc = doc[:b.start] + render(fig.name, fig.command, fig.seeds, commit_now, text) + doc[b.end:]
            if doc != docs[p]:
                docs[p] = doc
                p.write_text(doc, encoding="utf-8")
                written.append(f"{fig.name} ({p.relative_to(root)})")
            found[p] = find_blocks(docs[p], str(p.relative_to(root)))
    unchecked = sorted(everywhere & set(REGISTRY) - regenerate)
    return Outcome(problems, written, current, unchecked)


# ----------------------------------------------------------------------------- wording


def prose(text: str, width: int = 100) -> str:
    """A paragraph wrapped as the documents wrap theirs (at ``width``; code spans and words kept whole)."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)


def bullet(text: str, width: int = 100) -> str:
    """A list item, ``- `` and its text wrapped with the continuation indented two spaces."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width, initial_indent="- ", subsequent_indent="  ",
                         break_on_hyphens=False, break_long_words=False)


def pct(x: float) -> str:
    """A share as a whole percentage: ``0.3347`` -> ``33%``."""
    return f"{100 * x:.0f}%"


def num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def more_or_fewer(x: float, than: float) -> str:
    return "more" if x > than else "fewer" if x < than else "as many"


def higher_or_lower(x: float, than: float) -> str:
    return "higher" if x > than else "lower" if x < than else "the same"


def times(x: float, than: float) -> str:
    """``x`` against ``than`` in words: "about twice as high", "1.4 times as high", "lower"."""
    r = x / than if than else float("inf")
    if 1.85 <= r <= 2.15:
        return "about twice as high"
    if r >= 1.05:
        return f"{r:.1f} times as high"
    if r <= 0.95:
        return f"{r:.1f} times as high (lower)"
    return "about the same"


# ----------------------------------------------------------------------------- runs (cached per process)


@lru_cache(maxsize=None)
def _one_run(scenario: str, sets: tuple[tuple[str, object], ...] = ()):
    """The daily metrics of ``mutualaid run SCENARIO --set ...`` with the scenario's own seed (a DataFrame)."""
    sc = prepare(scenario, set=dict(sets))
    return sc, runner.run(sc).metrics


def _tail(m, column: str) -> float:
    from sim.experiments.lesson import TAIL

    return float(m[column].iloc[-TAIL:].mean())


@lru_cache(maxsize=None)
def _many(settings: tuple[tuple[str, str, tuple[tuple[str, object], ...]], ...], seed: int, n: int):
    """:func:`sim.experiments.lesson.run_settings` over ``replicate_seeds(seed, n)``, cached."""
    from sim.experiments.compare import replicate_seeds
    from sim.experiments.lesson import run_settings

    return run_settings({label: (scn, dict(sets)) for label, scn, sets in settings}, replicate_seeds(seed, n))


# ----------------------------------------------------------------------------- the README's tour


def _final(m, column: str) -> float:
    return float(m[column].iloc[-1])


def _start(m, column: str) -> float:
    return float(m[column].iloc[0])


@figure("tour-struggle-kropotkin", "mutualaid run struggle; mutualaid run kropotkin", "42")
def tour_struggle_kropotkin() -> str:
    """README, the educators' tour: one run of each scenario, as the two commands above it make."""
    sc_s, s = _one_run("struggle")
    sc_k, k = _one_run("kropotkin")
    low = int(s["helpers"].to_numpy().argmin())
    drop = int(s["dropouts"].iloc[1:].sum())
    s0, s1 = _start(s, "mean_stress"), _final(s, "mean_stress")
    k0, k1 = _start(k, "mean_stress"), _final(k, "mean_stress")
    crowd = "by the hundreds" if drop >= 200 else "in numbers"
    crisis = (f"the community stays in crisis all year (mean stress {num(s1)} on day {sc_s.steps})" if s1 >= 0.5
              else f"mean stress ends at {num(s1)}")
    back = "back to" if _final(s, "helpers") > float(s["helpers"].iloc[low]) else "no further than"
    kind = {"lattice": "a lattice"}.get(sc_k.network.kind, f"a {sc_k.network.kind} network")
    return prose(
        f"In `struggle` (the scenario's seed, {sc_s.seed}), helpers fall from {pct(_start(s, 'helpers'))} on day 0 "
        f"to {pct(float(s['helpers'].iloc[low]))} on day {int(s['step'].iloc[low])}, stress "
        f"{'climbs' if s1 > s0 else 'falls'} (from {num(s0)}) and members in crisis drop out {crowd} "
        f"({drop:,} in the year, in a community of {sc_s.population.size}); the newcomers who replace them bring "
        f"helpers {back} {pct(_final(s, 'helpers'))} on day {sc_s.steps}, but {crisis}. In `kropotkin` (seed "
        f"{sc_k.seed}), {sc_k.population.size} members on {kind} start with {pct(_start(k, 'helpers'))} helping "
        f"in a community strained by years of competition; by day {sc_k.steps} helpers reach "
        f"{pct(_final(k, 'helpers'))} and stress {'falls' if k1 < k0 else 'rises'} from {num(k0)} to {num(k1)}. "
        f"These are the two commands' runs: other seeds give other figures (the means over 20 seeds are in "
        f"the scenarios' Info files, `scenarios/info/`).")


#: the README's one-change-at-a-time runs of kropotkin: (what is changed, --set)
KROPOTKIN_VARIANTS = {
    "no partner choice": (("ties.conflict_loss", 0),),
    "payoff only": (("evolution.wellbeing_weight", 0),),
    "temptation": (("game.T", 1.6),),
    "closed": (("turnover.enabled", False),),
}


@figure("tour-kropotkin-variants", "mutualaid run kropotkin --set KEY=VALUE (the four commands above)", "42")
def tour_kropotkin_variants() -> str:
    """README: the four one-change runs of kropotkin beside the shipped one (seed 42, one run each)."""
    _, k = _one_run("kropotkin")
    h, st = _final(k, "helpers"), _final(k, "mean_stress")
    v = {label: _one_run("kropotkin", sets)[1] for label, sets in KROPOTKIN_VARIANTS.items()}
    npc, pay, tmp, clo = (v[x] for x in KROPOTKIN_VARIANTS)
    win = lambda x: "win" if x > 0.5 else "lose"  # noqa: E731
    npc_h, npc_s = _final(npc, "helpers"), _final(npc, "mean_stress")
    crisis = "the community stays in crisis" if npc_s > 1.5 * st else "stress differs"
    pay_h = _final(pay, "helpers")
    tmp_h, tmp_s = _final(tmp, "helpers"), _final(tmp, "mean_stress")
    clo_h = _final(clo, "helpers")
    return prose(
        f"On the final day of each run (seed 42, as in the shipped run's {num(h)} helpers and stress {num(st)}): "
        f"without partner choice, {more_or_fewer(npc_h, h)} helpers win through ({num(npc_h)}) and {crisis} "
        f"(stress {num(npc_s)}, {times(npc_s, st)}). Counting payoff alone, helpers still {win(pay_h)} "
        f"({num(pay_h)}){': partner choice has made helping pay' if pay_h > 0.5 else ''}. A higher temptation "
        f"leaves {more_or_fewer(tmp_h, h)} helpers ({num(tmp_h)}) and {higher_or_lower(tmp_s, st)} stress "
        f"({num(tmp_s)}). A closed community (nobody leaves, nobody arrives) ends with {num(clo_h)} helpers"
        f"{', still a majority' if clo_h > 0.5 else ''}. One seed each: the means over 20 seeds, and the tests "
        f"that check them on 20 others, are in `scenarios/info/kropotkin.md`.")


@figure("tour-nowak-may", "mutualaid run nowak-may-1992", "42")
def tour_nowak_may() -> str:
    """README: the Nowak-May run's share of helpers on its last day."""
    from sim.experiments.lesson import TAIL

    sc, m = _one_run("nowak-may-1992")
    return prose(f"In `mutualaid run nowak-may-1992` (the scenario's seed, {sc.seed}) the share is "
            f"{_final(m, 'helpers'):.4f} on day {sc.steps} and {_tail(m, 'helpers'):.4f} on average over its last "
            f"{TAIL} days.")


@figure("tour-compare-checkins", "mutualaid compare baseline no-checkins --replicates R (R = 12, 5, 3)",
        "replicate_seeds(42, R)")
def tour_compare_checkins() -> str:
    """README, trainers: the headline of ``mutualaid compare baseline no-checkins`` and how it narrows with
    replicates."""
    from sim.experiments.compare import DEFAULT_REPLICATES, compare, headline, paired_difference

    def interval(r: int) -> tuple[str, bool, object]:
        res = compare("baseline", "no-checkins", replicates=r, workers=None)
        a = res.runs[res.runs["arm"] == "A"].sort_values("replicate")
        b = res.runs[res.runs["arm"] == "B"].sort_values("replicate")
        per = 100.0 / res.a.population.size * 365.0 / max(res.a.steps, 1)
        _, lo, hi, _ = paired_difference(a["total_relapses"].to_numpy(float) * per,
                                         b["total_relapses"].to_numpy(float) * per)
        return f"{lo:+.1f} to {hi:+.1f}", lo <= 0 <= hi, res

    full, _, res = interval(DEFAULT_REPLICATES)
    words = []
    for r in (5, 3):
        text, crosses = interval(r)[:2]
        words.append(f"at {r} it is {text}{' and crosses zero' if crosses else ''}")
    return (prose(f"The first line of the first one reads ({DEFAULT_REPLICATES} paired runs by default, seeds "
                  f"from the scenario's seed {res.seed}; {'; '.join(words)}):") + f"\n\n    {headline(res)}")


@figure("sweep-checkins-x-isolation-yaml", "cat scenarios/sweeps/checkins-x-isolation.yaml", "-")
def sweep_yaml() -> str:
    """README, Sweeps: the shipped example sweep file, as it is."""
    text = (SWEEP_DIR / "checkins-x-isolation.yaml").read_text(encoding="utf-8").rstrip("\n")
    return f"```yaml\n{text}\n```"


# ----------------------------------------------------------------------------- the Info files (20 seeds)

#: the seeds the Info files' means are read on; the tests behind the claims use others
#: (``tests/test_lesson.py``: ``replicate_seeds(2026, 20)``), so they check the claims rather than repeat them
INFO_SEED, INFO_SEEDS = 42, 20


def _kropotkin_settings():
    from sim.experiments.lesson import arm_table, overrides

    random_graph = overrides(arm_table()["all but network reciprocity"], 900, 4)
    return (("all on", "kropotkin", ()),
            ("no partner choice", "kropotkin", (("ties.conflict_loss", 0.0),)),
            ("payoff only", "kropotkin", (("evolution.wellbeing_weight", 0.0),)),
            ("temptation", "kropotkin", (("game.T", 1.6),)),
            ("random graph", "kropotkin", tuple(sorted(random_graph.items()))),
            ("closed", "kropotkin", (("turnover.enabled", False),)))


@figure("info-kropotkin-notice", "mutualaid run kropotkin [--set KEY=VALUE] --seed S, S in replicate_seeds(42, 20)",
        "replicate_seeds(42, 20)", cheap=False)
def info_kropotkin_notice() -> str:
    """scenarios/info/kropotkin.md, Things to notice: means over 20 seeds of the shipped scenario and five
    one-change variants (the lesson's measures: helpers and stress over the last 30 days)."""
    from sim.experiments.lesson import TAIL

    r = _many(_kropotkin_settings(), INFO_SEED, INFO_SEEDS)
    on, npc, pay, tmp, rnd, clo = (r[x] for x in ("all on", "no partner choice", "payoff only", "temptation",
                                                   "random graph", "closed"))
    mean = lambda df, c: float(df[c].mean())  # noqa: E731
    every = lambda df: "in every seed" if bool((df["helpers"] > 0.5).all()) else "not in every seed"  # noqa: E731
    h, st = mean(on, "helpers"), mean(on, "stress")
    diff = mean(rnd, "helpers") - h
    test = "(test: tests/test_lesson.py::{})"
    return "\n".join([
        bullet(f"Within the year helpers go from {pct(mean(on, 'helpers_start'))} on day 0 to {pct(h)} of the "
        f"community (over the last {TAIL} days), and mean stress "
        f"{'falls' if st < mean(on, 'stress_start') else 'rises'} from {num(mean(on, 'stress_start'))} on day 0 "
        f"to {num(st)}, with {pct(mean(on, 'using'))} of members using on an average day ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_kropotkin_helpers_spread_to_most_and_the_community_heals"),
        bullet(f"With `ties.conflict_loss` set to 0 (no partner choice) helpers reach only {num(mean(npc, 'helpers'))},"
        f" stress ends {times(mean(npc, 'stress'), st)} ({num(mean(npc, 'stress'))}) and there are "
        f"{more_or_fewer(mean(npc, 'relapses_per_100'), mean(on, 'relapses_per_100'))} relapses "
        f"({mean(npc, 'relapses_per_100'):.0f} against {mean(on, 'relapses_per_100'):.0f} per 100 members a "
        f"year) ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_without_partner_choice_fewer_helpers_and_a_community_in_crisis"),
        bullet(f"With `evolution.wellbeing_weight` set to 0, imitating payoff alone, helpers end at "
        f"{num(mean(pay, 'helpers'))} and are a majority {every(pay)} ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_payoff_alone_helpers_still_win"),
        bullet(f"With `game.T` set to 1.6 (taking pays more) helpers end {higher_or_lower(mean(tmp, 'helpers'), h)}, "
        f"at {num(mean(tmp, 'helpers'))}, a majority {every(tmp)}, and stress is "
        f"{higher_or_lower(mean(tmp, 'stress'), st)} ({num(mean(tmp, 'stress'))}) ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_higher_temptation_fewer_helpers_more_stress"),
        bullet(f"The grid does not decide: the same members on a random graph with the same mean number of ties end "
        f"with {num(mean(rnd, 'helpers'))} helpers, {abs(diff):.3f} {'more' if diff > 0 else 'fewer'} than on "
        f"the lattice ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_a_random_graph_does_as_well_as_the_lattice"),
        bullet(f"With `turnover.enabled` set to false (nobody leaves, nobody arrives) helpers end at "
        f"{num(mean(clo, 'helpers'))}, a majority {every(clo)} ({INFO_SEEDS} seeds)."),
        "  " + test.format("test_a_closed_community_still_ends_with_most_helping"),
    ])


@figure("info-struggle-notice", "mutualaid run struggle [--set turnover.enabled=false] --seed S, S in "
        "replicate_seeds(42, 20)", "replicate_seeds(42, 20)", cheap=False)
def info_struggle_notice() -> str:
    """scenarios/info/struggle.md, Things to notice: means over 20 seeds."""
    from sim.experiments.lesson import TAIL

    r = _many((("struggle", "struggle", ()), ("closed", "struggle", (("turnover.enabled", False),))),
              INFO_SEED, INFO_SEEDS)
    s, c = r["struggle"], r["closed"]
    test = "  (test: tests/test_lesson.py::test_struggle_helpers_collapse_then_newcomers_bring_a_few_back)"
    day = float(s["day_min"].median())
    return "\n".join([
        bullet(f"Helpers fall from {pct(s['helpers_start'].mean())} on day 0 to {pct(s['helpers_min'].mean())} of "
        f"the community at their lowest, on day {day:.0f} (the median over seeds) ({INFO_SEEDS} seeds)."),
        test,
        bullet(f"Members drop out by the hundreds over the year ({s['dropouts_per_100'].mean():.0f} per 100 members), "
        f"and the newcomers who take their places bring the share of helpers back up to "
        f"{num(s['helpers'].mean())} (over the last {TAIL} days) ({INFO_SEEDS} seeds).")
        if s["dropouts_per_100"].mean() >= 100 else
        bullet(f"{s['dropouts_per_100'].mean():.0f} members per 100 drop out over the year, and helpers end at "
        f"{num(s['helpers'].mean())} ({INFO_SEEDS} seeds)."),
        test,
        bullet(f"Mean stress at the end of the year is {num(s['stress'].mean())}"
        f"{': the community stays in crisis' if s['stress'].mean() >= 0.5 else ''} ({INFO_SEEDS} seeds)."),
        test,
        bullet(f"With `turnover.enabled` set to false, nobody leaves or arrives and helpers end at "
        f"{pct(c['helpers'].mean())} on average ({INFO_SEEDS} seeds)."),
        test,
    ])


def _sweep_into(name: str, out: Path) -> None:
    """Run (or resume, or find finished) the shipped sweep ``name`` in ``out``. A folder of the same sweep run
    by other code is never read: the sweep refuses it (its fingerprint holds a hash of ``sim/``), and so does
    this, saying what to do."""
    try:
        run_sweep(load_sweep(name), out)
    except SweepError as e:
        if "different sweep" not in str(e):
            raise
        raise DocsError(f"docs: {out} holds the {name} sweep as other code (or another file) ran it, and its "
                        f"figures are not this code's: move that folder away, then rerun (it runs the sweep "
                        f"anew)") from None


# ----------------------------------------------------------------------------- the phase diagram (a sweep)

#: where ``mutualaid sweep kropotkin-phase`` writes by default: a finished sweep there is read, not rerun
PHASE_OUT = Path("results") / "sweeps" / "kropotkin-phase"


@figure("tour-phase-diagram", "mutualaid sweep kropotkin-phase", "2006 (the sweep's seed; 4 replicates a point)",
        cheap=False)
def tour_phase_diagram() -> str:
    """README: where helpers hold a majority in the phase diagram, psychology off and on. The sweep resumes
    from ``results/sweeps/kropotkin-phase/`` under the current folder, so a finished sweep there is read
    and nothing runs; otherwise it runs (about 2 minutes on 2 cores)."""
    import pandas as pd


    sweep = load_sweep("kropotkin-phase")
    _sweep_into("kropotkin-phase", PHASE_OUT)
    runs = pd.read_parquet(PHASE_OUT / "runs.parquet")
    means = runs.groupby(["psychology.enabled", "network.degree", "donation.b_over_c"])["final_helpers"].mean()

    def threshold(psych: bool, k: int) -> str:
        s = means.loc[(psych, k)].sort_index()
        win = s > 0.5
        # the smallest b/c from which helpers hold a majority at it and every larger b/c
        for bc in s.index:
            if win.loc[bc:].all():
                return f"{bc:g}"
        return "none of the ratios"

    degrees = sorted(runs["network.degree"].unique())
    off = ", ".join(f"{threshold(False, k)} at k = {k}" for k in degrees)
    on = ", ".join(f"{threshold(True, k)} at k = {k}" for k in degrees)
    return prose(
        f"In that sweep (seed {sweep.seed}, {sweep.replicates} replicates a point), helpers hold a majority at "
        f"the end (the mean over replicates above one half, at that ratio and every larger one) from b/c = "
        f"{off} with psychology off, and from b/c = {on} with psychology on.")


# ----------------------------------------------------------------------------- validation

@figure("validation", "mutualaid validate", "fixed in sim/experiments/validate.py (calibration seeds from 0, "
        "validation seeds from 1000)", cheap=False)
def validation() -> str:
    """README, Validation: what ``mutualaid validate`` prints (every check, grouped), minutes of CPU."""
    checks = validate.run(quick=False, log=lambda _: None)
    return f"Result: {validate.summary(checks)}.\n\n{validate.table(checks)}"


# ----------------------------------------------------------------------------- docs/SENSITIVITY.md

#: where the Sobol sweep of docs/SENSITIVITY.md is written (its commands' --out): a finished one is read
SOBOL_OUT = Path("results") / "sweeps" / "sobol-psychology"


@figure("sensitivity-ranking", "mutualaid sweep sobol-psychology --out results/sweeps/sobol-psychology; mutualaid "
        "report results/sweeps/sobol-psychology; python -m sim.experiments.sensitivity "
        "results/sweeps/sobol-psychology", "the sweep's seed (common seeds, one run a sample)", cheap=False)
def sensitivity_ranking() -> str:
    """docs/SENSITIVITY.md: the eight largest total Sobol indices per outcome. The sweep resumes from
    ``results/sweeps/sobol-psychology/`` under the current folder (nothing runs when it is finished there;
    otherwise 1,728 runs, about 5 minutes on 2 cores)."""
    import pandas as pd

    from sim.experiments.report import write_report
    from sim.experiments.sensitivity import markdown

    _sweep_into("sobol-psychology", SOBOL_OUT)
    write_report(SOBOL_OUT)
    return markdown(pd.read_csv(SOBOL_OUT / "sobol.csv"), top=8)


# ----------------------------------------------------------------------------- docs/ODD.md

@figure("odd-effects", "mutualaid validate (its effect sizes: python -m sim.experiments.effects on the same runs)",
        "validation seeds 1000-1019, 730 days", cheap=False)
def odd_effects() -> str:
    """docs/ODD.md 1.3: the effect sizes of check-ins, sponsorship and a closure on the validation runs of the
    full ``mutualaid validate`` (shared with the ``validation`` block when both run in one command)."""
    from sim.experiments.effects import effects, table

    runs = validation_runs(False)
    return table(effects(runs), len(runs["baseline"]))


@figure("odd-lesson", "mutualaid lesson kropotkin", "replicate_seeds(42, 20) (children of the scenario's seed)",
        cheap=False)
def odd_lesson() -> str:
    """docs/ODD.md 1.4: the lesson's table, as ``mutualaid lesson kropotkin`` prints it (240 runs, a few
    minutes on 2 cores)."""
    from sim.experiments.lesson import run_lesson, table

    return table(run_lesson("kropotkin"))


# ----------------------------------------------------------------------------- docs/CLASSROOM.md

#: the guide's scripted classes: seeds 1..GUIDE_SEEDS, 30 students in a community of 60, 12 weekly rounds
GUIDE_SEEDS = 8


@figure("classroom-guide", "python -c \"from sim.experiments.classroom import scripted_class; "
        "print(scripted_class('mutual aid', seed=1))\" (and 'each alone'; seeds 1-8)", "1-8", cheap=False)
def classroom_guide() -> str:
    """docs/CLASSROOM.md: what a class that answers one way all through a 12-week game does to its community,
    beside the same community played by bots alone (:func:`sim.experiments.classroom.scripted_class`)."""
    from sim.experiments.classroom import POLICIES, scripted_class
    from sim.experiments.compare import paired_difference

    def as_many(x: float, than: float) -> str:
        r = x / than if than else float("inf")
        return ("about twice as many" if 1.85 <= r <= 2.15 else f"{r:.1f} times as many" if r >= 1.05 else
                "about as many" if r > 0.95 else "fewer")

    names = {"helpers": "share helping (last day)", "mean_stress": "mean stress (last day)",
             "using": "share using (last day)", "lapses": "lapses (all the days)",
             "dropouts": "drop-outs (all the days)"}  # the words of the teacher's debrief table
    rows = ["| the class's answers | measure | the class | bots alone | difference (95% interval) |",
            "|---|---|---|---|---|"]
    worse = {}
    for policy in POLICIES:
        runs = [scripted_class(policy, seed=s) for s in range(1, GUIDE_SEEDS + 1)]
        for key, label in names.items():
            ours = np.array([r["last_day"][key]["class"] for r in runs])
            bots = np.array([r["last_day"][key]["bots"] for r in runs])
            mean, lo, hi, _ = paired_difference(bots, ours)
            digits = 0 if key in ("lapses", "dropouts") else 2
            rows.append(f"| {policy} | {label} | {ours.mean():.{digits}f} | {bots.mean():.{digits}f} | "
                        f"{mean:+.{digits}f} ({lo:+.{digits}f} to {hi:+.{digits}f}) |")
            worse[(policy, key)] = (mean, lo, hi, ours.mean(), bots.mean())
    d_alone = worse[("each alone", "dropouts")]
    d_aid = worse[("mutual aid", "dropouts")]
    said = (f"A class whose students each look after themselves ends the 84 days with "
            f"{as_many(d_alone[3], d_alone[4])} drop-outs as the bots alone ({d_alone[3]:.1f} against "
            f"{d_alone[4]:.1f} a game); one that practises mutual aid with {more_or_fewer(d_aid[3], d_aid[4])} "
            f"({d_aid[3]:.1f})" + (", though its interval holds zero" if d_aid[1] <= 0 <= d_aid[2] else
                                   ", and its interval leaves out zero") + ".")
    return ("\n".join(rows) + "\n\n" +
            prose(f"Means over {GUIDE_SEEDS} seeds; each seed's class and bots play the same community. {said}"))
