"""With psychology off the model is exactly the classic evolutionary game.

Each test runs the Mesa model and an independent, obviously-correct reference
implementation side by side from the same initial strategies and checks that
the strategies agree at every step.
"""

import numpy as np
import pytest

from sim.core import rng
from sim.core import rules
from sim.engines.agents import MutualAidModel

MOORE = [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0)]


def shift(a, dx, dy, periodic, fill):
    """Value of the neighbour at offset (dx, dy) for every cell of a (height, width) array."""
    if periodic:
        return np.roll(np.roll(a, -dy, axis=0), -dx, axis=1)
    h, w = a.shape
    out = np.full_like(a, fill)
    ys, xs = slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx))
    yd, xd = slice(max(0, dy), h - max(0, -dy)), slice(max(0, dx), w - max(0, -dx))
    out[ys, xs] = a[yd, xd]
    return out


def nowak_may_step(s, b, periodic):
    """One synchronous round of Nowak & May (1992): Moore neighbourhood, self-interaction,
    R=1, T=b, S=P=0, every cell takes the strategy of the best scorer among itself and
    its neighbours."""
    c = s.astype(float)
    n_c = c.copy()  # self-interaction
    for dx, dy in MOORE:
        n_c += shift(c, dx, dy, periodic, 0.0)
    pay = np.where(s == 1, n_c * 1.0, n_c * b)
    best_pay, best_s = pay.copy(), s.copy()
    for dx, dy in MOORE:
        p = shift(pay, dx, dy, periodic, -np.inf)
        q = shift(s, dx, dy, periodic, 0)
        better = p > best_pay
        best_pay[better], best_s[better] = p[better], q[better]
    return best_s


@pytest.mark.parametrize("b, periodic", [(1.85, True), (1.7, True), (2.05, True), (1.85, False)])
def test_nowak_may_1992_exactly(b, periodic):
    model = MutualAidModel("nowak-may-1992", network_width=24, network_height=20, network_periodic=periodic,
                           game_T=b, seed=3)
    w, h = 24, 20
    s = model.state_arrays()["strategy"].reshape(h, w).copy()
    changed = 0
    for _ in range(30):
        model.step()
        s_next = nowak_may_step(s, b, periodic)
        got = model.state_arrays()["strategy"].reshape(h, w)
        assert np.array_equal(got, s_next)
        changed += int((s_next != s).sum())
        s = s_next
    assert changed > 0  # the dynamics did something


def test_nowak_may_kaleidoscope_from_one_defector_stays_symmetric():
    # A single defector in the centre of a fixed-edge lattice of cooperators grows a
    # pattern with the symmetry of the square (Nowak & May 1992, 1.8 < b < 2).
    model = MutualAidModel("nowak-may-1992", network_width=41, network_height=41, network_periodic=False,
                           population_initial_helpers=1.0)
    centre = 20 * 41 + 20
    model.members[centre].strategy = 0
    for _ in range(25):
        model.step()
        g = model.state_arrays()["strategy"].reshape(41, 41)
        assert np.array_equal(g, g.T) and np.array_equal(g, g[::-1, :]) and np.array_equal(g, g[:, ::-1])
    assert 0 < (g == 0).sum() < g.size


def reference_fermi(model, steps):
    """Fermi-rule imitation on the model's graph, written as plainly as possible."""
    sc, g = model.scenario, model.graph
    ev, game = sc.evolution, sc.game
    w = sc.ties.initial_weight
    s = model.state_arrays()["strategy"].astype(int).copy()
    nbrs = [list(g.indices[g.indptr[i]:g.indptr[i + 1]]) for i in range(g.n)]
    out = []
    for t in range(1, steps + 1):
        pay = [sum(w * rules.payoff(s[i], s[j], game.R, game.S, game.T, game.P) for j in nbrs[i])
               for i in range(g.n)]
        if sc.network.self_interaction:
            pay = [pay[i] + rules.payoff(s[i], s[i], game.R, game.S, game.T, game.P) for i in range(g.n)]
        new = s.copy()
        if ev.enabled and t % ev.interval == 0:
            for i in range(g.n):
                if not nbrs[i]:
                    continue
                if ev.revision_share < 1.0 and rng.uniform(model.key, t, i, rng.REVISE, -1) >= ev.revision_share:
                    continue
                j = nbrs[i][int(rng.uniform(model.key, t, i, rng.PICK, -1) * len(nbrs[i]))]
                p = 1.0 / (1.0 + np.exp((pay[i] - pay[j]) / ev.temperature))
                if rng.uniform(model.key, t, i, rng.ADOPT, -1) < p:
                    new[i] = s[j]
        s = new
        out.append(s.copy())
    return out


@pytest.mark.parametrize("kind", ["lattice", "ring", "barabasi_albert"])
def test_fermi_rule_exactly(kind):
    extra = {"network_width": 15, "network_height": 15} if kind == "lattice" else \
        {"network_kind": kind, "population_size": 150, "network_degree": 4}
    model = MutualAidModel("fermi-lattice", seed=9, game_T=1.3, evolution_temperature=0.5, **extra)
    expected = reference_fermi(model, 25)
    for t in range(25):
        model.step()
        assert np.array_equal(model.state_arrays()["strategy"], expected[t]), f"step {t + 1}"


def test_death_birth_replaces_only_death_sites_with_a_neighbours_strategy():
    model = MutualAidModel("death-birth", population_size=200, evolution_revision_share=0.2, seed=4)
    g = model.graph
    for t in range(1, 15):
        before = model.state_arrays()["strategy"].copy()
        model.step()
        after = model.state_arrays()["strategy"]
        for i in range(g.n):
            dies = rng.uniform(model.key, t, i, rng.REVISE, -1) < 0.2
            nbr_strats = set(before[g.indices[g.indptr[i]:g.indptr[i + 1]]])
            if not dies:
                assert after[i] == before[i]
            else:
                assert after[i] in nbr_strats


def test_death_birth_picks_neighbours_in_proportion_to_fitness():
    # A site whose neighbours are one helper of high fitness and one competitor of
    # fitness ~0 (strong selection) almost always becomes a helper.
    model = MutualAidModel("death-birth", population_size=30, evolution_selection=1.0,
                           evolution_revision_share=1.0, network_degree=2, game_R=5.0, game_S=5.0,
                           game_T=0.0, game_P=0.0, population_initial_helpers=0.5, seed=1)
    before = model.state_arrays()["strategy"].copy()
    model.step()
    after = model.state_arrays()["strategy"]
    n = len(before)
    mixed = [i for i in range(n) if before[(i - 1) % n] != before[(i + 1) % n]]
    assert mixed
    # helpers earn 5 per tie, competitors 0: fitness weight 0 for a competitor
    assert all(after[i] == 1 for i in mixed)
