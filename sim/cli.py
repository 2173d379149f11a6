"""The ``mutualaid`` command line.

    mutualaid run SCENARIO [--seed N] [--steps N] [--engine E] [--set KEY=VALUE ...]
                           [--out DIR] [--members] [--member-days] [--plot] [--quiet]
                           [--movie FILE.gif|FILE.mp4 [--movie-every N] [--movie-fps F] [--movie-size S]]
    mutualaid compare SCENARIO_A SCENARIO_B [--seed N] [--replicates R] [--steps N]
                           [--set KEY=VALUE ...] [--out DIR] [--quiet]
    mutualaid calibrate SCENARIO [--method abc] [--parameters KEY,KEY|screened|all] [--replicates R]
                           [--budget-sims N] [--budget-minutes M] [--population N] [--generations N]
                           [--size MEMBERS] [--check K] [--out DIR] [--workers W] [--dask local|ADDRESS]
    mutualaid schema
    mutualaid scenarios
    mutualaid docs [--check] [--only NAME]

Exit codes (docs: ``CONTRACT.md``): 0 success; 2 bad input, reported as one
line ``mutualaid: error: ...`` on stderr; 1 a failure of the machine (a full
disk, a failing file system, a lost cluster: ``mutualaid: error: ...``, one line
saying what is kept) or an internal error, reported as one line
(``MUTUALAID_DEBUG=1`` adds the traceback).

Adding a subcommand: write ``cmd_<name>(args) -> int`` and one parser block
in :func:`build_parser` ending in ``p.set_defaults(func=cmd_<name>)``. Heavy
imports (the model, pandas, matplotlib) happen inside the commands so that
``--help``, ``schema`` and input errors stay fast.
"""

# Deferred imports (inside the functions that need them):
# - sim, yaml, numba: each command's own modules (and through them yaml, pandas, numba, matplotlib) load
#   when that command runs, so that `mutualaid --help`, `mutualaid schema`, a usage error and a bad value
#   answer at once; only the package and its schema (loaded by `import sim`) are imported here.
# - json, subprocess: standard library modules that `mutualaid --help` does not load either.

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import importlib.util
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Sequence

from sim import __version__
from sim.core.schema import Scenario

PROG = "mutualaid"
DEBUG_ENV = "MUTUALAID_DEBUG"
ENGINES = ("auto", "agents", "kernel")


class UsageError(Exception):
    """A bad command line (argparse's complaints end up here): exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (raised, then printed by :func:`main`)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _bad_input() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input (exit code 2), not a bug."""
    from sim.output import OutputPathError
    from sim.core.scenarios import ScenarioError

    kinds: list[type[BaseException]] = [ScenarioError, OutputPathError, UsageError]
    net = sys.modules.get("sim.core.networks")  # an edgelist file that cannot be read is found while building
    if net is not None and isinstance(getattr(net, "NetworkError", None), type):
        kinds.append(net.NetworkError)
    return tuple(kinds)


#: a word of a message longer than this is cut (a value echoed whole must not make a line of pages)
LONGEST_WORD = 200


def _one_line(text: str) -> str:
    line = re.sub(r"\s*\n\s*", " ", str(text)).strip()
    return re.sub(r"\S{%d,}" % (LONGEST_WORD + 1),
                  lambda m: f"{m.group(0)[:LONGEST_WORD // 2]}...({len(m.group(0)):,} characters)", line)


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


# ----------------------------------------------------------------------------- argument types


_DASK_ADDRESS = re.compile(r"^(?:(tcp|tls|inproc|ucx|ws|wss)://)?\[?[A-Za-z0-9_.:-]+?\]?:(\d{1,5})$")


def dask_address(text: str) -> str:
    """``local`` or a scheduler address ``[scheme://]host:port``."""
    m = _DASK_ADDRESS.match(text)
    if text != "local" and (m is None or not 0 < int(m.group(2)) < 65536):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 'local' or a scheduler address such as "
                                         f"tcp://host:8786")
    return text


#: the most digits an integer option may have (the largest any option takes, a seed, has 20)
MAX_DIGITS = 30


def _int_at_least(low: int, key: str | None = None, high: int | None = None):
    """An integer option >= ``low``; with ``key`` (``seed``, ``steps``) also at most that scenario key's
    largest value, so a value too large is reported against the option, not against --set; with ``high``
    at most that. Thousands of digits are refused before Python is asked to read them."""
    def parse(text: str) -> int:
        from sim.core.scenarios import short_repr

        digits = text.strip().lstrip("+-").replace("_", "")
        if len(digits) > MAX_DIGITS and digits.isdigit():
            raise argparse.ArgumentTypeError(f"{short_repr(text)}: an integer of {len(digits):,} digits is far "
                                             f"too large (expected an integer >= {low})")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{short_repr(text)}: expected an integer >= {low}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value}: must be >= {low}")
        most = high
        if key is not None:
            most = next(m.le for m in Scenario.model_fields[key].metadata if hasattr(m, "le"))
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{value}: must be <= {most}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _fps(text: str) -> float:
    from sim.movie import MAX_FPS

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_FPS:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: expected frames per second, a number > 0 and <= {MAX_FPS:g}")
    return value


_fps.__name__ = "frames per second"


#: The options shared by commands: one name, short form, default and meaning wherever the idea applies
#: (README, "Options of every command", is this table; ``tests/test_options.py`` holds the parser and the
#: README to it). Per option: (short form, metavar, help, the commands that take it).
VOCABULARY: dict[str, tuple[str | None, str | None, str, tuple[str, ...]]] = {
    "--replicates": ("-r", "R", "runs per arm, over paired seeds (default 12; lesson 20), or per parameter point "
                     "(calibrate, default 3); trial and lesson also take the earlier spelling --seeds",
                     ("compare", "trial", "lesson", "calibrate")),
    "--seed": (None, "N", "seed the runs' seeds come from (default: the scenario's)",
               ("run", "compare", "trial", "lesson", "classroom")),
    "--steps": (None, "N", "days to simulate (default: the scenario's; trial 365)",
                ("run", "compare", "trial", "lesson", "classroom")),
    "--engine": (None, "E", "auto, agents (Mesa) or kernel (numba) (default: the scenario's)",
                 ("run", "compare", "trial", "classroom")),
    "--workers": ("-j", "N", "worker processes (default: the machine's cores, and never more; the results are "
                  "the same for any N)", ("compare", "trial", "lesson", "sweep", "calibrate")),
    "--threads": (None, "N", "threads of the kernel (default: one per 6,000 members, at most the cores; never "
                  "more than the cores; the results are the same for any N)", ("run", "compare")),
    "--out": (None, "DIR", "output folder; a command replaces only a folder of its own kind and refuses any "
              "other (default: under results/)", ("run", "compare", "trial", "lesson", "sweep", "validate",
                                                  "replay", "calibrate")),
    "--quiet": ("-q", None, "no progress and no summary (errors still go to stderr)",
                ("run", "compare", "trial", "lesson", "sweep", "report", "validate", "replay", "calibrate")),
}


