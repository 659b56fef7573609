"""Perceptron: watch Rosenblatt's rule move a line until it separates two classes — or never stop (XOR)."""
import numpy as np
import streamlit as st

import dlplay_app.ui  # noqa: F401 - opened by its own URL first, the page still gets app.py's navigation
from dlplay import course
from dlplay.scratch import Perceptron, PerceptronTraining
from dlplay.scratch.datasets import linearly_separable, xor_blobs
from dlplay.scratch.figures import GRID_TRACE, mistakes_figure, perceptron_figure
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
TICK_S = 0.4  # seconds between Play frames
GIVE_UP = 2000  # Play pauses itself after this many updates without converging
DATASETS = {"Linearly separable": linearly_separable, "XOR (four clouds)": xor_blobs}

st.title(course.page(KEY).heading)
st.markdown(
    "The **perceptron** is the simplest neuron: it outputs 1 when **w·x + b > 0** and 0 otherwise, so "
    "it splits the plane with a straight line. Its learning rule only acts on mistakes: "
    "**w ← w + lr·(y − ŷ)·x**, **b ← b + lr·(y − ŷ)** tips the line towards the misclassified point. "
    "Press **Step** to make one update or **Play** to watch; the ringed point is the one that caused the "
    "update, the arrow is the weight vector **w** (always at right angles to the line). "
    "Click the plot to add points of the class chosen below it.")

# --- controls ----------------------------------------------------------------------------------
with st.sidebar:
    st.header("Data")
    dataset = st.radio("Points", list(DATASETS), key=f"{KEY}-data", **KEEP,
                       help="XOR: no straight line can separate the classes.")
    n_points = st.slider("Number of points", 4, 100, 30, key=f"{KEY}-n", **KEEP)
    seed = st.number_input("Seed", 0, 9999, 0, key=f"{KEY}-seed", **KEEP)
    st.header("Learning rule")
    mode = st.radio("Updates", ["online", "batch"], key=f"{KEY}-mode", horizontal=True, **KEEP,
                    help="online: one misclassified point per update, visiting the points in order. "
                         "batch: one update per epoch from all mistakes at once.")
    lr = st.select_slider("Learning rate", [0.01, 0.03, 0.1, 0.3, 1.0], value=0.1, key=f"{KEY}-lr", **KEEP,
                          format_func=lambda v: f"{v:g}")
    speed = st.select_slider("Updates per frame while playing", [1, 2, 5, 10, 25], value=1, key=f"{KEY}-speed",
                              **KEEP)

# The session keeps the points (with the ones clicked in) and the training; new settings restart them.
data_key = (dataset, n_points, int(seed))
state = st.session_state.setdefault(KEY, {})
if state.get("data_key") != data_key:
    X, y = DATASETS[dataset](n_points, int(seed))
    state.update(data_key=data_key, X=X, y=y, added=0, train_key=None)
train_key = (data_key, mode, lr)
if state.get("train_key") != train_key:
    state.update(train_key=train_key, training=PerceptronTraining(Perceptron(2, lr, int(seed)), mode))
    st.session_state[f"{KEY}-playing"] = False


def reset_training():
    state["train_key"] = None  # rebuilt with the current settings on this rerun


def add_clicked_point():
    """Plotly selection callback: a click on the invisible grid adds a point there."""
    event = st.session_state.get(f"{KEY}-plot-{state['added']}")
    points = event.selection.points if event is not None else []
    clicked = [p for p in points if p.get("curve_number") == state.get("grid_curve")]
    if clicked:
        label = 1 if st.session_state.get(f"{KEY}-class", "class 1").endswith("1") else 0
        state["X"] = np.vstack([state["X"], [[clicked[0]["x"], clicked[0]["y"]]]])
        state["y"] = np.append(state["y"], label)
        state["added"] += 1  # a new chart key: the next click starts from a clean selection


playing = st.session_state.get(f"{KEY}-playing", False)
c1, c2, c3, _ = st.columns([1, 1, 1, 3])
if c1.button("Pause" if playing else "Play", key=f"{KEY}-play", type="primary", width="stretch",
             icon=":material/pause:" if playing else ":material/play_arrow:"):
    st.session_state[f"{KEY}-playing"] = not playing
    st.rerun()
if c2.button("Step", key=f"{KEY}-step", width="stretch", disabled=playing):
    state["training"].step(state["X"], state["y"])
c3.button("Reset", key=f"{KEY}-reset", width="stretch", on_click=reset_training,
          help="Back to the starting weights (the points stay).")


# --- the live board: redrawn every frame while playing ----------------------------------------------
@st.fragment(run_every=TICK_S if playing else None)
def board():
    training, X, y = state["training"], state["X"], state["y"]
    if st.session_state.get(f"{KEY}-playing"):
        for _ in range(speed):
            if len(training.step(X, y)) == 0:
                break
        if training.converged(X, y) or training.updates >= GIVE_UP:
            st.session_state[f"{KEY}-playing"] = False
            st.rerun(scope="app")  # ends the timer and turns Pause back into Play
    model = training.model
    wrong = len(training.mistakes(X, y))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Updates", training.updates)
    m2.metric("Epoch", training.epoch, help="Passes through the data that contained an update.")
    m3.metric("Misclassified", f"{wrong} / {len(X)}")
    m4.markdown(f"**w** = ({model.w[0]:+.3f}, {model.w[1]:+.3f})  \n**b** = {model.b:+.3f}")
    if wrong == 0:
        st.success(f"Converged: every point is on its side after {training.updates} updates "
                   f"in {training.epoch} epoch{'s' if training.epoch != 1 else ''}.")
    elif training.updates >= GIVE_UP:
        st.warning(f"Still no separating line after {training.updates:,} updates. When no straight line "
                   "can separate the classes (XOR), the perceptron rule never stops updating.")
    # While playing the board is redrawn every frame: no click grid then (thousands of invisible
    # points make each redraw slow enough to flicker); when paused, a click adds a point.
    live = st.session_state.get(f"{KEY}-playing", False)
    fig = perceptron_figure(X, y, model.w, model.b, training.last, clickable=not live)
    left, right = st.columns([3, 2])
    with left:
        if live:
            st.plotly_chart(fig, key=f"{KEY}-plot-live", width="stretch", config={"displayModeBar": False})
        else:
            state["grid_curve"] = next(i for i, t in enumerate(fig.data) if t.name == GRID_TRACE)
            st.plotly_chart(fig, key=f"{KEY}-plot-{state['added']}", on_select=add_clicked_point,
                            selection_mode="points", width="stretch", config={"displayModeBar": False})
        st.radio("A click adds a point of", ["class 0", "class 1"], index=1, key=f"{KEY}-class",
                 horizontal=True, disabled=live, help="Pause to add points by clicking the plot." if live else None)
    with right:
        if training.history:
            st.plotly_chart(mistakes_figure(training.history), width="stretch", key=f"{KEY}-history")
        else:
            st.caption("Press Step or Play: a chart of the mistakes after each update appears here.")


board()

st.markdown("""
**What to notice**
- Each update moves the line only as much as needed to pull it towards one wrong point, so other points
  can flip to the wrong side; yet on separable data the count of mistakes reaches 0 (Novikoff, 1962).
- Add a point of the wrong class deep inside the other class and press Play: no line separates the data
  any more, and the updates counter climbs for ever. Switch to **XOR** for the famous case (Minsky &
  Papert, 1969): it needs a second layer — see the *Logic gates & XOR* page.
- Batch updates move the line by the sum of all mistakes at once: fewer, bigger steps.
""")
