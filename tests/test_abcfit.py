"""ABC-SMC calibration (sim.experiments.abcfit): its pieces on hand-made inputs, and one tiny real run."""

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments import abcfit
from sim.experiments.calibrate import HELPER_RATIO, SPACE, TARGETS


def test_a_parameter_vector_always_gets_the_same_calibration_seed():
    theta = {k: (lo + hi) / 2 for k, (lo, hi) in SPACE.items()}
    s = abcfit._seed(theta)
    assert s == abcfit._seed(dict(reversed(list(theta.items()))))   # order of the keys does not matter
    assert 0 <= s < 1000                                               # never a validation seed (1000 and up)
    seeds = {abcfit._seed({**theta, "psychology.lapse_max": 0.03 + i * 1e-4}) for i in range(50)}
    assert len(seeds) > 40                                             # and different vectors spread out


def test_patterns_are_the_targets_keys_and_a_missing_one_is_far_from_its_target():
    p = {k: m for k, (m, _) in TARGETS.items()}
    p.update(entry_helpers_abstinent_km=0.4, entry_nonhelpers_abstinent_km=0.2)
    got = abcfit.patterns(p)
    assert set(got) == set(TARGETS) | {"helper_ratio"}
    assert got["helper_ratio"] == pytest.approx(2.0)
    p["entry_sponsored"] = math.nan
    p["entry_nonhelpers_abstinent_km"] = math.nan
    got = abcfit.patterns(p)
    w = abcfit.weights()
    assert (got["entry_sponsored"] - TARGETS["entry_sponsored"][0]) * w["entry_sponsored"] == pytest.approx(10.0)
    assert (got["helper_ratio"] - HELPER_RATIO[0]) * w["helper_ratio"] == pytest.approx(10.0)


def test_the_screened_parameters_are_fitted_ones():
    assert set(abcfit.SCREENED) < set(SPACE)


def test_weighted_quantiles():
    v = np.array([3.0, 1.0, 2.0, 4.0])
    assert abcfit.weighted_quantiles(v, np.ones(4), (0.25, 0.5, 1.0)) == [1.0, 2.0, 4.0]
    assert abcfit.weighted_quantiles(v, np.array([0, 0, 0, 1.0]), (0.05, 0.95)) == [4.0, 4.0]


def test_summary_says_where_the_default_lies():
    k = "psychology.lapse_max"
    df = pd.DataFrame({p: np.full(10, (lo + hi) / 2) for p, (lo, hi) in SPACE.items()})
    df[k] = np.linspace(0.05, 0.06, 10)
    rows = {r["parameter"]: r for r in abcfit.summary(df, np.ones(10))}
    r = rows[k]
    assert r["q05"] == pytest.approx(0.05) and r["q95"] == pytest.approx(0.06)
    assert r["default_inside"] == (0.05 <= r["default"] <= 0.06)
    assert r["narrowed"] == pytest.approx(0.01 / (SPACE[k][1] - SPACE[k][0]))


def test_a_tiny_abc_run_returns_particles_inside_the_prior(tmp_path):
    pytest.importorskip("pyabc")
    df, w, history = abcfit.fit(population=3, generations=1, db=str(tmp_path / "abc.db"), procs=1)
    assert len(df) == 3 and np.isclose(w.sum(), 1.0)
    assert set(df.columns) == set(abcfit.SCREENED)
    for k in abcfit.SCREENED:
        lo, hi = SPACE[k]
        assert ((df[k] >= lo) & (df[k] <= hi)).all()
    assert "| generation | epsilon |" in abcfit.markdown(abcfit.summary(df, w), history)