def options_table() -> str:
    """The README's table of the shared options (between its ``options table`` markers), from
    :data:`VOCABULARY`."""
    rows = ["| option | short | commands | meaning and default |", "|---|---|---|---|"]
    for name, (short, metavar, text, commands) in VOCABULARY.items():
        shown = f"`{name} {metavar}`" if metavar else f"`{name}`"
        rows.append(f"| {shown} | {f'`{short}`' if short else ''} | {', '.join(commands)} | {text} |")
    return "\n".join(rows)


def _option(p: argparse.ArgumentParser, name: str, *aliases: str, help: str | None = None, **kw) -> None:
    """Add the shared option ``name`` (:data:`VOCABULARY`) to ``p``; ``help`` adds a command's own words."""
    short, metavar, text, _ = VOCABULARY[name]
    flags = [name] + ([short] if short else []) + list(aliases)
    if metavar is None:
        kw.setdefault("action", "store_true")
    else:
        kw.setdefault("metavar", metavar)
    p.add_argument(*flags, dest=name[2:].replace("-", "_"), help=f"{text}{'; ' + help if help else ''}", **kw)


def _add_scenario_options(p: argparse.ArgumentParser, *, engine: bool = True, seed_help: str | None = None) -> None:
    """Options shared by commands that run scenarios."""
    _option(p, "--seed", type=_int_at_least(0, "seed"), help=seed_help)
    _option(p, "--steps", type=_int_at_least(0, "steps"))
    if engine:
        _option(p, "--engine", choices=ENGINES)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key with a YAML value, e.g. --set checkins.enabled=false "
                        "(repeatable)")
    _option(p, "--out")
    _option(p, "--threads", type=_int_at_least(1))
    _option(p, "--quiet")


def _notice(args, text: str | None) -> None:
    """One line on stderr about how a request was met (a capped count); silent with --quiet."""
    if text and not getattr(args, "quiet", False):
        print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def _workers(args) -> int:
    """--workers, capped at the machine's cores (said so), default the cores."""
    from sim.limits import cap

    n, why = cap("--workers", args.workers)
    _notice(args, why)
    return n


# ----------------------------------------------------------------------------- commands


def _folder_name(given: str, sc) -> str:
    """The default results folder's name: the scenario's, or a scenario file's own name when the file does not
    name itself (``extends: baseline`` alone inherits "baseline", and its run replaced baseline's own results
    in ``results/baseline/``)."""
    p = Path(given)
    if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
        import yaml

        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, yaml.YAMLError):
            return sc.name
        if isinstance(data, dict) and "name" not in data:
            return p.stem
    return sc.name


def cmd_run(args) -> int:
    """Run one scenario and write its metrics, manifest and (optionally) members and plot."""
    from sim.api import prepare, resolve_engine
    from sim.output import check_out_dir, safe_name

    # everything that can be wrong with the input is checked before the run
    sc = prepare(args.scenario, seed=args.seed, steps=args.steps, set=args.set, via="--set")
    engine = resolve_engine(sc, args.engine)
    out = check_out_dir(args.out if args.out is not None else Path("results") / safe_name(_folder_name(args.scenario,
                                                                                                      sc)),
                        kind="run")
    if args.member_days:
        from sim.core.members import member_days_too_many

        if member_days_too_many(sc):
            raise UsageError(f"--member-days: {member_days_too_many(sc)}")
    movie = _movie_plan(args, sc, out)

    from sim.api import run
    from sim.progress import compile_notice, progress_for

    compiling = compile_notice(args.quiet)
    recorder = movie_tmp = None
    with contextlib.ExitStack() as stack:
        if movie is not None:  # filmed during the run itself: the movie is the run whose metrics are written
            from sim.movie import Recorder

            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mutualaid-movie-")))
            movie_tmp = tmp / f"movie.{movie['format']}"
            recorder = Recorder(sc, movie_tmp, changed=movie["changed"], every=movie["every"], fps=movie["fps"],
                                size=movie["size"])
            stack.callback(recorder.abort)  # stops ffmpeg if the run fails (nothing to do after close())
        with progress_for("day", args.quiet, compiling=compiling) as progress:
            result = run(sc, engine=engine, members=args.members, member_days=args.member_days, progress=progress,
                         watch=recorder)
        if recorder is not None:
            recorder.close()
        _write_run(args, sc, out, result, movie, recorder, movie_tmp)
    return 0


