"""Teacher: set an assignment (pages with controls preset or hidden, exercises, goals, a deadline) and share it
as one link; see the class on it — progress per goal, the spread of results, the common mistakes, who is
stuck — export a CSV and check a hand-in. On a shared server only behind the operator's teacher key."""
import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from dlplay import course
from dlplay.classroom import assignments, classview, handin
from dlplay.classroom.assignments import Assignment
from dlplay.exercises import catalog
from dlplay.limits import shared
from dlplay_app.ui.escape import md

KEY = course.here(__file__).key
st.title(course.page(KEY).heading)

if shared() and not classview.teacher_key_set():
    st.info("This server has no teacher key, so nobody can set assignments here: whoever runs it sets "
            "DLPLAY_TEACHER_KEY (see the README's classroom section).")
    st.stop()
if not classview.teacher_ok(st.session_state.get("teacher-key")):
    with st.form(f"{KEY}-login"):
        typed = st.text_input("Teacher key", type="password", key=f"{KEY}-key-typed",
                              help="Set by whoever runs this server (DLPLAY_TEACHER_KEY); students never see it.")
        if st.form_submit_button("Open"):
            if classview.teacher_ok(typed):
                st.session_state["teacher-key"] = typed
                st.rerun()
            st.error("That is not this server's teacher key.")
    st.stop()

lessons = [p.key for p in course.COURSE if p.lesson and p.key != "ex"]
compose, cls = st.tabs(["Set an assignment", "The class"])


with compose, st.form(f"{KEY}-compose"):
    title = st.text_input("Title", max_chars=200, key=f"{KEY}-title", placeholder="Lab 3: regularisation")
    pages = st.multiselect("Pages", lessons, key=f"{KEY}-pages", format_func=lambda k: course.page(k).title)
    exercises = st.multiselect("Exercises that must pass", [e.id for e in catalog.EXERCISES], key=f"{KEY}-exercises",
                               format_func=lambda e: catalog.BY_ID[e].title)
    examples = st.multiselect("Goals to start from", list(assignments.EXAMPLES), key=f"{KEY}-examples")
    more = st.text_area("More goals, one a line: page | what it asks | conditions on the run's figures",
                        key=f"{KEY}-goals", placeholder="cnn | test accuracy ≥ 99 % | test_acc >= 0.99")
    presets = st.text_area("Settings preset, one page a line: page: widget=value&widget=value", key=f"{KEY}-presets",
                           placeholder="mlp: mlp-epochs=3 — or paste a page's “Link to this setup”",
                           help="Set a page up as the class should start it, then paste its “Link to this setup”: the "
                                "widget names are the link's (mlp-epochs, mlp-opt…), which is also how to name the "
                                "controls to hide.")
    hidden = st.text_area("Controls hidden, one page a line: page: widget, widget", key=f"{KEY}-hidden",
                          placeholder="mlp: mlp-opt, mlp-lr")
    c1, c2 = st.columns(2)
    day = c1.date_input("Deadline (optional)", value=None, key=f"{KEY}-day")
    hour = c2.time_input("at", value=dt.time(23, 59), key=f"{KEY}-hour")
    if st.form_submit_button("Create and share", type="primary"):
        try:
            goals = [assignments.EXAMPLES[g] for g in examples] + [assignments.parse_goal(g) for g in more.splitlines()
                                                                    if g.strip()]
            made = assignments.create(Assignment(
                title, pages=pages, exercises=exercises, goals=goals, presets=assignments.parse_presets(presets),
                hidden=assignments.parse_hidden(hidden),
                deadline=dt.datetime.combine(day, hour).timestamp() if day else None))
            st.session_state[f"{KEY}-made"] = made.code
        except ValueError as exc:
            st.error(str(exc))
if made := assignments.get(st.session_state.get(f"{KEY}-made")):
    compose.success(f"“{md(made.title)}” is set. Share this link with the class (it is the assignment's key: "
                    "students who open it join it):", icon=":material/share:")
    compose.code(made.link(), language=None)

with cls:
    every = assignments.every()
    if not every:
        st.info("No assignment yet: set one in the first tab.")
        st.stop()
    code = st.selectbox("Assignment", [a.code for a in every], key=f"{KEY}-view",
                        format_func=lambda c: next(a.title for a in every if a.code == c))
    a = next(x for x in every if x.code == code)
    st.caption(f"Link: {a.link()}")
    rows = classview.standings(a)
    if not rows:
        st.info("Nobody has joined yet: they join by opening the link.")
        st.stop()
    table = classview.table(a, rows)
    st.metric("Learners", len(rows), help="who joined this assignment")
    st.dataframe(table, hide_index=True, key=f"{KEY}-table")
    if stuck := [s.member.name for s in rows if s.stuck()]:
        st.warning("No progress for 20 minutes: " + ", ".join(md(n) for n in stuck), icon=":material/hourglass:")
    for label, values in classview.spreads(rows).items():
        fig = go.Figure(go.Histogram(x=values, nbinsx=min(20, max(5, len(values)))))
        fig.update_layout(title=f"{label}: each learner's best", height=260, margin=dict(l=10, r=10, t=40, b=10))
        st.plotly_chart(fig, key=f"{KEY}-hist-{label}")
    if failures := classview.common_failures(rows):
        st.markdown("**Most common mistakes** (each learner's last failed check)")
        for e, says, n in failures:
            st.markdown(f"- {n} × {catalog.BY_ID[e].title}: {md(says)}")
    st.download_button("Gradebook (CSV)", classview.csv(a, rows), file_name=f"{a.title[:40]}.csv",
                       key=f"{KEY}-csv", icon=":material/download:")
    st.markdown("**Check a hand-in**")
    upload = st.file_uploader("A hand-in zip", type=["zip"], key=f"{KEY}-upload")
    if upload is not None:
        if upload.size > handin.MAX_BUNDLE:
            st.error("This file is too big to be a hand-in.")
        else:
            ok, problems, manifest = handin.verify(upload.getvalue(), assignments.members(a.code))
            if ok:
                st.success(f"Genuine: {md(manifest['name'])}'s hand-in of {manifest['handed_in']}, unchanged.")
            else:
                st.error("Not as handed in: " + "; ".join(problems))
