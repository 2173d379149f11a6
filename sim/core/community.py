"""The community's state, in one place for both engines.

A run's whole state lives in flat numpy arrays indexed by member *slot*
(``0..n-1``), declared once in :data:`MEMBER_ARRAYS`. The compiled stage
bodies (:mod:`sim.core.stages`) reach them through one numba ``structref``,
the community handle ``c`` (:class:`CommunityRef`), whose fields are

- every array: :data:`MEMBER_ARRAYS` by slot (``c.stress[i]``), the ties and
  the layout (:data:`OTHER_ARRAYS`), ``c.clock`` (int64 (6,): today's day,
  whether isolation is in force, whether any tie is scaled by it, the next
  member id, whether strategies are revised today, whether a person decided
  anything today) and ``c.keys`` (uint64
  (NPURPOSE,): today's stream key of every random-draw purpose);
- every parameter, one field per schema key (``checkins.prob`` is
  ``c.checkins_prob``; :data:`PARAM_FIELDS`, :func:`params_of`), and the
  run's key ``c.run_key``.

The handle is a pointer: a stage called for one member from Python (the Mesa
engine) costs about a microsecond, and the same body runs in ``prange``
loops (the kernel engine) at array speed. The fields are flat on purpose:
numba reads a field of a structref with one load, where a field of a large
named tuple costs a copy of the whole tuple outside parallel loops. The
numpy arrays in :attr:`Community.arrays` and the handle share memory: what
one writes, the other reads. Its constructor, one assignment per field, is
generated (``python -m sim.core.community`` writes ``sim/core/_ref.py``; a
test fails when it is stale), so that numba can cache it.

Ties live in fixed slots per member: member ``i`` owns entries
``tie_ptr[i] .. tie_ptr[i+1]-1`` of ``tie_nbr``/``tie_w`` (its day-0 degree
plus ``ties.extra_slots``), of which the first ``deg[i]`` hold neighbours in
ascending slot order; ties form and break without reallocation.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.experimental import structref
from numba.extending import intrinsic

from sim.core import rng
from sim.core.registry import dotted_key, flat_key
from sim.core.schema import EVOLUTION_RULES, NEWCOMER_STRATEGIES, TRIAL_INTERVENTIONS, Scenario

#: Per-member arrays: name -> (dtype, group). Groups: ``state`` (carried from
#: day to day), ``record`` (the lifetime record of members.parquet), ``day``
#: (today's transient values, written by the stages and read by later
#: stages or the commit), ``choice`` (a person's decisions for today, set
#: before the day and cleared after it: :mod:`sim.core.choices`), ``scratch``
#: (work space of tie formation).
MEMBER_ARRAYS: dict[str, tuple[type, str]] = {
    # state (docs/ODD.md 2.2)
    "member_id": (np.int64, "state"),
    "strategy": (np.int8, "state"),
    "stress": (np.float64, "state"),
    "craving": (np.float64, "state"),
    "using": (np.bool_, "state"),
    "use_days": (np.int32, "state"),
    "sober_days": (np.int32, "state"),
    "start_day": (np.int32, "state"),
    "joined_step": (np.int32, "state"),
    "original": (np.bool_, "state"),
    "missed": (np.int32, "state"),
    "sponsor": (np.int32, "state"),
    "sponsees": (np.int32, "state"),
    "engaged": (np.float64, "state"),
    "crisis_days": (np.int32, "state"),
    "capital": (np.float64, "state"),
    "propensity": (np.float64, "state"),
    "readiness": (np.float64, "state"),
    "weekly": (np.int8, "state"),
    "weekday": (np.int8, "state"),
    # lifetime record
    "ever_used": (np.bool_, "record"),
    "first_use_step": (np.int32, "record"),
    "used_days": (np.int32, "record"),
    "help_days": (np.int32, "record"),
    "days": (np.int32, "record"),
    "sponsor_id": (np.int64, "record"),
    "sponsees_total": (np.int32, "record"),
    "checkins_received": (np.int32, "record"),
    "attended_days": (np.int32, "record"),
    "sober_days_start": (np.int32, "record"),
    "lapses_total": (np.int32, "record"),
    "relapses_total": (np.int32, "record"),
    "help_acts_total": (np.int32, "record"),
    # today's transient values
    "iso": (np.bool_, "day"),
    "attended": (np.bool_, "day"),
    "due": (np.bool_, "day"),
    "role": (np.int8, "day"),
    "next_missed": (np.int32, "day"),
    "tie_total": (np.float64, "day"),
    "payoff": (np.float64, "day"),
    "help_given": (np.float64, "day"),
    "support": (np.float64, "day"),
    "conflict": (np.float64, "day"),
    "lonely": (np.float64, "day"),
    "scarce": (np.float64, "day"),
    "checkins_in": (np.int32, "day"),
    "reached": (np.bool_, "day"),
    "calls_made": (np.int32, "day"),
    "called": (np.bool_, "day"),
    "answered": (np.int32, "day"),
    "next_stress": (np.float64, "day"),
    "next_craving": (np.float64, "day"),
    "next_using": (np.bool_, "day"),
    "next_use_days": (np.int32, "day"),
    "next_sober_days": (np.int32, "day"),
    "next_crisis": (np.int32, "day"),
    "next_capital": (np.float64, "day"),
    "lapsed": (np.bool_, "day"),
    "relapsed": (np.bool_, "day"),
    "fitness": (np.float64, "day"),
    "next_strategy": (np.int8, "day"),
    "leaving": (np.bool_, "day"),
    # a person's decisions for today (sim.core.choices), 0 = none: the rule decides
    "choice_help": (np.int8, "choice"),      # 1 COMPETE, 2 HELP
    "choice_attend": (np.int8, "choice"),    # 1 stays away, 2 goes to a meeting
    "choice_checkin": (np.int32, "choice"),  # 1 calls nobody, k + 2 checks on slot k
    "choice_call": (np.int8, "choice"),      # 1 does not call its sponsor, 2 calls
    # scratch of tie formation (one segment per meeting)
    "buf_slot": (np.int64, "scratch"),
    "buf_key": (np.float64, "scratch"),
}

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

#: The state a member carries (what ``state_arrays`` reports and the engines compare).
STATE_NAMES = ("member_id", "strategy", "stress", "craving", "using", "use_days", "sober_days", "missed",
               "sponsor", "sponsees", "crisis_days", "capital", "propensity", "readiness",
               "engaged", "weekly", "weekday")

ARRAY_NAMES = tuple(MEMBER_ARRAYS) + tuple(OTHER_ARRAYS)

# clock entries
DAY, ISO_ON, ANY_ISO, NEXT_ID, REVISING, CHOICES = 0, 1, 2, 3, 4, 5
#: Size of the per-day stream-key table (every purpose in sim.core.rng is below it).
NPURPOSE = 37

#: Schema sections whose fields the stages read (as ``c.p.<section>_<key>``).
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
    """The source of ``sim/core/_ref.py``: the handle's constructor, one assignment per field."""
    args = ", ".join(FIELD_NAMES)
    lines = ['"""Generated by ``python -m sim.core.community``: do not edit (tests/test_docs.py checks it)."""',
             "", "from numba import njit", "from numba.experimental import structref", "",
             "from sim.core.community import COMMUNITY_TYPE, borrowed", "", "",
             "@njit(cache=True)", f"def new_ref({args}):  # noqa: E501",
             "    c = structref.new(COMMUNITY_TYPE)"]
    lines += [f"    c.{name} = borrowed({name})" for name in ARRAY_NAMES]
    lines += [f"    c.{name} = {name}" for name in PARAM_FIELDS]
    lines += ["    return c", ""]
    return "\n".join(lines)


