"""Training diagnosis: a gallery of broken training setups. Train one, read its numbers — loss,
gradient norms, dead units, histograms of weights, gradients and activations — guess what is
wrong, then reveal the diagnosis and train the fix beside it."""
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dlplay import course, visible
from dlplay.craft.diagnosis import CASES, KINDS, LESSON, LOG10, DiagnosisSpec, graph_dot, guesses, mystery
from dlplay.data import DatasetUnavailable, load
from dlplay.viz import curves_figure
from dlplay_app.ui.live import current, live, train_stop_buttons
from dlplay_app.ui.runs import open_page, run_controls, run_header, start_run
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
FIX = "diagfix"  # the fixed version's run and buttons
SHADES = ["#1f4e79", "#2e86ab", "#e4572e"]  # one colour per layer
MAX_RIDGES = 12  # snapshots drawn in a ridgeline

open_page(KEY)
st.title(course.page(KEY).heading)
st.markdown(
    "Each **mystery** below is the same small network — 784 pixels → 128 → 128 → 10 digits — trained on "
    "MNIST with **one thing wrong**. Train it and read the numbers a practitioner reads: the loss, the "
    "**gradient norm** of each layer, the share of **dead or saturated units**, and the **histograms** of "
    "each layer's weights, gradients and activations over the steps (a ridgeline, as TensorBoard's offset "
    "view: the earliest step at the top). Then pick your diagnosis, **reveal** it, and train the **fixed** "
    "version beside the broken one.")

with st.sidebar:
    st.header("The mystery")
    case = st.selectbox("Setup to diagnose", list(CASES), format_func=mystery, key=f"{KEY}-case", **KEEP)
    n_train = st.select_slider("Training images", [1000, 2000, 5000, 10000], value=5000, key=f"{KEY}-ntrain",
                               format_func=lambda n: f"{n:,}", **KEEP)
    epochs = st.number_input("Epochs", 1, 5, 2, key=f"{KEY}-epochs", **KEEP)
    hidden = st.select_slider("Units per hidden layer", [32, 64, 128, 256], value=128, key=f"{KEY}-hidden", **KEEP)
    batch_size = st.select_slider("Batch size", [32, 64, 128], value=64, key=f"{KEY}-batch", **KEEP)
    seed = st.number_input("Seed", 0, 99, 0, key=f"{KEY}-seed", **KEEP)
    kind = st.radio("Histograms of", list(KINDS), format_func=KINDS.get, key=f"{KEY}-hist", horizontal=True,
                    **KEEP)

spec = DiagnosisSpec(case=case, fixed=False, n_train=int(n_train), epochs=int(epochs), hidden=int(hidden),
                     batch_size=int(batch_size), seed=int(seed))
fixed_spec = replace(spec, fixed=True)

try:
    ds = load("mnist")
    if note := ds.extra.get("fallback_note"):
        st.warning(visible.text(note), icon=":material/warning:")
    st.caption(f"📦 {ds.summary()}")
    missing = False
except DatasetUnavailable as exc:
    st.error(visible.text(exc))
    missing = True

st.subheader(mystery(case))
st.markdown(f"**What you know:** {CASES[case].seen}")
run_controls(KEY, LESSON, spec, label="Train", disabled=missing)


# --- figures ------------------------------------------------------------------------------------------

def loss_figure(view, rows) -> go.Figure:
    fig = curves_figure(rows, "loss", f"Run {view.id} · loss")
    losses = [r["loss"] for r in rows if r.get("split") == "train" and np.isfinite(r.get("loss", np.nan))]
    if losses and max(losses) > 50:
        fig.update_layout(yaxis_type="log")
    fig.add_hline(y=LOG10, line_dash="dot", line_color="gray", annotation_text="log 10 = 2.303 (knows nothing)",
                  annotation_position="bottom right")
    return fig


def layer_lines(view, rows, prefix: str, title: str, log: bool) -> go.Figure:
    fig = go.Figure()
    layered = [r for r in rows if r.get("split") == "layers"]
    for i in range(1, 4):
        key = f"{prefix}_{i}"
        points = [(r["step"], r[key]) for r in layered if key in r]
        if not points:
            continue
        steps, values = zip(*points)
        shown = [max(v, 1e-12) for v in values] if log else values  # a gradient of exactly 0 sits at 1e-12
        fig.add_scatter(x=steps, y=shown, customdata=values, mode="lines+markers", name=f"layer {i}",
                        line=dict(color=SHADES[i - 1]), hovertemplate="step %{x}: %{customdata:.3g}<extra></extra>")
    fig.update_layout(title=f"Run {view.id} · {title}", height=300, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title="step", legend=dict(orientation="h", y=-0.3))
    if log:
        fig.update_layout(yaxis_type="log")
    else:
        fig.update_layout(yaxis_range=[0, 1.05], yaxis_tickformat=".0%")
    return fig


