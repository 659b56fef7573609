"""The 2-D playground page's panels: settings ⇄ widgets, your own data (upload, draw), the
weight editor, accuracy and confusion, save / load / export, the sweep, the teacher's panel.

The page script (pages/playground/playground.py) lays them out; the maths is in
dlplay.playground. Everything lives under session keys starting "pg".
"""
from __future__ import annotations

import streamlit as st

from dlplay import course, visible, work
from dlplay.playground import Playground, PlaygroundState, datasets, export, features, lesson, render, sweep
from dlplay.playground.custom import MIN_ROWS, CustomData, DataError, from_points, read_csv
from dlplay.playground.state import CONTROLS
from dlplay.runs import get_store
from dlplay_app.ui import runs as ui_runs
from dlplay_app.ui.escape import md, md_list
from dlplay_app.ui.netview import drawn, picked

KEY = course.page("pg").key  # the course table names it; its widgets and runs use it
ss = st.session_state
DRAW_CLASSES = 5
STOP_INPUTS = {  # the stop value's input, in the learner's units (accuracy in %)
    "test_loss": dict(label="Target test loss", min_value=0.0, max_value=1e6, step=0.01, format="%.3f"),
    "test_accuracy": dict(label="Target accuracy (%)", min_value=0.0, max_value=100.0, step=1.0, format="%.1f"),
    "epochs": dict(label="Epochs", min_value=1, max_value=100_000, step=100),
}
STOP_DEFAULTS = {"test_loss": 0.05, "test_accuracy": 95.0, "epochs": 500}


def svg(picture: str) -> None:
    # st.html's sanitiser drops SVG; markdown keeps it, hover titles included. Inside a <div> block
    # markdown leaves the text alone instead of parsing it as a paragraph.
    st.markdown(f"<div class='pg-svg'>\n{picture}\n</div>", unsafe_allow_html=True)


# --- settings: URL -> widgets on first load, widgets -> state on every run ----------------------------
def widget_values(s: PlaygroundState) -> dict:
    values = {"dataset": s.dataset, "noise": s.noise, "train": s.perc_train, "batch": s.batch_size,
              "features": list(s.features), "layers": len(s.network_shape), "lr": s.learning_rate,
              "act": s.activation, "reg": s.regularization, "reg_rate": s.regularization_rate,
              "test": s.show_test_data, "discrete": s.discretize, "sched": s.lr_schedule,
              "sched_epochs": s.schedule_epochs, "dropout": s.dropout, "stop": s.stop_metric, "hide": list(s.hide)}
    for metric, default in STOP_DEFAULTS.items():
        value = s.stop_value if s.stop_metric == metric else default
        values[f"stop_{metric}"] = {"test_accuracy": float(value) * (100 if s.stop_metric == metric else 1),
                                    "epochs": int(value)}.get(metric, float(value))
    values.update({f"n{i}": n for i, n in enumerate(s.network_shape)})
    acts = s.layer_activations or ("",) * len(s.network_shape)
    values.update({f"act{i}": "" if a == s.activation else a for i, a in enumerate(acts)})
    return values


def set_widgets(s: PlaygroundState) -> None:
    """Every widget shows `s` (a loaded run): call from a callback, before the widgets are drawn."""
    for name, value in widget_values(s).items():
        ss[f"{KEY}-{name}"] = value
    ss[f"{KEY}:seed"] = s.seed
    ss[f"{KEY}:state"] = s


def first_visit(query: dict) -> None:
    """The URL decides on the first visit in this session; afterwards the session does, and
    widgets forgotten after a visit to another page come back from the state."""
    data = ss.get(f"{KEY}:data")
    if f"{KEY}:state" not in ss:
        ss[f"{KEY}:state"] = PlaygroundState.from_query(query, allow_custom=data is not None)
        ss[f"{KEY}:seed"] = ss[f"{KEY}:state"].seed
        if str(query.get("dataset", "")) == datasets.CUSTOM and data is None:
            note("info", "This link was made with its own points, which links don't carry: upload them under "
                         "**Your own data** (or open the saved run under **Save, load, export**). Showing Circle.")
    request = ss.get("_dlplay_reopen")
    if request and request.get("page") == KEY:  # "Reopen on its page" from the Runs page
        ss.pop("_dlplay_reopen")
        open_run(int(request["run"]))
        data = ss.get(f"{KEY}:data")
    for name, value in widget_values(ss[f"{KEY}:state"]).items():
        ss.setdefault(f"{KEY}-{name}", value)
    if ss[f"{KEY}-dataset"] == datasets.CUSTOM and data is None:
        ss[f"{KEY}-dataset"] = "circle"


