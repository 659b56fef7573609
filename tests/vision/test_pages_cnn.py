"""AppTests of the pages "CNN builder" and "Compare CNNs"."""
import json

import pytest

from dlplay import data
from dlplay.vision.cnn import PRESETS
from tests.conftest import ROOT, job_of, run_of

PAGE = "pages/vision/cnn.py"
COMPARE = "pages/vision/compare.py"
EXAMPLES = ROOT / "dlplay" / "assets" / "examples"


@pytest.fixture(autouse=True)
def fresh_data():
    data.clear_cache()


def set_stack(at, rows):
    """The stack table's rows, as the data editor would leave them (AppTest can't edit one)."""
    at.session_state["cnn-stack"] = rows
    at.session_state["cnn-stack-v"] = at.session_state["cnn-stack-v"] + 1
    return at.run()


def train_button(at):
    return at.button(key="cnn-train")


def test_page_shows_the_stack_shapes_and_parameters_by_formula_and_torchinfo(apptest):
    at = apptest(PAGE).run()
    assert not at.exception and not at.error
    assert any("Source — data directory" in c.value for c in at.caption)
    editor = at.dataframe[0].value
    fast = PRESETS["fast"]
    assert list(editor["kind"]) == [b.kind for b in fast], "the fast preset's stack"
    table = at.dataframe[1].value
    assert (table["parameters (formula)"] == table["parameters (torchinfo)"]).all()
    f = fast[0].filters
    assert table.loc[table.layer == "conv1", "formula"].item() == f"(3·3·1 + 1)·{f}"
    assert table.loc[table.layer == "conv1", "parameters (formula)"].item() == 10 * f
    assert any("formula and torchinfo agree" in c.value for c in at.caption)
    at.selectbox(key="cnn-preset").set_value("simple").run()
    assert not at.exception
    assert list(at.dataframe[0].value["kind"]) == ["conv", "pool"]
    assert at.select_slider(key="cnn-lr").value == 1e-3 and at.selectbox(key="cnn-sched").value == "constant"
    table = at.dataframe[1].value
    assert table.loc[table.layer == "conv1", "output shape"].item() == "32 × 26 × 26"
    assert any("54,410 trainable parameters" in m.value for m in at.markdown)  # (9+1)·32 + (32·13·13 + 1)·10
    assert not train_button(at).disabled