def ridgeline(view, snaps, kind: str) -> go.Figure:
    """One trace per snapshot, each offset below the one before, per layer (TensorBoard's offset view):
    each histogram over its own range, scaled to its own peak."""
    pick = snaps if len(snaps) <= MAX_RIDGES else [snaps[int(j)] for j in np.linspace(0, len(snaps) - 1, MAX_RIDGES)]
    layers = len(pick[0].counts[kind])
    fig = make_subplots(1, layers, subplot_titles=[f"layer {i + 1}" for i in range(layers)], shared_yaxes=True)
    for i in range(layers):
        for k, s in enumerate(pick):
            e, c = s.edges[kind][i], s.counts[kind][i]
            centers = (e[:-1] + e[1:]) / 2
            base = len(pick) - 1 - k  # the first snapshot on top, the last in front
            height = base + 1.8 * c / max(1, int(c.max()))
            fig.add_scatter(x=np.r_[centers, centers[::-1]], y=np.r_[height, np.full(len(centers), base)],
                            fill="toself", mode="lines", line=dict(width=1, color=SHADES[i]),
                            opacity=0.35 + 0.65 * k / max(1, len(pick) - 1), name=f"step {s.step}",
                            showlegend=False, hoverinfo="name", row=1, col=i + 1)
    fig.update_yaxes(tickvals=list(range(len(pick))), ticktext=[f"step {s.step}" for s in reversed(pick)], row=1, col=1)
    fig.update_layout(title=f"Run {view.id} · {KINDS[kind]} per layer over the steps", height=420,
                      margin=dict(l=10, r=10, t=60, b=10))
    return fig


def snapshots_of(view) -> tuple:
    """The finished run's snapshots, or the latest the live job sent."""
    result = view.result()
    if result is not None:
        return tuple(result.snapshots)
    return view.latest("snapshots") or ()


def render(view) -> None:
    run_spec = LESSON.spec_from(view.run.spec)
    rows = view.metrics()
    st.markdown(f"**Run {view.id} — {mystery(run_spec.case)}, {'fixed' if run_spec.fixed else 'as given'}**")
    result = view.result()
    if result is not None:
        if result.diverged:
            st.warning(f"Run {view.id}: {result.diverged}, and training ended there. This is the symptom, not "
                       "a crash: every number recorded until then is below.", icon=":material/trending_up:")
        else:
            st.caption(f"Run {view.id}: training loss {result.final_loss():.3f} (last 20 steps) · training "
                       f"accuracy {result.train_acc:.1%} · test accuracy {result.test_acc:.1%}")
        if result.stopped:
            st.info(f"Run {view.id} was {result.stopped}.")
    tag = f"{view.id}"
    st.plotly_chart(loss_figure(view, rows), width="stretch", key=f"{KEY}-loss-{tag}")
    st.plotly_chart(curves_figure(rows, "acc", f"Run {view.id} · accuracy, train vs test"),
                    width="stretch", key=f"{KEY}-acc-{tag}")
    st.plotly_chart(layer_lines(view, rows, "grad_norm", "gradient norm per layer (‖∂loss/∂W‖)", log=True),
                    width="stretch", key=f"{KEY}-grad-{tag}")
    st.plotly_chart(layer_lines(view, rows, "inactive", "dead (ReLU) or saturated (sigmoid) units", log=False),
                    width="stretch", key=f"{KEY}-dead-{tag}")
    if snaps := snapshots_of(view):
        st.plotly_chart(ridgeline(view, snaps, kind), width="stretch", key=f"{KEY}-ridge-{tag}")
    st.caption(f"Run {view.id}'s network:")
    st.graphviz_chart(graph_dot(run_spec))


# --- the guess -------------------------------------------------------------------------------------------

st.subheader("Your diagnosis")
# Kept for the session like the settings (not in the address bar: a shared link shouldn't carry a guess).
guess = st.radio("What is wrong with this setup?", guesses(), format_func=lambda n: CASES[n].title, index=None,
                 key=f"{KEY}-guess", persist_state="session")
if st.button("Reveal", key=f"{KEY}-reveal", icon=":material/visibility:"):
    st.session_state[f"{KEY}-revealed"] = case
revealed = st.session_state.get(f"{KEY}-revealed") == case
if revealed:
    answer = CASES[case]
    if guess == case:
        st.success(f"Right — {answer.title.lower()}.", icon=":material/check_circle:")
    elif guess is None:
        st.info(f"No guess made. The answer: {answer.title.lower()}.")
    else:
        st.warning(f"Not this time: you guessed “{CASES[guess].title}”; it is “{answer.title}”.")
    st.markdown(f"**Diagnosis — {answer.title}.** {answer.symptom}\n\n**Fix.** {answer.fix}")
    train_stop_buttons(FIX, lambda: start_run(FIX, LESSON, fixed_spec), label="Train fix",
                       disabled=missing)
    if (fixed_view := current(FIX)) is not None:
        run_header(fixed_view, fixed_spec)
else:
    st.caption("Train the mystery, read its numbers, pick a diagnosis, then press **Reveal**.")

st.subheader("Side by side")
left, right = st.columns(2)
with left:
    if current(KEY) is None:
        st.caption("The mystery setup's run appears here once trained.")
    live(KEY, render)
with right:
    if revealed and current(FIX) is not None:
        live(FIX, render)
    else:
        st.caption("The fixed version's run appears here once revealed and trained.")

st.subheader("What to notice")
st.markdown(
    "- **log 10 = 2.303** is the loss of a network that answers 1/10 for every digit: a loss stuck there "
    "means nothing is learned (zero weights, dead units).\n"
    "- **Gradient norms** that jump by orders of magnitude mean divergence; norms of exactly zero mean "
    "no signal gets back (identical or dead units).\n"
    "- **Dead or saturated units** above 50 % waste most of the network: a ReLU that is 0 for every image "
    "passes no gradient, a sigmoid at 0 or 1 almost none.\n"
    "- Some bugs hide from every training number: only **training against test** accuracy shows a "
    "data-scaling bug, and only a shuffled run shows what sorted labels cost.")
