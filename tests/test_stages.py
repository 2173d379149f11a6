"""Specifications of the stages on hand-built communities of a few members (docs/ODD.md 7.4-7.11).

Each test builds a community from a handful of hand-placed ties, sets the
state that matters, runs one stage body for the members (as either engine
does) and states what must happen: who is checked on and by whom, which
sponsor a newcomer gets, when a call is answered, when a lapse becomes a
relapse, which ties form at a meeting, who leaves and what a newcomer
inherits.
"""

import numpy as np
import pytest

from sim.core import rng, schedule, stages
from sim.core.community import Community
from sim.core.networks import from_edges
from sim.core.scenarios import load_scenario
from sim.core.schema import Scenario
from sim.engines.agents import MutualAidModel

HELP, COMPETE = 1, 0


def community(n, edges, **over) -> Community:
    """A community of ``n`` members on ``edges``, one meeting, every switch off unless given."""
    base = {"population.size": n, "network.kind": "complete", "meetings.size": n, "ties.initial_weight": 1.0, "checkins.enabled": False,
            "sponsorship.enabled": False, "turnover.enabled": False, "ties.dynamic": False,
            "population.initial_using": 0.0}
    base.update(over)
    sc = load_scenario(None, base)
    return Community(sc, from_edges(n, np.array(edges, dtype=np.int64).reshape(-1, 2)))


def set_state(comm, **columns):
    for name, values in columns.items():
        comm[name][:] = values


def run(comm, name, day=1, members=None):
    stages.open_day(comm.ref, day)
    body = schedule.STAGES[name].body
    if name == "check_in":  # the roles meet() leaves at its end, from the state set by hand
        for i in range(comm.n):
            stages.checkin_role(comm.ref, i)
    for i in range(comm.n) if members is None else members:
        body(comm.ref, i)


# ----------------------------------------------------------------------------- 7.4 check-ins
def checkin_community(**over):
    """Member 0 is absent; 1 helps and attends, 2 competes and attends, 3 helps but is using, 4 helps and is absent."""
    comm = community(5, [(0, 1), (0, 2), (0, 3), (0, 4)], **{"checkins.enabled": True, "checkins.prob": 1.0,
                                                             "checkins.missed_threshold": 2, **over})
    set_state(comm, strategy=[COMPETE, HELP, COMPETE, HELP, HELP], using=[0, 0, 0, 1, 0], missed=[2, 0, 0, 0, 0],
              attended=[0, 1, 1, 1, 0], iso=False, next_missed=[3, 0, 0, 0, 1], readiness=1.0)
    return comm


def test_an_absent_member_is_reached_only_by_sober_helpers_at_the_meeting():
    comm = checkin_community()
    run(comm, "check_in")
    assert comm["checkins_in"].tolist() == [1, 0, 0, 0, 0]       # only member 1 reaches member 0
    assert comm["calls_made"].tolist() == [0, 1, 0, 0, 0]       # and counts it as a call made
    assert comm["reached"].tolist() == [True, False, False, False, False]
    assert comm["next_missed"][0] == 0                           # the count of missed meetings starts again


def test_no_check_in_before_the_threshold_of_missed_meetings():
    comm = checkin_community()
    comm["missed"][0] = 1
    run(comm, "check_in")
    assert comm["checkins_in"].sum() == 0 and comm["calls_made"].sum() == 0
    assert comm["next_missed"][0] == 3


def test_a_helper_at_home_during_a_closure_phones():
    comm = checkin_community()
    comm["attended"][1] = False   # member 1's meeting is closed: it cannot attend but still reaches out
    comm["iso"][1] = True
    run(comm, "check_in")
    assert comm["checkins_in"][0] == 1 and comm["calls_made"][1] == 1


def test_a_check_in_happens_with_probability_prob_times_the_tie():
    comm = checkin_community(**{"checkins.prob": 0.5})
    comm["tie_w"][:] = 0.6
    day = 7
    run(comm, "check_in", day=day)
    u = rng.uniform(comm.key, day, 0, rng.CHECKIN, 1)  # the pair's draw, keyed (absent member, helper)
    assert comm["checkins_in"][0] == int(u < 0.5 * 0.6)