def _movie_plan(args, sc, out: Path) -> dict | None:
    """Check ``--movie`` and its options before the run; None without ``--movie``.

    A file name (no folder) goes inside the ``--out`` folder, with the run's other files and in its
    manifest; an absolute path is written there once the run folder is complete.
    """
    extra = [o for o, v in (("--movie-every", args.movie_every), ("--movie-fps", args.movie_fps),
                            ("--movie-size", args.movie_size)) if v is not None]
    if args.movie is None:
        if extra:
            raise UsageError(f"{extra[0]}: needs --movie FILE.gif or --movie FILE.mp4")
        return None
    from sim.core.scenarios import parse_override
    from sim.movie import DEFAULT_FPS, SIZES, check_scenario, default_every, ffmpeg_exe, movie_days

    text = args.movie
    suffix = Path(text).suffix.lower()
    if suffix not in (".gif", ".mp4") or not Path(text).stem:
        raise UsageError(f"--movie {text}: expected a file name ending in .gif or .mp4")
    fmt = suffix[1:]
    p = Path(text).expanduser()
    inside = (not p.is_absolute() and len(p.parts) == 1) or p.parent.resolve() == out.expanduser().resolve()
    if not inside and not p.is_absolute():
        raise UsageError(f"--movie {text}: a relative FILE is a file name inside the --out folder ({out}), "
                         f"without folders; give an absolute path to write it elsewhere")
    if inside:
        if p.name.startswith("."):
            raise UsageError(f"--movie {text}: a hidden file name is not kept in a run folder")
        where = out / p.name
    else:
        if out.expanduser().resolve() in p.resolve().parents:
            raise UsageError(f"--movie {text}: inside a folder of --out {out}: give a file name to write it in "
                             f"--out itself")
        if p.is_dir():
            raise UsageError(f"--movie {text}: is a folder")
        if not p.parent.is_dir():
            raise UsageError(f"--movie {text}: folder {p.parent} does not exist")
        from sim.output import folder_kind

        for folder in [p.parent.resolve(), *p.parent.resolve().parents]:  # never into another command's results
            kind = folder_kind(folder)
            if kind is not None:
                raise UsageError(f"--movie {text}: {folder} holds a {kind}'s results; write the movie elsewhere, "
                                 f"or give a file name to write it in --out")
        if not os.access(p.parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
            raise UsageError(f"--movie {text}: {p if p.exists() else p.parent} is not writable")
        where = p
    try:
        check_scenario(sc)
        if fmt == "mp4":
            ffmpeg_exe()
    except Exception as e:
        raise UsageError(f"--movie {text}: {str(e).removeprefix('movie: ')}") from None
    every = default_every(sc.steps) if args.movie_every is None else args.movie_every
    days = movie_days(sc.steps, every)
    changed: dict = {}
    for item in args.set:
        k, v = parse_override(item)
        changed.pop(k, None)  # a key set twice: listed where it was last set, with the value that counts
        changed[k] = v
    return {"path": where, "inside": inside, "format": fmt, "changed": changed, "days": days,
            "every": days[1] - days[0] if len(days) > 1 else every,
            "fps": DEFAULT_FPS if args.movie_fps is None else args.movie_fps,
            "size": SIZES[args.movie_size or "720p"]}


def _write_run(args, sc, out: Path, result, movie: dict | None, recorder, movie_tmp: Path | None) -> None:
    """Write the run's folder (and its movie), then print the summary."""
    from sim.output import StagedFiles, base_manifest, plot_metrics, run_summary
    fig = plot_metrics(result.metrics, f"{sc.name}  (seed {sc.seed}, {sc.population.size} members)") \
        if args.plot else None
    manifest = base_manifest(
        "run", args.argv, result.wall_time,
        scenario_source=str(args.scenario), seed=sc.seed, engine=result.engine,
        steps=sc.steps, members=sc.population.size, scenario=sc.model_dump(mode="json"),
    )
    if movie is not None:
        manifest["movie"] = {"file": movie["path"].name if movie["inside"] else str(movie["path"]),
                             "format": movie["format"], "frames": recorder.frames, "every_days": movie["every"],
                             "fps": movie["fps"], "size": list(movie["size"]), "changed": movie["changed"]}
    with StagedFiles(out, replace=True, kind="run") as files:
        files.write_parquet("metrics.parquet", result.metrics)
        files.write_csv("metrics.csv", result.metrics)
        if args.members:
            files.write_parquet("members.parquet", result.members)
        if args.member_days:
            files.write_parquet("member_days.parquet", result.member_days)
        if fig is not None:
            files.write_figure("metrics.png", fig)
        if movie is not None and movie["inside"]:
            files.write_file(movie["path"].name, lambda p: shutil.move(movie_tmp, p))
        manifest["files"] = files.names + ["manifest.json"]
        files.write_json("manifest.json", manifest)
    if movie is not None and not movie["inside"]:  # beside its final name, then moved into place
        staged = movie["path"].with_name(f".{movie['path'].name}.{os.getpid()}.tmp")
        try:
            shutil.move(movie_tmp, staged)
            os.replace(staged, movie["path"])
        finally:
            staged.unlink(missing_ok=True)
    if not args.quiet:
        info = {"scenario": sc.name, "engine": result.engine, "members": sc.population.size,
                "steps": sc.steps, "seed": sc.seed, "wall time": f"{result.wall_time:.2f} s"}
        print(run_summary(result.metrics, info, psychology=sc.psychology.enabled))
        print(f"\nwrote {out}{os.sep}  ({', '.join(manifest['files'])})")
        if movie is not None:
            mb = movie["path"].stat().st_size / 1e6
            n, every = recorder.frames, movie["every"]
            shown = "day 0" if n == 1 else f"days 0 to {sc.steps}, " + \
                ("every day" if every == 1 else f"every {every} days")
            print(f"movie: {movie['path']}  ({n} frame{'s' * (n != 1)}: {shown}; {movie['fps']:g} fps, "
                  f"{mb:.1f} MB)")


def cmd_compare(args) -> int:
    """Run two scenarios with common random numbers and compare them."""
    from sim.experiments.compare import prepare_pair
    from sim.output import check_out_dir, safe_name

    sc_a, sc_b, _, _ = prepare_pair(args.scenario_a, args.scenario_b, seed=args.seed, steps=args.steps,
                                    set=args.set, engine=args.engine, replicates=args.replicates)
    default = Path("results") / "compare" / f"{safe_name(sc_a.name)}_vs_{safe_name(sc_b.name)}"
    out = check_out_dir(args.out if args.out is not None else default, kind="compare")
    workers = _workers(args)

    from sim.experiments.compare import compare, plot_compare, summary_text
    from sim.output import StagedFiles, base_manifest
    from sim.progress import compile_notice, progress_for

    compiling = compile_notice(args.quiet)
    with progress_for("run", args.quiet, compiling=compiling) as progress:
        res = compare(sc_a, sc_b, seed=args.seed, replicates=args.replicates, engine=args.engine,
                      progress=progress, workers=workers)
    fig = plot_compare(res)
    manifest = base_manifest(
        "compare", args.argv, res.wall_time,
        scenario_sources={"A": str(args.scenario_a), "B": str(args.scenario_b)},
        seed=res.seed, replicates=len(res.seeds), replicate_seeds=res.seeds, engines=res.engines,
        scenarios={"A": res.a.model_dump(mode="json"), "B": res.b.model_dump(mode="json")},
    )
    with StagedFiles(out, replace=True, kind="compare") as files:
        files.write_csv("compare.csv", res.timeseries())
        files.write_csv("runs.csv", res.runs)
        files.write_csv("summary.csv", res.summary)
        files.write_figure("compare.png", fig)
        manifest["files"] = files.names + ["manifest.json"]
        files.write_json("manifest.json", manifest)
    if not args.quiet:
        print(summary_text(res))
        print(f"\nwrote {out}{os.sep}  ({', '.join(manifest['files'])})")
    return 0


def cmd_trial(args) -> int:
    """A virtual randomised trial: trial.md, curves.png, effects.csv, published.csv, members.parquet, spells.parquet
    (and a handout)."""
    from sim.output import check_out_dir, safe_name

    name = Path(args.scenario).stem if str(args.scenario).endswith((".yaml", ".yml")) else str(args.scenario)
    out = check_out_dir(args.out if args.out is not None else
                        Path("results") / "trial" / f"{safe_name(name)}_{args.intervention}", kind="trial")
    workers = _workers(args)
    if args.engine and any(x.split("=", 1)[0].strip() == "engine" for x in args.set):
        raise UsageError(f"--engine {args.engine} and --set engine=...: give the engine once")
    sets = list(args.set) + ([f"engine={args.engine}"] if args.engine else [])

    from sim.experiments import trial
    from sim.output import StagedFiles, base_manifest
    from sim.progress import compile_notice, progress_for

    designs = tuple(args.designs.split(",")) if args.designs else trial.DESIGNS
    compiling = compile_notice(args.quiet)
    with progress_for("run", args.quiet, compiling=compiling) as progress:
        res = trial.run_trial(args.scenario, args.intervention, seeds=args.replicates, steps=args.steps, set=sets,
                              designs=designs, workers=workers, seed=args.seed, progress=progress,
                              via="--set")
    command = "mutualaid " + " ".join(args.argv) if args.argv else ""
    fig = trial.plot_curves(res)
    manifest = base_manifest("trial", args.argv, res.wall_time, scenario_sources={"trial": str(args.scenario)},
                             intervention=args.intervention, designs=list(res.designs), seeds=res.seeds,
                             headline=res.headline, scenarios=res.settings)
    with StagedFiles(out, replace=True, kind="trial") as files:
        files.write_text("trial.md", trial.report_markdown(res, command))
        files.write_figure("curves.png", fig)
        files.write_csv("effects.csv", res.effects)
        files.write_csv("published.csv", res.published)
        files.write_file("members.parquet", lambda p: res.members.to_parquet(p, index=False))
        files.write_file("spells.parquet", lambda p: res.spells.to_parquet(p, index=False))
        if args.handout:
            from sim.experiments import handout

            files.write_text("handout.html", handout.handout_html(res, command))
            files.write_file("handout.pdf", lambda p: handout.handout_pdf(res, p, command))
        manifest["files"] = files.names + ["manifest.json"]
        files.write_json("manifest.json", manifest)
    if not args.quiet:
        print(res.headline)
        print()
        print(trial.effects_table(res, markdown=False))
        print()
        print(trial.published_table(res, markdown=False))
        print(f"\nwrote {out}{os.sep}  ({', '.join(manifest['files'])})")
    return 0


def cmd_lesson(args) -> int:
    """The educator's factorial demonstration: lesson.md, lesson.png, runs.csv, summary.csv."""
    from sim.output import check_out_dir

    out = check_out_dir(args.out if args.out is not None else Path("results") / "lesson" / args.lesson,
                        kind="lesson")
    workers = _workers(args)

    from sim.experiments import lesson
    from sim.output import StagedFiles, base_manifest
    from sim.progress import compile_notice, progress_for

    compiling = compile_notice(args.quiet)
    with progress_for("run", args.quiet, compiling=compiling) as progress:
        res = lesson.run_lesson(args.lesson, seeds=args.replicates, workers=workers, steps=args.steps,
                                seed=args.seed, progress=progress)
    manifest = base_manifest("lesson", args.argv, res.wall_time, scenario_sources={"lesson": args.lesson},
                             seeds=res.seeds, arms=list(res.summary["arm"]), scenarios=res.scenarios)
    with StagedFiles(out, replace=True, kind="lesson") as files:
        files.write_text("lesson.md", f"# Kropotkin's thesis: which mechanisms let mutual aid win?\n\n"
                         f"{lesson.table(res)}\n\n{lesson.notes(res)}\n")
        files.write_csv("runs.csv", res.runs)
        files.write_csv("summary.csv", res.summary)
        files.write_figure("lesson.png", lesson.plot(res))
        manifest["files"] = files.names + ["manifest.json"]
        files.write_json("manifest.json", manifest)
    if not args.quiet:
        print(lesson.table(res, markdown=False))
        print()
        print(lesson.notes(res))
        print(f"\nwrote {out}{os.sep}  ({', '.join(manifest['files'])})")
    return 0


def cmd_sweep(args) -> int:
    """Run (or resume) a parameter sweep; write runs.parquet, timings.parquet, sweep.json, manifest.json."""
    from sim.output import check_out_dir, safe_name
    from sim.experiments.sweep import load_sweep

    sweep = load_sweep(args.sweep)
    if args.until_ci is not None or args.max_replicates is not None:
        from sim.experiments.sweep import until_ci_option

        until_ci_option(sweep, args.until_ci, args.max_replicates)
    out = check_out_dir(args.out if args.out is not None else Path("results") / "sweeps" / safe_name(sweep.name),
                        kind="sweep")
    workers = _workers(args)

    from sim.experiments.sweep import SweepProgress, run_sweep

    with SweepProgress(args.quiet) as progress:
        res = run_sweep(sweep, out, workers=workers, dask=args.dask, progress=progress, argv=args.argv,
                        notice=lambda text: _notice(args, text))
    if not args.quiet:
        rate = res.ran / res.wall_time if res.wall_time > 0 else float("nan")
        ad = res.adaptive
        added = f" + {ad['extra_runs']} added" if ad else ""
        print(f"sweep {sweep.name}: {res.total} runs ({len(sweep.points)} points x {sweep.replicates} replicates"
              f"{added}), {res.skipped} already done, {res.ran} run now, {res.failed} failed; "
              f"{res.wall_time:.1f} s ({rate:.2f} runs/s) on {res.backend}")
        if ad:
            from sim.experiments.sweep import adaptive_summary

            print(adaptive_summary(ad))
        print(f"wrote {out}{os.sep}runs.parquet  (next: mutualaid report {out})")
    if res.infra:
        _error(f"sweep {sweep.name}: {len(res.infra)} runs could not run for the infrastructure ({res.infra[0]}); "
               f"they are not recorded and stay to do: rerun the same command")
        return 1
    if res.total and res.failed == res.total:  # this time or earlier: a rerun that ran nothing new says so too
        _error(f"sweep {sweep.name}: every one of the {res.total} runs failed; their errors are in the 'error' "
               f"column of {out}{os.sep}runs.parquet")
        return 1
    return 0



def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of minutes > 0")
    return value


_minutes.__name__ = "minutes"


def cmd_calibrate(args) -> int:
    """Refit a scenario's fitted parameters (sim/experiments/calibration.py), or check the method (--check K)."""
    from sim.experiments import calibration
    from sim.output import check_path_text, safe_name

    if args.out is not None:
        check_path_text(args.out)
    calibration.parameter_keys(args.parameters, "--parameters")  # before anything is written
    name = safe_name(Path(args.scenario).stem)
    log = (lambda *_: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    kw = dict(parameters=args.parameters, workers=_workers(args), progress=log, argv=args.argv,
              budget_sims=args.budget_sims)
    kw.update((k, v) for k, v in (("replicates", args.replicates), ("population", args.population),
                                  ("generations", args.generations), ("size", args.size)) if v is not None)
    if args.check is not None:
        if args.dask or args.budget_minutes is not None:
            raise UsageError("--check: runs one calibration per truth on this machine, by --budget-sims and "
                             "--generations (no --dask, no --budget-minutes)")
        res = calibration.sbc(args.scenario, args.check, out=args.out or f"results/calibrate/{name}-check", **kw)
        if not args.quiet:
            for k, c in res["coverage"].items():
                print(f"{k}: truth inside the 50% interval {c['50%']:.2f}, the 90% interval {c['90%']:.2f} "
                      f"of {args.check} truths")
        return 0
    res = calibration.calibrate(args.scenario, method=args.method, out=args.out or f"results/calibrate/{name}",
                                dask=args.dask,
                                budget_minutes=args.budget_minutes, **kw)
    if not args.quiet:
        s = res.summary
        print(f"calibrate {s['scenario']}: {s['generations']} generations, {s['simulations']} simulations, "
              f"{s['minutes']:.1f} min, effective sample size {s['effective_sample_size']:.1f}; stopped at "
              f"{res.stopped}")
        for k, q in s["quantiles"].items():
            print(f"  {k}: 90% range {q['q05']:.4g} to {q['q95']:.4g} (median {q['q50']:.4g}; default "
                  f"{s['defaults'][k]['value']:.4g}, {s['defaults'][k]['position']})")
        print(f"wrote {res.out}{os.sep}  (posterior.parquet, summary.json, report.md, marginals.png, pairs.png, "
              f"calibrate.db)")
    return 0


def cmd_report(args) -> int:
    """Summarise a sweep folder: summary.csv, plots/*.png, report.md."""
    from sim.experiments.report import write_report
    from sim.output import OutputPathError, check_path_text, folder_kind

    check_path_text(args.dir, "report:")
    kind = folder_kind(args.dir) if Path(args.dir).is_dir() else None
    if kind not in (None, "sweep"):  # its own words for a folder of another command's (nothing is written)
        raise OutputPathError(f"report: {args.dir}: is a {kind} command's folder, not a sweep's; give the --out "
                              f"folder of mutualaid sweep")
    files = write_report(args.dir)
    if not args.quiet:
        print(f"wrote {len(files)} files in {args.dir}: {', '.join(files[:6])}{' ...' if len(files) > 6 else ''}")
    return 0


def cmd_validate(args) -> int:
    """Run every validation check; print the table; write validation.md. Exit 1 if a check fails."""
    from sim.experiments import validate

    from sim.output import check_out_dir

    out = check_out_dir(args.out or "results/validation", kind="validate")  # before the checks run, not after
    t0 = time.perf_counter()
    log = (lambda *_: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    checks = validate.run(quick=args.quick, log=log)
    wall = time.perf_counter() - t0
    cmd = "mutualaid validate" + (" --quick" if args.quick else "")
    files = validate.write(checks, out, cmd, wall, argv=args.argv)
    if not args.quiet:  # --quiet: no summary; the table is in validation.md (a failed check still exits 1)
        print(validate.table(checks))
        print(f"\n{validate.summary(checks)} in {wall:.0f} s; wrote {out}/ ({', '.join(files)})")
    return 0 if all(c.passed for c in checks if c.is_check) else 1


def cmd_bench(args) -> int:
    """Measure both engines side by side (sim/experiments/bench.py)."""
    from sim.experiments import bench

    if args.markdown:
        parent = Path(args.markdown).resolve().parent
        if not parent.is_dir() or Path(args.markdown).is_dir():
            raise UsageError(f"--markdown {args.markdown}: not a file in an existing folder")
    res = bench.run(quick=args.quick)
    if args.markdown:
        cmd = "mutualaid bench" + (" --quick" if args.quick else "")
        bench.write_markdown(res, args.markdown, cmd)
        print(f"wrote {args.markdown}")
    return 0


def cmd_dashboard(args) -> int:
    """Serve the Solara dashboard (``sim.dashboards.app``, shipped in the package) until interrupted."""
    import subprocess

    check_listen_address(args.host, args.port)  # before anything is announced
    from sim.core.shipped import DASHBOARD_APP

    if importlib.util.find_spec("solara") is None:
        raise UsageError("solara is not installed: install the dashboard extra, pip install '.[dashboard]' (or "
                         "pipx install '.[dashboard]') in a clone; make test installs it")
    # this interpreter runs solara, so the app is the one installed beside this command
    solara = sys.executable
    cmd = [solara, "-m", "solara", "run", DASHBOARD_APP, "--host", args.host, "--port", str(args.port),
           "--production"]
    if not args.open:
        cmd.append("--no-open")
    print(f"dashboard: http://{args.host}:{args.port}/  (Ctrl-C stops it)", file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    # a classroom server does not report usage to Solara's authors (their telemetry is on by default)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    # Solara warns at every first page load over plain http that its session cookie falls back to SameSite=Lax:
    # twelve lines a user cannot act on (the fallback is right for a classroom on a local network)
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), SOLARA_COOKIE_WARNING]))
    if hasattr(os, "execv"):
        # become the server: stopping this process id (kill PID, a service manager) stops what serves the
        # port, with no child left behind
        os.execv(solara, cmd)
    return subprocess.call(cmd)  # pragma: no cover - platforms without exec