REF_PATH = Path(__file__).with_name("_ref.py")


def _new_ref(arrays: dict, params) -> CommunityRef:
    values = [arrays[name] for name in ARRAY_NAMES] + list(params)
    if numba.config.DISABLE_JIT:  # pure Python (coverage): the same fields on a plain object
        return SimpleNamespace(**dict(zip(FIELD_NAMES, values)))
    from sim.core._ref import new_ref

    ref = new_ref(*values)
    ref._arrays = arrays  # the fields borrow these arrays: keep them alive with the handle
    return ref


# ----------------------------------------------------------------------------- the Python side
#: Stream of the trial's assignment (its own generator: no other draw moves when a trial is added).
TRIAL_STREAM = 0x7121A1


def trial_arms(sc: Scenario, meeting_of: np.ndarray) -> np.ndarray:
    """7.13 Each slot's trial arm: 1 intervention, 0 control; all 1 without a trial.

    A balanced draw: exactly ``round(trial.share * n)`` slots (design ``individual``) or
    ``round(trial.share * meetings)`` whole meetings (design ``meetings``) are in the intervention
    arm, chosen by a permutation from ``numpy.random.default_rng(SeedSequence([seed, TRIAL_STREAM]))``.
    A newcomer who takes a slot takes its arm.
    """
    n = meeting_of.shape[0]
    t = sc.trial
    if not t.enabled:
        return np.ones(n, dtype=np.int8)
    gen = np.random.default_rng(np.random.SeedSequence([int(sc.seed), TRIAL_STREAM]))
    if t.design == "individual":
        chosen = np.zeros(n, dtype=bool)
        chosen[gen.permutation(n)[:int(round(t.share * n))]] = True
    else:
        m = int(meeting_of.max()) + 1
        on = np.zeros(m, dtype=bool)
        on[gen.permutation(m)[:int(round(t.share * m))]] = True
        chosen = on[meeting_of]
    return chosen.astype(np.int8)


