"""The mutual-aid dashboard (Solara).

    mutualaid dashboard                      # or: solara run sim.dashboards.app

Three views:

- **Explore** (educators): a shipped scenario, controls generated from the
  scenario schema, play/pause/step/reset, the population drawn as it changes
  (lattice image or network) and the live curves; the Kropotkin walk-through.
- **Compare** (trainers): A and B from the same seed, differing in one
  toggle or parameter; curves overlaid with the difference shaded; the gap
  over replicates with its 95 % band; one-click presets.
- **Results** (modelers): a sweep's ``runs.parquet`` plotted against one or
  two swept parameters.

Each browser session has its own model (component state). The Explore model
steps in a worker thread at a bounded frame rate; the Compare runs happen in
a worker thread too. Everything non-visual lives beside it (this folder,
``dashboards/``, ships in the package as ``sim.dashboards``): the controls in
:mod:`sim.dashboards.support`, the runs in :mod:`sim.dashboards.runner`, the
pictures in :mod:`sim.dashboards.plots` and the words in
:mod:`sim.dashboards.texts`.
"""

# Deferred imports (inside the functions that need them):
# - sim.experiments.compare: it loads numba; the kernels compile in the background (warm_kernel), not
#   when the page's module loads.
# - sim.info: read inside a guard, so that a page without the Info files still serves.

from __future__ import annotations

import html
import re
import threading
import time

import markdown
import matplotlib
import pandas as pd

matplotlib.use("Agg")

import solara  # noqa: E402
import solara.lab  # noqa: E402
from solara.alias import rv  # noqa: E402

from sim import movie  # noqa: E402
from sim.core.scenarios import ScenarioError  # noqa: E402
from sim.dashboards import plots as dp  # noqa: E402
from sim.dashboards import runner as dr  # noqa: E402
from sim.dashboards import support as ds  # noqa: E402
from sim.dashboards import texts  # noqa: E402
from sim.dashboards.widgets import Prose, Table  # noqa: E402

DEFAULT_SCENARIO = "baseline"
#: while playing, the curves are redrawn at most this often (seconds); the population every frame
CURVES_EVERY = 0.25
SCENARIOS = ds.names()

# Compile (or load) the numba kernels once per server, in the background.
threading.Thread(target=dr.warm_kernel, name="warm-kernel", daemon=True).start()

CSS = """
.ma-title { font-size: 1.6rem; font-weight: 600; }
.ma-day { font-size: 1.25rem; font-weight: 600; }
.ma-readout { font-family: monospace; white-space: pre-wrap; }
.ma-picture img, img.ma-picture { image-rendering: pixelated; max-width: 100%; }
.ma-legend span { margin-right: 1em; }
.ma-header { align-items: center; justify-content: space-between; }
.ma-rate { color: #555; margin-left: 1em; }
.ma-sizes { margin-left: 1em; }
.ma-topline { display: flex; align-items: baseline; flex-wrap: wrap; margin: 4px 0; }
.ma-happening { color: #444; min-height: 1.4em; font-style: italic; }
.ma-link-row { margin-top: 6px; }
.ma-copy-link { margin-left: 1em; padding: 2px 10px; border: 1px solid #888; border-radius: 4px; }
.ma-odd table, .ma-info-text table { border-collapse: collapse; }
.ma-odd td, .ma-odd th { border: 1px solid #ccc; padding: 2px 6px; }
.ma-table { overflow-x: auto; max-width: 100%; }
.ma-table table { border-collapse: collapse; margin: 8px 0; }
.ma-table td, .ma-table th { border: 1px solid #ccc; padding: 2px 6px; }
img.ma-lesson, img.ma-trial-curves { max-width: 100%; height: auto; }
/* presentation mode: a projector at 1024 x 768 */
.ma-present { font-size: 20px; }
.ma-present .ma-title { font-size: 1.5rem; }
.ma-present .ma-day { font-size: 1.8rem; }
.ma-present .ma-readout, .ma-present .ma-happening, .ma-present .ma-rate { font-size: 1.05rem; }
.ma-present .ma-legend { font-size: 0.9rem; }
.ma-present .v-tabs-bar, .ma-present .v-slide-group { display: none !important; }
.ma-present-name { font-size: 1.3rem; font-weight: 600; margin-left: 1em; }
/* sliders: the label on its own line(s) above a full-width track, so a long label never squeezes the
   track to nothing (at 1024 px most tracks were 0 px wide) nor runs over the next control */
.ma-root .v-input__slider .v-input__slot { flex-wrap: wrap; }
.ma-root .v-input__slider .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%; height: auto;
  white-space: normal; line-height: 1.3; overflow: visible; margin: 0 0 2px 0; }
.ma-root .v-input__slider .v-slider { flex: 1 0 calc(100% - 16px); min-width: 120px; }
/* rows of buttons wrap inside their column instead of running past it */
.ma-downloads, .ma-presets, .ma-wrap { flex-wrap: wrap; row-gap: 6px; }
.ma-root .v-btn { max-width: 100%; }
.ma-root .v-btn:not(.v-btn--round) { height: auto !important; min-height: 36px; padding-top: 4px; padding-bottom: 4px; }
.ma-root .v-btn__content { white-space: normal; flex: 1 1 auto; min-width: 0; }
/* the live view: picture and curves at the sizes they are drawn; they wrap when the column is narrow */
.ma-live { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.ma-live-side { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
.ma-curves { max-width: 100%; }
img.ma-picture, img.ma-curves { margin: 0 !important; }
.ma-prompt { font-size: 20px; line-height: 1.35; }
.ma-present .v-btn { font-size: 18px; }
.ma-present .ma-legend, .ma-present .ma-sizes, .ma-present .ma-rate, .ma-present .ma-happening,
.ma-present .ma-readout { font-size: 18px; }
.ma-present .ma-readout { font-family: inherit; }
.ma-present .v-label, .ma-present .v-expansion-panel-header { font-size: 18px; }
.ma-present .ma-rate { display: none; }  /* for whoever runs the page, not for the room */
/* the "runs on Solara" note: after the content, never over it */
div:has(> b > a[href*="solara.dev"]) { position: static !important; text-align: right; }
"""


# ----------------------------------------------------------------------------- controls