#: the start of Solara's cookie warning, as a PYTHONWARNINGS filter (silenced: see cmd_dashboard)
SOLARA_COOKIE_WARNING = "ignore:Cookies with samesite=none require https"


def check_listen_address(host: str, port: int) -> None:
    """Refuse, as one line, an address the server could not listen on: a host that does not resolve or is
    not this machine's, a port out of range or in use. Checked by binding it (then let go) before the URL
    is announced."""
    from sim.core.scenarios import short_repr

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: expected a port from 1 to 65535")
    if not host or any(c.isspace() or ord(c) < 32 for c in host) or len(host) > 253:
        raise UsageError(f"--host {short_repr(host)}: expected a host name or address, e.g. 127.0.0.1 or 0.0.0.0")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, OSError):
        raise UsageError(f"--host {short_repr(host)}: not a known host name or address") from None
    family, kind, proto, _, addr = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
            sock.bind(addr)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UsageError(f"--port {port}: already in use on {host} (another server?); give another "
                             f"--port") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host}: not an address of this machine; use 127.0.0.1 (this machine) "
                             f"or 0.0.0.0 (every address)") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise UsageError(f"--port {port}: not allowed here (ports below 1024 need privileges); give a port "
                             f"from 1024 up") from None
        raise UsageError(f"--host {host} --port {port}: cannot listen there ({e.strerror})") from None


