"""The code's identity (:func:`code_id`): part of a sweep's fingerprint and of every row."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sim import __version__


_CODE_ID: str | None = None

#: subpackages of ``sim`` that hold shipped files, mapped from the repository's top-level folders
SHIPPED_FOLDERS = ("scenarios", "dashboards", "docs")


def code_id() -> str:
    """The code's identity: the package version and a hash of every ``sim/**/*.py`` (path and bytes) but
    the shipped folders' (``sim.scenarios``, ``sim.dashboards``, ``sim.docs``: not the simulation's code,
    and outside ``sim/`` in a checkout), so a checkout and an installed wheel of one commit agree.

    It is part of a sweep's fingerprint (a resume on changed code is refused) and of every row, and a
    worker whose code differs does not run the sweep's tasks.
    """
    global _CODE_ID
    if _CODE_ID is None:
        root = Path(__file__).resolve().parents[2]  # the package's folder, sim/
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            if f.relative_to(root).parts[0] in SHIPPED_FOLDERS:
                continue
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _CODE_ID = f"{__version__}+{h.hexdigest()[:12]}"
    return _CODE_ID