def capacity_community(capacity):
    """Helper 0 attends; members 1, 2, 3 are absent long enough; ties 0-1 0.4, 0-2 0.9, 0-3 0.9."""
    comm = community(4, [(0, 1), (0, 2), (0, 3)], **{"checkins.enabled": True, "checkins.prob": 1.0,
                                                     "checkins.capacity": capacity, "checkins.missed_threshold": 1})
    set_state(comm, strategy=[HELP, COMPETE, COMPETE, COMPETE], using=False, missed=[0, 3, 3, 3],
              attended=[1, 0, 0, 0], iso=False, readiness=1.0, next_missed=[0, 4, 4, 4])
    for j, w in ((1, 0.4), (2, 0.9), (3, 0.9)):
        set_tie(comm, 0, j, w)
    return comm


def test_a_helper_makes_at_most_capacity_check_ins_to_its_strongest_ties_first():
    comm = capacity_community(2)
    # with prob 1 and readiness 1, 0 would reach 1 with chance 0.4: pick a day on which it would
    day = next(d for d in range(1, 500) if rng.uniform(comm.key, d, 1, rng.CHECKIN, 0) < 0.4)
    run(comm, "check_in", day=day)
    assert comm["checkins_in"].tolist() == [0, 0, 1, 1]   # two calls: the two strongest ties
    assert comm["calls_made"][0] == 2
    comm = capacity_community(1)
    run(comm, "check_in", day=day)
    assert comm["checkins_in"].tolist() == [0, 0, 1, 0]   # one call: equal ties, the lower slot first
    assert comm["calls_made"][0] == 1


def test_a_helpers_readiness_scales_its_chance_of_reaching_out():
    comm = checkin_community()
    comm["readiness"][1] = 0.3
    hits = []
    for day in range(1, 80):
        run(comm, "check_in", day=day)
        hits.append(comm["checkins_in"][0] == 1)
        assert hits[-1] == (rng.uniform(comm.key, day, 0, rng.CHECKIN, 1) < 0.3)  # prob 1 * tie 1 * 0.3
    assert 0 < sum(hits) < len(hits)


# ----------------------------------------------------------------------------- 7.5 sponsorship
def sponsor_community(**over):
    """Newcomer 0 and candidates 1-5 in one meeting (ties from 0 to 1, 2 and 3)."""
    comm = community(6, [(0, 1), (0, 2), (0, 3)], **{"sponsorship.enabled": True, "sponsorship.capacity": 2,
                                                     "sponsorship.ask_prob": 1.0,
                                                     "sponsorship.min_sober_days": 365,
                                                     "population.newcomer_days": 90, **over})
    set_state(comm, strategy=[COMPETE, HELP, HELP, HELP, COMPETE, HELP], using=False,
              sober_days=[10, 400, 400, 100, 900, 500], start_day=[-10, -400, -400, -100, -900, -500],
              sponsor=-1, sponsees=0, sponsees_total=0, attended=True)
    comm["tie_w"][:] = 0.0
    return comm


def set_tie(comm, i, j, w):
    for a, b in ((i, j), (j, i)):
        start = comm["tie_ptr"][a]
        row = comm["tie_nbr"][start:start + comm["deg"][a]].tolist()
        comm["tie_w"][start + row.index(b)] = w


def test_a_newcomer_takes_the_eligible_helper_it_is_most_tied_to():
    comm = sponsor_community()
    set_tie(comm, 0, 1, 0.3)
    set_tie(comm, 0, 2, 0.6)
    set_tie(comm, 0, 3, 0.9)  # strongest tie, but only 100 sober days: not eligible
    run(comm, "find_sponsor")
    assert comm["sponsor"][0] == 2
    assert comm["sponsees"].tolist() == [0, 0, 1, 0, 0, 0]
    assert comm["sponsor_id"][0] == comm["member_id"][2]


def test_sponsor_ties_are_broken_by_fewest_sponsees_then_lowest_slot():
    comm = sponsor_community()
    set_tie(comm, 0, 1, 0.5)
    set_tie(comm, 0, 2, 0.5)
    comm["sponsees"][1] = 1
    run(comm, "find_sponsor")
    assert comm["sponsor"][0] == 2   # equal ties: fewer sponsees wins
    comm = sponsor_community()
    run(comm, "find_sponsor")        # no ties at all: 1, 2 and 5 are eligible with none; the lowest slot wins
    assert comm["sponsor"][0] == 1


