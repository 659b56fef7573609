"""Transfer learning: a pretrained body against training from scratch when labels are few."""
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from dlplay import course, data, runs, visible
from dlplay.vision import caltech, pretrained
from dlplay.runs.sequence import Sequence
from dlplay.vision.transfer import (BODIES, BUDGETS, CALTECH_BUDGETS, LESSON, STRATEGIES, TASKS, InvalidSpec,
                                    TransferSpec, body_status, check, finding, target_dataset)
from dlplay_app.ui.live import load_dataset
from dlplay_app.ui.runs import RunView, open_page, run_header, settings_snapshot, workspace
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP, setup_link

KEY = course.here(__file__).key
LRS = [3e-4, 1e-3, 2e-3, 5e-3, 1e-2]
FACTORS = [0.01, 0.03, 0.1, 0.3, 1.0]

open_page(KEY)  # a run reopened from the Runs page brings its settings back first
st.title(course.page(KEY).heading)
st.markdown(
    "A network trained on one task has learned edges, textures and parts that help on another. Here the "
    "**target task** has only a few labelled images per class. Three strategies train on exactly the same "
    "images, each as a run: **from scratch** (random weights), a **frozen** pretrained body with a new "
    "linear head, and **fine-tuning** everything — the body with a lower learning rate than the new head. "
    "The chart shows test accuracy against the number of labels per class: one line per run.")


def task_title(t: str) -> str:
    if t == "caltech101":
        return f"{caltech.TITLE}: 101 object categories (your folder; ImageNet bodies)"
    return f"{data.TITLES[t]}: classes 5–9 (source: 0–4)"


with st.sidebar:
    st.header("Target task")
    task = st.selectbox("Data", list(TASKS), key=f"{KEY}-task", **KEEP, format_func=task_title)
    on_caltech = task == "caltech101"
    if on_caltech:
        folder = caltech.find_folder()
        st.caption(f"Photos of 101 object categories collected at Caltech (Fei-Fei, Fergus & Perona, 2004), from "
                   f"{caltech.URL}: " + (f"read from your copy in {folder}." if folder else
                                         "not in the data directory yet (the page says where it goes)."))
    # Caltech 101 has its own budgets and bodies, each under its own key: switching tasks keeps both choices.
    budgets = st.multiselect("Labelled images per class", list(CALTECH_BUDGETS if on_caltech else BUDGETS),
                             default=[5, 15, 30] if on_caltech else [25, 100, 500],
                             key=f"{KEY}-budgets-caltech" if on_caltech else f"{KEY}-budgets", **KEEP,
                             help="Each run trains a fresh model at every budget; the smaller budgets are "
                                  "subsets of the larger ones.")
    st.header("Pretrained body")
    if on_caltech:
        body = st.selectbox("Body", list(pretrained.IMAGENET), index=list(pretrained.IMAGENET).index("mobilenet_v2"),
                            format_func=BODIES.get, key=f"{KEY}-body-caltech", **KEEP,
                            help="ImageNet bodies only: dlplay's own body is pretrained on five other classes of "
                                 "the same dataset, and Caltech 101 has no such source task.")
    else:
        body = st.selectbox("Body", list(BODIES), format_func=BODIES.get, key=f"{KEY}-body", **KEEP,
                            help="ImageNet weights are downloaded once (when the server is online) and cached. "
                                 "dlplay's own body is pretrained on the other five classes of the same dataset.")
    size = 64
    if body in pretrained.IMAGENET:
        size = st.select_slider("Image size for the ImageNet body", [32, 64, 96], value=64, key=f"{KEY}-size",
                                **KEEP, help="CIFAR's 32×32 images are resized: too small and ImageNet's "
                                             "features don't fit them; bigger costs time (4× per doubling).")
    st.header("Strategies and training")
    strategies = st.multiselect("Strategies, in the order they train", list(STRATEGIES),
                                default=list(STRATEGIES), format_func=STRATEGIES.get, key=f"{KEY}-strategies",
                                **KEEP)
    steps = st.select_slider("Steps at every budget", [25, 50, 100, 150, 300, 600], value=150, key=f"{KEY}-steps",
                             **KEEP, help="Counted in steps (batches of 64), not epochs: at 25 per class an "
                                          "epoch is two batches.")
    lr = st.select_slider("Learning rate (new head; every layer from scratch)", LRS, value=2e-3, key=f"{KEY}-lr",
                          format_func=lambda v: f"{v:g}", **KEEP)
    factor = st.select_slider("Fine-tuning: body learning rate × ", FACTORS, value=0.1, key=f"{KEY}-factor",
                              format_func=lambda v: f"{v:g}", **KEEP,
                              help="The pretrained layers learn this much slower than the new head.")



def caltech_data(spec: TransferSpec) -> tuple[data.ImageData | None, str | None]:
    """Caltech 101 from the user's folder (read once per process): the data, or what is wrong."""
    if caltech.find_folder() is None:
        return None, caltech.missing_message()
    try:
        with st.spinner(f"Reading {caltech.TITLE}'s images (once) at {spec.image_size}×{spec.image_size}…"):
            return target_dataset(spec), None
    except (data.DatasetUnavailable, InvalidSpec) as exc:
        return None, visible.text(exc)


