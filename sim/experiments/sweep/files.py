"""The sweep folder's file names, and the atomic write of its parquet files."""

# Deferred imports (inside the functions that need them):
# - sim.output: it loads pandas and pyarrow; only the error of a failed write needs its naming.

from __future__ import annotations

import os
import secrets
from pathlib import Path


SWEEP_FILE = "sweep.json"

PARTS_DIR = "parts"


def _write_parquet_atomic(df, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        df.to_parquet(tmp, index=False, engine="pyarrow")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        from sim.output import naming

        raise naming(path, e) from e
    finally:
        if tmp.exists():
            tmp.unlink()
