"""mutual-aid-sim: mutual aid versus competition in recovery communities."""

__version__ = "0.1.0"

# Deferred imports (inside __getattr__, on first use of sim.run, sim.load_scenario, ...):
# - sim.api, sim.core.scenarios, sim.engines.agents, sim.experiments.calibration: so that `import sim`
#   stays light; the command line imports this package first, and `mutualaid --help` answers before yaml,
#   pandas or mesa load.

import os as _os

# The kernel's parallel loops run on numba's OpenMP layer. By default its
# threads spin after every loop, waiting for the next one; on a busy machine
# (two runs at once, a test suite, a dashboard beside a sweep) the spinning
# threads of one process starve the others: two 200-day runs of 300 members
# side by side took 472 s instead of 2.2 s here. Sleeping threads cost a
# little when the process is alone (2.2 -> 3.1 s) and keep runs side by side
# at 4 s (benchmarks/RESULTS.md). Set OMP_WAIT_POLICY yourself to override.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sim.core.schema import Scenario  # noqa: E402

__all__ = ["MutualAidModel", "Scenario", "ScenarioError", "__version__", "batch_run", "calibrate", "load_scenario",
           "run", "set_threads", "sweep"]


def __getattr__(name):
    # Lazy so that ``import sim`` stays light (the CLI's error paths, schema).
    if name == "load_scenario":
        from sim.core.scenarios import load_scenario

        return load_scenario
    if name == "run":
        from sim.api import run

        return run
    if name == "ScenarioError":  # what every bad argument raises (sim.core.scenarios.ScenarioError)
        from sim.core.scenarios import ScenarioError

        return ScenarioError
    if name == "MutualAidModel":  # the Mesa model (sim.engines.agents)
        from sim.engines.agents import MutualAidModel

        return MutualAidModel
    if name == "calibrate":  # ABC-SMC refit of the fitted parameters (sim.experiments.calibration)
        from sim.experiments.calibration import calibrate

        return calibrate
    if name in ("set_threads", "batch_run", "sweep"):
        import sim.api

        return getattr(sim.api, name)
    raise AttributeError(name)
