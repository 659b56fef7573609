"""Exercises: write a model's key piece yourself; hidden checks run it in a sandbox and say precisely
what is wrong, without giving the answer away."""
import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, visible
from dlplay.exercises import catalog, checks, progress, sandbox, training
from dlplay.exercises.lesson import LESSON, FitSpec
from dlplay.limits import Work, shared
from dlplay_app.ui.live import finished_result, live, start_job, train_stop_buttons
from dlplay_app.ui.runs import open_page, run_header, start_run, workspace
from dlplay_app.ui.shown import current_job, current_run

KEY = course.here(__file__).key
CHECK = f"{KEY}-check"  # the check's job; the training with the learner's code is the page's run (KEY)
ws = workspace()
open_page(KEY)  # a training reopened from the Runs page: its exercise is the one shown
if (view := current_run(KEY)) is not None and st.session_state.get(f"{KEY}-run-shown") != view.id:
    st.session_state[f"{KEY}-run-shown"] = view.id
    st.session_state[f"{KEY}-id"] = LESSON.spec_from(view.run.spec).exercise
# A teacher's switch: DLPLAY_SOLUTIONS=hide keeps the reference out of reach during an assignment.
SOLUTIONS = os.environ.get("DLPLAY_SOLUTIONS", "show").lower() != "hide"

st.title(course.page(KEY).heading)
st.markdown(
    "Write the key piece of a lesson's model yourself. **Check** (or Ctrl+Enter in the editor) runs your "
    "function on hidden inputs in a sandbox — no network, nothing of the server in view, a few seconds at most — "
    "and each check says what it expected, what your code gave and where they first differ. Hints go further "
    "each time you ask.")

mine = progress.of(ws)
done = sum(p.passed for p in mine.values())
st.caption(f"{done} of {len(catalog.EXERCISES)} exercises passed")
st.progress(done / len(catalog.EXERCISES))
table = pd.DataFrame([{"exercise": e.title, "lesson": course.page(e.page).title,
                       "progress": mine[e.id].status() if e.id in mine else "",
                       "time spent": f"{mine[e.id].seconds / 60:.0f} min" if e.id in mine and mine[e.id].passed
                       else ""} for e in catalog.EXERCISES])
with st.expander("All exercises", expanded=not mine):
    st.dataframe(table, hide_index=True, width="stretch")

ids = [e.id for e in catalog.EXERCISES]
if (wanted := st.query_params.get("ex")) in ids and f"{KEY}-id" not in st.session_state:
    st.session_state[f"{KEY}-id"] = wanted
chosen = st.selectbox("Exercise", ids, key=f"{KEY}-id",
                      format_func=lambda i: f"{'✅ ' if i in mine and mine[i].passed else ''}{catalog.BY_ID[i].title}"
                      f" · {course.page(catalog.BY_ID[i].page).title}")
st.query_params["ex"] = chosen
e = catalog.BY_ID[chosen]
lesson = course.page(e.page)
st.markdown(f"{lesson.icon} The lesson: [{lesson.title}]({lesson.url.lstrip('/')})")
st.markdown(e.statement)

code_key = f"{KEY}-code-{e.id}"
if code_key not in st.session_state:  # the code last written in this workspace, or the starter
    st.session_state[code_key] = mine[e.id].code if e.id in mine else e.stub


def editor(code: str) -> tuple[str, bool]:
    """The editor (react-ace, offline); returns (its text, whether Ctrl+Enter asked for a check)."""
    try:
        from code_editor import code_editor
    except ImportError:  # an install without the editor: a plain text box does the same job
        return st.text_area("Your code", code, height=260, key=f"{KEY}-plain-{e.id}"), False
    reply = code_editor(code, lang="python", height=[12, 30], response_mode="debounce",
                        key=f"{KEY}-editor-{e.id}",
                        options={"showLineNumbers": True, "tabSize": 4, "useSoftTabs": True})
    text = reply.get("text") or code
    # The component keeps its last reply, so a Ctrl+Enter is acted on once: by its id.
    submit = reply.get("type") == "submit" and reply.get("id") != st.session_state.get(f"{KEY}-submitted")
    if submit:
        st.session_state[f"{KEY}-submitted"] = reply.get("id")
    return text, submit


text, submitted = editor(st.session_state[code_key])
if text != st.session_state[code_key]:
    st.session_state[code_key] = text
    progress.save_code(ws, e.id, text)

unisolated = False
if (why := sandbox.available()) is not None:
    if shared():  # a class's server never runs a visitor's code without isolation
        st.error("Code can't be checked on this server: the sandbox learner code runs in can't start here "
                 f"({visible.text(why)}). Ask whoever runs it to install bubblewrap.")
        st.stop()
    unisolated = st.checkbox(f"Run my code without isolation on this machine (the sandbox can't start: {why})",
                             key=f"{KEY}-unisolated")


def check_job(code: str, exercise=e, unisolated=unisolated):
    def run(job):
        job.set_progress(0.1, "checking in the sandbox…")
        verdict = checks.check(exercise, code, unisolated=unisolated)
        progress.checked(ws, exercise.id, code, verdict.passed, verdict.failure())
        return verdict

    return run