def test_an_invalid_stack_shows_why_and_train_is_disabled(apptest):
    at = apptest(PAGE).run()
    pool = {"kind": "pool", "size": 2}
    set_stack(at, [{"kind": "conv", "filters": 8, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
                   pool, pool, pool, {"kind": "conv", "filters": 8, "kernel": 9, "stride": 1, "padding": 0,
                                      "activation": "relu"}])
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Block 5" in e and "9×9 kernel is bigger than its 3×3 input" in e for e in errors), errors
    assert train_button(at).disabled
    set_stack(at, [pool] * 6)  # 28 → 14 → 7 → 3 → 1 → then nothing
    assert any("Block 6" in e.value and "shrunk the image to 0×0" in e.value or "to 1×1" in e.value
               for e in at.error), [e.value for e in at.error]
    assert train_button(at).disabled
    at.text_input(key="cnn-dense").set_value("128, lots").run()
    assert train_button(at).disabled and not at.exception


@pytest.mark.slow
def test_training_gives_curves_report_filters_and_feature_maps_of_uploads(apptest):
    at = apptest(PAGE).run()
    at.select_slider(key="cnn-ntrain").set_value(5000)
    at.number_input(key="cnn-epochs").set_value(2)
    train_button(at).click().run()
    job = job_of(at, "cnn")
    assert job.wait(240) and job.state == "done", job.error
    at.run()
    assert not at.exception
    acc = [m for m in at.metric if m.label == "Test accuracy"]
    assert acc and float(acc[0].value.rstrip("%")) >= 94.0, acc[0].value
    assert "10,000" in acc[0].help, "measured on MNIST's test set"
    # The fast preset's label smoothing is explained where the curves show it (issue 25), and it is true:
    # the training loss never goes below the floor the caption gives, the validation loss does.
    assert any("Label smoothing 0.1" in c.value and "can't go below 0.50" in c.value for c in at.caption)
    epochs = [r for r in job.result.history.rows if r.get("split") == "epoch"]
    assert all(r["train_loss"] >= 0.50 for r in epochs) and epochs[-1]["val_loss"] < epochs[-1]["train_loss"]
    run = run_of(at, "cnn")
    assert run.spec["blocks"][0]["filters"] == PRESETS["fast"][0].filters and run.spec["n_train"] == 5000
    result = job.result
    assert len(result.filters) == 2 and abs(result.filters[1] - result.filters[0]).max() > 1e-3
    # The filters slider goes over the epochs; each shows another picture.
    slider = at.slider(key=f"cnn-filter-epoch-{run.id}")
    def filter_image():
        return next((im.value[0], im.captions[0]) for im in at.image if "filters of 3×3" in im.captions[0])

    first, caption = filter_image()
    assert caption.endswith("after epoch 2")
    slider.set_value(1).run()
    other, caption = filter_image()
    assert caption.endswith("after epoch 1") and other != first
    # Feature maps of a test image: one expander per conv and pool layer.
    labels = [e.label for e in at.expander]
    convs = [b.filters for b in PRESETS["fast"] if b.kind == "conv"]
    assert any(lbl.startswith(f"conv1: {convs[0]} maps of 28×28") for lbl in labels), labels
    assert any(lbl.startswith(f"pool3: {convs[2]} maps of 3×3") for lbl in labels), labels
    # Uploads: a PNG of MNIST's test digit 7, a JPEG of a 3 on paper, and a file that isn't an image.
    at.radio(key="cnn-fm-source").set_value("An uploaded image").run()
    at.file_uploader(key="cnn-upload").set_value(
        ("mnist-test-7.png", (EXAMPLES / "mnist-test-7.png").read_bytes(), "image/png")).run()
    assert not at.exception and not at.error
    assert any(m.value.startswith("**Prediction: 7**") for m in at.markdown)
    assert any("trained towards 91% for the right class" in c.value for c in at.caption), "why not 100 %"
    at.file_uploader(key="cnn-upload").set_value(
        ("digit-3-on-paper.jpg", (EXAMPLES / "digit-3-on-paper.jpg").read_bytes(), "image/jpeg")).run()
    assert not at.error and any(m.value.startswith("**Prediction: ") for m in at.markdown)
    assert any("what the model sees: “digit-3-on-paper.jpg”" in c for im in at.image for c in im.captions)
    assert any(e.label.startswith("conv1:") for e in at.expander)
    at.file_uploader(key="cnn-upload").set_value(("notes.txt", b"not a picture at all", "text/plain")).run()
    assert not at.exception
    assert any("“notes.txt” is not an image" in e.value for e in at.error)
    assert not any(m.value.startswith("**Prediction") for m in at.markdown)


@pytest.mark.slow
def test_compare_trains_setups_one_after_another_and_tables_them(apptest):
    at = apptest(COMPARE).run()
    assert not at.exception
    # Two small setups (the deeper ones take minutes on 2 cores: their finding is tested on numbers below).
    at.multiselect(key="cnncmp-setups").set_value(["simple", "Keras mnist_convnet"])
    at.number_input(key="cnncmp-epochs").set_value(1)
    at.select_slider(key="cnncmp-ntrain").set_value(2000).run()
    at.button(key="cnncmp-train").click().run()
    seq = at.session_state["cnncmp-sequence"]
    assert len(seq.jobs) == 1, "the second waits for the first"
    assert seq.wait(240), "the sequence did not finish"
    at.run()
    assert not at.exception
    first, second = seq.jobs
    assert first.state == second.state == "done"
    assert first.finished <= second.started, "one after another"
    df = at.dataframe[0].value
    assert list(df["setup"]) == ["simple", "Keras mnist_convnet"]
    assert list(df["run"]) == seq.run_ids and list(df["state"]) == ["done", "done"]
    assert list(df["parameters"]) == [54410, 34826]  # by formula: (9+1)·32 + (5408+1)·10; keras-io says 34,826
    assert (df["s / epoch"] > 0).all() and (df["test acc."] > 0.1).all() and (df["best val. acc."] > 0.1).all()
    assert len(at.get("plotly_chart")) == 2, "accuracy and loss, overlaid"
    legend = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] if t.get("showlegend", True)]
    assert legend == [f"run {seq.run_ids[0]} · simple", f"run {seq.run_ids[1]} · Keras mnist_convnet"]
    from dlplay.runs import get_store

    assert all(get_store().get(i).page == "cnn" for i in seq.run_ids), "each a run of the CNN builder"


