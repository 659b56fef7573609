"""AppTest of the pages "Variational autoencoder" and "DCGAN": controls, a short real
training run each, the latent-plane pick, Stop, settings changed mid-run, switching data
after a run, training sizes the data has, and no tracebacks."""
import re

import numpy as np
import pytest

from dlplay import data

from dlplay.generative import gan, vae
from tests.conftest import job_of, need_shared, run_of

VAE_PAGE, GAN_PAGE = "pages/generative/vae.py", "pages/generative/dcgan.py"


@pytest.fixture(autouse=True)
def fresh_data():
    data.clear_cache()


def settings(at, key, **values):
    """Set sidebar controls by key (epochs is a number input, the rest select sliders)."""
    for name, value in values.items():
        widget = at.number_input(key=f"{key}-{name}") if name == "epochs" else \
            at.select_slider(key=f"{key}-{name}")
        widget.set_value(value)


def train(at, key, **values):
    """Set sidebar controls, press Train, wait for the run, rerun the page."""
    settings(at, key, **values)
    at.button(key=f"{key}-train").click().run()
    job = job_of(at, key)
    assert job.wait(240), "training did not finish"
    at.run()
    return job


def stop_after_first_steps(at, key, split="train"):
    """Press Train, wait for the first training metric, press Stop; returns the job."""
    at.button(key=f"{key}-train").click().run()
    job = job_of(at, key)
    assert job.wait_for_events(0, timeout=120, kind="metric")
    while not any(r.get("split") == split for r in job.metrics()):
        assert not job.wait(0.05) or job.state != "failed"
    at.button(key=f"{key}-stop").click().run()
    assert job.wait(60) and job.state == "stopped", job.state
    at.run()
    return job


def images(at):
    return [img for el in at.get("image") for img in el.proto.imgs]


def metric(at, label):
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}"
    return float(re.match(r"[\d.]+", found[0]).group())


def notices(at):
    return [i.value for i in at.info]


def what_to_notice(at):
    return any("**What to notice**" in m.value for m in at.markdown)


# --- VAE ----------------------------------------------------------------------------------------

def test_vae_page_before_training(apptest):
    need_shared("MNIST", "raw")
    at = apptest(VAE_PAGE).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "631,188 trainable parameters" in text  # 784·400+400 + 2·(400·2+2) + 2·400+400 + 400·784+784
    assert any("Press **Train**" in i for i in notices(at)) and what_to_notice(at)
    at.select_slider(key="vae-latent").set_value(8).run()
    assert "ℝ8 × ℝ8" in " ".join(m.value for m in at.markdown)
    assert at.slider(key="vae-beta").value == 1.0


@pytest.mark.slow
def test_vae_page_trains_then_decodes_a_picked_point(apptest):
    at = apptest(VAE_PAGE).run()
    job = train(at, "vae", ntrain=5000, epochs=1)
    assert job.state == "done" and not at.exception
    assert metric(at, "Negative ELBO") < 205.8  # better than a decoder ignoring its code
    assert len(at.get("plotly_chart")) == 2  # reconstruction, KL
    assert len(at.get("vega_lite_chart")) == 1  # the latent scatter (Altair, for image tooltips)
    assert any("Click a point" in i for i in notices(at)) and what_to_notice(at)
    captions = [i.caption for i in images(at)]
    assert any(c.startswith("32 codes drawn from N(0, I)") for c in captions)
    # A click on the chart is stored by its on_select callback; set what it stores.
    index = int(job.result.scatter_idx[5])
    at.session_state["vae-picked"] = {"xy": (0.5, -1.25), "test_index": index, "run": run_of(at, "vae").id}
    at.run()
    captions = [i.caption for i in images(at)]
    label = job.result.classes[int(data.load("mnist").y_test[index])]
    assert "decoded at (0.50, -1.25)" in captions
    assert f"test image #{index}: {label}" in captions
    at.button(key="vae-sample").click().run()
    assert any("(draw #1)" in i.caption for i in images(at)) and not at.exception


@pytest.mark.slow
def test_vae_page_with_a_larger_code_says_it_shows_pca(apptest):
    at = apptest(VAE_PAGE).run()
    at.select_slider(key="vae-latent").set_value(8)
    job = train(at, "vae", ntrain=5000, epochs=1)
    assert job.state == "done" and not at.exception
    assert any("principal components (PCA)" in c.value for c in at.caption)
    assert isinstance(job.result.plane, vae.LatentPlane) and job.result.plane.is_pca


@pytest.mark.slow
def test_vae_pick_from_an_earlier_run_is_ignored(apptest):
    at = apptest(VAE_PAGE).run()
    job = train(at, "vae", ntrain=5000, epochs=1)
    at.session_state["vae-picked"] = {"xy": (1.0, 1.0), "test_index": None, "run": -1}
    at.run()
    assert job.state == "done" and not at.exception
    assert not any(i.caption.startswith("decoded at") for i in images(at))


