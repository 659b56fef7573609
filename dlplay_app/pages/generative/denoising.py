"""Denoising: a plain autoencoder vs one trained to remove noise, side by side."""
import plotly.express as px
import streamlit as st

from dlplay import course, data
from dlplay.generative.autoencoders import TITLES, loss_figure, one_per_class, run_data
from dlplay.generative.denoise import (LESSON, NOISE_KINDS, DenoiseSpec, Noise, denoise, eval_images, failure_note, psnr_by_level,
                            psnr_scores)
from dlplay.train import TrainConfig
from dlplay.viz import montage
from dlplay_app.ui.live import dataset_selectbox, finished_result, live, load_dataset, lr_slider, train_size_slider
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
LEVELS = {"gaussian": ("Noise level σ", 0.05, 1.0, 0.5), "square": ("Square side (share of the width)", 0.1, 0.8, 0.4)}
COLORS = {"corrupted input": "#9aa5b1", TITLES["plain"]: "#2e86ab", TITLES["denoising"]: "#e4572e"}


def noise_controls(prefix: str, default_kind: str = "gaussian", default_level: float | None = None,
                   keep: dict | None = None) -> Noise:
    """A kind and, for Gaussian noise and squares, a level; one slider per kind keeps each one's value.
    `keep`: KEEP for the training noise (a setting), nothing for the test noise (exploring a result)."""
    keep = keep or {}
    kind = st.selectbox("Corruption", list(NOISE_KINDS), index=list(NOISE_KINDS).index(default_kind),
                        format_func=NOISE_KINDS.get, key=f"{prefix}-kind", **keep)
    if kind not in LEVELS:
        return Noise(kind)
    label, lo, hi, value = LEVELS[kind]
    value = default_level if default_level is not None and kind == default_kind else value
    return Noise(kind, st.slider(label, lo, hi, value, 0.05, key=f"{prefix}-level-{kind}", **keep))


open_page(KEY)  # a run reopened from the Runs page brings its settings back first
st.title(course.page(KEY).heading)
st.markdown(
    "A plain autoencoder learns to copy clean images through a bottleneck. A **denoising autoencoder** "
    "gets the same images *corrupted* — noisy, or with a part blanked out — and must still rebuild the "
    "clean original, so it has to learn what digits look like rather than copy pixels. Both models "
    "below have the same architecture; only their training inputs differ. We compare them by **PSNR** "
    "(peak signal-to-noise ratio, in dB; higher is closer to the clean image).")

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Training noise")
    train_noise = noise_controls(f"{KEY}-train", keep=KEEP)
    st.header("Model")
    dataset = dataset_selectbox(["mnist", "fashion_mnist", "mnist5k"], key=f"{KEY}-dataset")
    k = st.select_slider("Latent size k", [8, 16, 32, 64], value=32, key=f"{KEY}-k", **KEEP)
    st.header("Training")
    n_train = train_size_slider("Training images", [2_000, 5_000, 10_000, 20_000, 0], 10_000, f"{KEY}-n", dataset)
    epochs = st.number_input("Epochs", 1, 50, 10, key=f"{KEY}-epochs", **KEEP)
    lr = lr_slider(f"{KEY}-lr", 3e-3)

ds = load_dataset(dataset)
spec = DenoiseSpec(dataset=dataset, k=k, noise=train_noise, n_train=n_train,
                   train=TrainConfig(lr=lr, epochs=int(epochs), schedule="cosine"))
st.markdown(f"The denoising AE will train on images with **{train_noise.describe()}**; the plain AE on clean "
            f"ones. Both are validated on the same corrupted images, so the curves compare the task itself.")

# --- train, live --------------------------------------------------------------------------------
shown = run_controls(KEY, LESSON, spec, ds)


def render_live(job):
    st.plotly_chart(loss_figure(job.metrics(), "Loss: MSE against the clean images"), width="stretch",
                    key=f"{KEY}-curves")
    st.caption("Thick lines: both models on the same corrupted validation images. Thin lines: each model on "
               "its own training batches — clean images for the plain AE, so it looks good there while "
               "failing the task.")


