"""The import contract: each layer imports only itself and the layers below it, and modules form no loops.

The graph is read from the source with ``ast`` (nothing is imported): every ``import`` and ``from ...
import`` of a ``sim`` module, at the top of a module or inside a function (an import deferred for start-up
time is a dependency all the same). Not counted: imports under ``if TYPE_CHECKING:`` (type names only,
never run) and ``from sim import __version__`` (the package's version string, set in ``sim/__init__.py``
before it imports anything).

The layers, top to bottom (README, "Code layout"):

1. entry points: ``sim.cli``, ``sim.__main__``, the dashboard ``sim.dashboards`` (``dashboards/``)
2. the Python API: ``sim`` (its lazy ``sim.run`` etc.), ``sim.api`` (``sim.sweep``, ``sim.batch_run``)
3. experiments: ``sim.experiments`` (compare, trial, lesson, sweep, report, validate, ...)
4. outputs: ``sim.output``, ``sim.progress``, ``sim.draw``, ``sim.movie``, ``sim.info``, ``sim.odd``
5. the run layer: ``sim.runner`` (one scenario run on an engine: what the experiments call)
6. engines: ``sim.engines``
7. core: ``sim.core``
8. shipped files: ``sim.scenarios``, ``sim.docs`` (data; they import nothing)

Known loops, allowed until they are broken (a test fails once one is gone, so the list stays true): see
:data:`KNOWN_LOOPS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: where each package's modules live in the repository (pyproject.toml maps the dashboard's folder)
SOURCES = {"sim": ROOT / "sim", "sim.dashboards": ROOT / "dashboards"}

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("sim.cli", "sim.__main__", "sim.dashboards")),
    ("the Python API", ("sim", "sim.api")),
    ("experiments", ("sim.experiments",)),
    ("outputs", ("sim.output", "sim.progress", "sim.draw", "sim.movie", "sim.info", "sim.odd")),
    ("the run layer", ("sim.runner",)),
    ("engines", ("sim.engines",)),
    ("core", ("sim.core", "sim.limits")),
    ("shipped files", ("sim.scenarios", "sim.docs")),
)

#: Import loops that remain, each with why. A loop found that is not here fails the test, and so does one
#: listed here that is gone (remove it then).
KNOWN_LOOPS: dict[frozenset[str], str] = {}


def _module_files() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for f in sorted(folder.rglob("*.py")):
            rel = f.relative_to(folder).with_suffix("")
            parts = [] if rel.parts == ("__init__",) else list(rel.parts)
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            if package == "sim" and name.startswith("sim.dashboards"):
                continue
            mods[name] = f
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node that runs (not under ``if TYPE_CHECKING:``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, dict[str, list[int]]]:
    """``{module: {imported sim module: [line, ...]}}`` for every module of the package."""
    mods = _module_files()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, list[int]]] = {m: {} for m in mods}
    for name, f in mods.items():
        is_pkg = f.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        for node in _imports(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name == "sim" or a.name.startswith("sim.")]
            else:
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if not (mod == "sim" or mod.startswith("sim.")):
                    continue
                names = [a.name for a in node.names]
                if mod == "sim" and names == ["__version__"]:
                    continue  # the version string, set before sim/__init__.py imports anything
                for n in names:
                    targets.append(f"{mod}.{n}" if f"{mod}.{n}" in mods else mod)
            for t in targets:
                k = known(t)
                if k is not None and k != name:
                    graph[name].setdefault(k, []).append(node.lineno)
    return graph


def layer_of(module: str) -> int | None:
    best, depth = None, -1
    for i, (_, members) in enumerate(LAYERS):
        for m in members:
            exact_only = m == "sim"  # the package's __init__, not everything under it
            if module == m or (not exact_only and module.startswith(m + ".")):
                if len(m) > depth:
                    best, depth = i, len(m)
    return best


def loops(graph: dict[str, dict[str, list[int]]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[frozenset[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_graph_is_read(graph):
    """The reader sees the imports it must (so the checks below are not vacuous)."""
    assert "sim.runner" in graph["sim.api"]
    assert "sim.core.scenarios" in graph["sim.runner"]
    assert "sim.runner" in graph["sim.experiments.compare"]  # inside a function
    assert "sim.core.rng" in graph["sim.core.community"]  # from sim.core import rng: the module, not sim.core
    assert "sim.core.schema" not in graph["sim.core.networks"]  # only under TYPE_CHECKING there
    assert "sim.dashboards.support" in graph["sim.dashboards.app"]


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if layer_of(m) is None] == [], "add the module to a layer in LAYERS (and the README)"


def test_no_module_imports_a_layer_above_its_own(graph):
    upward = [f"{a} (layer {LAYERS[layer_of(a)][0]!r}) imports {b} (layer {LAYERS[layer_of(b)][0]!r}) "
              f"on line {', '.join(map(str, lines))}"
              for a, targets in sorted(graph.items()) for b, lines in sorted(targets.items())
              if layer_of(b) < layer_of(a)]
    assert upward == [], "\n".join(upward)


def test_no_import_loops_but_the_known_ones(graph):
    found = set(loops(graph))
    new = [sorted(c) for c in found - set(KNOWN_LOOPS)]
    assert new == [], f"import loops: {new}"
    gone = [KNOWN_LOOPS[c] for c in set(KNOWN_LOOPS) - found]
    assert gone == [], f"no longer loops (remove them from KNOWN_LOOPS): {gone}"


def test_the_checks_catch_an_upward_import_and_a_loop():
    """The two checks fail on a made-up graph that breaks them."""
    g = {"sim.core.rng": {"sim.api": [1]}, "sim.api": {"sim.core.rng": [2]}}
    assert layer_of("sim.api") < layer_of("sim.core.rng")  # an upward import
    assert loops(g) == [frozenset({"sim.core.rng", "sim.api"})]
    assert layer_of("sim") != layer_of("sim.output") and layer_of("sim.nothing") is None


# ----------------------------------------------------------------------------- imports at the top

#: libraries whose import costs start-up time or that come with an optional extra: a function-level import
#: of one of them (or of a ``sim`` module) needs a stated reason. The standard library is not checked.
HEAVY = ("numba", "numpy", "pandas", "scipy", "matplotlib", "PIL", "networkx", "mesa", "solara", "dask",
         "distributed", "dask_jobqueue", "bokeh", "SALib", "pyabc", "lifelines", "imageio", "imageio_ffmpeg",
         "pyarrow", "duckdb", "markdown", "segno", "playwright", "yaml", "pydantic", "altair", "ipyvue",
         "ipyvuetify")

#: Modules being changed on other branches in this round (issue 29): not held to the convention until those
#: branches are merged; then remove each from here and give it its block (the test fails on a listed module
#: that no longer needs the exemption, so the list cannot go stale).
DEFERRED_NOT_YET: dict[str, str] = {}  # every module keeps the convention now

DEFERRED_HEAD = "# Deferred imports"


def deferred_block(source: str) -> dict[str, str]:
    """``{module: reason}`` from a module's comment block that states its deferred imports::

        # Deferred imports (inside the functions that need them):
        # - sim.engines.kernel, numba: the kernels compile on first use, not when this module loads.
        # - markdown: it comes with the dashboard's extra.

    An item names modules up to its first colon, the reason follows (both may go on over the comment lines
    after it). A name covers itself and every module below it (``sim.experiments`` covers
    ``sim.experiments.trial``)."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(DEFERRED_HEAD)]
    if not starts:
        return {}
    items: list[str] = []
    for line in lines[starts[0] + 1:]:
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        if text.startswith("- "):
            items.append(text[2:])
        elif items:
            items[-1] += " " + text
    out: dict[str, str] = {}
    for item in items:
        head, _, reason = item.partition(":")
        for n in head.split(","):
            if n.strip():
                out[n.strip()] = reason.strip()
    return out


