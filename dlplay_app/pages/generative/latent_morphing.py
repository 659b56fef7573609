"""Latent morphing: decode the straight line between two class centroids in latent space."""
import streamlit as st

from dlplay import course, data, visible
from dlplay.generative.autoencoders import loss_figure, run_data
from dlplay.generative.morph import (LESSON, PRESETS, MorphSpec, build_morph_model, decoded_centroids, failure_note, gif_bytes,
                          morph)
from dlplay.viz import montage
from dlplay_app.ui.live import current, dataset_selectbox, finished_result, live, load_dataset, lr_slider, train_size_slider
from dlplay_app.ui.runs import open_page, run_controls, run_spec
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
AE_PAGE_KEY = "ae"  # the Autoencoders page's run; its deep AE can be reused here
OWN = "Train one here"
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "An autoencoder gives every image a point in its latent space. Average the points of each class and "
    "you get the class **centroid**; decode it and you see the model's idea of a typical 2 or 9. Then walk "
    "the straight line from one centroid to another and decode each step: does a 3 turn smoothly into a "
    "9, or pass through something that is no digit at all?")

ae_view = current(AE_PAGE_KEY)
ae_result = finished_result(AE_PAGE_KEY)
reusable = ae_result is not None and "deep" in ae_result.models
REUSE = f"The deep AE of run {ae_view.id} (Autoencoders page)" if reusable else ""

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Model")
    if reusable:
        source = st.radio("Autoencoder", [REUSE, OWN], key=f"{KEY}-source-{ae_view.id}")
    else:
        source = OWN
        st.caption("A deep AE trained here. (Train on the Autoencoders page first to reuse its deep AE.)")
    if source == OWN:
        dataset = dataset_selectbox(["mnist", "fashion_mnist", "mnist5k"], key=f"{KEY}-dataset")
        k = st.select_slider("Latent size k", [2, 4, 8, 16, 32], value=8, key=f"{KEY}-k", **KEEP,
                             help="Small codes give smoother, blurrier morphs.")
        n_train = train_size_slider("Training images", [2_000, 5_000, 10_000, 20_000, 0], 10_000, f"{KEY}-n",
                                    dataset)
        epochs = st.number_input("Epochs", 1, 50, 8, key=f"{KEY}-epochs", **KEEP)
        lr = lr_slider(f"{KEY}-lr", 3e-3)


def reused_model():
    """Centroids for the Autoencoders page's deep AE, computed once per run on that run's data;
    None when that data isn't available now."""
    cache_key = f"{KEY}-reused:{ae_view.id}"
    if cache_key not in st.session_state:
        ds = run_data(ae_view.run, ae_result.spec.dataset)
        if ds is None:
            return None
        st.session_state[cache_key] = build_morph_model(
            ae_result.models["deep"], ds, f"deep AE (k = {ae_result.spec.k}) of run {ae_view.id}, from the "
                                          f"Autoencoders page")
    return st.session_state[cache_key]


def render_live(job):
    st.plotly_chart(loss_figure(job.metrics()), width="stretch", key=f"{KEY}-curves")


if source == REUSE:
    mm = reused_model()
    if mm is None:
        st.warning(f"The data run {ae_view.id} trained on isn't available on the server now, so its class "
                   "centroids can't be computed. Train an autoencoder here instead.")
        st.stop()
    using = visible.text(mm.source)  # as stored: a run from before sources were told without paths has one
else:
    ds = load_dataset(dataset)
    spec = MorphSpec(dataset=dataset, k=k, n_train=n_train, epochs=int(epochs), lr=lr)
    shown = run_controls(KEY, LESSON, spec, ds)
    live(KEY, render_live)
    mm = finished_result(KEY)
    if mm is not None:
        using = f"{visible.text(mm.source)} of run {shown.id}, trained on this page"
        if note := failure_note(mm, run_spec(shown, LESSON).lr):
            st.warning(note, icon=":material/warning:")

if mm is None:
    st.info("Train the autoencoder first (a few seconds), or train on the Autoencoders page and reuse its deep AE.")
    st.stop()

# --- centroids ------------------------------------------------------------------------------------
st.subheader("Class centroids, decoded")
stopped = f" (it was {mm.stopped}: what it had learned by then)" if mm.stopped else ""
st.caption(f"Using the {using} on {data.TITLES[mm.dataset]}{stopped}. Each picture is the decoded average code "
           f"of one class: " + " · ".join(mm.classes))
st.image(montage(decoded_centroids(mm), ncols=len(mm.classes)), width="stretch")

# --- morph --------------------------------------------------------------------------------------
st.subheader("From one class to another")
names = list(range(len(mm.classes)))


def apply_preset():
    if (choice := st.session_state.get(f"{KEY}-preset")) is not None:
        st.session_state[f"{KEY}-from"], st.session_state[f"{KEY}-to"] = PRESETS[choice]


def clear_preset():
    st.session_state[f"{KEY}-preset"] = None  # a pair picked by hand is no longer the highlighted preset


st.pills("Try", range(len(PRESETS)), key=f"{KEY}-preset", on_change=apply_preset,
         format_func=lambda i: f"{mm.classes[PRESETS[i][0]]} → {mm.classes[PRESETS[i][1]]}")
c1, c2, c3, c4 = st.columns(4)
st.session_state.setdefault(f"{KEY}-from", PRESETS[0][0])  # defaults via state: the presets write there too
st.session_state.setdefault(f"{KEY}-to", PRESETS[0][1])
a = c1.selectbox("From", names, format_func=mm.classes.__getitem__, key=f"{KEY}-from", on_change=clear_preset)
b = c2.selectbox("To", names, format_func=mm.classes.__getitem__, key=f"{KEY}-to", on_change=clear_preset)
n_frames = c3.slider("Frames", 4, 60, 16, key=f"{KEY}-frames")
fps = c4.slider("Frames per second", 2, 30, 10, key=f"{KEY}-fps")

frames = morph(mm, a, b, n_frames)
st.image(montage(frames, ncols=min(n_frames, 16)), width="stretch",
         caption=f"{mm.classes[a]} → {mm.classes[b]} in {n_frames} steps, left to right and top to bottom")
gif = gif_bytes(frames, fps=fps, scale=8)
c1, c2 = st.columns([1, 3])
c1.image(gif, width=224, caption="As an animation (224 × 224 pixels)")
c2.download_button("Download the GIF", gif, file_name=f"morph_{a}_to_{b}.gif", mime="image/gif",
                   key=f"{KEY}-download", icon=":material/download:")

st.markdown("""
**What to notice**
- Decoded centroids look like clean, slightly blurry "typical" members of their class — averages of codes,
  not of pixels.
- Between similar classes (7 → 1, 3 → 9) the strokes slide smoothly; between very different ones (1 → 0)
  the middle frames are faint blends: an autoencoder's latent space has gaps no training image filled.
- The same walk with a small k is smoother and blurrier; with a large k it is sharper but the middle
  frames look less like digits. A variational autoencoder (next page) is trained to fill those gaps.
""")
