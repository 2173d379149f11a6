"""The dashboard's pictures: the population (from :mod:`sim.draw`), the live curves (PIL, every frame)
and the matplotlib figures (exports, a member's history, the Compare and Results views), as PNG bytes;
with the tables a figure is drawn from."""

# Deferred imports (inside the functions that need them):
# - scipy.stats: about a second to import, needed only by the Compare and Results views' bands, so the
#   Explore view's first frame does not wait for it.

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from sim.core.schema import Scenario
from sim.draw import png_bytes


# ----------------------------------------------------------------------------- drawing


def fig_png(fig, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _figure(w: float, h: float, constrained: bool = True):
    return Figure(figsize=(w, h), layout="constrained" if constrained else None)


#: the live curves (CONTRACT.md metrics): (column, label, colour, needs psychology)
SHARE_CURVES = (("helpers", "helpers", "tab:blue", False), ("mean_stress", "mean stress", "tab:purple", True),
                ("mean_craving", "mean craving", "tab:brown", True), ("using", "using", "crimson", True))
#: hi-resolution exports (``hi_res=True``): at least this many pixels across, for slides
HI_RES_PX = 1600


def closure_window(sc: Scenario) -> tuple[int, int] | None:
    """Days [start, end) on which meetings are closed (ODD 7.1), None if none close in this run."""
    iso = sc.isolation
    if not (sc.psychology.enabled and iso.enabled and iso.share > 0 and iso.duration > 0):
        return None
    if iso.start > sc.steps:
        return None
    return int(iso.start), int(min(iso.start + iso.duration, sc.steps + 1))


def revision_days(sc: Scenario, upto: int | None = None) -> np.ndarray:
    """Days on which strategies are revised (ODD 7.10: ``day > 0 and day % evolution.interval == 0``)."""
    if not sc.evolution.enabled:
        return np.zeros(0, dtype=int)
    end = sc.steps if upto is None else upto
    return np.arange(sc.evolution.interval, end + 1, sc.evolution.interval)


def _col(df, col: str) -> np.ndarray:
    """A column of a metrics table or of a mapping of arrays, as floats."""
    v = df[col]
    return v.to_numpy(float) if hasattr(v, "to_numpy") else np.asarray(v, dtype=float)


def per_100(df, col: str, members: int) -> np.ndarray:
    """Running total of a daily count per 100 members (day 0 counts nothing: it is the initial state)."""
    x = _col(df, col).copy()
    if x.size:
        x[0] = 0.0
    return np.cumsum(x) * 100.0 / max(members, 1)


@dataclass
class Curve:
    panel: int  # 0: shares (0..1), 1: running totals per 100 members
    label: str
    color: str
    y: np.ndarray
    dashed: bool = False


def curve_series(df, sc: Scenario) -> tuple[np.ndarray, list[Curve]]:
    """What the curves show (the one definition both the live PNG and the export draw): helpers, and
    stress, craving and using only when psychology is on; relapses (psychology) and dropouts (turnover,
    each replaced by a newcomer) as running totals per 100 members."""
    x = _col(df, "step")
    psych = sc.psychology.enabled
    out = [Curve(0, label, color, _col(df, col)) for col, label, color, needs in SHARE_CURVES if psych or not needs]
    if psych:
        out.append(Curve(1, "relapses so far", "crimson", per_100(df, "relapses", sc.population.size)))
    if sc.turnover.enabled:
        out.append(Curve(1, "dropouts so far (each replaced by a newcomer)", "0.3",
                         per_100(df, "dropouts", sc.population.size), dashed=True))
    return x, out


def curves_png(df, sc: Scenario, title: str = "", hi_res: bool = False) -> bytes:
    """:func:`curves_figure` as PNG bytes (72 dpi; at least HI_RES_PX across with ``hi_res``)."""
    fig = curves_figure(df, sc, title, hi_res)
    return fig_png(fig, dpi=int(math.ceil(HI_RES_PX / fig.get_figwidth())) if hi_res else 72)


def curves_figure(df, sc: Scenario, title: str = "", hi_res: bool = False):
    """The curves with matplotlib (exports): shares above, running totals per 100 members below; closed
    meetings shaded, revision days ticked; drawn from day 0 (a single day shows as dots)."""
    w, h = (10.0, 6.25) if hi_res else (6.0, 4.0)
    fig = _figure(w, h, constrained=False)  # a fixed layout: constrained layout would double the cost
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95 if not title else 0.9, bottom=0.12, hspace=0.12)
    x, curves = curve_series(df, sc)
    if any(c.panel == 1 for c in curves):
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    else:  # nothing counted per 100 members (psychology and turnover off): no empty panel
        ax1 = fig.subplots(1, 1)
        ax2 = None
    style = {"lw": 1.6, "marker": "o" if x.size <= 2 else None, "ms": 4}
    for c in curves:
        (ax1, ax2)[c.panel].plot(x, c.y, label=c.label, color=c.color, ls="--" if c.dashed else "-", **style)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("share / level")
    win = closure_window(sc)
    for ax in (ax1,) if ax2 is None else (ax1, ax2):
        if win:
            ax.axvspan(win[0], win[1], color="0.6", alpha=0.18, lw=0,
                       label="meetings closed" if ax is ax1 else None)
        ax.grid(alpha=0.3)
    rev = revision_days(sc, int(x.max()) if x.size else 0)
    if rev.size and rev.size <= 120:
        ax1.plot(rev, np.full(rev.size, -0.005), "|", color="0.35", ms=6,
                 label=f"revision day (every {sc.evolution.interval})")
    ax1.legend(loc="upper right", fontsize="small", ncol=2)
    if title:
        ax1.set_title(title, fontsize="medium")
    if ax2 is not None:
        ax2.legend(loc="upper left", fontsize="small")
        ax2.set_ylabel("per 100 members")
        ax2.set_ylim(bottom=0)
    (ax1 if ax2 is None else ax2).set_xlabel("day")
    ax1.set_xlim(0, max(sc.steps, int(x.max()) if x.size else 1))
    return fig


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(round(255 * v)) for v in to_rgb(color))


