import os

import pytest
from hypothesis import HealthCheck, settings

# One profile for the suite: properties get real numbers of examples, no deadline
# (numba compiles on first call).
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def tiny():
    """Overrides that make any scenario small and fast."""
    return {"population.size": 60, "steps": 20}


@pytest.fixture(autouse=True)
def _threads_by_size():
    """A test that chooses a thread count (``--threads``, ``sim.set_threads``) chooses it for itself only:
    the next test's communities run on the threads their size calls for (sim/core/threads.py)."""
    yield
    from sim.core import threads

    threads.choose(None)
    threads.choose(None, this_thread=True)


@pytest.fixture(autouse=True)
def _no_progress_in_logs(monkeypatch):
    """pytest's captured stderr is a log: progress lines there would depend on the machine's speed (a line
    every few seconds) and on numba's cache (the first compile), so the suite turns them off; the tests of
    those lines turn them on (``monkeypatch.setattr(progress, "LOG", True)``)."""
    from sim import progress

    monkeypatch.setattr(progress, "LOG", False)
