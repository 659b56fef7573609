"""AppTest of the page "Inside a trained network"."""
import pytest

from dlplay import runs
from dlplay.classify import LESSON, ClassifierSpec, prepare
from dlplay.train import TrainConfig

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

PAGE = "pages/vision/inside.py"


@pytest.fixture(scope="module")
def mlp_run():
    """A real MLP run of the Digit classifier, trained for one epoch on 5,000 MNIST digits."""
    spec = ClassifierSpec(dataset="mnist5k", hidden=(64, 32), n_val=500, train=TrainConfig(epochs=1))
    ds = prepare(spec)
    run, job = runs.start(LESSON, spec, workspace="local", session_id="inside-test", ds=ds)
    assert job.wait(120) and job.state == "done", job.error
    return runs.get_store().get(run.id)


def test_no_runs_says_what_to_do(apptest, monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")  # a fresh private workspace: no runs in it
    at = apptest(PAGE).run()
    assert not at.exception
    text = " ".join(i.value for i in at.info)
    assert "No trained run" in text and "Digit classifier (MLP)" in text and "Train" in text


def test_sections_render_for_an_mlp_run(apptest, mlp_run):
    at = apptest(PAGE).run()
    assert not at.exception, at.exception
    at.selectbox(key="inside-run").set_value(mlp_run.id).run()
    assert not at.exception, at.exception
    md = " ".join(m.value for m in at.markdown)
    assert f"run {mlp_run.id} ·" in md
    headers = [h.value for h in at.header]
    assert any("Receptive fields" in h for h in headers) and any("Saliency" in h for h in headers)
    assert len(at.get("image")) >= 2  # first-layer fields, the test image
    # deeper fields: the output layer, with the note that the linear view ignores activations
    at.select_slider(key="inside-depth").set_value(3).run()
    assert not at.exception
    assert any("ignores the activations" in c.value for c in at.caption)
    # saliency by integrated gradients on a test image
    at.selectbox(key="inside-sal-method").set_value("integrated_gradients").run()
    assert not at.exception
    assert any("of the saliency lies on the" in c.value for c in at.caption)
    # gradient ascent on the class "7", as a job, live
    at.selectbox(key="inside-class").set_value(7)
    at.select_slider(key="inside-steps").set_value(50)
    at.button(key="inside-ascend").click().run()
    assert not at.exception
    from tests.conftest import job_of

    job = job_of(at, "inside")
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception
    result = job.result
    assert result.final_value > result.start_value
    assert any("The model calls it **7**" in c.value for c in at.caption), [c.value for c in at.caption]


@pytest.fixture(scope="module")
def cnn_run():
    """A real run of the CNN builder's fast preset, one epoch on 3,000 MNIST digits."""
    from dataclasses import replace

    from dlplay import data
    from dlplay.vision import cnn

    spec = replace(cnn.from_preset("fast", "mnist"), n_train=3000, train=TrainConfig(optimizer="adamw", lr=4e-3,
                                                                                     epochs=1))
    run, job = runs.start(cnn.LESSON, spec, workspace="local", session_id="inside-test", ds=data.load("mnist"))
    assert job.wait(180) and job.state == "done", job.error
    return runs.get_store().get(run.id)


def test_a_cnn_run_shows_theoretical_and_effective_receptive_fields(apptest, cnn_run):
    at = apptest(PAGE).run()
    at.selectbox(key="inside-run").set_value(cnn_run.id).run()
    assert not at.exception, at.exception
    fields = at.dataframe[0].value
    # fast preset: 3×3 convs with 2×2 pools between: conv1 sees 3×3, and the field grows layer by layer
    assert fields.set_index("layer").loc["conv1", "receptive field (px)"] == "3×3", fields
    last = fields["receptive field (px)"].iloc[-1]
    assert int(last.split("×")[0]) > 10, fields
    at.selectbox(key="inside-erf-layer").set_value("conv2").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    theoretical = int(metrics["Theoretical"].split("×")[0])
    effective = int(metrics["Holds 95 % of the gradient"].split("×")[0])
    assert theoretical == 8 and 1 <= effective <= theoretical, metrics  # conv3 → pool2 → conv3: 3 + 1 + 2·2 = 8
    # gradient ascent on a class of the CNN, live; the model reads the image as that class
    at.selectbox(key="inside-class").set_value(3)
    at.select_slider(key="inside-steps").set_value(100)
    at.button(key="inside-ascend").click().run()
    from tests.conftest import job_of

    job = job_of(at, "inside")
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception
    assert job.result.final_value > job.result.start_value + 1, (job.result.start_value, job.result.final_value)
    assert any("The model calls it **3**" in c.value for c in at.caption), [c.value for c in at.caption]
