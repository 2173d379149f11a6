"""One vocabulary of options (issue 26): the same name, short form, default and meaning on every command that
has the idea, the README's table the one the parser implements, old spellings kept, help texts correct."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.cli import VOCABULARY, build_parser, main, options_table

REPO = Path(__file__).resolve().parent.parent


def subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices


def action(parser, flag: str):
    return next((a for a in parser._actions if flag in a.option_strings), None)


def test_the_readme_table_is_the_vocabulary():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- options table:[^\n]*-->\n(.*?)\n<!-- end of options table -->", text, re.S)
    assert block is not None, "README has no options table"
    assert block.group(1) == options_table()


@pytest.mark.parametrize("name", list(VOCABULARY))
def test_each_shared_option_is_the_same_on_every_command_that_takes_it(name):
    short, metavar, text, commands = VOCABULARY[name]
    subs = subcommands()
    defaults = set()
    for command in commands:
        a = action(subs[command], name)
        assert a is not None, f"{command} has no {name}"
        assert (short in a.option_strings) if short else len([o for o in a.option_strings if len(o) == 2]) == 0, \
            (command, a.option_strings)
        assert a.help.startswith(text), (command, a.help)
        assert a.dest == name[2:].replace("-", "_")
        assert (a.metavar == metavar) if metavar else a.nargs == 0
        if name != "--replicates" and name != "--steps":
            defaults.add(a.default)
    assert len(defaults) <= 1, (name, defaults)  # one default (replicates and steps: said in the help)
    for command, p in subs.items():  # a command not listed does not take it under that name
        if command not in commands:
            assert action(p, name) is None or command == "dashboard", (command, name)


@pytest.mark.parametrize("argv, dest, value", [
    (["trial", "baseline", "--seeds", "5"], "replicates", 5),
    (["trial", "baseline", "-r", "6"], "replicates", 6),
    (["lesson", "kropotkin", "--seeds", "4"], "replicates", 4),
    (["lesson", "kropotkin", "-r", "3"], "replicates", 3),
    (["lesson", "kropotkin", "--replicates", "3"], "replicates", 3),
    (["compare", "a", "b", "-j", "2"], "workers", 2),
    (["trial", "baseline", "--engine", "agents"], "engine", "agents"),
    (["lesson", "kropotkin", "--seed", "9"], "seed", 9),
    (["validate", "-q"], "quiet", True),
])
def test_earlier_spellings_and_the_new_options_parse(argv, dest, value):
    assert getattr(build_parser().parse_args(argv), dest) == value


def test_help_texts_are_right(capsys):
    subs = subcommands()
    lesson = subs["lesson"].format_help()
    assert "95% intervals" in lesson and "95%%" not in lesson
    for command in ("schema", "scenarios"):
        assert subs[command].description, command
    threads = action(subs["run"], "--threads").help
    assert "one per 6,000 members" in threads and "all cores" not in threads
    for command, p in subs.items():
        assert main([command, "--help"]) == 0
        assert capsys.readouterr().out.strip(), command


def test_trial_takes_the_engine_as_an_override_of_both_arms(monkeypatch, tmp_path, capsys):
    from sim.experiments import trial

    seen = {}

    def fake_trial(scenario, intervention, **kw):
        seen.update(kw)
        raise KeyboardInterrupt  # stop here: only the arguments are looked at

    monkeypatch.setattr(trial, "run_trial", fake_trial)
    assert main(["trial", "baseline", "--engine", "agents", "-r", "2", "-j", "1", "--out",
                 str(tmp_path / "t")]) == 130
    assert "engine=agents" in seen["set"] and seen["seeds"] == 2 and seen["workers"] == 1


def test_trial_refuses_the_engine_given_twice(capsys):
    assert main(["trial", "baseline", "--engine", "agents", "--set", "engine=kernel"]) == 2
    assert "give the engine once" in capsys.readouterr().err


def test_lesson_seed_changes_the_paired_seeds(monkeypatch, tmp_path):
    from sim.experiments import lesson

    seen = []

    def fake_settings(settings, seeds, **kw):
        seen.append(list(seeds))
        raise KeyboardInterrupt

    monkeypatch.setattr(lesson, "run_settings", fake_settings)
    for seed in ("1", "2"):
        assert main(["lesson", "kropotkin", "-r", "2", "--seed", seed, "-j", "1", "--out",
                     str(tmp_path / seed)]) == 130
    assert seen[0] != seen[1] and len(seen[0]) == 2


def test_compare_gives_the_same_numbers_on_one_worker_and_two(tmp_path, capsys):
    outs = {}
    for j in ("1", "2"):
        out = tmp_path / f"j{j}"
        rc = main(["compare", "baseline", "no-checkins", "-r", "2", "--steps", "4", "--set", "population.size=40",
                   "-j", j, "-q", "--out", str(out)])
        assert rc == 0
        outs[j] = out
    for name in ("runs.csv", "summary.csv", "compare.csv"):
        assert (outs["1"] / name).read_bytes() == (outs["2"] / name).read_bytes(), name
    assert len(pd.read_csv(outs["2"] / "runs.csv")) == 4


def test_the_contract_names_stay(capsys):
    """CONTRACT.md's spellings keep working: compare --replicates, lesson --replicates, sweep --workers."""
    p = build_parser()
    assert p.parse_args(["compare", "a", "b", "--replicates", "3"]).replicates == 3
    assert p.parse_args(["sweep", "s.yaml", "--workers", "2", "--out", "x"]).workers == 2
    assert p.parse_args(["run", "baseline", "--threads", "2", "--engine", "kernel"]).threads == 2
    assert cli.ENGINES == ("auto", "agents", "kernel")