def test_the_finding_is_told_from_the_numbers():
    import pandas as pd

    from dlplay.vision.compare import finding

    df = pd.DataFrame({"setup": ["simple", "deeper, untuned", "deeper + batch norm + Adam"],
                       "test acc.": [0.962, 0.1135, 0.978]})
    text = finding(df)
    assert "reached 11.3% test accuracy: worse than the shallower “simple” (96.2%)" in text
    assert "“deeper + batch norm + Adam” reached 97.8% (+86.4 points over the untuned one)" in text
    assert finding(df.iloc[:1]) is None


def test_compare_offers_the_stack_built_on_the_cnn_builder(apptest):
    at = apptest(COMPARE).run()
    assert "my stack (CNN builder)" not in at.multiselect(key="cnncmp-setups").options
    assert any("Build a stack of your own" in c.value for c in at.caption)

    at = apptest("app.py").run()  # the app, as a visitor moves between its pages
    at.switch_page(PAGE).run()
    at.text_input(key="cnn-dense").input("48").run()  # the fast stack with a dense layer of its own
    assert not at.exception and not at.error
    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    assert "my stack (CNN builder)" in at.multiselect(key="cnncmp-setups").options
    at.multiselect(key="cnncmp-setups").set_value(["simple", "my stack (CNN builder)"]).run()
    setups_text = " ".join(m.value for m in at.markdown)
    assert "**fast**: conv 16 3×3" in setups_text and "dense 48 → 10 classes" in setups_text, setups_text


def test_a_dataset_change_keeps_the_training_settings_and_offers_the_preset(apptest):
    """Issue 25: changing the dataset silently reset the learning rate and the rest to the fast preset."""
    at = apptest(PAGE).run()
    assert at.dataframe[0].proto.HasField("placeholder") and at.dataframe[0].proto.placeholder == "", \
        "the stack's unused cells are blank, not the text None"
    at.select_slider(key="cnn-lr").set_value(1e-2)
    at.number_input(key="cnn-epochs").set_value(3).run()
    assert any("differ from “fast” as set up for MNIST: learning rate 0.004 (now 0.01), epochs 2 (now 3)" in c.value
               for c in at.caption), [c.value for c in at.caption]
    at.selectbox(key="cnn-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    assert at.select_slider(key="cnn-lr").value == 1e-2 and at.number_input(key="cnn-epochs").value == 3
    assert at.selectbox(key="cnn-opt").value == "adamw" and at.selectbox(key="cnn-preset").value == "fast"
    assert list(at.dataframe[0].value["kind"]) == [b.kind for b in PRESETS["fast"]]
    differ = [c.value for c in at.caption if "Your settings differ from “fast” as set up for Fashion-MNIST" in c.value]
    assert differ and "learning rate 0.004 (now 0.01)" in differ[0] and "epochs 8 (now 3)" in differ[0], differ
    # Asked for: the preset as tuned for this dataset.
    at.button(key="cnn-load-preset").click().run()
    assert at.select_slider(key="cnn-lr").value == 4e-3 and at.number_input(key="cnn-epochs").value == 8
    assert not any("Your settings differ" in c.value for c in at.caption)
    # A preset chosen explicitly still loads its settings.
    at.selectbox(key="cnn-preset").set_value("simple").run()
    assert at.select_slider(key="cnn-lr").value == 1e-3 and at.selectbox(key="cnn-sched").value == "constant"
