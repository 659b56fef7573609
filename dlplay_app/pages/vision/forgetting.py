"""Catastrophic forgetting: learn task A, then task B, and watch A fall; four remedies compared."""
import streamlit as st

from dlplay import course, runs, visible
from dlplay.train import TrainConfig
from dlplay.runs.sequence import Sequence
from dlplay.vision.forgetting import (LESSON, MODELS, PAIRS, REMEDIES, TASK_NAMES, ForgetSpec, build, check,
                                      model_brief, overlay_figure, remedy_label, remedy_specs, table, task_points,
                                      tasks_figure, weight_layers)
from dlplay_app.ui.live import finished_result, live, load_dataset, lr_slider
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
SIZES = [1000, 2000, 5000, 10000, 20000, 0]

open_page(KEY)  # a run reopened from the Runs page brings its settings back first
st.title(course.page(KEY).heading)
st.markdown(
    "Train a network on **task A**, then go on training the same network on **task B** only. After every "
    "epoch a callback measures it on *both* tasks' test images, and the chart below draws the two accuracies "
    "as they come: B's rises, and A's — nobody asked the network to keep it — falls, often to nothing. "
    "That is **catastrophic forgetting**. Then switch on a remedy and see how much of A each one keeps, "
    "or compare them all, one run each, at the bottom of the page.")

# --- settings -----------------------------------------------------------------------------------
with st.sidebar:
    st.header("Tasks")
    pair = st.selectbox("Task A → task B", list(PAIRS), format_func=PAIRS.get, key=f"{KEY}-pair", **KEEP,
                        help="Digits 0–4 → 5–9 share one 10-class head: the network must learn new classes "
                             "(class-incremental). The other two keep the classes 0–9 and change the images.")
    st.header("Model and training")
    model = st.radio("Model", list(MODELS), format_func=MODELS.get, horizontal=True, key=f"{KEY}-model", **KEEP,
                     help="MLP: 784 → 256 → 256 → 10. Small CNN: two 3×3 convolutions (16, 32) with pooling, "
                          "dense 128, 10 outputs.")
    n_train = st.select_slider("Training images per task", SIZES, value=5000, key=f"{KEY}-ntrain", **KEEP,
                               format_func=lambda n: f"{n:,}" if n else "all")
    epochs_a = st.number_input("Epochs on task A", 1, 20, 3, key=f"{KEY}-epochs-a", **KEEP)
    epochs_b = st.number_input("Epochs on task B", 1, 20, 3, key=f"{KEY}-epochs-b", **KEEP)
    lr = lr_slider(f"{KEY}-lr", 1e-3)
    st.header("Remedy during task B")
    remedy = st.radio("Remedy", list(REMEDIES), format_func=REMEDIES.get, key=f"{KEY}-remedy", **KEEP)
    st.caption("Each remedy's setting (used when it is chosen, and in the comparison below):")
    buffer = st.select_slider("Rehearsal: images of task A kept", [10, 50, 100, 200, 500, 1000, 2000], value=200,
                              key=f"{KEY}-buffer", format_func=lambda n: f"{n:,}", **KEEP,
                              help="Every batch of B is joined by as many images from this buffer.")
    lam = st.select_slider("EWC: penalty weight λ", [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0], value=1000.0,
                           key=f"{KEY}-lambda", format_func=lambda v: f"{v:g}", **KEEP,
                           help="How hard weights that mattered for A are pulled back to their values after A.")
    frozen = st.select_slider("Freeze: lower layers frozen", [1, 2, 3], value=1, key=f"{KEY}-frozen", **KEEP,
                              help="Counted from the input; the 10-class head always learns. The MLP has 2 "
                                   "layers below its head, the CNN 3.")
    lr_factor = st.select_slider("Lower learning rate: B's is A's ×", [0.3, 0.1, 0.03, 0.01], value=0.1,
                                 key=f"{KEY}-lrfactor", format_func=lambda v: f"{v:g}", **KEEP)

ds = load_dataset("mnist")
if pair == "fashion":
    load_dataset("fashion_mnist")