def _lan_address() -> str:
    """This machine's address on its local network (where phones reach it), else 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def cmd_classroom(args) -> int:
    """Open a room and serve the classroom's pages (``sim.dashboards.classroom``) until interrupted."""
    import json
    import subprocess

    from sim.api import prepare

    check_listen_address(args.host, args.port)  # before anything is announced
    if importlib.util.find_spec("solara") is None or importlib.util.find_spec("segno") is None:
        raise UsageError("the classroom needs the dashboard extra: pip install '.[dashboard]' in a clone")
    sc = prepare(args.scenario, seed=args.seed, steps=args.steps, set=args.set, via="--set")
    from sim.experiments.classroom import Room

    Room(sc, engine=args.engine or "auto", round_seconds=args.round_seconds,  # refuses a room it cannot open
         days_per_round=args.days_per_round)
    host = _lan_address() if args.host in ("0.0.0.0", "") else args.host
    base = f"http://{host}:{args.port}/"
    key = secrets.token_urlsafe(9)
    os.environ["MUTUALAID_CLASSROOM"] = json.dumps({
        "scenario": sc.model_dump(mode="json"), "round_seconds": args.round_seconds,
        "days_per_round": args.days_per_round, "engine": args.engine or "auto", "teacher_key": key})
    os.environ["MUTUALAID_CLASSROOM_URL"] = base
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), SOLARA_COOKIE_WARNING]))
    print(f"classroom {sc.name}: the teacher's screen is {base}?teacher={key}  (keep this link; Ctrl-C stops "
          f"the room)", file=sys.stderr, flush=True)
    sys.stdout.flush()
    cmd = [sys.executable, "-m", "solara", "run", "sim.dashboards.classroom", "--host", args.host, "--port",
           str(args.port), "--production", "--no-open"]
    if hasattr(os, "execv"):
        os.execv(sys.executable, cmd)
    return subprocess.call(cmd)  # pragma: no cover - platforms without exec