def state_from_widgets(shape: tuple, acts: tuple, data: CustomData | None) -> PlaygroundState:
    def g(name):
        return ss[f"{KEY}-{name}"]
    metric = g("stop")
    value = {"none": 0.0, "test_loss": lambda: g("stop_test_loss"), "epochs": lambda: g("stop_epochs"),
             "test_accuracy": lambda: g("stop_test_accuracy") / 100}[metric]
    custom = g("dataset") == datasets.CUSTOM and data is not None
    return PlaygroundState().replace(
        dataset=g("dataset") if custom or g("dataset") != datasets.CUSTOM else "circle", noise=g("noise"),
        perc_train=g("train"), batch_size=g("batch"), features=tuple(g("features") or ()), network_shape=shape,
        activation=g("act"), learning_rate=g("lr"), regularization=g("reg"), regularization_rate=g("reg_rate"),
        seed=ss[f"{KEY}:seed"], show_test_data=g("test"), discretize=g("discrete"),
        n_classes=data.n_classes if custom else 2, dropout=g("dropout"),
        layer_activations=tuple(a or g("act") for a in acts) if any(acts) else (),
        lr_schedule=g("sched"), schedule_epochs=g("sched_epochs"), stop_metric=metric,
        stop_value=value() if callable(value) else value, hide=tuple(g("hide")))


def current_sim(state: PlaygroundState, data: CustomData | None) -> Playground | None:
    """The session's run with `state` applied (a fresh one when the data or network changed)."""
    sim = ss.get(f"{KEY}:sim")
    given = data.data if state.dataset == datasets.CUSTOM and data is not None else None
    fresh = sim is None or ss.get(f"{KEY}:sim_data") is not (data if given is not None else None)
    if fresh:
        sim = Playground(state, data=given)
    elif (synced := sim.sync(state)) is not sim:
        sim = synced
    else:
        ss[f"{KEY}:sim"] = sim
        return sim
    ss[f"{KEY}:sim"], ss[f"{KEY}:sim_data"], ss[f"{KEY}:new_sim"] = sim, data if given is not None else None, True
    ss.pop(f"{KEY}:pick", None)
    return sim


def source_text(state: PlaygroundState, data: CustomData | None) -> str:
    if state.dataset == datasets.CUSTOM and data is not None:
        return f"{md(data.name)} ({len(data):,} points, yours)"  # the visitor's file name, shown as typed
    title = datasets.DATASETS[state.dataset][0]
    return f"{title}, generated by dlplay (seed {state.seed}, noise {state.noise}%)"


# --- messages that outlive a rerun ------------------------------------------------------------------
def note(kind: str, text: str) -> None:
    ss.setdefault(f"{KEY}:notes", []).append((kind, text))


def show_notices() -> None:
    for kind, text in ss.pop(f"{KEY}:notes", []):
        getattr(st, kind)(visible.text(text))  # a store's or a file's error may name a server path


# --- your own data -------------------------------------------------------------------------------
def _uploaded() -> None:
    file = ss.get(f"{KEY}-upload")
    if file is None:
        return
    try:
        d = read_csv(file.getvalue(), file.name)
    except DataError as e:  # its message may quote the file's cells: shown as typed, like the file's name
        note("error", f"**{md(file.name)}**: {md(e)}")
        return
    if (why := d.training_refusal()) is not None:
        note("error", f"**{md(file.name)}**: {why}")
        return
    _use(d)
    note("success", f"**{md(file.name)}**: {len(d):,} points, "
                    + (f"{d.n_classes} classes ({md_list(d.classes)})" if d.n_classes else "regression")
                    + ". " + " ".join((*map(md, d.notes), d.axis_note())))


def _use(d: CustomData | None) -> None:
    ss[f"{KEY}:data"] = d
    ss[f"{KEY}-dataset"] = datasets.CUSTOM if d is not None else "circle"
    ss[f"{KEY}:playing"] = False


