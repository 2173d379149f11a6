"""mutual-aid-sim: mutual aid versus competition in recovery communities."""

__version__ = "0.1.0"

from sim.core.schema import Scenario  # noqa: E402

__all__ = ["Scenario", "__version__", "load_scenario", "run"]


def __getattr__(name):
    # Lazy so that ``import sim`` stays light (the CLI's error paths, schema).
    if name == "load_scenario":
        from sim.core.scenarios import load_scenario

        return load_scenario
    if name == "run":
        from sim.api import run

        return run
    raise AttributeError(name)
