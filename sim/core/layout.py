"""The layout of the community's state: its arrays, its parameters and the compiled handle's type.

:mod:`sim.core.community` (the Python side: building, copying, reading a
community), the generated constructor :mod:`sim.core._ref` and the stage
bodies :mod:`sim.core.stages` all read this module, which reads none of
them (docs: :mod:`sim.core.community`).
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.experimental import structref
from numba.extending import intrinsic

from sim.core import rng
from sim.core.arrays import KEPT, MEMBERS
from sim.core.registry import dotted_key, flat_key
from sim.core.schema import EVOLUTION_RULES, NEWCOMER_STRATEGIES, TRIAL_INTERVENTIONS, Scenario

#: Per-member arrays: name -> (dtype, group), from their declaration (:data:`sim.core.arrays.MEMBERS`).
MEMBER_ARRAYS: dict[str, tuple[type, str]] = {a.name: (a.dtype, a.group) for a in MEMBERS}

#: Arrays that are not one value per member.
OTHER_ARRAYS: dict[str, type] = {
    "tie_ptr": np.int64,       # (n+1,) first tie slot of each member
    "tie_nbr": np.int32,       # (sum of capacities,) neighbour slot, -1 when empty
    "tie_w": np.float64,       # (sum of capacities,) tie weight
    "deg": np.int32,           # (n,) ties in use
    "meeting_of": np.int32,    # (n,) meeting of each slot
    "meeting_start": np.int64,  # (meetings+1,) slots of meeting k: meeting_start[k]..meeting_start[k+1]-1
    "closed": np.bool_,        # (n,) whose meeting closes while isolation is in force
    "trial_arm": np.int8,      # (n,) trial arm of each slot: 1 intervention, 0 control (all 1 without a trial)
    "clock": np.int64,         # (6,) today: day, isolation in force, ties scaled by it, next member id, revision
                               # day, whether any person decided something today
    "keys": np.uint64,         # (NPURPOSE,) today's stream key of every random-draw purpose
}

ARRAY_NAMES = tuple(MEMBER_ARRAYS) + tuple(OTHER_ARRAYS)

# clock entries
DAY, ISO_ON, ANY_ISO, NEXT_ID, REVISING, CHOICES = 0, 1, 2, 3, 4, 5
#: Size of the per-day stream-key table (every purpose in sim.core.rng is below it).
NPURPOSE = 37

#: Schema sections whose fields the stages read (as ``c.<section>_<key>``, e.g. ``c.checkins_prob``).
PARAM_SECTIONS = ("population", "game", "psychology", "attendance", "checkins", "sponsorship", "isolation",
                  "ties", "evolution", "turnover", "recovery", "trial")
#: Parameters that are not a number or flag of those sections.
EXTRA_PARAMS = {
    "network_self_interaction": lambda sc: bool(sc.network.self_interaction),
    "evolution_rule_code": lambda sc: EVOLUTION_RULES.index(sc.evolution.rule),
    "newcomer_strategy_code": lambda sc: NEWCOMER_STRATEGIES.index(sc.turnover.newcomer_strategy),
    "trial_intervention_code": lambda sc: TRIAL_INTERVENTIONS.index(sc.trial.intervention),
    "run_key": lambda sc: rng.run_key(sc.seed),
}


def _param_fields() -> dict[str, type]:
    """Every parameter the stages may read, with its Python type (bool, int or float)."""
    out: dict[str, type] = {}
    for section in PARAM_SECTIONS:
        cls = Scenario.model_fields[section].annotation
        for key, field in cls.model_fields.items():
            if field.annotation in (bool, int, float):
                out[flat_key(f"{section}.{key}")] = field.annotation
    out["network_self_interaction"] = bool
    out["evolution_rule_code"] = int
    out["newcomer_strategy_code"] = int
    out["trial_intervention_code"] = int
    out["run_key"] = np.uint64
    return out


PARAM_FIELDS = _param_fields()
Params = namedtuple("Params", list(PARAM_FIELDS))


def _params_plan() -> list[tuple[str | None, list[tuple[str, type]]]]:
    """How :func:`params_of` reads the parameters: each section's fields in :data:`PARAM_FIELDS` order
    (a section's fields are consecutive there), then the extra ones (section ``None``)."""
    plan: list[tuple[str | None, list[tuple[str, type]]]] = []
    for name, typ in PARAM_FIELDS.items():
        section, _, key = (None, "", name) if name in EXTRA_PARAMS else dotted_key(name).partition(".")
        if not plan or plan[-1][0] != section:
            plan.append((section, []))
        plan[-1][1].append((key, typ))
    return plan


_PARAMS_PLAN = _params_plan()


def params_of(sc: Scenario) -> Params:
    """The scenario's parameters as the stages see them (types fixed, so one compilation serves all)."""
    values = []
    for section, fields in _PARAMS_PLAN:
        if section is None:
            values += [typ(EXTRA_PARAMS[name](sc)) for name, typ in fields]
        else:
            d = getattr(sc, section).__dict__
            values += [typ(d[key]) for key, typ in fields]
    return Params._make(values)


# ----------------------------------------------------------------------------- the structref
assert not set(ARRAY_NAMES) & set(PARAM_FIELDS), "an array and a parameter share a name"
FIELD_NAMES = ARRAY_NAMES + tuple(PARAM_FIELDS)


@structref.register
class CommunityType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class CommunityRef(structref.StructRefProxy):
    """Python handle of the compiled community (pass it to the stage bodies).

    It keeps the numpy arrays its fields point into alive (``_arrays``).
    """


@intrinsic
def borrowed(typingctx, arr):
    """The array ``arr`` without its reference count: the same data, shape and strides, no owner.

    The handle's array fields are stored this way. Reading a field of a
    structref otherwise takes a reference (an atomic increment and decrement
    of the array's count); in a ``prange`` loop every thread then writes the
    same counters for every member and field, and the threads queue on them.
    The arrays are owned by :attr:`Community.arrays` (and ``ref._arrays``),
    which live as long as the handle.
    """
    def codegen(context, builder, sig, args):
        ary = cgutils.create_struct_proxy(sig.args[0])(context, builder, value=args[0])
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        ary.parent = cgutils.get_null_value(ary.parent.type)
        return ary._getvalue()

    return arr(arr), codegen


structref.define_boxing(CommunityType, CommunityRef)


def _field_types():
    dtypes = {name: dt for name, (dt, _) in MEMBER_ARRAYS.items()}
    dtypes.update(OTHER_ARRAYS)
    out = [(name, types.Array(numba.from_dtype(np.dtype(dt)), 1, "C")) for name, dt in dtypes.items()]
    scalar = {bool: types.boolean, int: types.int64, float: types.float64, np.uint64: types.uint64}
    out += [(name, scalar[t]) for name, t in PARAM_FIELDS.items()]
    return out


COMMUNITY_TYPE = CommunityType(_field_types())


def constructor_source() -> str:
    """The source of ``sim/core/_ref.py``: the handle's constructor, one assignment per field, and the
    kernels written from the arrays' declaration (:mod:`sim.core.arrays`)."""
    args = ", ".join(FIELD_NAMES)
    lines = ['"""Generated by ``python -m sim.core.community``: do not edit (tests/test_docs.py checks it)."""',
             "", "from numba import njit", "from numba.experimental import structref", "",
             "from sim.core.layout import COMMUNITY_TYPE, borrowed", "", "",
             "@njit(cache=True)", f"def new_ref({args}):  # noqa: E501",
             "    c = structref.new(COMMUNITY_TYPE)"]
    lines += [f"    c.{name} = borrowed({name})" for name in ARRAY_NAMES]
    lines += [f"    c.{name} = {name}" for name in PARAM_FIELDS]
    lines += ["    return c", "", "",
              "@njit(cache=True)", "def start_records(c, i):",
              '    """Member ``i``\'s lifetime record as its observation begins (sim.core.arrays: ``observed``)."""']
    lines += [f"    c.{a.name}[i] = {a.observed or repr(a.empty)}" for a in KEPT if a.group == "record"]
    lines += ["", "", "@njit(cache=True)", "def clear_member(c, i):",
              '    """Slot ``i`` at the empty value of every state and record array (sim.core.arrays): the state\'s',
              '    empty values, and the record begun on them (which is the record\'s empty values)."""']
    lines += [f"    c.{a.name}[i] = {a.empty!r}" for a in KEPT if a.group == "state"]
    lines += ["    start_records(c, i)", ""]
    return "\n".join(lines)


REF_PATH = Path(__file__).with_name("_ref.py")
