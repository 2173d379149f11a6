"""Seeded network builders that return the initial ties as flat arrays.

Every builder returns a :class:`Graph`: an undirected simple graph in CSR
form (``indptr``, ``indices``), rows sorted ascending, symmetric, without
self-loops or duplicate ties. The engines read these arrays directly; networkx
is only used to hand a graph to analysis code (:meth:`Graph.to_networkx`).

Randomness: each random builder takes an integer ``seed`` and draws from its
own ``numpy.random.default_rng(seed)``; no global random state is touched.
The same arguments and seed give identical arrays on every platform and
process.

Cost: all builders are O(n + m) in time and memory (m = number of ties),
except for the final canonicalisation in :func:`from_edges`, which sorts the
2m directed entries (O(m log m)). None of them loops in Python over members
(Barabási–Albert's sequential loop is a numba kernel), so n = 10**6 with
degree 8 takes a few seconds at most per builder.

The model description is in ``MODEL.md``, section "Networks".
"""

# Deferred imports (inside the functions that need them):
# - networkx: only Graph.to_networkx (analysis and plots) needs it; the builders do not.
# - numba, sim.core.rng: Barabási–Albert's kernel compiles on first use; the other builders, and
#   sim.core.schema's check of a complete network's size, load without numba.

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from sim.core.schema import Network

__all__ = [
    "NetworkError",
    "Graph",
    "from_edges",
    "build_lattice",
    "build_ring",
    "build_watts_strogatz",
    "build_barabasi_albert",
    "build_erdos_renyi",
    "build_sbm",
    "build_complete",
    "build_edgelist",
    "build_network",
    "MAX_COMPLETE_TIES",
    "MAX_TIES",
]

#: Most ties a complete graph may have (n = 10000 gives 49,995,000).
MAX_COMPLETE_TIES = 50_000_000
#: Most (expected) ties any other builder will produce; beyond this the
#: arrays alone would need several GiB.
MAX_TIES = 200_000_000


class NetworkError(ValueError):
    """A network cannot be built from the given settings or file.

    The message is one line meant for the user, e.g.
    ``"edgelist data/x.txt line 7: node 812 out of range 0..499"``.
    """


