"""Death-birth under weak selection: the exact threshold (Allen et al. 2017) and the fixation runs."""

import numpy as np
import pytest
from scipy.stats import binomtest

from sim.core.networks import build_complete, build_lattice, build_ring, from_edges
from sim.experiments.deathbirth import allen_threshold, coalescence_times, fixation_share


@pytest.mark.parametrize("graph,n,k", [(build_ring(12, 2), 12, 2), (build_ring(30, 4), 30, 4),
                                       (build_ring(40, 6), 40, 6), (build_lattice(6, 6, "von_neumann"), 36, 4),
                                       (build_lattice(7, 5, "moore"), 35, 8)])
def test_threshold_on_transitive_graphs_is_taylor_day_wild_closed_form(graph, n, k):
    assert allen_threshold(graph) == pytest.approx((n - 2) / (n / k - 2), rel=1e-9)


def test_no_benefit_favours_helpers_on_a_complete_graph_or_a_star():
    assert allen_threshold(build_complete(10)) == float("inf")
    star = from_edges(9, np.array([[0, i] for i in range(1, 9)]))
    assert allen_threshold(star) == float("inf")


def test_coalescence_times_solve_their_recurrence():
    g = from_edges(7, np.array([[0, 1], [1, 2], [2, 3], [3, 0], [3, 4], [4, 5], [5, 6], [6, 4], [1, 5]]))
    tau = coalescence_times(g)
    ptr, nbr = g.indptr, g.indices
    p = np.zeros((7, 7))
    for i in range(7):
        p[i, nbr[ptr[i]:ptr[i + 1]]] = 1 / (ptr[i + 1] - ptr[i])
    rhs = 1 + 0.5 * (p @ tau + tau @ p.T)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_allclose(tau[off], rhs[off], rtol=1e-10)
    assert np.all(np.diag(tau) == 0) and np.allclose(tau, tau.T)


def test_neutral_fixation_share_is_one_half():
    f = fixation_share(build_ring(20, 4), 5.0, 1.0, 0.0, 3000, seed=11)
    assert set(np.unique(f)) <= {0.0, 1.0}
    assert binomtest(int(f.sum()), len(f), 0.5).pvalue > 0.001


def test_helpers_fix_less_below_and_more_above_the_exact_threshold():
    g = build_ring(20, 4)  # (b/c)* = 18 / 3 = 6
    below = fixation_share(g, 3.0, 1.0, 0.01, 3000, seed=1)
    above = fixation_share(g, 12.0, 1.0, 0.01, 3000, seed=2)
    assert binomtest(int(below.sum()), 3000, 0.5, alternative="less").pvalue < 1e-3
    assert binomtest(int(above.sum()), 3000, 0.5, alternative="greater").pvalue < 1e-3


def test_fixation_runs_repeat_on_any_thread_count():
    import numba

    import sim

    g = build_lattice(6, 6, "moore")
    try:
        sim.set_threads(1)
        one = fixation_share(g, 9.0, 1.0, 0.01, 200, seed=5)
        sim.set_threads(2)
        two = fixation_share(g, 9.0, 1.0, 0.01, 200, seed=5)
    finally:
        sim.set_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, fixation_share(g, 9.0, 1.0, 0.01, 200, seed=6))
