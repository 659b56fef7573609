"""Transfer learning: a pretrained body against training from scratch when labels are few."""
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from dlplay import data, runs
from dlplay.vision import pretrained
from dlplay.vision.compare import Sequence
from dlplay.vision.transfer import (BODIES, BUDGETS, LESSON, STRATEGIES, TASKS, TransferSpec, body_status, check,
                                    finding)
from ui.live import load_dataset, session_id
from ui.runs import RunView, fair_use_refusal, open_page, run_header, settings_snapshot, workspace
from ui.settings import KEEP, setup_link

KEY = "tl"
SEQ = f"{KEY}-sequence"
LRS = [3e-4, 1e-3, 2e-3, 5e-3, 1e-2]
FACTORS = [0.01, 0.03, 0.1, 0.3, 1.0]

open_page(KEY)  # a run reopened from the Runs page brings its settings back first
st.title("Transfer learning")
st.markdown(
    "A network trained on one task has learned edges, textures and parts that help on another. Here the "
    "**target task** has only a few labelled images per class. Three strategies train on exactly the same "
    "images, each as a run: **from scratch** (random weights), a **frozen** pretrained body with a new "
    "linear head, and **fine-tuning** everything — the body with a lower learning rate than the new head. "
    "The chart shows test accuracy against the number of labels per class: one line per run.")

with st.sidebar:
    st.header("Target task")
    task = st.selectbox("Data", list(TASKS), key=f"{KEY}-task", **KEEP,
                        format_func=lambda t: f"{data.TITLES[t]}: classes 5–9 (source: 0–4)")
    budgets = st.multiselect("Labelled images per class", list(BUDGETS), default=[25, 100, 500],
                             key=f"{KEY}-budgets", **KEEP,
                             help="Each run trains a fresh model at every budget; the smaller budgets are "
                                  "subsets of the larger ones.")
    st.header("Pretrained body")
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

ds = load_dataset(TASKS[task].dataset)

# --- the body: which, and where it comes from ----------------------------------------------------------
st.subheader("The pretrained body")
used, where = body_status(body, task)
(st.warning if used != body else st.info)(where, icon=":material/deployed_code:")
if body in pretrained.IMAGENET and used == body:
    st.caption("On a 2-core CPU an ImageNet body at 64×64 costs about 1–3 s per training step of 64 images "
               "(measured for ResNet18): the frozen strategy computes its features once and trains in seconds; "
               "fine-tuning and from scratch take minutes — fewer steps or budgets keep them short.")

base = TransferSpec(task=task, body=used, budgets=tuple(sorted(budgets)), steps=int(steps), lr=lr,
                    body_lr_factor=factor, image_size=size)
specs = [replace(base, strategy=s) for s in strategies]
problem = check(base) if budgets else "Choose at least one label budget in the sidebar."
if not strategies:
    problem = problem or "Choose at least one strategy in the sidebar."

# --- train: one run per strategy, one after another ------------------------------------------------------
seq: Sequence | None = st.session_state.get(SEQ)


def fetch_body() -> str:
    """Download the ImageNet weights now, with a progress bar; the body to use after."""
    if used not in pretrained.IMAGENET or pretrained.cached_weights(used) is not None:
        return used
    bar = st.progress(0.0, text=f"downloading {pretrained.IMAGENET[used].title}'s ImageNet weights")
    try:
        pretrained.fetch_weights(used, progress=lambda f, msg: bar.progress(min(1.0, f), text=msg))
        return used
    except pretrained.WeightsUnavailable as exc:
        st.warning(f"{exc} Using dlplay's own body instead.", icon=":material/cloud_off:")
        return "own"
    finally:
        bar.empty()


if st.session_state.get(f"{KEY}-train") and not problem and not (seq is not None and seq.is_active):
    ws, sid = workspace(), session_id()
    if refused := fair_use_refusal(LESSON, specs[0], sid):
        st.warning(refused, icon=":material/block:")
    else:
        body_now = fetch_body()
        to_train = [replace(s, body=body_now) for s in specs]
        settings = settings_snapshot(KEY)

        def start_one(spec):
            run, job = runs.start(LESSON, spec, workspace=ws, session_id=sid, settings=settings, ds=ds)
            return run.id, job

        seq = st.session_state[SEQ] = Sequence(to_train, start_one).start()
        st.session_state.pop(f"run:{KEY}", None)  # the page now shows this comparison
if st.session_state.get(f"{KEY}-stop") and seq is not None:
    seq.stop()
    for job in seq.jobs:
        job.wait(5.0)

active = seq is not None and seq.is_active
c1, c2, _ = st.columns([2, 1, 3])
n = len(strategies)
c1.button(f"Train {n} strateg{'ies' if n != 1 else 'y'}, one after another", key=f"{KEY}-train", type="primary",
          disabled=active or bool(problem), width="stretch")
c2.button("Stop", key=f"{KEY}-stop", disabled=not active, width="stretch")
if problem:
    st.error(problem, icon=":material/error:")
setup_link(KEY)


def shown_runs() -> tuple[list[int], Sequence | None]:
    """The runs the page shows: a run reopened from the Runs page on its own, else this session's comparison."""
    s: Sequence | None = st.session_state.get(SEQ)
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
        st.error(f"The comparison stopped: {s.error}")
    for v in views:
        spec = LESSON.spec_from(v.run.spec)
        run_header(v, replace(base, strategy=spec.strategy))
        note = (v.run.summary or {}).get("body_note") or v.latest("body_note")
        if v.is_active:
            st.progress(v.progress, text=f"Run {v.id} · {STRATEGIES.get(spec.strategy)} · {v.status}")
            logs = v.job.logs() if v.job is not None else []
            if logs and logs[-1] != note:  # e.g. the own body being pretrained, the features being computed
                st.caption(logs[-1])
        elif v.state == "failed":
            st.error(v.error or "The run failed.")
        if note:
            st.caption(f"Body: {note}")
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
""")