class Community:
    """A run's state: the arrays, the parameters and the compiled handle ``ref``.

    Built once from a scenario and its day-0 network; both engines hold one
    and step it with the stages of :mod:`sim.core.schedule`.

    Parameters
    ----------
    scenario : Scenario
    graph : sim.core.networks.Graph
        Day-0 ties (CSR, rows ascending).
    neighbours : list of sequences, optional
        Each slot's day-0 neighbours, ascending; default: the graph's rows.
        The Mesa engine passes what its space says.
    """

    def __init__(self, scenario: Scenario, graph, neighbours=None):
        from sim.core import stages

        sc = scenario
        self.scenario = sc
        self.graph = graph
        n = graph.n
        self.n = n
        self.n0 = n
        self.key = rng.run_key(sc.seed)
        self.params = params_of(sc)
        a = {name: np.zeros(n, dtype=dt) for name, (dt, _) in MEMBER_ARRAYS.items()}
        # layout: meetings, tie capacity, who is closed by isolation (docs/ODD.md 2.3 and 5)
        if graph.groups is not None:
            meeting_of = np.asarray(graph.groups, dtype=np.int32)
        else:
            meeting_of = (np.arange(n) // sc.meetings.size).astype(np.int32)
        if np.any(np.diff(meeting_of) < 0):
            raise ValueError("meetings must be contiguous ranges of member slots")
        m = int(meeting_of.max()) + 1
        meeting_start = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(meeting_of, minlength=m), out=meeting_start[1:])
        if neighbours is None:
            deg = graph.degree().astype(np.int32)
            nbr_flat = graph.indices.astype(np.int32)
        else:
            deg = np.array([len(x) for x in neighbours], dtype=np.int32)
            nbr_flat = np.fromiter((j for row in neighbours for j in row), dtype=np.int32, count=int(deg.sum()))
        cap = deg.astype(np.int64) + sc.ties.extra_slots
        tie_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(cap, out=tie_ptr[1:])
        row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(deg, out=row_ptr[1:])
        tie_nbr = np.full(tie_ptr[-1], -1, dtype=np.int32)
        tie_w = np.zeros(tie_ptr[-1], dtype=np.float64)
        stages.fill_ties(row_ptr, nbr_flat, tie_ptr, tie_nbr, tie_w, float(sc.ties.initial_weight))
        clock = np.zeros(6, dtype=np.int64)
        clock[NEXT_ID] = n
        a.update(tie_ptr=tie_ptr, tie_nbr=tie_nbr, tie_w=tie_w, deg=deg, meeting_of=meeting_of,
                 meeting_start=meeting_start, closed=np.zeros(n, dtype=np.bool_),
                 trial_arm=trial_arms(sc, meeting_of), clock=clock,
                 keys=np.zeros(NPURPOSE, dtype=np.uint64))
        self.arrays = a
        self.clock = clock
        self.ref = _new_ref(a, self.params)
        stages.init_all(self.ref)
        self.records: list[dict[str, np.ndarray]] = []  # leavers' records, in chunks
        self.counts = dict(lapses=0, relapses=0, checkins=0, sponsor_calls=0, dropouts=0)
        self.mean_payoff = float("nan")
        self.met_today = False

    def copy(self) -> "Community":
        """An independent community in the same state (arrays copied, a new compiled handle on them):
        stepping either leaves the other as it was. A page reuses a burnt-in day 0 this way instead of
        living the burn-in again."""
        import copy as _copy

        other = object.__new__(Community)
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("arrays", "ref", "clock",
                                                                                   "records", "counts")})
        other.arrays = {k: v.copy() for k, v in self.arrays.items()}
        other.clock = other.arrays["clock"]
        other.ref = _new_ref(other.arrays, other.params)
        other.records = _copy.deepcopy(self.records)
        other.counts = dict(self.counts)
        return other

    # ------------------------------------------------------------------ reading
    @property
    def day(self) -> int:
        return int(self.clock[DAY])

    @property
    def meetings(self) -> int:
        return self.arrays["meeting_start"].shape[0] - 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Member state by slot (copies), for drawing and engine comparison."""
        return {k: self.arrays[k].copy() for k in STATE_NAMES}

    def tie_arrays(self):
        """Current ties as CSR arrays ``(ptr, nbr, w)``, neighbours ascending per slot."""
        from sim.core.stages import compact_ties

        a = self.arrays
        return compact_ties(a["tie_ptr"], a["tie_nbr"], a["tie_w"], a["deg"])

    def neighbours(self, i: int) -> np.ndarray:
        """Slots tied to member ``i`` today, ascending."""
        a = self.arrays
        start = a["tie_ptr"][i]
        return a["tie_nbr"][start:start + a["deg"][i]].copy()


if __name__ == "__main__":
    REF_PATH.write_text(constructor_source(), encoding="utf-8")
    print(f"wrote {REF_PATH}")
