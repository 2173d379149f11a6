"""Writing results: output folders, all-or-nothing file writes, manifests, plots.

Files are written to a temporary name in the target folder and moved into
place with :func:`os.replace` only once every file of the batch is complete
(:class:`StagedFiles`), so a failure never leaves half a file and never
destroys what a previous run left there.
"""

# Deferred imports (inside the functions that need them):
# - matplotlib: about half a second to import; only a run's plot needs it, not its tables or manifests.
# - fcntl: standard library, POSIX only; only the sweep lock needs it, so the module loads without it.

from __future__ import annotations

import datetime as _dt
import errno
import json
import math
import os
import platform
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd

from sim import __version__
from sim.core.scenarios import ScenarioError, short_repr

#: distribution name of each package recorded in a manifest
PACKAGES = {
    "sim": "mutual-aid-sim",
    "mesa": "mesa",
    "numpy": "numpy",
    "numba": "numba",
    "networkx": "networkx",
    "pandas": "pandas",
    "pydantic": "pydantic",
    "pyarrow": "pyarrow",
    "scipy": "scipy",
    "matplotlib": "matplotlib",
    "pyyaml": "PyYAML",
    "pillow": "pillow",
    "imageio": "imageio",
    "imageio_ffmpeg": "imageio-ffmpeg",
}

REPO_ROOT = Path(__file__).resolve().parent.parent


class OutputPathError(ScenarioError):
    """A bad output path (``--out``, ``out=``): the message is one line meant for the user. A
    :class:`~sim.core.scenarios.ScenarioError` (and so a ``ValueError``), as every bad argument is."""


#: how the machine's storage fails while results are written: a full disk or quota, a file too large, a
#: failing, read-only or forbidden file system. Not bad input and not a bug: one line, exit code 1.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES,
                            errno.EPERM})


class StorageError(OSError):
    """Results could not be written (see :data:`STORAGE_ERRNOS`); the message is one line saying which
    file, why, and what is kept."""


def storage_error(e: OSError, kept: str) -> StorageError:
    """One line for a failed write: the file, the system's reason, and ``kept`` (what was not lost)."""
    where = f" {e.filename}" if e.filename else ""
    return StorageError(e.errno, f"cannot write{where}: {os.strerror(e.errno)}; {kept}")


