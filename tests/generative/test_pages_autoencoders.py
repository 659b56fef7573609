"""AppTest of the pages "Autoencoders vs SVD", "Denoising" and "Latent morphing": they
render, training runs to a result, the morph page reuses the autoencoders page's model
and offers a GIF with the chosen number of frames."""
import io

import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.conftest import job_of, need_shared, run_of

AE, DENOISE, MORPH = "pages/generative/autoencoders.py", "pages/generative/denoising.py", "pages/generative/latent_morphing.py"


@pytest.fixture(autouse=True)
def mnist_present():
    need_shared("MNIST", "raw")


def train(at, key: str, n: int = 2_000, epochs: int = 2):
    """Small settings so a run takes seconds; waits for the job and reruns the page."""
    at.select_slider(key=f"{key}-n").set_value(n)
    at.number_input(key=f"{key}-epochs").set_value(epochs)
    at.button(key=f"{key}-train").click().run()
    job = job_of(at, key)
    assert job.wait(180), "training did not finish"
    at.run()
    return job


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_autoencoders_page_trains_four_models_and_shows_the_table(apptest):
    at = apptest(AE).run()
    assert not at.exception
    plan = at.dataframe[0].value
    assert list(plan["model"]) == ["SVD / PCA", "Linear AE", "Shallow non-linear AE", "Deep hourglass AE"]
    assert "784 → 256 → 64 → 16 → 64 → 256 → 784" in plan["architecture"].iloc[3]
    at.select_slider(key="ae-k").set_value(4).run()
    assert "784 → 4 → 784" in at.dataframe[0].value["architecture"].iloc[1]

    job = train(at, "ae")
    assert job.state == "done" and not at.exception
    models = {r["model"] for r in job.metrics()}
    assert models == {"svd", "linear", "shallow", "deep"}
    table = at.dataframe[1].value
    assert len(table) == 4 and (table["test MSE"] > 0).all()
    assert table["test MSE"].iloc[0] == pytest.approx(job.result.test_mse["svd"])
    assert len(at.get("plotly_chart")) == 1  # the training curves
    assert len(at.image) >= 5  # originals + one row per model
    assert "keep" in texts(at.caption) and "k = 4" in texts(at.caption)


def test_autoencoders_page_explains_a_failed_run(apptest):
    """Adam at lr 0.1 stays finite but wrecks the autoencoders: the page says so and what to do.
    (At lr 10 the linear AE's loss explodes and the run stops with that named: tests/test_diverge.py.)"""
    at = apptest(AE).run()
    at.select_slider(key="ae-lr").set_value(0.1)
    job = train(at, "ae", epochs=1)
    assert job.state == "done" and not at.exception
    assert "svd" not in job.result.failed() and "linear" in job.result.failed()
    assert "Linear AE" in texts(at.warning)
    assert "Lower the learning rate (now 0.1)" in texts(at.warning)


def test_denoising_page_compares_psnr_and_switches_corruption(apptest):
    at = apptest(DENOISE).run()
    assert not at.exception
    assert "Train both models first" in texts(at.info)
    at.slider(key="dn-train-level-gaussian").set_value(0.6)
    job = train(at, "dn", epochs=3)
    assert job.state == "done" and not at.exception
    assert {r["model"] for r in job.metrics()} == {"plain", "denoising"}
    psnr = {m.label: float(m.value.split()[0]) for m in at.metric}
    assert set(psnr) == {"Corrupted input", "Plain AE", "Denoising AE"}
    assert psnr["Denoising AE"] > psnr["Corrupted input"]
    test_noise = f"dn-test-{run_of(at, 'dn').id}"  # the test noise belongs to the run
    assert at.slider(key=f"{test_noise}-level-gaussian").value == pytest.approx(0.6)  # starts at the training noise
    assert len(at.get("plotly_chart")) == 2  # curves and PSNR against level

    at.selectbox(key=f"{test_noise}-kind").set_value("half").run()
    assert not at.exception and len(at.metric) == 3
    assert len(at.get("plotly_chart")) == 1  # no level to vary for a blanked half


def test_morph_page_trains_and_offers_a_gif_with_every_frame(apptest, monkeypatch):
    saved = []
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):
        saved.append((data, mimetype, filename))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = apptest(MORPH).run()
    assert not at.exception and "Train the autoencoder first" in texts(at.info)
    job = train(at, "morph")
    assert job.state == "done" and not at.exception
    at.button_group(key="morph-preset").set_value(1).run()  # 3 → 9
    assert (at.selectbox(key="morph-from").value, at.selectbox(key="morph-to").value) == (3, 9)
    saved.clear()
    at.slider(key="morph-frames").set_value(9).run()
    assert not at.exception
    download = at.get("download_button")[0]
    assert download.label == "Download the GIF"
    gifs = [d for d, mime, name in saved if name == "morph_3_to_9.gif"]
    assert gifs and gifs[-1][:6] == b"GIF89a"
    with Image.open(io.BytesIO(gifs[-1])) as im:
        assert im.n_frames == 9


def test_morph_page_reuses_the_autoencoders_page_model(apptest):
    ae = apptest(AE).run()
    train(ae, "ae", epochs=1)
    run = run_of(ae, "ae").id
    at = apptest(MORPH)
    at.session_state["run:ae"] = run  # same browser session, other page
    at.run()
    assert not at.exception
    assert at.radio(key=f"morph-source-{run}").value == f"The deep AE of run {run} (Autoencoders page)"
    assert f"of run {run}, from the Autoencoders page on MNIST" in texts(at.caption)
    assert at.get("download_button")
