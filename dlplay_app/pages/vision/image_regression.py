"""Image regression from files: a CNN reads a continuous number from pictures opened lazily."""
from dataclasses import replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, runs, visible
from dlplay.runs import specs as run_specs
from dlplay.runs.compare import overlay_figure
from dlplay.vision import lazyfiles
from dlplay.runs.sequence import Sequence
from dlplay.vision.regression import LESSON, SOURCES, FolderMissing, RegressionSpec, pair, source
from dlplay_app.ui.runs import open_page, settings_snapshot, shared_server
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP, setup_link

KEY = course.here(__file__).key
LABELS = {"both": "exact and rounded, side by side", "exact": "exact only", "rounded": "rounded only"}

before = st.session_state.get(f"run:{KEY}")
open_page(KEY)  # a run reopened from the Runs page brings its settings back first
if (now := st.session_state.get(f"run:{KEY}")) is not None and now != before:
    st.session_state.pop(f"{KEY}-sequence", None)  # the page shows the reopened run

st.title(course.page(KEY).heading)
st.markdown(
    "A network can read a **number** from a picture, not only a class: here a small CNN learns to read "
    "how much a handwritten digit **leans**. The images are files on disk, opened only when their batch "
    "needs them — the way a folder too big for memory (like UTKFace's 23,000 faces, whose file names hold "
    "each person's age) is trained on. You will see the predicted-vs-true scatter and the mean absolute "
    "error (MAE), whether **rounding the labels** costs accuracy, and what lazy loading costs in speed "
    "and saves in memory.")

with st.sidebar:
    st.header("Images")
    # A shared server reads no path a visitor types: its disk is not theirs to browse.
    offered = [name for name in SOURCES if not (shared_server() and name == "folder")]
    src_name = st.selectbox("Folder", offered, format_func=SOURCES.get, key=f"{KEY}-source", **KEEP)
    folder, layout = "", "digits"
    if src_name == "folder":
        folder = st.text_input("Folder path", key=f"{KEY}-folder", **KEEP,
                               help="A folder of image files, or one with train/ and test/ folders inside.")
        layout = st.selectbox("File names", list(lazyfiles.LAYOUTS), key=f"{KEY}-layout", **KEEP,
                              format_func=lambda n: f"{n}: {lazyfiles.LAYOUTS[n].example}")
    n_train = st.select_slider("Training images", [1000, 2000, 4000, 8000, 0], value=4000, key=f"{KEY}-ntrain",
                               format_func=lambda n: f"{n:,}" if n else "all", **KEEP)
    st.header("Labels")
    labels = st.radio("Train on", list(LABELS), format_func=LABELS.get, key=f"{KEY}-labels", **KEEP)
    step = st.select_slider("Rounded labels: whole multiples of", [1.0, 2.0, 5.0, 10.0], value=10.0,
                            key=f"{KEY}-step", format_func=lambda v: f"{v:g}", **KEEP,
                            help="In the target's unit (degrees, or years for ages). The test labels stay exact.")
    st.header("Loading")
    in_memory = st.toggle("Hold every image in memory instead", key=f"{KEY}-inmem", **KEEP,
                          help="Decode every file before training and keep them all: the comparison.")
    workers = st.select_slider("Worker processes reading files", [0, 1, 2, 4], value=2, key=f"{KEY}-workers",
                               **KEEP, disabled=in_memory)
    prefetch = st.select_slider("Batches each worker reads ahead", [1, 2, 4], value=2, key=f"{KEY}-prefetch",
                                **KEEP, disabled=in_memory or not workers)
    st.header("Training")
    epochs = st.number_input("Epochs", 1, 20, 3, key=f"{KEY}-epochs", **KEEP)
    lr = st.select_slider("Learning rate", [3e-4, 1e-3, 3e-3, 1e-2], value=3e-3, key=f"{KEY}-lr",
                          format_func=lambda v: f"{v:g}", **KEEP)

base = RegressionSpec(source=src_name, folder=folder, layout=layout, step=float(step), n_train=int(n_train),
                      workers=int(workers), prefetch=int(prefetch), in_memory=bool(in_memory),
                      train=replace(RegressionSpec().train, epochs=int(epochs), lr=float(lr)))
specs = pair(base) if labels == "both" else [replace(base, labels=labels)]

# --- the folder and its target --------------------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=60, max_entries=8)
def listed(src_name: str, folder: str, layout: str, changed: float):
    # Listing 14,000 names takes about half a second: once a minute, or when the folder changes.
    return source(RegressionSpec(source=src_name, folder=folder, layout=layout))


def changed_at(spec: RegressionSpec) -> float:
    try:
        return Path(spec.folder).expanduser().stat().st_mtime if spec.source == "folder" else 0.0
    except OSError:
        return -1.0