@solara.component
def Control(key: str, spec: dict, value, on_value, prefix: str = ""):
    """One control from a SolaraViz-style spec; every value it reports is clamped to the schema."""
    label = f"{prefix}{spec['label']}"
    dotted = ds.dotted_key(key)

    def set_(v):
        on_value(ds.clamp(dotted, v))

    t = spec["type"]
    if t == "Checkbox":
        solara.Checkbox(label=label, value=bool(value), on_value=set_)
    elif t == "Select":
        solara.Select(label=label, value=value, values=spec["values"], on_value=set_)
    elif t == "SliderInt":
        solara.SliderInt(label=f"{label}: {int(value)}", value=int(value), min=spec["min"], max=spec["max"],
                         step=spec["step"], on_value=set_, thumb_label=False)
    else:
        solara.SliderFloat(label=f"{label}: {float(value):g}", value=float(value), min=spec["min"],
                           max=spec["max"], step=spec["step"], on_value=set_, thumb_label=False)


# ----------------------------------------------------------------------------- Explore


@solara.component
def Panel(title: str, is_open: bool, on_toggle, children=[], classes=()):
    """A collapsible section whose open/closed state belongs to the page (not to its position in the
    tree), so a notice appearing above it never opens or shuts it."""
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:40]
    with rv.ExpansionPanels(v_model=0 if is_open else None, on_v_model=lambda v: on_toggle(v == 0),
                            class_=" ".join(["ma-panel", f"ma-panel-{slug}", *classes])) as main:
        with rv.ExpansionPanel():
            rv.ExpansionPanelHeader(children=[title])
            # a closed panel builds nothing: a page opens with a fraction of its widgets
            rv.ExpansionPanelContent(children=children if is_open else [])
    return main


def _seed_field(text: solara.Reactive, why: str | None, label: str, css: str):
    """A seed as text: anything but a whole number in range is shown as an error, never replaced."""
    SeedBox(text, bool(why), label, css)
    if why:
        solara.Text(why, classes=[f"{css}-error"], style={"color": "#b00020"})


@solara.component
def SeedBox(text: solara.Reactive, error: bool, label: str, css: str):
    """The seed's text box: what is typed reaches the page on Enter or on leaving the box.

    Not bound both ways (solara.InputText is): the page re-renders many times a second while a run plays,
    and each time wrote the last value sent back into the box, so a seed being typed was silently undone.
    The box is given the page's value as its ``value`` (unchanged while typing, so never re-sent) and
    reports its ``change`` event."""
    box = rv.TextField(label=label, value=text.value, error=error, class_=css, hide_details=True)

    def changed(widget, event, data):
        text.set("" if data is None else str(data))

    rv.use_event(box, "change", changed)
    return box


def _link_html(query: str) -> str:
    """A link to this run and a button that copies it (the clipboard API, or a selection where the page is
    not served over https/localhost)."""
    q = html.escape(query, quote=True)
    js = ("var a=this.parentNode.querySelector('a.ma-link');var u=a.href;var b=this;"
          "function ok(){b.textContent='Link copied';b.dataset.copied=u;}"
          "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(u).then(ok,function(){});}"
          "else{var t=document.createElement('textarea');t.value=u;document.body.appendChild(t);t.select();"
          "try{document.execCommand('copy');ok();}catch(e){}document.body.removeChild(t);}")
    return (f"<a class='ma-link' href='?{q}' target='_blank' rel='noopener'>Link to this run</a> "
            f"<button type='button' class='ma-copy-link' onclick=\"{js}\">Copy link</button>")