@pytest.mark.slow
def test_vae_click_a_test_dot_then_switch_dataset_keeps_the_runs_test_image(apptest):
    """Was: IndexError — the clicked MNIST test index (≥ 1,000) looked up in the 1,000
    test images of the bundled sample picked since. Now the run's own image and label."""
    at = apptest(VAE_PAGE).run()
    job = train(at, "vae", ntrain=5000, epochs=1)
    mnist = data.load("mnist")
    index = int(next(i for i in job.result.scatter_idx if i >= 1000))
    at.session_state["vae-picked"] = {"xy": (0.0, 0.0), "test_index": index, "job": job.id,
                                      "run": at.session_state["run:vae"] if "run:vae" in at.session_state else None}
    at.selectbox(key="vae-dataset").set_value("mnist5k").run()
    assert not at.exception
    assert any("Settings changed since run" in i for i in notices(at))
    shown = [i for i in images(at) if i.caption.startswith(f"test image #{index}: ")]
    assert shown and shown[0].caption == f"test image #{index}: {int(mnist.y_test[index])}"
    i = int(np.flatnonzero(job.result.scatter_idx == index)[0])
    assert np.array_equal(job.result.scatter_images[i, 0], (mnist.x_test[index, 0] * 255).round().numpy())


def test_vae_training_sizes_are_ones_the_data_has(apptest):
    """The bundled sample has 4,000 training images: 5,000 and more are not offered."""
    at = apptest(VAE_PAGE).run()
    assert at.select_slider(key="vae-ntrain").options == ["2,000", "5,000", "10,000", "20,000", "all (60,000)"]
    at.selectbox(key="vae-dataset").set_value("mnist5k").run()
    assert not at.exception
    assert at.select_slider(key="vae-ntrain").options == ["2,000", "all (4,000)"]
    assert at.select_slider(key="vae-ntrain").value == 0


def test_vae_stop_keeps_the_model_and_the_page_offers_everything(apptest):
    at = apptest(VAE_PAGE).run()
    at.selectbox(key="vae-dataset").set_value("mnist5k")
    settings(at, "vae", epochs=30, batch=32)
    job = stop_after_first_steps(at, "vae")
    assert not at.exception
    assert any("Stopped at epoch" in i and "of 30" in i for i in notices(at)), notices(at)
    assert metric(at, "Negative ELBO") > 0 and len(at.get("vega_lite_chart")) == 1
    assert any(c.startswith("32 codes drawn") for c in (i.caption for i in images(at)))
    run = run_of(at, "vae")
    assert run.state == "stopped" and run.has_model and "of 30" in run.status
    assert job.result.stopped == run.status and run.headline.endswith("nats negative ELBO")