def test_a_full_sponsor_or_one_in_a_lapse_is_passed_over():
    comm = sponsor_community()
    set_tie(comm, 0, 1, 0.5)
    comm["sponsees"][1] = 2     # at capacity
    comm["using"][2] = True     # in a lapse
    run(comm, "find_sponsor")
    assert comm["sponsor"][0] == 5


def test_only_members_at_the_meeting_pair_and_a_newcomer_asks_with_ask_prob():
    comm = sponsor_community()
    set_tie(comm, 0, 2, 0.9)
    comm["attended"][2] = False          # the strongest tie is not at today's meeting
    run(comm, "find_sponsor")
    assert comm["sponsor"][0] == 1       # no ties to 1 or 5 count 0.0: the lowest slot at the meeting
    comm = sponsor_community()
    comm["attended"][0] = False          # a newcomer who stays away does not ask
    run(comm, "find_sponsor")
    assert comm["sponsor"][0] == -1
    asked = []
    for day in range(1, 60):             # with ask_prob 0.25 it asks on the days its draw says so
        comm = sponsor_community(**{"sponsorship.ask_prob": 0.25})
        run(comm, "find_sponsor", day=day)
        asked.append(comm["sponsor"][0] >= 0)
        assert asked[-1] == (rng.uniform(comm.key, day, 0, rng.ASK, -1) < 0.25)
    assert 0 < sum(asked) < len(asked)


def test_only_newcomers_are_paired_in_slot_order():
    comm = sponsor_community(**{"sponsorship.capacity": 1})
    comm["start_day"][4] = -5      # member 4 is a newcomer too (a competitor can be sponsored)
    comm["sober_days"][4] = 5
    run(comm, "find_sponsor")
    assert comm["sponsor"].tolist() == [1, -1, -1, -1, 2, -1]  # 0 served first takes 1; 4 then takes 2


@pytest.mark.parametrize("craving, sponsor_using, answer, called", [
    (0.5, False, 1.0, True), (0.4, False, 1.0, False), (0.5, True, 1.0, False), (0.5, False, 0.0, False)])
def test_a_call_is_made_above_the_threshold_and_answered_by_a_sober_sponsor(craving, sponsor_using, answer, called):
    comm = sponsor_community(**{"sponsorship.call_threshold": 0.4, "sponsorship.answer_prob": answer})
    set_state(comm, sponsor=[2, -1, -1, -1, -1, -1], craving=[craving, 0, 0, 0, 0, 0],
              using=[0, 0, sponsor_using, 0, 0, 0], called=False, answered=0)
    run(comm, "call_sponsor")
    assert comm["called"][0] == called
    assert comm["answered"][2] == int(called)


# ----------------------------------------------------------------------------- 7.8 lapse and relapse
def test_a_lapse_becomes_a_relapse_on_the_day_it_reaches_relapse_days():
    comm = community(2, [(0, 1)], **{"psychology.relapse_days": 3, "psychology.stop_base": 0.0,
                                     "psychology.stop_support": 0.0, "checkins.stop_boost": 0.0,
                                     "psychology.lapse_max": 0.0})
    set_state(comm, using=[True, False], use_days=[1, 0])
    seen = []
    for day in (1, 2, 3):
        run(comm, "meet", day)
        run(comm, "update_mind", day)
        seen.append((int(comm["next_use_days"][0]), bool(comm["relapsed"][0])))
        run(comm, "commit", day)
    assert seen == [(2, False), (3, True), (4, False)]
    assert not comm["relapsed"][1]


def test_a_lapse_resets_sober_days_and_counts_as_a_relapse_at_once_when_relapse_days_is_1():
    comm = community(2, [(0, 1)], **{"psychology.relapse_days": 1, "psychology.lapse_max": 1.0,
                                     "psychology.lapse_midpoint": 0.0, "psychology.lapse_width": 0.001,
                                     "recovery.enabled": False})
    set_state(comm, using=False, sober_days=[40, 40], craving=0.5)
    run(comm, "meet")
    run(comm, "update_mind")
    assert comm["lapsed"].all() and comm["relapsed"].all()
    assert comm["next_sober_days"].tolist() == [0, 0] and comm["next_use_days"].tolist() == [1, 1]


