"""The parameter registry: everything known about each scenario key, read from its one declaration.

Each key is declared once, as its field in :mod:`sim.core.schema`: the type annotation, and a call of
``P(default, meaning, ge=..., le=..., **what else is known)``::

    lapse_max: Float = P(0.056, "daily lapse probability as craving approaches 1", ge=0, le=1,
        unit="probability per day", fitted=(0.03, 0.09), sobol=1)

The keywords beyond the bounds are :class:`sim.core.schema.Meta`'s fields: ``unit``; where the default
comes from (``fitted=(low, high)``, the calibration's prior; ``sourced="..."`` or ``design="..."``, the
source; nothing: *free* in a section about people, a *setting* elsewhere); ``sobol=N``, the key's place in
the Sobol sweep; the dashboard's ``label``, ``control=(group, position)``, ``page=(min, max)`` slider range
and ``page_for`` (narrower ranges for named scenarios). :data:`PARAMS` reads them into one
:class:`Param` per key, and everything that used to list keys by hand is generated from it:

- :func:`sim.core.provenance.status` and its ``FITTED``, ``SOURCED``, ``DESIGN``;
- :data:`sim.experiments.calibrate.SPACE` (:func:`fitted_space`);
- the dashboard's ``LABELS``, ``CONTROL_GROUPS``, ``PAGE_LIMITS``, ``SCENARIO_LIMITS`` (dashboards/support.py);
- the JSON Schema (``mutualaid schema``: pydantic, with the units) and docs/ODD.md's parameter tables
  (``python -m sim.odd``);
- the parameter block of ``scenarios/sweeps/sobol-psychology.yaml`` (:func:`sobol_ranges`; also written
  by ``python -m sim.odd``, and tests/test_docs.py fails when the file differs).

Adding a parameter is one line in its section of sim/core/schema.py (then using it in the rules, and
``python -m sim.odd`` to rewrite the generated tables). :func:`flat_key` and :func:`dotted_key` are the one
place where a dotted key (``psychology.lapse_max``) and its flat keyword form (``psychology_lapse_max``,
what ``MutualAidModel(**params)`` takes) are converted.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from sim.core.schema import CONTROL_GROUP_TITLES, STATUSES, Meta, Scenario

#: Sections whose numeric keys describe people and support (free unless fitted, sourced or design).
PEOPLE_SECTIONS = ("psychology", "attendance", "checkins", "sponsorship", "turnover", "recovery", "ties")


def flat_key(dotted: str) -> str:
    """``"checkins.enabled"`` -> ``"checkins_enabled"``."""
    return dotted.replace(".", "_", 1)


def dotted_key(flat: str) -> str:
    """Inverse of :func:`flat_key`: section names hold no underscore, so the first one splits."""
    if flat in Scenario.model_fields or "." in flat:
        return flat
    section, _, key = flat.partition("_")
    return f"{section}.{key}"


def rule_status(key: str, kind: str) -> str:
    """The status of a key that declares none: *free* if a number in a section about people, else *setting*."""
    section = key.split(".", 1)[0] if "." in key else ""
    return "free" if section in PEOPLE_SECTIONS and kind in ("int", "float") else "setting"


@dataclass(frozen=True)
class Param:
    """One scenario key and everything known about it."""

    key: str  #: dotted
    kind: str  #: "int", "float", "bool", "str", "choice" (a Literal), "int or null"...
    default: Any
    meaning: str
    field: Any  #: pydantic's FieldInfo (annotation, bounds)
    meta: Meta
    status: str

    @property
    def unit(self) -> str:
        return self.meta.unit

    @property
    def source(self) -> str:
        return self.meta.source


def unwrap_optional(ann: Any) -> tuple[Any, bool]:
    """``Optional[X]`` -> ``(X, True)``; anything else -> ``(ann, False)``."""
    args = typing.get_args(ann)
    if args and type(None) in args and typing.get_origin(ann) is not Literal:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return ann, False


def type_name(ann: Any) -> str:
    """The type name the ODD tables and the status rule use: int, float, bool, str, choice (a Literal), "X or null"."""
    inner, optional = unwrap_optional(ann)
    if typing.get_origin(inner) is Literal:
        name = "choice"
    else:
        names = {bool: "bool", int: "int", float: "float", str: "str"}
        name = names.get(inner, getattr(inner, "__name__", str(inner)))
    return f"{name} or null" if optional else name


def _params(model: type[BaseModel] = Scenario, prefix: str = "") -> dict[str, Param]:
    out, sections = {}, []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            sections.append((name, ann))
            continue
        key, kind = prefix + name, type_name(ann)
        meta = field.json_schema_extra if isinstance(field.json_schema_extra, Meta) else Meta()
        out[key] = Param(key, kind, field.default, field.description or "", field, meta,
                         meta.status or rule_status(key, kind))
    for name, sub in sections:
        out.update(_params(sub, prefix + name + "."))
    return out


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"sim/core/schema.py: {message}")


def _check(params: dict[str, Param]) -> None:
    """The declarations are coherent (checked on import: a wrong one fails every test at once)."""
    places = {}
    for p in params.values():
        m = p.meta
        _need(p.status in STATUSES, f"{p.key}: status {p.status!r}")
        _need((m.prior is not None) == (p.status == "fitted"), f"{p.key}: a fitted key has a prior, no other")
        _need(bool(m.source) == (p.status in ("sourced", "design")), f"{p.key}: a source goes with sourced/design")
        _need(m.sobol is None or p.status in ("fitted", "free"), f"{p.key}: the Sobol sweep screens fitted/free")
        _need(m.control is None or bool(m.label and m.control[0] in CONTROL_GROUP_TITLES),
              f"{p.key}: a control needs a label and a group of CONTROL_GROUP_TITLES")
        for place in ((m.sobol and ("sobol", m.sobol)), m.control):
            if place:
                _need(place not in places, f"{p.key} and {places.get(place)} share {place}")
                places[place] = p.key
    fitted = [p for p in params.values() if p.status == "fitted"]
    _need(all(p.meta.sobol is not None for p in fitted), "the Sobol sweep screens every fitted key")


#: Every scalar scenario key (dotted), in schema order: top-level keys first, then each section's.
PARAMS: dict[str, Param] = _params()
_check(PARAMS)


def keys_with(status: str) -> list[str]:
    return [k for k, p in PARAMS.items() if p.status == status]


def _by_sobol() -> list[Param]:
    return sorted((p for p in PARAMS.values() if p.meta.sobol is not None), key=lambda p: p.meta.sobol)


def fitted_space() -> dict[str, tuple[float, float]]:
    """The fitted keys and their calibration priors, in the Sobol sweep's order (calibrate.SPACE)."""
    return {p.key: p.meta.prior for p in _by_sobol() if p.status == "fitted"}


