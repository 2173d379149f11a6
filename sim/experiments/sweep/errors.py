"""The error a sweep reports to the user: bad input, one line (exit code 2)."""

from __future__ import annotations

from sim.core.scenarios import ScenarioError


class SweepError(ScenarioError):
    """Bad sweep input: one line for the user (exit code 2)."""
