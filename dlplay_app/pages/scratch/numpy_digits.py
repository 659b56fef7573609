"""NumPy MLP on digits: the from-scratch network (hand-written backprop, SGD with momentum) on real MNIST digits."""
import streamlit as st

from dlplay import course, data, runs
from dlplay.scratch.digits import DATASET, LESSON, DigitsSpec
from dlplay.viz import curves_figure
from dlplay_app.ui.live import finished_result, live, load_dataset
from dlplay_app.ui.reports import draw_to_classify, test_set_report
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "The same kind of network as the *Digit classifier* page, but with no framework: every layer is a few "
    "lines of NumPy with its `backward` written by hand (`dlplay/scratch/mlp.py`), and the optimizer is "
    "plain SGD with momentum plus an L2 penalty. It trains on 4,000 real MNIST digits and is tested on "
    "1,000 others. Press **Train**, watch the curves, then draw a digit.")

with st.sidebar:
    st.header("Network")
    n_layers = st.slider("Hidden layers", 1, 3, 1, key=f"{KEY}-layers", **KEEP)
    units = [st.select_slider(f"Units in layer {i + 1}", [16, 32, 64, 128, 256, 512], value=(256, 128, 64)[i],
                              key=f"{KEY}-units{i}", **KEEP) for i in range(n_layers)]
    activation = st.selectbox("Activation", ["relu", "tanh", "sigmoid"], key=f"{KEY}-act", **KEEP)
    st.header("Training")
    lr = st.select_slider("Learning rate", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0],
                          value=DigitsSpec.lr, key=f"{KEY}-lr", format_func=lambda v: f"{v:g}", **KEEP,
                          help="Too small: slow progress. Too large: the loss explodes and the run stops.")
    momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key=f"{KEY}-momentum", **KEEP)
    l2 = st.select_slider("L2 penalty", [0.0, 1e-4, 1e-3, 1e-2, 1e-1], value=1e-3, key=f"{KEY}-l2", **KEEP,
                          format_func=lambda v: f"{v:g}", help="Adds l2/2·Σw² to the loss: pulls weights to 0.")
    batch = st.select_slider("Batch size", [16, 32, 64, 128, 256], value=64, key=f"{KEY}-batch", **KEEP)
    epochs = st.number_input("Epochs", 1, 30, 8, key=f"{KEY}-epochs", **KEEP)

ds = load_dataset(DATASET)
spec = DigitsSpec(hidden=tuple(units), activation=activation, lr=lr, momentum=momentum, l2=l2,
                  batch_size=batch, epochs=int(epochs))
n_params = sum(a * b + b for a, b in zip([784, *units], [*units, 10]))
st.markdown(f"**{n_params:,} parameters** — 784 → {' → '.join(map(str, units))} → 10 "
            f"({activation}, softmax cross-entropy); {len(ds.x_train) - spec.n_val:,} training and "
            f"{spec.n_val} validation images.")

shown = run_controls(KEY, LESSON, spec, ds)


def render(job):
    rows = job.metrics()
    c1, c2 = st.columns(2)
    c1.plotly_chart(curves_figure(rows, "loss", "Loss (cross-entropy)"), width="stretch", key=f"{KEY}-loss")
    c2.plotly_chart(curves_figure(rows, "acc", "Accuracy"), width="stretch", key=f"{KEY}-acc")
    steps = [r for r in rows if r.get("split") == "train"]
    if steps:
        st.caption(f"step {steps[-1]['step']} · last batch loss {steps[-1]['loss']:.3f}")


live(KEY, render)

result = finished_result(KEY)
if result is not None:
    # The run's own test digits, never the ones on screen now.
    run_ds = data.load(LESSON.spec_from(shown.run.spec).dataset)
    same_data = runs.data_matches(shown.run, run_ds)
    test_set_report(KEY, result.test_acc, result.confusion, run_ds.classes, run_ds.x_test if same_data else None,
                    run_ds.y_test, result.wrong, result.wrong_pred)
draw_to_classify(KEY, (lambda image: result.probabilities(image[None])[0]) if result else None, ds.classes,
                 what="the network", run_id=shown.id if result is not None else None)

st.markdown("""
**What to notice**
- It reaches about 93% on the test digits in seconds — the same kind of number a framework gets with this
  little data. Frameworks add speed and convenience, not magic: the maths is the ~150 lines in `mlp.py`.
- With only 3,500 training images the training accuracy climbs towards 100% while validation stalls:
  overfitting. Raise the L2 penalty and the gap narrows.
- Sigmoid hidden units learn much more slowly than ReLU at the same learning rate: their gradients are at
  most 1/4 and vanish when they saturate.
""")