@solara.component
def Explore(present: bool, link: ds.Link):
    first = link.scenario
    init_sc = solara.use_memo(lambda: ds.build_scenario(first, link.params, seed=link.seed), [])
    init_params = solara.use_memo(lambda: {k: s["value"] for k, s in ds.model_params(init_sc).items()}, [])
    name = solara.use_reactive(first)
    params = solara.use_reactive(init_params)
    applied = solara.use_reactive(init_params)
    seed_text = solara.use_reactive(str(init_sc.seed))
    engine = solara.use_reactive(link.options.get("engine", "kernel"))
    runner = solara.use_memo(lambda: dr.Runner(init_sc, engine.value), [])
    frame = solara.use_reactive(solara.use_memo(lambda: runner.frame(), []))
    playing = solara.use_reactive(False)
    fps = solara.use_reactive(link.options.get("fps", 10))
    per_frame = solara.use_reactive(link.options.get("per_frame", 1))
    error = solara.use_reactive(None)
    generation = solara.use_reactive(0)  # bumps on every reset: restarts the play thread
    opened = solara.use_reactive(frozenset({"Mechanisms", "Community"}))
    movie_status = solara.use_reactive("")
    shown_lock = solara.use_memo(threading.Lock, [])

    def view_mode():  # the curves are drawn at the size the mode shows them
        runner.set_view("present" if present else "normal")
        frame.set(runner.frame(playing=playing.value))

    solara.use_effect(view_mode, [present])

    def toggle(title: str, is_open: bool):
        opened.set(opened.value | {title} if is_open else opened.value - {title})

    def play_loop(cancel: threading.Event):
        """Step and draw until paused, done or cancelled: at most ``fps`` frames per second, and as many
        days per frame as it takes to keep up with the requested days per second (frames per second x
        days per frame) when drawing a frame takes longer than a frame's share of a second."""
        if not playing.value:
            return
        try:
            runner.tick(False)
            pacer = dr.Pacer()
            run_id = id(runner.model)  # a Reset makes a new model: a frame of the old one is never shown
            while not cancel.is_set() and playing.value:
                t0 = time.perf_counter()
                fps_now = max(1, min(ds.MAX_FPS, fps.value))
                n = pacer.due(fps_now * per_frame.value, per_frame.value)
                runner.step(n)
                pacer.stepped(n)
                fr = runner.frame(curves_every=CURVES_EVERY, playing=True)
                with shown_lock:
                    if cancel.is_set() or id(runner.model) != run_id:
                        break
                    frame.set(fr)
                if runner.done:
                    playing.set(False)
                    break
                cancel.wait(max(1.0 / fps_now - (time.perf_counter() - t0), 0.002))
        except Exception as e:  # shown on the page, never a dead loop
            error.set(f"error while playing: {e}")
            playing.set(False)

    solara.use_thread(play_loop, dependencies=[playing.value, generation.value], intrusive_cancel=False)

    seed_value, seed_why = ds.parse_seed(seed_text.value)

    def restart(sc):
        with shown_lock:  # a frame being drawn by the play loop lands before this, or not at all
            runner.reset(sc, engine.value)
            frame.set(runner.frame())
        fresh = {k: s["value"] for k, s in ds.model_params(sc).items()}
        params.set(fresh)
        applied.set(dict(fresh))
        seed_text.set(str(sc.seed))
        generation.set(generation.value + 1)

    def reset(new_name: str | None = None, new_params: dict | None = None):
        playing.set(False)
        if seed_why:
            error.set(seed_why)
            return
        use_name = new_name or name.value
        use_params = params.value if new_params is None else new_params
        try:
            sc = ds.build_scenario(use_name, use_params, seed=seed_value)
        except ScenarioError as e:
            error.set(str(e))
            return
        error.set(None)
        if new_name:
            name.set(new_name)
        restart(sc)

    def choose(new_name: str):
        if new_name not in SCENARIOS:
            return
        playing.set(False)
        try:
            sc = ds.build_scenario(new_name)
        except ScenarioError as e:
            error.set(str(e))
            return
        error.set(None)
        name.set(new_name)
        restart(sc)

    def load_step(title: str, scn: str, over: dict):
        sections = {t for t, _ in ds.CONTROL_GROUPS}
        about = {t for t, keys in ds.CONTROL_GROUPS for k in texts.STEP_CONTROLS.get(title, ()) if k in keys}
        opened.set(frozenset((opened.value - sections) | about))  # only the section of the step's control
        choose(scn)
        if over:
            seed_text.set(str(runner.scenario.seed))
            reset(None, {**params.value, **{ds.flat_key(k): v for k, v in over.items()}})

    def step_once():
        playing.set(False)
        runner.step(per_frame.value)
        frame.set(runner.frame())

    def inspect_at(widget, event, data):
        px = dp.VIEW_PX["present" if present else "normal"]
        try:
            slot = runner.member_at(float(data["offsetX"]), float(data["offsetY"]), px)
        except (KeyError, TypeError, ValueError):
            return
        if slot is not None:
            runner.choose_member(slot)
            frame.set(runner.frame(playing=playing.value))

    def stop_inspecting():
        runner.choose_member(None)
        frame.set(runner.frame(playing=playing.value))

    def make_movie(fmt: str) -> bytes:
        movie_status.set(f"making the {fmt.upper()} ...")
        try:
            return movie.movie_bytes(runner.scenario, fmt, changed=changed_settings(), until=max(runner.day, 1),
                                     every=max(1, runner.day // 240 + 1))
        finally:
            movie_status.set("")

    def changed_settings() -> dict:
        shipped = {k: s["value"] for k, s in ds.model_params(ds.build_scenario(name.value)).items()}
        return {ds.dotted_key(k): v for k, v in applied.value.items() if k in shipped and v != shipped[k]}

    specs = solara.use_memo(lambda: ds.model_params(runner.scenario), [generation.value])
    # the run on the screen named with its changed settings (a walk-through step's variant, not its base)
    shown_as = solara.use_memo(lambda: texts.caption(name.value, changed_settings()),
                               [name.value, tuple(sorted(applied.value.items()))])
    pending = (params.value != applied.value or (seed_value is not None and seed_value != runner.scenario.seed)
               or engine.value != runner.engine)
    view_px = dp.VIEW_PX["present" if present else "normal"]
    link_key = (name.value, tuple(sorted(applied.value.items())), runner.scenario.seed, present, runner.engine)
    query = solara.use_memo(lambda: ds.link_query(name.value, applied.value, runner.scenario.seed,
                                                  {"present": True if present else None,
                                                   "engine": "agents" if runner.engine == "agents" else None}),
                            [link_key])

    def pending_note() -> str:
        if not pending:
            return ""
        if seed_value is not None and seed_value != runner.scenario.seed:
            return (f"Changed settings apply on Reset: seed {seed_value} then replaces seed "
                    f"{runner.scenario.seed}, which this run keeps.")
        return "Changed settings apply on Reset."

    def controls():
        solara.Select(label="Scenario", value=name.value, values=SCENARIOS, on_value=choose)
        with solara.Row(classes=["ma-wrap"]):
            solara.Button("Pause" if playing.value else "Play", color="primary",
                          on_click=lambda: playing.set(not playing.value), disabled=runner.done,
                          classes=["ma-play"])
            solara.Button("Step", on_click=step_once, disabled=playing.value or runner.done, classes=["ma-step"])
            solara.Button("Reset", color="warning" if pending else None, on_click=lambda: reset(),
                          classes=["ma-reset"], disabled=bool(seed_why))
        # always present (empty when nothing is pending): the tree below keeps its shape
        solara.Text(pending_note(), classes=["ma-pending"],
                    style={"color": "#b26a00", "min-height": "1.2em"})
        solara.SliderInt(f"Speed: {fps.value} frames per second", value=fps, min=1, max=ds.MAX_FPS)
        solara.SliderInt(f"Days per frame: {per_frame.value}", value=per_frame, min=1, max=10)
        lo, hi = ds.seed_bounds()
        _seed_field(seed_text, seed_why, f"Seed (whole number, {lo} to {hi})", "ma-seed")
        for title, keys in ds.CONTROL_GROUPS:
            shown = [ds.flat_key(k) for k in keys if ds.flat_key(k) in specs]
            if not shown:
                continue
            with Panel(title, title in opened.value, lambda v, t=title: toggle(t, v)).key(f"panel-{title}"):
                for k in shown:
                    Control(k, specs[k], params.value.get(k, specs[k]["value"]),
                            lambda v, k=k: params.set({**params.value, k: v}))
        with Panel("Engine", "Engine" in opened.value, lambda v: toggle("Engine", v)).key("panel-Engine"):
            solara.Select(label="Engine (identical numbers)", value=engine.value, values=list(ds.PAGE_ENGINES),
                          on_value=lambda v: engine.set(v) if v in ds.PAGE_ENGINES else None)
            solara.Text("kernel: compiled, fast at every size. agents: the Mesa model, one Python object per "
                        f"member (readable; up to {ds.MESA_MAX_MEMBERS} members).", style={"font-size": "0.85em"})

    def view():
        LiveView(frame, error, fps.value * per_frame.value, runner.scenario.psychology.enabled, view_px,
                 inspect_at, stop_inspecting, legend=texts.view_legend(runner.scenario, present),
                 prompt=texts.prompt(name.value, ds.scenario_description(name.value)) if present else None,
                 revision=texts.revision_note(runner.scenario))

    def downloads():
        stem = f"{runner.scenario.name}_seed{runner.scenario.seed}"
        kind = "lattice" if runner.lattice else "network"
        with solara.Row(classes=["ma-downloads"]):
            solara.FileDownload(lambda: dr.metrics_csv(runner.metrics()), filename=f"{stem}_metrics.csv",
                                label="Metrics (CSV)")
            solara.FileDownload(lambda: runner.picture(size_px=dp.HI_RES_PX), filename=f"{stem}_{kind}.png",
                                label=f"{kind.capitalize()} (PNG, {dp.HI_RES_PX} px)", mime_type="image/png")
            solara.FileDownload(lambda: runner.curves(hi_res=True, title=_title(runner, changed_settings())),
                                filename=f"{stem}_curves.png", label=f"Curves (PNG, {dp.HI_RES_PX} px)",
                                mime_type="image/png")
            solara.FileDownload(lambda: make_movie("gif"), filename=f"{stem}.gif", label="Movie (GIF)",
                                mime_type="image/gif")
            solara.FileDownload(lambda: make_movie("mp4"), filename=f"{stem}.mp4", label="Movie (MP4)",
                                mime_type="video/mp4")
        if movie_status.value:
            solara.Text(movie_status.value, classes=["ma-movie-status"])
        solara.HTML(tag="div", classes=["ma-link-row"], unsafe_innerHTML=_link_html(query))

    for note in link.notices:  # each can be closed with its x (in the browser; the others stay)
        solara.Warning(note, classes=["ma-link-notice"], dismissible=True)
    if present:
        with solara.Column(classes=["ma-present-view"]):
            with solara.Row():
                solara.Button("Pause" if playing.value else "Play", color="primary",
                              on_click=lambda: playing.set(not playing.value), disabled=runner.done,
                              classes=["ma-play"])
                solara.Button("Step", on_click=step_once, disabled=playing.value or runner.done,
                              classes=["ma-step"])
                solara.Button("Reset", on_click=lambda: reset(), classes=["ma-reset"], disabled=bool(seed_why))
                solara.Text(shown_as, classes=["ma-present-name"])
            view()
            with Panel("Controls", "Controls" in opened.value, lambda v: toggle("Controls", v)).key("panel-C"):
                controls()
                downloads()
    else:
        with solara.Columns([1, 3]):
            with solara.Column(classes=["ma-sidebar"]):
                controls()
            with solara.Column():
                with solara.Card(shown_as):
                    Prose(texts.WATCH.get(name.value) or ds.scenario_description(name.value), ["ma-watch"])
                view()
                downloads()
                with Panel("Info: what it is, how it works, things to notice and try, how to cite",
                           "Info" in opened.value, lambda v: toggle("Info", v), classes=["ma-info"]).key("info"):
                    InfoPanel(name.value)
                with Panel("Kropotkin: a guided walk-through", "Walk" in opened.value,
                           lambda v: toggle("Walk", v)).key("walk"):
                    for title, text, scn, over in texts.KROPOTKIN_STEPS:
                        with solara.Card(title):
                            Prose(text)
                            solara.Button(f"Load: {scn}" + (" with " + ", ".join(
                                f"{specs.get(ds.flat_key(k), {}).get('label', k)} = {v}" for k, v in over.items())
                                if over else ""), on_click=lambda title=title, scn=scn, over=over: load_step(title, scn, over),
                                outlined=True)


@solara.component
def LiveView(frame: solara.Reactive, error: solara.Reactive, requested: int, psych: bool, view_px: int,
             on_click, on_close, legend: str = "", prompt: str | None = None, revision: str = ""):
    """The part of Explore that changes every frame (the rest of the page is not re-rendered).

    ``prompt``: presentation mode's "Watch ..." line, beside the curves (None outside presentation mode);
    ``revision``: what the curves' revision-day ticks mean (texts.revision_note), under them."""
    fr = frame.value
    if error.value:
        solara.Error(error.value, classes=["ma-error"])
    # the changing text as one element: one websocket message a frame, not five (each message is a round
    # trip through the server's event loop, which is what limited the frame rate)
    lt = fr.latest
    readout = f"helpers {lt['helpers']:.3f}" + (
        f"  stress {lt['mean_stress']:.3f}  craving {lt['mean_craving']:.3f}  using {lt['using']:.3f}  relapses so far "
        f"{lt['relapses_per_100']:.1f} per 100 members" if psych else "  (psychology off: a game only)")
    rate = (f"{fr.rate:.1f} days/s ({fr.frames:.0f} frames/s)" if fr.rate is not None else "- (not playing)")
    engine = "Mesa agents" if fr.engine == "agents" else "numba kernel"
    esc = html_escape
    solara.HTML(tag="div", classes=["ma-live-text"], unsafe_innerHTML=(
        "<div class='ma-topline'>"
        f"<span class='ma-day'>Day {fr.day} / {fr.steps}</span> "
        f"<span class='ma-sizes'>{fr.members} members, {fr.view}, engine: {engine}</span> "
        f"<span class='ma-rate'>requested {requested} days/s; delivered {rate}</span></div>"
        f"<div class='ma-readout'>{esc(readout)}</div>"
        f"<div class='ma-happening'>{esc(fr.happening or '')}</div>"))
    curves_w = dp.CURVES_PX["present" if prompt is not None else "normal"][0][0]
    with solara.Div(classes=["ma-live"]):
        with solara.Div(classes=["ma-live-pic"], style={"width": f"{view_px}px"}):
            ClickableView(fr.picture, view_px, fr.view, on_click)
            solara.HTML(tag="div", classes=["ma-legend"], unsafe_innerHTML=legend)
        with solara.Div(classes=["ma-live-side"], style={"width": f"{curves_w}px", "max-width": "100%"}):
            if prompt:
                Prose(prompt, ["ma-prompt"])
            if fr.curves:
                # shown at the size it is drawn (Runner.set_view): no scaling, so its text is as tall as drawn
                solara.Image(fr.curves, classes=["ma-curves"], width=f"{curves_w}px")
                if revision:
                    solara.Text(revision, classes=["ma-revision-note"], style={"display": "block"})
            if fr.member:
                MemberCard(fr.member, on_close)


@solara.component
def ClickableView(picture: bytes, px: int, view: str, on_click):
    """The population picture at a fixed width; a click reports its offset (pixels) to ``on_click``."""
    img = solara.Image(picture, width=f"{px}px", classes=["ma-picture", f"ma-view-{view}"])
    box = rv.Html(tag="div", children=[img], class_="ma-view-box",
                  style_=f"width:{px}px; cursor: crosshair; line-height: 0")
    rv.use_event(box, "click", on_click)
    return box


def _title(runner, changed: dict) -> str:
    sc = runner.scenario
    extra = ", ".join(f"{ds.LABELS.get(k, k)} = {ds.format_value(v)}" for k, v in changed.items())
    return f"{sc.name}, seed {sc.seed}" + (f" ({extra})" if extra else "") + f", day {runner.day}"


@solara.component
def MemberCard(m: dict, on_close):
    with solara.Card(f"Member in slot {m['slot']} (id {m['member_id']})", classes=["ma-member"]):
        rows = [f"{m['strategy']}; {m['state']}", f"stress {m['stress']:.3f}, craving {m['craving']:.3f}"
                + (f", recovery capital {m['capital']:.2f}" if m["capital"] is not None else ""),
                "sponsor: " + (f"the member in slot {m['sponsor']}" if m["sponsor"] is not None else "none")
                + f"; sponsees: {m['sponsees']}; meetings missed in a row: {m['missed']}",
                f"ties: {m['ties']}" + (" (strongest: " + ", ".join(f"slot {j} ({w:.2f})" for j, w in m["strongest"])
                                       + ")" if m["strongest"] else "") + "; drawn in black in the view"]
        solara.Text("\n".join(rows), classes=["ma-member-text", "ma-readout"])
        if m["history_png"]:
            solara.Image(m["history_png"], classes=["ma-member-history"], width=f"{dp.HISTORY_PX}px")
        solara.Button("Stop inspecting", on_click=on_close, text=True, classes=["ma-member-close"])


@solara.component
def InfoPanel(name: str):
    html = solara.use_memo(lambda: _info_html(name), [name])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["ma-info-text"])


def _info_html(name: str) -> str:
    """The scenario's Info (scenarios/info/NAME.md) as HTML, its ODD links pointing at the page's ODD view."""
    try:
        from sim.info import read_info
    except ImportError:  # pragma: no cover - sim/info.py ships with the Info files
        return "<p>No Info for this scenario.</p>"
    try:
        sections = read_info(name)
    except (OSError, ValueError) as e:
        return f"<p>No Info for this scenario ({html_escape(str(e))}).</p>"
    text = "\n\n".join(f"## {title}\n\n{body}" for title, body in sections.items())
    # the files name the tests behind their claims (for readers of the repository); the page says so in words
    text = re.sub(r"\s*\(test: tests/[^)]*\)", " (a test checks this)", text)
    text = re.sub(r"`tests/[^`]*`", "a test", text)
    # the files name settings by their scenario keys (for `--set`); the page names them as its sliders do
    text = re.sub(r"`([a-z_]+\.[a-z_]+)`", lambda m: f"*{ds.LABELS[m.group(1)]}*" if m.group(1) in ds.LABELS
                  else m.group(0), text)
    # the files link as a reader on GitHub needs (relative to scenarios/info/); the page serves the ODD itself
    text = text.replace("](../../docs/ODD.md#", "](?view=odd#").replace("](../../docs/ODD.md)", "](?view=odd)")
    out = markdown.markdown(text, extensions=["tables"])
    return out.replace("<a href=\"?view=odd", "<a target=\"_blank\" href=\"?view=odd")


def html_escape(s: str) -> str:
    return html.escape(s)


@solara.component
def OddPage():
    """docs/ODD.md, rendered with GitHub-style heading anchors, so the Info panels can link into it."""
    html = solara.use_memo(texts.odd_html, [])
    solara.Style(CSS)
    solara.Title("Model description (ODD)")
    # scroll to the #section once the text is on the page (the browser looked for it before it was)
    scroll = ("<img alt='' style='display:none' src='data:image/png;base64,' onerror=\"setTimeout(function(){"
              "var h=decodeURIComponent(location.hash.slice(1));var e=h&&document.getElementById(h);"
              "if(e){e.scrollIntoView();}},300)\">")
    solara.HTML(tag="div", unsafe_innerHTML=html + scroll, classes=["ma-odd"], style="max-width: 60em; padding: 16px")


# ----------------------------------------------------------------------------- Compare


_A0 = {"checkins.enabled": True}  # the default question: check-ins on (A) versus off (B)
_B0 = {"checkins.enabled": False}


@solara.component
def Compare(active: bool):
    base = solara.use_reactive("baseline")
    a_tog = solara.use_reactive(_A0)
    b_tog = solara.use_reactive(_B0)
    b_param = solara.use_reactive("(none)")
    fixed = solara.use_reactive(({}, {}))  # a preset's own settings beyond the toggles (A, B)
    b_value = solara.use_reactive(None)
    seed_text = solara.use_reactive("42")
    steps = solara.use_reactive(365)
    replicates = solara.use_reactive(ds.DEFAULT_REPLICATES)
    result = solara.use_reactive(None)
    status = solara.use_reactive("")

    base_sc = solara.use_memo(lambda: ds.build_scenario(base.value), [base.value])
    seed_value, seed_why = ds.parse_seed(seed_text.value)
    last_seed = solara.use_ref(42)  # an invalid seed in the field keeps the last valid one (and says so)
    if seed_value is not None:
        last_seed.current = seed_value
    seed_now = last_seed.current

    def toggles_of(over: dict) -> dict:
        return {k: bool(over.get(k, ds.value_of(base_sc, k))) for k in ds.TOGGLES}

    a_over = toggles_of(a_tog.value)
    b_over = toggles_of(b_tog.value)
    if b_param.value != "(none)":
        b_over[b_param.value] = ds.clamp(b_param.value, b_value.value if b_value.value is not None
                                         else ds.value_of(base_sc, b_param.value))
    fixed_a, fixed_b = fixed.value
    key = (base.value, tuple(sorted(a_over.items())), tuple(sorted(b_over.items())), seed_now, steps.value,
           replicates.value, tuple(sorted(fixed_a.items())), tuple(sorted(fixed_b.items())))

    def work(cancel: threading.Event):
        if not active:
            return
        try:
            sc_a, sc_b = dr.compare_pair(base.value, a_over, b_over, seed=seed_now, steps=steps.value,
                                         fixed_a=fixed_a, fixed_b=fixed_b)
        except ScenarioError as e:
            status.set(str(e))
            return
        status.set("running A and B ...")
        df_a, df_b = dr.run_metrics(sc_a), dr.run_metrics(sc_b)
        if cancel.is_set():
            return
        from sim.experiments.compare import replicate_seeds

        frames_a, frames_b = [], []
        for r, s in enumerate(replicate_seeds(sc_a.seed, replicates.value)):
            status.set(f"replicate {r + 1} of {replicates.value} ...")
            frames_a.append(dr.run_metrics(sc_a, s))
            frames_b.append(dr.run_metrics(sc_b, s))
            if cancel.is_set():
                return
        from sim.experiments.compare import arm_labels

        label_a, label_b = (f"{x}: {texts.plain_keys(y)}" for x, y in zip("AB", arm_labels(sc_a, sc_b)))
        title = f"{base.value}, seed {sc_a.seed}: {label_b}"
        seeds = replicate_seeds(sc_a.seed, replicates.value)
        result.set({
            "key": key, "a": dr.arm_summary(df_a), "b": dr.arm_summary(df_b),
            "headline": texts.compare_headline(sc_a, sc_b, frames_a, frames_b),
            "finding": texts.compare_finding(sc_a, sc_b, frames_a, frames_b),
            "png": dp.compare_png(df_a, df_b, label_a, label_b, title),
            "gap": dp.gap_png(frames_a, frames_b, f"{label_b} - {label_a}: {len(frames_a)} paired replicates"),
            # 1600-pixel versions for slides, drawn when asked for
            "png_hi": lambda: dp.compare_png(df_a, df_b, label_a, label_b, title, hi_res=True),
            "gap_hi": lambda: dp.gap_png(frames_a, frames_b, f"{label_b} - {label_a}: {len(frames_a)} paired "
                                         "replicates", hi_res=True),
            # the CSVs are built when a download asks for them (a result shows sooner)
            "csv": lambda: dr.metrics_csv(_long(df_a, df_b)),
            "replicates_csv": lambda: dr.replicates_csv(frames_a, frames_b, seeds, label_a, label_b),
        })
        status.set("")

    solara.use_thread(work, dependencies=[key, active], intrusive_cancel=False)

    def preset(k: str):
        _, scn, a, b = ds.PRESETS[k]
        base.set(scn)
        a_tog.set({x: v for x, v in a.items() if x in ds.TOGGLES})
        b_tog.set({x: v for x, v in b.items() if x in ds.TOGGLES})
        fixed.set(({x: v for x, v in a.items() if x not in ds.TOGGLES},
                   {x: v for x, v in b.items() if x not in ds.TOGGLES}))
        b_param.set("(none)")
        b_value.set(None)

    Prose(texts.TRAINER_INTRO)
    with solara.Row(classes=["ma-presets"]):
        for k, (label, *_rest) in ds.PRESETS.items():
            solara.Button(label, on_click=lambda k=k: preset(k), outlined=True, classes=[f"ma-preset-{k}"])
    # a preset's settings beyond the check boxes, said where they apply (they are not on the controls below)
    solara.Text(("Preset: " + "; ".join(f"{arm}: {texts.caption('', f)[len(', with '):]}" for arm, f in
                                        (("A", fixed_a), ("B", fixed_b)) if f)) if (fixed_a or fixed_b) else "",
                classes=["ma-preset-fixed"], style={"display": "block", "min-height": "1.2em"})
    with solara.Columns([1, 1, 1]):
        with solara.Column():
            solara.Select(label="Community (scenario)", value=base.value,
                          values=ds.compare_names(),
                          on_value=lambda v: (base.set(v), fixed.set(({}, {}))) if v in SCENARIOS else None)
            # no Reset here: the comparison on screen keeps the last valid seed, and says which
            why = seed_why and seed_why.replace("Reset keeps the run's seed", f"the comparison keeps seed {seed_now}")
            _seed_field(seed_text, why, "Seed (whole number, the same for A and B)", "ma-compare-seed")
            solara.SliderInt(f"Days: {steps.value}", value=steps.value, min=30, max=730,
                             on_value=lambda v: steps.set(int(ds.clamp_number(v, 30, 730, True))))
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates.value, min=1, max=ds.MAX_REPLICATES,
                             on_value=lambda v: replicates.set(int(ds.clamp_number(v, 1, ds.MAX_REPLICATES,
                                                                                   True))))
        with solara.Column():
            solara.Text("A", style={"color": "#1f77b4", "font-weight": "600"})
            for k in ds.TOGGLES:
                solara.Checkbox(label=f"A: {ds.LABELS[k]}", value=a_over[k],
                                on_value=lambda v, k=k: a_tog.set({**a_tog.value, k: bool(v)}))
        with solara.Column():
            solara.Text("B", style={"color": "#ff7f0e", "font-weight": "600"})
            for k in ds.TOGGLES:
                solara.Checkbox(label=f"B: {ds.LABELS[k]}", value=b_over[k],
                                on_value=lambda v, k=k: b_tog.set({**b_tog.value, k: bool(v)}))
            by_label = {ds.LABELS[k]: k for k in ds.COMPARE_PARAMS}
            solara.Select(label="B also changes", value=ds.LABELS.get(b_param.value, "(none)"),
                          values=["(none)", *by_label], classes=["ma-b-param"],
                          on_value=lambda v: (b_param.set(by_label.get(v, "(none)")), b_value.set(None)))
            if b_param.value != "(none)":
                spec = ds.control_spec(b_param.value, b_over[b_param.value])
                Control(b_param.value, spec, b_over[b_param.value], lambda v: b_value.set(v), prefix="B: ")
    res = result.value
    # Fixed slots: the status line, the result and the trial panel keep their places in the tree whether or
    # not a run is going on, so a redraw never rebuilds (and closes) the trial panel or drops a download.
    with solara.Column(classes=["ma-compare-progress"]):
        if status.value:
            solara.Text(status.value, classes=["ma-compare-status"])
            solara.ProgressLinear(True)
    with solara.Column(classes=["ma-compare-result"]):
        if res is not None:
            CompareResult(res, stale=res["key"] != key)
    with solara.Details("Virtual trial: randomise members or meetings (survival curves, handout)", expand=False):
        TrialView(base.value, active)


