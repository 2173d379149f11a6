"""Loaded by each worker of ``sweep --dask local`` when it starts (Dask's worker preload).

Ctrl-C at the terminal reaches the whole process group, the cluster's workers too; the sweep (the parent)
answers it by closing the cluster, so a worker ignores it rather than print its own KeyboardInterrupt
traceback.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload hook
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