def is_storage_error(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in STORAGE_ERRNOS


def naming(path: Path, e: OSError) -> OSError:
    """``e`` naming the file being written (pyarrow's errors carry the errno but no file name)."""
    if is_storage_error(e) and not isinstance(e, StorageError):
        return OSError(e.errno, os.strerror(e.errno), str(path))
    return e


# ----------------------------------------------------------------------------- folders


def safe_name(name: str) -> str:
    """A scenario name usable as one folder name (``results/<name>/``): letters of any script, digits,
    ``.``, ``_`` and ``-`` are kept (``café`` stays ``café``), every other run of characters becomes ``_``."""
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return cleaned[:100] or "unnamed"


#: the kinds of output folder, one per command with an ``--out`` folder (``report`` writes into a sweep's).
#: A folder's kind is its manifest's ``command`` (the typed marker every command writes); a folder of one
#: kind is replaced (run, compare, trial, lesson, validate) or resumed (sweep) only by the same command.
FOLDER_KINDS = ("run", "compare", "trial", "lesson", "sweep", "validate", "replay")
#: the commands whose folder is swapped in whole (a sweep's folder is resumed in place: never replaced)
REPLACEABLE_COMMANDS = ("run", "compare", "trial", "lesson", "validate", "replay")
#: what a validation folder held before ``validate`` wrote a manifest (such a folder is still its own)
_LEGACY_VALIDATION = frozenset({"validation.md", "nowak_may.png"})


def _staging_name(name: str) -> bool:
    """A temporary name this module writes (``.x.tmp`` files; ``.x.new.*``/``.x.old.*`` live beside)."""
    return name.startswith(".") and (name.endswith(".tmp") or name.startswith(".mutualaid-probe-"))


#: the lock file a sweep holds in its folder while it writes there (sim.experiments.sweep)
LOCK_FILE = ".lock"


def lock_holder(path: Path) -> str | None:
    """Who holds the lock at ``path`` (its text, or "another process"), or None when nobody does (no file, or a
    file left by a process that is gone: the system lets go of a dead process's locks)."""
    import fcntl

    try:
        fh = open(path, "r")
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return fh.read().strip() or "another process"
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def _listing(p: Path) -> list[str]:
    """Every entry of ``p`` a user may care about: hidden ones too (``.git``, ``.keep``), not our temporaries
    nor a lock file nobody holds (left by a process that is gone)."""
    names = sorted(x.name for x in p.iterdir() if not _staging_name(x.name))
    if LOCK_FILE in names and (p / LOCK_FILE).is_file() and lock_holder(p / LOCK_FILE) is None:
        names.remove(LOCK_FILE)
    return names


def _manifest(p: Path) -> dict | None:
    try:
        m = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return m if isinstance(m, dict) else None


def folder_kind(p: str | os.PathLike) -> str | None:
    """Which command's output folder ``p`` is (``run``, ``sweep``, ...: :data:`FOLDER_KINDS`), read from its
    typed marker (the manifest's ``command``; a sweep's ``sweep.json``); None when it is none of them."""
    p = Path(p)
    m = _manifest(p)
    command = m.get("command") if m is not None else None
    if isinstance(command, str) and command in FOLDER_KINDS:
        return command
    if (p / "sweep.json").is_file():  # a sweep stopped before its first manifest
        return "sweep"
    try:
        names = set(_listing(p))
    except OSError:
        return None
    if names and names <= _LEGACY_VALIDATION and "validation.md" in names:
        return "validate"
    return None


def previous_run_files(p: Path, kind: str | None = None) -> list[str] | None:
    """The files of ``p`` if they are exactly one earlier ``kind`` command's (those its manifest lists; any
    replaceable kind when ``kind`` is None), else None. Hidden files count: a folder with ``.git`` in it is
    someone's, and replacing the folder would delete it."""
    names = _listing(p)
    if not names:
        return []
    owner = folder_kind(p)
    if owner not in REPLACEABLE_COMMANDS or (kind is not None and owner != kind):
        return None
    if owner == "validate" and set(names) <= _LEGACY_VALIDATION:
        return names
    listed = (_manifest(p) or {}).get("files")
    if not isinstance(listed, list):
        return None
    return names if set(names) <= {str(x) for x in listed} else None


def _can_create_in(folder: Path) -> bool:
    """Whether a folder can really be created (and removed) in ``folder``: permission bits are not enough
    (root passes ``os.access`` everywhere, and /proc or a read-only mount refuse anyway)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        probe = tempfile.mkdtemp(prefix=".mutualaid-probe-", dir=folder)
    except OSError:
        return False
    try:
        os.rmdir(probe)
    except OSError:
        pass
    return True


#: a ``'s`` name for each kind, in messages: "is a lesson's folder"
_KIND_NAMES = {"run": "run", "compare": "comparison", "trial": "trial", "lesson": "lesson", "sweep": "sweep",
               "validate": "validation", "replay": "replay"}


def _refusal(p: Path, option: str, text: str, kind: str | None) -> str | None:
    """Why ``kind``'s command may not write into the existing folder ``p`` (None: it may)."""
    names = _listing(p)
    if not names:
        return None
    if LOCK_FILE in names:
        holder = lock_holder(p / LOCK_FILE)
        if kind == "sweep":
            return None  # the sweep's own lock says who holds it, in its words
        if holder is not None:
            return (f"{option} {text}: a sweep is writing into this folder ({holder}); nothing was written: "
                    f"use another --out")
    owner = folder_kind(p)
    if kind == "sweep" and owner == "sweep":
        return None  # resumed in place (the sweep checks its sweep.json: sim.experiments.sweep.store.check_folder)
    if kind != "sweep" and previous_run_files(p, kind) is not None:
        return None
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    if owner is not None and owner != kind:
        how = "rerun the same sweep to resume it" if owner == "sweep" else f"`mutualaid {owner}` replaces it"
        return (f"{option} {text}: is a {_KIND_NAMES[owner]}'s folder ({shown}), not a "
                f"{_KIND_NAMES.get(kind, 'run')}'s; nothing was written: give a new or empty folder ({how})")
    if owner == kind:
        return (f"{option} {text}: holds files besides the earlier {_KIND_NAMES[kind]}'s ({shown}); nothing was "
                f"written: give a new or empty folder")
    return (f"{option} {text}: holds files that are not an earlier {_KIND_NAMES.get(kind, 'run')}'s output "
            f"({shown}); nothing was written: give a new or empty folder")


#: the longest path and file name accepted in an --out (most file systems: 255 bytes a name, 4096 a path)
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4000
#: the most folders deep an --out may go (making 2,000 nested folders at once overflowed Python's recursion)
MAX_PATH_DEPTH = 200


def check_path_text(text: str, option: str = "--out") -> None:
    """Refuse, as one line, a path that no command should write to: empty, ``-`` (standard output, not a
    folder), with control characters, with a name longer than the file system allows."""
    if not text.strip():
        raise OutputPathError(f"{option} {text!r}: expected a folder path")
    if text == "-":
        raise OutputPathError(f"{option} -: '-' is not a folder (output goes to files); give a folder path")
    bad = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise OutputPathError(f"{option} {short_repr(text)}: contains the control character {bad!r}; give a "
                              f"folder path without control characters")
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        raise OutputPathError(f"{option} {short_repr(text)}: cannot be encoded as a file name") from None
    if len(raw) > MAX_PATH_BYTES:
        raise OutputPathError(f"{option} {short_repr(text)}: a path of {len(raw)} bytes is too long (at most "
                              f"{MAX_PATH_BYTES})")
    depth = sum(1 for part in raw.split(b"/") if part)
    if depth > MAX_PATH_DEPTH:
        raise OutputPathError(f"{option} {short_repr(text)}: {depth} folders deep is too deep (at most "
                              f"{MAX_PATH_DEPTH})")
    long = next((part for part in raw.split(b"/") if len(part) > MAX_NAME_BYTES), None)
    if long is not None:
        raise OutputPathError(f"{option} {short_repr(text)}: a folder name of {len(long)} bytes is too long "
                              f"(at most {MAX_NAME_BYTES})")


def check_out_dir(path: str | os.PathLike, option: str = "--out", replace: bool = False,
                  kind: str | None = None) -> Path:
    """Check, without leaving anything behind, that ``path`` can be used as ``kind``'s output folder.

    It may exist (as a writable folder) or not (then its nearest existing ancestor must be a writable
    folder). An existing folder must be empty or ``kind``'s own (:func:`folder_kind`): one earlier run of
    the same command, holding nothing but the files its manifest lists (those are replaced whole), or, for a
    sweep, a sweep's folder (resumed). Any other folder is refused, so no command deletes or mixes into
    another's results. ``replace`` alone (no ``kind``) is the earlier form: any replaceable command's
    folder. Raises :class:`OutputPathError`.
    """
    text = os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path)
    check_path_text(text, option)
    p = Path(path).expanduser()
    if p.is_symlink() and not p.exists():
        raise OutputPathError(f"{option} {text}: is a broken link")
    if p.exists():
        if not p.is_dir():
            raise OutputPathError(f"{option} {text}: is an existing file, not a folder")
        if not _can_create_in(p):
            raise OutputPathError(f"{option} {text}: folder is not writable")
        if kind is not None:
            why = _refusal(p, option, text, kind)
            if why is not None:
                raise OutputPathError(why)
        elif replace and previous_run_files(p) is None:
            raise OutputPathError(_refusal(p, option, text, None) or f"{option} {text}: not a run's folder")
        parent = p.absolute().parent
        if (replace or kind in REPLACEABLE_COMMANDS) and not _can_create_in(parent):
            raise OutputPathError(f"{option} {text}: {parent} is not writable (the new results replace the "
                                  f"folder whole)")
        return p
    parent = p.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"{option} {text}: {parent} is a file, not a folder")
    if not _can_create_in(parent):
        raise OutputPathError(f"{option} {text}: cannot create it, {parent} is not writable")
    return p


