"""One sweep at a time in a folder: the lock on ``out/.lock``."""

# Deferred imports (inside the functions that need them):
# - sim.output: it imports pandas, which a sweep's start does not need.

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from sim.experiments.sweep.errors import SweepError


class _Lock:
    """An exclusive lock held on ``out/.lock``; :meth:`release` removes the file and lets go."""

    def __init__(self, fh, path: Path):
        self.fh, self.path = fh, path

    def release(self) -> None:
        try:
            self.path.unlink(missing_ok=True)  # still held: no other process can have taken this file
        finally:
            self.fh.close()

    close = release


def _lock_folder(out: Path, notice: Callable[[str], None] = lambda text: None) -> _Lock:
    """One sweep at a time in a folder: an exclusive lock on ``out/.lock`` (the system releases it when the
    process ends, however it ends). A lock file left by a process that is gone is taken over, with a notice."""
    import fcntl

    from sim.output import LOCK_FILE

    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_FILE
    while True:
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise SweepError(f"--out {out}: another sweep is writing into this folder ({holder}); wait for it, "
                             "or use another --out") from None
        try:  # the holder before us may have removed the file as we opened it: lock the one at the path
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    fh.seek(0)
    before = fh.read().strip()
    if before:
        notice(f"--out {out}: took over the lock left by {before}, which is no longer running")
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename}")
    fh.flush()
    return _Lock(fh, path)
