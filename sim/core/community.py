"""The community's state, in one place for both engines.

A run's whole state lives in flat numpy arrays indexed by member *slot*
(``0..n-1``), declared once in :data:`sim.core.layout.MEMBER_ARRAYS`. The compiled stage
bodies (:mod:`sim.core.stages`) reach them through one numba ``structref``,
the community handle ``c`` (:class:`sim.core.layout.CommunityRef`), whose fields are

- every array: :data:`~sim.core.layout.MEMBER_ARRAYS` by slot (``c.stress[i]``), the ties and
  the layout (:data:`~sim.core.layout.OTHER_ARRAYS`), ``c.clock`` (int64 (6,): today's day,
  whether isolation is in force, whether any tie is scaled by it, the next
  member id, whether strategies are revised today, whether a person decided
  anything today) and ``c.keys`` (uint64
  (NPURPOSE,): today's stream key of every random-draw purpose);
- every parameter, one field per schema key (``checkins.prob`` is
  ``c.checkins_prob``; :data:`~sim.core.layout.PARAM_FIELDS`, :func:`~sim.core.layout.params_of`), and the
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

from types import SimpleNamespace

import numba
import numpy as np

from sim.core import rng, stages
from sim.core._ref import new_ref
from sim.core.arrays import STATE_NAMES
from sim.core.layout import (
    ARRAY_NAMES,
    DAY,
    FIELD_NAMES,
    MEMBER_ARRAYS,
    NEXT_ID,
    NPURPOSE,
    REF_PATH,
    CommunityRef,
    constructor_source,
    params_of,
)
from sim.core.schema import Scenario


def _new_ref(arrays: dict, params) -> CommunityRef:
    values = [arrays[name] for name in ARRAY_NAMES] + list(params)
    if numba.config.DISABLE_JIT:  # pure Python (coverage): the same fields on a plain object
        return SimpleNamespace(**dict(zip(FIELD_NAMES, values)))
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
        a = self.arrays
        return stages.compact_ties(a["tie_ptr"], a["tie_nbr"], a["tie_w"], a["deg"])

    def neighbours(self, i: int) -> np.ndarray:
        """Slots tied to member ``i`` today, ascending."""
        a = self.arrays
        start = a["tie_ptr"][i]
        return a["tie_nbr"][start:start + a["deg"][i]].copy()


if __name__ == "__main__":
    REF_PATH.write_text(constructor_source(), encoding="utf-8")
    print(f"wrote {REF_PATH}")
