"""Where each parameter's default comes from (the ``status`` column of docs/ODD.md 7.12).

Each key declares it in sim/core/schema.py (``fitted=(low, high)``, ``sourced="..."``, ``design="..."``
or nothing); the lists here are read from there (:mod:`sim.core.registry`).

``fitted``
    set by the pattern-oriented calibration (docs/ODD.md 1.2): the keys of
    :data:`sim.experiments.calibrate.SPACE`.
``sourced``
    taken from a published figure, named in its declaration.
``design``
    a definition or modelling choice stated in the ODD, not an empirical
    quantity (how long a newcomer counts as new, what counts as a relapse).
``free``
    hand-set, neither fitted nor sourced: what the model's results may
    depend on without support. docs/SENSITIVITY.md screens the fitted and
    the main free ones with Sobol indices.
``setting``
    what a scenario chooses (sizes, network, game, switches, the closure's
    timing, the initial state the burn-in starts from): not a property of
    people in recovery.
"""

from __future__ import annotations

from sim.core.registry import PARAMS, PEOPLE_SECTIONS, fitted_space, keys_with, rule_status

__all__ = ["FITTED", "SOURCED", "DESIGN", "PEOPLE_SECTIONS", "status"]

#: the fitted keys, in the calibration's order
FITTED: tuple[str, ...] = tuple(fitted_space())
#: sourced key -> the published figure its default comes from
SOURCED: dict[str, str] = {k: PARAMS[k].source for k in keys_with("sourced")}
#: design key -> the definition or choice its default is
DESIGN: dict[str, str] = {k: PARAMS[k].source for k in keys_with("design")}


def status(key: str, kind: str) -> str:
    """The status of scenario key ``key`` (dotted) of type name ``kind`` (``int``, ``float``, ``bool``...)."""
    meta = PARAMS[key].meta if key in PARAMS else None
    return meta.status if meta and meta.status else rule_status(key, kind)