def function_level_imports(tree: ast.AST, every: bool = False) -> list[tuple[str, int]]:
    """(module, line) of every import inside a function (at any depth) of a ``sim`` module or of a library
    in :data:`HEAVY` (with ``every``, of any module: the standard library's too)."""
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if inside and isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.Import):
                    mods = [a.name for a in child.names]
                elif child.level == 0 and child.module:  # from a.b import c: a.b.c (a name or a module)
                    mods = [f"{child.module}.{a.name}" for a in child.names]
                else:
                    mods = []
                for m in mods:
                    if every or m == "sim" or m.startswith("sim.") or m.split(".")[0] in HEAVY:
                        out.append((m, child.lineno))
            visit(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return out


def _covers(name: str, module: str) -> bool:
    return module == name or module.startswith(name + ".")


def deferred_problems(source: str) -> list[str]:
    """What breaks the convention in one module's source: a function-level import its block does not name,
    a named import without a reason, a name no function-level import needs any more."""
    block = deferred_block(source)
    found = function_level_imports(ast.parse(source))
    out = [f"line {line}: {m} is imported inside a function; move it to the top or name it, with the reason, "
           f"in a '{DEFERRED_HEAD}' comment block" for m, line in found if not any(_covers(n, m) for n in block)]
    out += [f"{n}: no reason given" for n, why in block.items() if not why]
    every = function_level_imports(ast.parse(source), every=True)
    out += [f"{n}: named in the block but no function imports it" for n in block
            if not any(_covers(n, m) for m, _ in every)]
    return out


def _exempt(module: str) -> str | None:
    return next((k for k in DEFERRED_NOT_YET if _covers(k, module)), None)


def test_imports_are_at_the_top_unless_a_reason_is_stated():
    """Issue 29: imports at the top of modules unless there is a stated reason (start-up time of the command
    line, numba's compile time, an optional extra, an import loop). A module that defers an import lists it
    in one comment block near its top, with the reason."""
    problems = []
    for name, f in sorted(_module_files().items()):
        if _exempt(name):
            continue
        problems += [f"{f.relative_to(ROOT)}: {p}" for p in deferred_problems(f.read_text(encoding="utf-8"))]
    assert problems == [], "\n".join(problems)


def test_the_exempt_modules_still_need_it():
    """An exemption (DEFERRED_NOT_YET) whose modules all keep the convention by now is removed."""
    needed = {_exempt(name) for name, f in _module_files().items()
              if _exempt(name) and deferred_problems(f.read_text(encoding="utf-8"))}
    assert set(DEFERRED_NOT_YET) - needed == set(), "remove these from DEFERRED_NOT_YET"


def test_the_deferred_imports_check_catches_an_unstated_import():
    code = "import os\n\n\ndef f():\n    import pandas as pd\n    from sim.api import run\n    import json\n"
    assert [m for m, _ in function_level_imports(ast.parse(code))] == ["pandas", "sim.api.run"]  # json: stdlib
    assert len(deferred_problems(code)) == 2
    stated = "# Deferred imports:\n# - pandas: start-up time\n# - sim: the command line\n#   loads it late\n" + code
    assert deferred_problems(stated) == [] and deferred_block(stated)["sim"] == "the command line loads it late"
    assert deferred_problems("# Deferred imports:\n# - scipy: unused\n" + code)[-1].startswith("scipy: named")
