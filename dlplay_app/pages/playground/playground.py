"""2-D playground: TensorFlow Playground's tiny network, trained live, every setting in the URL —
plus your own data, more classes, editable weights, save/load/export, sweeps and classroom presets."""
import random

import streamlit as st

from dlplay import course, visible
from dlplay.playground import Playground, datasets, features, render
from dlplay.playground.sim import TICK_S, loss_text
from dlplay.playground.state import CONTROLS, DROPOUTS, LEARNING_RATES, LR_SCHEDULES, MAX_LAYERS, MAX_NEURONS, REG_RATES
from dlplay_app.ui import playground as panels
from dlplay_app.ui.netview import netview

KEY = panels.KEY
SHORT = {"circle": "Circle", "xor": "XOR", "gauss": "Gaussian", "spiral": "Spiral", "reg-plane": "Plane",
         "reg-gauss": "Multi-Gauss", "spiral3": "3 spirals", "blobs5": "5 blobs", datasets.CUSTOM: "Your data"}
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}
SCHEDULES = {"constant": "Constant", "step": "Step (halve)", "cosine": "Cosine"}
STOPS = {"none": "Never", "test_loss": "Test loss ≤", "test_accuracy": "Test accuracy ≥", "epochs": "After epochs"}

st.set_page_config(layout="wide")  # the network and the heatmap need the width
ss = st.session_state
panels.first_visit(st.query_params.to_dict())
hidden = set(ss[f"{KEY}-hide"])


def shown(name: str) -> bool:
    """Whether a teacher's link left this control on the page."""
    return name not in hidden


st.title(course.page(KEY).heading)
st.markdown(
    "A small neural network learns to tell the colours of points apart (or, on the regression sets, to "
    "predict a value) from their two coordinates. Every square is a neuron and shows what it computes over "
    "the whole plane — **hover one** to see it large on the right; the big picture is the network's answer. "
    "Press **▶ Play** and watch the neurons build the boundary together — the experiment of "
    "[TensorFlow Playground](https://playground.tensorflow.org), with more classes, your own data, "
    "**click a weight to edit it**, save, export to PyTorch and sweeps.")
if hidden:
    st.caption(f"Some controls are hidden by the link you opened (a teacher's classroom preset): "
               f"{', '.join(CONTROLS[c] for c in CONTROLS if c in hidden)}.")
panels.show_notices()


def _pause():
    ss[f"{KEY}:playing"] = False


def _toggle_play():
    ss[f"{KEY}:playing"] = not ss.get(f"{KEY}:playing", False)


def _step():
    _pause()
    ss[f"{KEY}:sim"].step()


def _reset():
    _pause()
    ss[f"{KEY}:sim"] = ss[f"{KEY}:sim"].reset()
    ss.pop(f"{KEY}:pick", None)


def _regenerate():
    ss[f"{KEY}:seed"] = random.randrange(100_000)


data = ss.get(f"{KEY}:data")  # the learner's own points (uploaded or drawn), or None
with st.sidebar:
    st.header("Data")
    if shown("dataset"):
        panels.svg(render.thumbnails_svg(ss[f"{KEY}-dataset"]))
        options = list(datasets.DATASETS) + ([datasets.CUSTOM] if data is not None else [])
        st.radio("Which dataset", options, format_func=SHORT.get, key=f"{KEY}-dataset", horizontal=True,
                 help="Circle, XOR, Gaussian and Spiral are two classes (blue vs orange); 3 spirals and 5 blobs "
                      "more; Plane and Multi-Gauss are regression: each point's colour is a number to predict.")
    if shown("upload") or shown("draw"):
        panels.own_data(shown("upload"), shown("draw"))
    if shown("perc_train"):
        st.slider("Ratio of training to test data", 10, 90, step=10, format="%d%%", key=f"{KEY}-train")
    if shown("noise"):
        st.slider("Noise", 0, 50, step=5, key=f"{KEY}-noise", disabled=ss[f"{KEY}-dataset"] == datasets.CUSTOM,
                  help="Jitters which side of the boundary a point's label comes from (generated data only).")
    if shown("batch_size"):
        st.slider("Batch size", 1, 30, key=f"{KEY}-batch", help="Points per weight update.")
    if shown("regenerate"):
        st.button("Regenerate data", on_click=_regenerate, key=f"{KEY}-regen", width="stretch",
                  help="New random points (and starting weights): a new seed.")
    if shown("features"):
        st.header("Features")
        st.pills("Inputs the network sees", list(features.FEATURES), format_func=features.label,
                 selection_mode="multi", key=f"{KEY}-features",
                 help="Each input is computed from the point's coordinates (X₁, X₂).")
    if shown("show_test_data") or shown("discretize"):
        st.header("Display")
    if shown("show_test_data"):
        st.toggle("Show test data", key=f"{KEY}-test")
    if shown("discretize"):
        st.toggle("Discretize output", key=f"{KEY}-discrete", help="Colour only the winning class: the boundary.")
    if shown("hide_panel"):
        panels.teacher_panel()