# ---------------------------------------------------------------------------
# The graph container
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Graph:
    """An undirected simple graph on members ``0..n-1`` in CSR form.

    Attributes
    ----------
    n : int
        Number of members (nodes); isolated members are included.
    indptr : numpy.ndarray
        int64, shape ``(n + 1,)``. Row pointers: the neighbours of member
        ``i`` are ``indices[indptr[i]:indptr[i + 1]]``.
    indices : numpy.ndarray
        int32, shape ``(indptr[-1],)``. Neighbours of each row, sorted
        ascending, with no self-loops and no duplicates; symmetric
        (``j`` in row ``i`` if and only if ``i`` in row ``j``), so every tie
        appears twice.
    groups : numpy.ndarray or None
        int32, shape ``(n,)``: block id of each member (sbm only). Blocks are
        contiguous ranges of ids with sizes as equal as possible.
    width, height : int or None
        Lattice only; member id is ``y * width + x``.

    Notes
    -----
    Build graphs with the ``build_*`` functions or :func:`from_edges`; the
    constructor only checks shapes and dtypes, not symmetry or sortedness.
    Two graphs compare equal when all their arrays and fields are equal.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    groups: np.ndarray | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self):
        n = int(self.n)
        indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        indices = np.ascontiguousarray(self.indices, dtype=np.int32)
        if n < 0 or indptr.shape != (n + 1,) or indptr[0] != 0:
            raise ValueError(f"Graph: indptr must have shape ({n + 1},) and start at 0")
        if indices.shape != (int(indptr[-1]),):
            raise ValueError(f"Graph: indices must have shape ({int(indptr[-1])},)")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        if self.groups is not None:
            groups = np.ascontiguousarray(self.groups, dtype=np.int32)
            if groups.shape != (n,):
                raise ValueError(f"Graph: groups must have shape ({n},)")
            object.__setattr__(self, "groups", groups)

    @property
    def num_edges(self) -> int:
        """Number of undirected ties (half the length of ``indices``)."""
        return int(self.indptr[-1]) // 2

    def degree(self) -> np.ndarray:
        """Number of ties of each member.

        Returns
        -------
        numpy.ndarray
            int64, shape ``(n,)``.
        """
        return np.diff(self.indptr)

    def edges(self) -> np.ndarray:
        """Each tie once, as ``(i, j)`` with ``i < j``, sorted lexicographically.

        Returns
        -------
        numpy.ndarray
            int64, shape ``(m, 2)``.
        """
        rows = np.repeat(np.arange(self.n, dtype=np.int64), self.degree())
        cols = self.indices.astype(np.int64)
        keep = rows < cols  # rows ascending, cols ascending within a row
        return np.column_stack((rows[keep], cols[keep]))

    def to_networkx(self) -> nx.Graph:
        """The same graph as a ``networkx.Graph`` with nodes ``0..n-1``.

        Isolated members are present as nodes. For analysis and plots only;
        the engines use the arrays.
        """
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(self.edges().tolist())
        return g

    def __eq__(self, other):
        if not isinstance(other, Graph):
            return NotImplemented

        def same(a, b):
            if a is None or b is None:
                return a is None and b is None
            return np.array_equal(a, b)

        return (
            self.n == other.n
            and self.width == other.width
            and self.height == other.height
            and same(self.indptr, other.indptr)
            and same(self.indices, other.indices)
            and same(self.groups, other.groups)
        )

    __hash__ = None  # arrays are mutable


# ---------------------------------------------------------------------------
# Canonical form
# ---------------------------------------------------------------------------


def from_edges(n: int, edges, **fields) -> Graph:
    """Build the canonical :class:`Graph` from a list of ties.

    Self-loops and duplicate ties are dropped, each tie is stored in both
    directions and every row is sorted ascending.

    Parameters
    ----------
    n : int
        Number of members; every id must lie in ``0..n-1``.
    edges : array_like
        int, shape ``(m, 2)``: one tie per row, in either direction.
    **fields
        Extra :class:`Graph` fields (``groups``, ``width``, ``height``).

    Returns
    -------
    Graph

    Raises
    ------
    NetworkError
        If an id is outside ``0..n-1``.

    Notes
    -----
    O(m log m): the 2m directed entries are encoded as ``i * n + j`` and
    sorted once.
    """
    n = int(n)
    if n < 0:
        raise NetworkError(f"number of members must be >= 0, got {n}")
    e = np.asarray(edges)
    if e.size == 0:
        e = np.empty((0, 2), dtype=np.int64)
    if e.ndim != 2 or e.shape[1] != 2:
        raise NetworkError(f"edges must have shape (m, 2), got {e.shape}")
    if not np.issubdtype(e.dtype, np.integer):
        raise NetworkError(f"edges must be integers, got dtype {e.dtype}")
    e = e.astype(np.int64, copy=False)
    u, v = e[:, 0], e[:, 1]
    if len(e):
        lo, hi = int(e.min()), int(e.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise NetworkError(f"node {bad} out of range 0..{n - 1}")
    keep = u != v
    u, v = u[keep], v[keep]
    return _from_sorted_keys(n, _sorted_distinct(np.concatenate((u * n + v, v * n + u))), **fields)


def _sorted_distinct(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for int64 ``a``, via sort (much faster than numpy 2's hashing unique)."""
    a = np.sort(a)
    if len(a) > 1:
        new = np.empty(len(a), dtype=bool)
        new[0] = True
        np.not_equal(a[1:], a[:-1], out=new[1:])
        a = a[new]
    return a


def _from_sorted_keys(n: int, keys: np.ndarray, **fields) -> Graph:
    """CSR from sorted, distinct, symmetric keys ``i * n + j`` (no loops)."""
    if n == 0:
        return Graph(0, np.zeros(1, np.int64), np.empty(0, np.int32), **fields)
    rows = keys // n
    cols = keys - rows * n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return Graph(n, indptr, cols.astype(np.int32), **fields)


