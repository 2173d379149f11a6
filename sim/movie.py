"""Keep what you show: a run as an animated GIF or an MP4, frame by frame as the dashboard draws it.

>>> from sim.movie import movie_bytes
>>> gif = movie_bytes("kropotkin", "gif", until=20, every=5)       # doctest: +SKIP
>>> open("kropotkin.gif", "wb").write(gif)                          # doctest: +SKIP

From the command line: ``mutualaid run kropotkin --movie kropotkin.mp4``.

Each frame (default 1280 x 720, or ``size=(1920, 1080)``) holds a title bar
(scenario name; the settings changed from the scenario file; the seed;
"day N of M"), the population picture of :mod:`sim.draw` (the same pixels
the page shows: the lattice, or the network on its day-0 layout) placed
unscaled in the middle, a small legend, and a one-line readout (share of
helpers, share using, relapses per 100 members so far).

GIFs are written with Pillow (every frame on one 256-colour palette of the
picture's colours, :func:`gif_palette`, no dithering; loops forever); MP4s
with imageio's ffmpeg plugin (the ffmpeg binary shipped in the
``imageio-ffmpeg`` wheel; H.264, yuv420p, so they play in browsers,
PowerPoint and Keynote). The run is deterministic given the seed: the same
call gives the same GIF bytes.

Why Pillow and not imageio's pillow plugin for GIFs: that plugin keeps every
frame as a full RGB image until the file is closed (184 frames at 720p are
0.5 GB, 600 at 1080p 3.7 GB); quantising each frame as it is drawn keeps a
third of that (W x H bytes a frame: 0.9 MB at 720p, 2 MB at 1080p). An MP4
streams to ffmpeg and holds one frame at a time.

A 365-day run of ``kropotkin`` (900 members) filmed every 2 days, 184 frames
at 720p: about 13 s with ``--movie k.mp4`` (1.7 MB) against 4.5 s without a
movie, and 9 s with ``--movie k.gif`` (4.0 MB), on a busy two-core machine
(``time mutualaid run kropotkin --movie k.mp4``).
"""

# Deferred imports (inside the functions that need them):
# - imageio, imageio_ffmpeg: only writing an MP4 needs them (a GIF does not), and ffmpeg_exe reports a
#   missing one with the package to install.

from __future__ import annotations

import collections
import functools
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sim.core.scenarios import ScenarioError, load_scenario
from sim.core.schema import Scenario
from sim.draw import (
    COMPETE_RGB, DARK_RGB, HELP_RGB, MARK_RGB, USING_RGB, lattice_image, network_image, network_positions,
)
from sim.engines import make_model, resolve_engine

#: the formats a movie can be written in (file suffix without the dot)
FORMATS = ("gif", "mp4")
#: named frame sizes (width, height); any even width and height of at least 320 x 180 with width >= 1.5 height
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
DEFAULT_SIZE = SIZES["720p"]
#: most frames in one movie; a longer run is shown every few days (``every`` is raised to fit)
MAX_FRAMES = 600
#: frames per second allowed (a GIF cannot show more than 50: its delays are in hundredths of a second)
MAX_FPS = 50.0
DEFAULT_FPS = 10.0
#: frames a default CLI movie aims at: a 365-day run every 2 days, 184 frames, 18 s at 10 fps
TARGET_FRAMES = 200
#: most members of a network movie (the layout and the per-node drawing grow with it; lattices have no limit)
MAX_NETWORK_MEMBERS = 5_000
#: H.264 constant-rate factor (lower is better; 18 looks lossless for these flat pictures)
MP4_CRF = 18

TITLE_BG = (33, 41, 54)
TITLE_FG = (255, 255, 255)
TITLE_DIM = (196, 205, 220)
TEXT_RGB = (40, 40, 48)
BACKGROUND = (255, 255, 255)
RULE_RGB = (215, 215, 222)


# ----------------------------------------------------------------------------- checks


