"""The shipped scenarios (``*.yaml``), their Info files (``info/``) and the example sweeps (``sweeps/``).

Data, not code: this file only makes the folder the package ``sim.scenarios`` (pyproject.toml maps it
there), so the files travel in the wheel and are found with importlib.resources (sim/core/shipped.py).
"""