def own_data(upload: bool, draw: bool) -> None:
    with st.expander("Your own data", key=f"{KEY}-own_data",
                     expanded=ss.get(f"{KEY}:data") is not None or ss.get(f"{KEY}-draw", False)):
        if upload:
            st.file_uploader("A CSV with columns x1, x2 and label (classes) or value (regression)", type=["csv", "txt"],
                             key=f"{KEY}-upload", on_change=_uploaded,
                             help="At most 10,000 rows and 5 classes to train (10 to show). Coordinates outside "
                                  "[-6, 6] are rescaled to fit, and the page says how.")
        if draw:
            st.toggle("Draw points on the map", key=f"{KEY}-draw", on_change=_start_drawing,
                      help=f"Click the output map to add points of the chosen class; from {MIN_ROWS} points of "
                           "two classes they become the dataset.")
            if ss.get(f"{KEY}-draw"):
                ss.setdefault(f"{KEY}-draw_class", 0)
                st.radio("Class of new points", list(range(DRAW_CLASSES)), key=f"{KEY}-draw_class", horizontal=True,
                         format_func=lambda k: f":{_COLOUR_NAMES[k]}[●] {k + 1}")
                n = len(ss.get(f"{KEY}:drawn", []))
                st.caption(f"{n} point{'s' * (n != 1)} drawn.")
                st.button("Clear drawn points", key=f"{KEY}-clear", on_click=_clear_drawing)
        d = ss.get(f"{KEY}:data")
        if d is not None:
            st.caption(f"Your data: {md(d.name)}, {len(d):,} points. {d.axis_note()}")


_COLOUR_NAMES = ("orange", "blue", "green", "violet", "red")


def _start_drawing() -> None:
    if ss.get(f"{KEY}-draw"):
        ss[f"{KEY}:playing"] = False
        ss.setdefault(f"{KEY}:drawn", [])


def _clear_drawing() -> None:
    ss[f"{KEY}:drawn"] = []
    d = ss.get(f"{KEY}:data")
    if d is not None and d.name == "drawn points":
        _use(None)


def drawing() -> str | None:
    """The colour of the class being drawn, or None when not drawing."""
    if not ss.get(f"{KEY}-draw") or "draw" in ss.get(f"{KEY}-hide", ()):
        return None
    return render.CLASS_HEX[ss.get(f"{KEY}-draw_class", 0)]


def drawing_anew() -> bool:
    """Drawing while the points aren't yet a dataset: the map shows only what is drawn."""
    d = ss.get(f"{KEY}:data")
    return drawing() is not None and not (d is not None and d.name == "drawn points")


def pending_points() -> list:
    """Drawn points not yet a dataset (fewer than needed), to show on the map meanwhile."""
    if not drawing_anew():
        return []
    return [(x, y, render.CLASS_HEX[c]) for x, y, c in ss.get(f"{KEY}:drawn", [])]


def on_point() -> None:
    point = drawn(f"{KEY}-view")
    if point is None or not drawing():
        return
    points = ss.setdefault(f"{KEY}:drawn", [])
    points.append((*point, int(ss.get(f"{KEY}-draw_class", 0))))
    ss[f"{KEY}:rerun_app"] = True
    if len(points) >= MIN_ROWS and len({c for *_, c in points}) >= 2:
        try:
            d = from_points([p[:2] for p in points], [p[2] for p in points],
                            names=[f"class {k + 1}" for k in range(DRAW_CLASSES)])
        except DataError as e:
            note("error", md(e))
            return
        _use(d)


def class_labels(sim: Playground):
    d = ss.get(f"{KEY}:data")
    return list(d.classes) if sim.state.dataset == datasets.CUSTOM and d is not None and d.n_classes else None


# --- the weight editor -----------------------------------------------------------------------------------
def on_pick() -> None:
    choice = picked(f"{KEY}-view")
    if choice is not None:
        _select(choice)


def _select(choice) -> None:
    sim = ss[f"{KEY}:sim"]
    value = _read(sim, choice)
    if value is None:
        return
    ss[f"{KEY}:pick"] = choice
    ss[f"{KEY}-edit_value"] = round(value, 6)


def _read(sim: Playground, choice) -> float | None:
    kind, where = choice
    try:
        if kind == "w":
            layer, i, j = where
            return float(sim.net.weights[layer][i, j])
        layer, j = where
        return float(sim.net.biases[layer][j])
    except (IndexError, ValueError, TypeError):
        return None