spec = ForgetSpec(pair=pair, model=model, remedy=remedy, buffer=int(buffer), ewc_lambda=float(lam),
                  frozen=int(frozen), lr_factor=float(lr_factor), n_train=int(n_train), epochs_a=int(epochs_a),
                  epochs_b=int(epochs_b), train=TrainConfig(lr=lr, schedule="constant", batch_size=128))
name_a, name_b = TASK_NAMES[pair]
lower = weight_layers(build(spec))[:-1]
if remedy == "freeze" and frozen > len(lower):
    st.caption(f"This model has {len(lower)} layers below its head: all {len(lower)} are frozen, the head learns.")
st.markdown(f"**Task A**: {name_a} · **task B**: {name_b} · **remedy**: {remedy_label(spec)}.")
problem = check(spec)
if problem:
    st.error(problem, icon=":material/error:")

# --- one run, live ------------------------------------------------------------------------------
shown = run_controls(KEY, LESSON, spec, ds, disabled=bool(problem))


def run_title(run_id: int, run_spec: ForgetSpec) -> str:
    return f"Run {run_id} · {PAIRS[run_spec.pair]} · {remedy_label(run_spec)}"


def render_live(view) -> None:
    run_spec = LESSON.spec_from(view.run.spec)  # the run's own settings, not the ones on screen
    points = task_points(view.metrics())
    st.plotly_chart(tasks_figure(points, run_spec, run_title(view.id, run_spec)), width="stretch",
                    key=f"{KEY}-chart")
    if points and view.is_active:
        last = points[-1]
        st.caption(f"After epoch {last['epoch']} (task {last['phase']}): task A {last['acc_a']:.1%}, task B "
                   f"{last['acc_b']:.1%} on {run_spec.n_eval:,} test images of each.")


if shown is None:
    st.plotly_chart(tasks_figure([], spec, "Press Train: both tasks' accuracy appears here after every epoch"),
                    width="stretch", key=f"{KEY}-chart")
live(KEY, render_live)

result = finished_result(KEY)
if result is not None:
    r = result
    st.subheader(f"Run {shown.id}: what training on B cost A")
    c = st.columns(4)
    c[0].metric("Task A after A", f"{r.a_after_a:.1%}" if r.a_after_a is not None else "—")
    c[1].metric("Task A after B", f"{r.a_after_b:.1%}" if r.a_after_b is not None else "—",
                f"{-r.fall:+.1f} points" if r.fall is not None else None)
    c[2].metric("Task B after B", f"{r.b_after_b:.1%}" if r.b_after_b is not None else "—",
                help=f"Before training on it: {r.b_after_a:.1%}" if r.b_after_a is not None else None)
    c[3].metric("Seconds", f"{r.seconds:.1f}")
    st.caption(f"On the whole test set of each task ({r.tasks[0]}, {r.tasks[1]}).")
    if r.stopped:
        st.info(f"The run was {r.stopped}: the figures are the model's as it was then.", icon=":material/stop_circle:")
    if r.a_after_a is not None and r.a_after_a < 0.5:
        st.warning(f"Task A was hardly learned ({r.a_after_a:.1%}), so there is little to forget: lower the learning "
                   f"rate (now {r.spec.train.lr:g}) or train A for more epochs.", icon=":material/warning:")
    elif r.b_after_b is not None and r.b_after_b < 0.5:
        held = {"ewc": "a smaller λ", "freeze": "fewer frozen layers", "lower_lr": "a larger factor"}
        why = (f"the remedy held the network too tightly — try {held[r.spec.remedy]}" if r.spec.remedy in held
               else f"lower the learning rate (now {r.spec.train.lr:g}) or train B for more epochs")
        st.warning(f"Task B was hardly learned ({r.b_after_b:.1%}): {why}. Keeping A is easy when nothing new is "
                   "learned.", icon=":material/warning:")
    if r.fall is not None and r.a_after_a is not None and r.a_after_a >= 0.5:
        kept = r.a_after_b / r.a_after_a if r.a_after_a else 0.0
        st.markdown(f"Learning {r.tasks[1]} cost {r.tasks[0]} **{r.fall:.1f} points**: {kept:.0%} of what was "
                    f"learned is left, with {remedy_label(r.spec)}.")

