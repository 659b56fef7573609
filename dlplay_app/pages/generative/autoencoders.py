"""Autoencoders vs SVD: the same latent size k for PCA and three autoencoders."""
import streamlit as st

from dlplay import course, data
from dlplay.generative.autoencoders import (LESSON, AESpec, TITLES, architecture_table, loss_figure, one_per_class,
                                 per_pixel_mse, reconstruct, reconstruct_drawing, results_table, run_data)
from dlplay.train import TrainConfig
from dlplay.viz import montage, to_uint8
from dlplay_app.ui.draw import digit_canvas
from dlplay_app.ui.live import dataset_selectbox, finished_result, live, load_dataset, lr_slider, train_size_slider
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key  # the latent-morphing page reuses this page's deep AE under this key
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "An **autoencoder** squeezes each image through a bottleneck of **k numbers** (the latent code) and "
    "rebuilds it from them. The classic answer to the same problem is the **SVD**: project onto the k "
    "directions along which the training images vary most (PCA). No linear map does better than that, "
    "so a *linear* autoencoder trained by gradient descent should end up exactly as good — and only "
    "non-linear layers can beat it. Press **Train** to fit all four at the same k and compare.")

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Bottleneck")
    dataset = dataset_selectbox(["mnist", "fashion_mnist", "mnist5k"], key=f"{KEY}-dataset")
    k = st.select_slider("Latent size k", [2, 4, 8, 16, 32, 64], value=16, key=f"{KEY}-k", **KEEP,
                         help="How many numbers each 784-pixel image is squeezed into.")
    st.header("Training")
    n_train = train_size_slider("Training images", [2_000, 5_000, 10_000, 20_000, 0], 10_000, f"{KEY}-n",
                                dataset, help="A subset trains in seconds; 'all' uses the whole training set "
                                              "(slower).")
    epochs = st.number_input("Epochs", 1, 50, 10, key=f"{KEY}-epochs", **KEEP)
    lr = lr_slider(f"{KEY}-lr", 3e-3)

ds = load_dataset(dataset)
spec = AESpec(dataset=dataset, k=k, n_train=n_train, train=TrainConfig(lr=lr, epochs=int(epochs), schedule="cosine"))
st.dataframe(architecture_table(k, ds.image_shape), hide_index=True, width="stretch")

# --- train, live --------------------------------------------------------------------------------
shown = run_controls(KEY, LESSON, spec, ds)


def render_live(job):
    st.plotly_chart(loss_figure(job.metrics()), width="stretch", key=f"{KEY}-curves")
    if job.is_active and (done := job.latest("test_mse")):
        st.caption("Test MSE so far: " + " · ".join(f"{TITLES[m]} {v:.4f}" for m, v in done.items()))


live(KEY, render_live)


def results_report(result, run_ds, run_id: int) -> None:
    """The run's table and its reconstructions of its own test images (`run_ds`: None when
    the data it was measured on isn't available any more)."""
    run_spec = result.spec
    st.subheader("On the test set")
    svd = result.models.get("svd")
    kept = f" The SVD's {run_spec.k} directions keep {svd.explained:.1%} of the training variance." if svd else ""
    st.caption(f"{data.TITLES[run_spec.dataset]}, k = {run_spec.k}: mean squared error per pixel on "
               f"all test images.{kept}")
    if result.stopped:
        missing = [TITLES[m] for m in run_spec.models if m not in result.models]
        st.caption(f"This run was {result.stopped}" + (f"; not reached: {', '.join(missing)}." if missing else "."))
    st.dataframe(results_table(result), hide_index=True, width="stretch",
                 column_config={"test MSE": st.column_config.NumberColumn(format="%.5f"),
                                "parameters": st.column_config.NumberColumn(format="localized")})
    if failed := result.failed():
        st.warning(f"{', '.join(TITLES[m] for m in failed)}: worse than answering the average image every time "
                   f"(MSE {result.mean_image_mse:.4f}) — the training went wrong. Lower the learning rate "
                   f"(now {run_spec.train.lr:g}) or train for more epochs, and train again.")

    st.markdown(f"**Originals and reconstructions** — one test image per class of "
                f"{data.TITLES[run_spec.dataset]}, the data of run {run_id}.")
    if run_ds is None:
        st.caption("The test images this run was measured on aren't available on the server now, so its "
                   "reconstructions can't be shown.")
        return
    idx = one_per_class(run_ds.y_test, run_ds.n_classes)
    originals = run_ds.x_test[idx]
    rows = {"Original": originals, **{TITLES[m]: r for m, r in reconstruct(result.models, originals).items()}}
    for label, images in rows.items():
        c1, c2 = st.columns([1, 5], vertical_alignment="center")
        c1.markdown(f"**{label}**")
        c2.image(montage(images, ncols=len(images)), width="stretch")

result = finished_result(KEY)
if result is not None:
    results_report(result, run_data(shown.run, result.spec.dataset), shown.id)

# --- draw ---------------------------------------------------------------------------------------
st.subheader("Draw a digit")
if result is None:
    st.info("Train the models first; then draw here to see how each one rebuilds your digit.")
c1, c2 = st.columns([1, 2])
with c1:
    # The canvas belongs to the run: a new run starts with an empty one.
    image = digit_canvas(f"{KEY}-canvas" + (f"-{shown.id}" if result is not None else ""))
with c2:
    if image is None:
        st.caption("The canvas is empty — draw a digit with your mouse or finger.")
    elif result is not None:
        recons = reconstruct_drawing(result.models, image)
        cols = st.columns(len(recons))
        for col, (name, rec) in zip(cols, recons.items()):
            col.image(to_uint8(rec), width="stretch", caption=f"{TITLES[name]} · MSE {per_pixel_mse(rec, image):.4f}")

st.markdown("""
**What to notice**
- The linear AE's curve sinks onto the SVD's dashed line and stops there: gradient descent finds the same
  best linear subspace the SVD computes in one step (it needs the data centred and enough steps).
- The shallow AE only adds a sigmoid on the output and already edges below the SVD; the deep hourglass,
  with non-linear layers before and after the code, is far better at the same k.
- Small k keeps the "average" look of a class; larger k brings back the strokes. Try k = 2 and k = 64.
- Your drawing is rebuilt from what the models learned: odd shapes come back as the nearest familiar digit.
""")
