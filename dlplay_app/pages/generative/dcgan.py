"""DCGAN: a generator and a discriminator trained against each other; watch it learn."""
import streamlit as st

from dlplay import course, data, visible

from dlplay.generative import gan
from dlplay.models import count_parameters
from dlplay.viz import montage
from dlplay_app.ui.live import dataset_selectbox, finished_result, live, load_dataset, train_size_slider
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "Two networks play a game. The **generator** G turns random noise z into an image through transposed "
    "convolutions (7×7 → 14×14 → 28×28). The **discriminator** D, a small convolutional network, looks at "
    "an image and says how likely it is to be real. D is trained to tell real images from G's, and G to make "
    "D say \"real\" — it never sees a real image, only D's gradient.\n\n"
    "Below you'll see the same 64 noise vectors turned into images after every epoch, the two losses, "
    "and what D says about real (D(x)) and generated (D(G(z))) images. A **judge** — an MLP classifier "
    "trained once on the real data and cached — scores 1,000 samples per epoch.")

with st.sidebar:
    st.header("Data")
    dataset = dataset_selectbox(["mnist", "fashion_mnist"], key=f"{KEY}-dataset")
    n_train = train_size_slider("Training images", [3200, 6400, 12800, 25600, 0], 6400, f"{KEY}-ntrain", dataset,
                                help="A subset keeps an epoch short: about 3 s for 6,400 images on two CPU "
                                     "cores; 'all' uses every training image.")
    st.header("Model")
    nz = st.select_slider("Noise size (z)", [16, 32, 64, 100], value=64, key=f"{KEY}-nz", **KEEP)
    width = st.select_slider("Width (feature maps)", [16, 32, 64], value=32, key=f"{KEY}-width", **KEEP,
                             help="Feature maps in the first layer; doubles in the next. Wider learns better, "
                                  "slower.")
    st.header("Training")
    epochs = st.number_input("Epochs", 1, 50, 5, key=f"{KEY}-epochs", **KEEP)
    batch = st.select_slider("Batch size", [32, 64, 128], value=64, key=f"{KEY}-batch", **KEEP)
    lr = st.select_slider("Learning rate", [5e-5, 1e-4, 2e-4, 4e-4, 1e-3, 1e-2], value=2e-4, key=f"{KEY}-lr",
                          format_func=lambda v: f"{v:g}", **KEEP,
                          help="2e-4 with Adam β₁ = 0.5 is the DCGAN paper's setting.")

ds = load_dataset(dataset)
spec = gan.GANSpec(dataset=dataset, n_train=n_train, epochs=int(epochs), batch_size=batch, lr=lr, nz=nz,
                   width=width)
g, d = spec.build(ds.image_shape[0])
st.markdown(f"**Generator: {count_parameters(g):,} parameters** — z ∈ ℝ{nz} → {2 * width}×7×7 → {width}×14×14 "
            f"→ 1×28×28 (tanh). **Discriminator: {count_parameters(d):,} parameters** — 1×28×28 → "
            f"{width}×14×14 → {2 * width}×7×7 → 1 logit.")

# --- train, live --------------------------------------------------------------------------------
judge = gan.judge_path(ds)
if not judge.is_file():
    st.caption(f"The judge classifier for {ds.title} isn't cached yet: the first run trains it "
               f"({gan.JUDGE_TRAINING_TIME}) and saves it to `{visible.text(judge)}`.")
shown = run_controls(KEY, gan.LESSON, spec, ds)


def render_live(view):
    rows = view.metrics()
    samples = view.latest("samples")
    if samples is None and not view.is_active and (done := finished_result(KEY)) is not None:
        samples = {"epoch": done.scores[-1]["epoch"], "image": done.grids[-1]}  # a run reopened from the store
    c1, c2 = st.columns([2, 3])
    with c1:
        if samples is not None:
            st.image(samples["image"], width="stretch",
                     caption=f"64 fixed noise vectors after epoch {samples['epoch']:g}"
                             + (" (untrained)" if samples["epoch"] == 0 else ""))
    with c2:
        st.plotly_chart(gan.quality_figure(rows), width="stretch", key=f"{KEY}-quality")
    c1, c2 = st.columns(2)
    c1.plotly_chart(gan.losses_figure(rows), width="stretch", key=f"{KEY}-losses")
    c2.plotly_chart(gan.d_outputs_figure(rows), width="stretch", key=f"{KEY}-dout")
    scores = [r for r in rows if r.get("split") == "epoch"]
    if scores:
        s = scores[-1]
        st.caption(f"after epoch {s['epoch']:g}: classifier score {s['score']:.2f}, confidence "
                   f"{s['confidence']:.0%}, coverage {s['coverage']:.0%}")


