"""Both engines against the independent plain-Python reference (``tests/reference.py``).

The engines share their stage bodies, so agreeing with each other proves the
plumbing; agreeing with a reference written separately from docs/ODD.md
proves the rules. Same bits are required: state, ties and the day's values
after every stage of every step (a difference names the stage, the member
and the variable), the day's counts, and the members table at the end.
"""

import numpy as np
import pytest
from hypothesis import given, settings

from sim.core.arrays import STATE_NAMES
from sim.core.scenarios import load_scenario
from sim.core.schedule import SCHEDULE
from sim.engines.agents import MutualAidModel
from sim.engines.kernel import KernelModel

from .reference import Reference
from .strategies import scenarios

COUNTS = ("lapses", "relapses", "checkins", "sponsor_calls", "dropouts")


def reference_for(model):
    g = model.graph
    neighbours = [list(g.indices[g.indptr[i]:g.indptr[i + 1]]) for i in range(g.n)]
    return Reference(model.scenario, neighbours, groups=g.groups)


def first_difference(model, ref, when):
    """The first value where the engine and the reference differ: member state, the day's values the
    reference has computed so far (by the engines' array names) and ties; None if they agree.
    ``when`` names the step and the stage, so that a failure points at the stage that went wrong."""
    comm = model.community
    ids = comm["member_id"]
    values = {name: ref.state(name) for name in STATE_NAMES} | ref.today
    for name, expected in values.items():
        got = comm[name]
        want = np.array(expected, dtype=got.dtype)
        if not np.array_equal(got, want):
            i = int(np.flatnonzero(got != want)[0])
            return (f"{when}: {name} of slot {i} (member {ids[i]}) differs from the reference: "
                    f"engine {got[i].item()!r}, reference {want[i].item()!r}")
    ptr, nbr, w = model.tie_arrays()
    for i, ties in enumerate(ref.tie_list()):
        got = list(zip(nbr[ptr[i]:ptr[i + 1]].tolist(), w[ptr[i]:ptr[i + 1]].tolist()))
        if got != ties:
            return (f"{when}: ties of slot {i} (member {ids[i]}) differ from the reference: engine {got}, "
                    f"reference {ties}")
    return None


def step_both(model, ref, step, today):
    """Day ``step`` on the engine and the reference, compared after every stage the engine runs (the
    reference runs its stages up to the same one first): the first difference names its stage."""
    done = [0]  # reference stages run so far today

    def catch_up(name):
        while done[0] < len(Reference.STAGES):
            stage = Reference.STAGES[done[0]]
            getattr(ref, stage)()
            done[0] += 1
            if stage == name:
                return

    def after(stage):
        catch_up(stage.name)
        problem = first_difference(model, ref, f"step {step}, after stage {stage.name!r} (ODD {stage.section})")
        assert problem is None, problem

    ref.open_day(today)
    model.step(after_stage=after)
    catch_up(None)
    problem = first_difference(model, ref, f"step {step}, at the end of the day")
    assert problem is None, problem


def test_the_reference_runs_the_schedule_s_stages_in_its_order():
    assert Reference.STAGES == tuple(s.name for s in SCHEDULE)