# ----------------------------------------------------------------------------- 7.8 recovery capital
def capital_community(**over):
    return community(2, [(0, 1)], **{"recovery.enabled": True, "recovery.build": 0.01,
                                     "recovery.meeting_bonus": 1.0, "recovery.help_bonus": 0.0,
                                     "recovery.support_bonus": 0.0, "recovery.lapse_loss": 0.5,
                                     "recovery.protection": 1.0, **over})


def test_a_sober_day_builds_capital_a_meeting_doubles_it_and_a_lapse_halves_it():
    comm = capital_community(**{"psychology.lapse_max": 0.0})
    set_state(comm, strategy=COMPETE, capital=[0.5, 0.5], using=False, attended=[True, False])
    stages.open_day(comm.ref, 1)
    comm["attended"][:] = [True, False]
    stages.update_mind(comm.ref, 0)
    stages.update_mind(comm.ref, 1)
    assert comm["next_capital"][0] == pytest.approx(0.5 + 0.02 * 0.5)   # build 0.01 x (1 + meeting 1)
    assert comm["next_capital"][1] == pytest.approx(0.5 + 0.01 * 0.5)
    comm = capital_community(**{"psychology.lapse_max": 1.0, "psychology.lapse_midpoint": 0.0,
                                "psychology.lapse_width": 0.001, "recovery.protection": 0.0})
    set_state(comm, capital=[0.6, 0.6], using=False, craving=0.9)
    run(comm, "meet")
    run(comm, "update_mind")
    assert comm["lapsed"].all() and comm["next_capital"].tolist() == [0.3, 0.3]


def test_full_capital_with_full_protection_prevents_every_lapse():
    comm = capital_community(**{"psychology.lapse_max": 1.0, "psychology.lapse_midpoint": 0.0,
                                "psychology.lapse_width": 0.001})
    set_state(comm, capital=[1.0, 0.0], using=False, craving=0.9)
    for day in range(1, 30):
        run(comm, "meet", day)
        run(comm, "update_mind", day)
        assert not comm["lapsed"][0] and comm["lapsed"][1]


def test_day0_capital_grows_with_sober_days_and_newcomers_start_at_newcomer_capital():
    comm = capital_community(**{"population.initial_using": 0.0})
    rc = comm.scenario.recovery
    sd = comm["sober_days"].astype(float)
    assert np.allclose(comm["capital"], 1 - (1 - rc.newcomer_capital) * (1 - rc.build) ** sd)


# ----------------------------------------------------------------------------- 5 burn-in
def test_after_the_burn_in_the_members_present_are_the_day0_members():
    from sim.engines.kernel import KernelModel

    sc = load_scenario("baseline", {"population.size": 60, "population.burn_in": 120, "steps": 1})
    model = KernelModel(sc)
    comm = model.community
    assert comm["member_id"].tolist() == list(range(60))
    assert comm["original"].all() and (comm["joined_step"] == 0).all() and (comm["days"] == 0).all()
    assert comm.records == [] and comm.day == 0
    assert (comm["start_day"] <= -120).sum() < 60      # some joined during the burn-in ...
    assert (comm["start_day"] < 0).all()               # ... and every recovery began before day 0
    sponsored = comm["sponsor"] >= 0
    assert (comm["sponsor_id"][sponsored] == comm["sponsor"][sponsored]).all()
    no_burn = KernelModel(load_scenario("baseline", {"population.size": 60, "steps": 1}))
    assert not np.array_equal(no_burn.community["stress"], comm["stress"])


# ----------------------------------------------------------------------------- 7.9 new ties at a meeting
def test_attendees_are_paired_in_random_order_and_paired_couples_form_ties():
    comm = community(5, [(0, 4)], **{"ties.dynamic": True, "ties.form_prob": 1.0, "ties.new_weight": 0.2})
    set_state(comm, attended=[True, True, True, True, False])
    day = 3
    stages.open_day(comm.ref, day)
    stages.form_ties(comm.ref, 0)
    order = sorted(range(4), key=lambda i: (rng.uniform(comm.key, day, i, rng.MEET_ORDER, -1), i))
    pairs = {tuple(sorted(order[0:2])), tuple(sorted(order[2:4]))}
    ptr, nbr, w = comm.tie_arrays()
    ties = {(i, int(j)) for i in range(5) for j in nbr[ptr[i]:ptr[i + 1]] if i < j}
    assert ties == pairs | ({(0, 4)} if (0, 4) not in pairs else set())
    assert all(comm.tie_arrays()[2][k] in (0.2, 1.0) for k in range(len(nbr)))