# Top bar: run controls and the training settings, as in the playground.
playing = ss.get(f"{KEY}:playing", False)
bar = st.columns([1, 1, 1, 1.3, 1.2, 1.2, 1.3], vertical_alignment="bottom")
bar[0].button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
              on_click=_toggle_play, type="primary", key=f"{KEY}-play", width="stretch")
bar[1].button("Step", icon=":material/skip_next:", on_click=_step, key=f"{KEY}-step", width="stretch",
              help="Train one epoch.")
bar[2].button("Reset", icon=":material/replay:", on_click=_reset, key=f"{KEY}-reset", width="stretch",
              help="Start again from the first weights.")
if shown("learning_rate"):
    bar[3].select_slider("Learning rate", LEARNING_RATES, key=f"{KEY}-lr", format_func=lambda v: f"{v:g}")
if shown("activation"):
    bar[4].selectbox("Activation", list(ACTIVATIONS), format_func=ACTIVATIONS.get, key=f"{KEY}-act")
if shown("regularization"):
    bar[5].selectbox("Regularization", ["none", "L1", "L2"], format_func=lambda r: r.replace("none", "None"),
                     key=f"{KEY}-reg")
    bar[6].select_slider("Regularization rate", REG_RATES, key=f"{KEY}-reg_rate", format_func=lambda v: f"{v:g}")

# dlplay's training extras: schedule, dropout, stop condition.
extras = st.columns([1.2, 1, 1.2, 1.3, 1.1], vertical_alignment="bottom")
if shown("lr_schedule"):
    extras[0].selectbox("Learning-rate schedule", LR_SCHEDULES, format_func=SCHEDULES.get, key=f"{KEY}-sched",
                        help="Step halves the rate every N epochs; cosine lowers it smoothly to 0 over N epochs.")
    if ss[f"{KEY}-sched"] != "constant":
        extras[1].number_input("N epochs", 10, 100_000, step=50, key=f"{KEY}-sched_epochs")
if shown("dropout"):
    extras[2].select_slider("Dropout", DROPOUTS, key=f"{KEY}-dropout", format_func=lambda v: f"{v:.0%}",
                            help="While training, each hidden neuron is switched off with this probability.")
if shown("stop"):
    metric = extras[3].selectbox("Stop training", list(STOPS), format_func=STOPS.get, key=f"{KEY}-stop")
    if metric != "none":
        extras[4].number_input(**panels.STOP_INPUTS[metric], key=f"{KEY}-stop_{metric}")

# Network shape: the number of hidden layers, then the neurons and activation of each (the playground's +/−).
shape, acts = [], []
if shown("network") or shown("activation"):
    shape_cols = st.columns(MAX_LAYERS + 1)
if shown("network"):
    shape_cols[0].number_input("Hidden layers", 0, MAX_LAYERS, key=f"{KEY}-layers")
for i in range(ss[f"{KEY}-layers"]):
    ss.setdefault(f"{KEY}-n{i}", 4)
    ss.setdefault(f"{KEY}-act{i}", "")
    if shown("network"):
        shape_cols[i + 1].number_input(f"Neurons in layer {i + 1}", 1, MAX_NEURONS, key=f"{KEY}-n{i}")
    if shown("activation"):
        shape_cols[i + 1].selectbox(f"Activation of layer {i + 1}", ["", *ACTIVATIONS], key=f"{KEY}-act{i}",
                                    format_func=lambda a: ACTIVATIONS.get(a, "= Activation"),
                                    label_visibility="collapsed")
    shape.append(ss[f"{KEY}-n{i}"])
    acts.append(ss[f"{KEY}-act{i}"])

state = panels.state_from_widgets(tuple(shape), tuple(acts), data)
ss[f"{KEY}:state"] = state
query = state.to_query()
if {k: v for k, v in st.query_params.to_dict().items() if k != "ws"} != query:
    st.query_params.from_dict({**query, **({"ws": st.query_params["ws"]} if "ws" in st.query_params else {})})

sim = panels.current_sim(state, data)
if sim is None:
    st.stop()
if ss.pop(f"{KEY}:new_sim", False):
    _pause()  # a new network starts paused, like the playground after a change