def _from_pairs(n: int, u: np.ndarray, v: np.ndarray, **fields) -> Graph:
    """Canonical graph from two int64 endpoint arrays (the builders' common exit)."""
    return from_edges(n, np.column_stack((u, v)), **fields)


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_int(name: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NetworkError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo:
        raise NetworkError(f"{name} must be >= {lo}, got {value}")
    return value


def _check_prob(name: str, value) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise NetworkError(f"{name} must be between 0 and 1, got {value}")
    return value


def _check_ties(kind: str, n: int, ties: float) -> None:
    if ties > MAX_TIES:
        raise NetworkError(
            f"network.kind={kind} with population.size={n} would need about "
            f"{int(ties):,} ties (at most {MAX_TIES:,}); lower network.degree"
        )


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise NetworkError(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise NetworkError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


# ---------------------------------------------------------------------------
# Deterministic builders
# ---------------------------------------------------------------------------


def build_lattice(width: int, height: int, neighborhood: str = "moore", periodic: bool = True) -> Graph:
    """Square lattice of ``width * height`` members; member id ``y * width + x``.

    Parameters
    ----------
    width, height : int
        Size of the grid (>= 1 each).
    neighborhood : {"moore", "von_neumann"}
        ``"moore"``: the 8 surrounding cells; ``"von_neumann"``: the 4 cells
        sharing a side.
    periodic : bool
        True wraps both directions (a torus, every member has 8 or 4 ties
        when width and height are at least 3); False gives fixed edges (a
        Moore corner has 3 ties, a von Neumann corner 2).

    Returns
    -------
    Graph
        With ``width`` and ``height`` set.

    Notes
    -----
    O(n) to list the ties, O(n log n) to canonicalise. On a torus narrower
    than 3 cells, wrapped neighbours coincide or are the member itself; the
    duplicates and self-loops are dropped, so the graph stays simple.
    """
    width = _check_int("network.width", width, 1)
    height = _check_int("network.height", height, 1)
    if neighborhood == "moore":
        half = ((1, 0), (0, 1), (1, 1), (1, -1))
    elif neighborhood == "von_neumann":
        half = ((1, 0), (0, 1))
    else:
        raise NetworkError(f"network.neighborhood must be 'moore' or 'von_neumann', got {neighborhood!r}")
    n = width * height
    x = np.tile(np.arange(width, dtype=np.int64), height)
    y = np.repeat(np.arange(height, dtype=np.int64), width)
    me = y * width + x
    us, vs = [], []
    for dx, dy in half:  # the other half of each neighbourhood is the mirror tie
        nx_, ny_ = x + dx, y + dy
        if periodic:
            nx_ %= width
            ny_ %= height
            us.append(me)
            vs.append(ny_ * width + nx_)
        else:
            ok = (nx_ >= 0) & (nx_ < width) & (ny_ >= 0) & (ny_ < height)
            us.append(me[ok])
            vs.append(ny_[ok] * width + nx_[ok])
    return _from_pairs(n, np.concatenate(us), np.concatenate(vs), width=width, height=height)


def _ring_half(degree: int) -> int:
    """Neighbours on each side: ``degree // 2``, at least 1."""
    return max(1, degree // 2)


def _check_ring(kind: str, n: int, degree) -> tuple[int, int]:
    n = _check_int("population.size", n, 2)
    degree = _check_int("network.degree", degree, 1)
    if degree >= n:
        raise NetworkError(f"network.degree={degree} must be below population.size={n} for {kind}")
    k = _ring_half(degree)
    _check_ties(kind, n, n * k)
    return n, k


def _ring_pairs(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ring ties ``(u, (u + d) % n)`` for ``d = 1..k``, ordered by ``d`` then ``u``."""
    u = np.tile(np.arange(n, dtype=np.int64), k)
    d = np.repeat(np.arange(1, k + 1, dtype=np.int64), n)
    return u, (u + d) % n


def build_ring(n: int, degree: int) -> Graph:
    """Ring lattice: each member tied to its ``degree // 2`` nearest on each side.

    Parameters
    ----------
    n : int
        Number of members (>= 2).
    degree : int
        Wanted degree, ``1 <= degree < n``. An odd degree is floored to the
        even number below it, with a minimum of 2 (one neighbour each side),
        so every member has exactly ``2 * max(1, degree // 2)`` ties (except
        ``n = 2``, where both sides are the same member: one tie).

    Returns
    -------
    Graph

    Notes
    -----
    O(n * degree).
    """
    n, k = _check_ring("ring", n, degree)
    return _from_pairs(n, *_ring_pairs(n, k))


def build_complete(n: int) -> Graph:
    """Complete graph (well-mixed population): every pair of members is tied.

    Parameters
    ----------
    n : int
        Number of members (>= 1), at most 10000 (``MAX_COMPLETE_TIES``).

    Returns
    -------
    Graph

    Raises
    ------
    NetworkError
        If ``n * (n - 1) / 2`` exceeds ``MAX_COMPLETE_TIES``.

    Notes
    -----
    O(n**2), written straight into CSR form (no sort).
    """
    n = _check_int("population.size", n, 1)
    ties = n * (n - 1) // 2
    if ties > MAX_COMPLETE_TIES:
        most = (1 + math.isqrt(1 + 8 * MAX_COMPLETE_TIES)) // 2
        raise NetworkError(
            f"network.kind=complete with population.size={n} would need {ties:,} ties; "
            f"use at most {most} members"
        )
    indptr = np.arange(n + 1, dtype=np.int64) * (n - 1)
    if n == 1:
        return Graph(1, indptr, np.empty(0, np.int32))
    rows = np.empty((n, n - 1), dtype=np.int32)
    rows[:] = np.arange(n - 1, dtype=np.int32)
    rows += rows >= np.arange(n, dtype=np.int32)[:, None]  # skip the diagonal
    return Graph(n, indptr, rows.reshape(-1))


# ---------------------------------------------------------------------------
# Random builders
# ---------------------------------------------------------------------------


def _bernoulli_slots(rng: np.random.Generator, row_len: np.ndarray, col_start: np.ndarray, p: float):
    """Keep each (row, slot) independently with probability ``p``.

    Row ``i`` has ``row_len[i]`` slots standing for columns
    ``col_start[i] .. col_start[i] + row_len[i] - 1``. The kept slots are
    found by geometric skipping over the concatenated slot sequence, so the
    cost is O(n + kept), not O(total slots).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int64 rows and columns of the kept slots, in slot order.
    """
    empty = np.empty(0, dtype=np.int64)
    cum = np.cumsum(row_len, dtype=np.int64)
    total = int(cum[-1]) if len(cum) else 0
    if p <= 0.0 or total == 0:
        return empty, empty
    if p >= 1.0:
        pos = np.arange(total, dtype=np.int64)
    else:
        expected = total * p
        chunks, last = [], -1
        while last < total:
            # Enough gaps to pass the end with high probability in one go.
            size = int((total - last) * p + 6.0 * math.sqrt(expected) + 64)
            gaps = rng.geometric(p, size=size)
            np.minimum(gaps, total + 1, out=gaps)  # tiny p: gaps saturate at 2**63-1
            step = np.cumsum(gaps, dtype=np.int64)
            step += last
            chunks.append(step)
            last = int(step[-1])
        pos = np.concatenate(chunks)
        pos = pos[: np.searchsorted(pos, total)]
    rows = np.searchsorted(cum, pos, side="right")
    cols = col_start[rows] + (pos - (cum[rows] - row_len[rows]))
    return rows.astype(np.int64), cols


def build_erdos_renyi(n: int, mean_degree: float, seed: int) -> Graph:
    """Erdős–Rényi random graph G(n, p) with ``p = mean_degree / (n - 1)``.

    Every pair of members is tied independently with probability ``p``, so
    the expected degree is ``mean_degree`` and degrees are Binomial(n-1, p).

    Parameters
    ----------
    n : int
        Number of members (>= 2).
    mean_degree : float
        Expected degree, ``0 <= mean_degree <= n - 1``.
    seed : int
        Seed of the builder's own ``numpy.random.Generator``.

    Returns
    -------
    Graph

    Notes
    -----
    O(n + m): the tied pairs are found by geometric skipping over the
    ``n (n - 1) / 2`` pairs in row order (Batagelj & Brandes 2005), never
    listing all pairs.
    """
    n = _check_int("population.size", n, 2)
    d = float(mean_degree)
    if not 0.0 <= d <= n - 1:
        raise NetworkError(
            f"network.degree={mean_degree} must be between 0 and population.size-1={n - 1} for erdos_renyi"
        )
    _check_ties("erdos_renyi", n, n * d / 2)
    rng = _rng(seed)
    i = np.arange(n, dtype=np.int64)
    u, v = _bernoulli_slots(rng, n - 1 - i, i + 1, d / (n - 1))
    return _from_pairs(n, u, v)


def _block_sizes(n: int, groups: int) -> np.ndarray:
    """Sizes of ``groups`` contiguous blocks of ``n``, as equal as possible."""
    sizes = np.full(groups, n // groups, dtype=np.int64)
    sizes[: n % groups] += 1
    return sizes


def build_sbm(n: int, groups: int, mean_degree: float, between_share: float, seed: int) -> Graph:
    """Stochastic block model: ``groups`` meetings, most ties inside them.

    Members are split into ``groups`` contiguous blocks (ids
    ``0..s-1``, ``s..2s-1``, ...) whose sizes differ by at most one. A pair in
    the same block is tied with probability ``p_in``, a pair in different
    blocks with ``p_out``, chosen so that the expected number of ties is
    ``n * mean_degree / 2`` of which a share ``between_share`` run between
    blocks::

        p_in  = (1 - between_share) * n * mean_degree / (2 * W)
        p_out = between_share * n * mean_degree / (2 * B)

    with ``W`` and ``B`` the numbers of within- and between-block pairs. With
    one block (``B = 0``) all ties are within it; with blocks of one member
    (``W = 0``) all ties are between blocks.

    Parameters
    ----------
    n : int
        Number of members (>= 2).
    groups : int
        Number of blocks, ``1 <= groups <= n``.
    mean_degree : float
        Expected mean degree (>= 0).
    between_share : float
        Expected share of ties between blocks, in ``[0, 1]``.
    seed : int
        Seed of the builder's own ``numpy.random.Generator``.

    Returns
    -------
    Graph
        With ``groups`` (int32 block id of each member) set.

    Raises
    ------
    NetworkError
        If ``p_in`` or ``p_out`` would exceed 1 (blocks too small for the
        wanted within-block degree, or too few outsiders).

    Notes
    -----
    O(n + m): like :func:`build_erdos_renyi`, by geometric skipping, once over
    the within-block pairs and once over the between-block pairs.
    """
    n = _check_int("population.size", n, 2)
    groups = _check_int("network.groups", groups, 1)
    if groups > n:
        raise NetworkError(f"network.groups={groups} exceeds population.size={n}")
    d = float(mean_degree)
    if d < 0:
        raise NetworkError(f"network.degree must be >= 0, got {mean_degree}")
    b = _check_prob("network.between_share", between_share)
    _check_ties("sbm", n, n * d / 2)
    sizes = _block_sizes(n, groups)
    ends = np.cumsum(sizes)
    block = np.repeat(np.arange(groups, dtype=np.int64), sizes)
    end = ends[block]  # one past the last member of each member's block
    within = int((sizes * (sizes - 1) // 2).sum())
    between = n * (n - 1) // 2 - within
    if between == 0:
        b = 0.0
    if within == 0:
        b = 1.0
    ties = n * d / 2
    p_in = (1 - b) * ties / within if within else 0.0
    p_out = b * ties / between if between else 0.0
    # exactly at the limit the division may round a hair above 1: that is 1, not an error
    p_in = 1.0 if 1.0 < p_in <= 1.0 + 1e-9 else p_in
    p_out = 1.0 if 1.0 < p_out <= 1.0 + 1e-9 else p_out
    if p_in > 1:
        raise NetworkError(
            f"network.kind=sbm: groups of about {n // groups} members cannot give "
            f"{(1 - b) * d:g} ties inside the group on average; use fewer network.groups, "
            f"a lower network.degree or a larger network.between_share"
        )
    if p_out > 1:
        raise NetworkError(
            f"network.kind=sbm: {(b * d):g} ties between groups on average is more than "
            f"there are members outside the group; lower network.degree or network.between_share"
        )
    rng = _rng(seed)
    i = np.arange(n, dtype=np.int64)
    u1, v1 = _bernoulli_slots(rng, end - i - 1, i + 1, p_in)
    u2, v2 = _bernoulli_slots(rng, n - end, end, p_out)
    return _from_pairs(
        n, np.concatenate((u1, u2)), np.concatenate((v1, v2)), groups=block.astype(np.int32)
    )


def build_watts_strogatz(n: int, degree: int, rewire: float, seed: int) -> Graph:
    """Watts–Strogatz small world: a ring whose ties are rewired at random.

    Start from :func:`build_ring` ``(n, degree)``. Each ring tie ``(u, u+d)``
    is, with probability ``rewire``, replaced by ``(u, w)`` with ``w`` drawn
    uniformly among members, redrawn while ``w`` is ``u``, ``(u, w)`` is a
    ring tie or has already been drawn. The number of ties stays exactly
    ``n * max(1, degree // 2)`` and every member keeps at least
    ``max(1, degree // 2)`` ties (the ones it starts).

    Parameters
    ----------
    n : int
        Number of members (>= 2).
    degree : int
        Ring degree before rewiring, ``1 <= degree < n`` (odd floored to
        even, minimum 2, as in :func:`build_ring`).
    rewire : float
        Rewiring probability in ``[0, 1]``; 0 gives the ring exactly.
    seed : int
        Seed of the builder's own ``numpy.random.Generator``.

    Returns
    -------
    Graph

    Notes
    -----
    O(m log m), vectorised: all rewired ties draw their new end at once, and
    the few draws that hit a self-loop or an existing tie are redrawn in
    further rounds. Unlike networkx's sequential version (which may re-create
    a ring tie that an earlier step rewired away), new ties avoid all ring
    positions; the difference is O(degree / n) per tie. A tie that still has
    no free end after 64 rounds (only in nearly complete graphs, where
    networkx skips it too) keeps its ring end.
    """
    n, k = _check_ring("watts_strogatz", n, degree)
    p = _check_prob("network.rewire", rewire)
    rng = _rng(seed)
    u, v = _ring_pairs(n, k)
    moved = np.flatnonzero(rng.random(len(u)) < p)
    if len(moved):
        # Every ring tie, moved or not, and every new tie is taken: a new tie
        # never duplicates a ring tie, so a tie that finds no free end can
        # keep its ring end without creating a duplicate.
        taken = _sorted_distinct(np.minimum(u, v) * n + np.maximum(u, v))
        v = v.copy()
        pending = moved
        for _ in range(64):
            a = u[pending]
            w = rng.integers(0, n, size=len(pending), dtype=np.int64)
            key = np.minimum(a, w) * n + np.maximum(a, w)
            at = np.searchsorted(taken, key)
            hit = at < len(taken)
            hit[hit] = taken[at[hit]] == key[hit]
            ok = np.flatnonzero((w != a) & ~hit)
            order = np.argsort(key[ok], kind="stable")  # one draw per new tie: the first
            ks = key[ok][order]
            first = np.ones(len(ks), dtype=bool)
            first[1:] = ks[1:] != ks[:-1]
            ok = np.sort(ok[order[first]])
            v[pending[ok]] = w[ok]
            taken = np.sort(np.concatenate((taken, key[ok])))
            left = np.ones(len(pending), dtype=bool)
            left[ok] = False
            pending = pending[left]
            if not len(pending):
                break
    return _from_pairs(n, u, v)


# -- Barabási–Albert ---------------------------------------------------------

def _ba_kernel_py(n, m, state):  # pragma: no cover - compiled by numba
    """Preferential attachment with the repeated-nodes list (numba kernel).

    Parameters
    ----------
    n, m : int
        Members and ties per newcomer, ``1 <= m < n``.
    state : numpy.uint64
        Seed of the kernel's splitmix64 stream.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int64, shape ``(m * (n - m),)`` each: the two ends of every tie.
    """
    ne = m * (n - m)
    src = np.empty(ne, dtype=np.int64)
    dst = np.empty(ne, dtype=np.int64)
    rep = np.empty(2 * ne, dtype=np.int64)  # every tie end so far
    mark = np.full(n, -1, dtype=np.int64)
    e = 0
    r = 0
    for i in range(1, m + 1):  # initial star: member 0 tied to 1..m
        src[e] = 0
        dst[e] = i
        rep[r] = 0
        rep[r + 1] = i
        e += 1
        r += 2
    for new in range(m + 1, n):
        chosen = 0
        base = e
        while chosen < m:
            state = state + rng._GOLDEN  # the splitmix64 sequence (sim.core.rng): advance, then mix
            z = rng.mix64(state)
            t = rep[int((z >> rng._S11) * rng._INV53 * r)]
            if mark[t] != new:
                mark[t] = new
                src[base + chosen] = new
                dst[base + chosen] = t
                chosen += 1
        for q in range(m):
            rep[r] = new
            rep[r + 1] = dst[base + q]
            r += 2
        e += m
    return src, dst


_ba_kernel = None
rng = None  # sim.core.rng, imported with numba when the kernel is first compiled


def _get_ba_kernel():
    """Compile :func:`_ba_kernel_py` with numba on first use (numba is heavy to import)."""
    global _ba_kernel, rng
    if _ba_kernel is None:
        import numba

        from sim.core import rng  # noqa: F811  (read by the kernel as a global)

        _ba_kernel = numba.njit(cache=True, nogil=True)(_ba_kernel_py)
    return _ba_kernel


def build_barabasi_albert(n: int, m: int, seed: int) -> Graph:
    """Barabási–Albert preferential attachment graph.

    Start from a star: member 0 tied to members ``1..m``. Each later member
    ``m+1, ..., n-1`` joins with ``m`` ties to distinct earlier members,
    chosen with probability proportional to their degree (the
    "repeated nodes" list: every tie end so far, drawn uniformly). The
    result has exactly ``m * (n - m)`` ties (``m`` star ties plus ``m`` per
    later member), degree at least ``m`` for every joiner (at least 1 for the
    star's leaves) and a power-law degree tail (exponent 3), as in
    ``networkx.barabasi_albert_graph``.

    Parameters
    ----------
    n : int
        Number of members (>= 2).
    m : int
        Ties per joining member, ``1 <= m < n``.
    seed : int
        Seeds a splitmix64 stream (via ``numpy.random.default_rng(seed)``)
        that the compiled kernel draws from.

    Returns
    -------
    Graph

    Notes
    -----
    O(n * m) in a numba kernel (sequential by nature: each joiner depends on
    the degrees before it), plus the O(m log m) canonical sort.
    """
    n = _check_int("population.size", n, 2)
    m = _check_int("barabasi_albert m (network.degree // 2)", m, 1)
    if m >= n:
        raise NetworkError(
            f"network.kind=barabasi_albert attaches m={m} ties per member, which needs "
            f"population.size > {m} (got {n}); lower network.degree"
        )
    _check_ties("barabasi_albert", n, m * (n - m))
    state = _rng(seed).integers(0, 2**63, dtype=np.int64)
    src, dst = _get_ba_kernel()(n, m, np.uint64(state))
    return _from_pairs(n, src, dst)


# ---------------------------------------------------------------------------
# Edge list files
# ---------------------------------------------------------------------------

_SPLIT = re.compile(r"[,\s]+")


def build_edgelist(path, n: int) -> Graph:
    """Read ties from a text file of ``i j`` lines.

    Each line holds two member ids separated by whitespace or a comma; ``#``
    starts a comment; blank lines are skipped. Ids must lie in ``0..n-1``.
    Self-loops and repeated ties are dropped, and direction is ignored.

    Parameters
    ----------
    path : str or os.PathLike
        The file (relative paths are relative to the current directory; the
        scenario loader resolves them against the scenario's folder first).
    n : int
        Number of members.

    Returns
    -------
    Graph

    Raises
    ------
    NetworkError
        If the file cannot be read, or a line does not hold exactly two
        integers in ``0..n-1``; the message names the file and line number.

    Notes
    -----
    O(lines) in a Python loop over lines (about a second per million).
    """
    n = _check_int("population.size", n, 1)
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkError(f"edgelist {name}: file not found") from None
    except UnicodeDecodeError:
        raise NetworkError(f"edgelist {name}: not a UTF-8 text file") from None
    except OSError as e:
        raise NetworkError(f"edgelist {name}: cannot read file ({e.strerror or e})") from None
    us: list[int] = []
    vs: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f for f in _SPLIT.split(line) if f]
        if len(fields) != 2:
            raise NetworkError(
                f"edgelist {name} line {lineno}: expected 2 member ids 'i j', got {len(fields)} fields"
            )
        pair = []
        for f in fields:
            try:
                node = int(f)
            except ValueError:
                raise NetworkError(
                    f"edgelist {name} line {lineno}: {f!r} is not an integer member id"
                ) from None
            if not 0 <= node < n:
                raise NetworkError(f"edgelist {name} line {lineno}: node {node} out of range 0..{n - 1}")
            pair.append(node)
        us.append(pair[0])
        vs.append(pair[1])
    return _from_pairs(n, np.asarray(us, dtype=np.int64), np.asarray(vs, dtype=np.int64))


# ---------------------------------------------------------------------------
# Dispatch from the scenario
# ---------------------------------------------------------------------------


def build_network(net: Network, size: int, seed: int) -> Graph:
    """Build the day-0 ties described by a scenario's ``network`` section.

    Parameters
    ----------
    net : sim.core.schema.Network
        The validated ``network`` section; ``net.kind`` picks the builder.
    size : int
        ``population.size`` (for a lattice it must equal ``width * height``).
    seed : int
        Seed for the random builders (the run should pass a seed derived
        from its own, e.g. a ``SeedSequence`` child).

    Returns
    -------
    Graph

    Notes
    -----
    ``degree`` is the mean degree for ring, watts_strogatz, erdos_renyi and
    sbm; barabasi_albert attaches ``m = max(1, degree // 2)`` ties per member,
    so its mean degree is about ``2 m``.
    """
    kind = net.kind
    if kind == "lattice":
        width, height = net.width, net.height
        if width is None and height is None:
            side = math.isqrt(size)
            if side * side != size:
                raise NetworkError(
                    f"network.kind=lattice needs network.width and network.height "
                    f"(population.size={size} is not a square)"
                )
            width = height = side
        elif width is None or height is None:
            raise NetworkError("network.kind=lattice needs both network.width and network.height")
        if width * height != size:
            raise NetworkError(
                f"population.size={size} does not match network.width*network.height="
                f"{width}*{height}={width * height} (lattice)"
            )
        return build_lattice(width, height, net.neighborhood, net.periodic)
    if kind == "ring":
        return build_ring(size, net.degree)
    if kind == "watts_strogatz":
        return build_watts_strogatz(size, net.degree, net.rewire, seed)
    if kind == "barabasi_albert":
        return build_barabasi_albert(size, max(1, net.degree // 2), seed)
    if kind == "erdos_renyi":
        return build_erdos_renyi(size, net.degree, seed)
    if kind == "sbm":
        return build_sbm(size, net.groups, net.degree, net.between_share, seed)
    if kind == "complete":
        return build_complete(size)
    if kind == "edgelist":
        if not net.path:
            raise NetworkError("network.kind=edgelist needs network.path (a file of 'i j' lines)")
        return build_edgelist(net.path, size)
    raise NetworkError(f"unknown network.kind {kind!r}")