def _nice_ticks(hi: float, n: int = 4) -> np.ndarray:
    if hi <= 0:
        return np.array([0.0])
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(0, hi + step * 0.01, step)


def _tick_label(t: float) -> str:
    """An axis tick as a person reads it: 0.2, 40, 12,500 (never 1e+06)."""
    return f"{t:,.0f}" if abs(t) >= 1000 else f"{t:g}"


#: the shade of closed meetings on the live curves (slightly blue, so no grey of text or grid matches it)
CLOSED_RGB = (226, 226, 240)


def _legend_rows(d, font, head: str, items, width: float, font_px: int = 12) -> list[list]:
    """Legend items wrapped into rows no wider than ``width`` (the first row starts with ``head``)."""
    rows, row, used = [], [], d.textlength(head, font=font) + 8
    split = []
    for lab, col in items:  # a label longer than a row goes on in words without a swatch (colour None)
        words, piece = lab.split(" "), ""
        for w in words:
            cand = f"{piece} {w}".strip()
            if piece and d.textlength(cand, font=font) + 2 * font_px > width:
                split.append((piece, col))
                piece, col = w, None
            else:
                piece = cand
        split.append((piece, col))
    for lab, col in split:
        wdt = d.textlength(lab, font=font) + 2 * font_px
        if row and used + wdt > width:
            rows.append(row)
            row, used = [], 0
        row.append((lab, col, wdt))
        used += wdt
    rows.append(row)
    return rows


#: the live curves' size in pixels and their text's height (font size, pixels) by page mode: the page shows
#: them at exactly this size (CSS pixels), so text on a projector is as tall as drawn
CURVES_PX: dict[str, tuple[tuple[int, int], int]] = {"normal": ((600, 400), 13), "present": ((520, 420), 20)}