# --- the live part: trains and redraws on its own while playing ----------------------------------
def live():
    if ss.pop(f"{KEY}:rerun_app", False):
        st.rerun()  # a drawn point changes the data: the whole page follows
    sim = ss[f"{KEY}:sim"]
    if ss.get(f"{KEY}:playing") and not sim.error and not sim.stopped:
        sim.tick()
    if sim.error or sim.stopped:
        if ss.get(f"{KEY}:playing"):
            _pause()
            st.rerun()  # the whole page, so Play shows again
    if sim.error:
        st.error(visible.text(sim.error))
    elif sim.stopped:
        st.success(sim.stopped)
    b = sim.boundary(render.HEAT_DENSITY)
    drawing = panels.drawing()
    pending = panels.pending_points()
    netview(render.network_svg(sim, b), render.heatmap_svg(sim, b, extra=pending, points=not panels.drawing_anew()),
            key=f"{KEY}-view", editable=shown("edit_weights"), selected=panels.selected(),
            draw_color=drawing, on_pick=panels.on_pick, on_point=panels.on_point,
            hint="Drawing: click the map to add a point." if drawing else "Hover a neuron to see its map here.")
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.caption("Each square shows that neuron's output over the plane (blue +, orange −). Lines are "
                   "weights: blue positive, orange negative, thicker is larger"
                   + (" — click one, or a bias square, to edit it." if shown("edit_weights") else "."))
        if shown("edit_weights"):
            panels.edit_panel(sim)
    with right:
        st.html(_stats(sim))
        panels.svg(render.loss_svg(sim.history))
        if legend := render.legend_html(sim, panels.class_labels(sim)):
            st.html(legend)
        if sim.classes:
            panels.accuracy_panel(sim)


def _stats(sim: Playground) -> str:
    """Epoch and losses as the playground shows them, above the output (and the schedule's rate)."""
    def block(label, value, cls, size, colour="#222"):
        return (f"<div><div style='font-size:.8rem;color:#777'>{label}</div><div class='{cls}' "
                f"style='font-size:{size}rem;color:{colour};font-variant-numeric:tabular-nums'>{value}</div></div>")
    parts = [block("Epoch", f"{sim.epoch:07,d}", "pg-epoch", 1.7),
             block("Test loss", loss_text(sim.test_loss), "pg-test-loss", 1.25),
             block("Training loss", loss_text(sim.train_loss), "pg-train-loss", 1.25, "#777")]
    if sim.classes and not sim.error:
        parts.append(block("Test accuracy", f"{sim.accuracy('test'):.1%}", "pg-test-acc", 1.25))
    if sim.state.lr_schedule != "constant":
        parts.append(block("Learning rate now", f"{sim.lr:.3g}", "pg-lr-now", 1.0, "#777"))
    return ("<div class='pg-stats' style='display:flex;gap:1.4rem;align-items:baseline;flex-wrap:wrap'>"
            + "".join(parts) + "</div>")


if not state.features:
    st.info("No input features are on: the network sees nothing and can only learn a constant. "
            "Pick some under **Features** in the sidebar.")
st.fragment(live, run_every=TICK_S if ss.get(f"{KEY}:playing") else None)()

if shown("save_load") or shown("export"):
    panels.save_load_export(sim, data, shown("save_load"), shown("export"), playing)
if shown("sweep"):
    panels.sweep_panel(state, data)

st.markdown(f"""
**What to notice**
- Circle, XOR and Gaussian are learned in a few dozen epochs, the spiral in a few hundred with the sin
  features. Switch sin(X₁) and sin(X₂) off: from X₁ and X₂ alone the spiral needs 5–6 layers and far more
  epochs, as each layer bends the previous layer's shapes a little further.
- With only X₁ and X₂ and **no hidden layer** the boundary is a straight line, so XOR and the circle are out
  of reach. Give that same network X₁² and X₂² and the circle is easy: the right features can replace depth.
- **3 spirals** and **5 blobs** have a softmax output, one neuron per class: the map takes the winning class's
  colour, paler where the network is unsure. Blobs are nearly linear; the three spirals need the sin features.
- Click a weight and set it to 0, or press **Zero weights**: with every weight 0 all neurons of a layer compute
  the same thing and get the same gradient — that is why networks start from random weights.
- Set noise to 50 and the training share to 10 %: the training loss keeps falling while the test loss
  rises — overfitting. L2 at 0.01–0.03, or dropout, keeps the boundary simpler and the test loss lower.
- At learning rate 3 or 10 the loss jumps or stalls near 0.5 as the output saturates; on the regression sets
  the weights blow up and training stops with a message. A cosine schedule lets a high rate settle.
- The address bar holds every setting — copy it to share exactly this experiment.

*Problem type: {state.problem}{f" with {sim.classes} classes" if sim.classes > 2 else ""} · data:
{panels.source_text(state, data)} · {len(sim.train_pts)} training and {len(sim.test_pts)} test points ·
{sim.net.n_params()} weights and biases.*
""")
