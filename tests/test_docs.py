"""The documentation tells the truth: docs/ODD.md and README.md against the code.

- the generated tables in docs/ODD.md equal what ``python -m sim.odd`` writes;
- every scenario key, metric column, random-number purpose and rule function
  is documented in docs/ODD.md, and every model parameter appears in its
  prose (an equation or a rule), not only in the generated table;
- every ```python block of README.md runs as written;
- README's scenario catalogue lists exactly the shipped scenarios;
- every ``mutualaid ...`` command in README's bash blocks is accepted by the
  CLI's own parser, names a real scenario and real ``--set`` keys.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sim import odd
from sim.core import rng
from sim.core import rules
from sim.core.metrics import COLUMNS
from sim.core.scenarios import SCENARIO_DIR, all_keys, parse_override, resolve_scenario_path, scenario_names

ROOT = Path(__file__).resolve().parent.parent
ODD_MD = ROOT / "docs" / "ODD.md"
README = ROOT / "README.md"

#: Keys that describe a run rather than a rule; they need no equation in the prose.
RUN_KEYS = {"name", "description", "seed", "steps", "engine"}
#: Where a shell command line stops being the ``mutualaid`` command.
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", "<"}


def odd_text() -> str:
    return ODD_MD.read_text(encoding="utf-8")


def odd_prose() -> str:
    """docs/ODD.md without its generated blocks."""
    text = odd_text()
    for begin, end in odd.MARKERS.values():
        i, j = text.index(begin), text.index(end) + len(end)
        text = text[:i] + text[j:]
    return text


def fenced_blocks(text: str, lang: str) -> list[str]:
    """Contents of the ```lang fenced blocks of a Markdown text."""
    return re.findall(rf"^```{lang}[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S)


# ----------------------------------------------------------------------------- docs/ODD.md


def test_generated_parameter_table_is_up_to_date():
    assert odd.extract_block(odd_text(), "parameters") == odd.parameter_table(), \
        "docs/ODD.md parameter table is stale: run `python -m sim.odd`"


def test_generated_metrics_table_is_up_to_date():
    assert odd.extract_block(odd_text(), "metrics") == odd.metrics_table(), \
        "docs/ODD.md metrics table is stale: run `python -m sim.odd`"


def test_every_scenario_key_and_metric_column_is_in_the_odd():
    text = odd_text()
    missing = [k for k in all_keys() if f"`{k}`" not in text]
    assert not missing, f"keys missing from docs/ODD.md: {missing}"
    missing = [c for c in COLUMNS if f"`{c}`" not in text]
    assert not missing, f"metric columns missing from docs/ODD.md: {missing}"


def test_every_model_parameter_is_used_in_the_odd_prose():
    # A parameter that only appears in the generated table has no documented
    # equation or rule: a rule changed without its ODD section.
    prose = odd_prose()
    missing = [k for k in all_keys()
               if k not in RUN_KEYS and not re.search(rf"(?<![\w.]){re.escape(k)}(?!\w)", prose)]
    assert not missing, f"parameters with no equation or rule in docs/ODD.md (section 7): {missing}"


def test_parameter_rows_cover_the_schema_in_order():
    assert [row[0] for row in odd.parameter_rows()] == all_keys()


def test_every_random_number_purpose_is_documented():
    purposes = [name for name, v in vars(rng).items() if name.isupper() and not name.startswith("_")
                and isinstance(v, int) and not isinstance(v, bool)]
    assert purposes, "no purposes found in sim.core.rng"
    prose = odd_prose()
    for name in purposes:
        row = re.search(rf"^\| `{name}` \| (\d+) \|", prose, flags=re.M)
        assert row, f"purpose {name} missing from the purposes table of docs/ODD.md (section 3.2)"
        assert int(row.group(1)) == getattr(rng, name), f"purpose {name} has another value in docs/ODD.md"


def test_every_rule_function_is_documented_in_the_section_its_docstring_names():
    prose = odd_prose()
    headings = {m.group(1): m.start() for m in re.finditer(r"^### (7\.\d+) ", prose, flags=re.M)}
    assert [f"7.{k}" for k in range(0, 12)] == sorted(headings, key=lambda s: int(s.split(".")[1]))[:12]
    for name, fn in vars(rules).items():
        doc = getattr(fn, "__doc__", None) or ""
        if name.startswith("_") or not callable(fn) or not re.match(r"7\.\d+", doc):
            continue
        section = re.match(r"7\.\d+", doc).group(0)
        assert section in headings, f"rules.{name} cites section {section}, which docs/ODD.md lacks"
        if name != "clip01":
            assert f"rules.{name}" in prose, f"rules.{name} is not named in docs/ODD.md"


def test_odd_check_mode_reports_stale_blocks(tmp_path, capsys):
    doc = tmp_path / "ODD.md"
    begin, end = odd.MARKERS["parameters"]
    others = "".join(f"{b}\n{e}\n" for name, (b, e) in odd.MARKERS.items() if name != "parameters")
    doc.write_text(f"x\n{begin}\nold\n{end}\n{others}", encoding="utf-8")
    assert odd.main(["--check", str(doc)]) == 1
    assert odd.main([str(doc)]) == 0
    assert odd.main(["--check", str(doc)]) == 0
    assert odd.extract_block(doc.read_text(encoding="utf-8"), "parameters") == odd.parameter_table()
    doc.write_text("no markers here\n", encoding="utf-8")
    assert odd.main([str(doc)]) == 2
    capsys.readouterr()