def psnr_metrics(scores: dict, n_images: int) -> None:
    """PSNR of the corrupted input and of each model the run has (a stopped run may lack one)."""
    cols = st.columns(3)
    cols[0].metric("Corrupted input", f"{scores['noisy']:.1f} dB")
    for col, name in zip(cols[1:], ("plain", "denoising")):
        if name in scores:
            col.metric(TITLES[name], f"{scores[name]:.1f} dB", f"{scores[name] - scores['noisy']:+.1f} dB")
        else:
            col.caption(f"{TITLES[name]}: not trained — the run stopped before it.")
    st.caption(f"PSNR over {n_images:,} test images; the arrows compare with the corrupted input.")


def level_curve(result, clean, kind: str) -> None:
    _, lo, hi, _ = LEVELS[kind]
    levels = [round(lo + i * (hi - lo) / 7, 3) for i in range(8)]
    curve = psnr_by_level(result.models, clean, kind, levels)
    curve["input"] = curve["input"].map({"noisy": "corrupted input", **TITLES})
    fig = px.line(curve, x="level", y="PSNR (dB)", color="input", markers=True, color_discrete_map=COLORS,
                  title=f"PSNR on {len(clean):,} test images as the {LEVELS[kind][0].lower()} grows")
    if result.spec.noise.kind == kind:
        fig.add_vline(x=result.spec.noise.level, line_dash="dot", annotation_text="trained at")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), xaxis_title=LEVELS[kind][0])
    st.plotly_chart(fig, width="stretch", key=f"{KEY}-levels")


live(KEY, render_live)

result = finished_result(KEY)
if result is None:
    st.info("Train both models first; then corrupt test images here and compare.")
    st.stop()
if note := failure_note(result):
    st.warning(note, icon=":material/warning:")

# --- compare ------------------------------------------------------------------------------------
st.subheader("Side by side on test images")
stopped = f" The run was {result.stopped}." if result.stopped else ""
st.caption(f"Trained on {data.TITLES[result.spec.dataset]} with {result.spec.noise.describe()}.{stopped} "
           "Change the corruption here to see how each model copes with noise it never trained on.")
c1, c2 = st.columns([1, 2])
with c1:
    test_noise = noise_controls(f"{KEY}-test-{shown.id}", result.spec.noise.kind, result.spec.noise.level)
test = run_data(shown.run, result.spec.dataset)
if test is None:
    st.caption("The test images this run was measured on aren't available on the server now; its PSNR at the "
               "noise it trained with:")
    psnr_metrics(result.scores, result.n_eval)
    st.stop()
clean = eval_images(test.x_test)
with c2:
    psnr_metrics(psnr_scores(denoise(result.models, clean, test_noise)), len(clean))

idx = one_per_class(test.y_test, test.n_classes)
images = denoise(result.models, test.x_test[idx], test_noise, seed=1)
labels = {"clean": "Clean", "noisy": "Corrupted", "plain": TITLES["plain"], "denoising": TITLES["denoising"]}
for name, label in labels.items():
    if name in images:
        c1, c2 = st.columns([1, 5], vertical_alignment="center")
        c1.markdown(f"**{label}**")
        c2.image(montage(images[name], ncols=len(idx)), width="stretch")

if test_noise.kind in LEVELS:
    level_curve(result, test.x_test[:1000], test_noise.kind)

st.markdown("""
**What to notice**
- On noisy inputs the plain AE passes much of the noise through; the denoising AE returns clean strokes.
- Around the level it trained at, the denoising AE wins by several dB. On nearly clean inputs the plain
  AE can be slightly better: the denoiser has learned to distrust faint detail.
- Train with **Half blanked**: the denoising AE fills in a plausible rest of the digit — it has learned the
  shapes, not the pixels. Sometimes it guesses the wrong digit: half an image can be ambiguous. A model
  trained on Gaussian noise cannot do this, and the plain AE just returns the half it was given.
""")
