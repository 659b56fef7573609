"""dlplay: the entry point. `streamlit run app.py` (see README for the one-line setup)."""
import streamlit as st
import torch  # noqa: F401  - imported at start so the first Train click doesn't pay for it

st.set_page_config(page_title="dlplay — learn deep learning by training", page_icon="🧠", layout="wide")

# One section per part of the course; each page is one topic.
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon="🏠", default=True),
    ],
    "From scratch (NumPy)": [
        st.Page("pages/perceptron.py", title="Perceptron", icon="➗"),
        st.Page("pages/logic_gates.py", title="Logic gates & XOR", icon="🔀"),
        st.Page("pages/numpy_digits.py", title="NumPy MLP on digits", icon="🔢"),
        st.Page("pages/regression.py", title="Regression & model selection", icon="📈"),
    ],
    "Neural networks": [
        st.Page("pages/playground.py", title="2-D playground", icon="🎛️"),
        st.Page("pages/digit_classifier.py", title="Digit classifier (MLP)", icon="✍️"),
    ],
    "Generative models": [
        st.Page("pages/autoencoders.py", title="Autoencoders vs SVD", icon="🗜️"),
        st.Page("pages/denoising.py", title="Denoising", icon="🧽"),
        st.Page("pages/latent_morphing.py", title="Latent morphing", icon="🌀"),
        st.Page("pages/vae.py", title="Variational autoencoder", icon="🌌"),
        st.Page("pages/dcgan.py", title="DCGAN", icon="🎨"),
    ],
}

st.navigation(PAGES).run()
