"""Scenario loading, overrides and errors (sim/core/scenarios.py, sim/core/schema.py)."""

import json

import pandas as pd
import pytest

from sim.core.schema import Scenario
from sim.core.scenarios import ScenarioError, all_keys, load_scenario, scenario_names

REQUIRED_KEYS = """name description seed steps engine population.size population.initial_helpers
network.kind network.degree network.width network.height network.neighborhood network.periodic
network.self_interaction network.path game.R game.S game.T game.P psychology.enabled
sponsorship.enabled checkins.enabled isolation.enabled evolution.enabled turnover.enabled
evolution.rule evolution.interval evolution.temperature evolution.mutation""".split()

SHIPPED = ["baseline", "struggle", "no-checkins", "no-sponsorship", "isolation",
           "isolation-with-checkins", "kropotkin", "nowak-may-1992", "fermi-lattice", "death-birth"]


def test_contract_keys_exist():
    keys = set(all_keys())
    assert set(REQUIRED_KEYS) <= keys


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads_and_says_what_it_shows(name):
    assert name in scenario_names()
    sc = load_scenario(name)
    assert sc.name == name
    assert len(sc.description) > 60


def test_variants_differ_from_their_base_in_one_toggle():
    base = load_scenario("baseline").model_dump()
    for name, key in [("no-checkins", "checkins"), ("no-sponsorship", "sponsorship")]:
        v = load_scenario(name).model_dump()
        diff = {k for k in base if base[k] != v[k]} - {"name", "description"}
        assert diff == {key}
        assert v[key]["enabled"] is False and base[key]["enabled"] is True
    iso, isoc = load_scenario("isolation"), load_scenario("isolation-with-checkins")
    assert iso.isolation.enabled and isoc.isolation.enabled
    assert not iso.checkins.enabled and isoc.checkins.enabled


def test_classic_games_switch_psychology_off():
    for name in ["nowak-may-1992", "fermi-lattice", "death-birth"]:
        sc = load_scenario(name)
        assert not sc.psychology.enabled and sc.evolution.enabled
    nm = load_scenario("nowak-may-1992")
    assert nm.network.kind == "lattice" and nm.network.neighborhood == "moore"
    assert nm.network.self_interaction and nm.evolution.rule == "imitate_best"
    assert (nm.game.R, nm.game.S, nm.game.P) == (1.0, 0.0, 0.0)


def test_overrides_are_yaml_values():
    sc = load_scenario("baseline", ["checkins.enabled=false", "population.size=5000", "game.T=1.5"])
    assert sc.checkins.enabled is False and sc.population.size == 5000 and sc.game.T == 1.5
    assert load_scenario("baseline", {"checkins.enabled": False}).checkins.enabled is False


def test_lattice_size_follows_width_and_height():
    sc = load_scenario("nowak-may-1992", ["network.width=20", "network.height=30"])
    assert sc.population.size == 600
    sc = load_scenario(None, ["network.kind=lattice", "population.size=64"])
    assert (sc.network.width, sc.network.height) == (8, 8)


@pytest.mark.parametrize("overrides, fragment", [
    (["checkin.enabled=true"], "did you mean 'checkins.enabled'"),
    (["population.sise=10"], "did you mean 'population.size'"),
    (["population.size=-3"], "population.size = -3: must be >= 2"),
    (["population.initial_helpers=1.5"], "population.initial_helpers = 1.5: must be <= 1"),
    (["steps=many"], "steps = 'many'"),
    (["network.kind=grid"], "network.kind = 'grid': allowed:"),
    (["evolution.rule=copy"], "evolution.rule = 'copy'"),
    (["network.kind=lattice", "population.size=50"], "is not a square"),
    (["network.kind=lattice", "network.width=5", "network.height=5", "population.size=30"],
     "does not match network.width*network.height"),
    (["checkins.enabled"], "expected KEY=VALUE"),
    (["network.kind=edgelist"], "needs network.path"),
])
def test_bad_overrides_give_one_clear_line(overrides, fragment):
    with pytest.raises(ScenarioError) as e:
        load_scenario("baseline", overrides)
    msg = str(e.value)
    assert fragment in msg
    assert "\n" not in msg


def test_bad_files(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("population:\n  size: [1, 2\n")
    with pytest.raises(ScenarioError, match="malformed YAML") as e:
        load_scenario(bad)
    assert "line" in str(e.value)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("population:\n  sizes: 10\n")
    with pytest.raises(ScenarioError, match=r"unknown key 'population.sizes'.*population.size"):
        load_scenario(unknown)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(lst)
    with pytest.raises(ScenarioError, match="did you mean 'baseline'"):
        load_scenario("baselin")


def test_yaml_is_read_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ScenarioError, match="malformed YAML"):
        load_scenario(evil)


