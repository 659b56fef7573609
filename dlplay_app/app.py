"""dlplay: the entry point, served by `python -m dlplay_app.serve` (`streamlit run app.py` with every page's
link working from the first request; see README for the one-line setup)."""
import os

# OpenMP threads spin after each parallel region; libgomp's default spin (300,000 turns)
# keeps a core busy between training steps, so the Streamlit thread and the browser
# preempt a training thread and stall both. A short spin keeps single-run speed and
# frees the core; it must be set before torch (and libgomp) load.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import streamlit as st  # noqa: E402
import torch  # noqa: E402,F401  - imported at start so the first Train click doesn't pay for it

from dlplay import __version__, course, executors, viz  # noqa: E402
from dlplay.exercises import catalog as exercise_catalog  # noqa: E402

executors.from_environment()  # threads here, or the Ray cluster at DLPLAY_RAY_ADDRESS

viz.use_template()  # every page's charts: titles below Plotly's toolbar (Streamlit resets the default)

st.set_page_config(page_title="dlplay — learn deep learning by training", page_icon="🧠", layout="wide")

# One section per part of the course; each page is one topic (the course table, `dlplay.course`).
PAGES = {section: [st.Page(p.path, title=p.title, icon=p.icon, default=p.key == "home") for p in pages]
         for section, pages in course.sections().items()}

from dlplay_app.ui import assigned  # noqa: E402
from dlplay_app.ui.query import drop_unusable  # noqa: E402
from dlplay_app.ui.workspace import keep_in_browser, shared_server, switch_offer  # noqa: E402

if shared_server():  # however it was started: no traceback with server paths reaches a visitor
    st.set_option("client.showErrorDetails", "none")
drop_unusable()  # before any page reads the URL: a typed-in "inf" never reaches a widget

keep_in_browser()  # on a shared server, the visitor's private workspace key lives in a cookie, not the URL
switch_offer()  # a bookmark carrying another workspace's key asks before opening it
st.sidebar.caption(f"dlplay {__version__} · MIT licence")  # the version a bug report names
page = st.navigation(PAGES, expanded=True)  # every lesson in view: no "View 3 more"
here = [p for p in course.COURSE if p.title == page.title]
assigned.apply(here[0].key if here else None)  # the teacher's hidden controls, the link to the checklist
if here:  # the lesson's exercises, one click away
    if mine := [e for e in exercise_catalog.EXERCISES if e.page == here[0].key]:
        st.sidebar.markdown("**✍️ Write it yourself**\n\n" + "\n".join(f"- [{e.title}](exercises?ex={e.id})"
                                                                        for e in mine))
page.run()