data_problem = None
if on_caltech:
    # The split needs a budget; with none chosen the source is still shown (Train is off anyway).
    ds, data_problem = caltech_data(TransferSpec(task=task, body=body, image_size=size,
                                                 budgets=tuple(budgets) or CALTECH_BUDGETS[:1]))
    if data_problem:
        st.error(data_problem, icon=":material/folder_off:")
    else:
        if problems := ds.extra.get("problems"):
            st.warning(visible.text("\n\n".join(f"**{p}.**" for p in problems)), icon=":material/warning:")
        st.caption(f"📦 {ds.summary()}")
else:
    ds = load_dataset(TASKS[task].dataset)

# --- the body: which, and where it comes from ----------------------------------------------------------
st.subheader("The pretrained body")
status_box = st.empty()  # said once, and said again in place when a download fails


def use_own_body() -> None:
    st.session_state[f"{KEY}-body"] = "own"


def show_status(used: str, where: str, offer: bool = True) -> None:
    with status_box.container():
        if not used:  # Caltech 101 without ImageNet weights: nothing to train with
            st.error(where, icon=":material/cloud_off:")
        elif used != body:  # the ImageNet weights can't be had: dlplay's own body trains instead
            st.warning(where, icon=":material/cloud_off:")
            if offer:  # (drawn once a run: a failed download redraws the notice without it)
                st.button("Choose dlplay's own body", key=f"{KEY}-use-own", on_click=use_own_body,
                          icon=":material/deployed_code:")
        else:
            st.info(where, icon=":material/deployed_code:")


used, where = body_status(body, task)
show_status(used, where)
if body in pretrained.IMAGENET and used == body:
    st.caption("On a 2-core CPU an ImageNet body at 64×64 costs about 1–3 s per training step of 64 images "
               "(measured for ResNet18): the frozen strategy computes its features once and trains in seconds; "
               "fine-tuning and from scratch take minutes — fewer steps or budgets keep them short.")

base = TransferSpec(task=task, body=used or body, budgets=tuple(sorted(budgets)), steps=int(steps), lr=lr,
                    body_lr_factor=factor, image_size=size)
specs = [replace(base, strategy=s) for s in strategies]
problem = check(base) if budgets else "Choose at least one label budget in the sidebar."
problem = problem or data_problem or (None if used else where)
if not strategies:
    problem = problem or "Choose at least one strategy in the sidebar."

# --- train: one run per strategy, one after another ------------------------------------------------------
def fetch_body() -> str | None:
    """Download the ImageNet weights now, with a progress bar; the body to use after (None:
    Caltech 101 without them, nothing to train). A failed download is said once, in the body's
    place above (it is not tried again on the next Train), and the settings the runs are compared
    with name the body they really train."""
    global used, where, base
    if used not in pretrained.IMAGENET or pretrained.cached_weights(used) is not None:
        return used
    bar = st.progress(0.0, text=f"downloading {pretrained.IMAGENET[used].title}'s ImageNet weights")
    try:
        pretrained.fetch_weights(used, progress=lambda f, msg: bar.progress(min(1.0, f), text=msg))
        return used
    except pretrained.WeightsUnavailable:
        used, where = body_status(body, task)  # now: the failure, and the own body (or, Caltech 101, nothing)
        show_status(used, where, offer=False)
        base = replace(base, body=used or body)
        return used or None
    finally:
        bar.empty()


def with_body(todo: list) -> list:
    body_now = fetch_body()
    return [replace(s, body=body_now) for s in todo] if body_now is not None else []


n = len(strategies)
seq = sequence_controls(KEY, LESSON, specs, disabled=bool(problem), ds=ds, settings=settings_snapshot(KEY),
                        prepare=with_body, label=f"Train {n} strateg{'ies' if n != 1 else 'y'}, one after another")
active = seq is not None and seq.is_active
if problem and problem in (data_problem, None if used else where):
    st.caption("Train is off until what is said above is fixed.")
elif problem:
    st.error(problem, icon=":material/error:")
setup_link(KEY)


def shown_runs() -> tuple[list[int], Sequence | None]:
    """The runs the page shows: a run reopened from the Runs page on its own, else this session's comparison."""
    s: Sequence | None = sequence_of(KEY)
    reopened = st.session_state.get(f"run:{KEY}")
    if reopened is not None and (s is None or reopened not in s.run_ids):
        return [reopened], None
    return (list(s.run_ids), s) if s is not None else ([], None)


def budget_rows(view: RunView) -> list[dict]:
    return [r for r in view.metrics() if r.get("split") == "budget"]


