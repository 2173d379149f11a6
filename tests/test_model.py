"""Properties of the Mesa model (sim/engines/agents.py) on generated scenarios."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.core.metrics import COLUMNS
from sim.engines.agents import MutualAidModel
from sim.core.scenarios import load_scenario

from .strategies import scenarios

SHARES = ["helpers", "mean_stress", "mean_craving", "using", "attendance", "mean_tie", "isolated",
          "abstinent", "assortment", "sponsored_newcomers"]


def run_model(overrides):
    model = MutualAidModel(load_scenario(None, overrides))
    for _ in range(model.scenario.steps):
        model.step()
        check_state(model)
    return model


def check_state(model):
    ms = model.members
    n = len(ms)
    for a in ms:
        assert 0.0 <= a.stress <= 1.0 and 0.0 <= a.craving <= 1.0
        assert a.strategy in (0, 1)
        tie_ptr = model.community["tie_ptr"]
        assert len(a.ties) <= tie_ptr[a.slot + 1] - tie_ptr[a.slot]
        for j, w in a.ties.items():
            assert 0 <= j < n and j != a.slot
            assert 0.0 < w <= 1.0
            assert ms[j].ties[a.slot] == w  # ties are symmetric, with one weight
        if a.sponsor >= 0:
            assert a.sponsor != a.slot
        assert a.using == (a.use_days > 0)
    sponsees = np.bincount([a.sponsor for a in ms if a.sponsor >= 0], minlength=n)
    assert all(ms[k].sponsees == sponsees[k] for k in range(n))
    assert max(sponsees, default=0) <= model.scenario.sponsorship.capacity


@settings(max_examples=40)
@given(o=scenarios())
def test_state_stays_in_bounds_and_counts_add_up(o):
    model = run_model(o)
    m = model.metrics_frame()
    mem = model.members_frame()
    n, steps = model.scenario.population.size, model.scenario.steps
    assert list(m.columns) == list(COLUMNS)
    assert m["step"].tolist() == list(range(steps + 1))
    for c in SHARES:
        v = m[c].dropna()
        assert ((v >= 0) & (v <= 1)).all(), c
    for c in ["lapses", "relapses", "checkins", "sponsor_calls", "dropouts", "ties"]:
        assert (m[c] >= 0).all()
    assert (m["lapses"] <= n).all() and (m["relapses"] <= n).all()
    assert (np.diff(m["abstinent"]) <= 0).all()
    # every member who ever existed has one row; leavers are the dropouts
    assert len(mem) == n + m["dropouts"].sum()
    assert mem["left_step"].notna().sum() == m["dropouts"].sum()
    assert mem["id"].is_unique
    assert mem["checkins_received"].sum() == m["checkins"].sum()
    # days in a lapse, counted per member and per step, agree (a leaver's last
    # day is counted for the member but not in the share measured after turnover)
    used = round((m["using"].iloc[1:] * n).sum())
    if m["dropouts"].sum() == 0:
        assert mem["used_days"].sum() == used
    else:
        assert used <= mem["used_days"].sum() <= used + m["dropouts"].sum()
    # a first use after day 0 is a lapse
    assert m["lapses"].sum() >= int((mem["first_use_step"] > 0).sum())
    assert ((mem["help_share"] >= 0) & (mem["help_share"] <= 1)).all()
    if not model.scenario.psychology.enabled:
        assert (m[["lapses", "checkins", "sponsor_calls", "dropouts"]] == 0).all().all()
        assert m["attendance"].isna().all()


@settings(max_examples=15)
@given(o=scenarios())
def test_same_seed_same_trajectory(o):
    a, b = run_model(o), run_model(o)
    pd.testing.assert_frame_equal(a.metrics_frame(), b.metrics_frame())
    pd.testing.assert_frame_equal(a.members_frame(), b.members_frame())


OFF_TOGGLES = {
    "checkins": {"checkins.missed_threshold": st.integers(1, 5), "checkins.prob": st.floats(0, 1),
                 "checkins.stress_relief": st.floats(0, 1), "checkins.stop_boost": st.floats(0, 1),
                 "checkins.capacity": st.integers(1, 3)},
    "sponsorship": {"sponsorship.capacity": st.integers(1, 5), "sponsorship.answer_prob": st.floats(0, 1),
                    "sponsorship.call_threshold": st.floats(0, 1), "sponsorship.ask_prob": st.floats(0, 1)},
    "recovery": {"recovery.build": st.floats(0, 0.1), "recovery.protection": st.floats(0, 1),
                 "recovery.lapse_loss": st.floats(0, 1), "recovery.return_boost": st.floats(0, 1),
                 "recovery.newcomer_capital": st.floats(0, 1)},
    "isolation": {"isolation.start": st.integers(0, 5), "isolation.duration": st.integers(0, 10),
                  "isolation.share": st.floats(0, 1), "isolation.tie_scale": st.floats(0, 1)},
    "evolution": {"evolution.rule": st.sampled_from(["fermi", "imitate_best", "death_birth"]),
                  "evolution.interval": st.integers(1, 3), "evolution.temperature": st.floats(0.01, 5),
                  "evolution.mutation": st.floats(0, 1)},
    "turnover": {"turnover.crisis_stress": st.floats(0, 1), "turnover.crisis_days": st.integers(1, 4)},
}


@settings(max_examples=30)
@given(o=scenarios(), toggle=st.sampled_from(sorted(OFF_TOGGLES)), data=st.data())
def test_a_toggle_that_is_off_changes_nothing_it_governs(o, toggle, data):
    o = dict(o, **{f"{toggle}.enabled": False})
    if o.get("trial.intervention") == toggle:  # a trial of a switched-off mechanism is refused (7.13)
        o["trial.enabled"] = False
    changed = dict(o, **{k: data.draw(s, label=k) for k, s in OFF_TOGGLES[toggle].items()})
    a, b = run_model(o), run_model(changed)
    pd.testing.assert_frame_equal(a.metrics_frame(), b.metrics_frame())


@settings(max_examples=10)
@given(o=scenarios(psychology=False), data=st.data())
def test_psychology_off_ignores_every_psychological_parameter(o, data):
    changed = dict(o, **{
        "psychology.stress_decay": data.draw(st.floats(0, 1)),
        "psychology.lapse_max": data.draw(st.floats(0, 1)),
        "attendance.propensity_a": data.draw(st.floats(0.5, 5)),
        "population.burn_in": data.draw(st.integers(0, 30)),
        "recovery.enabled": data.draw(st.booleans()),
        "psychology.scarcity_stress": data.draw(st.floats(0, 1)),
        "population.initial_stress": data.draw(st.floats(0, 1)),
        "checkins.enabled": data.draw(st.booleans()),
        "sponsorship.enabled": data.draw(st.booleans()),
        "turnover.enabled": data.draw(st.booleans()),
        "ties.help_gain": data.draw(st.floats(0, 1)),
        "trial.enabled": False,  # a trial withholds check-ins or sponsors, which psychology off has not
    })
    pd.testing.assert_frame_equal(run_model(o).metrics_frame(), run_model(changed).metrics_frame())


def test_checkins_and_sponsor_calls_happen_when_on_and_not_when_off():
    on = sim.run("baseline", steps=60, set={"population.size": 150}).metrics
    assert on["checkins"].sum() > 0 and on["sponsor_calls"].sum() > 0
    off = sim.run("baseline", steps=60, set={"population.size": 150, "checkins.enabled": False,
                                            "sponsorship.enabled": False}).metrics
    assert off["checkins"].sum() == 0 and off["sponsor_calls"].sum() == 0


def test_isolation_closes_meetings_only_while_it_lasts():
    m = sim.run("isolation", steps=40, set={"population.size": 100, "isolation.start": 10,
                                            "isolation.duration": 15}).metrics
    closed = m[(m.step >= 10) & (m.step < 25)]
    open_ = m[(m.step >= 1) & ((m.step < 10) | (m.step >= 25))]
    assert (closed["attendance"] == 0).all()
    assert (open_["attendance"] > 0).all()


def test_different_seeds_give_different_runs():
    a = sim.run("baseline", seed=1, steps=20, set={"population.size": 80}).metrics
    b = sim.run("baseline", seed=2, steps=20, set={"population.size": 80}).metrics
    assert not a.equals(b)


def test_mesa_model_is_a_real_mesa_model():
    import mesa

    model = MutualAidModel("baseline", population_size=50, checkins_enabled=False, seed=5)
    assert isinstance(model, mesa.Model)
    assert model.scenario.checkins.enabled is False and model.scenario.seed == 5
    assert len(model.agents) == 50
    assert all(isinstance(a, mesa.Agent) and a.cell is not None for a in model.agents)
    model.step()
    assert model.steps == 1
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 2 and "helpers" in df.columns


def test_lattice_members_sit_on_grid_cells():
    from mesa.discrete_space import OrthogonalMooreGrid

    model = MutualAidModel("nowak-may-1992", network_width=6, network_height=5)
    assert isinstance(model.space, OrthogonalMooreGrid)
    a = model.members[7]
    assert a.cell.coordinate == (7 % 6, 7 // 6)
    grid_nbrs = sorted(c.agents[0].slot for c in a.cell.neighborhood)
    assert grid_nbrs == sorted(a.ties)


@pytest.mark.parametrize("name", ["baseline", "struggle", "no-checkins", "no-sponsorship", "isolation",
                                  "isolation-with-checkins", "kropotkin", "nowak-may-1992",
                                  "fermi-lattice", "death-birth"])
def test_every_scenario_runs(name):
    sc = load_scenario(name)
    small = {"steps": 5}
    if sc.network.kind == "lattice":
        small.update({"network.width": 12, "network.height": 12})
    else:
        small["population.size"] = min(sc.population.size, 120)
    r = sim.run(name, set=small, members=True)
    assert len(r.metrics) == 6 and r.members is not None


def test_member_columns_are_collected_by_agent_reporters():
    from sim.engines.agents import MEMBER_REPORTERS

    model = MutualAidModel("baseline", population_size=40, member_reporters=True, seed=2)
    for _ in range(3):
        model.step()
    df = model.datacollector.get_agent_vars_dataframe()
    assert set(MEMBER_REPORTERS) <= set(df.columns)
    assert len(df) == 4 * 40  # day 0 and three days, every member
    last = df.xs(3, level="Step").sort_values("member_id")
    st = model.state_arrays()
    assert last["stress"].tolist() == st["stress"].tolist()
    assert last["using"].tolist() == st["using"].tolist()


def test_mesa_solaraviz_example_builds_and_rebuilds_the_model():
    import dashboards.mesa_viz as viz

    assert viz.page is not None
    rebuilt = MutualAidModel("kropotkin", seed=3, checkins_enabled=False, evolution_wellbeing_weight=0.5,
                             network_width=10, network_height=10)
    rebuilt.step()
    assert rebuilt.scenario.checkins.enabled is False and rebuilt.scenario.evolution.wellbeing_weight == 0.5
    assert viz.portrayal(rebuilt.members[0]).color in ("tab:blue", "tab:red")


def test_run_model_ends_after_the_scenarios_steps():
    from sim.engines.agents import MutualAidModel

    m = MutualAidModel("baseline", population_size=30, steps=4, population_burn_in=0)
    m.run_model()
    assert m.steps == 4 and not m.running
    assert len(m.datacollector.get_model_vars_dataframe()) == 5   # day 0 and four days


def test_run_model_of_a_zero_day_scenario_runs_no_day():
    from sim.engines.agents import MutualAidModel

    m = MutualAidModel("baseline", population_size=30, steps=0, population_burn_in=0)
    assert not m.running
    m.run_model()
    assert m.steps == 0 and m.day == 0
    assert len(m.datacollector.get_model_vars_dataframe()) == 1   # day 0 only


@pytest.mark.parametrize("bad", [42, 3.5, True, ["baseline"]])
def test_a_scenario_of_the_wrong_type_is_a_scenario_error_naming_the_call(bad):
    from sim.core.scenarios import ScenarioError
    from sim.engines.agents import MutualAidModel

    with pytest.raises(ScenarioError, match=r"MutualAidModel: scenario = .*expected a scenario name") as e:
        MutualAidModel(bad)
    assert ("seed=42" in str(e.value)) == (bad == 42)


@pytest.mark.parametrize("seed", [-5, 2**70, True])
def test_a_bad_seed_for_the_mesa_model_is_a_scenario_error(seed):
    from sim.core.scenarios import ScenarioError
    from sim.engines.agents import MutualAidModel

    with pytest.raises(ScenarioError, match="seed"):
        MutualAidModel("baseline", seed=seed, population_size=30)


@pytest.mark.parametrize("kw, fragment", [({"seed": -5}, "seed = -5: must be >= 0"),
                                          ({"seed": 2**70}, "must be <= 9223372036854775807"),
                                          ({"population_size": "x"}, "population.size = 'x'"),
                                          ({"member_reporters": "no"}, "member_reporters = 'no': expected True")])
def test_mesa_model_errors_speak_of_the_call_not_of_the_command_line(kw, fragment):
    from sim.core.scenarios import ScenarioError
    from sim.engines.agents import MutualAidModel

    with pytest.raises(ScenarioError) as e:
        MutualAidModel(**kw)
    assert str(e.value).startswith("MutualAidModel: ") and fragment in str(e.value) and "--set" not in str(e.value)
