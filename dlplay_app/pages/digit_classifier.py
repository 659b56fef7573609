"""Digit classifier (MLP): train a multilayer perceptron live, then draw a digit."""
import streamlit as st

from dlplay import course, data, runs
from dlplay.classify import LESSON, ClassifierSpec, classify_image, prepare, useless_note
from dlplay.models import count_parameters, summary_table
from dlplay.train import OPTIMIZERS, TrainConfig
from dlplay.viz import curves_figure
from dlplay_app.ui.live import dataset_selectbox, finished_result, live, load_dataset, lr_slider
from dlplay_app.ui.reports import draw_to_classify, test_set_report
from dlplay_app.ui.runs import open_page, run_controls, run_spec
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "A **multilayer perceptron** turns the 784 pixels of an image into 10 class scores through a few "
    "fully connected layers. Press **Train** and watch the loss fall and the accuracy climb, batch by "
    "batch; then check where it still goes wrong and draw your own digit to test it.")

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Model")
    dataset = dataset_selectbox(["mnist", "fashion_mnist", "mnist5k"], key=f"{KEY}-dataset")
    n_layers = st.slider("Hidden layers", 1, 4, 2, key=f"{KEY}-layers", **KEEP)
    units = [st.select_slider(f"Units in layer {i + 1}", [16, 32, 64, 128, 256, 512],
                              value=(256, 128, 64, 32)[i], key=f"{KEY}-units{i}", **KEEP) for i in range(n_layers)]
    activation = st.selectbox("Activation", ["relu", "tanh", "sigmoid", "gelu"], key=f"{KEY}-act", **KEEP)
    dropout = st.slider("Dropout", 0.0, 0.7, 0.2, 0.05, key=f"{KEY}-dropout", **KEEP,
                        help="Randomly zero this share of hidden units while training: less overfitting.")
    st.header("Training")
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, key=f"{KEY}-opt", **KEEP)
    lr = lr_slider(f"{KEY}-lr", 3e-3)
    batch = st.select_slider("Batch size", [16, 32, 64, 128, 256, 512], value=128, key=f"{KEY}-batch", **KEEP)
    epochs = st.number_input("Epochs", 1, 30, 3, key=f"{KEY}-epochs", **KEEP)

ds = load_dataset(dataset)
spec = ClassifierSpec(dataset=dataset, hidden=tuple(units), activation=activation, dropout=dropout,
                      train=TrainConfig(optimizer=optimizer, lr=lr, batch_size=batch, epochs=int(epochs)))
prepare(spec)  # the validation split, made before Train is pressed
preview = spec.build(ds)
st.markdown(f"**{count_parameters(preview):,} trainable parameters** — "
            f"784 → {' → '.join(map(str, units))} → {ds.n_classes}")


@st.cache_data(show_spinner=False, max_entries=64)
def layer_table(hidden: tuple, activation: str, dropout: float, n_classes: int):
    # torchinfo runs a forward pass with hooks (~0.1 s): once per architecture, not every rerun.
    return summary_table(spec.build(ds), (1, 1, 28, 28))


with st.expander("Layer by layer (torchinfo)"):
    st.dataframe(layer_table(spec.hidden, activation, dropout, ds.n_classes), hide_index=True, width="stretch")

# --- train, live --------------------------------------------------------------------------------
shown = run_controls(KEY, LESSON, spec, ds)


def render_curves(rows):
    c1, c2 = st.columns(2)
    c1.plotly_chart(curves_figure(rows, "loss", "Loss"), width="stretch", key=f"{KEY}-loss")
    c2.plotly_chart(curves_figure(rows, "acc", "Accuracy"), width="stretch", key=f"{KEY}-acc")
    steps = [r for r in rows if r.get("split") == "train"]
    rates = [r["samples_per_s"] for r in rows if r.get("split") == "epoch" and "samples_per_s" in r]
    if steps:
        speed = f" · {rates[-1]:,.0f} samples/s" if rates else ""
        st.caption(f"{len(steps)} points so far · step {steps[-1]['step']} · "
                   f"last batch loss {steps[-1]['loss']:.3f}{speed}")


if shown is None:
    # Empty axes before the first run: the browser loads the chart library now, not
    # after Train is pressed, so the first point shows within a second of the click.
    render_curves([])
live(KEY, lambda job: render_curves(job.metrics()))

result = finished_result(KEY)
if result is not None and (note := useless_note(result, run_spec(shown, LESSON).train.lr)):
    st.warning(note, icon=":material/warning:")
if result is not None:
    # The run's own test set, never the one picked in the sidebar since.
    run_ds = data.load(result.dataset)
    same_data = runs.data_matches(shown.run, run_ds)
    test_set_report(KEY, result.test_acc, result.confusion, result.classes, run_ds.x_test if same_data else None,
                    run_ds.y_test, result.wrong, result.wrong_pred)
classes = ds.classes if result is None else result.classes
noun = "a digit" if classes == data.DIGIT_CLASSES else "a piece of clothing (a shirt, trousers, a bag…)"
draw_to_classify(KEY, (lambda image: classify_image(result.model, image)) if result else None, classes,
                 run_id=shown.id if result is not None else None, noun=noun)

st.markdown("""
**What to notice**
- The batch loss is noisy but trends down; the epoch points (train and validation) are the smooth summary.
- Early on, the epoch's train loss sits *above* the validation loss: it averages the whole epoch, including
  its first clumsy batches, and dropout is switched on while training but off for validation.
- If validation accuracy stops improving while training accuracy keeps rising, the model starts to overfit.
- Try a learning rate of 1 or more: the loss jumps; the run stops with a hint when it explodes or becomes
  NaN, and a model no better than always answering one class is called out.
- Drawings that are thin, off-centre or unusually shaped are where MNIST models fail — the preview shows
  how your digit was cropped, scaled to 20×20 and centred like MNIST's.
""")
