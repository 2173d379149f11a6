"""Specification of the network builders (``sim/core/networks.py``).

Every builder must return a simple, symmetric graph in canonical CSR form;
the random ones must follow their model (degrees, shares, edge counts) within
stated statistical bounds and be reproducible from their seed.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.schema import NETWORK_KINDS, Network
from sim.core.networks import (
    Graph,
    NetworkError,
    build_barabasi_albert,
    build_complete,
    build_edgelist,
    build_erdos_renyi,
    build_lattice,
    build_network,
    build_ring,
    build_sbm,
    build_watts_strogatz,
    from_edges,
)

# Small graphs keep every property test fast; deadline=None because the first
# Barabási–Albert call may compile the numba kernel.
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 2**63 - 1)


# ---------------------------------------------------------------------------
# The invariants every Graph must satisfy
# ---------------------------------------------------------------------------


def assert_canonical(g: Graph, n: int) -> None:
    """CSR of a simple undirected graph on n nodes, rows sorted ascending."""
    assert g.n == n
    assert g.indptr.dtype == np.int64 and g.indptr.shape == (n + 1,)
    assert g.indices.dtype == np.int32 and g.indices.shape == (g.indptr[-1],)
    assert g.indptr[0] == 0 and np.all(np.diff(g.indptr) >= 0)
    deg = g.degree()
    assert deg.dtype == np.int64 and deg.shape == (n,)
    rows = np.repeat(np.arange(n, dtype=np.int64), deg)
    cols = g.indices.astype(np.int64)
    if len(cols):
        assert cols.min() >= 0 and cols.max() < n
    assert not np.any(rows == cols), "self-loop"
    # Strictly increasing within each row: sorted and no duplicates.
    same_row = rows[1:] == rows[:-1]
    assert np.all(cols[1:][same_row] > cols[:-1][same_row]), "row not strictly ascending"
    # Symmetric: the set of (i, j) equals the set of (j, i).
    fwd = rows * n + cols  # already sorted
    rev = np.sort(cols * n + rows)
    assert np.array_equal(fwd, rev), "not symmetric"
    e = g.edges()
    assert e.dtype == np.int64 and e.shape == (len(cols) // 2, 2)
    assert np.all(e[:, 0] < e[:, 1])
    assert np.array_equal(e, e[np.lexsort((e[:, 1], e[:, 0]))])
    assert g.num_edges == len(e)


def same_arrays(a: Graph, b: Graph) -> bool:
    return a.n == b.n and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


# ---------------------------------------------------------------------------
# Strategies that construct valid arguments
# ---------------------------------------------------------------------------


@st.composite
def lattice_args(draw):
    return dict(
        width=draw(st.integers(1, 12)),
        height=draw(st.integers(1, 12)),
        neighborhood=draw(st.sampled_from(["moore", "von_neumann"])),
        periodic=draw(st.booleans()),
    )


@st.composite
def ring_args(draw, max_n=60):
    n = draw(st.integers(2, max_n))
    return dict(n=n, degree=draw(st.integers(1, n - 1)))


@st.composite
def ws_args(draw):
    a = draw(ring_args())
    return dict(a, rewire=draw(st.floats(0, 1)), seed=draw(seeds))


@st.composite
def ba_args(draw):
    n = draw(st.integers(2, 80))
    return dict(n=n, m=draw(st.integers(1, n - 1)), seed=draw(seeds))


@st.composite
def er_args(draw):
    n = draw(st.integers(2, 80))
    return dict(n=n, mean_degree=draw(st.floats(0, n - 1)), seed=draw(seeds))


def sbm_pairs(n: int, groups: int) -> tuple[int, int]:
    """Within- and between-block pair counts for contiguous near-equal blocks."""
    sizes = [n // groups + (1 if b < n % groups else 0) for b in range(groups)]
    within = sum(s * (s - 1) // 2 for s in sizes)
    return within, n * (n - 1) // 2 - within


@st.composite
def sbm_args(draw):
    n = draw(st.integers(2, 100))
    groups = draw(st.integers(1, n))
    b = draw(st.floats(0, 1))
    within, between = sbm_pairs(n, groups)
    b_eff = 0.0 if between == 0 else 1.0 if within == 0 else b
    # Largest mean degree with p_in <= 1 and p_out <= 1.
    limits = []
    if b_eff < 1:
        limits.append(2 * within / ((1 - b_eff) * n))
    if b_eff > 0:
        limits.append(2 * between / (b_eff * n))
    d = draw(st.floats(0, 1)) * min(limits)
    return dict(n=n, groups=groups, mean_degree=d, between_share=b, seed=draw(seeds))


# ---------------------------------------------------------------------------
# Invariants for every kind
# ---------------------------------------------------------------------------


@PROPS
@given(lattice_args())
def test_lattice_is_canonical(a):
    g = build_lattice(**a)
    assert_canonical(g, a["width"] * a["height"])
    assert (g.width, g.height) == (a["width"], a["height"])


@PROPS
@given(ring_args())
def test_ring_is_canonical(a):
    assert_canonical(build_ring(**a), a["n"])


@PROPS
@given(ws_args())
def test_watts_strogatz_is_canonical_and_keeps_tie_count(a):
    g = build_watts_strogatz(**a)
    assert_canonical(g, a["n"])
    k = max(1, a["degree"] // 2)
    ring = build_ring(a["n"], a["degree"])
    # Rewiring moves ties, never adds or removes them; each member keeps the
    # k ties it starts, so its degree is at least k.
    assert g.num_edges == ring.num_edges
    assert g.degree().min() >= min(k, ring.degree().min())


@PROPS
@given(ba_args())
def test_barabasi_albert_is_canonical(a):
    g = build_barabasi_albert(**a)
    assert_canonical(g, a["n"])
    n, m = a["n"], a["m"]
    # Initial star (m ties) plus m ties for each of the n - m - 1 joiners.
    assert g.num_edges == m * (n - m)
    assert np.all(g.degree()[m + 1 :] >= m)  # joiners
    assert g.degree().min() >= 1  # the star's leaves may have fewer than m


@PROPS
@given(er_args())
def test_erdos_renyi_is_canonical(a):
    assert_canonical(build_erdos_renyi(**a), a["n"])


@PROPS
@given(sbm_args())
def test_sbm_is_canonical_with_contiguous_blocks(a):
    g = build_sbm(**a)
    assert_canonical(g, a["n"])
    assert g.groups.dtype == np.int32 and g.groups.shape == (a["n"],)
    assert np.all(np.diff(g.groups) >= 0), "blocks must be contiguous ranges of ids"
    sizes = np.bincount(g.groups)
    assert len(sizes) == a["groups"] and sizes.max() - sizes.min() <= 1


@PROPS
@given(st.integers(1, 60))
def test_complete_is_canonical(n):
    g = build_complete(n)
    assert_canonical(g, n)
    assert np.all(g.degree() == n - 1)


@PROPS
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))))
def test_from_edges_is_canonical_and_keeps_every_tie(arg):
    n, pairs = arg
    g = from_edges(n, np.array(pairs, dtype=np.int64).reshape(-1, 2))
    assert_canonical(g, n)
    want = {(min(i, j), max(i, j)) for i, j in pairs if i != j}
    assert {tuple(e) for e in g.edges().tolist()} == want


def test_from_edges_rejects_out_of_range_ids():
    with pytest.raises(NetworkError, match="node 5 out of range 0..4"):
        from_edges(5, np.array([[0, 1], [2, 5]]))
    with pytest.raises(NetworkError, match="node -1 out of range"):
        from_edges(5, np.array([[0, -1]]))


# ---------------------------------------------------------------------------
# Lattice
# ---------------------------------------------------------------------------


def slow_lattice(width, height, neighborhood, periodic):
    """Obviously correct reference: neighbour sets cell by cell."""
    offsets = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]
    if neighborhood == "von_neumann":
        offsets = [(dx, dy) for dx, dy in offsets if abs(dx) + abs(dy) == 1]
    ties = set()
    for y in range(height):
        for x in range(width):
            for dx, dy in offsets:
                nx_, ny_ = x + dx, y + dy
                if periodic:
                    nx_, ny_ = nx_ % width, ny_ % height
                elif not (0 <= nx_ < width and 0 <= ny_ < height):
                    continue
                i, j = y * width + x, ny_ * width + nx_
                if i != j:
                    ties.add((min(i, j), max(i, j)))
    return ties


@PROPS
@given(lattice_args())
def test_lattice_matches_slow_reference(a):
    g = build_lattice(**a)
    assert {tuple(e) for e in g.edges().tolist()} == slow_lattice(**a)


@pytest.mark.parametrize("neighborhood, full", [("moore", 8), ("von_neumann", 4)])
@given(width=st.integers(3, 15), height=st.integers(3, 15))
@settings(max_examples=25, deadline=None)
def test_periodic_lattice_is_regular(neighborhood, full, width, height):
    assert np.all(build_lattice(width, height, neighborhood, True).degree() == full)


@pytest.mark.parametrize("neighborhood, corner, side, inner", [("moore", 3, 5, 8), ("von_neumann", 2, 3, 4)])
@given(width=st.integers(3, 15), height=st.integers(3, 15))
@settings(max_examples=25, deadline=None)
def test_fixed_edge_lattice_degrees(neighborhood, corner, side, inner, width, height):
    deg = build_lattice(width, height, neighborhood, False).degree().reshape(height, width)
    for y, x in [(0, 0), (0, width - 1), (height - 1, 0), (height - 1, width - 1)]:
        assert deg[y, x] == corner
    assert np.all(deg[0, 1:-1] == side) and np.all(deg[1:-1, 0] == side)
    assert np.all(deg[1:-1, 1:-1] == inner)


def test_lattice_node_ids_are_row_major():
    g = build_lattice(5, 4, "von_neumann", False)
    # member (x=2, y=1) is id 7; its neighbours are (2,0)=2, (1,1)=6, (3,1)=8, (2,2)=12
    assert g.indices[g.indptr[7] : g.indptr[8]].tolist() == [2, 6, 8, 12]


def test_lattice_rejects_unknown_neighborhood():
    with pytest.raises(NetworkError, match="neighborhood"):
        build_lattice(3, 3, "hex")


# ---------------------------------------------------------------------------
# Ring and Watts–Strogatz
# ---------------------------------------------------------------------------


@PROPS
@given(ring_args())
def test_ring_degree_is_twice_half_degree(a):
    n, d = a["n"], a["degree"]
    want = 1 if n == 2 else 2 * max(1, d // 2)  # n=2: both sides are the same member
    assert np.all(build_ring(n, d).degree() == want)


@PROPS
@given(ring_args())
def test_ring_matches_networkx(a):
    n, k = a["n"], max(1, a["degree"] // 2)
    ref = nx.watts_strogatz_graph(n, 2 * k, 0.0) if n > 2 else nx.path_graph(2)
    assert same_arrays(build_ring(**a), from_edges(n, np.array(ref.edges()).reshape(-1, 2)))


@PROPS
@given(ring_args(), seeds)
def test_watts_strogatz_without_rewiring_is_the_ring(a, seed):
    assert same_arrays(build_watts_strogatz(a["n"], a["degree"], 0.0, seed), build_ring(**a))


def test_watts_strogatz_rewires_about_the_given_share():
    n, degree, p = 20_000, 8, 0.3
    g = build_watts_strogatz(n, degree, p, seed=11)
    ring = build_ring(n, degree).edges()
    keys = lambda e: e[:, 0] * n + e[:, 1]  # noqa: E731
    moved = int(np.count_nonzero(~np.isin(keys(g.edges()), keys(ring))))
    m = n * degree // 2
    # Each of the m ring ties moves with probability p (a moved tie never lands
    # on a ring position): Binomial(m, p); allow 5 standard deviations.
    assert abs(moved - m * p) <= 5 * math.sqrt(m * p * (1 - p))


# ---------------------------------------------------------------------------
# Barabási–Albert
# ---------------------------------------------------------------------------

M64 = (1 << 64) - 1


def slow_barabasi_albert(n, m, seed):
    """Pure-Python reference of the kernel, same splitmix64 stream."""
    state = int(np.random.default_rng(seed).integers(0, 2**63, dtype=np.int64))
    edges = [(0, i) for i in range(1, m + 1)]
    rep = [x for i in range(1, m + 1) for x in (0, i)]
    for new in range(m + 1, n):
        targets = []
        while len(targets) < m:
            state = (state + 0x9E3779B97F4A7C15) & M64
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            z ^= z >> 31
            t = rep[int(float(z >> 11) * (1.0 / 9007199254740992.0) * len(rep))]
            if t not in targets:
                targets.append(t)
        for t in targets:
            edges.append((new, t))
            rep += [new, t]
    return from_edges(n, np.array(edges, dtype=np.int64))


@settings(max_examples=30, deadline=None)
@given(ba_args().filter(lambda a: a["n"] <= 60))
def test_barabasi_albert_kernel_matches_slow_reference(a):
    assert same_arrays(build_barabasi_albert(**a), slow_barabasi_albert(**a))


def test_barabasi_albert_has_a_heavy_tail():
    n, m = 5000, 3
    deg = build_barabasi_albert(n, m, seed=5).degree()
    er = build_erdos_renyi(n, 2 * m, seed=5).degree()
    # BA's largest degree grows like m * sqrt(n) (about 210 here); an
    # Erdős–Rényi graph of the same mean degree stays near its mean (max ~20).
    assert deg.max() > 15 * m
    assert deg.max() > 3 * er.max()
    assert abs(deg.mean() - 2 * m) < 0.01


def test_barabasi_albert_rejects_m_not_below_n():
    with pytest.raises(NetworkError, match="m=5"):
        build_barabasi_albert(5, 5, seed=1)


# ---------------------------------------------------------------------------
# Erdős–Rényi and SBM statistics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_erdos_renyi_mean_degree(seed):
    n, d = 20_000, 8.0
    g = build_erdos_renyi(n, d, seed)
    pairs = n * (n - 1) // 2
    p = d / (n - 1)
    # Ties ~ Binomial(pairs, p); mean degree = 2 ties / n. 5 sd: about 1 in 3.5 million.
    sd = 2 * math.sqrt(pairs * p * (1 - p)) / n
    assert abs(g.degree().mean() - d) <= 5 * sd
    # Degrees are Binomial(n-1, p): variance d (1 - p). The sample variance of
    # n near-independent draws has sd about d * sqrt(2 / n); allow 5 of them.
    assert abs(g.degree().var() - d * (1 - p)) <= 5 * d * math.sqrt(2 / n) + 0.05


def test_erdos_renyi_ties_each_pair_with_probability_p():
    n, p, runs = 6, 0.3, 2000
    counts = np.zeros((n, n))
    for seed in range(runs):
        e = build_erdos_renyi(n, p * (n - 1), seed).edges()
        counts[e[:, 0], e[:, 1]] += 1
    hits = counts[np.triu_indices(n, 1)]
    # Each pair: Binomial(runs, p); 15 pairs, 5 sd each.
    assert np.all(np.abs(hits - runs * p) <= 5 * math.sqrt(runs * p * (1 - p)))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("groups, between_share", [(400, 0.1), (50, 0.5), (1000, 0.0)])
def test_sbm_mean_degree_and_between_share(seed, groups, between_share):
    n, d = 20_000, 8.0
    g = build_sbm(n, groups, d, between_share, seed)
    within, between = sbm_pairs(n, groups)
    ties = n * d / 2
    p_in = (1 - between_share) * ties / within
    p_out = between_share * ties / between
    e = g.edges()
    across = int(np.count_nonzero(g.groups[e[:, 0]] != g.groups[e[:, 1]]))
    # Within and between ties are independent binomials; 5 sd bounds.
    sd_total = math.sqrt(within * p_in * (1 - p_in) + between * p_out * (1 - p_out))
    assert abs(len(e) - ties) <= 5 * sd_total
    assert abs(across - between_share * ties) <= 5 * math.sqrt(between * p_out * (1 - p_out))
    assert abs(across / len(e) - between_share) < 0.02


def test_sbm_ties_pairs_with_block_probabilities():
    n, groups, b, d, runs = 6, 2, 0.4, 2.0, 2000
    within, between = sbm_pairs(n, groups)
    p_in, p_out = (1 - b) * n * d / 2 / within, b * n * d / 2 / between
    counts = np.zeros((n, n))
    for seed in range(runs):
        e = build_sbm(n, groups, d, b, seed).edges()
        counts[e[:, 0], e[:, 1]] += 1
    block = np.repeat([0, 1], 3)
    for i, j in zip(*np.triu_indices(n, 1)):
        p = p_in if block[i] == block[j] else p_out
        assert abs(counts[i, j] - runs * p) <= 5 * math.sqrt(runs * p * (1 - p))


def test_sbm_rejects_impossible_within_degree():
    with pytest.raises(NetworkError, match="groups of about 5 members"):
        build_sbm(100, 20, 8, 0.1, seed=1)


# ---------------------------------------------------------------------------
# Complete graph
# ---------------------------------------------------------------------------


def test_complete_refuses_huge_populations():
    # 10000 members give 49,995,000 ties (allowed, but too big to build here).
    with pytest.raises(NetworkError, match=r"population.size=10001 would need 50,005,000 ties; use at most 10000 members"):
        build_complete(10_001)


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------

RANDOM_BUILDERS = {
    "watts_strogatz": lambda seed: build_watts_strogatz(300, 8, 0.2, seed),
    "barabasi_albert": lambda seed: build_barabasi_albert(300, 4, seed),
    "erdos_renyi": lambda seed: build_erdos_renyi(300, 8, seed),
    "sbm": lambda seed: build_sbm(300, 10, 8, 0.2, seed),
}


@pytest.mark.parametrize("kind", sorted(RANDOM_BUILDERS))
@settings(max_examples=10, deadline=None)
@given(seed=seeds)
def test_same_seed_same_graph_other_seed_other_graph(kind, seed):
    build = RANDOM_BUILDERS[kind]
    assert build(seed) == build(seed)
    assert not same_arrays(build(seed), build(seed + 1))


def test_builders_leave_global_random_state_alone():
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    for build in RANDOM_BUILDERS.values():
        build(1)
    assert np.random.random() == before


# ---------------------------------------------------------------------------
# Edge list files
# ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ties.txt"
    p.write_text(text, encoding="utf-8")
    return p


def test_edgelist_reads_comments_commas_tabs_and_repeats(tmp_path):
    p = write(tmp_path, "# a comment\n0 1\n\n1,2\n2\t3   # trailing comment\n  3 , 0\n1 0\n4 4\n")
    g = build_edgelist(p, 6)
    assert_canonical(g, 6)
    assert g.edges().tolist() == [[0, 1], [0, 3], [1, 2], [2, 3]]
    assert g.degree()[5] == 0  # isolated members are kept


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("0 1\n1 x\n", 2, "'x' is not an integer"),
        ("0 1\n# c\n\n1 2.5\n", 4, "'2.5' is not an integer"),
        ("0 1\n1 2\n2 9\n", 3, "node 9 out of range 0..4"),
        ("-1 2\n", 1, "node -1 out of range 0..4"),
        ("0 1\n3\n", 2, "expected 2 member ids 'i j', got 1 fields"),
        ("0 1 2\n", 1, "got 3 fields"),
    ],
)
def test_edgelist_bad_line_names_file_and_line(tmp_path, text, line, what):
    p = write(tmp_path, text)
    with pytest.raises(NetworkError) as err:
        build_edgelist(p, 5)
    msg = str(err.value)
    assert msg.startswith(f"edgelist {p} line {line}: ")
    assert what in msg
    assert "\n" not in msg


def test_edgelist_missing_file(tmp_path):
    p = tmp_path / "nope.txt"
    with pytest.raises(NetworkError, match=r"edgelist .*nope\.txt: file not found"):
        build_edgelist(p, 5)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_edgelist_round_trip(arg):
    n, pairs = arg
    with tempfile.TemporaryDirectory() as d:
        p = write(Path(d), "".join(f"{i} {j}\n" for i, j in pairs))
        g = build_edgelist(p, n)
    assert g == from_edges(n, np.array(pairs, dtype=np.int64).reshape(-1, 2))


# ---------------------------------------------------------------------------
# networkx round trip
# ---------------------------------------------------------------------------

any_graph = st.one_of(
    lattice_args().map(lambda a: build_lattice(**a)),
    ring_args().map(lambda a: build_ring(**a)),
    ws_args().map(lambda a: build_watts_strogatz(**a)),
    ba_args().map(lambda a: build_barabasi_albert(**a)),
    er_args().map(lambda a: build_erdos_renyi(**a)),
    sbm_args().map(lambda a: build_sbm(**a)),
    st.integers(1, 30).map(build_complete),
)


@PROPS
@given(any_graph)
def test_to_networkx_round_trip(g):
    h = g.to_networkx()
    assert sorted(h.nodes()) == list(range(g.n))
    assert h.number_of_edges() == g.num_edges
    back = from_edges(g.n, np.array(list(h.edges()), dtype=np.int64).reshape(-1, 2))
    assert same_arrays(back, g)


# ---------------------------------------------------------------------------
# Dispatch from the scenario's network section
# ---------------------------------------------------------------------------


def dispatch_cases(tmp_path: Path):
    ties = write(tmp_path, "0 1\n1 2\n")
    return {
        "lattice": (Network(kind="lattice", width=5, height=4, neighborhood="von_neumann", periodic=False), 20,
                    lambda: build_lattice(5, 4, "von_neumann", False)),
        "ring": (Network(kind="ring", degree=6), 50, lambda: build_ring(50, 6)),
        "watts_strogatz": (Network(kind="watts_strogatz", degree=6, rewire=0.3), 50,
                           lambda: build_watts_strogatz(50, 6, 0.3, 7)),
        "barabasi_albert": (Network(kind="barabasi_albert", degree=7), 50,
                            lambda: build_barabasi_albert(50, 3, 7)),
        "erdos_renyi": (Network(kind="erdos_renyi", degree=5), 50, lambda: build_erdos_renyi(50, 5, 7)),
        "sbm": (Network(kind="sbm", degree=4, groups=5, between_share=0.3), 50,
                lambda: build_sbm(50, 5, 4, 0.3, 7)),
        "complete": (Network(kind="complete"), 12, lambda: build_complete(12)),
        "edgelist": (Network(kind="edgelist", path=str(ties)), 4, lambda: build_edgelist(ties, 4)),
    }


def test_dispatch_covers_every_kind(tmp_path):
    assert set(dispatch_cases(tmp_path)) == set(NETWORK_KINDS)


@pytest.mark.parametrize("kind", NETWORK_KINDS)
def test_build_network_dispatches(tmp_path, kind):
    net, size, direct = dispatch_cases(tmp_path)[kind]
    g = build_network(net, size, seed=7)
    assert_canonical(g, size)
    assert g == direct()


def test_build_network_barabasi_albert_uses_at_least_one_tie():
    g = build_network(Network(kind="barabasi_albert", degree=1), 30, seed=3)
    assert g.num_edges == 1 * (30 - 1)


def test_build_network_lattice_size_mismatch():
    with pytest.raises(NetworkError, match=r"does not match network.width\*network.height=5\*4=20"):
        build_network(Network(kind="lattice", width=5, height=4), 21, seed=1)


def test_build_network_lattice_square_default():
    g = build_network(Network(kind="lattice"), 36, seed=1)
    assert (g.width, g.height) == (6, 6) and np.all(g.degree() == 8)


def test_value_errors_are_one_line_network_errors():
    for call in [
        lambda: build_ring(5, 5),
        lambda: build_watts_strogatz(10, 4, 1.5, 1),
        lambda: build_erdos_renyi(10, 10, 1),
        lambda: build_sbm(10, 11, 2, 0.1, 1),
        lambda: build_barabasi_albert(3, 0, 1),
    ]:
        with pytest.raises(NetworkError) as err:
            call()
        assert "\n" not in str(err.value)
        assert isinstance(err.value, ValueError)