c1, c2, c3, _ = st.columns([1, 1, 1.4, 2.6])
pressed = c1.button("Check", key=f"{KEY}-check", type="primary", disabled=why is not None and not unisolated)
if (pressed or submitted) and (why is None or unisolated):
    st.session_state[f"{KEY}-checked"] = (e.id, st.session_state[code_key])
    start_job(CHECK, check_job(st.session_state[code_key]), name=f"Check: {e.title}",
              work=Work(1, "check", len(e.cases(np.random.default_rng(0))), "hidden cases", unit="fits"))
hints = st.session_state.setdefault(f"{KEY}-hints-{e.id}", 0)
if c2.button("A hint", key=f"{KEY}-hint", disabled=hints >= len(e.hints)):
    st.session_state[f"{KEY}-hints-{e.id}"] = hints = hints + 1
if c3.button("Start again", key=f"{KEY}-reset", help="Put the starter back in the editor"):
    st.session_state[code_key] = e.stub
    progress.save_code(ws, e.id, e.stub)
    st.session_state.pop(f"{KEY}-editor-{e.id}", None)
    st.rerun()
for i, hint in enumerate(e.hints[:hints], 1):
    st.info(f"Hint {i}: {hint}", icon=":material/lightbulb:")


def render(job):
    if job.is_active:
        st.caption("Checking in the sandbox…")
        return
    verdict = job.result
    if verdict is None:
        st.error(f"The check could not run: {job.error or job.status}")
        return
    if verdict.error:
        st.error(verdict.error)
    elif verdict.passed:
        st.success(f"Every check passed ({len(verdict.checks)}) in {verdict.seconds:.2f} s.", icon=":material/check:")
    for c in verdict.checks:
        (st.markdown if c.passed else st.error)(f"{'✅' if c.passed else '❌'} **{c.name}**" +
                                                ("" if c.passed else f"\n\n{c.message}"))
    if verdict.printed:
        with st.expander("What your code printed"):
            st.code(verdict.printed, language=None)


checked = st.session_state.get(f"{KEY}-checked")
passed_now = False
if checked is not None and checked[0] == e.id and current_job(CHECK) is not None:
    live(CHECK, render)
    job = current_job(CHECK)
    passed_now = not job.is_active and job.result is not None and job.result.passed \
        and checked[1] == st.session_state[code_key]
fit = current_run(KEY)
fitting = fit is not None and fit.is_active and LESSON.spec_from(fit.run.spec).exercise == e.id
if passed_now or fitting:  # (every exercise trains a model) Stop stays while it trains, whatever the editor holds
    st.subheader("Train with your code")
    st.markdown(f"A model learns with **your** function, in the sandbox — {training.TRAINERS[e.id].model} — "
                "then the same model with the reference: same data, same seed. If your piece is right, the two "
                "curves lie on top of each other. The training is kept on the Runs page, marked “your code”.")
    spec = FitSpec(e.id, checked[1] if passed_now else "", unisolated=unisolated)
    train_stop_buttons(KEY, lambda: start_run(KEY, LESSON, spec), label="Train with my code", disabled=not passed_now)


def render_fit(view):
    spec = LESSON.spec_from(view.run.spec)
    t = training.TRAINERS[spec.exercise]
    rows = [r for r in view.metrics() if r.get("split") in ("yours", "reference")]
    fig = go.Figure()
    for who, dash in (("reference", "dot"), ("yours", "solid")):
        mine_rows = [r for r in rows if r["split"] == who and t.metric in r]
        fig.add_scatter(x=[r["epoch"] for r in mine_rows], y=[r[t.metric] for r in mine_rows], name=who,
                        mode="lines+markers", line=dict(dash=dash, width=3 if who == "yours" else 2))
    fig.update_layout(title=f"{t.metric.replace('_', ' ')} per {t.unit}", height=320, xaxis_title=t.unit,
                      yaxis=dict(type="log") if t.falls else dict(range=[0, 1.02]))  # falling ones: a log axis
    st.plotly_chart(fig, key=f"{KEY}-fit-chart")


view = current_run(KEY)
if view is not None and LESSON.spec_from(view.run.spec).exercise == e.id:
    run_header(view)
    live(KEY, render_fit)
    result = finished_result(KEY)
    if result is not None:
        t, last = training.TRAINERS[e.id], result.last()
        if result.stopped:
            st.warning("Training stopped early: " + "; ".join(
                f"{'your code' if who == 'yours' else 'the reference'}: {why}" for who, why in result.stopped.items()))
        elif result.agree:
            value = f"{last[t.metric]:.1%}" if t.metric == "accuracy" else f"{last[t.metric]:.4g}"
            st.success(f"Your code and the reference learned alike: {t.metric.replace('_', ' ')} {value} after "
                       f"{last['epoch']} {t.unit}{'es' if t.unit == 'pass' else 's'}.", icon=":material/check:")
        else:
            st.warning("Your code passed the checks, but the model learned differently from the reference's: "
                       "compare the curves to see where they part.")
        if last is not None and "stopped_at" in last:  # the early-stopping rule says where, and what it kept
            st.caption(f"Your rule stopped training at epoch {last['stopped_at']} and kept epoch "
                       f"{last['best_epoch']}'s weights: test accuracy {last['kept_accuracy']:.1%}.")
    with st.expander("The code this training ran"):
        st.code(LESSON.spec_from(view.run.spec).code, language="python")

if SOLUTIONS:
    with st.expander("The reference (try first: it gives the answer away)"):
        st.code(e.reference_source, language="python")
