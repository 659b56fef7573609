"""2-D playground: TensorFlow Playground's tiny network, trained live, every setting in the URL."""
import random

import streamlit as st

from dlplay.playground import Playground, PlaygroundState, datasets, features, render
from dlplay.playground.sim import TICK_S, loss_text
from dlplay.playground.state import LEARNING_RATES, MAX_LAYERS, MAX_NEURONS, REG_RATES

KEY = "pg"
SHORT = {"circle": "Circle", "xor": "XOR", "gauss": "Gaussian", "spiral": "Spiral",
         "reg-plane": "Plane", "reg-gauss": "Multi-Gauss"}
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}

st.set_page_config(layout="wide")  # the network and the heatmap need the width
st.title("2-D playground")
st.markdown(
    "A small neural network learns to tell **blue** points from **orange** ones (or, for the two "
    "regression sets, to predict a value) from their two coordinates. Every square is a neuron and "
    "shows what it computes over the whole plane; the big picture on the right is the network's "
    "answer. Press **▶ Play** and watch the neurons build the boundary together — the same "
    "experiment as [TensorFlow Playground](https://playground.tensorflow.org), with its datasets and settings.")

ss = st.session_state


def _svg(svg: str) -> None:
    # st.html's sanitiser drops SVG; markdown keeps it, hover titles included. Inside a <div> block
    # markdown leaves the text alone instead of parsing it as a paragraph.
    st.markdown(f"<div class='pg-svg'>\n{svg}\n</div>", unsafe_allow_html=True)


# --- settings: URL -> widgets on first load, widgets -> URL on every run -------------------------
def _widget_values(s: PlaygroundState) -> dict:
    values = {"dataset": s.dataset, "noise": s.noise, "train": s.perc_train, "batch": s.batch_size,
              "features": list(s.features), "layers": len(s.network_shape), "lr": s.learning_rate,
              "act": s.activation, "reg": s.regularization, "reg_rate": s.regularization_rate,
              "test": s.show_test_data, "discrete": s.discretize}
    values.update({f"n{i}": n for i, n in enumerate(s.network_shape)})
    return values


if f"{KEY}:state" not in ss:  # first visit in this session: the URL decides
    ss[f"{KEY}:state"] = PlaygroundState.from_query(st.query_params.to_dict())
    ss[f"{KEY}:seed"] = ss[f"{KEY}:state"].seed
for name, value in _widget_values(ss[f"{KEY}:state"]).items():
    ss.setdefault(f"{KEY}-{name}", value)  # widgets forgotten after visiting another page come back


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


def _regenerate():
    ss[f"{KEY}:seed"] = random.randrange(100_000)


with st.sidebar:
    st.header("Data")
    _svg(render.thumbnails_svg(ss[f"{KEY}-dataset"]))
    st.radio("Which dataset", list(datasets.DATASETS), format_func=SHORT.get, key=f"{KEY}-dataset",
             horizontal=True, help="The first four are classification (blue vs orange); Plane and "
                                   "Multi-Gauss are regression: each point's colour is a number to predict.")
    st.slider("Ratio of training to test data", 10, 90, step=10, format="%d%%", key=f"{KEY}-train")
    st.slider("Noise", 0, 50, step=5, key=f"{KEY}-noise",
              help="Jitters which side of the boundary a point's label comes from.")
    st.slider("Batch size", 1, 30, key=f"{KEY}-batch", help="Points per weight update.")
    st.button("Regenerate data", on_click=_regenerate, key=f"{KEY}-regen", width="stretch",
              help="New random points (and starting weights): a new seed.")
    st.header("Features")
    st.pills("Inputs the network sees", list(features.FEATURES), format_func=features.label,
             selection_mode="multi", key=f"{KEY}-features",
             help="Each input is computed from the point's coordinates (X₁, X₂).")
    st.header("Display")
    st.toggle("Show test data", key=f"{KEY}-test")
    st.toggle("Discretize output", key=f"{KEY}-discrete", help="Colour only the sign: the class boundary.")

# Top bar: run controls and the training settings, as in the playground.
playing = ss.get(f"{KEY}:playing", False)
bar = st.columns([1, 1, 1, 1.3, 1.2, 1.2, 1.3], vertical_alignment="bottom")
bar[0].button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
              on_click=_toggle_play, type="primary", key=f"{KEY}-play", width="stretch")
bar[1].button("Step", icon=":material/skip_next:", on_click=_step, key=f"{KEY}-step", width="stretch",
              help="Train one epoch.")
bar[2].button("Reset", icon=":material/replay:", on_click=_reset, key=f"{KEY}-reset", width="stretch",
              help="Start again from the first weights.")
bar[3].select_slider("Learning rate", LEARNING_RATES, key=f"{KEY}-lr", format_func=lambda v: f"{v:g}")
bar[4].selectbox("Activation", list(ACTIVATIONS), format_func=ACTIVATIONS.get, key=f"{KEY}-act")
bar[5].selectbox("Regularization", ["none", "L1", "L2"], format_func=lambda r: r.replace("none", "None"),
                 key=f"{KEY}-reg")