class StagedFiles:
    """Write a batch of files into ``folder``, all or nothing.

    >>> with StagedFiles(out) as files:            # doctest: +SKIP
    ...     files.write_csv("metrics.csv", df)
    ...     files.write_json("manifest.json", manifest)

    Each file goes to a hidden temporary name in ``folder``; when the block
    ends without an error they are moved into place with :func:`os.replace`
    (atomic on one filesystem). On an error the temporaries are removed and
    the folder's earlier files are left as they were.

    With ``replace=True`` the files are written into a hidden sibling folder
    that then takes ``folder``'s place whole, so the folder holds exactly
    this run's files (none of an earlier run's are left beside them); the
    earlier folder is removed only after the new one is in place (it must
    hold nothing but an earlier run's files: :func:`check_out_dir`; with
    ``kind`` this is checked again just before the swap).
    """

    def __init__(self, folder: str | os.PathLike, replace: bool = False, kind: str | None = None):
        self.target = Path(folder)
        self.replace = replace
        self.kind = kind
        if replace:
            token = f"{os.getpid()}.{secrets.token_hex(4)}"
            self.folder = self.target.parent / f".{self.target.name}.new.{token}"
            self._old = self.target.parent / f".{self.target.name}.old.{token}"
        else:
            self.folder = self.target
        self._staged: list[tuple[Path, Path]] = []

    @property
    def names(self) -> list[str]:
        """Names of the files staged so far, in order."""
        return [final.name for _, final in self._staged]

    def __enter__(self) -> "StagedFiles":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def _swap(self) -> None:
        moved = False
        if self.kind is not None and self.target.is_dir():  # checked again: something may have come since
            why = _refusal(self.target, "--out", str(self.target), self.kind)
            if why is not None:
                raise OutputPathError(why.replace("nothing was written", "the new results were not written"))
        if self.target.exists():
            os.replace(self.target, self._old)
            moved = True
        try:
            os.replace(self.folder, self.target)
        except OSError:
            if moved:
                os.replace(self._old, self.target)  # put the earlier results back
            raise
        if moved:
            shutil.rmtree(self._old, ignore_errors=True)

    def _stage(self, name: str, write: Callable[[Path], Any]) -> Path:
        final = self.folder / name
        tmp = self.folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        self._staged.append((tmp, final))
        try:
            write(tmp)
            with open(tmp, "rb+") as fh:  # on disk before it replaces anything
                os.fsync(fh.fileno())
        except OSError as e:
            raise naming(final, e) from e
        return final

    def write_file(self, name: str, write: Callable[[Path], Any]) -> Path:
        """Stage a file that ``write(path)`` writes (any format)."""
        return self._stage(name, write)

    def write_text(self, name: str, text: str) -> Path:
        return self._stage(name, lambda p: p.write_text(text, encoding="utf-8"))

    def write_json(self, name: str, obj: Any) -> Path:
        return self.write_text(name, json.dumps(obj, indent=2, default=_json_default) + "\n")

    def write_csv(self, name: str, df: pd.DataFrame) -> Path:
        return self._stage(name, lambda p: df.to_csv(p, index=False))

    def write_parquet(self, name: str, df: pd.DataFrame) -> Path:
        return self._stage(name, lambda p: df.to_parquet(p, index=False, engine="pyarrow"))

    def write_figure(self, name: str, fig, dpi: int = 110) -> Path:
        return self._stage(name, lambda p: fig.savefig(p, format="png", dpi=dpi))

    def discard(self) -> None:
        for tmp, _ in self._staged:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        self._staged.clear()

    def commit(self) -> None:
        try:
            for tmp, final in self._staged:
                os.replace(tmp, final)
            if self.replace:
                self._swap()
        finally:
            self.discard()  # removes any temporaries left by a failed replace
            if self.replace and self.folder.exists():
                shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
            if self.replace and self.folder.exists():
                shutil.rmtree(self.folder, ignore_errors=True)


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ----------------------------------------------------------------------------- manifests


