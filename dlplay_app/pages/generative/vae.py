"""Variational autoencoder: train a VAE live, then explore its latent space."""
import streamlit as st

from dlplay import course
from dlplay.generative import vae
from dlplay.models import count_parameters
from dlplay.viz import montage, to_uint8
from dlplay_app.ui.draw import digit_canvas
from dlplay_app.ui.live import dataset_selectbox, finished_result, live, load_dataset, train_size_slider
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
HIDDEN = {"400 (as pytorch/examples)": (400,), "512 → 256 (sharper clusters, slower)": (512, 256)}
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "An autoencoder squeezes an image through a small **code** and rebuilds it. A **variational** "
    "autoencoder makes the code a *distribution*: the encoder outputs a mean μ and a log-variance log σ² "
    "per latent dimension, a sampling layer draws **z = μ + σ·ε** (ε ~ N(0, 1), so gradients still reach μ "
    "and σ), and the decoder turns z back into pixels. The loss has two parts, both in nats per image:\n"
    "- **reconstruction**: binary cross-entropy between image and decoded image, summed over the 784 pixels;\n"
    "- **KL**: how far the codes' distribution is from the prior N(0, I), weighted by **β**.\n\n"
    "Their sum at β = 1 is the negative ELBO, a bound on −log p(x). Because the codes are pulled towards "
    "N(0, I), *every* point of the latent plane decodes to something plausible — you can sample new images.")

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Model")
    dataset = dataset_selectbox(["mnist", "fashion_mnist", "mnist5k"], key=f"{KEY}-dataset")
    latent = st.select_slider("Latent size", [2, 3, 4, 8, 16, 32], value=2, key=f"{KEY}-latent", **KEEP,
                              help="2 lets you see the whole latent space; larger codes reconstruct better.")
    hidden = HIDDEN[st.selectbox("Hidden layers", list(HIDDEN), key=f"{KEY}-hidden", **KEEP)]
    beta = st.slider("β (weight of the KL term)", 0.0, 8.0, 1.0, 0.25, key=f"{KEY}-beta", **KEEP,
                     help="0: a plain autoencoder with noise. 1: the true ELBO. >1 (β-VAE): smoother, "
                          "more organised codes, blurrier images.")
    st.header("Training")
    n_train = train_size_slider("Training images", [2000, 5000, 10000, 20000, 0], 20000, f"{KEY}-ntrain", dataset,
                                help="A subset trains quickly on a small server; 'all' uses every training image.")
    epochs = st.number_input("Epochs", 1, 50, 5, key=f"{KEY}-epochs", **KEEP)
    lr = st.select_slider("Learning rate", [3e-4, 1e-3, 3e-3, 1e-2], value=3e-3, key=f"{KEY}-lr", **KEEP,
                          format_func=lambda v: f"{v:g}")
    batch = st.select_slider("Batch size", [32, 64, 128, 256], value=128, key=f"{KEY}-batch", **KEEP)

ds = load_dataset(dataset)
spec = vae.VAESpec(dataset=dataset, latent_dim=latent, hidden=hidden, beta=beta, epochs=int(epochs),
                   batch_size=batch, lr=lr, n_train=n_train)
arch = " → ".join(map(str, hidden))
st.markdown(f"**{count_parameters(spec.build(ds)):,} trainable parameters** — encoder 784 → {arch} → "
            f"(μ, log σ²) ∈ ℝ{latent} × ℝ{latent}; decoder {latent} → {' → '.join(map(str, hidden[::-1]))} → 784")

# --- train, live --------------------------------------------------------------------------------
shown = run_controls(KEY, vae.LESSON, spec, ds)


def render_live(view):
    rows = view.metrics()
    c1, c2 = st.columns(2)
    c1.plotly_chart(vae.curves(rows, "recon", "Reconstruction (BCE)"), width="stretch", key=f"{KEY}-recon")
    c2.plotly_chart(vae.curves(rows, "kl", "KL divergence"), width="stretch", key=f"{KEY}-kl")
    steps = [r for r in rows if r.get("split") == "train"]
    if steps:
        last = steps[-1]
        st.caption(f"step {last['step']} · last batch: reconstruction {last['recon']:.1f}, KL {last['kl']:.2f}, "
                   f"loss {last['loss']:.1f} nats per image")


live(KEY, render_live)


# --- what the run learned (everything from the run: its model, its test images) ------------------

def test_figures(result: vae.VAEResult) -> None:
    st.subheader("On the test set")
    c1, c2, c3 = st.columns(3)
    c1.metric("Reconstruction", f"{result.test_recon:.1f} nats")
    c2.metric("KL", f"{result.test_kl:.2f} nats")
    c3.metric("Negative ELBO", f"{result.test_elbo:.1f} nats", help="reconstruction + KL per test image: lower "
              "is better. pytorch/examples reaches about 105 with a 20-d code after 10 epochs; a 2-d code "
              "can't hold as much, about 145–160.")