def assert_matches_reference(model, steps, choices=None):
    """``choices(step, member_ids)``: the people's decisions of that day, {slot: {...}} (ODD 7.0)."""
    from sim.core.choices import Decision

    ref = reference_for(model)
    problem = first_difference(model, ref, "day 0 (after the burn-in, if any)")
    assert problem is None, problem
    for step in range(1, steps + 1):
        today = choices(step, model.community["member_id"]) if choices else {}
        ids = model.community["member_id"]
        model.decide([Decision(step, int(ids[i]), help=d.get("help"), attend=d.get("attend"),
                               checkin=d["checkin"] if d.get("checkin") in (None, "nobody")
                               else int(ids[d["checkin"]]), call=d.get("call"))
                      for i, d in today.items()])
        step_both(model, ref, step, today)
        row = model.metrics_frame().iloc[-1]
        for c in COUNTS:
            assert row[c] == ref.counts[c], f"{c} differs from the reference at step {step}"
    members = model.members_frame()
    for col in ("left_step", "first_use_step", "sponsor_id"):
        members[col] = members[col].fillna(-1).astype(int)
    expected = {r["id"]: r for r in ref.records + [ref.record(i, -1) for i in range(ref.n)]}
    assert sorted(expected) == members["id"].tolist()
    for row in members.itertuples():
        e = expected[row.id]
        assert (row.joined_step, row.start_day, row.strategy_final, row.used_days, row.sponsees,
                row.checkins_received, bool(row.ever_used), row.attended_days, row.sober_days_start) == (
            e["joined_step"], e["start_day"], e["strategy_final"], e["used_days"], e["sponsees"],
            e["checkins_received"], e["ever_used"], e["attended_days"], e["sober_days_start"]), f"member {row.id}"
        assert (row.help_share, row.left_step, row.first_use_step, row.sponsor_id) == (
            e["help_share"], e["left_step"], e["first_use_step"], e["sponsor_id"]), f"member {row.id}"
        assert (row.lapses, row.relapses, row.meeting, row.trial_arm, row.help_acts) == (
            e["lapses"], e["relapses"], e["meeting"], e["trial_arm"], e["help_acts"]), f"member {row.id}"
    m = model.metrics_frame()
    assert members["lapses"].sum() == m["lapses"].sum() and members["relapses"].sum() == m["relapses"].sum()


@settings(max_examples=120)
@given(o=scenarios())
def test_kernel_matches_the_reference_on_generated_communities(o):
    sc = load_scenario(None, o)
    assert_matches_reference(KernelModel(sc), sc.steps)


@settings(max_examples=30)
@given(o=scenarios())
def test_mesa_engine_matches_the_reference_on_generated_communities(o):
    sc = load_scenario(None, o)
    assert_matches_reference(MutualAidModel(sc), sc.steps)


@pytest.mark.parametrize("name, small", [
    ("baseline", {"population.size": 120}),
    ("isolation-with-checkins", {"population.size": 100, "isolation.start": 5, "isolation.duration": 20}),
    ("struggle", {"population.size": 60}),
    ("kropotkin", {"network.width": 10, "network.height": 10}),
    ("death-birth", {"population.size": 40}),
    ("baseline", {"population.size": 140, "network.kind": "sbm", "network.groups": 2, "turnover.crisis_days": 3}),
    ("baseline", {"population.size": 120, "trial.enabled": True, "population.burn_in": 30}),
    ("baseline", {"population.size": 150, "trial.enabled": True, "trial.design": "meetings",
                  "trial.intervention": "sponsorship", "population.burn_in": 30}),
])
def test_shipped_scenarios_match_the_reference(name, small):
    sc = load_scenario(name, dict(small, steps=40))
    assert_matches_reference(KernelModel(sc), sc.steps)


def people(seed, n, share=0.3):
    """Random decisions of people playing some members each day (every kind, and none)."""
    rng = np.random.default_rng(seed)

    def today(step, ids):
        out = {}
        for i in range(n):
            if rng.random() < share:
                opt = lambda: rng.random() < 0.5 if rng.random() < 0.7 else None  # noqa: E731
                target = int(rng.integers(n)) if rng.random() < 0.6 else ("nobody" if rng.random() < 0.5 else None)
                out[i] = {"help": opt(), "attend": opt(), "checkin": target, "call": opt()}
        return out

    return today


@settings(max_examples=40)
@given(o=scenarios())
def test_people_s_decisions_match_the_reference_in_both_engines(o):
    sc = load_scenario(None, o)
    seed = int(sc.seed) % 1000
    assert_matches_reference(KernelModel(sc), sc.steps, people(seed, sc.population.size))
    assert_matches_reference(MutualAidModel(sc), sc.steps, people(seed, sc.population.size))