def versions() -> dict[str, str | None]:
    """Python and package versions (None for a package that is not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for key, dist in PACKAGES.items():
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = None
    if out["sim"] is None:
        out["sim"] = __version__
    return out


def _git(*args: str) -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip()


def git_info() -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository holding ``sim``."""
    if not (REPO_ROOT / ".git").exists():
        return {"commit": None, "dirty": None}
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit or None, "dirty": None if status is None else bool(status)}


def command_line(argv: Sequence[str] | None) -> str:
    """The command as typed: ``mutualaid run baseline --seed 3``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["mutualaid", *args])


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def base_manifest(command: str, argv: Sequence[str] | None, wall_time: float, **fields) -> dict:
    """What every manifest holds; ``fields`` come first."""
    return {
        "command": command,
        **fields,
        "wall_time_s": round(float(wall_time), 4),
        "command_line": command_line(argv),
        "created_utc": utc_now(),
        "versions": versions(),
        "git": git_info(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------- text


def fmt(x: Any, signed: bool = False) -> str:
    """A number for a summary table: ``0.083``, ``1234``, ``n/a`` for NaN."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "n/a"
    sign = "+" if signed else ""
    if float(v).is_integer() and abs(v) >= 10:
        return f"{v:{sign}.0f}"
    if 0 < abs(v) < 0.001:
        return f"{v:{sign}.1e}"
    if abs(v) >= 100:
        return f"{v:{sign}.1f}"
    return f"{v:{sign}.3f}"


def row_decimals(values: Iterable[Any], spread: Any = None, sig: int = 2, largest: int = 3) -> int:
    """Decimals shared by the numbers of one table row, so that a row reads in one notation: rounded to
    ``sig`` significant figures of ``spread`` (an interval's half-width: report no more digits than the
    uncertainty carries), else to ``largest`` significant figures of the row's largest value; 0 to 6."""
    def ok(x):
        try:
            v = abs(float(x))
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) and v > 0 else None

    ref, figures = ok(spread), sig
    if ref is None:
        vals = [v for v in map(ok, values) if v is not None]
        if not vals:
            return 0
        ref, figures = max(vals), largest
    return int(min(6, max(0, figures - 1 - math.floor(math.log10(ref)))))


