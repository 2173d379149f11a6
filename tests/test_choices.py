"""People in the simulation (docs/ODD.md 7.0): a person's decisions replace the rules' for its member,
in the stage that makes them; a run and its log of decisions replay exactly."""

import numpy as np
import pytest

from sim.core import choices, rng
from sim.core.choices import ChoiceError, Decision, DecisionLog
from sim.core.scenarios import load_scenario
from sim.engines import make_model
from sim.runner import replay

from .test_stages import HELP, COMPETE, checkin_community, community, run, set_state


def test_a_person_s_strategy_holds_from_the_day_it_is_chosen():
    comm = community(3, [(0, 1), (1, 2)])
    set_state(comm, strategy=[HELP, HELP, HELP])
    choices.apply(comm, [Decision(1, 1, help=False)])
    run(comm, "choose")
    assert comm["strategy"].tolist() == [HELP, COMPETE, HELP]
    run(comm, "meet")
    assert comm["support"][0] == 0.0            # its neighbour already plays against a competitor today
    choices.clear(comm)
    assert comm["choice_help"].sum() == 0 and comm.clock[5] == 0


def test_a_person_goes_to_a_meeting_or_stays_away_whatever_the_draw():
    comm = community(2, [(0, 1)])
    comm["propensity"][:] = 1.0                          # the rule: both go for sure
    set_state(comm, stress=0.0, using=False, missed=[3, 3])
    choices.apply(comm, [Decision(1, 0, attend=False)])
    run(comm, "meet")
    assert comm["attended"].tolist() == [False, True]
    assert comm["next_missed"].tolist() == [4, 0]


def test_a_person_checks_on_the_member_it_chose_for_sure():
    comm = checkin_community(**{"checkins.prob": 0.0})   # the rule would reach nobody
    comm["strategy"][2] = COMPETE                        # member 2 competes: the rule would never call
    choices.apply(comm, [Decision(1, 2, checkin=0)])
    run(comm, "check_in")
    assert comm["checkins_in"].tolist() == [1, 0, 0, 0, 0]
    assert comm["calls_made"].tolist() == [0, 0, 1, 0, 0]


def test_a_person_calls_its_sponsor_whatever_its_craving():
    comm = community(2, [(0, 1)], **{"sponsorship.enabled": True, "sponsorship.answer_prob": 1.0})
    set_state(comm, sponsor=[1, -1], craving=[0.0, 0.0], using=False)
    run(comm, "call_sponsor")
    assert not comm["called"][0]                      # the rule: craving under the threshold, no call
    choices.apply(comm, [Decision(1, 0, call=True)])
    run(comm, "call_sponsor")
    assert comm["called"][0] and comm["answered"][1] == 1


def test_bad_decisions_are_named():
    comm = community(3, [(0, 1)])
    with pytest.raises(ChoiceError, match="member 7 is not in the community"):
        choices.apply(comm, [Decision(1, 7, help=True)])
    with pytest.raises(ChoiceError, match="two decisions"):
        choices.apply(comm, [Decision(1, 0, help=True), Decision(1, 0, attend=True)])
    with pytest.raises(ChoiceError, match="'attend'"):
        Decision(1, 0, attend="yes")
    with pytest.raises(ChoiceError, match="'checkin'"):
        Decision(1, 0, checkin=-3)


@pytest.mark.parametrize("engine", ["kernel", "agents"])
def test_a_run_and_its_decision_log_replay_exactly(tmp_path, engine):
    sc = load_scenario("baseline", {"population.size": 60, "population.burn_in": 30, "steps": 40})
    model = make_model(sc, engine)
    bots = make_model(sc, engine)
    log = DecisionLog(sc, engine)
    gen = np.random.default_rng(5)
    for day in range(1, sc.steps + 1):
        ids = model.community["member_id"]
        today = [Decision(day, int(ids[i]), help=bool(gen.random() < 0.5), attend=bool(gen.random() < 0.5),
                          call=True, checkin=int(ids[(i + 1) % 60])) for i in range(0, 60, 6)]
        log.add(today)
        model.decide(today)
        model.step()
        bots.step()
    path = log.write(tmp_path / "session.jsonl")
    again = replay(DecisionLog.read(path))
    assert again.metrics_frame().equals(model.metrics_frame())
    for name, values in model.state_arrays().items():
        assert np.array_equal(values, again.state_arrays()[name]), name
    assert not bots.metrics_frame().equals(model.metrics_frame())   # the people changed the run


def test_a_log_that_is_not_one_is_refused(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"kind": "something else"}\n')
    with pytest.raises(ChoiceError, match="not a decision log"):
        DecisionLog.read(p)


def test_mutualaid_replay_writes_the_same_run_and_refuses_a_bad_log(tmp_path, capsys):
    from sim.cli import main
    from sim.core.choices import DecisionLog

    sc = load_scenario("baseline", {"population.size": 50, "population.burn_in": 20, "steps": 15})
    model = make_model(sc, "kernel")
    log = DecisionLog(sc)
    for day in range(1, 16):
        today = [Decision(day, 4, help=day % 2 == 0, attend=day % 3 == 0, checkin=5)]
        log.add(today)
        model.decide(today)
        model.step()
    path = log.write(tmp_path / "decisions.jsonl")
    out = tmp_path / "again"
    assert main(["replay", str(path), "-q", "--out", str(out)]) == 0
    import pandas as pd

    got = pd.read_parquet(out / "metrics.parquet")
    assert got.equals(model.metrics_frame())
    assert (out / "decisions.jsonl").read_bytes() == path.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text().splitlines()[0] + '\n{"day": 1, "member": 9999, "help": true}\n')
    assert main(["replay", str(bad), "-q", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "member 9999 is not in the community" in err[0]
    assert not (tmp_path / "x").exists()
