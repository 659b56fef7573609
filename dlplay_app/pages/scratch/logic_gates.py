"""Logic gates & XOR: a two-layer network written from scratch learns any truth table, XOR included."""
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from dlplay import course
from dlplay.scratch.datasets import GATES, truth_table
from dlplay.scratch.figures import gate_figure, hidden_units_figure
from dlplay.scratch.gates import LESSON, GateSpec, hidden_maps, hidden_table, output_map
from dlplay.viz import curves_figure
from dlplay_app.ui.live import finished_result, live
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "AND, OR and NAND are **linearly separable**: one line splits the 1s from the 0s, so a single perceptron "
    "learns them. XOR is not. Add a **hidden layer** and it becomes easy: each hidden unit draws its own line, "
    "and the output combines them. This network is NumPy with backprop written by hand "
    "(`dlplay/scratch/mlp.py`). Press **Train** and watch the regions, the hidden units and the loss.")

with st.sidebar:
    st.header("Truth table")
    gate = st.radio("Gate", list(GATES), index=list(GATES).index("XOR"), key=f"{KEY}-gate", horizontal=True,
                    **KEEP)
    st.header("Network")
    hidden = st.slider("Hidden units", 1, 8, 2, key=f"{KEY}-hidden", **KEEP,
                       help="With 1 hidden unit XOR cannot be learned; 2 are enough.")
    activation = st.selectbox("Hidden activation", ["sigmoid", "tanh", "relu"], key=f"{KEY}-act", **KEEP)
    st.header("Training")
    lr = st.select_slider("Learning rate", [0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0, 100.0], value=0.5,
                          key=f"{KEY}-lr", format_func=lambda v: f"{v:g}", **KEEP)
    momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key=f"{KEY}-momentum", **KEEP)
    steps = st.select_slider("Steps", [200, 500, 1000, 2000, 5000], value=2000, key=f"{KEY}-steps", **KEEP)
    seed = st.number_input("Seed (starting weights)", 0, 9999, 0, key=f"{KEY}-seed", **KEEP)
    watch = st.toggle("Slow motion", True, key=f"{KEY}-slow", **KEEP,
                      help="Pause briefly between frames so you can watch.")

X, y = truth_table(gate)
st.dataframe(pd.DataFrame({"A": X[:, 0].astype(int), "B": X[:, 1].astype(int), f"A {gate} B": y}),
             hide_index=True, width="content")
spec = GateSpec(gate=gate, hidden=hidden, activation=activation, lr=lr, momentum=momentum, steps=steps,
                seed=int(seed), pace_s=0.05 if watch else 0.0)
st.caption(f"Network 2 → {hidden} ({activation}) → 1 (sigmoid), squared error, full-batch gradient descent "
           f"with momentum: {spec.build().n_parameters()} parameters.")

# Slow motion changes the pace, not what the run learns: not a change of settings.
shown = run_controls(KEY, LESSON, spec, compare_as=lambda v: replace(spec, pace_s=LESSON.spec_from(v.run.spec).pace_s))


def render(view):
    # While training: the latest snapshot. Afterwards: the run's own network (kept at Stop too).
    done = None if view.is_active else view.result()
    net = done.net if done is not None else view.latest("net")
    rows = view.metrics()
    if net is None or not rows:
        return
    gate = LESSON.spec_from(view.run.spec).gate  # the run's gate, whatever is selected now
    X_run, y_run = truth_table(gate)
    xs, ys, Z = output_map(net)
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(gate_figure(xs, ys, Z, X_run, y_run), width="stretch", key=f"{KEY}-regions")
    with c2:
        st.plotly_chart(curves_figure(rows, "loss", "Loss (squared error)", x="step"), width="stretch",
                        key=f"{KEY}-loss")
        last = rows[-1]
        st.caption(f"step {last['step']} · loss {last['loss']:.4f} · {last['acc']:.0%} of the rows right")
    st.markdown("**Hidden units** — each one's activation over the input plane (bright = high). "
                "Each draws one soft line; the output adds them up.")
    st.plotly_chart(hidden_units_figure(hidden_maps(net), np.linspace(-0.5, 1.5, 40)), width="stretch",
                    key=f"{KEY}-hidden-maps")
    table = hidden_table(net, gate)
    st.dataframe(pd.DataFrame(table, columns=[f"h{j + 1}" for j in range(table.shape[1] - 1)] + ["output"],
                              index=[f"A={int(a)} B={int(b)}" for a, b in X_run]).style.format("{:.2f}"),
                 width="content")


live(KEY, render)

result = finished_result(KEY)
if result is not None:
    if result.solved:
        st.success(f"Solved {result.gate}: every row of the truth table is on the right side of 0.5.")
    else:
        st.warning(f"Not solved: some rows of {result.gate} are still wrong. With 1 hidden unit XOR is "
                   "impossible; with 2 the net can get stuck (try another seed, or more hidden units).")

st.markdown("""
**What to notice**
- AND, OR and NAND need just one line: even 1 hidden unit solves them. XOR and XNOR need two lines — the
  hidden units each learn one (roughly an OR and a NAND), and the output unit ANDs them.
- With exactly 2 hidden units some seeds get stuck on a plateau where the loss barely moves; more hidden
  units make that rare. That is a first glimpse of why wider networks are easier to train.
- A learning rate of 100 makes the weights explode: the sigmoids saturate and learning stalls.
""")