def test_no_tie_forms_when_a_member_has_no_room():
    comm = community(3, [(0, 2)], **{"ties.dynamic": True, "ties.form_prob": 1.0, "ties.extra_slots": 0})
    set_state(comm, attended=[True, True, False])  # 0 and 1 are the only pair; 0 is full, 1 has no slot at all
    stages.open_day(comm.ref, 1)
    stages.form_ties(comm.ref, 0)
    assert comm["deg"].tolist() == [1, 0, 1]


# ----------------------------------------------------------------------------- 7.11 turnover
def test_a_member_in_crisis_too_long_leaves_and_a_newcomer_takes_the_slot():
    comm = community(4, [(0, 1), (1, 2), (2, 3)], **{"turnover.enabled": True, "turnover.crisis_days": 5,
                                                     "sponsorship.enabled": True, "turnover.leave_prob": 0.0})
    # member 1 sponsors 0 and is sponsored by 2; it has been in crisis for 5 days
    set_state(comm, crisis_days=[0, 5, 0, 4], sponsor=[1, 2, -1, -1], sponsees=[0, 1, 1, 0], stress=0.3)
    day = 9
    stages.open_day(comm.ref, day)
    schedule.turnover(comm)
    assert comm.counts["dropouts"] == 1
    assert comm["member_id"].tolist() == [0, 4, 2, 3]          # a new id in slot 1
    assert comm["sponsor"].tolist() == [-1, -1, -1, -1]        # 0 lost its sponsor; the newcomer has none
    assert comm["sponsees"].tolist() == [0, 0, 0, 0]           # 2 lost its sponsee
    assert comm["deg"].tolist() == [0, 0, 1, 1]                # the leaver's ties are gone at both ends
    assert comm["start_day"][1] == day and comm["joined_step"][1] == day and not comm["original"][1]
    assert comm["crisis_days"][1] == 0 and not comm["using"][1] and comm["sober_days"][1] == 0
    pop = comm.scenario.population
    u = rng.uniform(comm.key, day, 1, rng.NEW_CRAVING, -1)
    assert comm["craving"][1] == min(1.0, max(0.0, pop.newcomer_craving + pop.initial_spread * (2 * u - 1)))
    (record,) = comm.records
    assert record["id"].tolist() == [1] and record["left_step"].tolist() == [day]


def test_members_also_leave_for_other_reasons_with_leave_prob():
    comm = community(40, [(0, 1)], **{"turnover.enabled": True, "turnover.leave_prob": 0.1})
    day = 7
    stages.open_day(comm.ref, day)
    expected = [rng.uniform(comm.key, day, i, rng.LEAVE, -1) < 0.1 for i in range(40)]
    assert 0 < sum(expected) < 40
    schedule.turnover(comm)
    assert comm.counts["dropouts"] == sum(expected)
    assert [not comm["original"][i] for i in range(40)] == expected


@pytest.mark.parametrize("rule, helpers, expected_share", [("initial", 3, 0.25), ("mix", 3, 0.75),
                                                           ("mix", 1, 0.25)])
def test_a_newcomer_takes_its_strategy_by_the_newcomer_strategy_rule(rule, helpers, expected_share):
    comm = community(4, [(0, 1), (1, 2), (2, 3)], **{"turnover.enabled": True, "turnover.crisis_days": 5,
                                                     "population.initial_helpers": 0.25, "turnover.leave_prob": 0.0,
                                                     "turnover.newcomer_strategy": rule})
    for day in range(1, 40):
        set_state(comm, crisis_days=[9, 0, 0, 0], strategy=[HELP] * helpers + [COMPETE] * (4 - helpers))
        stages.open_day(comm.ref, day)
        schedule.turnover(comm)
        u = rng.uniform(comm.key, day, 0, rng.NEW_STRATEGY, -1)
        assert comm["strategy"][0] == (HELP if u < expected_share else COMPETE)