def latent_space(result: vae.VAEResult, run_id: int) -> None:
    st.subheader("The latent space")
    plane = result.plane
    if plane.is_pca:
        st.caption(f"The code has {plane.latent_dim} dimensions, so the chart shows the plane of the first two "
                   "principal components (PCA) of the test images' means; clicking decodes the point of that "
                   "plane (the other directions stay at the mean).")
    st.markdown(
        f"Each dot is the mean code μ(x) of one of {len(result.scatter_idx):,} test images, coloured by class. "
        "**Hover** a dot to see its digit. **Click anywhere** on the plane: the point is decoded on the right "
        "(a click on a dot also shows that test image). Scroll to zoom, drag to pan.")
    picked_key, chart_key = f"{KEY}-picked", f"{KEY}-scatter-{run_id}"

    def remember_click():
        """Kept in session state: the chart is redrawn with a marker at the pick, which resets its selection."""
        pick = vae.picked_point(st.session_state[chart_key].selection)
        if pick is not None:
            st.session_state[picked_key] = {**pick, "run": run_id}

    picked = st.session_state.get(picked_key)
    if picked is not None and picked.get("run") != run_id:  # a click on another run's plane
        picked = None
    scatter_slot, side = st.columns([3, 2])

    # The canvas sits below the chart but its encoding is drawn on it, so the chart is filled in last.
    st.subheader("Draw a digit")
    c1, c2 = st.columns(2)
    with c1:
        drawing = digit_canvas(f"{KEY}-canvas-{run_id}")
    with c2:
        drawn_xy = None
        if drawing is None:
            st.caption("The canvas is empty — draw a digit: a ★ marks its code on the plane above, and its "
                       "reconstruction appears here.")
        else:
            z = vae.encode_means(result.model, drawing)
            drawn_xy = tuple(plane.to_plane(z)[0])
            st.image(to_uint8(vae.decode(result.model, z)[0]), width=168,
                     caption=f"reconstruction from ★ at ({drawn_xy[0]:.2f}, {drawn_xy[1]:.2f})")

    with scatter_slot:
        chart = vae.latent_scatter(result, picked and picked["xy"], drawn_xy)
        st.altair_chart(chart, key=chart_key, on_select=remember_click,
                        selection_mode=[vae.PICK_DOT, vae.PICK_GRID], width="stretch")
    with side:
        if picked is None:
            st.info("Click a point of the plane to decode it.")
        else:
            x, y = picked["xy"]
            image = vae.decode(result.model, plane.from_plane((x, y)))[0]
            with st.container(key=f"{KEY}-decoded"):
                st.image(to_uint8(image), width=196, caption=f"decoded at ({x:.2f}, {y:.2f})")
            # The run's own test image, kept with the run: the data picked in the sidebar may differ.
            shown_test = result.test_image(picked["test_index"]) if picked["test_index"] is not None else None
            if shown_test is not None:
                test_image, label = shown_test
                st.image(to_uint8(test_image), width=98, caption=f"test image #{picked['test_index']}: {label}")


def latent_grid(result: vae.VAEResult) -> None:
    st.subheader("Decoded latent grid")
    n = st.slider("Grid size", 5, 25, 15, key=f"{KEY}-grid")
    st.markdown(f"An {n}×{n} grid of codes decoded to images. The coordinates are the Gaussian quantiles "
                "Φ⁻¹(0.05) … Φ⁻¹(0.95) (`scipy.stats.norm.ppf`), so the grid is dense where the prior puts its "
                "mass.")
    st.image(montage(vae.latent_grid(result.model, result.plane, n), ncols=n, pad=0), width=min(700, 28 * n * 2))


def samples(result: vae.VAEResult) -> None:
    st.subheader("Sample new images")
    if st.button("Sample again", key=f"{KEY}-sample"):
        st.session_state[f"{KEY}-seed"] = st.session_state.get(f"{KEY}-seed", 0) + 1
    seed = st.session_state.get(f"{KEY}-seed", 0)
    st.image(montage(vae.sample(result.model, 32, seed), ncols=16), width="stretch",
             caption=f"32 codes drawn from N(0, I), decoded (draw #{seed})")


result = finished_result(KEY)
if result is None:
    st.info("Press **Train**; once the model is trained you can explore its latent space here: click the "
            "plane to decode any point, draw a digit to see where it lands, and sample new images.")
else:
    test_figures(result)
    latent_space(result, shown.id)
    latent_grid(result)
    samples(result)

st.markdown("""
**What to notice**
- The reconstruction loss falls fast; the KL *rises* at first — the encoder learns to use its code — then settles.
- With a 2-d code, classes form neighbouring regions; between them the decoder morphs one shape into another.
- Raise β to 4 and train again: the KL shrinks, the clusters overlap more, images get blurrier. β = 0 lets the
  codes drift far from the prior, and sampling from N(0, I) then gives worse images.
- A larger code (8 or 16) cuts the negative ELBO a lot, at the cost of a plane you can only see through PCA.
""")