def selected() -> str | None:
    choice = ss.get(f"{KEY}:pick")
    return f"{choice[0]}:{','.join(map(str, choice[1]))}" if choice else None


def _names(sim: Playground) -> list[list[str]]:
    """Every layer's neuron names, the inputs first."""
    names = [[features.label(f) for f in features.ordered(sim.state.features)]]
    for li, w in enumerate(sim.net.weights):
        last = li == len(sim.net.weights) - 1
        names.append([("output" + (f" {j + 1}" if w.shape[1] > 1 else "")) if last else f"layer {li + 1} neuron {j + 1}"
                      for j in range(w.shape[1])])
    return names


def describe(sim: Playground, choice) -> str:
    kind, where = choice
    names = _names(sim)
    if kind == "w":
        layer, i, j = where
        return f"weight from {names[layer][i]} to {names[layer + 1][j]}"
    layer, j = where
    return f"bias of {names[layer + 1][j]}"


def _choices(sim: Playground) -> list:
    out = []
    for li, (w, b) in enumerate(zip(sim.net.weights, sim.net.biases)):
        out += [("w", (li, i, j)) for i in range(w.shape[0]) for j in range(w.shape[1])]
        out += [("b", (li, j)) for j in range(len(b))]
    return out


def _apply_edit() -> None:
    sim, choice = ss[f"{KEY}:sim"], ss.get(f"{KEY}:pick")
    if choice is None:
        return
    value = float(ss[f"{KEY}-edit_value"])
    kind, where = choice
    try:
        (sim.set_weight if kind == "w" else sim.set_bias)(*where, value)
    except (IndexError, ValueError) as e:
        note("error", f"Could not set the {describe(sim, choice)}: {e}")


def _zero() -> None:
    ss[f"{KEY}:playing"] = False
    ss[f"{KEY}:sim"].zero_weights()
    if ss.get(f"{KEY}:pick"):
        _select(ss[f"{KEY}:pick"])


def _picked_from_list() -> None:
    _select(ss[f"{KEY}-pick_list"])


def edit_panel(sim: Playground) -> None:
    choices = _choices(sim)
    choice = ss.get(f"{KEY}:pick")
    if choice not in choices:
        choice = None
        ss.pop(f"{KEY}:pick", None)
    cols = st.columns([2.2, 1.2, 0.8, 1.2], vertical_alignment="bottom")
    ss[f"{KEY}-pick_list"] = choice if choice is not None else choices[0]
    cols[0].selectbox("Weight or bias to edit", choices, key=f"{KEY}-pick_list", on_change=_picked_from_list,
                      format_func=lambda c: describe(sim, c), help="Or click its line (a bias: its small square).")
    if choice is not None:
        ss.setdefault(f"{KEY}-edit_value", 0.0)
        cols[1].number_input(f"now {_read(sim, choice):.4f}", -100.0, 100.0, step=0.1, format="%.4f",
                             key=f"{KEY}-edit_value")
        cols[2].button("Set", key=f"{KEY}-edit_set", on_click=_apply_edit, type="primary",
                       help="Training continues from the new value.")
    else:
        cols[1].caption("Click a weight's line to edit it.")
    cols[3].button("Zero weights", key=f"{KEY}-zero", on_click=_zero, icon=":material/exposure_zero:",
                   help="Every weight and bias 0. Reset gives fresh random ones.")


# --- accuracy ---------------------------------------------------------------------------------------------
def accuracy_panel(sim: Playground) -> None:
    if sim.error:
        return
    acc_train, acc_test = sim.accuracy("train"), sim.accuracy("test")
    st.markdown(f"**Accuracy** — test {acc_test:.1%} · training {acc_train:.1%}")
    st.html(render.confusion_html(sim.confusion("test"), render.class_names(sim, class_labels(sim))))
    st.caption("Test points: rows are the true class, columns what the network says.")