def movie_format(path_or_format: str | os.PathLike) -> str:
    """``"gif"`` or ``"mp4"`` from a format name or a file name's suffix; ScenarioError otherwise."""
    text = str(path_or_format)
    low = text.lower().lstrip(".")
    if low in FORMATS:
        return low
    suffix = Path(text).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise ScenarioError(f"movie {text!r}: expected a file name ending in .gif or .mp4 (or the format gif or mp4)")


def check_size(size) -> tuple[int, int]:
    """``(width, height)`` from a pair or a name in :data:`SIZES`; both even (H.264 yuv420p needs it)."""
    if isinstance(size, str):
        if size not in SIZES:
            raise ScenarioError(f"movie size {size!r}: expected one of {', '.join(SIZES)} or (width, height)")
        return SIZES[size]
    try:
        w, h = (int(v) for v in size)
        ok = all(float(v) == int(v) and not isinstance(v, bool) for v in size)
    except (TypeError, ValueError):
        ok = False
    if not ok or w % 2 or h % 2 or h < 180 or w < 320 or w < 1.5 * h or w > 7680 or h > 4320:
        raise ScenarioError(f"movie size {size!r}: expected (width, height), both even, at least 320 x 180, "
                            f"width at least 1.5 x height, e.g. {SIZES['720p']} or {SIZES['1080p']}")
    return w, h


def check_fps(fps) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(fps)) or not 0 < float(fps) <= MAX_FPS:
        raise ScenarioError(f"movie fps {fps!r}: expected a number of frames per second > 0 and <= {MAX_FPS:g}")
    return float(fps)


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ScenarioError(f"movie {name} = {value!r}: expected an integer >= {low}")
    return int(value)


def check_scenario(sc: Scenario) -> None:
    """Refuse a network too large to draw per frame (lattices of any size are fine)."""
    if sc.network.kind != "lattice" and sc.population.size > MAX_NETWORK_MEMBERS:
        raise ScenarioError(f"movie: a {sc.network.kind} network of {sc.population.size:,} members is too large "
                            f"to draw (at most {MAX_NETWORK_MEMBERS:,}; a lattice of any size can be filmed)")


def default_every(days: int, target: int = TARGET_FRAMES) -> int:
    """Days per frame for a movie of about ``target`` frames: 2 for a 365-day run, 1 up to 200 days."""
    return max(1, math.ceil(int(days) / target))


def movie_days(until: int, every: int = 1, max_frames: int = MAX_FRAMES) -> list[int]:
    """The days shown: 0, ``every``, 2 ``every``, ... and the last day ``until``.

    When that would be more than ``max_frames`` frames, ``every`` is raised to the
    smallest value that fits (so a long run is shown every few days, never cut short).
    """
    until = _check_int("until", until, 0)
    every = _check_int("every", every, 1)
    max_frames = _check_int("max_frames", max_frames, 2)
    if math.ceil(until / every) + 1 > max_frames:
        every = math.ceil(until / (max_frames - 1))
    days = list(range(0, until + 1, every))
    if days[-1] != until:
        days.append(until)
    return days


# ----------------------------------------------------------------------------- text


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def changed_text(changed: Mapping[str, Any] | None) -> str:
    """``"checkins.enabled=false, game.T=1.9"`` (YAML spelling of values, in the given order)."""
    return ", ".join(f"{k}={_value_text(v)}" for k, v in (changed or {}).items())


def title_lines(name: str, seed: int, changed: Mapping[str, Any] | None, day: int, days: int) -> tuple[str, str, str]:
    """The title bar's three texts: (scenario name, ``"seed 42 · <changed settings>"``, ``"day N of M"``)."""
    settings = changed_text(changed) or "as in the scenario file"
    return name, f"seed {int(seed)}  \u00b7  {settings}", f"day {int(day)} of {int(days)}"