# --- several remedies, one after another ---------------------------------------------------------
st.header("Compare the remedies")
st.markdown("The settings above, once per remedy, trained one after another: each is a run of its own (on the "
            "Runs page too). The table gives A's accuracy after A and after B, the fall, and B's accuracy; the chart "
            "overlays every run's curve of task A (solid) and B (dotted).")
chosen = st.multiselect("Remedies, in the order they train", list(REMEDIES), default=list(REMEDIES),
                        format_func=REMEDIES.get, key=f"{KEY}-compare", **KEEP)
specs_to_compare = remedy_specs(spec, chosen)
seq = sequence_controls(KEY, LESSON, specs_to_compare, buttons=f"{KEY}-cmp", ds=ds, disabled=bool(problem),
                        label=f"Compare {len(chosen)} remedies" if len(chosen) != 1 else "Train 1 remedy",
                        replaces_run=False)  # the single run above stays on the page
active = seq is not None and seq.is_active
if not chosen:
    st.info("Pick at least one remedy to compare.")


def show_comparison() -> None:
    s: Sequence | None = sequence_of(KEY)
    if s is None:
        st.caption("Nothing compared yet: the table and curves appear here as the runs go.")
        return
    store = runs.get_store()
    stored = [run for run in (store.get(i) for i in s.run_ids) if run is not None]
    if s.error:
        st.error(f"The comparison stopped: {visible.text(s.error)}")
    for k, job in enumerate(s.jobs):
        if job.is_active:
            st.progress(job.progress, text=f"Run {s.run_ids[k]} · {remedy_label(s.specs[k])} · {job.status}")
    if s.stopped and not s.is_active:
        st.info("Stopped: the remedies not started yet were skipped.", icon=":material/stop_circle:")
    first = s.specs[0]
    st.caption(f"Compared on {PAIRS[first.pair]} · {model_brief(first)} · "
               f"{f'{first.n_train:,}' if first.n_train else 'all'} images per task · {first.epochs_a} + "
               f"{first.epochs_b} epochs · learning rate {first.train.lr:g}.")
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(table(stored, s.specs), hide_index=True, width="stretch", key=f"{KEY}-table", placeholder="",
                 column_config={"A after A": pct, "A after B": pct, "B after B": pct})
    metrics = {run.id: (s.jobs[i].metrics() if i < len(s.jobs) else store.metrics(run.id))
               for i, run in enumerate(stored)}
    if stored:
        st.plotly_chart(overlay_figure(stored, s.specs[:len(stored)], metrics), width="stretch",
                        key=f"{KEY}-overlay")
    if not s.is_active and st.session_state.get(f"{KEY}-cmp-shown") != id(s):
        st.session_state[f"{KEY}-cmp-shown"] = id(s)
        st.rerun()  # the buttons come back


st.fragment(show_comparison, run_every=1.0 if active else None)()

st.markdown("""
### What to notice

- **Digits 0–4 → 5–9** (one shared head): task A goes from about 97 % to **0 %** within B's first epoch. The
  network has not lost its features for 0–4 — it has learned that the answer is always one of 5–9: the
  head's outputs for 0–4 are pushed down by every batch of B.
- **Rehearsal** fixes most of it with a small buffer: 200 old images (4 % of A's 5,000) mixed into B's batches keep
  A near 85 %. Replay is what works when new classes arrive.
- **EWC** protects the weights A needed, but in the class-incremental pair the damage is in the head's
  biases and outputs, which B needs to change: it barely helps there. With the same classes and new images
  (**MNIST → Fashion-MNIST** or **permuted MNIST**) it keeps most of A, at some cost to B.
- **Freezing the lower layers** keeps the features but not the head, so A still falls — and on permuted
  MNIST it is worse than nothing: with the first layer fixed, the upper layers must change all the more.
- **A lower learning rate** for B trades B for A: A falls more slowly, and B is learned more slowly too.
- **Permuted MNIST** forgets least: a wide network has room for both pixel orders. Train B longer, or give it
  a higher learning rate, and A's fall grows.
""")