def cmd_replay(args) -> int:
    """Run a recorded session again with its people's decisions (docs/ODD.md 7.0): the same numbers."""
    from sim.core.choices import ChoiceError, DecisionLog
    from sim.runner import replay
    from sim.output import StagedFiles, base_manifest, check_out_dir, run_summary, safe_name

    path = Path(args.log)
    if not path.is_file():
        raise UsageError(f"LOG {args.log}: no such file")
    try:
        log = DecisionLog.read(path)
    except (ChoiceError, UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"LOG {args.log}: {_one_line(e)}") from None
    sc = log.scenario
    out = check_out_dir(args.out if args.out is not None else Path("results") / "replay" / safe_name(sc.name),
                        kind="replay")
    t0 = time.perf_counter()
    try:
        model = replay(log)
    except ChoiceError as e:
        raise UsageError(f"LOG {args.log}: {e}") from None
    wall = time.perf_counter() - t0
    metrics = model.metrics_frame()
    manifest = base_manifest("replay", args.argv, wall, log=str(path), log_sha256=hashlib.sha256(
        path.read_bytes()).hexdigest(), decisions=len(log.decisions), seed=sc.seed, engine=log.engine,
        steps=sc.steps, members=sc.population.size, scenario=sc.model_dump(mode="json"))
    with StagedFiles(out, replace=True, kind="replay") as files:
        files.write_parquet("metrics.parquet", metrics)
        files.write_csv("metrics.csv", metrics)
        files.write_parquet("members.parquet", model.members_frame())
        files.write_file("decisions.jsonl", lambda p: p.write_bytes(path.read_bytes()))
        manifest["files"] = files.names + ["manifest.json"]
        files.write_json("manifest.json", manifest)
    if not args.quiet:
        info = {"scenario": sc.name, "engine": log.engine, "members": sc.population.size, "steps": sc.steps,
                "seed": sc.seed, "decisions": len(log.decisions), "wall time": f"{wall:.2f} s"}
        print(run_summary(metrics, info, psychology=sc.psychology.enabled))
        print(f"\nwrote {out}{os.sep}  ({', '.join(manifest['files'])})")
    return 0


def cmd_docs(args) -> int:
    """Rewrite (or with --check, verify) the figure blocks of the README, the docs and the Info files."""
    from sim.experiments import docfigures

    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    out = docfigures.update(check=args.check, only=args.only, log=log)
    if out.problems:
        verb = "stale" if args.check else "not rewritten"
        _error(f"docs: {len(out.problems)} figure block{'s' * (len(out.problems) != 1)} {verb}: "
               f"{'; '.join(out.problems)}{'; run mutualaid docs' if args.check else ''}")
        return 2
    for name in out.written:
        print(f"rewrote {name}")
    if out.current:
        print(f"up to date: {', '.join(out.current)}")
    if out.unchecked:
        print(f"not rerun, their hashes hold (mutualaid docs --only NAME reruns one): "
              f"{', '.join(out.unchecked)}")
    return 0


def cmd_schema(args) -> int:
    """Print the JSON Schema of a scenario file (the schema's keys and ``extends``)."""
    import json

    from sim.core.schema import scenario_file_schema

    print(json.dumps(scenario_file_schema(), indent=2))
    return 0


def cmd_scenarios(args) -> int:
    """List the scenarios shipped in ``scenarios/`` with the first line of each description."""
    from sim.core import scenarios as scn
    from sim.output import key_values

    read = getattr(scn, "read_scenario_file", scn.read_yaml)  # resolves `extends:`
    names = scn.scenario_names()
    if not names:
        print(f"(no scenarios in {scn.SCENARIO_DIR})")
        return 0
    rows = []
    for name in names:
        try:
            desc = str(read(scn.SCENARIO_DIR / f"{name}.yaml").get("description") or "").strip()
            rows.append((name, _first_sentence(desc)))
        except scn.ScenarioError as e:
            rows.append((name, f"(unreadable: {_one_line(e)})"))
    print(key_values(rows))
    return 0


def _first_sentence(text: str, limit: int = 100) -> str:
    """First line of a description, cut at its first sentence (YAML ``>-`` folds a paragraph into one line)."""
    line = text.splitlines()[0].strip() if text.strip() else ""
    m = re.match(r"(.+?[.!?])(\s|$)", line)
    if m:
        line = m.group(1)
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


# ----------------------------------------------------------------------------- parser and main


def _designs(text: str) -> str:
    parts = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in parts if x not in ("individual", "meetings", "community")]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of individual, meetings, "
                                         f"community")
    twice = next((x for x in parts if parts.count(x) > 1), None)
    if twice is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {twice} is listed twice; list each design once")
    return ",".join(parts)


