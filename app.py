"""dlplay: the entry point. `streamlit run app.py` (see README for the one-line setup)."""
import streamlit as st
import torch  # noqa: F401  - imported at start so the first Train click doesn't pay for it

st.set_page_config(page_title="dlplay — learn deep learning by training", page_icon="🧠", layout="wide")

# One section per part of the course; each page is one topic.
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon="🏠", default=True),
    ],
    "Neural network basics": [
        st.Page("pages/digit_classifier.py", title="Digit classifier (MLP)", icon="✍️"),
    ],
}

st.navigation(PAGES).run()