def fmt_fixed(x: Any, decimals: int, signed: bool = False) -> str:
    """``x`` with ``decimals`` decimals (``n/a`` for NaN or None); no exponent notation."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "n/a"
    out = f"{v:{'+' if signed else ''},.{decimals}f}"
    return out.replace("-", "+", 1) if signed and out.startswith("-") and float(out.replace(",", "")) == 0 else out


def table(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Left-aligned first column, right-aligned others."""
    rows = [[str(c) for c in r] for r in rows]
    if header is not None:
        rows.insert(0, [str(h) for h in header])
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(widths[i + 1]) for i, c in enumerate(r[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def key_values(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``key   value`` lines, values left-aligned."""
    pairs = list(items.items() if isinstance(items, Mapping) else items)
    if not pairs:
        return ""
    width = max(len(str(k)) for k, _ in pairs)
    return "\n".join(f"{str(k).ljust(width)}  {v}" for k, v in pairs)


#: metrics shown in the summary of ``mutualaid run`` (day 0, final, mean)
KEY_METRICS = ("helpers", "mean_stress", "mean_craving", "using", "abstinent", "attendance",
               "mean_tie", "isolated", "assortment")
#: count metrics whose totals are shown
TOTAL_METRICS = ("lapses", "relapses", "checkins", "sponsor_calls", "dropouts")


def run_mean(series: pd.Series, steps: pd.Series) -> float:
    """Mean over the simulated days 1..steps (day 0 alone when nothing was simulated); NaN-safe."""
    days = series[steps > 0]
    if days.empty:
        days = series
    return float(days.mean(skipna=True)) if days.notna().any() else float("nan")


#: with psychology off (the classic games) only these mean something
CLASSIC_METRICS = ("helpers", "assortment", "mean_payoff")


def run_summary(metrics: pd.DataFrame, info: Mapping[str, Any], psychology: bool = True) -> str:
    """The text printed after ``mutualaid run`` (the classic games: the game's rows only)."""
    head = key_values(info)
    rows = []
    for m in (KEY_METRICS if psychology else CLASSIC_METRICS):
        if m not in metrics:
            continue
        col = metrics[m]
        rows.append((m, fmt(col.iloc[0]), fmt(col.iloc[-1]), fmt(run_mean(col, metrics["step"]))))
    body = table(rows, header=("metric", "day 0", "final", "mean"))
    if not psychology:
        return f"{head}\n\n{body}\n\n(psychology off: stress, craving, use and support are not modelled)"
    totals = "  ".join(f"{m} {int(metrics[m].sum())}" for m in TOTAL_METRICS if m in metrics)
    return f"{head}\n\n{body}\n\ntotals: {totals}"


# ----------------------------------------------------------------------------- plots


def new_figure(nrows: int, ncols: int, title: str, size=(11, 9)):
    """A matplotlib Figure and its axes, without pyplot (no global backend state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    fig.suptitle(title)
    return fig, axes.ravel()


def plot_metrics(metrics: pd.DataFrame, title: str):
    """``metrics.png`` of ``mutualaid run``: six panels of the main curves."""
    fig, ax = new_figure(3, 2, title)
    x = metrics["step"]
    daily = metrics["step"] > 0
    roll = max(1, min(7, int(daily.sum())))

    def lines(a, cols, ylabel, transform=None):
        for c in cols:
            y = metrics[c] if transform is None else transform(metrics[c])
            a.plot(x, y, label=c.replace("_", " "))
        a.set_ylabel(ylabel)
        a.legend(loc="best", fontsize="small")
        a.grid(alpha=0.3)

    lines(ax[0], ["helpers"], "share")
    ax[0].set_ylim(-0.02, 1.02)
    lines(ax[1], ["mean_stress", "mean_craving"], "mean, in [0, 1]")
    lines(ax[2], ["using", "abstinent"], "share")
    ax[2].set_ylim(-0.02, 1.02)
    lines(ax[3], ["lapses", "relapses"], f"per day ({roll}-day mean)",
          transform=lambda s: s.where(daily).rolling(roll, min_periods=1).mean())
    lines(ax[4], ["attendance"], "share at meeting")
    lines(ax[5], ["checkins", "sponsor_calls"], "per day")
    for a in ax[-2:]:
        a.set_xlabel("day")
    return fig
