"""Shuffle, batch, repeat: the same data in the same network, fed in different orders."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, runs, visible
from dlplay.craft.pipeline import LESSON, ORDERS, PipelineSpec
from dlplay.runs.compare import overlay_figure
from dlplay_app.ui.live import load_dataset
from dlplay_app.ui.runs import settings_snapshot
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP, setup_link

KEY = course.here(__file__).key

st.title(course.page(KEY).heading)
st.markdown(
    "An input pipeline takes examples, **shuffles** them, cuts them into **batches** and **repeats** for "
    "another epoch — and the order of those three steps decides what each batch holds. Here the training "
    "images start **sorted by label** (all the 0s, then all the 1s…), as datasets often are on disk. Pick the "
    "orders to compare: each trains the same small network on the same images, one run after another. "
    "For each you will see **every batch's labels** (what the model actually sees), the validation accuracy "
    "as it trains, and what the trained model predicts.")

with st.sidebar:
    st.header("Pipelines")
    chosen = st.multiselect("Orders, trained one after another", list(ORDERS), format_func=ORDERS.get,
                            default=["shuffle_batch_repeat", "batch_shuffle_repeat", "none"], key=f"{KEY}-orders",
                            **KEEP)
    n_train = st.select_slider("Training images", [2000, 5000, 10000, 20000], value=10000, key=f"{KEY}-ntrain",
                               format_func=lambda n: f"{n:,}", **KEEP)
    batch_size = st.select_slider("Batch size", [32, 64, 128, 256], value=128, key=f"{KEY}-batch", **KEEP)
    epochs = st.number_input("Epochs (repeats)", 1, 10, 2, key=f"{KEY}-epochs", **KEEP)
    lr = st.select_slider("Learning rate (Adam)", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=1e-3, key=f"{KEY}-lr",
                          format_func=lambda v: f"{v:g}", **KEEP,
                          help="Lower it and the sorted pipelines forget more slowly — but also learn more slowly.")

load_dataset("mnist")  # shows where the images come from (and says what to add if they are missing)
specs = [PipelineSpec(order=o, n_train=int(n_train), batch_size=int(batch_size), epochs=int(epochs), lr=float(lr))
         for o in chosen]
seq = sequence_controls(KEY, LESSON, specs, settings=settings_snapshot(KEY),
                        label=f"Train {len(specs)} pipeline{'s' if len(specs) != 1 else ''}, one after another")
active = seq is not None and seq.is_active
if not chosen:
    st.info("Pick at least one order in the sidebar.")
setup_link(KEY)


def batch_map(run, counts: np.ndarray, classes: list[str]) -> go.Figure:
    shown = counts[:100]
    fig = go.Figure(go.Heatmap(z=shown.T, x=list(range(1, len(shown) + 1)), y=classes, colorscale="Blues",
                               hovertemplate="batch %{x}: %{z} × “%{y}”<extra></extra>"))
    spec = LESSON.spec_from(run.spec)
    fig.update_layout(title=f"Run {run.id} · {ORDERS[spec.order]} · labels in each of the first {len(shown)} batches",
                      height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="batch", yaxis_title="label",
                      yaxis_type="category")
    return fig


def show() -> None:
    s = sequence_of(KEY)
    if s is None:
        st.caption("Nothing trained yet: the batches, curves and predictions appear here.")
        return
    store = runs.get_store()
    stored = [r for r in (store.get(i) for i in s.run_ids) if r is not None]
    for k, job in enumerate(s.jobs):
        if job.is_active:
            st.progress(job.progress, text=f"Run {s.run_ids[k]} · {ORDERS[s.specs[k].order]} · {job.status}")
        elif job.error:
            st.error(f"Run {s.run_ids[k]}: {visible.text(job.error)}")
    metrics = {r.id: (s.jobs[i].metrics() if i < len(s.jobs) else store.metrics(r.id)) for i, r in enumerate(stored)}
    if any(metrics.values()):
        fig = overlay_figure(stored, metrics, "val_acc", per="step")
        fig.update_layout(title="Validation accuracy while training, every pipeline (x: steps)")
        st.plotly_chart(fig, width="stretch", key=f"{KEY}-curves")
    results = [runs.result_of(r) if r.state in (runs.DONE, runs.STOPPED) else None for r in stored]
    rows = []
    for run, r in zip(stored, results):
        spec = LESSON.spec_from(run.spec)
        rows.append({"run": run.id, "pipeline": ORDERS[spec.order], "state": run.state,
                     "classes per batch": round(r.mixing, 2) if r else None,
                     "test accuracy": r.test_acc if r else None,
                     "most predicted class": (f"{r.classes[int(np.argmax(r.test_pred_share))]} "
                                              f"({r.test_pred_share.max():.0%} of test images)") if r else None})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{KEY}-table", placeholder="",
                 column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
    for run, r in zip(stored, results):
        if r is not None:
            st.plotly_chart(batch_map(run, r.counts, r.classes), width="stretch", key=f"{KEY}-batches-{run.id}")
    if not s.is_active and st.session_state.get(f"{KEY}-shown") != id(s):
        st.session_state[f"{KEY}-shown"] = id(s)
        st.rerun()


st.subheader("Side by side")
st.fragment(show, run_every=1.0 if active else None)()

st.markdown("""
**What to notice**
- **shuffle → batch → repeat**: every batch holds all ten digits in about their proportions; the curve climbs
  steadily. **repeat → shuffle → batch** is as good, but an epoch no longer ends cleanly: examples of the next
  pass mix into this one.
- **batch → shuffle → repeat** shuffles whole batches: the order of the batches is random, but each still
  holds one digit. Every step pulls the network toward one class; it learns far less.
- **Never shuffled**: ten long runs of one digit. The network forgets each digit while learning the next
  and ends answering mostly one or two of the digits it saw last — look at "most predicted class".
- A **small shuffle buffer** (1,000 of 10,000 sorted images) only shuffles locally: a batch holds two or
  three neighbouring digits. Shuffle buffers must be about as large as the data when the data is sorted.
""")
