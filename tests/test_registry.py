"""The parameter registry (sim/core/registry.py): each scenario key is declared once, in sim/core/schema.py,
and what used to be kept by hand beside it is generated from that declaration."""

from __future__ import annotations

import yaml

from sim import odd
from sim.core import provenance, registry
from sim.core.schema import Scenario, scenario_file_schema


def test_every_scalar_key_is_in_the_registry_and_converts_to_its_flat_form_and_back():
    assert "psychology.lapse_max" in registry.PARAMS and "steps" in registry.PARAMS
    assert [k for k, *_ in odd.parameter_rows()] == list(registry.PARAMS)
    for key in registry.PARAMS:
        flat = registry.flat_key(key)
        assert "." not in flat and registry.dotted_key(flat) == key
    assert registry.flat_key("psychology.lapse_max") == "psychology_lapse_max"
    assert registry.dotted_key("checkins_missed_threshold") == "checkins.missed_threshold"


def test_the_sobol_sweep_file_holds_the_ranges_the_registry_gives():
    text = odd.SOBOL_SWEEP.read_text(encoding="utf-8")
    assert odd.sweep_text(text) == text, (f"{odd.SOBOL_SWEEP.name}'s ranges differ from the registry's "
                                          f"(sobol= and fitted= in sim/core/schema.py): run python -m sim.odd")
    ranged = {k: (v["low"], v["high"]) for k, v in yaml.safe_load(text)["parameters"].items() if isinstance(v, dict)}
    assert list(ranged.items()) == list(registry.sobol_ranges().items())
    assert list(registry.fitted_space()) == list(ranged)[:len(provenance.FITTED)]


def test_the_sweep_block_is_rewritten_by_the_odd_command(tmp_path):
    doc, sweep = tmp_path / "ODD.md", tmp_path / "sweep.yaml"
    doc.write_text(odd.render(odd.ODD_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    begin, end = odd.SOBOL_MARKERS
    sweep.write_text(f"parameters:\n{begin}\n  a.b: {{low: 0, high: 1}}\n{end}\n  population.size: 300\n",
                     encoding="utf-8")
    assert odd.main(["--check", str(doc), "--sweep", str(sweep)]) == 1
    assert odd.main([str(doc), "--sweep", str(sweep)]) == 0
    assert odd.main(["--check", str(doc), "--sweep", str(sweep)]) == 0
    assert list(yaml.safe_load(sweep.read_text(encoding="utf-8"))["parameters"]) == [
        *registry.sobol_ranges(), "population.size"]


def test_units_reach_the_json_schema_and_the_odd():
    schema = scenario_file_schema()
    assert schema["$defs"]["Psychology"]["properties"]["lapse_max"]["unit"] == "probability per day"
    assert "unit" not in schema["$defs"]["Psychology"]["properties"]["enabled"]
    assert "| `psychology.lapse_max` | float | `0.056` | [0, 1] | probability per day | fitted over [0.03, 0.09] |" \
        in odd.parameter_table()


def test_statuses_come_from_the_declarations():
    fitted = {k for k, p in registry.PARAMS.items() if p.status == "fitted"}
    assert fitted == set(provenance.FITTED) and len(fitted) == 12
    assert provenance.SOURCED["attendance.weekly_mean"].startswith("members go to 2.5 meetings")
    assert provenance.status("population.burn_in", "int") == "design"
    assert provenance.status("psychology.stop_base", "float") == "free"
    assert provenance.status("checkins.enabled", "bool") == "setting"
    assert Scenario.model_fields["psychology"].annotation.model_fields["lapse_max"].json_schema_extra.prior == (
        0.03, 0.09)


def test_the_dashboards_page_ranges_agree_with_its_own_limits():
    import dashboards.support as ds

    assert ds.PAGE_LIMITS["population.size"][1] == ds.MAX_NETWORK_MEMBERS
    assert ds.PAGE_LIMITS["steps"][1] == ds.MAX_PAGE_STEPS
    assert set(ds.LABELS) == {k for _, keys in ds.CONTROL_GROUPS for k in keys}
    assert set(ds.TOGGLES) <= set(ds.LABELS)