# ----------------------------------------------------------------------------- the schedule itself
def test_every_member_and_serial_stage_is_a_verb_of_the_mesa_member():
    from sim.engines.agents import Member

    for stage in schedule.SCHEDULE:
        if stage.scope in ("member", "serial"):
            assert callable(getattr(Member, stage.name, None)), stage.name
            assert stage.loop is not None and stage.body is getattr(stages, stage.name)


def test_the_mesa_members_neighbourhoods_come_from_its_space():
    model = MutualAidModel("nowak-may-1992", network_width=5, network_height=4)
    for member in model.members:
        from_space = sorted(a.slot for cell in member.cell.neighborhood for a in cell.agents)
        assert sorted(member.ties) == from_space
        assert [m.slot for m in member.neighbours()] == from_space


def test_stages_that_need_a_switch_do_not_run_without_it():
    comm = community(3, [(0, 1)])
    names = [s.name for s in schedule.today(comm, 1)]
    assert "check_in" not in names and "find_sponsor" not in names and "turnover" not in names
    assert names[:2] == ["choose", "meet"] and "commit" in names  # people decide first (7.0), then the meeting
    sc = Scenario()
    assert sc.checkins.enabled  # the defaults switch check-ins on


# ----------------------------------------------------------------------------- 7.1 a weekly rhythm of meetings
def rhythm_community(**over):
    """Two sober members with no ties; member 0 goes once a week on weekday 3, member 1 three times from weekday 0."""
    comm = community(2, [], **{"attendance.rhythm": True, "attendance.show": 1.0, "attendance.tie_effect": 0.0,
                               "attendance.stress_effect": 0.0, "population.newcomer_days": 0, **over})
    set_state(comm, weekly=[1, 3], weekday=[3, 0], stress=0.0, using=False, engaged=0.0, missed=[4, 4],
              start_day=-1000)
    return comm


def test_a_member_goes_only_on_its_own_meeting_days():
    from sim.core.rules import scheduled

    # once a week: one day in seven; three times from weekday 0: weekdays 2, 4 and 6 (spread evenly)
    assert [d for d in range(7) if scheduled(d, 1, 3)] == [2]
    assert [d for d in range(7) if scheduled(d, 3, 0)] == [2, 4, 6]
    assert [d for d in range(7) if scheduled(d, 7, 5)] == list(range(7))
    assert all(sum(scheduled(d, k, w) for d in range(7)) == k for k in range(1, 8) for w in range(7))
    assert [scheduled(d, 1, 3) for d in (-12, -5, 2, 9)] == [True] * 4      # negative days (burn-in) too
    comm = rhythm_community()
    attended = {}
    for day in range(14, 21):
        run(comm, "meet", day=day)
        attended[day % 7] = comm["attended"].tolist()
    assert [d for d in range(7) if attended[d][0]] == [2]          # show 1.0: every own meeting, nothing else
    assert [d for d in range(7) if attended[d][1]] == [2, 4, 6]


def test_missed_counts_own_meetings_not_days():
    comm = rhythm_community(**{"attendance.show": 0.0})  # nobody goes: each own meeting is a missed one
    for day in range(14, 21):
        run(comm, "meet", day=day)
        due = [day % 7 == 2, day % 7 in (2, 4, 6)]
        assert comm["next_missed"].tolist() == [4 + d for d in due], f"day {day}"


def test_a_newcomer_goes_to_more_meetings_a_week():
    comm = rhythm_community(**{"population.newcomer_days": 90, "attendance.newcomer_weekly": 5})
    set_state(comm, start_day=[10, -1000])  # member 0 began 4-10 days ago; member 1 is long in recovery
    days = []
    for day in range(14, 21):
        run(comm, "meet", day=day)
        days.append(bool(comm["attended"][0]))
    assert sum(days) == 5


def test_a_check_in_keeps_working_for_effect_days():
    from sim.core.rules import engagement_next

    assert engagement_next(0.3, True, 30.0) == 1.0
    assert engagement_next(1.0, False, 1.0) == 0.0               # effect_days 1: only the day after
    e = 1.0
    for _ in range(30):
        e = engagement_next(e, False, 30.0)
    assert abs(e - (29 / 30) ** 30) < 1e-15                     # keeps 1 - 1/30 a day: about e^-1 after 30 days
    # and it raises the chance of going to one's meeting: show 0.5 + boost 0.3 * engagement
    comm = rhythm_community(**{"attendance.show": 0.5, "attendance.checkin_boost": 0.3})
    day = next(d for d in range(16, 4000, 7) if 0.5 <= rng.uniform(comm.key, d, 0, rng.ATTEND, -1) < 0.65)
    run(comm, "meet", day=day)
    assert not comm["attended"][0]
    comm["engaged"][0] = 0.6                                     # 0.5 + 0.18 = 0.68 > the draw
    run(comm, "meet", day=day)
    assert comm["attended"][0]


