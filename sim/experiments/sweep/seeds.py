"""The seeds and ids of a sweep's runs.

Reproducibility (after Axelrod): every run's seed is fixed in the parent
before anything is dispatched, from ``numpy.random.SeedSequence(seed)``.
By default (``common_seeds: true``) replicate r has the same seed at every
point (common random numbers: points differ only by their parameters);
``common_seeds: false`` spawns an independent subtree per point. Which
worker runs what never matters, so 1 worker, 8 workers and a Dask cluster
give the same ``runs.parquet``.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np


class Seeds:
    """The run ids and seeds of a sweep's runs (a base of :class:`Sweep`, whose fields ``seed``,
    ``replicates``, ``common_seeds``, ``points`` and ``id_replicates`` it reads)."""

    def seeds(self) -> np.ndarray:
        """Seed of every run, shape (points, replicates), fixed here in the parent."""
        root = np.random.SeedSequence(self.seed)
        if self.common_seeds:
            row = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in root.spawn(self.replicates)]
            return np.tile(np.array(row, dtype=np.int64), (len(self.points), 1))
        out = np.empty((len(self.points), self.replicates), dtype=np.int64)
        for p, child in enumerate(root.spawn(len(self.points))):
            out[p] = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in child.spawn(self.replicates)]
        return out

    def seed_of(self, point: int, replicate: int) -> int:
        """The seed of one run by the rule of :meth:`seeds`, for any replicate (also beyond ``replicates``):
        child ``replicate`` of the root (common seeds) or of the point's child (``common_seeds: false``)."""
        key = (replicate,) if self.common_seeds else (point, replicate)
        ss = np.random.SeedSequence(self.seed, spawn_key=key)
        return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def run_id(self, point: int, replicate: int) -> int:
        """``point * R + replicate`` for the replicates the folder was started with (``R``, see
        :attr:`id_replicates`); ``replicate * points + point`` for one added later (adaptive replication,
        or more ``replicates`` on a resume): unique, and independent of when it was added."""
        planned = self.id_replicates or self.replicates
        if replicate < planned:
            return point * planned + replicate
        return replicate * len(self.points) + point

    def tasks(self) -> list[dict]:
        """One task per planned run: ``{run_id, point, replicate, seed}``. What a point runs (its scenario)
        is sent with each chunk of tasks (:meth:`pack`), so a sweep of 100,000 points stays small here."""
        seeds = self.seeds()
        return [{"run_id": self.run_id(p, r), "point": p, "replicate": r, "seed": int(seeds[p, r])}
                for p in range(len(self.points)) for r in range(self.replicates)]

    def extra_tasks(self, pairs: Iterable[tuple[int, int]]) -> list[dict]:
        """Tasks of runs ``(point, replicate)`` added by adaptive replication, seeds by :meth:`seed_of`."""
        return [{"run_id": self.run_id(p, r), "point": p, "replicate": r, "seed": self.seed_of(p, r)}
                for p, r in pairs]