def _round(x: float) -> float:
    return float(f"{x:.12g}")


def sobol_ranges() -> dict[str, tuple[float, float]]:
    """The ranged keys of the Sobol sweep, in order: fitted ones over their priors, free ones over half to
    one and a half times their defaults."""
    return {p.key: p.meta.prior if p.meta.prior is not None
            else (_round(0.5 * p.default), _round(1.5 * p.default)) for p in _by_sobol()}


def labels() -> dict[str, str]:
    """Dotted key -> the dashboard's label, for every key that declares one."""
    return {k: p.meta.label for k, p in PARAMS.items() if p.meta.label}


def control_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The Explore view's controls: (group title, dotted keys in order), groups in page order."""
    placed = sorted((p.meta.control[1], p.key, p.meta.control[0]) for p in PARAMS.values() if p.meta.control)
    return tuple((title, tuple(k for _, k, g in placed if g == title)) for title in CONTROL_GROUP_TITLES)


def page_limits() -> dict[str, tuple[float, float]]:
    """Dotted key -> the dashboard's slider range (narrower than the schema's bounds)."""
    return {k: p.meta.page for k, p in PARAMS.items() if p.meta.page}


def scenario_limits() -> dict[str, dict[str, tuple[float, float]]]:
    """Scenario name -> {dotted key: its narrower slider range on that scenario's page}."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for k, p in PARAMS.items():
        for name, limits in p.meta.page_for:
            out.setdefault(name, {})[k] = limits
    return out
