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
