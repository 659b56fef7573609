"""Exercises: write a model's key piece yourself; hidden checks run it in a sandbox and say precisely
what is wrong, without giving the answer away."""
import os

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, visible
from dlplay.exercises import catalog, checks, progress, sandbox, training
from dlplay.limits import shared
from dlplay_app.ui.live import live, start_job
from dlplay_app.ui.runs import workspace
from dlplay_app.ui.shown import current_job

KEY = course.here(__file__).key
ws = workspace()
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
wanted = st.query_params.get("ex")
chosen = st.selectbox("Exercise", ids, index=ids.index(wanted) if wanted in ids else 0, key=f"{KEY}-id",
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
        progress.checked(ws, exercise.id, code, verdict.passed)
        return verdict

    return run


c1, c2, c3, _ = st.columns([1, 1, 1.4, 2.6])
pressed = c1.button("Check", key=f"{KEY}-check", type="primary", disabled=why is not None and not unisolated)
if (pressed or submitted) and (why is None or unisolated):
    st.session_state[f"{KEY}-checked"] = (e.id, st.session_state[code_key])
    start_job(KEY, check_job(st.session_state[code_key]), name=f"Check: {e.title}")
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
if checked is not None and checked[0] == e.id and current_job(KEY) is not None:
    live(KEY, render)
    job = current_job(KEY)
    passed_now = not job.is_active and job.result is not None and job.result.passed
    if passed_now and training.trainable(e) and checked[1] == st.session_state[code_key]:
        st.subheader("Train with your code")
        st.markdown("A model learns with **your** function, in the sandbox, beside the same model with the reference "
                    "— same data, same seed. If your piece is right, the two curves lie on top of each other.")
        if st.button("Train with my code", key=f"{KEY}-fit-start", type="primary"):
            st.session_state[f"{KEY}-fit-for"] = e.id
            start_job(f"{KEY}-fit", lambda job, code=checked[1]: training.side_by_side(e, code, job, unisolated),
                      name=f"Train with your code: {e.title}")


def render_fit(job):
    rows = [r for r in job.metrics() if r.get("split") in ("yours", "reference")]
    _, metric, _, unit = training.TRAINERS[e.id]
    fig = go.Figure()
    for who, dash in (("reference", "dot"), ("yours", "solid")):
        mine_rows = [r for r in rows if r["split"] == who]
        fig.add_scatter(x=[r["epoch"] for r in mine_rows], y=[r[metric] for r in mine_rows], name=who,
                        mode="lines+markers", line=dict(dash=dash, width=3 if who == "yours" else 2))
    fig.update_layout(title=f"{metric} per {unit}", height=320, xaxis_title=unit,  # falling ones: a log axis
                      yaxis=dict(range=[0, 1.02]) if metric == "accuracy" else dict(type="log"))
    st.plotly_chart(fig, key=f"{KEY}-fit-chart")
    if job.is_active:
        return
    if job.result is None:
        st.error(f"Training could not run: {job.error or job.status}")
    elif job.result["stopped"]:
        st.error("Training stopped: " + "; ".join(f"{who}: {why}" for who, why in job.result["stopped"].items()))
    elif job.result["agree"]:
        last = job.result["rows"]["yours"][-1]
        value = f"{last[metric]:.1%}" if metric == "accuracy" else f"{last[metric]:.4g}"
        st.success(f"Your code and the reference learned exactly alike: {metric} {value} after {last['epoch']} "
                   f"{unit}{'es' if unit == 'pass' else 's'}.", icon=":material/check:")
    else:
        st.warning("Your code passed the checks, but the model learned differently from the reference's: compare "
                   "the curves to see where they part.")


if st.session_state.get(f"{KEY}-fit-for") == e.id and current_job(f"{KEY}-fit") is not None:
    live(f"{KEY}-fit", render_fit)

if SOLUTIONS:
    with st.expander("The reference (try first: it gives the answer away)"):
        st.code(e.reference_source, language="python")