def accuracy_figure(views: list[RunView]) -> go.Figure:
    fig = go.Figure()
    for v in views:
        rows = budget_rows(v)
        if not rows:
            continue
        spec = LESSON.spec_from(v.run.spec)
        fig.add_scatter(x=[r["budget"] for r in rows], y=[r["test_acc"] for r in rows], mode="lines+markers",
                        name=f"run {v.id} · {STRATEGIES.get(spec.strategy, spec.strategy)}",
                        marker=dict(symbol=["circle-open" if r.get("partial") else "circle" for r in rows], size=10))
    ids = ", ".join(str(v.id) for v in views)
    fig.update_layout(title=f"Test accuracy against labels per class — run{'s' if len(views) > 1 else ''} {ids}",
                      height=420, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25),
                      xaxis_title="labelled training images per class (log scale)", yaxis_title="test accuracy",
                      yaxis_tickformat=".0%")
    ticks = sorted({r["budget"] for v in views for r in budget_rows(v)})
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])
    return fig


def show() -> None:
    ids, s = shown_runs()
    if not ids and s is None:
        st.caption("Nothing trained yet: press Train — the chart and the table fill in as each budget finishes.")
        return
    store = runs.get_store()
    views = []
    for run_id in ids:
        run = store.get(run_id, workspace())
        if run is not None:
            views.append(RunView(run, runs.RECORDER.job(run_id)))
    if s is not None and s.error:
        st.error(f"The comparison stopped: {visible.text(s.error)}")
    for v in views:
        spec = LESSON.spec_from(v.run.spec)
        run_header(v, replace(base, strategy=spec.strategy))
        note = (v.run.summary or {}).get("body_note") or v.latest("body_note")
        if v.is_active:
            st.progress(v.progress, text=f"Run {v.id} · {STRATEGIES.get(spec.strategy)} · {v.status}")
            logs = v.job.logs() if v.job is not None else []
            if logs and logs[-1] != note:  # e.g. the own body being pretrained, the features being computed
                st.caption(visible.text(logs[-1]))
        elif v.state == "failed":
            st.error(visible.text(v.error) if v.error else "The run failed.")
        if note:
            st.caption(f"Body: {visible.text(note)}")
    if s is not None:
        waiting = [STRATEGIES[sp.strategy] for sp in s.specs[len(s.run_ids):]]
        if waiting and not s.stopped:
            st.caption(f"Waiting: {', '.join(waiting)}.")
        if s.stopped and not s.is_active:
            st.info("Stopped: each run keeps the budgets it finished (an open marker is a budget cut short); "
                    "the strategies not started yet were skipped.", icon=":material/stop_circle:")
    if any(budget_rows(v) for v in views):
        st.plotly_chart(accuracy_figure(views), width="stretch", key=f"{KEY}-acc")
        table = []
        for v in views:
            spec = LESSON.spec_from(v.run.spec)
            for r in budget_rows(v):
                table.append({"run": v.id, "strategy": STRATEGIES.get(spec.strategy), "labels per class": r["budget"],
                              "test acc.": r["test_acc"], "steps": r["steps"], "epochs": round(r["epochs"], 1),
                              "s / epoch": round(r["epoch_seconds"], 3), "seconds": round(r["seconds"], 1),
                              "note": "stopped early" if r.get("partial") else ""})
        st.dataframe(table, hide_index=True, width="stretch", key=f"{KEY}-table",
                     column_config={"test acc.": st.column_config.NumberColumn(format="percent")})
        by_strategy = {LESSON.spec_from(v.run.spec).strategy: budget_rows(v) for v in views}
        if text := finding(by_strategy):
            st.success(text, icon=":material/lightbulb:")
    if s is not None and not s.is_active and st.session_state.get(f"{KEY}-shown") != id(s):
        st.session_state[f"{KEY}-shown"] = id(s)
        st.rerun()  # the buttons come back


st.subheader("Side by side")
st.fragment(show, run_every=1.0 if active else None)()

st.markdown("""
### What to notice

- **Few labels, big gap.** With 25 images per class a network from scratch has little to learn from; a body
  that has already seen thousands of other images only has to learn how to *combine* its features.
- **The gap closes as labels grow.** With hundreds per class the scratch network catches up: pretraining
  matters most when labels are scarce.
- **Frozen is the fastest.** Its body runs once per image (the features are cached), so its head trains in a
  fraction of a second. Fine-tuning costs as much as training from scratch per step, and usually wins at
  the larger budgets, where there are enough labels to adjust the body without overfitting.
- **A lower learning rate for the body** keeps fine-tuning from wiping out what the body knows while the new
  head is still random; set the factor to 1 to compare.
- **Where the body comes from matters.** dlplay's own body learned on five *other* classes of the same
  dataset (CIFAR-10: airplane, automobile, bird, cat, deer); ImageNet's bodies learned on 1.2 million
  photos of 1,000 classes.
- **Caltech 101** (your own copy of its 101 object categories: 9,144 photos, 31 to 800 per class) is the
  assignment's MobileNetV2 task: with 5 to 30 labels per class and 101 classes, a random network has
  almost nothing to learn from, while ImageNet's features already tell a chair from a crab.
""")