def live_curves_png(df, sc: Scenario, size: tuple[int, int] = (600, 400), font_px: int = 12) -> bytes:
    """The curves of :func:`curve_series` drawn with PIL while a run plays: a few milliseconds a frame
    where matplotlib takes a quarter of a second, so the page keeps its frame rate. Same content as the
    export: shares above, running totals per 100 members below, closures shaded, revision days ticked,
    legends above each panel, axes with ticks; day 0 alone shows as dots."""
    W, H = size
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=font_px)
    except TypeError:  # pragma: no cover - Pillow < 10.1
        font = ImageFont.load_default()
    x, curves = curve_series(df, sc)
    win = closure_window(sc)
    rev = revision_days(sc, int(x.max()) if x.size else 0)
    ticks_rev = bool(rev.size and rev.size <= 120)
    lower = [c for c in curves if c.panel == 1]
    items0 = [(c.label, _rgb(c.color)) for c in curves if c.panel == 0]
    if win:
        items0.append(("meetings closed", CLOSED_RGB))
    if ticks_rev:
        items0.append((f"revision day (every {sc.evolution.interval})", (90, 90, 90)))
    items1 = [(c.label, _rgb(c.color)) for c in lower]
    ymax1 = max([float(c.y.max()) for c in lower if c.y.size] + [0.05]) * 1.05
    # the left margin fits the widest tick label (running totals per 100 members reach five digits and more)
    labels1 = [_tick_label(t) for t in _nice_ticks(ymax1 / 1.05)]
    labels0 = ["0.8"]
    left = max(int(3.6 * font_px), int(max(d.textlength(s, font=font) for s in labels1 + labels0)) + 12)
    right = W - 12
    heads = ("share / level:", "per 100 members:")
    legends = [_legend_rows(d, font, h, it, right - left - 8, font_px) if it else []
               for h, it in zip(heads, (items0, items1))]
    row_h = font_px + 4
    top0 = 4 + row_h * len(legends[0])
    bottom = H - (2 * font_px + 10)
    if lower:
        room = bottom - top0 - row_h * len(legends[1]) - 8
        h1 = int(room * 2 / 3)
        top1 = top0 + h1 + 8 + row_h * len(legends[1])
        boxes = [(left, top0, right, top0 + h1), (left, top1, right, bottom)]
    else:  # nothing counted per 100 members (psychology and turnover off): the shares take the whole height
        boxes = [(left, top0, right, bottom)]
        legends = legends[:1]
    xmax = max(sc.steps, int(x.max()) if x.size else 1)
    ranges = [(-0.02, 1.02), (0.0, ymax1)]

    def px(i, xv, yv):
        x0, y0, x1, y1 = boxes[i]
        lo, hi = ranges[i]
        return x0 + (np.asarray(xv, float) / xmax) * (x1 - x0), y1 - (np.asarray(yv, float) - lo) / (hi - lo) * (y1 - y0)

    grey, ink = (120, 120, 120), (60, 60, 60)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if win:
            a, _ = px(i, [win[0]], [0])
            b, _ = px(i, [min(win[1], xmax)], [0])
            d.rectangle((float(a[0]), y0, float(b[0]), y1), fill=CLOSED_RGB)
        # as many ticks as the panel's height holds with a line of text between two labels
        fit = max(1, int((y1 - y0) / (2.2 * font_px)))
        ticks = ([0, 0.2, 0.4, 0.6, 0.8, 1.0] if fit >= 5 else [0, 0.5, 1.0] if fit >= 2 else [0, 1.0]) if i == 0 \
            else _nice_ticks(ranges[1][1] / 1.05, min(4, max(2, fit)))
        for t in ticks:
            _, yy = px(i, [0], [t])
            if y0 <= float(yy[0]) <= y1:
                d.line((x0, float(yy[0]), x1, float(yy[0])), fill=(235, 235, 235))
                d.text((x0 - 5, float(yy[0])), _tick_label(t), fill=ink, font=font, anchor="rm")
        d.rectangle((x0, y0, x1, y1), outline=grey)
    for t in _nice_ticks(xmax, 6):
        xx, _ = px(len(boxes) - 1, [t], [0])
        d.line((float(xx[0]), bottom, float(xx[0]), bottom + 4), fill=grey)
        d.text((float(xx[0]), bottom + 6), f"{t:g}", fill=ink, font=font, anchor="mt")
    d.text(((left + right) / 2, H - 2), "day", fill=ink, font=font, anchor="mb")
    if ticks_rev:
        xx, _ = px(0, rev, np.zeros(rev.size))
        for v in xx:
            d.line((float(v), boxes[0][3] - 6, float(v), boxes[0][3]), fill=(90, 90, 90))
    for c in curves:
        xs, ys = px(c.panel, x, c.y)
        col = _rgb(c.color)
        pts = list(zip(xs.tolist(), ys.tolist()))
        if len(pts) <= 2:
            for (u, v) in pts:
                d.ellipse((u - 3, v - 3, u + 3, v + 3), fill=col)
        elif c.dashed:
            for k in range(0, len(pts) - 1, 2):
                d.line(pts[k:k + 2], fill=col, width=2)
        else:
            d.line(pts, fill=col, width=2)
    for i, rows in enumerate(legends):  # above each panel, never over the curves
        cy = boxes[i][1] - row_h * len(rows) - 1
        for r_i, row in enumerate(rows):
            cx = left + 2
            if r_i == 0:
                d.text((cx, cy), heads[i], fill=(40, 40, 40), font=font)
                cx += d.textlength(heads[i], font=font) + 8
            for lab, col, wdt in row:
                if col is not None:
                    d.rectangle((cx, cy + font_px * 0.3, cx + font_px * 1.1, cy + font_px * 0.8), fill=col)
                d.text((cx + font_px * 1.5, cy), lab, fill=(40, 40, 40), font=font)
                cx += wdt
            cy += row_h
    return png_bytes(img)