def build_parser() -> argparse.ArgumentParser:
    """The ``mutualaid`` argument parser; one block per subcommand."""
    parser = _Parser(prog=PROG, description="Mutual aid versus competition in recovery communities.",
                     epilog=f"Exit codes: 0 ok, 2 bad input, 1 internal error ({DEBUG_ENV}=1 shows tracebacks).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run one scenario",
                       description="Run one scenario; write metrics.parquet, metrics.csv and manifest.json "
                                   "(default folder: results/<scenario name>/).")
    p.add_argument("scenario", metavar="SCENARIO", help="name in scenarios/ (e.g. baseline) or path to a YAML file")
    _add_scenario_options(p)
    p.add_argument("--members", action="store_true", help="also write members.parquet")
    p.add_argument("--member-days", action="store_true",
                   help="also write member_days.parquet: one row per member per day (at most 20,000,000 rows)")
    p.add_argument("--plot", action="store_true", help="also write metrics.png")
    p.add_argument("--movie", metavar="FILE", nargs="?", const="movie.mp4",
                   help="also write a movie of the run, FILE.gif or FILE.mp4 (default movie.mp4), as the "
                        "dashboard draws it; a file name goes inside the --out folder")
    p.add_argument("--movie-every", type=_int_at_least(1), metavar="N",
                   help="days per frame (default: about 200 frames, every 2 days for 365 days; "
                        "at most 600 frames)")
    p.add_argument("--movie-fps", type=_fps, metavar="F", help="frames per second (default 10)")
    p.add_argument("--movie-size", choices=("720p", "1080p"),
                   help="frame size: 720p is 1280x720 (default), 1080p is 1920x1080")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="compare two scenarios with common random numbers",
                       description="Run A and B with the same seeds per replicate; write compare.csv, runs.csv, "
                                   "summary.csv, compare.png and manifest.json "
                                   "(default folder: results/compare/<A>_vs_<B>/).")
    p.add_argument("scenario_a", metavar="SCENARIO_A", help="the reference scenario (name or YAML path)")
    p.add_argument("scenario_b", metavar="SCENARIO_B", help="the scenario compared with it; differences are B - A")
    _option(p, "--replicates", type=_int_at_least(1), default=12)
    _add_scenario_options(p, seed_help="one for A and B: A's scenario's seed unless given")
    _option(p, "--workers", type=_int_at_least(1))
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("trial", help="a virtual randomised trial of check-ins or sponsorship (trainers)",
                       description="Randomise members, or whole meetings, to an intervention (check-ins, or a "
                                   "sponsor) and to control inside the simulated community, and compare with the "
                                   "whole community both ways, over paired seeds: Kaplan-Meier curves, Cox hazard "
                                   "ratios, relapses per 100 members, days abstinent, the number needed to treat, "
                                   "and the published trials beside them.")
    p.add_argument("scenario", metavar="SCENARIO", help="name in scenarios/ (e.g. baseline) or path to a YAML file")
    p.add_argument("--intervention", choices=["checkins", "sponsorship"], default="checkins",
                   help="what the control arm goes without (default checkins)")
    p.add_argument("--designs", metavar="LIST", type=_designs,
                   help="comma-separated: individual, meetings, community (default all three)")
    _option(p, "--replicates", "--seeds", type=_int_at_least(2, high=10_000), default=12, help="at least 2")
    _option(p, "--seed", type=_int_at_least(0, "seed"))
    _option(p, "--steps", type=_int_at_least(1, "steps"), default=365, help="days of follow-up")
    _option(p, "--engine", choices=ENGINES)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key in both arms (repeatable), e.g. --set isolation.enabled=true")
    _option(p, "--workers", type=_int_at_least(1))
    p.add_argument("--handout", action="store_true", help="also write handout.html and handout.pdf (one page)")
    _option(p, "--out", help="here results/trial/<scenario>_<intervention>")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_trial)

    p = sub.add_parser("lesson", help="the educator's factorial demonstration: which mechanisms let mutual aid win",
                       description="Run the Kropotkin lesson: five named mechanisms all off, each alone, all on and "
                                   "all on but one, over paired seeds; print the table of helpers and community "
                                   "health with 95% intervals and write lesson.md, lesson.png, runs.csv, "
                                   "summary.csv (default folder: results/lesson/kropotkin/).")
    p.add_argument("lesson", choices=["kropotkin"], help="the lesson to run")
    _option(p, "--replicates", "--seeds", type=_int_at_least(2, high=10_000), default=20,
            help="at least 2")
    _option(p, "--seed", type=_int_at_least(0, "seed"))
    _option(p, "--steps", type=_int_at_least(1, "steps"), help="the kropotkin scenario's is 365")
    _option(p, "--workers", type=_int_at_least(1))
    _option(p, "--out")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_lesson)

    p = sub.add_parser("sweep", help="run a parameter sweep (resumable, parallel, Dask)",
                       description="Run the runs of a sweep file in parallel; rerun the same command to resume "
                                   "(default folder: results/sweeps/<sweep name>/).")
    p.add_argument("sweep", metavar="SWEEP.yaml", help="a sweep file, or the name of a shipped one in "
                   "scenarios/sweeps/ (checkins-x-isolation)")
    _option(p, "--out", help="a sweep's folder is resumed")
    _option(p, "--workers", type=_int_at_least(1), help="with --dask local: the cluster's workers")
    p.add_argument("--dask", metavar="ADDRESS|local", type=dask_address,
                   help="send runs to a dask.distributed scheduler (tcp://host:8786) or start a LocalCluster")
    p.add_argument("--until-ci", metavar="METRIC=WIDTH",
                   help="after the planned replicates, add replicates to each point until the 95%% interval of "
                        "METRIC is narrower than WIDTH (overrides the file's until_ci)")
    p.add_argument("--max-replicates", metavar="N", type=_int_at_least(1),
                   help="the most replicates a point may get with --until-ci (overrides max_replicates)")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("calibrate", help="refit a scenario's fitted parameters to the fitted patterns (ABC-SMC)",
                       description="Infer the fitted parameters of SCENARIO from the fitted patterns by ABC-SMC "
                                   "(pyabc), each particle the mean of --replicates runs; write posterior.parquet, "
                                   "summary.json, report.md, marginals.png, pairs.png and calibrate.db (default "
                                   "folder: results/calibrate/<scenario>/, resumed by the same command). --check K: "
                                   "simulation-based calibration on K synthetic truths (docs/CALIBRATION.md).")
    p.add_argument("scenario", metavar="SCENARIO", help="name in scenarios/ (e.g. baseline) or path to a YAML file")
    p.add_argument("--method", choices=["abc"], default="abc", help="abc: ABC-SMC with pyabc (the only one yet)")
    p.add_argument("--parameters", metavar="KEY,KEY|screened|all", default="screened",
                   help="fitted keys to infer (default screened: abcfit.SCREENED; all: every fitted key)")
    _option(p, "--replicates", type=_int_at_least(1, high=1000), default=3)
    p.add_argument("--budget-sims", metavar="N", type=_int_at_least(1),
                   help="stop at the end of the generation that reaches N simulations (particles x replicates)")
    p.add_argument("--budget-minutes", metavar="M", type=_minutes,
                   help="stop at the end of the generation that reaches M minutes (a resumed run counts earlier ones)")
    p.add_argument("--population", metavar="N", type=_int_at_least(2), help="particles a generation (default 100)")
    p.add_argument("--generations", metavar="N", type=_int_at_least(1), help="most generations stored (default 8)")
    p.add_argument("--size", metavar="MEMBERS", type=_int_at_least(10, high=1_000_000),
                   help="members of each run (default 1000; --check 300)")
    p.add_argument("--check", metavar="K", type=_int_at_least(1, high=1000),
                   help="simulation-based calibration: K truths from the prior, each refitted from its own patterns")
    _option(p, "--out")
    _option(p, "--workers", type=_int_at_least(1), help="here pyabc's processes (or --dask local's workers); with "
            "more than one the particles differ from run to run, their ranges agree within Monte Carlo error")
    p.add_argument("--dask", metavar="ADDRESS|local", type=dask_address,
                   help="evaluate particles on a dask.distributed scheduler (tcp://host:8786) or a LocalCluster")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("report", help="tables, plots and report.md of a sweep folder",
                       description="Write summary.csv, plots/*.png (and sobol.csv) and report.md into DIR.")
    p.add_argument("dir", metavar="DIR", help="folder written by mutualaid sweep")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="reproduce published results and the recovery patterns",
                       description="Classic games (Nowak & May, Fermi, death-birth) and the baseline against the "
                                   "recovery literature; prints a table, writes validation.md and plots. "
                                   "Exit code 1 when a check fails.")
    p.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    _option(p, "--out", help="here results/validation")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("bench", help="measure both engines: throughput, Nowak-May vs Mesa pd_grid, compile, memory",
                       description="Four tables measured in one run (see benchmarks/RESULTS.md). "
                                   "--quick stops the kernel at 10^6 members (a few minutes).")
    p.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes instead of ~15")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("dashboard", help="serve the interactive dashboard (Solara)",
                       description="Serve the Explore / Compare / Results dashboard (sim.dashboards.app).")
    p.add_argument("--host", default="127.0.0.1", metavar="H", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_int_at_least(1, high=65535), default=8765, metavar="P",
                   help="port, 1 to 65535 (default 8765)")
    p.add_argument("--open", action="store_true", help="also open a browser")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("classroom", help="serve a classroom: students play members from their phones",
                       description="Open a room for SCENARIO (a community of 10 to 300 members) and serve its pages: "
                                   "the teacher's screen (its link is printed) shows a join link, a code and a QR "
                                   "code; each student who joins plays one member from a phone, bots play the rest; "
                                   "one day a round (or up to a week: --days-per-round). At the end: the class's run beside the same community played "
                                   "by bots alone, and every decision (replay it with mutualaid replay).")
    p.add_argument("scenario", metavar="SCENARIO", help="a shipped scenario's name or a YAML file")
    _option(p, "--seed", type=_int_at_least(0, "seed"))
    _option(p, "--steps", type=_int_at_least(1, "steps"), help="the days the class plays")
    _option(p, "--engine", choices=ENGINES)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set population.size=60 (repeatable)")
    p.add_argument("--round-seconds", type=_int_at_least(5, high=3600), default=45, metavar="S",
                   help="seconds a round waits for answers, 5 to 3600 (default 45); the teacher can play the "
                        "day sooner")
    p.add_argument("--days-per-round", type=_int_at_least(1, high=7), default=1, metavar="D",
                   help="days each round plays, 1 to 7 (default 1); the students' answers hold for each of "
                        "them, a check-in is made on the first")
    p.add_argument("--host", default="0.0.0.0", metavar="H",
                   help="address to listen on (default 0.0.0.0: phones on the same network can join)")
    p.add_argument("--port", type=_int_at_least(1, high=65535), default=8766, metavar="P",
                   help="port, 1 to 65535 (default 8766)")
    p.set_defaults(func=cmd_classroom)

    p = sub.add_parser("replay", help="run a recorded session again with its people's decisions",
                       description="Replay a decision log (a classroom session: the scenario, then every person's "
                                   "decisions, as JSON lines): the same run, bit for bit; write metrics, members, "
                                   "the log and manifest.json (default folder: results/replay/<scenario name>/).")
    p.add_argument("log", metavar="LOG", help="the session's decision log (decisions.jsonl)")
    _option(p, "--out")
    _option(p, "--quiet")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("docs", help="write the figures the README, the docs and the Info files quote from runs",
                       description="Rerun what every marked figure block of README.md, docs/*.md and "
                                   "scenarios/info/*.md reports and rewrite the blocks (the cheap ones; an "
                                   "expensive one with --only NAME); every block's hash is checked. Exit code 2 "
                                   "when a block is stale or was edited by hand.")
    p.add_argument("--check", action="store_true", help="write nothing; exit 2 naming each stale block")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="only this block (repeatable); the only way to rerun an expensive block")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("schema", help="print the JSON Schema of a scenario",
                       description="Print the JSON Schema of a scenario file (every key, its type, range, default "
                                   "and meaning, and extends) on stdout, for editors and validators.")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("scenarios", help="list the shipped scenarios",
                       description="List the scenarios shipped in scenarios/, each with the first sentence of its "
                                   "description; give a name to run, compare or trial.")
    p.set_defaults(func=cmd_scenarios)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mutualaid`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get(DEBUG_ENV))
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # --help, --version
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        args.argv = argv
        if getattr(args, "threads", None):
            import numba

            from sim.api import set_threads
            from sim.limits import cap, cores

            n, why = cap("--threads", args.threads, min(cores(), numba.config.NUMBA_NUM_THREADS))
            _notice(args, why)
            set_threads(n)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mutualaid schema | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except Exception as e:
        if isinstance(e, _bad_input()):
            if debug:
                traceback.print_exc()
            _error(str(e))
            return 2
        from sim.output import StorageError, is_storage_error, storage_error

        if is_storage_error(e):  # a full disk, a failing file system: the machine, not the input
            if debug:
                traceback.print_exc()
            if not isinstance(e, StorageError):
                e = storage_error(e, "the files written before it are as they were")
            _error(_one_line(e.strerror))
            return 1
        if debug:
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(e).__name__}: {_one_line(e)} "
              f"(rerun with {DEBUG_ENV}=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