problem = None
try:
    with st.spinner("Listing the folder (the first visit writes the digit images once)…"):
        src = listed(src_name, folder, layout, changed_at(base))
except FolderMissing as exc:
    problem, src = visible.text(exc), None
if problem:
    st.error(problem, icon=":material/folder_off:")
else:
    st.subheader("What the network must read")
    if src_name == "digits":
        st.markdown(
            "**Source:** 12,000 real MNIST training digits and 2,000 test digits, written once as PNG files "
            f"to `{visible.text(src.train.folder.parent)}`. **Target:** the stroke's **slant in degrees**, measured from "
            "each image itself by its moments — with the ink's centre (x̄, ȳ), the shear −μ₁₁/μ₀₂ is how many "
            "pixels the stroke moves sideways per pixel of height, and atan of it is the angle from upright "
            "(positive leans right). **Why this target:** it is continuous, it can only be read from the "
            "picture, and it costs no labelling — like a face's age, it is written in the file name: "
            "`00042_7_+12.34.png` is image 42, a 7, leaning 12.34°.")
    else:
        st.markdown(f"**Source:** `{visible.text(src.train.folder)}`. **Target:** {src.what}, read from each file name "
                    f"(layout “{src.layout.name}”, e.g. `{src.layout.example}`); images resized to "
                    f"{src.size}×{src.size} as they are read.")
    st.caption(f"{len(src.train.paths):,} training files" + (f", {len(src.test.paths):,} test files" if src.test
                                                             else " (a tenth of them is kept for testing)")
               + " — listed by name only, nothing opened yet.")
    if src.train.odd_names:
        st.warning(f"{len(src.train.odd_names)} image files don't follow the layout and are skipped: "
                   + ", ".join(src.train.odd_names[:10]) + ("…" if len(src.train.odd_names) > 10 else ""),
                   icon=":material/warning:")

# --- train ----------------------------------------------------------------------------------------
seq = sequence_controls(KEY, LESSON, specs, disabled=bool(problem), settings=settings_snapshot(KEY),
                        label=f"Train {len(specs)} run{'s' if len(specs) > 1 else ''}"
                        + (", one after another" if len(specs) > 1 else ""))
active = seq is not None and seq.is_active
setup_link(KEY)


def scatter(run, r) -> go.Figure:
    lo, hi = float(min(r.true.min(), r.pred.min())), float(max(r.true.max(), r.pred.max()))
    fig = go.Figure([go.Scattergl(x=r.true, y=r.pred, mode="markers", marker=dict(size=4, opacity=0.4),
                                  text=r.names, name="test images"),
                     go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(dash="dot", color="gray"),
                                name="perfect")])
    labels = "exact labels" if r.spec.labels == "exact" else f"labels rounded to {r.spec.step:g}{r.unit}"
    fig.update_layout(title=f"Run {run.id} · {labels} · test MAE {r.test_mae:.2f}{r.unit}", height=380,
                      xaxis_title=f"true ({r.unit})", yaxis_title=f"predicted ({r.unit})", showlegend=False,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def table(stored, results) -> pd.DataFrame:
    rows = []
    for run, r in zip(stored, results):
        spec = LESSON.spec_from(run.spec)
        rows.append({"run": run.id, "labels": "exact" if spec.labels == "exact" else f"rounded to {spec.step:g}",
                     "state": run.state, "test MAE (exact labels)": r.test_mae if r else None,
                     "MAE predicting the mean": r.baseline_mae if r else None,
                     "loading": "in memory" if spec.in_memory else f"lazy, {spec.workers} workers",
                     "images/s (training)": round(r.images_per_s) if r else None,
                     "waiting for files": f"{r.wait_share:.0%}" if r else None,
                     "dataset holds": f"{r.held_bytes / 1e6:.2f} MB" if r else None})
    return pd.DataFrame(rows)


def show() -> None:
    s: Sequence | None = sequence_of(KEY)
    ids = s.run_ids if s is not None else ([st.session_state[f"run:{KEY}"]] if f"run:{KEY}" in st.session_state else [])
    if not ids:
        st.caption("Nothing trained yet: the curves, the scatter and the MAE appear here.")
        return
    store = runs.get_store()
    stored = [r for r in (store.get(i) for i in ids) if r is not None]
    if s is not None:
        if s.error:
            st.error(f"The runs stopped: {visible.text(s.error)}")
        for k, job in enumerate(s.jobs):
            if job.is_active:
                st.progress(job.progress, text=f"Run {s.run_ids[k]} · {s.specs[k].labels} labels · {job.status}")
            elif job.error:
                st.error(f"Run {s.run_ids[k]}: {visible.text(job.error)}")
    if stored and not any(run_specs.same(sp, stored[0].spec) for sp in specs):
        st.info("Settings changed since these runs — press **Train** to apply them. Everything below is the "
                "runs' own.", icon=":material/tune:")
    results = [runs.result_of(r) if r.state in (runs.DONE, runs.STOPPED) else None for r in stored]
    metrics = {r.id: (s.jobs[i].metrics() if s is not None and i < len(s.jobs) else store.metrics(r.id))
               for i, r in enumerate(stored)}
    if any(metrics.values()):
        c1, c2 = st.columns(2)
        c1.plotly_chart(overlay_figure(stored, metrics, "loss"), width="stretch", key=f"{KEY}-loss")
        c2.plotly_chart(overlay_figure(stored, metrics, "val_mae"), width="stretch", key=f"{KEY}-valmae")
    st.dataframe(table(stored, results), hide_index=True, width="stretch", key=f"{KEY}-table", placeholder="",
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in ("test MAE (exact labels)", "MAE predicting the mean")})
    done = [(run, r) for run, r in zip(stored, results) if r is not None]
    cols = st.columns(max(1, len(done)))
    for col, (run, r) in zip(cols, done):
        col.plotly_chart(scatter(run, r), width="stretch", key=f"{KEY}-scatter-{run.id}")
        if r.stopped:
            col.caption(f"Run {run.id} was {r.stopped}.")
        if r.bad_files:
            col.warning(f"Run {run.id} skipped {len(r.bad_files)} unreadable file(s): " + "; ".join(r.bad_files[:10]),
                        icon=":material/broken_image:")
    by = {r.spec.labels: r for _, r in done}
    if "exact" in by and "rounded" in by:
        e, q = by["exact"], by["rounded"]
        st.success(f"Rounded labels (whole multiples of {q.spec.step:g}{q.unit}): test MAE {q.test_mae:.2f}{q.unit} "
                   f"against {e.test_mae:.2f}{e.unit} with the exact ones ({(q.test_mae / e.test_mae - 1):+.0%}), both "
                   "scored on exact test labels.", icon=":material/lightbulb:")
    if s is not None and not s.is_active and st.session_state.get(f"{KEY}-shown") != id(s):
        st.session_state[f"{KEY}-shown"] = id(s)
        st.rerun()