def test_extends_builds_on_a_base_and_detects_cycles(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: baseline\nname: child\ncheckins:\n  prob: 0.9\n")
    sc = load_scenario(child)
    assert sc.checkins.prob == 0.9 and sc.population.size == load_scenario("baseline").population.size
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(a)


def test_json_schema_names_every_section():
    schema = Scenario.model_json_schema()
    text = json.dumps(schema)
    for section in ["population", "network", "game", "psychology", "checkins", "sponsorship",
                    "isolation", "ties", "evolution", "turnover"]:
        assert section in schema["properties"]
    assert "lattice" in text and "death_birth" in text


def test_missing_edgelist_file_is_caught_when_loading(tmp_path):
    with pytest.raises(ScenarioError, match="edge list file not found"):
        load_scenario(None, {"network.kind": "edgelist", "network.path": str(tmp_path / "none.txt")})
    spec = tmp_path / "s.yaml"
    (tmp_path / "ties.txt").write_text("0 1\n1 2\n")
    spec.write_text("population: {size: 3}\nnetwork: {kind: edgelist, path: ties.txt}\n")
    assert load_scenario(spec).network.path == str(tmp_path / "ties.txt")


# ----------------------------------------------------------------------------- files refused before anything is built
@pytest.mark.parametrize("text,fragment", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("name: a\nsteps: 3\nsteps: 4\n", "line 3, column 1: malformed YAML: duplicate key 'steps'"),
    (b"name: \xff\xfe\n", "not UTF-8 text (undecodable byte at offset 6)"),
])
def test_bad_scenario_files_are_refused_in_one_line(tmp_path, text, fragment):
    p = tmp_path / "s.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(p))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    import resource
    import time

    names = "abcdefghi"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):  # 9^9 = 387 million values once expanded
        lines.append(f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * 9) + "]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="aliases"):
        load_scenario(str(p))
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing was expanded


