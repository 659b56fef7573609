"""dlplay: the entry point, served by `python -m ui.serve` (`streamlit run app.py` with every page's
link working from the first request; see README for the one-line setup)."""
import os

# OpenMP threads spin after each parallel region; libgomp's default spin (300,000 turns)
# keeps a core busy between training steps, so the Streamlit thread and the browser
# preempt a training thread and stall both. A short spin keeps single-run speed and
# frees the core; it must be set before torch (and libgomp) load.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import streamlit as st  # noqa: E402
import torch  # noqa: E402,F401  - imported at start so the first Train click doesn't pay for it

from dlplay import viz  # noqa: E402

viz.use_template()  # every page's charts: titles below Plotly's toolbar (Streamlit resets the default)

st.set_page_config(page_title="dlplay — learn deep learning by training", page_icon="🧠", layout="wide")

# One section per part of the course; each page is one topic.
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon="🏠", default=True),
        st.Page("pages/runs.py", title="Runs", icon="📚"),
    ],
    "From scratch (NumPy)": [
        st.Page("pages/scratch/perceptron.py", title="Perceptron", icon="➗"),
        st.Page("pages/scratch/logic_gates.py", title="Logic gates & XOR", icon="🔀"),
        st.Page("pages/scratch/numpy_digits.py", title="NumPy MLP on digits", icon="🔢"),
        st.Page("pages/scratch/regression.py", title="Regression & model selection", icon="📈"),
    ],
    "Neural networks": [
        st.Page("pages/playground/playground.py", title="2-D playground", icon="🎛️"),
        st.Page("pages/digit_classifier.py", title="Digit classifier (MLP)", icon="✍️"),
    ],
    "Generative models": [
        st.Page("pages/generative/autoencoders.py", title="Autoencoders vs SVD", icon="🗜️"),
        st.Page("pages/generative/denoising.py", title="Denoising", icon="🧽"),
        st.Page("pages/generative/latent_morphing.py", title="Latent morphing", icon="🌀"),
        st.Page("pages/generative/vae.py", title="Variational autoencoder", icon="🌌"),
        st.Page("pages/generative/dcgan.py", title="DCGAN", icon="🎨"),
    ],
    "Convolutional networks": [
        st.Page("pages/vision/cnn.py", title="CNN builder", icon="🧱"),
        st.Page("pages/vision/compare.py", title="Compare CNNs", icon="⚖️"),
        st.Page("pages/vision/inside.py", title="Inside a trained network", icon="🔬"),
        st.Page("pages/vision/transfer.py", title="Transfer learning", icon="🎁"),
        st.Page("pages/vision/forgetting.py", title="Catastrophic forgetting", icon="🔁"),
        st.Page("pages/vision/image_regression.py", title="Image regression from files", icon="📏"),
    ],
    "Sequences and text": [
        st.Page("pages/text/sentiment.py", title="Sentiment: RNN to Transformer", icon="💬"),
        st.Page("pages/text/embeddings.py", title="Word embeddings", icon="🧭"),
        st.Page("pages/text/seq_autoencoder.py", title="Sequence autoencoder", icon="🔤"),
    ],
    "Training craft": [
        st.Page("pages/craft/overfitting.py", title="Overfitting lab", icon="🎯"),
        st.Page("pages/craft/pipeline_order.py", title="Shuffle, batch, repeat", icon="🔀"),
        st.Page("pages/craft/search.py", title="Hyperparameter search", icon="🔎"),
        st.Page("pages/craft/diagnosis.py", title="Training diagnosis", icon="🩺"),
    ],
    "Music": [
        st.Page("pages/music/lstm_music.py", title="Music with an LSTM", icon="🎹"),
    ],
    "Reinforcement learning": [
        st.Page("pages/rl/gridworld.py", title="Grid-world RL", icon="🤖"),
    ],
}

from ui.query import drop_unusable  # noqa: E402
from ui.workspace import keep_in_browser, shared_server, switch_offer  # noqa: E402

if shared_server():  # however it was started: no traceback with server paths reaches a visitor
    st.set_option("client.showErrorDetails", "none")
drop_unusable()  # before any page reads the URL: a typed-in "inf" never reaches a widget

keep_in_browser()  # on a shared server, the visitor's private workspace key lives in a cookie, not the URL
switch_offer()  # a bookmark carrying another workspace's key asks before opening it
st.navigation(PAGES, expanded=True).run()  # every lesson in view: no "View 3 more"