@solara.component
def CompareResult(res: dict, stale: bool):
    """The finished comparison: headline, both arms, curves and gap, downloads. A comparison of other
    settings than those chosen (``stale``) is not shown: its headline would speak of a run no longer set up."""
    if stale:
        solara.Text("The settings changed: running the comparison again for them ...",
                    classes=["ma-compare-stale"], style={"color": "#b26a00"})
        return
    solara.Text(res["headline"], classes=["ma-headline"])
    solara.Text(res["finding"], classes=["ma-finding"])
    with solara.Row(classes=["ma-wrap"]):
        for arm in ("a", "b"):
            s = res[arm]
            solara.Text(f"{arm.upper()}: relapses {int(s['total_relapses'])}, mean using {s['mean_using']:.4f}, "
                        f"mean stress {s['mean_stress']:.4f} (on day 0: {s['day0_stress']:.4f}), never used since "
                        f"day 0: {s['final_abstinent']:.3f} of the day-0 members",
                        classes=[f"ma-{arm}-summary", "ma-readout"])
    solara.Image(res["png"], classes=["ma-compare"])
    solara.Image(res["gap"], classes=["ma-gap"])
    with solara.Row():
        solara.FileDownload(res["csv"], filename="compare.csv", label="A and B metrics, seed pair (CSV)")
        solara.FileDownload(res["replicates_csv"], filename="compare_replicates.csv",
                            label="Every replicate, differences and intervals (CSV)")
        solara.FileDownload(res["png_hi"], filename="compare.png", label=f"Curves (PNG, {dp.HI_RES_PX} px)",
                            mime_type="image/png")
        solara.FileDownload(res["gap_hi"], filename="gap.png", label=f"Gap (PNG, {dp.HI_RES_PX} px)",
                            mime_type="image/png")