def test_a_few_aliases_are_still_fine(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("extends: baseline\nsteps: &n 10\nseed: *n\n")
    sc = load_scenario(str(p))
    assert sc.steps == 10 and sc.seed == 10


@pytest.mark.parametrize("override", ["network.degree=true", "checkins.prob=false", "steps=true"])
def test_true_or_false_is_not_a_number(override):
    with pytest.raises(ScenarioError, match=r"= True: a number is needed|= False: a number is needed"):
        load_scenario("baseline", [override])


def test_a_sweep_file_with_a_duplicate_key_is_refused(tmp_path):
    from sim.experiments.sweep import SweepError, load_sweep

    p = tmp_path / "sw.yaml"
    p.write_text("name: x\nscenario: baseline\nsteps: 5\nsteps: 6\nparameters:\n  checkins.prob: [0.1, 0.2]\n")
    with pytest.raises(SweepError, match="duplicate key 'steps'"):
        load_sweep(p)


def test_merge_keys_are_read_and_duplicates_still_refused(tmp_path):
    from sim.core.scenarios import load_yaml_file

    p = tmp_path / "m.yaml"
    p.write_text("a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n")
    assert load_yaml_file(p) == {"a": {"p": 1, "q": 2}, "b": {"p": 1, "q": 3}}   # explicit keys win
    p.write_text("a: &x {p: 1}\nb:\n  <<: *x\n  q: 3\n  q: 4\n")
    with pytest.raises(ScenarioError, match="duplicate key 'q'"):
        load_yaml_file(p)


@pytest.mark.parametrize("content,fragment", [
    (b"name: x\x00\n", "holds the control character '\\x00' at offset 7; a scenario file is plain text"),
    (b"name: \xff\xfe\n", "not UTF-8 text (undecodable byte at offset 6)"),
    (b"# only a comment\n", "the file is empty (or only comments)"),
])
def test_unreadable_scenario_files_get_one_clear_line(tmp_path, capsys, content, fragment):
    from sim.cli import main

    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and str(p) in err[0], err
    assert "malformed YAML: malformed YAML" not in err[0] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("content,fragment", [
    (b"", "the file is empty (or only comments): a sweep needs at least 'scenario' (and 'parameters' to vary"),
    (b"name: \xff\n", "not UTF-8 text (undecodable byte at offset 6)"),
    (b"name: x\x00\n", "a sweep file is plain text"),
])
def test_unreadable_sweep_files_get_one_clear_line(tmp_path, capsys, content, fragment):
    from sim.cli import main

    p = tmp_path / "sw.yaml"
    p.write_bytes(content)
    assert main(["sweep", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and str(p) in err[0], err
    assert "codec" not in err[0] and "NoneType" not in err[0]


def test_a_lattice_too_large_from_the_command_line_is_refused_at_once_naming_set(tmp_path, capsys):
    """10000 x 10000 used to die with MemoryError after 54 s at 7.2 GB; the cap names the override."""
    import resource
    import time

    from sim.cli import main

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    assert main(["run", "nowak-may-1992", "--set", "network.width=10000", "--set", "network.height=10000",
                 "--out", str(tmp_path / "o")]) == 2
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000   # KiB
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "with --set: network.width*network.height = 10000*10000 = 100,000,000" in err[0], err
    assert "GiB" in err[0] and not (tmp_path / "o").exists()


def test_the_mesa_engine_cap_from_the_command_line_exits_2_with_one_line(tmp_path, capsys):
    from sim.cli import main

    assert main(["run", "baseline", "--engine", "agents", "--set", "population.size=200000",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "above the Mesa engine's limit of 100,000 members" in err[0]
    assert "use engine kernel, which gives the same numbers" in err[0] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("name,override,fragment", [
    ("nowak-may-1992", ["network.width=5000", "network.height=5000"], "25,000,000 members is more than the 10,000,000"),
    ("baseline", ["population.size=10000000", "network.degree=100"], "tie slots is more than the 400,000,000"),
    ("baseline", ["network.kind=complete", "population.size=20000"],
     "would need 199,990,000 ties, more than the 50,000,000 allowed"),
])
def test_derived_sizes_are_checked_against_the_caps(name, override, fragment):
    import time

    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match=fragment) as e:
        load_scenario(name, override)
    assert "GiB" in str(e.value) and time.perf_counter() - t0 < 2   # refused, not allocated


def test_api_keywords_apply_and_errors_name_the_call():
    import sim
    from sim.core.scenarios import ScenarioError

    import sim.api

    sc = sim.api.prepare("baseline", population_size=123, checkins_prob=0.7, set={"checkins.prob": 0.7})
    assert sc.population.size == 123 and sc.checkins.prob == 0.7
    # a key given both ways with different values is an error (it used to take the keyword's silently)
    with pytest.raises(ScenarioError, match=r"^sim.run: checkins.prob is given twice, set 0.1 and checkins_prob=0.7"):
        sim.api.prepare("baseline", checkins_prob=0.7, set={"checkins.prob": 0.1})
    with pytest.raises(ScenarioError, match=r"^sim.run: unknown keyword 'population_sise' \(did you mean population_size\?\)"):
        sim.run("baseline", steps=1, population_sise=3)
    with pytest.raises(ScenarioError, match=r"^sim.run: population.size = -3: must be >= 2$"):
        sim.run("baseline", steps=1, population_size=-3)
    with pytest.raises(ScenarioError, match=r"^sim.run: unknown key 'population.sise'"):
        sim.run("baseline", steps=1, set={"population.sise": 3})


def test_cli_set_errors_still_speak_of_set(tmp_path, capsys):
    from sim.cli import main

    assert main(["run", "baseline", "--set", "population.size=-3", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--set: population.size = -3" in err and "baseline.yaml" not in err


def test_batch_run_seeds_every_run_and_resumes(tmp_path):
    import sim

    args = dict(replicates=2, steps=10, out=tmp_path / "scan")
    df = sim.batch_run("baseline", {"checkins.prob": [0.2, 0.8], "population_size": 40}, **args)
    assert len(df) == 4 and df["error"].isna().all()
    assert df.groupby("replicate")["seed"].nunique().eq(1).all() and df["seed"].nunique() == 2
    again = sim.batch_run("baseline", {"checkins.prob": [0.2, 0.8], "population_size": 40}, **args)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), again.reset_index(drop=True))
    two = sim.batch_run("baseline", {"checkins.prob": [0.2, 0.8], "population_size": 40}, replicates=2,
                        steps=10, workers=2)
    cols = ["checkins.prob", "replicate", "seed", "total_relapses", "mean_using"]
    pd.testing.assert_frame_equal(df[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  two[cols].sort_values(cols[:2]).reset_index(drop=True))


def test_the_mesa_engine_is_capped_before_anything_is_built():
    import sim
    from sim.engines import MAX_AGENT_MEMBERS
    from sim.engines.agents import MutualAidModel

    big = MAX_AGENT_MEMBERS + 1
    with pytest.raises(ScenarioError, match="above the Mesa engine's limit"):
        sim.run("baseline", engine="agents", population_size=big, steps=1)
    with pytest.raises(ScenarioError, match="above the Mesa engine's limit"):
        MutualAidModel("baseline", population_size=big)