bar[6].select_slider("Regularization rate", REG_RATES, key=f"{KEY}-reg_rate", format_func=lambda v: f"{v:g}")

# Network shape: the number of hidden layers, then the neurons in each (the playground's +/−).
shape_cols = st.columns(MAX_LAYERS + 1)
n_layers = shape_cols[0].number_input("Hidden layers", 0, MAX_LAYERS, key=f"{KEY}-layers")
shape = []
for i in range(n_layers):
    ss.setdefault(f"{KEY}-n{i}", 4)
    shape.append(shape_cols[i + 1].number_input(f"Neurons in layer {i + 1}", 1, MAX_NEURONS, key=f"{KEY}-n{i}"))

state = PlaygroundState().replace(
    dataset=ss[f"{KEY}-dataset"], noise=ss[f"{KEY}-noise"], perc_train=ss[f"{KEY}-train"],
    batch_size=ss[f"{KEY}-batch"], features=tuple(ss[f"{KEY}-features"] or ()), network_shape=tuple(shape),
    activation=ss[f"{KEY}-act"], learning_rate=ss[f"{KEY}-lr"], regularization=ss[f"{KEY}-reg"],
    regularization_rate=ss[f"{KEY}-reg_rate"], seed=ss[f"{KEY}:seed"], show_test_data=ss[f"{KEY}-test"],
    discretize=ss[f"{KEY}-discrete"])
ss[f"{KEY}:state"] = state
query = state.to_query()
if st.query_params.to_dict() != query:
    st.query_params.from_dict(query)  # the address bar now reproduces this setup

sim = ss.get(f"{KEY}:sim")
if sim is None:
    sim = Playground(state)
elif (synced := sim.sync(state)) is not sim:
    sim = synced
    _pause()  # a new network starts paused, like the playground after a change
ss[f"{KEY}:sim"] = sim


# --- the live part: trains and redraws on its own while playing ----------------------------------
def live():
    sim = ss[f"{KEY}:sim"]
    if ss.get(f"{KEY}:playing") and not sim.error:
        sim.tick()
    if sim.error:
        st.error(sim.error)
        if ss.get(f"{KEY}:playing"):
            _pause()
            st.rerun()  # the whole page, so Play shows again
    pictures = render.frame(sim)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        _svg(pictures["network"])
        st.caption("Each square shows that neuron's output over the plane (blue +, orange −). Lines are "
                   "weights: blue positive, orange negative, thicker is larger. Hover for numbers.")
    with right:
        st.html(_stats(sim))
        _svg(pictures["heatmap"])
        _svg(pictures["loss"])


def _stats(sim: Playground) -> str:
    """Epoch and losses as the playground shows them, above the output."""
    def block(label, value, cls, size, colour="#222"):
        return (f"<div><div style='font-size:.8rem;color:#777'>{label}</div><div class='{cls}' "
                f"style='font-size:{size}rem;color:{colour};font-variant-numeric:tabular-nums'>{value}</div></div>")
    return ("<div class='pg-stats' style='display:flex;gap:1.6rem;align-items:baseline'>"
            + block("Epoch", f"{sim.epoch:07,d}", "pg-epoch", 1.7)
            + block("Test loss", loss_text(sim.test_loss), "pg-test-loss", 1.25)
            + block("Training loss", loss_text(sim.train_loss), "pg-train-loss", 1.25, "#777") + "</div>")


if not state.features:
    st.info("No input features are on: the network sees nothing and can only learn a constant. "
            "Pick some under **Features** in the sidebar.")
st.fragment(live, run_every=TICK_S if ss.get(f"{KEY}:playing") else None)()

st.markdown(f"""
**What to notice**
- Circle, XOR and Gaussian are learned in a few dozen epochs, the spiral in a few hundred with the sin
  features. Switch sin(X₁) and sin(X₂) off: from X₁ and X₂ alone the spiral needs 5–6 layers and far more
  epochs, as each layer bends the previous layer's shapes a little further.
- With only X₁ and X₂ and **no hidden layer** the boundary is a straight line, so XOR and the circle are out
  of reach. Give that same network X₁² and X₂² and the circle is easy: the right features can replace depth.
- Set noise to 50 and the training share to 10 %: the training loss keeps falling while the test loss
  rises — overfitting. L2 regularisation at 0.01–0.03 keeps the boundary simpler and the test loss lower.
- At learning rate 3 or 10 the loss jumps or stalls near 0.5 as the output saturates; on the regression sets
  the weights blow up and training stops with a message.
- The address bar holds every setting — copy it to share exactly this experiment.

*Problem type: {state.problem} · {len(sim.train_pts)} training and {len(sim.test_pts)} test points ·
{sim.net.n_params()} weights and biases.*
""")