@solara.component
def TrialView(base: str, active: bool):
    intervention = solara.use_reactive("checkins")
    seeds = solara.use_reactive(8)
    started = solara.use_reactive(0)
    result = solara.use_reactive(None)
    status = solara.use_reactive("")
    eligible = solara.use_memo(lambda: {i: [n for n in SCENARIOS if ds.trial_eligible(n, i)]
                                        for i in ("checkins", "sponsorship")}, [])
    chosen = solara.use_reactive(None)
    options = eligible[intervention.value]
    scenario = chosen.value if chosen.value in options else (base if base in options else "baseline")
    key = (scenario, intervention.value, seeds.value)

    def work(cancel: threading.Event):
        if not active or not started.value:
            return
        status.set(f"running the trial: {seeds.value} paired seeds, three designs ...")
        try:
            result.set({"key": key, **dr.trial_result(scenario, intervention.value, seeds.value,
                                                      progress=lambda d, t: status.set(f"runs {d} of {t} ..."))})
        except ScenarioError as e:
            result.set({"key": key, "error": str(e)})
        finally:
            status.set("")

    solara.use_thread(work, dependencies=[started.value, active], intrusive_cancel=False)
    Prose(texts.TRIAL_INTRO)
    with solara.Row(classes=["ma-wrap"]):
        solara.Select(label="Community for the trial", value=scenario, values=options,
                      on_value=lambda v: chosen.set(v) if v in options else None)
        words = texts.intervention_words()  # the choice in words ("check-ins"), not the scenario key
        solara.Select(label="Withheld from the control arm", value=words[intervention.value],
                      values=list(words.values()),
                      on_value=lambda v: intervention.set(texts.intervention_key(v)) if texts.intervention_key(v) else None)
        solara.Select(label="Trial: paired seeds", value=seeds.value, values=list(dr.TRIAL_SEEDS),
                      on_value=lambda v: seeds.set(v) if v in dr.TRIAL_SEEDS else None)
        solara.Button("Run the trial", on_click=lambda: started.set(started.value + 1), color="primary",
                      classes=["ma-trial-run"], disabled=bool(status.value))
    with solara.Column():  # a fixed slot: the status line comes and goes without moving what follows
        if status.value:
            solara.Text(status.value, classes=["ma-trial-status"])
            solara.ProgressLinear(True)
    res = result.value
    if res is not None and res.get("key") == key:
        if "error" in res:
            solara.Text(res["error"], classes=["ma-trial-error"])
            return
        solara.Text(res["headline"], classes=["ma-trial-headline", "ma-headline"])
        for sentence in res["findings"]:
            solara.Text(sentence, classes=["ma-trial-finding"], style={"display": "block", "margin": "4px 0"})
        solara.Image(res["png"], classes=["ma-trial-curves"])
        Table(res["effects"])
        Table(res["published"])
        with solara.Row(classes=["ma-wrap"]):
            solara.FileDownload(res["handout"], filename="trial_handout.html",
                                label="Handout (HTML: the page for the group, statistics on the back)",
                                mime_type="text/html")
            solara.FileDownload(res["handout_pdf"], filename="trial_handout.pdf", label="Handout (PDF, two sides)",
                                mime_type="application/pdf")
            solara.FileDownload(res["csv"], filename="trial_members.csv", label="Every member-run (CSV)")