#: a member's history plot: its width on the page (CSS pixels, drawn at that size) and its text height by
#: mode (presentation mode: the 18 px the room reads)
HISTORY_PX = 420
HISTORY_FONT_PX = {"normal": 12, "present": 20}

#: the picture's width on the page in CSS pixels (fixed, so that a click maps to a member)
VIEW_PX = {"normal": 480, "present": 440}


def member_history_png(h: dict, font_px: int = 11) -> bytes:
    """Curves of one member's stress, craving and lapses (shaded) since day 0, drawn at the size the page
    shows them (:data:`HISTORY_PX` wide, 100 dpi) with text ``font_px`` pixels tall: 18 or more in
    presentation mode."""
    dpi = 100
    w = HISTORY_PX
    h_px = max(140, 7 * font_px + 40)
    fig = _figure(w / dpi, h_px / dpi, constrained=True)
    ax = fig.add_subplot()
    d = np.asarray(h["day"])
    use = np.asarray(h["using"]) > 0
    if use.any():
        ax.fill_between(d, 0, 1, where=use, color="crimson", alpha=0.25, lw=0, step="mid", label="using")
    mid = np.asarray(h["member_id"])
    for k in np.nonzero(np.diff(mid))[0]:
        ax.axvline(d[k + 1], color="0.3", ls=":", lw=1)  # the slot was taken by a newcomer
    ax.plot(d, h["stress"], color="tab:purple", lw=1.2, label="stress", marker="o" if d.size <= 2 else None)
    ax.plot(d, h["craving"], color="tab:brown", lw=1.2, label="craving", marker="o" if d.size <= 2 else None)
    ax.set_ylim(0, 1)
    ax.set_xlim(0, max(1, int(d.max())))
    pt = font_px * 72 / dpi
    ax.tick_params(labelsize=pt)
    ax.legend(loc="upper right", fontsize=pt, ncol=3, borderpad=0.2, handlelength=1.0, columnspacing=0.8)
    return fig_png(fig, dpi=dpi)


#: curves of the Compare view: (column, title, cumulative)
COMPARE_PANELS = (("relapses", "total relapses", True), ("using", "using (share in a lapse)", False),
                  ("mean_stress", "mean stress", False))


def gap_band(frames_a: list[pd.DataFrame], frames_b: list[pd.DataFrame], col: str, cumulative: bool,
             level: float = 0.95) -> pd.DataFrame:
    """Per day: mean paired difference B - A over replicates with its t-interval."""
    from scipy import stats

    def arr(frames):
        m = np.stack([f[col].to_numpy(float) for f in frames])
        return np.cumsum(m, axis=1) if cumulative else m

    d = arr(frames_b) - arr(frames_a)
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n >= 2:
        half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
    else:
        half = np.full_like(mean, np.nan)
    return pd.DataFrame({"step": frames_a[0]["step"].to_numpy(), "diff": mean, "lo": mean - half,
                         "hi": mean + half})