st.subheader("Side by side")
st.fragment(show, run_every=1.0 if active else None)()

# --- lazy vs in memory --------------------------------------------------------------------------------
st.subheader("Lazy loading against holding everything in memory")
st.markdown(
    "The table above gives each run's training speed, the share of it spent **waiting for files**, and what "
    "its dataset holds in memory (lazy: the names and targets; in memory: every decoded image). The button "
    "measures the two side by side now: each way in a **fresh Python process**, so one doesn't inherit the "
    "other's memory; peak memory is the process's peak resident size (Linux's VmHWM, reset just before "
    "the dataset is built) above its size at that moment, while building the dataset and reading every "
    "training file once without workers.")
if st.button("Measure lazy vs in memory now", key=f"{KEY}-measure", disabled=bool(problem)):
    from dlplay.bench import lazyload

    with st.spinner("Reading the folder both ways, each in its own process…"):
        st.session_state[f"{KEY}-measured"] = lazyload.side_by_side(base, workers=int(workers) or 2)
if (m := st.session_state.get(f"{KEY}-measured")) is not None:
    st.dataframe(pd.DataFrame(m["rows"]), hide_index=True, width="stretch")
    st.caption(m["note"])

st.markdown("""
**What to notice**
- The exact-label run's MAE is a fraction of predicting the mean: the slant is in the picture, and the
  network reads it to a few degrees.
- Rounding every training label to a multiple of 10° moves it by up to 5°, yet the rounded run's test MAE
  comes out close to the exact run's, usually a little above — by about as much as one run differs from the
  same run with another seed, so a single pair may show almost no difference (on the development machine, three
  seeds of the default pair: exact 1.68–1.87°, rounded 1.90–1.99°). The network reads slant only to a couple of
  degrees, and trained on the absolute error it follows the labels no more finely than that: the rounding of
  neighbouring slants up and down averages out. Rounding costs clearly only when the step is large against
  what the network can read — integer ages against an error of several years cost nothing; ages in decades would.
- Lazy loading keeps only names in memory, so the folder can be any size; with workers reading ahead, the
  training loop hardly waits for files ("waiting for files" near 0 %). On a machine with few cores the
  workers' decoding still takes CPU from the training itself, so lazy training is slower even when it never
  waits — the measurement above says how much here. Holding everything is fastest per image, but must
  decode every file before the first step and needs memory for all of them (UTKFace at 64 px: 1.2 GB).
""")