def _long(df_a, df_b):
    return pd.concat([df_a.assign(arm="A"), df_b.assign(arm="B")], ignore_index=True)


# ----------------------------------------------------------------------------- Lesson


#: the lesson's figure is shown at the width it is drawn
from sim.experiments.lesson import PROJECTOR_PX as LESSON_PX  # noqa: E402


@solara.component
def Lesson(active: bool):
    seeds = solara.use_reactive(20)
    started = solara.use_reactive(0)
    result = solara.use_reactive(dr.lesson_cached(20))
    status = solara.use_reactive("")

    def work(cancel: threading.Event):
        if not active or not started.value:
            return
        n = seeds.value
        eta = texts.Eta()
        status.set(f"running the lesson: 12 arms x {n} seeds; " + eta.text(0, 12 * n).split("; ", 1)[1])

        def progress(done, total):  # the time left, from the speed measured on this machine after the first run
            status.set(eta.text(done, total))

        try:
            result.set(dr.lesson_result(n, progress=progress))
        finally:
            status.set("")

    solara.use_thread(work, dependencies=[started.value, active], intrusive_cancel=False)

    def choose(v):
        if v in dr.LESSON_SEEDS:
            seeds.set(v)
            result.set(dr.lesson_cached(v))

    Prose(texts.LESSON_INTRO)
    with solara.Row(classes=["ma-wrap"]):
        solara.Select(label="Paired seeds per arm", value=seeds.value, values=list(dr.LESSON_SEEDS),
                      on_value=choose)
        solara.Button("Run the lesson", on_click=lambda: started.set(started.value + 1), color="primary",
                      classes=["ma-lesson-run"], disabled=bool(status.value))
    with solara.Column():  # a fixed slot: the status line comes and goes without moving what follows
        if status.value:
            solara.Text(status.value, classes=["ma-lesson-status"])
            solara.ProgressLinear(True)
    res = result.value
    if res is not None:
        solara.Text(res["finding"], classes=["ma-lesson-finding", "ma-headline"])
        solara.Image(res["png"], classes=["ma-lesson"], width=f"{LESSON_PX}px")
        Table(res["table"])
        solara.HTML(tag="div", unsafe_innerHTML=res["notes_html"], classes=["ma-lesson-notes"])
        with solara.Row():
            solara.FileDownload(res["csv"], filename="lesson_runs.csv", label="Every run (CSV)")
            solara.FileDownload(res["png_full"], filename="lesson.png", label="Figure, every measure (PNG)",
                                mime_type="image/png")