def readout_text(metrics_row: Mapping[str, Any], relapses_so_far: float, members: int,
                 psychology: bool = True) -> str:
    """``"helpers 63%   using 2.1%   relapses so far 4.2 per 100 members"``."""
    helpers = f"helpers {100 * float(metrics_row['helpers']):.0f}%"
    if not psychology:
        return f"{helpers}   (psychology off: no stress, use or relapse)"
    per100 = 100.0 * float(relapses_so_far) / max(1, int(members))
    return (f"{helpers}   using {100 * float(metrics_row['using']):.1f}%   "
            f"relapses so far {per100:.1f} per 100 members")


@functools.lru_cache(maxsize=16)
def font(px: int):
    """Pillow's built-in font at ``px`` pixels (FreeType, Pillow >= 10.1); the bitmap font without FreeType."""
    try:
        return ImageFont.load_default(size=max(6, int(px)))
    except (TypeError, ImportError, OSError):  # pragma: no cover - old Pillow or no FreeType
        return ImageFont.load_default()


def _fit(draw, text: str, fnt, width: float) -> str:
    """``text``, cut with an ellipsis to at most ``width`` pixels."""
    if draw.textlength(text, font=fnt) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=fnt) > width:
        text = text[:-1]
    return text.rstrip(" ,\u00b7") + "\u2026"


# ----------------------------------------------------------------------------- layout