def test_vae_settings_changed_mid_run_show_the_runs_own_results(apptest):
    """Latent size moved to 8 while a 2-d run trains: the page says the settings changed
    and shows the 2-d run's plane, not a PCA view of a model that doesn't exist."""
    at = apptest(VAE_PAGE).run()
    at.selectbox(key="vae-dataset").set_value("mnist5k")
    settings(at, "vae", epochs=2)
    at.button(key="vae-train").click().run()
    job = job_of(at, "vae")
    at.select_slider(key="vae-latent").set_value(8).run()
    assert any("Settings changed since run" in i for i in notices(at))
    assert job.wait(240) and job.state == "done"
    at.run()
    assert not at.exception
    assert any("Settings changed since run" in i for i in notices(at))
    assert job.result.model.latent_dim == 2
    assert not any("principal components (PCA)" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1


# --- DCGAN --------------------------------------------------------------------------------------

def test_dcgan_page_says_what_to_notice_before_a_run(apptest):
    at = apptest(GAN_PAGE).run()
    assert not at.exception
    assert what_to_notice(at), "was: nothing below Train until a run ended"


@pytest.mark.slow
def test_dcgan_page_trains_and_shows_samples_scores_and_interpolation(apptest):
    need_shared("MNIST", "raw")
    at = apptest(GAN_PAGE).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Generator: 234,177 parameters" in text and "Discriminator: 36,577 parameters" in text
    job = train(at, "gan", ntrain=3200, epochs=1)
    assert job.state == "done" and not at.exception
    assert metric(at, "Classifier score") >= 1.0
    captions = [i.caption for i in images(at)]
    assert "64 fixed noise vectors after epoch 1" in captions
    assert "the same 64 noise vectors after epoch 1" in captions
    assert len(at.get("plotly_chart")) == 4  # quality, losses, D outputs, class histogram
    histogram = at.get("plotly_chart")[-1].proto.spec
    assert '"type":"category"' in histogram.replace(" ", "") and all(f'"{c}"' in histogram for c in "0123456789")
    run = run_of(at, "gan")
    at.slider(key=f"gan-epoch-{run.id}").set_value(0).run()
    assert "the same 64 noise vectors after epoch 0" in [i.caption for i in images(at)]
    at.number_input(key="gan-seed-b").set_value(9)
    at.toggle(key="gan-slerp").set_value(False).run()
    assert not at.exception and what_to_notice(at)
    assert run.headline.startswith("classifier score ")


def test_dcgan_page_fashion_mnist_has_its_own_judge_and_says_what_it_takes(apptest):
    at = apptest(GAN_PAGE).run()
    at.selectbox(key="gan-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Fashion-MNIST: 60,000 training" in captions
    assert "judge classifier for Fashion-MNIST isn't cached yet" in captions
    assert "a minute" not in captions and f"({gan.JUDGE_TRAINING_TIME})" in captions


def test_dcgan_training_sizes_are_ones_the_data_has(apptest, tmp_path, monkeypatch):
    """Without MNIST's files the page falls back to the bundled 4,000 training digits:
    6,400 and more are not offered."""
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    at = apptest(GAN_PAGE).run()
    assert not at.exception and any("not found; using" in w.value for w in at.warning)
    assert at.select_slider(key="gan-ntrain").options == ["3,200", "all (4,000)"]


def test_dcgan_stop_keeps_both_models_and_the_page_offers_everything(apptest):
    at = apptest(GAN_PAGE).run()
    settings(at, "gan", ntrain=3200, epochs=30)
    job = stop_after_first_steps(at, "gan")
    assert not at.exception
    assert any("Stopped at epoch 1 of 30" in i for i in notices(at)), notices(at)
    result = job.result
    assert result.stopped.startswith("stopped at epoch 1 of 30") and 0 < result.scores[-1]["epoch"] < 1
    assert metric(at, "Classifier score") >= 1.0
    captions = [i.caption for i in images(at)]
    assert f"the same 64 noise vectors after epoch {result.scores[-1]['epoch']:g}" in captions
    assert any(s.value == "Latent interpolation" for s in at.subheader)
    run = run_of(at, "gan")
    assert run.state == "stopped" and run.has_model


@pytest.mark.slow
def test_dcgan_settings_changed_mid_run_show_the_runs_own_results(apptest):
    """Epochs moved from 1 to 3 while the run trains: the page says so, and the run's
    figures stay the one-epoch run's (two grids: epochs 0 and 1)."""
    at = apptest(GAN_PAGE).run()
    settings(at, "gan", ntrain=3200, epochs=1)
    at.button(key="gan-train").click().run()
    job = job_of(at, "gan")
    at.number_input(key="gan-epochs").set_value(3).run()
    assert any("Settings changed since run" in i for i in notices(at))
    assert job.wait(240) and job.state == "done"
    at.run()
    assert not at.exception
    assert any("Settings changed since run" in i for i in notices(at))
    run = run_of(at, "gan")
    assert at.slider(key=f"gan-epoch-{run.id}").max == 1 and len(job.result.grids) == 2


# --- reopened after a restart -----------------------------------------------------------------------

def restart_and_reopen(apptest, page, key, run_id):
    """A new session after a server restart (no live job, no cached result) reopens the
    run as the Runs page does."""
    from dlplay import jobs
    from dlplay.runs.record import _results

    jobs._scheduler.shutdown(timeout=30)
    jobs._scheduler = None
    _results.drop(run_id)
    at = apptest(page)
    at.session_state["_dlplay_reopen"] = {"page": key, "run": run_id}
    return at.run()


@pytest.mark.slow
def test_vae_run_reopened_after_a_restart_offers_everything(apptest):
    at = apptest(VAE_PAGE).run()
    at.slider(key="vae-beta").set_value(2.0)
    job = train(at, "vae", ntrain=5000, epochs=1)
    run = run_of(at, "vae")
    live = job.result
    index = int(live.scatter_idx[3])
    label = live.classes[int(live.scatter_y[3])]
    again = restart_and_reopen(apptest, VAE_PAGE, "vae", run.id)
    assert not again.exception
    assert again.slider(key="vae-beta").value == 2.0, "the run's settings come back"
    assert not any("Settings changed" in i for i in notices(again))
    assert metric(again, "Negative ELBO") == float(f"{live.test_elbo:.1f}")
    assert len(again.get("plotly_chart")) == 2 and len(again.get("vega_lite_chart")) == 1  # stored curves too
    again.session_state["vae-picked"] = {"xy": (0.0, 0.0), "test_index": index, "run": run.id}
    again.run()
    assert f"test image #{index}: {label}" in [i.caption for i in images(again)]


@pytest.mark.slow
def test_dcgan_run_reopened_after_a_restart_keeps_its_sample_grids_and_scores(apptest):
    at = apptest(GAN_PAGE).run()
    job = train(at, "gan", ntrain=3200, epochs=1)
    run = run_of(at, "gan")
    live = job.result
    again = restart_and_reopen(apptest, GAN_PAGE, "gan", run.id)
    assert not again.exception
    assert metric(again, "Classifier score") == float(f"{live.scores[-1]['score']:.2f}")
    captions = [i.caption for i in images(again)]
    assert "64 fixed noise vectors after epoch 1" in captions  # the live chart's grid, from the store
    again.slider(key=f"gan-epoch-{run.id}").set_value(0).run()
    shown = [i for i in images(again) if i.caption == "the same 64 noise vectors after epoch 0"]
    assert shown and len(again.get("plotly_chart")) == 4
    assert f"{live.judge_acc:.1%} test accuracy" in " ".join(c.value for c in again.caption)