def _dpi(fig, hi_res: bool) -> int:
    return int(math.ceil(HI_RES_PX / fig.get_figwidth())) if hi_res else 80


def _panels_png(fig, axes, legend_loc: str, title: str, hi_res: bool) -> bytes:
    """The Compare view's panels finished alike: the legend in the first, the title above all, as PNG."""
    axes[0].legend(loc=legend_loc, fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig_png(fig, dpi=_dpi(fig, hi_res))


def compare_png(df_a: pd.DataFrame, df_b: pd.DataFrame, label_a: str, label_b: str, title: str = "",
                hi_res: bool = False) -> bytes:
    """A and B overlaid, one panel per metric, the difference shaded."""
    fig = _figure(9.6, 3.2)
    axes = fig.subplots(1, len(COMPARE_PANELS))
    for ax, (col, ttl, cum) in zip(axes, COMPARE_PANELS):
        x = df_a["step"].to_numpy()
        ya = df_a[col].to_numpy(float)
        yb = df_b[col].to_numpy(float)
        if cum:
            ya, yb = np.cumsum(ya), np.cumsum(yb)
        ax.fill_between(x, ya, yb, where=yb >= ya, color="tab:orange", alpha=0.25, lw=0, interpolate=True)
        ax.fill_between(x, ya, yb, where=yb < ya, color="tab:blue", alpha=0.25, lw=0, interpolate=True)
        ax.plot(x, ya, color="tab:blue", lw=1.6, label=label_a)
        ax.plot(x, yb, color="tab:orange", lw=1.6, label=label_b)
        ax.set_title(ttl, fontsize="medium")
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    return _panels_png(fig, axes, "upper left", title, hi_res)


def gap_png(frames_a, frames_b, title: str = "", hi_res: bool = False) -> bytes:
    """B - A per day over replicates: mean and 95 % t-band, one panel per metric."""
    fig = _figure(9.6, 2.8)
    axes = fig.subplots(1, len(COMPARE_PANELS))
    n = len(frames_a)
    for ax, (col, ttl, cum) in zip(axes, COMPARE_PANELS):
        g = gap_band(frames_a, frames_b, col, cum)
        ax.axhline(0, color="gray", lw=0.8)
        ax.fill_between(g["step"], g["lo"], g["hi"], color="tab:green", alpha=0.25, lw=0,
                        label="95% band" if n >= 2 else None)
        ax.plot(g["step"], g["diff"], color="tab:green", lw=1.6, label=f"B - A, mean of {n}")
        ax.set_title(f"B - A: {ttl}", fontsize="medium")
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    return _panels_png(fig, axes, "best", title, hi_res)


def line_table(df: pd.DataFrame, x: str, metric: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``metric`` per value of ``x`` over all other runs, with a t-interval."""
    from scipy import stats

    g = df.groupby(x)[metric]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()
    tq = np.array([stats.t.ppf(0.5 + level / 2, k - 1) if k >= 2 else np.nan for k in out["n"]])
    half = tq * out["sd"].to_numpy(float) / np.sqrt(out["n"].to_numpy(float))
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    return out


def heat_table(df: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of ``metric`` on the (y, x) grid."""
    return df.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")


def results_png(df: pd.DataFrame, metric: str, x: str, y: str | None = None) -> bytes:
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    if y and y != x:
        h = heat_table(df, x, y, metric)
        im = ax.imshow(h.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(h.columns)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in h.columns],
                      rotation=45)
        ax.set_yticks(range(len(h.index)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in h.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(im, ax=ax, label=f"mean {metric}")
        ax.set_title(f"{metric} by {x} and {y}", fontsize="medium")
    else:
        t = line_table(df, x, metric)
        xs = t[x]
        numeric = pd.api.types.is_numeric_dtype(xs)
        pos = xs.to_numpy(float) if numeric else np.arange(len(xs))
        ax.fill_between(pos, t["lo"], t["hi"], color="tab:blue", alpha=0.25, lw=0, label="95% band")
        ax.plot(pos, t["mean"], "o-", color="tab:blue", label=f"mean {metric}")
        if not numeric:
            ax.set_xticks(pos, [str(v) for v in xs])
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax.set_title(f"{metric} against {x} (mean over runs)", fontsize="medium")
    return fig_png(fig)
