"""Death-birth updating under weak selection: the exact threshold and fixation runs.

Allen et al. (2017, Nature 544:227) give, for any graph, the benefit-to-cost
ratio above which death-birth updating favours helpers under weak selection
in a donation game (a helper pays ``c`` so that each neighbour gains ``b``):

    (b/c)* = tau2 / (tau3 - tau1)

where ``tau_n`` is the mean coalescence time of two lineages that start at
either end of an ``n``-step random walk, weighted by reproductive value
(on a graph without weights, by degree). The coalescence times solve one
linear system (:func:`coalescence_times`). On a vertex-transitive graph of
``N`` members and degree ``k`` the result reduces to the closed form
``(N - 2) / (N / k - 2)`` (Taylor, Day & Wild 2007, Nature 447:469), which
the tests check.

:func:`fixation_share` runs the process the theory describes, one death at a
time (asynchronous), with the same rules as the engines (``rules.payoff``
for the game, ``rules.db_weight`` for a neighbour's weight in the
competition for the vacated site). The engines update a ``revision_share`` of
members at once each day; one death at a time is that rule's limit as the
share goes to 0, and it is the process whose threshold is exact.

:func:`weak_selection_threshold` estimates the threshold from fixation runs:
each run starts with exactly half the members helping, placed at random.
Under neutrality the helpers then fix with probability 1/2 on a regular
graph; under weak selection the first-order change is proportional to
``-c tau2 + b (tau3 - tau1)`` for any such exchangeable start, so the
fixation share crosses 1/2 at the same ``(b/c)*`` as a single mutant's
fixation probability crosses 1/N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from sim.core.rules import db_weight, payoff

HELP = 1


def _csr(graph):
    return np.asarray(graph.indptr, dtype=np.int64), np.asarray(graph.indices, dtype=np.int64)


def coalescence_times(graph) -> np.ndarray:
    """Matrix of coalescence times ``tau[i, j]`` (Allen et al. 2017, Methods).

    ``tau[i, i] = 0`` and, for ``i != j``,
    ``tau[i, j] = 1 + (sum_k p[i, k] tau[k, j] + sum_k p[j, k] tau[i, k]) / 2``
    with ``p`` the one-step random-walk matrix. Solved as one sparse linear
    system over the ``N (N - 1) / 2`` unordered pairs (``tau`` is symmetric).
    """
    ptr, nbr = _csr(graph)
    n = len(ptr) - 1
    deg = np.diff(ptr)
    if n < 3 or np.any(deg == 0):
        raise ValueError("the coalescence times need a connected graph of at least 3 members")
    index = -np.ones((n, n), dtype=np.int64)
    iu, ju = np.triu_indices(n, 1)
    index[iu, ju] = np.arange(len(iu))
    index[ju, iu] = index[iu, ju]
    rows, cols, vals = [], [], []
    pairs = np.arange(len(iu))
    for moving, other in ((iu, ju), (ju, iu)):  # each lineage of the pair takes the step, half the time
        d = deg[moving]
        pair = np.repeat(pairs, d)
        # the neighbours of each moving lineage, pair by pair (a ragged arange over the CSR rows)
        offs = np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)
        k = nbr[np.repeat(ptr[moving], d) + offs]
        b = np.repeat(other, d)
        keep = k != b  # a step onto the other lineage coalesces (tau = 0)
        rows.append(pair[keep])
        cols.append(index[k[keep], b[keep]])
        vals.append(-0.5 / np.repeat(d, d)[keep])
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    m = len(iu)
    a_mat = coo_matrix((np.concatenate([np.ones(m), vals]),
                        (np.concatenate([np.arange(m), rows]), np.concatenate([np.arange(m), cols]))),
                       shape=(m, m)).tocsc()
    t = spsolve(a_mat, np.ones(m))
    tau = np.zeros((n, n))
    tau[iu, ju] = t
    tau[ju, iu] = t
    return tau


def allen_threshold(graph) -> float:
    """Exact (b/c)* of death-birth updating under weak selection (Allen et al. 2017, eq. 2).

    ``inf`` where no benefit favours helpers (``tau3 <= tau1``, e.g. on a
    complete graph or a star).
    """
    ptr, nbr = _csr(graph)
    n = len(ptr) - 1
    deg = np.diff(ptr).astype(float)
    p = np.zeros((n, n))
    for i in range(n):
        p[i, nbr[ptr[i]:ptr[i + 1]]] = 1.0 / deg[i]
    pi = deg / deg.sum()
    tau = coalescence_times(graph)
    walk = np.eye(n)
    t = []
    for _ in range(3):
        walk = walk @ p
        t.append(float(pi @ (walk * tau).sum(axis=1)))
    t1, t2, t3 = t
    return t2 / (t3 - t1) if t3 > t1 else float("inf")


@njit(cache=True)
def _fix_one(ptr, nbr, b, c, w, max_deaths):
    """One run from exactly half helpers at random; returns the final share of helpers."""
    n = len(ptr) - 1
    strategy = np.zeros(n, dtype=np.int8)
    order = np.random.permutation(n)
    for q in range(n // 2):
        strategy[order[q]] = HELP
    helpers_near = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for q in range(ptr[i], ptr[i + 1]):
            helpers_near[i] += strategy[nbr[q]]
    count = n // 2
    R, S, T, P = b - c, -c, b, 0.0
    weights = np.empty(np.max(ptr[1:] - ptr[:-1]))
    for _ in range(max_deaths):
        if count == 0 or count == n:
            break
        i = np.random.randint(n)
        d = ptr[i + 1] - ptr[i]
        total = 0.0
        for q in range(d):
            j = nbr[ptr[i] + q]
            h = helpers_near[j]
            sj = strategy[j]
            pay = h * payoff(sj, HELP, R, S, T, P) + (ptr[j + 1] - ptr[j] - h) * payoff(sj, 0, R, S, T, P)
            weights[q] = db_weight(pay, w)
            total += weights[q]
        r = np.random.random() * total
        pick = d - 1
        acc = 0.0
        for q in range(d):
            acc += weights[q]
            if r < acc:
                pick = q
                break
        new = strategy[nbr[ptr[i] + pick]]
        if new != strategy[i]:
            delta = 1 if new == HELP else -1
            strategy[i] = new
            count += delta
            for q in range(ptr[i], ptr[i + 1]):
                helpers_near[nbr[q]] += delta
    return count / n


@njit(cache=True, parallel=True)
def _fix_many(ptr, nbr, b, c, w, runs, seed, max_deaths):
    out = np.empty(runs)
    for r in prange(runs):
        np.random.seed(seed + r)  # per-run seed: the same numbers on any thread count
        out[r] = _fix_one(ptr, nbr, b, c, w, max_deaths)
    return out


def fixation_share(graph, b: float, c: float, w: float, runs: int, seed: int,
                   max_deaths: int | None = None) -> np.ndarray:
    """Final share of helpers of ``runs`` asynchronous death-birth runs (1 = helpers fixed).

    A run stops when one strategy has fixed or after ``max_deaths`` deaths
    (default ``200 N^2``, far beyond the mean fixation time on the graphs
    used here); an unfixed run reports its share then.
    """
    ptr, nbr = _csr(graph)
    n = len(ptr) - 1
    return _fix_many(ptr, nbr, float(b), float(c), float(w), int(runs), int(seed),
                     int(max_deaths if max_deaths is not None else 200 * n * n))


@dataclass
class ThresholdEstimate:
    exact: float            # Allen et al. (2017)
    estimate: float         # where a quadratic fitted to the fixation share against b/c crosses 1/2
    low: float              # 95% bootstrap interval of the estimate
    high: float
    shares: dict            # b/c -> (fixation share, standard error)
    runs: int               # runs per b/c value


def weak_selection_threshold(graph, ratios, w: float = 0.01, c: float = 1.0, runs: int = 2000,
                             seed: int = 0, boot: int = 2000) -> ThresholdEstimate:
    """Estimate (b/c)* from fixation runs at each ratio in ``ratios`` (see the module notes)."""
    ratios = np.asarray(ratios, dtype=float)
    fix = np.array([fixation_share(graph, r * c, c, w, runs, seed + 1_000_003 * k) for k, r in enumerate(ratios)])
    shares = {float(r): (float(f.mean()), float(f.std(ddof=1) / np.sqrt(runs))) for r, f in zip(ratios, fix)}

    def crossing(means):
        # A quadratic, not a line: at w = 0.01 the share bends over a +-20% span of b/c, and a
        # line's crossing would be biased by the bend. The crossing is the root nearest the middle.
        roots = np.roots(np.polyfit(ratios, means - 0.5, 2 if len(ratios) > 3 else 1))
        roots = roots[np.isreal(roots)].real
        mid = ratios.mean()
        return float(roots[np.argmin(abs(roots - mid))]) if len(roots) else float("nan")

    rng = np.random.default_rng(seed)
    boots = [crossing(fix[np.arange(len(ratios))[:, None], rng.integers(0, runs, (len(ratios), runs))].mean(axis=1))
             for _ in range(boot)]
    low, high = np.percentile(boots, [2.5, 97.5])
    return ThresholdEstimate(allen_threshold(graph), float(crossing(fix.mean(axis=1))), float(low), float(high),
                             shares, runs)