# ----------------------------------------------------------------------------- README.md


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    head = readme_text().split("\n## ", 1)[0]
    assert "make run" in head and "make test" in head


@pytest.mark.parametrize("index", range(len(fenced_blocks(README.read_text(encoding="utf-8"), "python"))))
def test_readme_python_block_runs(index, monkeypatch, capsys):
    code = fenced_blocks(readme_text(), "python")[index]
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})
    capsys.readouterr()


def test_readme_has_a_python_example():
    assert fenced_blocks(readme_text(), "python"), "README.md has no ```python block"


def catalogue_names() -> list[str]:
    """Scenario names in the first column of README's catalogue table."""
    text = readme_text()
    m = re.search(r"^## Scenario catalogue.*?(?=^## )", text, flags=re.M | re.S)
    assert m, "README.md has no '## Scenario catalogue' section"
    return re.findall(r"^\| `([\w.-]+)` \|", m.group(0), flags=re.M)


def test_readme_catalogue_lists_exactly_the_shipped_scenarios():
    names = scenario_names()
    assert names, f"no scenarios in {SCENARIO_DIR}"
    listed = catalogue_names()
    assert sorted(listed) == names, (
        f"README catalogue vs scenarios/: missing {sorted(set(names) - set(listed))}, "
        f"unknown {sorted(set(listed) - set(names))}")


def readme_commands() -> list[str]:
    """Every ``mutualaid ...`` command line in README's bash blocks (continuations joined)."""
    out = []
    for block in fenced_blocks(readme_text(), "bash"):
        block = re.sub(r"\\\n", " ", block)
        for line in block.splitlines():
            line = line.strip()
            line = re.sub(r"^(\$\s+|\.venv/bin/)", "", line)
            if line.startswith("mutualaid "):
                out.append(line)
    return out


def cli_parser():
    try:
        from sim import cli
    except ImportError:
        pytest.skip("sim/cli.py does not exist yet")
    if not hasattr(cli, "build_parser"):
        pytest.skip("sim.cli has no build_parser()")
    return cli.build_parser()


def test_readme_shows_mutualaid_commands():
    assert readme_commands(), "README.md has no `mutualaid ...` command in a ```bash block"


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_parses(line):
    parser = cli_parser()
    words = shlex.split(line, comments=True)
    stops = [k for k, w in enumerate(words) if w in SHELL_OPERATORS or w.startswith((">", "2>"))]
    argv = words[1:stops[0] if stops else None]  # the command itself, without redirections
    args = parser.parse_args(argv)
    for attr in ("scenario", "scenario_a", "scenario_b"):
        spec = getattr(args, attr, None)
        if spec is not None:
            resolve_scenario_path(spec)
    for item in getattr(args, "set", None) or []:
        parse_override(item)
    sweep = getattr(args, "sweep", None)
    if isinstance(sweep, str):  # a shipped sweep's name, or a path from the repository's root
        from sim.experiments.sweep import resolve_sweep_path

        p = resolve_sweep_path(sweep)
        assert p.is_file() or (ROOT / p).is_file(), f"{line}: no sweep {sweep!r}"


def test_readme_lists_every_metric_column():
    m = re.search(r"^## Outputs.*?(?=^## )", readme_text(), flags=re.M | re.S)
    assert m, "README.md has no '## Outputs' section"
    missing = [c for c in COLUMNS if f"`{c}`" not in m.group(0)]
    assert not missing, f"metric columns missing from README's Outputs: {missing}"


def test_readme_links_the_odd():
    assert "docs/ODD.md" in readme_text()



def test_the_generated_community_constructor_is_current():
    from sim.core.community import REF_PATH, constructor_source

    assert REF_PATH.read_text(encoding="utf-8") == constructor_source(), "run python -m sim.core.community"


def test_the_odd_schedule_table_is_the_schedule():
    from sim.core.schedule import SCHEDULE, odd_table

    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert odd.extract_block(text, "schedule") == odd_table()
    for stage in SCHEDULE:
        assert f"`{stage.name}`" in odd_table()


def test_every_parameter_has_a_status_and_the_fitted_ones_are_the_calibration_space():
    from sim.core import provenance
    from sim.experiments import calibrate
    from sim.odd import parameter_rows

    assert set(provenance.FITTED) == set(calibrate.SPACE)
    keys = {k for k, *_ in parameter_rows()}
    for k in list(provenance.SOURCED) + list(provenance.DESIGN):
        assert k in keys, f"{k} is not a scenario key"
    got = {k: provenance.status(k, typ) for k, typ, *_ in parameter_rows()}
    assert got["psychology.lapse_max"] == "fitted" and got["population.burn_in"] == "design"
    assert got["psychology.stop_base"] == "free" and got["checkins.enabled"] == "setting"
    assert got["game.T"] == "setting"


def test_the_sensitivity_sweep_screens_every_fitted_parameter():
    import yaml

    from sim.core import provenance

    sweep = yaml.safe_load(open(ROOT / "scenarios" / "sweeps" / "sobol-psychology.yaml"))
    ranged = {k for k, v in sweep["parameters"].items() if isinstance(v, dict)}
    assert set(provenance.FITTED) <= ranged
    from sim.core.provenance import status
    assert all(status(k, "float") in ("fitted", "free") for k in ranged)