# ----------------------------------------------------------------------------- Results


@solara.component
def Results():
    folders = solara.use_memo(ds.find_sweeps, [])
    folder = solara.use_reactive(None)
    df = solara.use_reactive(None)
    source = solara.use_reactive("")
    metric = solara.use_reactive(None)
    x = solara.use_reactive(None)
    y = solara.use_reactive("(none)")
    error = solara.use_reactive(None)

    def adopt(table, label):
        params, mets = ds.split_runs(table)
        if not params or not mets:
            error.set(f"{label}: no swept parameters or no summary columns found")
            return
        error.set(None)
        df.set(table)
        source.set(label)
        x.set(params[0])
        y.set("(none)")
        metric.set(next((m for m in mets if "using" in m), mets[0]))

    def open_folder(rel):
        folder.set(rel)
        try:
            adopt(ds.open_sweep(rel), rel)
        except (ScenarioError, OSError, ValueError) as e:
            error.set(str(e))

    def on_file(info):
        try:
            adopt(ds.read_runs_bytes(info["data"]), info["name"])
        except Exception as e:  # a bad upload is reported, never raised
            error.set(f"{info.get('name', 'file')}: cannot read as Parquet ({type(e).__name__})")

    Prose(texts.RESULTS_INTRO)
    with solara.Row():
        if folders:
            solara.Select(label=f"Sweep folder under {ds.results_root().name}/", value=folder.value,
                          values=folders, on_value=open_folder)
        else:
            solara.Text(f"No sweep folders with runs.parquet under {ds.results_root().name}/ yet.")
    solara.FileDrop(label="... or drop a runs.parquet here", on_file=on_file, lazy=False)
    if error.value:
        solara.Error(error.value)
    table = df.value
    if table is None:
        return
    params, mets = ds.split_runs(table)
    solara.Text(f"{source.value}: {len(table)} runs; swept: {', '.join(params)}", classes=["ma-results-info"])
    with solara.Row():
        solara.Select(label="Metric", value=metric.value, values=mets, on_value=metric.set)
        solara.Select(label="Against", value=x.value, values=params, on_value=x.set)
        solara.Select(label="and (heatmap)", value=y.value, values=["(none)", *[p for p in params if p != x.value]],
                      on_value=y.set)
    if metric.value in mets and x.value in params:
        png = dp.results_png(table, metric.value, x.value, None if y.value == "(none)" else y.value)
        solara.Image(png, classes=["ma-results-plot"])
        solara.FileDownload(png, filename=f"{metric.value}_by_{x.value}.png", label="Plot (PNG)",
                            mime_type="image/png")


