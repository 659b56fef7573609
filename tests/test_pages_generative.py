"""AppTest of the pages "Variational autoencoder" and "DCGAN": controls, a short real
training run each, the latent-plane pick, drawing-free paths, and no tracebacks."""
import re

from dlplay import vae
from dlplay.jobs import get_scheduler
from tests.conftest import need_shared

VAE_PAGE, GAN_PAGE = "pages/vae.py", "pages/dcgan.py"


def train(at, key, **settings):
    """Set sidebar controls by key, press Train, wait for the job, rerun the page."""
    for name, value in settings.items():
        widget = at.number_input(key=f"{key}-{name}") if name == "epochs" else \
            at.select_slider(key=f"{key}-{name}")
        widget.set_value(value)
    at.button(key=f"{key}-train").click().run()
    job = get_scheduler().get(at.session_state[f"job:{key}"])
    assert job.wait(240), "training did not finish"
    at.run()
    return job


def images(at):
    return [img for el in at.get("image") for img in el.proto.imgs]


def metric(at, label):
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}"
    return float(re.match(r"[\d.]+", found[0]).group())


def test_vae_page_before_training(apptest):
    need_shared("MNIST", "raw")
    at = apptest(VAE_PAGE).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "631,188 trainable parameters" in text  # 784·400+400 + 2·(400·2+2) + 2·400+400 + 400·784+784
    assert any("Press **Train**" in i.value for i in at.info)
    at.select_slider(key="vae-latent").set_value(8).run()
    assert "ℝ8 × ℝ8" in " ".join(m.value for m in at.markdown)
    assert at.slider(key="vae-beta").value == 1.0


def test_vae_page_trains_then_decodes_a_picked_point(apptest):
    at = apptest(VAE_PAGE).run()
    job = train(at, "vae", ntrain="5,000", epochs=1)
    assert job.state == "done" and not at.exception
    assert metric(at, "Negative ELBO") < 205.8  # better than a decoder ignoring its code
    assert len(at.get("plotly_chart")) == 2  # reconstruction, KL
    assert len(at.get("vega_lite_chart")) == 1  # the latent scatter (Altair, for image tooltips)
    assert any("Click a point" in i.value for i in at.info)
    captions = [i.caption for i in images(at)]
    assert any(c.startswith("32 codes drawn from N(0, I)") for c in captions)
    # A click on the chart is stored by its on_select callback; set what it stores.
    at.session_state["vae-picked"] = {"xy": (0.5, -1.25), "test_index": 7, "job": job.id}
    at.run()
    captions = [i.caption for i in images(at)]
    assert "decoded at (0.50, -1.25)" in captions
    assert any(c.startswith("test image #7: ") for c in captions)
    at.button(key="vae-sample").click().run()
    assert any("(draw #1)" in i.caption for i in images(at)) and not at.exception


def test_vae_page_with_a_larger_code_says_it_shows_pca(apptest):
    at = apptest(VAE_PAGE).run()
    at.select_slider(key="vae-latent").set_value(8)
    job = train(at, "vae", ntrain="5,000", epochs=1)
    assert job.state == "done" and not at.exception
    assert any("principal components (PCA)" in c.value for c in at.caption)
    assert isinstance(job.result.plane, vae.LatentPlane) and job.result.plane.is_pca


def test_vae_pick_from_an_earlier_model_is_ignored(apptest):
    at = apptest(VAE_PAGE).run()
    job = train(at, "vae", ntrain="5,000", epochs=1)
    at.session_state["vae-picked"] = {"xy": (1.0, 1.0), "test_index": None, "job": "an-older-job"}
    at.run()
    assert job.state == "done" and not at.exception
    assert not any(i.caption.startswith("decoded at") for i in images(at))


def test_dcgan_page_trains_and_shows_samples_scores_and_interpolation(apptest):
    need_shared("MNIST", "raw")
    at = apptest(GAN_PAGE).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Generator: 234,177 parameters" in text and "Discriminator: 36,577 parameters" in text
    job = train(at, "gan", ntrain="3,200", epochs=1)
    assert job.state == "done" and not at.exception
    assert metric(at, "Classifier score") >= 1.0
    captions = [i.caption for i in images(at)]
    assert "64 fixed noise vectors after epoch 1" in captions
    assert "the same 64 noise vectors after epoch 1" in captions
    assert len(at.get("plotly_chart")) == 4  # quality, losses, D outputs, class histogram
    at.slider(key="gan-epoch").set_value(0).run()
    assert "the same 64 noise vectors after epoch 0" in [i.caption for i in images(at)]
    at.number_input(key="gan-seed-b").set_value(9)
    at.toggle(key="gan-slerp").set_value(False).run()
    assert not at.exception


def test_dcgan_page_fashion_mnist_has_its_own_judge(apptest):
    at = apptest(GAN_PAGE).run()
    at.selectbox(key="gan-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Fashion-MNIST: 60,000 training" in captions
    assert "judge classifier for Fashion-MNIST isn't cached yet" in captions
