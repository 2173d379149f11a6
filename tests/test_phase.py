"""The claims of the phase diagram (scenarios/sweeps/kropotkin-phase.yaml, README), over 20 seeds.

Each point is the sweep's setting: death-birth on a ring of 200, w = 0.05, a twentieth of the sites a
day, 6,000 days, from half helping. Tests: one-sided Wilcoxon signed-rank of the final share of helpers
against one half (``scipy.stats.wilcoxon``), and paired (``effects.p_greater``) between psychology on and
off; p < 0.01 throughout.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.core.networks import build_ring
from sim.experiments.compare import replicate_seeds
from sim.experiments.deathbirth import allen_threshold
from sim.experiments.effects import p_greater
from sim.experiments.lesson import run_settings
from sim.experiments.report import crossing
from sim.experiments.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
SEEDS = replicate_seeds(1992, 20)
P = 0.01


def _point(ratio, k, psychology):
    sw = load_sweep(ROOT / "scenarios" / "sweeps" / "kropotkin-phase.yaml")
    assert sw.fixed == {"population.size": 200, "evolution.selection": 0.05, "evolution.revision_share": 0.05}
    over = {**sw.fixed, "game.R": ratio - 1.0, "game.S": -1.0, "game.T": float(ratio), "game.P": 0.0,
            "network.degree": k, "psychology.enabled": psychology, "steps": sw.steps}
    return ("death-birth", over)


@pytest.fixture(scope="module")
def runs():
    exact4 = allen_threshold(build_ring(200, 4))
    settings = {"k4 left": _point(2.0, 4, False), "k4 exact": _point(exact4, 4, False),
                "k4 right": _point(1.5 * exact4, 4, False),
                "k8 b/c=4 off": _point(4.0, 8, False), "k8 b/c=4 on": _point(4.0, 8, True)}
    return run_settings(settings, SEEDS, workers=2)


def _above_half(x):
    return stats.wilcoxon(np.asarray(x) - 0.5, alternative="greater").pvalue


def _below_half(x):
    return stats.wilcoxon(np.asarray(x) - 0.5, alternative="less").pvalue


def test_psychology_off_helpers_lose_left_of_the_line_and_win_right_of_it(runs):
    assert _below_half(runs["k4 left"].helpers) < P
    assert _above_half(runs["k4 right"].helpers) < P


def test_psychology_off_at_the_exact_threshold_the_outcome_is_a_toss_up(runs):
    """At the exact b/c* the final share is not distinguishable from one half (two-sided Wilcoxon,
    p > 0.01, mean within 0.2 of it), between the shares left and right of it (paired, p < 0.01)."""
    at = runs["k4 exact"].helpers
    assert stats.wilcoxon(at - 0.5).pvalue > P and abs(at.mean() - 0.5) < 0.2
    assert p_greater(at, runs["k4 left"].helpers) < P
    assert p_greater(runs["k4 right"].helpers, at) < P


def test_psychology_on_helpers_win_at_a_benefit_cost_below_the_degree(runs):
    """Partner choice: on degree 8 at b/c = 4, helpers win with psychology on and lose with it off; the
    community's stress is lower where they win."""
    on, off = runs["k8 b/c=4 on"], runs["k8 b/c=4 off"]
    assert _above_half(on.helpers) < P
    assert _below_half(off.helpers) < P
    assert p_greater(on.helpers, off.helpers) < P


def test_crossing_interpolates_in_log_benefit_cost():
    assert crossing([1, 2, 4], [0.0, 0.25, 0.75]) == pytest.approx(2 ** 1.5)
    assert np.isnan(crossing([1, 2, 4], [0.0, 0.1, 0.2]))
    assert crossing([1, 2, 4], [0.6, 0.7, 0.8]) == 1.0
