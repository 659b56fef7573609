"""Compare CNNs: train several architectures one after another and set them side by side."""
import streamlit as st

from dlplay import course, data, runs, visible
from dlplay.runs import specs as run_specs
from dlplay.vision.cnn import LESSON, CNNSpec
from dlplay.runs.sequence import Sequence
from dlplay.vision.compare import CHOICES, curves_figure, finding, setups, table
from dlplay_app.ui.live import load_dataset, train_size_slider
from dlplay_app.ui.runs import shared_server
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP, setup_link

KEY = course.here(__file__).key
MINE = "my stack (CNN builder)"

st.title(course.page(KEY).heading)
st.markdown(
    "The assignment asks for a deeper CNN — and finds that, trained the way the simple one was, it does "
    "**worse**. Pick a few setups below and train them one after another on the same data; each becomes a "
    "run of the **CNN builder** (open it there to look inside). The table puts their size, speed and "
    "accuracy side by side and the curves are overlaid.")

# The stack last built on the CNN builder page (this session), as one more setup.
built = st.session_state.get("cnn-built")
mine = {MINE: run_specs.from_dict(CNNSpec, built)} if built else {}

with st.sidebar:
    st.header("What to compare")
    dataset = st.selectbox("Dataset", ["mnist", "fashion_mnist", "cifar10"], key=f"{KEY}-dataset",
                           format_func=lambda n: data.TITLES.get(n, n), **KEEP)
    chosen = st.multiselect("Setups, in the order they train", list(CHOICES) + list(mine),
                            default=["simple", "deeper, untuned", "deeper + batch norm + Adam"],
                            key=f"{KEY}-setups", **KEEP)
    epochs = st.number_input("Epochs for every setup (0 = each preset's own)", 0, 30, 2, key=f"{KEY}-epochs",
                             **KEEP)
    n_train = train_size_slider("Training images", [2000, 5000, 10000, 20000, 0], 5000, f"{KEY}-ntrain",
                                dataset, help="The same images for every setup; fewer is faster.")

ds = load_dataset(dataset)
if not mine:
    st.caption(f"Build a stack of your own on the **CNN builder** page and it is offered here as “{MINE}”.")
specs = setups(chosen, dataset, int(epochs), n_train, extra=mine)
with st.expander("The setups", expanded=False):
    for spec in specs:
        layers = " → ".join(b.label() for b in spec.blocks) + " → " + \
            (" → ".join(f"dense {u}" for u in spec.dense) + " → " if spec.dense else "") + "10 classes"
        t = spec.train
        st.markdown(f"**{spec.preset}**: {layers}  \n{t.optimizer}, learning rate {t.lr:g} ({t.schedule}), "
                    f"batch {t.batch_size}, {t.epochs} epoch{'s' if t.epochs != 1 else ''}"
                    + (f", label smoothing {spec.label_smoothing:g}" if spec.label_smoothing else "")
                    + (", augmentation" if spec.augment else ""))

seq = sequence_controls(KEY, LESSON, specs, ds=lambda spec: data.load(spec.dataset),
                        label=f"Train {len(chosen)} setup{'s' if len(chosen) != 1 else ''}, one after another")
active = seq is not None and seq.is_active
if not chosen:
    st.info("Pick at least one setup in the sidebar.")
setup_link(KEY)


def show() -> None:
    s: Sequence | None = sequence_of(KEY)
    if s is None:
        st.caption("Nothing trained yet: the table and curves appear here as the runs go.")
        return
    store = runs.get_store()
    stored = [store.get(i) for i in s.run_ids]
    stored = [r for r in stored if r is not None]
    if s.error:
        st.error(f"The sequence stopped: {visible.text(s.error)}")
    for job in s.jobs:
        if job.is_active:
            k = s.jobs.index(job)
            st.progress(job.progress, text=f"Run {s.run_ids[k]} · {s.specs[k].preset} · {job.status}")
    if s.stopped and not s.is_active:
        st.info("Stopped: the setups not started yet were skipped.", icon=":material/stop_circle:")
    df = table(stored, s.specs)
    st.dataframe(df, hide_index=True, width="stretch", key=f"{KEY}-table", placeholder="",
                 column_config={"best val. acc.": st.column_config.NumberColumn(format="percent"),
                                "test acc.": st.column_config.NumberColumn(format="percent"),
                                "parameters": st.column_config.NumberColumn(format="localized")})
    metrics = {r.id: (s.jobs[i].metrics() if i < len(s.jobs) else store.metrics(r.id)) for i, r in enumerate(stored)}
    if stored and any(metrics.values()):
        c1, c2 = st.columns(2)
        c1.plotly_chart(curves_figure(stored, metrics, "acc"), width="stretch", key=f"{KEY}-acc")
        c2.plotly_chart(curves_figure(stored, metrics, "loss"), width="stretch", key=f"{KEY}-loss")
    if text := finding(df):
        st.success(text, icon=":material/lightbulb:")
    if not s.is_active and st.session_state.get(f"{KEY}-shown") != id(s):
        st.session_state[f"{KEY}-shown"] = id(s)
        st.rerun()  # the buttons come back


st.subheader("Side by side")
st.fragment(show, run_every=1.0 if active else None)()
if shared_server():
    st.caption("Each setup is a run of your workspace: open any of them on the Runs page.")

st.markdown("""
### What the comparison shows — and what fixes it

- **Deeper is not automatically better.** “deeper, untuned” stacks eight convolutions and trains them with
  plain SGD at a constant learning rate of 0.01 for a few epochs. Every extra layer multiplies the signal
  and its gradient by weights that start small, so the first layers hardly learn and the loss falls slowly:
  it ends *below* the one-convolution “simple” network, with many more parameters and slower epochs.
- **Batch norm** rescales each layer's output to mean 0 and variance 1 while training, so every layer gets
  usable gradients whatever its depth — the single biggest fix (“deeper + batch norm + Adam”).
- **The learning rate and optimizer**: Adam adapts the step size per weight, and a one-cycle schedule warms
  up and then anneals; compare “deeper + Adam (no batch norm)” to see how much each part brings.
- **Epochs**: a deeper network needs more of them; with 1–2 epochs the small ones win on speed *and*
  accuracy. Raise the epochs above and watch the gap close.
- **Batch size and filters**: bigger batches give more images per second on a CPU but fewer updates per
  epoch; the “fast” preset keeps few channels early, where the images are big, and pools early.
""")