class Layout:
    """Where things go in a frame of ``size`` (all in pixels; scaled from the 1280 x 720 design).

    ``box`` is the square ``(x, y, side)`` the population picture is centred in;
    :meth:`origin` gives a picture's top-left corner.
    """

    def __init__(self, size=DEFAULT_SIZE):
        self.width, self.height = check_size(size)
        k = self.height / 720.0
        self.k = k
        self.pad = round(12 * k)
        self.title_h = round(78 * k)
        self.readout_h = round(50 * k)
        side = self.height - self.title_h - self.readout_h - 2 * self.pad
        legend_w = round(300 * k)
        x = min((self.width - side) // 2, self.width - side - legend_w - 2 * self.pad)
        self.box = (max(self.pad, x), self.title_h + self.pad, side)
        self.legend_x = self.box[0] + side + 2 * self.pad

    @property
    def side(self) -> int:
        return self.box[2]

    def origin(self, pic_size: tuple[int, int]) -> tuple[int, int]:
        """Top-left corner of a picture of ``(w, h)`` pixels centred in the box."""
        x, y, side = self.box
        return x + (side - pic_size[0]) // 2, y + (side - pic_size[1]) // 2


# ----------------------------------------------------------------------------- frames


class FrameDrawer:
    """Draws the frames of one run: ``drawer.frame(model)`` for the model's current day.

    Parameters
    ----------
    sc : the scenario being run (name, seed, size, network kind).
    graph : the model's day-0 graph (``model.graph``): lattice shape, or the network laid out once.
    changed : settings that differ from the scenario file, shown in the title.
    days : the run's last day, the M of "day N of M".
    size : (width, height) of a frame.
    """

    def __init__(self, sc: Scenario, graph, *, changed: Mapping[str, Any] | None = None, days: int | None = None,
                 size=DEFAULT_SIZE):
        self.sc = sc
        self.changed = dict(changed or {})
        self.days = sc.steps if days is None else int(days)
        self.layout = Layout(size)
        self.lattice = (graph.width, graph.height) if sc.network.kind == "lattice" else None
        self.pos = None if self.lattice else network_positions(graph, sc.seed)
        self._base = self._background()

    # -- the parts that are the same in every frame
    def _background(self):
        lay = self.layout
        img = Image.new("RGB", (lay.width, lay.height), BACKGROUND)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, lay.width, lay.title_h - 1), fill=TITLE_BG)
        self._legend(draw)
        y = lay.height - lay.readout_h
        draw.line((lay.pad, y, lay.width - lay.pad, y), fill=RULE_RGB, width=max(1, round(lay.k)))
        return img

    def _legend(self, draw) -> None:
        lay, k = self.layout, self.layout.k
        fnt = font(round(18 * k))
        sw = round(20 * k)
        x, y = lay.legend_x, lay.box[1] + round(8 * k)
        room = lay.width - x - lay.pad - sw - round(10 * k)
        rgb = lambda a: tuple(int(c) for c in a)  # noqa: E731
        rows: list[tuple[Any, str]] = [(rgb(HELP_RGB), "helps (mutual aid)"), (rgb(COMPETE_RGB), "competes")]
        if self.sc.psychology.enabled:
            rows += [("stress", "darker = more stress"), (rgb(USING_RGB), "using (in a lapse)")]
        if self.lattice is None:
            rows += [("tie", "line = tie, darker = stronger")]
            if self.sc.psychology.enabled:
                rows += [("dots", "bigger dot = more stress")]
        for swatch, label in rows:
            if swatch == "stress":  # help and compete, from no stress to full stress
                for j, base in enumerate((HELP_RGB, COMPETE_RGB)):
                    for i in range(sw):
                        c = base * (1 - 0.65 * i / (sw - 1)) + DARK_RGB * (0.65 * i / (sw - 1))
                        y0 = y + j * sw // 2
                        draw.line((x + i, y0, x + i, y0 + sw // 2 - 1), fill=rgb(c))
            elif swatch == "tie":
                draw.line((x, y + sw * 0.75, x + sw - 1, y + sw * 0.25), fill=(75, 75, 85),
                          width=max(2, round(2 * k)))
            elif swatch == "dots":
                r1, r2 = 2.5 * k, 7.0 * k
                c = rgb(HELP_RGB * 0.7 + DARK_RGB * 0.3)
                draw.ellipse((x, y + sw / 2 - r1, x + 2 * r1, y + sw / 2 + r1), fill=c)
                draw.ellipse((x + sw - 2 * r2, y + sw / 2 - r2, x + sw, y + sw / 2 + r2), fill=c)
            else:
                draw.rectangle((x, y, x + sw - 1, y + sw - 1), fill=swatch)
            draw.text((x + sw + round(10 * k), y + sw / 2), _fit(draw, label, fnt, room), font=fnt,
                      fill=TEXT_RGB, anchor="lm")
            y += round(32 * k)

    # -- the parts that change
    def picture(self, model):
        """The population picture of :mod:`sim.draw` at the model's current day (a PIL image)."""
        st = model.state_arrays()
        side = self.layout.side
        if self.lattice is not None:
            img = lattice_image(st, *self.lattice, target=side)
            if img.width > side or img.height > side:  # a lattice of more members than pixels: averaged
                f = side / max(img.width, img.height)
                img = img.resize((max(1, int(img.width * f)), max(1, int(img.height * f))), Image.Resampling.BOX)
            return img
        return network_image(st, model.tie_arrays(), self.pos, size_px=side)

    def frame(self, model) -> np.ndarray:
        """The frame for the model's current day: (height, width, 3) uint8."""
        lay, k, sc = self.layout, self.layout.k, self.sc
        img = self._base.copy()
        pic = self.picture(model)
        img.paste(pic, lay.origin(pic.size))
        draw = ImageDraw.Draw(img)
        day = int(model.steps)
        name, details, when = title_lines(sc.name, sc.seed, self.changed, day, self.days)
        big, small = font(round(30 * k)), font(round(19 * k))
        x0, right = 2 * lay.pad, lay.width - 2 * lay.pad
        when_w = draw.textlength(when, font=big)
        draw.text((right, round(24 * k)), when, font=big, fill=TITLE_FG, anchor="rm")
        draw.text((x0, round(24 * k)), _fit(draw, name, big, right - x0 - when_w - 3 * lay.pad), font=big,
                  fill=TITLE_FG, anchor="lm")
        draw.text((x0, round(58 * k)), _fit(draw, details, small, right - x0), font=small, fill=TITLE_DIM,
                  anchor="lm")
        latest, relapses = latest_metrics(model)
        text = readout_text(latest, relapses, sc.population.size, sc.psychology.enabled)
        draw.text((lay.width / 2, lay.height - lay.readout_h / 2), _fit(draw, text, font(round(21 * k)),
                  lay.width - 2 * lay.pad), font=font(round(21 * k)), fill=TEXT_RGB, anchor="mm")
        return np.asarray(img, dtype=np.uint8).copy()


def latest_metrics(model) -> tuple[dict, float]:
    """Today's metrics row of ``model`` (as a dict) and the relapses since day 0.

    The same numbers as ``model.metrics_frame()``, without building the table every frame (that
    was half the time of a movie): read from the kernel's rows or Mesa's DataCollector, else the table.
    """
    rows = getattr(model, "rows", None)  # KernelModel: one dict per day, day 0 first
    if isinstance(rows, list) and rows and isinstance(rows[-1], Mapping):
        return dict(rows[-1]), float(sum(r["relapses"] for r in rows))
    cols = getattr(getattr(model, "datacollector", None), "model_vars", None)  # Mesa: column -> list
    if isinstance(cols, Mapping) and cols.get("relapses"):
        return {k: v[-1] for k, v in cols.items() if v}, float(sum(cols["relapses"]))
    df = model.metrics_frame()
    return df.iloc[-1].to_dict(), float(df["relapses"].sum())


def _scenario(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario, via="sim.movie")


def record_frames(scenario, *, changed: Mapping[str, Any] | None = None, engine: str = "kernel", every: int = 1,
                  until: int | None = None, size=DEFAULT_SIZE) -> Iterator[np.ndarray]:
    """Run ``scenario`` from day 0 and yield its frames: day 0, every ``every`` days, and day ``until``.

    Parameters
    ----------
    scenario : a Scenario, a name in ``scenarios/``, a YAML path or a mapping (:func:`load_scenario`).
    changed : settings that differ from the scenario file, ``{"game.T": 1.9}``, listed in the title.
        Nothing is inferred: pass what the user changed.
    engine : "kernel" (default) or "agents": the same bits either way.
    every : days per frame. At most :data:`MAX_FRAMES` (600) frames are made: for a longer run
        ``every`` is raised to the smallest value that fits (:func:`movie_days`).
    until : the last day shown (default the scenario's ``steps``, at most that).
    size : (width, height), both even; default 1280 x 720, ``(1920, 1080)`` or ``"1080p"`` for full HD.

    Yields
    ------
    numpy.ndarray of shape (height, width, 3), dtype uint8, one per day shown. The arguments are
    checked when this is called, the model built and run as the frames are taken.
    """
    sc = _scenario(scenario)
    check_scenario(sc)
    until = sc.steps if until is None else _check_int("until", until, 0)
    if until > sc.steps:
        raise ScenarioError(f"movie until = {until}: the scenario runs {sc.steps} days")
    days = movie_days(until, every)
    size = check_size(size)
    used = resolve_engine(sc, engine)

    def frames() -> Iterator[np.ndarray]:
        model = make_model(sc, used)
        drawer = FrameDrawer(sc, model.graph, changed=changed, days=sc.steps, size=size)  # "day 70 of 365"
        wanted = set(days)
        yield drawer.frame(model)
        for t in range(1, until + 1):
            model.step()
            if t in wanted:
                yield drawer.frame(model)

    return frames()


class Recorder:
    """Films a run as it goes: pass it as ``watch`` to :func:`sim.api.run` (``mutualaid run --movie``).

    >>> rec = Recorder(sc, "run.mp4", changed={"game.T": 1.9}, every=2)   # doctest: +SKIP
    >>> result = sim.run(sc, watch=rec); rec.close()                      # doctest: +SKIP

    The frames are those of the very run whose metrics are written: day 0, every ``every`` days
    (raised to fit :data:`MAX_FRAMES`) and the last day. ``target`` as for :class:`MovieWriter`;
    ``fmt`` defaults to the target's suffix.
    """

    def __init__(self, sc: Scenario, target, *, fmt: str | None = None, changed: Mapping[str, Any] | None = None,
                 every: int | None = None, fps: float = DEFAULT_FPS, size=DEFAULT_SIZE):
        check_scenario(sc)
        self.sc = sc
        self.changed = dict(changed or {})
        self.size = check_size(size)
        self.days = movie_days(sc.steps, default_every(sc.steps) if every is None else every)
        self.every = self.days[1] - self.days[0] if len(self.days) > 1 else 1
        self._wanted = set(self.days)
        self.writer = MovieWriter(target, movie_format(target) if fmt is None else fmt, fps)
        self._drawer: FrameDrawer | None = None

    @property
    def frames(self) -> int:
        return self.writer.count

    def __call__(self, model) -> None:
        if self._drawer is None:
            self._drawer = FrameDrawer(self.sc, model.graph, changed=self.changed, days=self.sc.steps,
                                       size=self.size)
        if int(model.steps) in self._wanted:
            self.writer.append(self._drawer.frame(model))

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


# ----------------------------------------------------------------------------- files


def ffmpeg_exe() -> str:
    """The ffmpeg binary of ``imageio-ffmpeg`` (shipped in its wheel); ScenarioError when missing."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise ScenarioError(f"movie: MP4 needs imageio-ffmpeg and its ffmpeg binary ({_one(e)}); "
                            f"pip install imageio imageio-ffmpeg") from None


def _one(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


@functools.lru_cache(maxsize=1)
def gif_palette():
    """The one palette of every GIF frame (a Pillow "P" image): the colours :mod:`sim.draw` and the
    frame use.

    Members' colours are two ramps (help and compete, from no stress to full stress, 96 steps each)
    and crimson; then the frame's own colours, greys for text edges and the network's ties. One
    palette for all frames lets a frame store only what changed since the one before (unchanged
    pixels are transparent): about half the size of per-frame palettes, and 20x faster to quantise.
    """
    cols: list = []
    for base in (HELP_RGB, COMPETE_RGB):
        cols += [base * (1 - k) + DARK_RGB * k for k in np.linspace(0, 0.65, 96)]
    cols += [USING_RGB, BACKGROUND, TITLE_BG, TITLE_DIM, TEXT_RGB, RULE_RGB, MARK_RGB]
    white = np.array(BACKGROUND, dtype=float)
    cols += [np.array(TITLE_BG) * (1 - t) + white * t for t in np.linspace(0, 1, 20)[1:-1]]
    cols += [np.array(TEXT_RGB) * (1 - t) + white * t for t in np.linspace(0, 1, 16)[1:-1]]
    cols += [(s, s, s + 10) for s in np.linspace(75, 225, 20)]  # ties: sim.draw.network_image's greys
    rgb = np.clip(np.round(np.array(cols, dtype=float)), 0, 255).astype(np.uint8)
    assert len(rgb) <= 256
    flat = np.zeros(768, dtype=np.uint8)
    flat[:rgb.size] = rgb.ravel()
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat.tolist())
    return pal


class MovieWriter:
    """Frames in, one movie file out; ``with MovieWriter(path, "mp4", fps=10) as w: w.append(frame)``.

    ``target`` is a path or a binary file object (GIF only: an MP4 needs a seekable file that
    ffmpeg opens itself). The file is complete when the block ends without an error.
    """

    def __init__(self, target, fmt: str, fps: float = DEFAULT_FPS):
        self.fmt = movie_format(fmt)
        self.fps = check_fps(fps)
        self.target = target
        self.count = 0
        self.size: tuple[int, int] | None = None
        self._gif: collections.deque = collections.deque()
        self._mp4 = None
        if self.fmt == "mp4":
            if not isinstance(target, (str, os.PathLike)):
                raise TypeError("MovieWriter: an MP4 is written to a path")
            ffmpeg_exe()

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"movie frame: expected (height, width, 3) uint8, got {frame.shape} {frame.dtype}")
        h, w = frame.shape[:2]
        if self.size is None:
            if self.fmt == "mp4" and (w % 2 or h % 2):
                raise ValueError(f"movie frame {w} x {h}: an MP4 (H.264, yuv420p) needs even width and height")
            self.size = (w, h)
        elif (w, h) != self.size:
            raise ValueError(f"movie frame {w} x {h}: every frame must be {self.size[0]} x {self.size[1]}")
        if self.fmt == "gif":
            img = Image.fromarray(np.ascontiguousarray(frame), "RGB")
            self._gif.append(img.quantize(palette=gif_palette(), dither=Image.Dither.NONE))
        else:
            if self._mp4 is None:
                import imageio.v2 as iio

                self._mp4 = iio.get_writer(
                    os.fspath(self.target), format="FFMPEG", mode="I", fps=self.fps, codec="libx264",
                    pixelformat="yuv420p", quality=None, macro_block_size=2,  # even sizes: never rescaled
                    output_params=["-crf", str(MP4_CRF), "-preset", "veryfast", "-tune", "animation",
                                   "-movflags", "+faststart"],
                    ffmpeg_log_level="error")
            self._mp4.append_data(frame)
        self.count += 1

    def close(self) -> None:
        if self.count == 0:
            raise ValueError("movie: no frames")
        if self.fmt == "gif":
            frames, self._gif = self._gif, collections.deque()

            def rest():  # handed over one by one: Pillow keeps its own (delta) copy of each
                while frames:
                    yield frames.popleft()

            first = frames.popleft()
            first.save(self.target, format="GIF", save_all=True, append_images=rest(), loop=0,
                       duration=round(1000 / self.fps), optimize=True)
        elif self._mp4 is not None:
            w, self._mp4 = self._mp4, None
            w.close()

    def abort(self) -> None:
        self._gif.clear()
        if self._mp4 is not None:
            w, self._mp4 = self._mp4, None
            try:
                w.close()
            except Exception:  # pragma: no cover - already failing
                pass

    def __enter__(self) -> "MovieWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_movie(frames: Iterable[np.ndarray], path_or_format: str | os.PathLike, fps: float = DEFAULT_FPS):
    """Write ``frames`` as a GIF or MP4.

    ``path_or_format`` is a file path (its suffix, ``.gif`` or ``.mp4``, picks the format; returns the
    Path) or the format itself, ``"gif"`` or ``"mp4"`` (returns the file's bytes).
    A GIF loops forever; an MP4 is H.264, yuv420p, ``fps`` frames per second.
    """
    fmt = movie_format(path_or_format)
    fps = check_fps(fps)
    as_bytes = str(path_or_format).lower().lstrip(".") in FORMATS
    if not as_bytes:
        path = Path(path_or_format)
        with MovieWriter(path, fmt, fps) as w:
            for f in frames:
                w.append(f)
        return path
    if fmt == "gif":
        buf = io.BytesIO()
        with MovieWriter(buf, fmt, fps) as w:
            for f in frames:
                w.append(f)
        return buf.getvalue()
    with tempfile.TemporaryDirectory(prefix="mutualaid-movie-") as tmp:
        path = Path(tmp) / "movie.mp4"
        with MovieWriter(path, fmt, fps) as w:
            for f in frames:
                w.append(f)
        return path.read_bytes()


def movie_bytes(scenario, fmt: str, *, changed: Mapping[str, Any] | None = None, until: int | None = None,
                every: int = 1, fps: float = DEFAULT_FPS, size=DEFAULT_SIZE, engine: str = "kernel") -> bytes:
    """A run from day 0 to ``until`` as GIF or MP4 bytes (the dashboard's download buttons).

    The run is deterministic given the scenario (seed included), so rerunning a page's scenario up to
    its current day films what the page showed. Arguments as :func:`record_frames`.
    """
    fmt = movie_format(fmt)
    fps = check_fps(fps)
    return write_movie(record_frames(scenario, changed=changed, engine=engine, every=every, until=until,
                                     size=size), fmt, fps)