def test_re_engagement_helps_a_using_member_stop_for_weeks():
    comm = community(2, [], **{"checkins.enabled": True, "checkins.effect_days": 10.0, "checkins.stop_boost": 0.5,
                               "psychology.stop_base": 0.0, "psychology.stop_support": 0.0,
                               "recovery.enabled": False, "sponsorship.enabled": False})
    set_state(comm, using=True, use_days=5, reached=False, called=False, support=0.0, engaged=0.0)
    day = next(d for d in range(1, 4000) if 0.2 <= rng.uniform(comm.key, d, 0, rng.STOP, -1) < 0.45)
    run(comm, "update_mind", day=day, members=[0])
    assert comm["next_using"][0]                                  # no check-in ever: the base chance 0 only
    comm["engaged"][0] = 1.0                                     # reached some days ago: 0.5 * (1 - 1/10) = 0.45
    run(comm, "update_mind", day=day, members=[0])
    assert not comm["next_using"][0]


# ----------------------------------------------------------------------------- 7.6 saturating responses
def test_saturating_stress_approaches_its_bounds_without_reaching_them():
    from sim.core.rules import StressDay, StressParams, saturate, shame, stress_next

    # a member under every pressure at once for a year: additive stress sits at the cap, saturating does not
    day = StressDay(conflict=1.0, lonely=1.0, scarce=1.0, support=0.0, reached=0.0, attended=0.0, shock=0.3,
                    using=True)
    additive = StressParams(decay=0.04, conflict_stress=0.04, loneliness_stress=0.04, scarcity_stress=0.04,
                            support_buffer=0.05, using_stress=0.03, checkin_relief=0.05, meeting_relief=0.01,
                            saturating=False)
    x_add = x_sat = 0.5
    for _ in range(365):
        x_add = stress_next(x_add, day, additive)
        x_sat = stress_next(x_sat, day, additive._replace(saturating=True))
    assert x_add == 1.0
    assert 0.5 < x_sat < 1.0
    up = 0.04 * 3 + 0.3 + 0.03
    assert abs(x_sat - up / (up + 0.04)) < 1e-9              # its fixed point: up (1 - x) = down x
    assert saturate(0.0, 0.0, 0.5) == 0.0 and saturate(1.0, 0.5, 0.0) == 1.0
    assert shame(0.9, 0.0, 0.2, True) == 0.9 + 0.2 * 0.1      # shame fills a share of the room left
    assert shame(0.9, 0.0, 0.2) == 1.0                        # additive: to the cap


def test_saturating_community_keeps_members_off_the_stress_cap():
    """Many members, a hard year: with saturating responses nobody's stress sits at 1.0."""
    from sim.core.scenarios import load_scenario
    from sim.engines.kernel import KernelModel

    over = {"population.size": 200, "population.burn_in": 0, "psychology.conflict_stress": 0.1,
            "population.initial_helpers": 0.0, "turnover.enabled": False}
    at_cap = {}
    for sat in (False, True):
        model = KernelModel(load_scenario("baseline", dict(over, **{"psychology.saturating": sat, "steps": 120})))
        cap = 0
        for _ in range(120):
            model.step()
            cap += int((model.community["stress"] >= 1.0).sum())
        at_cap[sat] = cap
    assert at_cap[False] > 1000 and at_cap[True] == 0


