"""Pictures of a community at one moment: the lattice or the network, as PIL images or PNG bytes.

Used by the dashboard (``dashboards/``) for every frame it shows and by
``mutualaid run --movie`` for the frames of a GIF or MP4, so a movie shows
exactly what the page shows. Plain numpy and PIL: a few milliseconds per
frame for a 200 x 200 lattice or a network of hundreds of members.

Colours: blue helps (mutual aid), orange competes, darker with stress,
crimson while using (a lapse). A member being inspected is outlined in
black and its ties drawn black on top.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from typing import Mapping

import numpy as np
from PIL import Image, ImageDraw

HELP_RGB = np.array([38, 120, 178], dtype=np.float64)      # blue: mutual aid
COMPETE_RGB = np.array([240, 140, 40], dtype=np.float64)   # orange: struggle
USING_RGB = np.array([200, 20, 60], dtype=np.float64)      # crimson: in a lapse
DARK_RGB = np.array([25, 25, 35], dtype=np.float64)
MARK_RGB = (0, 0, 0)                                        # the inspected member and its ties


def member_colors(state: Mapping[str, np.ndarray]) -> np.ndarray:
    """RGB (n, 3) uint8: blue helpers, orange competitors, darker with stress, crimson when using."""
    strat = np.asarray(state["strategy"]) == 1
    stress = np.clip(np.asarray(state["stress"], dtype=np.float64), 0, 1)
    rgb = np.where(strat[:, None], HELP_RGB, COMPETE_RGB)
    k = (0.65 * stress)[:, None]
    rgb = rgb * (1 - k) + DARK_RGB * k
    using = np.asarray(state["using"], dtype=bool)
    rgb[using] = USING_RGB
    return rgb.astype(np.uint8)


def png_bytes(img) -> bytes:
    """PNG bytes of a PIL image or an (h, w, 3) uint8 array (fast compression: frames are short-lived)."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(np.ascontiguousarray(img), "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def lattice_scale(width: int, height: int, target: int = 480) -> int:
    """Pixels per member side so that the lattice is about ``target`` pixels across."""
    return max(1, target // max(width, height))


def lattice_image(state: Mapping[str, np.ndarray], width: int, height: int, target: int = 480,
                  highlight: int | None = None, neighbours=()):
    """The lattice as a PIL image, one square of pixels per member (slot ``y * width + x``).

    ``highlight``: a member outlined in black, its ``neighbours`` (tie partners) with a black dot.
    """
    rgb = member_colors(state).reshape(height, width, 3)
    s = lattice_scale(width, height, target)
    if s > 1:
        rgb = np.repeat(np.repeat(rgb, s, axis=0), s, axis=1)
    img = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    if highlight is not None and 0 <= highlight < width * height:
        draw = ImageDraw.Draw(img)
        for j in neighbours:
            x, y = (int(j) % width) * s, (int(j) // width) * s
            r = max(1, s // 4)
            draw.rectangle((x + s // 2 - r, y + s // 2 - r, x + s // 2 + r, y + s // 2 + r), fill=MARK_RGB)
        x, y = (highlight % width) * s, (highlight // width) * s
        draw.rectangle((x - 1, y - 1, x + s, y + s), outline=MARK_RGB, width=max(1, s // 5))
    return img


def lattice_png(state: Mapping[str, np.ndarray], width: int, height: int, target: int = 480, **mark) -> bytes:
    return png_bytes(lattice_image(state, width, height, target, **mark))


# ----------------------------------------------------------------------------- network layout

_layout_lock = threading.Lock()
_layouts: OrderedDict[str, np.ndarray] = OrderedDict()
#: layouts kept per process (a page's reset with the same network and seed reuses its layout)
LAYOUT_CACHE = 32


def _graph_key(ptr: np.ndarray, nbr: np.ndarray, seed: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(ptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(nbr, dtype=np.int64).tobytes())
    h.update(str(int(seed)).encode())
    return h.hexdigest()


def force_layout(indptr: np.ndarray, indices: np.ndarray, seed: int, iterations: int = 50) -> np.ndarray:
    """Node positions (n, 2) in [0, 1]^2 by the Fruchterman-Reingold force model (Fruchterman & Reingold
    1991, Software: Practice and Experience 21:1129): every pair repels with k^2/d, tied pairs attract with
    d^2/k, k = 1/sqrt(n); moves are capped by a temperature that cools linearly. Dense numpy, so a
    1,000-member network is laid out in about a second (networkx's sparse variant, which it uses from 500
    nodes, took 5 s)."""
    n = len(indptr) - 1
    rng = np.random.default_rng(int(seed) % (2**32))
    pos = rng.random((n, 2)).astype(np.float32)
    adj = np.zeros((n, n), dtype=np.float32)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    adj[rows, np.asarray(indices)] = 1.0
    k = np.float32(1.0 / math.sqrt(n))
    t = np.float32(0.1)
    dt = t / np.float32(iterations + 1)
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((delta * delta).sum(axis=-1))
        np.maximum(dist, 0.01, out=dist)
        force = k * k / (dist * dist) - adj * dist / k
        disp = np.einsum("ijk,ij->ik", delta, force)
        length = np.sqrt((disp * disp).sum(axis=1))
        length = np.where(length < 0.01, np.float32(0.1), length)
        pos += disp * (t / length)[:, None]
        t -= dt
    return pos.astype(np.float64)


def network_positions(graph, seed: int) -> np.ndarray:
    """Stable node positions (n, 2) from the day-0 graph (:func:`force_layout`), cached by graph and seed.

    The layout is the slow part of building a network view; the same network
    with the same seed is laid out once per process, however many visitors
    open or reset it.
    """
    n = graph.n
    if n <= 1:
        return np.zeros((n, 2))
    key = _graph_key(graph.indptr, graph.indices, seed)
    with _layout_lock:
        if key in _layouts:
            _layouts.move_to_end(key)
            return _layouts[key].copy()
    out = force_layout(graph.indptr, graph.indices, seed, iterations=50)
    with _layout_lock:
        _layouts[key] = out
        while len(_layouts) > LAYOUT_CACHE:
            _layouts.popitem(last=False)
    return out.copy()


def node_xy(pos: np.ndarray, size_px: int, margin: int = 12) -> np.ndarray:
    """Pixel coordinates of the nodes in a ``size_px`` square picture."""
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return margin + (pos - lo) / span * (size_px - 2 * margin)


def network_edges(ties, pos: np.ndarray, size_px: int = 520, highlight: int | None = None):
    """The ties layer of the network picture: grey by weight (strong ties drawn last, on top), the
    inspected member's ties in black. Ties change slowly, so a playing page redraws this layer about once
    a second and the members on top of it every frame."""
    ptr, nbr, w = ties
    n = pos.shape[0]
    scale = size_px / 520.0
    xy = node_xy(pos, size_px, margin=int(12 * scale))
    img = Image.new("RGB", (size_px, size_px), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    rows = np.repeat(np.arange(n), np.diff(ptr))
    nbr = np.asarray(nbr)
    keep = rows < nbr
    a, b, ww = rows[keep], nbr[keep], np.clip(np.asarray(w)[keep], 0, 1)
    thin, thick = max(1, round(scale)), max(2, round(2 * scale))
    order = np.argsort(ww, kind="stable")
    shade = (225 - 150 * ww[order]).astype(int)
    pa, pb = xy[a[order]].tolist(), xy[b[order]].tolist()
    for s_, p0, p1, strong in zip(shade.tolist(), pa, pb, (ww[order] >= 0.6).tolist()):
        draw.line((*p0, *p1), fill=(s_, s_, s_ + 10 if s_ < 245 else 255), width=thick if strong else thin)
    if highlight is not None and 0 <= highlight < n:
        for j in nbr[ptr[highlight]:ptr[highlight + 1]]:
            draw.line((*xy[highlight], *xy[int(j)]), fill=MARK_RGB, width=thick)
    return img


def network_image(state, ties, pos: np.ndarray, size_px: int = 520, highlight: int | None = None, edges=None):
    """The network as a PIL image: nodes coloured by strategy, sized by stress, ringed crimson when using,
    on the ties layer (:func:`network_edges`, drawn here unless given)."""
    img = (network_edges(ties, pos, size_px, highlight) if edges is None else edges).copy()
    draw = ImageDraw.Draw(img)
    n = pos.shape[0]
    scale = size_px / 520.0
    xy = node_xy(pos, size_px, margin=int(12 * scale)).tolist()
    rgb = [tuple(c) for c in member_colors(state).tolist()]
    using = np.asarray(state["using"], dtype=bool).tolist()
    radius = ((2.5 + 5.0 * np.clip(np.asarray(state["stress"], dtype=float), 0, 1)) * scale).tolist()
    ring = tuple(int(c) for c in USING_RGB)
    white = (255, 255, 255)
    pad = 2.5 * scale
    for (x, y), r, col, u in zip(xy, radius, rgb, using):
        if u:
            draw.ellipse((x - r - pad, y - r - pad, x + r + pad, y + r + pad), fill=ring)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=col, outline=ring if u else white)
    if highlight is not None and 0 <= highlight < n:
        x, y = xy[highlight]
        r = radius[highlight] + 3 * scale
        draw.ellipse((x - r, y - r, x + r, y + r), outline=MARK_RGB, width=max(2, round(2 * scale)))
    return img


def network_png(state, ties, pos: np.ndarray, size_px: int = 520, highlight: int | None = None,
                edges=None) -> bytes:
    return png_bytes(network_image(state, ties, pos, size_px, highlight, edges))


def member_at(px: float, py: float, *, shown_px: float, lattice: tuple[int, int] | None = None,
              pos: np.ndarray | None = None, size_px: int = 520) -> int | None:
    """The member under a click at (px, py) in a picture shown ``shown_px`` pixels wide.

    ``lattice=(width, height)`` for a lattice, else ``pos`` (the network
    layout) and the picture's own ``size_px``: the nearest node within 12
    picture pixels. None when the click hits nothing.
    """
    if shown_px <= 0:
        return None
    if lattice is not None:
        w, h = lattice
        x, y = int(px / shown_px * w), int(py / shown_px * w)  # square cells: the width sets the scale
        return y * w + x if 0 <= x < w and 0 <= y < h else None
    if pos is None or len(pos) == 0:
        return None
    xy = node_xy(pos, size_px, margin=int(12 * size_px / 520.0))
    q = np.array([px, py]) * (size_px / shown_px)
    d = np.hypot(*(xy - q).T)
    i = int(np.argmin(d))
    return i if d[i] <= 12 * size_px / 520.0 else None