# --- save, load, export ----------------------------------------------------------------------------------
def _save() -> None:
    sim, d = ss[f"{KEY}:sim"], ss.get(f"{KEY}:data")
    try:
        run_id = lesson.save_run(sim, ui_runs.workspace(), d if sim.state.dataset == datasets.CUSTOM else None)
    except (ValueError, OSError) as e:
        note("error", f"Could not save: {e}")
        return
    ss[f"{KEY}:saved"] = run_id
    note("success", f"Saved as run {run_id} ({lesson.headline(sim)}): it is on the Runs page, and "
                    "**Load** brings it back here.")


def _load() -> None:
    run_id = ss.get(f"{KEY}-load_run")
    if run_id is None:
        return
    open_run(int(run_id))


def open_run(run_id: int) -> None:
    """Show a stored playground run (saved, or a sweep's) here: its settings, data and network."""
    try:
        state, sim = lesson.load_run(run_id, ui_runs.workspace())
        run = get_store().get(run_id)
        spec = lesson.specs.from_dict(lesson.PlaygroundSpec, run.spec)
    except (KeyError, ValueError, DataError) as e:
        note("error", f"Could not open run {run_id}: {e}")
        return
    d = spec.custom
    ss[f"{KEY}:data"] = d
    set_widgets(state)
    ss[f"{KEY}:sim"], ss[f"{KEY}:sim_data"] = sim, d
    ss[f"{KEY}:playing"] = False
    ss.pop(f"{KEY}:pick", None)
    note("success", f"Opened run {run_id}: epoch {sim.epoch:,}, {lesson.headline(sim)}. Play goes on training it.")


def _saved_runs() -> list:
    return [r for r in get_store().list(ui_runs.workspace(), page=lesson.PAGE) if r.has_model]


def save_load_export(sim: Playground, data, can_save: bool, can_export: bool, playing: bool) -> None:
    with st.expander("Save, load, export", expanded=False):
        cols = st.columns(3 if can_save else 1)
        if can_save:
            cols[0].button("Save this network", key=f"{KEY}-save", on_click=_save, icon=":material/save:",
                           help="Keeps the weights, the points and the loss history as a run.")
            runs = {r.id: r for r in _saved_runs()}
            if runs:
                cols[1].selectbox("Saved playground runs", list(runs), key=f"{KEY}-load_run",
                                  format_func=lambda i: f"run {i} · {runs[i].headline} · {runs[i].brief}")
                cols[2].button("Load", key=f"{KEY}-load", on_click=_load, icon=":material/folder_open:")
            else:
                cols[1].caption("No saved playground network yet.")
        if can_export:
            if playing:
                st.caption("Pause to export the network as it is now.")
            else:
                source = export.torch_source(sim)
                st.download_button("Download as PyTorch (playground_net.py)", source, "playground_net.py",
                                   "text/x-python", key=f"{KEY}-export", icon=":material/download:")
                st.caption(f"{export.describe(sim)}: a torch module with these weights whose outputs equal the "
                           "playground's to 1e-6.")
                with st.popover("Show the code"):
                    st.code(source, language="python")


# --- the sweep ----------------------------------------------------------------------------------------------
def _start_sweep(state: PlaygroundState, data) -> None:
    setting = ss[f"{KEY}-sweep_setting"]
    lo, hi = sorted((ss[f"{KEY}-sweep_lo"], ss[f"{KEY}-sweep_hi"]), key=sweep.options(setting).index)
    values = sweep.values(setting, lo, hi, ss[f"{KEY}-sweep_n"])
    data = data if state.dataset == datasets.CUSTOM else None
    old = ss.get(f"{KEY}:sweep")
    replacing = old.seq.jobs[-1] if old is not None and old.seq.is_active and old.seq.jobs else None
    try:
        new = sweep.start(ui_runs.visitor(), state, setting, values, ss[f"{KEY}-sweep_epochs"], data,
                          replacing=replacing)
    except work.Refused as exc:
        note("warning", exc.reason)
        return
    if old is not None:
        sweep.stop(old)  # a new sweep replaces it; its runs keep what they learned
    ss[f"{KEY}:sweep"] = new
    ss[f"{KEY}:sweep_settled"] = False


def _stop_sweep() -> None:
    if ss.get(f"{KEY}:sweep"):
        sweep.stop(ss[f"{KEY}:sweep"])


SWEEP_RANGES = {"learning_rate": (0.001, 1.0)}  # the whole menu runs to 10, which only diverges


