"""Your assignment: the checklist of what your teacher set — goals your own runs meet, exercises to pass —
ticking itself as you work, the pages to work on (with the assignment's settings), and the hand-in."""
import datetime as dt
import time

import streamlit as st

from dlplay import course, runs
from dlplay.classroom import assignments, handin, standing
from dlplay.exercises import catalog
from dlplay_app.ui.escape import md
from dlplay_app.ui.workspace import workspace

KEY = course.here(__file__).key
ws = workspace()
st.title(course.page(KEY).heading)

if code := st.query_params.get("assignment"):
    st.session_state["assignment"] = code
mine = assignments.joined_by(ws)
code = st.session_state.get("assignment") or (mine[0].code if mine else None)
a = assignments.get(code)
if a is None:
    if code:
        st.error("No assignment has this link on this server: ask your teacher for the link again.")
    else:
        st.info("No assignment yet: open the link your teacher shared (it ends in `?assignment=…`).")
    st.stop()
if len(mine) > 1:
    codes = [m.code for m in mine]
    picked = st.selectbox("Assignment", codes, index=codes.index(a.code) if a.code in codes else 0,
                          format_func=lambda c: next(m.title for m in mine if m.code == c), key=f"{KEY}-pick")
    if picked != a.code:
        st.session_state["assignment"] = picked
        st.rerun()

st.subheader(md(a.title))
if a.deadline:
    left = a.deadline - time.time()
    when = dt.datetime.fromtimestamp(a.deadline).strftime("%A %d %B, %H:%M")
    (st.caption if left > 0 else st.warning)(f"Due {when}" + (f" — {left / 3600:.0f} h left" if left > 0 else
                                                                " — the deadline has passed"))

member = assignments.member(a.code, ws)
if member is None:
    with st.form(f"{KEY}-join"):
        name = st.text_input("Your name, as your teacher knows you", max_chars=100, key=f"{KEY}-name")
        if st.form_submit_button("Join this assignment", type="primary"):
            try:
                assignments.join(a.code, ws, name)
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
    st.caption("Your teacher then sees your progress on this assignment (your runs stay private to you).")
    st.stop()

mine_runs = runs.get_store().list(ws)
s = standing.of(a, member, mine_runs)
st.progress(s.done / max(1, s.total), text=f"{s.done} of {s.total} done")
st.markdown("**Checklist**")
for g in s.goals:
    lesson = course.page(g.goal.page)
    if g.run is not None:
        st.markdown(f"✅ {md(g.goal.label)} — met by run {g.run} ({lesson.title})")
    else:
        best = f"best so far {g.best:.4g} over {g.tried} run{'s' if g.tried != 1 else ''}" if g.best is not None \
            else "no run yet"
        st.markdown(f"⬜ {md(g.goal.label)} — {best} · [{lesson.title}]({a.page_url(g.goal.page)})")
for e, passed in s.exercises.items():
    ex = catalog.BY_ID[e]
    st.markdown(f"{'✅' if passed else '⬜'} Exercise: [{ex.title}](exercises?ex={e})" +
                ("" if passed else (f" — last check: {md(s.failures[e])}" if e in s.failures else "")))

if a.pages:
    st.markdown("**Pages to work on** (they open with the assignment's settings)")
    for p in a.pages:
        hidden = a.hidden.get(p, [])
        st.markdown(f"- {course.page(p).icon} [{course.page(p).title}]({a.page_url(p)})" +
                    (f" · {len(hidden)} control{'s' if len(hidden) != 1 else ''} set by your teacher" if hidden else ""))

st.divider()
st.markdown("**Hand in**: your lab report (HTML and notebook) of your runs on the assignment's pages, each run's "
            "settings and curves, your exercise code and results and this checklist, in one zip your teacher can "
            "check was not changed after you handed it in.")
if member.handed_in:
    st.caption(f"Handed in {dt.datetime.fromtimestamp(member.handed_in).strftime('%d %B %H:%M')}; you may hand "
               "in again (the last one counts).")
if st.button("Hand in now", key=f"{KEY}-handin", type="primary", icon=":material/outbox:"):
    pages = {g.page for g in a.goals} | set(a.pages)
    data, sha = handin.bundle(a, s, [r for r in mine_runs if r.page in pages and r.created >= member.joined])
    assignments.handed_in(a.code, ws, sha)
    st.session_state[f"{KEY}-bundle"] = (a.code, data)
if (kept := st.session_state.get(f"{KEY}-bundle")) and kept[0] == a.code:
    st.success("Handed in: your teacher sees it. Keep a copy:", icon=":material/check:")
    st.download_button("Download my hand-in (zip)", kept[1], file_name=f"hand-in-{a.code[:6]}.zip",
                       key=f"{KEY}-bundle-dl", icon=":material/download:")
