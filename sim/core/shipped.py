"""The files the package ships beside its code, found through importlib.resources.

The repository keeps them in its top-level folders: ``scenarios/`` (scenarios, ``info/``, ``sweeps/``),
``dashboards/`` (the Solara app) and ``docs/ODD.md``. pyproject.toml maps those folders into the package
as ``sim.scenarios``, ``sim.dashboards`` and ``sim.docs``, so a wheel carries them and an editable install
reads the folders themselves; either way they are found here, by package name, and never by where a
checkout happens to be.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_dir(package: str) -> Path:
    """The folder of an installed package of shipped files (``"sim.scenarios"``)."""
    root = resources.files(package)
    if not isinstance(root, Path):  # a zipped install (zipimport): the files are not a folder on disk
        raise RuntimeError(f"{package}: the package must be installed as files on disk, not zipped ({root})")
    return root


#: the shipped scenarios: ``NAME.yaml``
SCENARIO_DIR = package_dir("sim.scenarios")
#: each shipped scenario's Info: ``NAME.md``
INFO_DIR = SCENARIO_DIR / "info"
#: the example sweeps: ``NAME.yaml``
SWEEP_DIR = SCENARIO_DIR / "sweeps"
#: the ODD description of the model (its generated tables included)
ODD_PATH = package_dir("sim.docs") / "ODD.md"
#: the dashboard app, as a module ``solara run`` serves
DASHBOARD_APP = "sim.dashboards.app"