def test_a_newcomer_arrives_with_a_tie_to_whoever_brought_it():
    """Six members in one meeting, no ties; member 2 leaves after a month in crisis."""
    comm = community(6, [], **{"turnover.enabled": True, "turnover.crisis_days": 5, "turnover.leave_prob": 0.0,
                               "turnover.newcomer_tie": True, "ties.extra_slots": 2, "ties.new_weight": 0.4})
    set_state(comm, crisis_days=[0, 0, 5, 0, 0, 0])
    day = 11
    stages.open_day(comm.ref, day)
    u = rng.uniform(comm.key, day, 2, rng.NEW_BROUGHT, -1)
    j = int(u * 5)
    j = j + 1 if j >= 2 else j                                   # the others in slot order: 0, 1, 3, 4, 5
    schedule.turnover(comm)
    assert comm["deg"][2] == 1 and comm["deg"][j] == 1 and comm["deg"].sum() == 2
    start = comm["tie_ptr"][2]
    assert comm["tie_nbr"][start] == j and comm["tie_w"][start] == 0.4


def test_a_newcomer_brought_by_a_member_with_no_room_arrives_alone():
    comm = community(2, [], **{"turnover.enabled": True, "turnover.crisis_days": 5, "turnover.leave_prob": 0.0,
                               "turnover.newcomer_tie": True, "ties.extra_slots": 0})
    set_state(comm, crisis_days=[5, 0])
    stages.open_day(comm.ref, 3)
    schedule.turnover(comm)
    assert comm.counts["dropouts"] == 1 and comm["deg"].sum() == 0   # member 1 (the only other) has no slot


# ----------------------------------------------------------------------------- 7.7 helping as behaviour
def test_with_help_acts_only_acts_that_reach_someone_relieve_craving():
    from sim.core.rules import CravingDay, CravingParams, craving_next

    comm = community(3, [(0, 1), (0, 2)], **{"psychology.help_acts": True, "psychology.helper_therapy": 0.05})
    set_state(comm, strategy=[HELP, COMPETE, COMPETE], craving=0.5, stress=0.2, using=False, support=0.0,
              called=False, attended=False, help_given=[2.0, 0.0, 0.0], calls_made=[0, 0, 0], answered=[0, 0, 0])
    run(comm, "update_mind", members=[0])
    no_acts = comm["next_craving"][0]
    ps = comm.scenario.psychology
    expected = craving_next(0.5, CravingDay(stress=0.2, support=0.0, called=0.0, attended=0.0, help_acts=0.0,
                                            using=False),
                            CravingParams(decay=ps.craving_decay, stress_craving=ps.stress_craving,
                                          support_craving=ps.support_craving, using_craving=ps.using_craving,
                                          call_relief=0.0, meeting_relief=0.0, helper_therapy=0.05, saturating=False))
    assert no_acts == expected                                  # a helper's ties alone are not an act of help
    comm["calls_made"][0] = 1
    comm["answered"][0] = 1
    run(comm, "update_mind", members=[0])
    assert comm["next_craving"][0] < no_acts - 0.09             # two acts: 2 * 0.05 less craving


def test_with_help_acts_members_further_along_reach_out_more():
    comm = checkin_community(**{"psychology.help_acts": True, "checkins.prob": 1.0})
    comm["capital"][:] = 0.0                                     # member 1, the only one who could, has none
    run(comm, "check_in")
    assert comm["checkins_in"].sum() == 0
    comm["capital"][1] = 1.0
    run(comm, "check_in")
    assert comm["checkins_in"].tolist() == [1, 0, 0, 0, 0]


def test_the_commit_applies_every_double_buffered_array():
    """3.1 Every state array declared with a tomorrow's value (sim.core.arrays ``buffer``) is applied by
    the commit, and no other array is copied from a ``next_`` array there."""
    import inspect
    import re

    from sim.core.arrays import BUFFERED

    source = inspect.getsource(stages.commit.py_func)
    copied = dict(re.findall(r"c\.(\w+)\[i\] = c\.(next_\w+)\[i\]", source))
    assert copied == BUFFERED


def test_a_cleared_slot_holds_every_declared_empty_value():
    """5, 7.11 ``clear_member`` (generated from sim.core.arrays) leaves every state and record array at its
    declared empty value, the record included (it is begun on the empty state)."""
    from sim.core._ref import clear_member
    from sim.core.arrays import KEPT

    comm = community(3, [(0, 1), (1, 2)])
    set_state(comm, using=[True, True, True], sponsor=[1, 2, 0], sober_days=[5, 6, 7])
    clear_member(comm.ref, 1)
    assert {a.name: comm[a.name][1].item() for a in KEPT} == {a.name: a.empty for a in KEPT}
