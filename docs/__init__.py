"""The documents; ``ODD.md`` ships in the package as ``sim.docs`` (the dashboard's ODD view).

Data, not code: this file only makes the folder a package (pyproject.toml maps it to ``sim.docs`` and
ships ``ODD.md`` alone), found with importlib.resources (sim/core/shipped.py).
"""
