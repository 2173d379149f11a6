"""The points of a sweep: its design (a grid, or ranges sampled by Latin hypercube, Saltelli's scheme for
Sobol indices or Morris's trajectories; the grammar is :mod:`sim.experiments.sweep.grammar`'s)."""

# Deferred imports (inside the functions that need them):
# - scipy, SALib: a Latin hypercube, Sobol or Morris design needs them; a grid, and the sweep package
#   (which every worker and `mutualaid sweep` load), do without them.

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.scenarios import field_of, schema_key_set

if TYPE_CHECKING:
    from sim.experiments.sweep.points import Sweep


SAMPLINGS = ("grid", "latin", "saltelli", "morris")
#: Morris grid levels when a sweep file names none (Saltelli & al. 2008 recommend 4 with about 10 trajectories)
MORRIS_LEVELS = 4


@functools.lru_cache(maxsize=None)
def _field_type(key: str):
    """The Python type of a dotted scenario key (int, float, bool, str, ...)."""
    ann = field_of(key).annotation
    return ann if isinstance(ann, type) else None


def _morris_step(levels: int) -> float:
    """The step of a Morris trajectory as a share of a range: ``levels / (2 (levels - 1))`` (SALib's delta)."""
    return levels / (2 * (levels - 1))


def morris_design(problem: dict, trajectories: int, levels: int, seed: int) -> np.ndarray:
    """Morris's design (SALib, no trajectory optimisation): ``trajectories * (D + 1)`` rows, one parameter a row
    changing by :func:`_morris_step` of its range from the row before within each trajectory of D + 1 rows.
    The same arguments give the same design."""
    from SALib.sample import morris

    return morris.sample(problem, trajectories, num_levels=levels, seed=seed)


def _cast(key: str, v: Any) -> Any:
    typ = _field_type(key) if key in schema_key_set() else float
    if typ is int and isinstance(v, float):
        return int(round(v))
    return v


def expand(sweep: Sweep) -> list[dict[str, Any]]:
    """The points of a sweep, each a mapping of swept key -> value."""
    names = list(sweep.swept)
    if sweep.sampling == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*sweep.swept.values())]
    ss = np.random.SeedSequence([sweep.seed, 0x5EED])  # the design's own stream, apart from run seeds
    if sweep.sampling == "latin":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(ss)).random(sweep.samples)
        lo = np.array([sweep.swept[k][0] for k in names], float)
        hi = np.array([sweep.swept[k][1] for k in names], float)
        x = qmc.scale(unit, lo, hi)
    elif sweep.sampling == "morris":
        x = morris_design(sweep.problem(), sweep.samples, sweep.levels, seed=int(ss.generate_state(1)[0] >> 1))
        sweep.design = x
    else:
        from SALib.sample import sobol

        x = sobol.sample(sweep.problem(), sweep.samples, calc_second_order=False, scramble=True,
                         seed=int(ss.generate_state(1)[0] >> 1))
    return [{k: _cast(k, float(row[i])) for i, k in enumerate(names)} for row in x]
