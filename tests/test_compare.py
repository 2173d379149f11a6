"""Comparing two scenarios with common random numbers (``sim.experiments.compare``, ``mutualaid compare``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiments.compare import METRICS, TOTALS, compare, paired_difference, replicate_seeds
from sim.core.metrics import COLUMNS
from sim.core.scenarios import SCENARIO_DIR, ScenarioError

STEPS = 10
TINY = {"population.size": 60}


@pytest.fixture
def pair(tmp_path):
    """Two small scenarios that differ only in check-ins."""
    a = tmp_path / "with.yaml"
    b = tmp_path / "without.yaml"
    body = "seed: 11\nsteps: 10\npopulation:\n  size: 60\n"
    a.write_text("name: with\n" + body, encoding="utf-8")
    b.write_text("name: without\n" + body + "checkins:\n  enabled: false\n", encoding="utf-8")
    return a, b


# ----------------------------------------------------------------------------- statistics


def test_replicate_seeds_come_from_a_seed_sequence():
    seeds = replicate_seeds(42, 4)
    assert seeds == replicate_seeds(42, 4)
    assert len(set(seeds)) == 4
    ss = np.random.SeedSequence(42).spawn(4)
    assert seeds == [int(s.generate_state(1)[0]) for s in ss]
    assert replicate_seeds(42, 2) == seeds[:2]  # more replicates extend, never reshuffle
    assert replicate_seeds(43, 4) != seeds


def test_paired_difference_is_a_t_interval():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([1.5, 2.1, 3.9, 4.2])
    d = b - a
    mean, lo, hi, n = paired_difference(a, b)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / math.sqrt(4)
    assert n == 4
    assert mean == pytest.approx(d.mean())
    assert (lo, hi) == (pytest.approx(d.mean() - half), pytest.approx(d.mean() + half))


def test_paired_difference_is_nan_safe():
    a = np.array([1.0, np.nan, 3.0, 4.0])
    b = np.array([2.0, 5.0, np.nan, 6.0])
    mean, lo, hi, n = paired_difference(a, b)
    assert n == 2 and mean == pytest.approx(1.5)
    assert np.isfinite(lo) and np.isfinite(hi)
    mean, lo, hi, n = paired_difference(np.array([1.0, np.nan]), np.array([3.0, 1.0]))
    assert (mean, n) == (2.0, 1) and math.isnan(lo) and math.isnan(hi)
    mean, lo, hi, n = paired_difference(np.array([np.nan]), np.array([np.nan]))
    assert n == 0 and math.isnan(mean)
    assert paired_difference(np.ones(3), np.ones(3) + 0.5) == (0.5, 0.5, 0.5, 3)


# ----------------------------------------------------------------------------- the Python function


def test_identical_scenarios_differ_by_exactly_zero(pair):
    a, _ = pair
    res = compare(a, a, replicates=3, steps=STEPS, set=TINY)
    s = res.summary
    assert len(res.metrics_a) == len(res.metrics_b) == 3
    for fa, fb in zip(res.metrics_a, res.metrics_b):
        pd.testing.assert_frame_equal(fa, fb)
    finite = s["diff"].notna()
    assert (s.loc[finite, "diff"] == 0.0).all()
    assert (s.loc[finite, "ci_low"] == 0.0).all() and (s.loc[finite, "ci_high"] == 0.0).all()
    using = res.row("using", "mean")
    assert using["n"] == 3 and using["a"] == using["b"]


def test_summary_has_mean_final_and_total_rows_for_every_metric(pair):
    a, b = pair
    res = compare(a, b, replicates=2, steps=STEPS, set=TINY)
    s = res.summary
    assert list(s.columns) == ["metric", "stat", "a", "b", "diff", "ci_low", "ci_high", "n"]
    for stat in ("mean", "final"):
        assert s.loc[s["stat"] == stat, "metric"].tolist() == [c for c in COLUMNS if c != "step"]
    assert s.loc[s["stat"] == "total", "metric"].tolist() == list(TOTALS)
    assert set(METRICS) >= set(TOTALS)
    assert len(res.timeseries()) == 2 * 2 * (STEPS + 1)


def test_common_random_numbers_and_checkins_off_in_b(pair):
    a, b = pair
    # without a burn-in both arms start from the same drawn day 0 (with one, each arm has lived by
    # its own rules before day 0: docs/ODD.md 5)
    res = compare(a, b, replicates=3, steps=STEPS, set={**TINY, "population.burn_in": 0})
    assert res.seed == 11  # default: A's scenario seed
    assert res.seeds == replicate_seeds(11, 3)
    runs = res.runs
    assert runs[runs.arm == "A"]["seed"].tolist() == runs[runs.arm == "B"]["seed"].tolist() == res.seeds
    # same seed, same day 0: the arms differ only by their parameters
    for fa, fb in zip(res.metrics_a, res.metrics_b):
        pd.testing.assert_series_equal(fa.iloc[0], fb.iloc[0])
    assert (runs[runs.arm == "B"]["total_checkins"] == 0).all()
    total = res.row("checkins", "total")
    assert total["b"] == 0
    assert total["diff"] == pytest.approx(-total["a"])


def test_seed_argument_sets_the_replicate_seeds(pair):
    a, b = pair
    res = compare(a, b, seed=99, replicates=2, steps=3, set=TINY)
    assert res.seed == 99 and res.seeds == replicate_seeds(99, 2)
    again = compare(a, b, seed=99, replicates=2, steps=3, set=TINY)
    pd.testing.assert_frame_equal(res.summary, again.summary)


def test_progress_counts_runs(pair):
    a, b = pair
    calls = []
    compare(a, b, replicates=2, steps=2, set=TINY, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_replicates_raise(pair, bad):
    a, b = pair
    with pytest.raises(ScenarioError, match="replicates"):
        compare(a, b, replicates=bad)


# ----------------------------------------------------------------------------- the command


def test_compare_command_writes_files_and_prints_summary(tmp_path, pair, capsys):
    a, b = pair
    out = tmp_path / "cmp"
    rc = main(["compare", str(a), str(b), "--replicates", "2", "--steps", str(STEPS),
               "--set", "population.size=60", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert rc == 0, err
    for name in ("compare.csv", "runs.csv", "summary.csv", "manifest.json", "compare.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "compare.png").read_bytes().startswith(b"\x89PNG")
    summary = pd.read_csv(out / "summary.csv")
    using = summary[summary["metric"] == "using"]
    assert set(using["stat"]) == {"mean", "final"}
    checkins = summary[(summary["metric"] == "checkins") & (summary["stat"] == "total")].iloc[0]
    assert checkins["b"] == 0
    ts = pd.read_csv(out / "compare.csv")
    assert list(ts.columns[:4]) == ["arm", "scenario", "replicate", "seed"]
    assert list(ts.columns[4:]) == list(COLUMNS)
    man = json.loads((out / "manifest.json").read_text())
    assert man["command"] == "compare"
    assert man["replicates"] == 2 and man["seed"] == 11
    assert man["replicate_seeds"] == replicate_seeds(11, 2)
    assert man["scenarios"]["B"]["checkins"]["enabled"] is False
    assert man["scenarios"]["A"]["population"]["size"] == 60
    assert man["versions"]["mesa"] and "commit" in man["git"]
    assert "using (mean):" in stdout and "B-A" in stdout and "with" in stdout and "without" in stdout


def test_each_summary_row_reads_in_one_notation_rounded_to_its_interval(pair):
    """The summary used to mix notations in a row (`+9.5e-04` beside `+122` and `[+69.585, +174.4]`)."""
    import re

    from sim.experiments.compare import compare, summary_text

    a, b = pair
    res = compare(a, b, replicates=3)
    rows = [line for line in summary_text(res).splitlines() if " B-A " in line and not line.startswith("[..]")]
    assert len(rows) >= 10
    for line in rows:
        numbers = re.findall(r"[+-]?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?", line.split(":", 1)[1])
        assert len(numbers) == 5, line                            # A, B, B-A and the interval's two ends
        assert not any("e" in n for n in numbers), line           # no exponent notation
        decimals = {len(n.split(".")[1]) if "." in n else 0 for n in numbers}
        assert len(decimals) == 1, line                           # the same decimals across the row
        metric, stat = line.split(" (", 1)[0], line.split(" (", 1)[1].split(")", 1)[0]
        r = res.row(metric, stat)
        half = (r["ci_high"] - r["ci_low"]) / 2
        if half > 0:   # two significant figures of the interval's half-width (at most 6 decimals)
            assert decimals.pop() == min(6, max(0, 1 - math.floor(math.log10(half)))), line


def test_compare_identical_through_the_cli_gives_zero(tmp_path, pair, capsys):
    a, _ = pair
    out = tmp_path / "same"
    rc = main(["compare", str(a), str(a), "-r", "2", "--steps", "5", "--seed", "3", "--quiet", "--out", str(out)])
    assert rc == 0
    assert capsys.readouterr().out == ""
    s = pd.read_csv(out / "summary.csv")
    assert (s["diff"].dropna() == 0).all()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


@pytest.mark.skipif(not (SCENARIO_DIR / "baseline.yaml").is_file() or not (SCENARIO_DIR / "no-checkins.yaml").is_file(),
                    reason="shipped scenarios not present")
def test_compare_shipped_baseline_with_no_checkins(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", "baseline", "no-checkins", "-r", "2", "--steps", str(STEPS),
               "--set", "population.size=60", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    s = pd.read_csv(out / "summary.csv")
    assert s[(s["metric"] == "checkins") & (s["stat"] == "total")]["b"].iloc[0] == 0


def test_two_classic_games_compare_the_game_not_psychology():
    """nowak-may-1992 against fermi-lattice used to print zero stress, craving and relapse rows and a
    headline in relapses per 100 members, which mean nothing with psychology off."""
    from sim.experiments.compare import compare, headline, summary_text

    res = compare("nowak-may-1992", "fermi-lattice", replicates=3, steps=12)
    text = summary_text(res)
    labels = {line.split(":", 1)[0] for line in text.splitlines() if " B-A " in line and not line.startswith("[..]")}
    assert labels == {"helpers (mean)", "helpers (final)", "assortment (mean)", "assortment (final)",
                      "mean_payoff (mean)"}
    head = headline(res)
    assert "share of helpers at the end" in head and "relapses" not in head
    a = res.runs[res.runs["arm"] == "A"].sort_values("replicate")["final_helpers"].to_numpy()
    b = res.runs[res.runs["arm"] == "B"].sort_values("replicate")["final_helpers"].to_numpy()
    assert f"{(b - a).mean():+.3f} share" in head
    # one psychology arm is enough for the recovery headline and rows
    from sim.core.scenarios import load_scenario

    small = load_scenario("baseline", {"population.size": 60, "population.burn_in": 0})
    mixed = compare("nowak-may-1992", small, replicates=2, steps=5)
    assert "relapses per 100 members" in headline(mixed) and "mean_stress (mean)" in summary_text(mixed)


def test_the_headline_says_how_many_more_left_beside_the_relapses():
    """Leaving is a harm (issue 24): a setting that lowers relapses by losing members shows it in the
    headline, with its own interval, computed per 100 members a year from the replicates' drop-outs."""
    from scipy import stats

    from sim.core.scenarios import load_scenario
    from sim.experiments.compare import headline_of

    a = load_scenario("baseline", {"population.size": 200, "steps": 365})
    b = load_scenario("baseline", {"population.size": 200, "steps": 365, "checkins.enabled": False})
    drop_a, drop_b = [40, 44, 38, 42], [30, 36, 31, 33]  # fewer leave in B
    h = headline_of(a, b, [100, 110, 95, 105], [90, 98, 91, 99], [0.5] * 4, [0.5] * 4, drop_a, drop_b)
    d = (np.array(drop_b) - np.array(drop_a)) * 100 / 200
    lo, hi = stats.t.interval(0.95, 3, loc=d.mean(), scale=d.std(ddof=1) / 2)
    assert h.endswith(f"; {d.mean():+.1f} drop-outs per 100 members over a year (95% interval {lo:+.1f} to "
                      f"{hi:+.1f})"), h
    closed_a = load_scenario("baseline", {"population.size": 200, "turnover.enabled": False})
    closed_b = load_scenario("baseline", {"population.size": 200, "turnover.enabled": False,
                                          "checkins.enabled": False})
    assert "drop-outs" not in headline_of(closed_a, closed_b, [1, 2], [2, 3], [0.5] * 2, [0.5] * 2, [0, 0], [0, 0])
