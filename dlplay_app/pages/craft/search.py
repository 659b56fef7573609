"""Hyperparameter search: grid, random and Optuna over an MLP, scored on validation data,
the best retrained and tested once."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, runs, visible
from dlplay.craft import space as space_
from dlplay.craft.search import (DATASETS, LESSON, METHODS, VALIDATIONS, SearchSpec, best_so_far, brief, budget,
                                 parallel_figure, trials_of, varied)
from dlplay.runs.sequence import Sequence
from dlplay_app.ui.live import finished_result, live, load_dataset
from dlplay_app.ui.runs import open_page, run_controls, settings_snapshot, workspace
from dlplay_app.ui.sequence import sequence_controls, sequence_of
from dlplay_app.ui.settings import KEEP, ranges_restored

KEY = course.here(__file__).key
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
WIDTHS = [16, 32, 64, 128, 256, 512, 1024]
DECAYS = [0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
BATCHES = [16, 32, 64, 128, 256, 512]
COLUMNS = {"lr": "learning rate", "width": "width", "depth": "hidden layers", "dropout": "dropout",
           "weight_decay": "weight decay", "batch_size": "batch size"}
STATES = {"complete": "✅ complete", "pruned": "✂️ pruned", "diverged": "💥 diverged"}

RANGES = [f"{KEY}-{name}" for name in ("lr", "width", "depth", "dropout", "decay", "batch")]

open_page(KEY)
ranges_restored(*RANGES)  # a reopened run's ranges come back from JSON as lists
st.title(course.page(KEY).heading)
st.markdown(
    "Which learning rate, width, depth and dropout suit this network? Try settings and keep the best — "
    "but **fairly**: every setting (a *trial*) is scored on **validation** data held out of training, the best "
    "is retrained on training + validation, and only then is it scored, **once**, on the test set, which no "
    "trial ever saw. Choose how to pick the trials: a **grid** of every combination "
    "(scikit-learn's GridSearchCV), **random** draws from the ranges (RandomizedSearchCV), or **Optuna**, "
    "which proposes each trial from the scores so far (TPE) and stops hopeless trials after an epoch "
    "(median pruning). Trials appear in the table as they end.")

with st.sidebar:
    st.header("Search")
    method = st.radio("Method", list(METHODS), format_func=METHODS.get, index=2, key=f"{KEY}-method", **KEEP)
    validation = st.radio("Validation", list(VALIDATIONS), format_func=VALIDATIONS.get, key=f"{KEY}-val", **KEEP)
    folds = st.slider("Folds", 2, 5, 3, key=f"{KEY}-folds", disabled=validation != "kfold", **KEEP)
    n_trials = st.slider("Trials", 2, 64, 16, key=f"{KEY}-trials", disabled=method == "grid", **KEEP,
                         help="A grid has as many trials as combinations (below).")
    points = st.slider("Grid: values per searched setting", 1, 4, 2, key=f"{KEY}-points", disabled=method != "grid",
                       **KEEP)
    pruning = st.toggle("Median pruning", True, key=f"{KEY}-prune", disabled=method != "optuna", **KEEP,
                        help="Stop a trial whose validation accuracy after an epoch (or a fold) is below the median "
                             "of the earlier trials' at that point.")
    dataset = st.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key=f"{KEY}-dataset", **KEEP)
    n_examples = st.select_slider("Training + validation examples", [2000, 6000, 12000, 30000, 60000], 6000,
                                  key=f"{KEY}-n", **KEEP)
    epochs = st.slider("Epochs per trial", 1, 10, 3, key=f"{KEY}-epochs", **KEEP)
    seed = st.number_input("Seed", 0, 999, 0, key=f"{KEY}-seed", **KEEP)
    st.header("Search space")
    st.caption("Two equal ends keep a setting fixed.")
    fmt = lambda v: f"{v:g}"  # noqa: E731
    lr = st.select_slider("Learning rate (Adam)", LRS, (1e-4, 3e-1), format_func=fmt, key=f"{KEY}-lr", **KEEP)
    width = st.select_slider("Units per hidden layer", WIDTHS, (32, 512), key=f"{KEY}-width", **KEEP)
    depth = st.select_slider("Hidden layers", [1, 2, 3, 4], (1, 3), key=f"{KEY}-depth", **KEEP)
    dropout = st.select_slider("Dropout", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], (0.0, 0.5), key=f"{KEY}-dropout", **KEEP)
    decay = st.select_slider("Weight decay", DECAYS, (0.0, 0.0), format_func=fmt, key=f"{KEY}-decay", **KEEP,
                             help="0 is off; a range from 0 is searched on a log scale from 1e-6.")
    batch = st.select_slider("Batch size", BATCHES, (64, 64), key=f"{KEY}-batch", **KEEP)

spec = SearchSpec(method=method, dataset=dataset, n_examples=int(n_examples), validation=validation,
                  folds=int(folds), n_trials=int(n_trials), grid_points=int(points), pruning=bool(pruning),
                  epochs=int(epochs), lr=tuple(map(float, lr)), width=tuple(map(int, width)),
                  depth=tuple(map(int, depth)), dropout=tuple(map(float, dropout)),
                  weight_decay=tuple(map(float, decay)), batch_size=tuple(map(int, batch)), seed=int(seed))
grid_n = space_.grid_size(space_.space(spec), spec.grid_points)
searched = [p.label for p in space_.searched(space_.space(spec))]
st.caption(f"Searching {', '.join(searched) or 'nothing (every range is fixed)'} · {brief(spec)} · a grid of "
           f"{points} values each would be {grid_n:,} trials.")

load_dataset(dataset)  # the source line; missing images stop the page with what to put where
missing = False
too_big = method == "grid" and grid_n > 256
if too_big:
    st.warning(f"A grid of {grid_n:,} combinations is too many to train here: fix a setting (equal ends) or use "
               "fewer values per setting.", icon=":material/grid_off:")
shown = run_controls(KEY, LESSON, spec, disabled=missing or too_big, label="Search")


# --- figures ------------------------------------------------------------------------------------------

def trials_table(trials: list[dict]) -> pd.DataFrame:
    """Best first; pruned trials (never fully scored) after the scored ones, by what they reached."""
    rows = [{"trial": t["trial"], "state": STATES.get(t["state"], t["state"]),
             "val accuracy": t["score"], "± (folds)": t["score_std"] if t["folds"] > 1 else None,
             "reached": t["reached"], **{COLUMNS[k]: t[k] for k in COLUMNS}, "seconds": t["seconds"]}
            for t in trials]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    if table["± (folds)"].isna().all():
        table = table.drop(columns="± (folds)")  # hold-out: one score per trial
    return table.sort_values(["val accuracy", "reached"], ascending=False, na_position="last")


def score_figure(run_id: int, trials: list[dict]) -> go.Figure:
    x = [t["trial"] for t in trials]
    fig = go.Figure()
    for state, colour in (("complete", "#1f77b4"), ("pruned", "#bbbbbb"), ("diverged", "#d62728")):
        pts = [t for t in trials if t["state"] == state]
        if pts:
            fig.add_scatter(x=[t["trial"] for t in pts], y=[t["reached"] for t in pts], mode="markers",
                            name=STATES[state], marker=dict(color=colour, size=9))
    fig.add_scatter(x=x, y=best_so_far([t["score"] for t in trials]), mode="lines", line_shape="hv",
                    name="best so far", line=dict(color="#2ca02c"))
    fig.update_layout(title=f"Run {run_id} · validation accuracy by trial", xaxis_title="trial",
                      yaxis_title="validation accuracy", height=360, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def curves_figure(run_id: int, rows: list[dict], trials: list[dict], kfold: bool) -> go.Figure:
    state = {t["trial"]: t["state"] for t in trials}
    fig = go.Figure()
    for n in sorted(state):
        pts = [r for r in rows if r.get("split") == "curve" and r["trial"] == n]
        fig.add_scatter(x=[r["step"] for r in pts], y=[r["value"] for r in pts], mode="lines+markers",
                        name=f"trial {n}", line=dict(dash="dot" if state[n] == "pruned" else "solid"),
                        opacity=0.5 if state[n] == "pruned" else 1.0)
    fig.update_layout(title=f"Run {run_id} · what pruning watched, {'fold by fold' if kfold else 'epoch by epoch'}",
                      height=360,
                      xaxis_title="fold" if kfold else "epoch", yaxis_title="validation accuracy",
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def render(view) -> None:
    rows = view.metrics()
    trials = trials_of(rows)
    run_spec = LESSON.spec_from(view.run.spec)  # the run's own settings, not the ones on screen
    done = len(trials)
    pruned = sum(t["state"] == "pruned" for t in trials)
    st.markdown(f"**Run {view.id}** · {METHODS[run_spec.method]} · {done} of {budget(run_spec)} trials ended"
                + (f" · {pruned} pruned" if pruned else ""))
    if not trials:
        st.caption("The first trial's score appears here when it ends.")
        return
    st.dataframe(trials_table(trials), hide_index=True, width="stretch", key=f"{KEY}-trials-table", placeholder="",
                 column_config={
        "val accuracy": st.column_config.NumberColumn(format="percent"),
        "± (folds)": st.column_config.NumberColumn(format="percent"),
        "reached": st.column_config.NumberColumn(format="percent", help="Pruned trials: the last score reported"),
        "learning rate": st.column_config.NumberColumn(format="%.2e"),
        "weight decay": st.column_config.NumberColumn(format="%.1e"),
        "dropout": st.column_config.NumberColumn(format="%.2f"),
        "seconds": st.column_config.NumberColumn(format="%.1f")})
    c1, c2 = st.columns(2)
    c1.plotly_chart(score_figure(view.id, trials), width="stretch", key=f"{KEY}-by-trial")
    c2.plotly_chart(curves_figure(view.id, rows, trials, run_spec.validation == "kfold"), width="stretch",
                    key=f"{KEY}-curves")
    st.plotly_chart(parallel_figure(view.id, trials, run_spec), width="stretch", key=f"{KEY}-parallel")
    if fixed := varied(trials, run_spec)[1]:
        st.caption(f"Not drawn, the same in every trial: {', '.join(fixed)}.")


live(KEY, render)

result = finished_result(KEY)
if result is not None:
    r = result
    st.subheader(f"Run {shown.id}: the best setting, tested once")
    c = st.columns(4)
    c[0].metric("Best validation accuracy", f"{r.best_score:.2%}")
    c[1].metric("Test accuracy (once)", f"{r.test_acc:.2%}" if r.test_acc is not None else "—",
                help="The best setting retrained on training + validation, then scored on the test set — the "
                     "only time the search touches it.")
    c[2].metric("Trials pruned", f"{r.n_pruned} of {len(r.trials)}")
    c[3].metric("Seconds", f"{r.seconds:.1f}")
    best = ", ".join(f"{COLUMNS[k]} {v:.3g}" if isinstance(v, float) else f"{COLUMNS[k]} {v}"
                     for k, v in r.best.items())
    st.markdown(f"Best setting: **{best}**.")
    st.caption(f"Searched on — {r.summary}. The test set was scored {r.test_looks} time"
               f"{'s' if r.test_looks != 1 else ''}.")
    if r.stopped:
        st.info(f"This search was {r.stopped}.", icon=":material/stop_circle:")
    if r.n_diverged:
        st.warning(f"{r.n_diverged} trial{'s' if r.n_diverged != 1 else ''} diverged (the loss exploded): their "
                   "learning rate is too high for this network. They stay in the table with the accuracy they "
                   "ended at.", icon=":material/local_fire_department:")

# --- grid vs random vs Optuna at the same budget ---------------------------------------------------------
st.header("Grid, random and Optuna at equal budget")
st.markdown(f"The space above searched three ways, one after another, each with the grid's **{grid_n} trials** "
            "(random and Optuna draw that many). Each search is a run of its own (on the Runs page too).")
equal = [SearchSpec(**{**spec.__dict__, "method": m, "n_trials": grid_n}) for m in METHODS]
seq = sequence_controls(KEY, LESSON, equal, buttons=f"{KEY}-cmp", disabled=missing or too_big or grid_n < 2,
                        label=f"Compare three searches of {grid_n} trials", settings=settings_snapshot(KEY),
                        replaces_run=False)
active = seq is not None and seq.is_active


def searches_table(stored: list) -> pd.DataFrame:
    rows = []
    for run in stored:
        s = run.summary or {}
        sp = LESSON.spec_from(run.spec)
        rows.append({"run": run.id, "method": METHODS[sp.method], "validation": VALIDATIONS[sp.validation],
                     "trials": len(s.get("trials", [])) or None, "pruned": s.get("n_pruned"),
                     "diverged": s.get("n_diverged"), "best val": s.get("best_score"), "test (once)": s.get("test_acc"),
                     "seconds": s.get("seconds"), "state": run.state})
    return pd.DataFrame(rows)


def show_comparison() -> None:
    s: Sequence | None = sequence_of(KEY)
    if s is None:
        st.caption("Nothing compared yet.")
        return
    if s.error:
        st.error(f"The comparison stopped: {visible.text(s.error)}")
    for k, job in enumerate(s.jobs):
        if job.is_active:
            st.progress(job.progress, text=f"Run {s.run_ids[k]} · {METHODS[s.specs[k].method]} · {job.status}")
    store = runs.get_store()
    stored = [run for run in (store.get(i) for i in s.run_ids) if run is not None]
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(searches_table(stored), hide_index=True, width="stretch", key=f"{KEY}-cmp-table", placeholder="",
                 column_config={"best val": pct, "test (once)": pct, "seconds": st.column_config.NumberColumn(format="%.1f")})
    if not s.is_active and st.session_state.get(f"{KEY}-cmp-shown") != id(s):
        st.session_state[f"{KEY}-cmp-shown"] = id(s)
        st.rerun()  # the buttons come back


st.fragment(show_comparison, run_every=1.0 if active else None)()

st.subheader("Every search of this page")
finished = [run for run in runs.get_store().list(workspace(), page=KEY) if (run.summary or {}).get("trials")]
if finished:
    st.dataframe(searches_table(finished), hide_index=True, width="stretch", key=f"{KEY}-all", placeholder="",
                 column_config={
        "best val": st.column_config.NumberColumn(format="percent"),
        "test (once)": st.column_config.NumberColumn(format="percent"),
        "seconds": st.column_config.NumberColumn(format="%.1f")})
else:
    st.caption("No finished search yet.")

st.subheader("What to notice")
st.markdown(
    "- A **grid** spends its trials evenly, even on hopeless corners: with learning rates from 1e-4 to 0.3, half "
    "its trials sit at an end, and at 0.3 the loss explodes (💥). Only two values of each setting are ever tried.\n"
    "- **Random** search tries a new value of every setting in every trial, so with the same budget it covers each "
    "range far more finely — which is why it usually beats a grid when only a few settings matter.\n"
    "- **Optuna** starts randomly, then draws where good trials were; **pruning** (✂️) stops a trial as soon as it "
    "is below the median of earlier trials at the same epoch, so a hopeless trial costs fewer epochs. That alone does "
    "not make the whole search quicker than a random one: Optuna draws more trials near the good ones, and if those are "
    "wide or deep networks, each of its epochs costs more — compare the **seconds** above before crediting pruning "
    "with speed.\n"
    "- The **test accuracy** is measured once, for the chosen setting only. Picking the best of many trials by "
    "their validation score flatters that score a little; the test number is the honest one.\n"
    "- Seeds matter: run the same search with another seed and the best setting changes — differences of a few "
    "tenths of a percent between trials are noise.")