# ----------------------------------------------------------------------------- page


@solara.component
def Page():
    router = solara.use_router()
    if "view=odd" in (router.search or ""):
        return OddPage()
    return MainPage(router.search or "")


@solara.component
def MainPage(search: str):
    link = solara.use_memo(lambda: ds.parse_link(search), [])
    tab = solara.use_reactive(0)
    # a tab's content is built the first time it is opened (a page opens quickly), then kept with its state
    visited = solara.use_reactive(frozenset({0}))

    def open_tab(i):
        tab.set(i)
        visited.set(visited.value | {i})

    present = solara.use_reactive(bool(link.options.get("present", False)))
    solara.Style(CSS)
    solara.Title("Mutual aid in recovery communities")
    with solara.Column(style={"padding": "12px"}, classes=["ma-root", *(["ma-present"] if present.value else [])]):
        with solara.Row(classes=["ma-header"]):
            solara.Text("Mutual aid versus struggle in a recovery community", classes=["ma-title"])
            solara.Switch(label="Presentation mode", value=present.value, classes=["ma-present-toggle"],
                          on_value=lambda v: (present.set(bool(v)), tab.set(0) if v else None))
        with solara.lab.Tabs(value=tab.value, on_value=open_tab):
            with solara.lab.Tab("Explore"):
                Explore(present.value, link)
            with solara.lab.Tab("Compare"):
                if 1 in visited.value:
                    Compare(active=tab.value == 1)
            with solara.lab.Tab("Results"):
                if 2 in visited.value:
                    Results()
            with solara.lab.Tab("Lesson"):
                if 3 in visited.value:
                    Lesson(active=tab.value == 3)