live(KEY, render_live)


# --- what the run learned (everything from the run: its models, its scores, its data's name) ----

def how_it_went(result: gan.GANResult) -> None:
    st.subheader("How it went")
    first, last = result.scores[0], result.scores[-1]
    c1, c2, c3 = st.columns(3)
    c1.metric("Classifier score", f"{last['score']:.2f}", f"{last['score'] - first['score']:+.2f} since epoch 0",
              help=f"exp(E[KL(p(y|x) ‖ p(y))]): 1 = all one class or pure doubt, {len(result.classes)} = every "
                   "sample confidently one class and all classes equally often.")
    c2.metric("Mean top-class confidence", f"{last['confidence']:.0%}")
    c3.metric("Class coverage", f"{last['coverage']:.0%}", help="share of classes that get at least 2% of samples")
    st.caption(f"Judge: MLP classifier with {result.judge_acc:.1%} test accuracy on real "
               f"{data.TITLES.get(result.dataset, result.dataset)}. Its confidence alone is misleading: at epoch 0 "
               "the blank images all look like one class to it, often with high confidence; coverage and the "
               "score show the real progress.")


def watch_it_learn(result: gan.GANResult, run_id: int) -> None:
    st.subheader("Watch it learn")
    last = len(result.grids) - 1
    # Keyed by run: each run's slider starts at its own last epoch.
    i = st.slider("Epoch", 0, last, last, key=f"{KEY}-epoch-{run_id}") if last > 0 else 0
    epoch = result.scores[i]["epoch"]
    c1, c2 = st.columns([2, 3])
    c1.image(result.grids[i], width="stretch", caption=f"the same 64 noise vectors after epoch {epoch:g}")
    c2.plotly_chart(gan.class_counts_figure(result.scores[i]["class_counts"], result.classes), width="stretch")


def interpolation(result: gan.GANResult) -> None:
    st.subheader("Latent interpolation")
    st.markdown("Walk from one noise vector to another and decode every step: a smooth morph means G has learned "
                "a continuous map, not a lookup table of training images.")
    c1, c2, c3, c4 = st.columns(4)
    seed_a = c1.number_input("Start seed", 0, 10_000, 1, key=f"{KEY}-seed-a")
    seed_b = c2.number_input("End seed", 0, 10_000, 2, key=f"{KEY}-seed-b")
    steps = c3.slider("Steps", 3, 16, 10, key=f"{KEY}-steps")
    spherical = c4.toggle("Spherical (slerp)", True, key=f"{KEY}-slerp",
                          help="Follow the sphere where Gaussian noise vectors live rather than a straight line.")
    path = gan.interpolate(result.generator, int(seed_a), int(seed_b), steps, spherical)
    st.image(montage(path, ncols=steps), width="stretch")


result = finished_result(KEY)
if result is not None:
    how_it_went(result)
    watch_it_learn(result, shown.id)
    interpolation(result)

st.markdown("""
**What to notice**
- Epoch 0 is flat grey (the untrained G gives every pixel about the same value); within an epoch or two
  blobs appear, then strokes, then digits (or clothes).
- D(x) and D(G(z)) don't converge to a low loss like a classifier: it is a game, and the losses wobble
  around a balance. If D(G(z)) sticks near 0, D has won and G gets little signal.
- The class histogram shows **mode collapse** when G makes only a few classes — coverage drops.
- 2e-4 is the DCGAN paper's learning rate; this small model also copes with 1e-3 and gets there sooner —
  compare the score curves. At 5e-5 it crawls.
""")