def _range(setting: str) -> tuple:
    opts = sweep.options(setting)
    lo, hi = SWEEP_RANGES.get(setting, (opts[0], opts[-1]))
    return (lo, hi) if lo in opts and hi in opts else (opts[0], opts[-1])


def _sweep_range_default() -> None:
    ss[f"{KEY}-sweep_lo"], ss[f"{KEY}-sweep_hi"] = _range(ss[f"{KEY}-sweep_setting"])


def sweep_panel(state: PlaygroundState, data) -> None:
    with st.expander("Parameter sweep", expanded=bool(ss.get(f"{KEY}:sweep"))):
        st.caption("One setting over a range, the rest as on the page: each value trains as its own run "
                   "(they appear on the Runs page); their final decision maps side by side.")
        ss.setdefault(f"{KEY}-sweep_setting", "learning_rate")
        cols = st.columns([1.3, 1, 1, 0.8, 1, 1.1], vertical_alignment="bottom")
        setting = cols[0].selectbox("Sweep", list(sweep.SETTINGS), format_func=sweep.label,
                                    key=f"{KEY}-sweep_setting", on_change=_sweep_range_default)
        opts = list(sweep.options(setting))
        for name, default in zip(("lo", "hi"), _range(setting)):
            if ss.get(f"{KEY}-sweep_{name}") not in opts:
                ss[f"{KEY}-sweep_{name}"] = default
        cols[1].selectbox("From", opts, key=f"{KEY}-sweep_lo", format_func=_value_text)
        cols[2].selectbox("To", opts, key=f"{KEY}-sweep_hi", format_func=_value_text)
        cols[3].number_input("Values", 2, 6, value=4, key=f"{KEY}-sweep_n")
        cols[4].selectbox("Epochs each", [50, 100, 200, 500, 1000], index=2, key=f"{KEY}-sweep_epochs")
        cols[5].button("Run sweep", key=f"{KEY}-sweep_go", on_click=_start_sweep, args=(state, data),
                       type="primary", icon=":material/grid_view:")
        if info := ss.get(f"{KEY}:sweep"):
            # Polls while its runs train (a fragment re-run, not the page's); a last page run once they end.
            st.fragment(_sweep_results, run_every=None if sweep.finished(info) else 0.5)()


def _value_text(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _sweep_results() -> None:
    info = ss[f"{KEY}:sweep"]
    results = sweep.results(info)
    done = sweep.finished(info)
    label = sweep.label(info.setting)
    ended = sum(r["state"] not in ("queued", "running") for r in results)
    st.markdown(f"**{label}** · {ended} of {len(results)} runs ended · {info.epochs} epochs each")
    svg(render.sweep_svg(results, lambda v: f"{label} {_value_text(v)}"))
    cols = st.columns([2, 1, 1], vertical_alignment="bottom")
    finished = [r["run"] for r in results if r["state"] not in ("queued", "running")]
    if finished:
        cols[0].selectbox("Open a run in the playground", finished, key=f"{KEY}-sweep_open",
                          format_func=lambda i: next(f"run {i} · {label} {_value_text(r['value'])}"
                                                     for r in results if r["run"] == i))
        cols[1].button("Open", key=f"{KEY}-sweep_open_go", on_click=lambda: open_run(ss[f"{KEY}-sweep_open"]))
    if not done:
        cols[2].button("Stop sweep", key=f"{KEY}-sweep_stop", on_click=_stop_sweep)
    elif not ss.get(f"{KEY}:sweep_settled"):
        ss[f"{KEY}:sweep_settled"] = True
        st.rerun()  # the page's run, so this fragment stops polling


# --- classroom presets -----------------------------------------------------------------------------------
def teacher_panel() -> None:
    # keyed: hiding controls above it moves it, and an unkeyed expander would then fold up
    with st.expander("For teachers: hide controls", key=f"{KEY}-teacher"):
        st.multiselect("Controls to hide", list(CONTROLS), format_func=CONTROLS.get, key=f"{KEY}-hide",
                       help="Hidden controls keep their values. Share the page's address: it carries the list "
                            "(hide=…), so students who open it see only the rest.")
        if ss[f"{KEY}-hide"]:
            st.caption("Copy the address bar now: that link opens this page with those controls hidden. "
                       + ("The teacher's panel is hidden too, so students can't unhide them."
                          if "hide_panel" in ss[f"{KEY}-hide"] else ""))

