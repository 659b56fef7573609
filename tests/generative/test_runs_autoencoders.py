"""The pages "Autoencoders vs SVD", "Denoising" and "Latent morphing" on runs: a run
reopens as it finished (the SVD's directions included), Stop keeps every model trained
so far, the exported scripts print the page's numbers, and the bugs fixed with the
conversion stay fixed. Everything trains on the bundled 5,000-digit sample, 1 epoch."""
import re
import subprocess
import sys
import time

import pytest
import torch

from dlplay import data, runs
from dlplay.generative.autoencoders import LESSON as AE_LESSON, AESpec, results_table, train_autoencoders
from dlplay.generative.denoise import LESSON as DN_LESSON, DenoiseSpec, Noise
from dlplay.jobs import Cancelled, Job, get_scheduler
from dlplay.generative.morph import LESSON as MORPH_LESSON, MorphSpec
from dlplay.runs import export
from dlplay.runs.record import _results
from dlplay.train import TrainConfig
from tests.conftest import job_of, run_of

AE, DENOISE, MORPH = "pages/generative/autoencoders.py", "pages/generative/denoising.py", "pages/generative/latent_morphing.py"
SMALL = "mnist5k"  # 4,000 training and 1,000 test images


def one_epoch(epochs: int = 1) -> TrainConfig:
    return TrainConfig(lr=3e-3, epochs=epochs, schedule="cosine")


def run_lesson(lesson, spec):
    """Train `spec` as a stored run, as a page's Train does; returns (run, job) once it ended."""
    run, job = runs.start(lesson, spec, workspace="local", session_id="test", ds=data.load(spec.dataset))
    assert job.wait(180), "training did not finish"
    return runs.get_store().get(run.id), job


def reopened(run):
    """The run's result rebuilt from the store, as after a server restart: its live job
    (and its session's) forgotten, the cache dropped."""
    if (job := runs.RECORDER.job(run.id)) is not None:
        get_scheduler().release_session(job.session_id)
    _results.drop(run.id)
    return runs.result_of(runs.get_store().get(run.id))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def run_script(run, tmp_path, *args: str) -> str:
    """Write the run's export files, run its script with the project's Python; its output."""
    for name, content in export.files(run).items():
        (tmp_path / name).write_bytes(content)
    stem = export.file_stem(run)
    out = subprocess.run([sys.executable, f"{stem}.py", *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def stop_when(job, model: str, at=None, key: str = "") -> None:
    """Press Stop (the page's button, given `at` and its `key`) once the job streams its first
    rows for `model`."""
    deadline = time.time() + 120
    while not any(r.get("model") == model and r.get("split") == "train" for r in job.metrics()):
        assert job.is_active and time.time() < deadline, f"{model} never started ({job.state}: {job.status})"
        time.sleep(0.02)
    if at is not None:
        at.button(key=f"{key}-stop").click().run()
    else:
        job.cancel()
    assert job.wait(60)


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# --- Autoencoders vs SVD: the lesson ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ae_run():
    run, job = run_lesson(AE_LESSON, AESpec(dataset=SMALL, k=4, n_train=0, train=one_epoch()))
    return run, job.result


def test_ae_run_reopens_with_the_svd_and_every_model(ae_run):
    run, live = ae_run
    assert run.state == "done" and run.has_model
    stored = runs.get_store().load_model(run.id)
    assert stored["svd.components"].shape == (4, 784) and stored["svd.mean"].shape == (784,)
    back = reopened(run)
    assert back is not live
    assert list(back.models) == ["svd", "linear", "shallow", "deep"]
    for name, model in live.models.items():
        assert same_weights(model, back.models[name]) and not back.models[name].training, name
    assert back.models["svd"].explained == live.models["svd"].explained
    assert back.test_mse == live.test_mse and back.mean_image_mse == live.mean_image_mse
    assert results_table(back).equals(results_table(live))  # the same table, seconds included
    x = data.load(SMALL).x_test[:10]
    assert torch.equal(back.models["deep"](x), live.models["deep"](x))
    assert "test MSE" in run.headline and run.brief == "k = 4 · all images · 1 epoch"


@pytest.mark.slow
def test_ae_script_prints_the_tables_test_mse(ae_run, tmp_path):
    run, live = ae_run
    printed = dict(re.findall(r"^(.+): test MSE ([0-9.]+)$", run_script(run, tmp_path), re.M))
    assert printed == {row["model"]: f"{row['test MSE']:.5f}" for _, row in results_table(live).iterrows()}
    print(printed)


def test_stop_between_models_keeps_those_finished():
    """Stop lands after the linear AE: SVD and linear are kept, the deep AE never started."""
    job = Job(name="ae", session_id="test", fn=lambda j: None)
    spec = AESpec(dataset=SMALL, k=4, n_train=2_000, models=("svd", "linear", "deep"), train=one_epoch())
    artifact = job.artifact

    def measured(name, value):  # after each model's test MSE: Stop right after the linear AE's
        artifact(name, value)
        if "linear" in value:
            job.cancel()

    job.artifact = measured
    result = train_autoencoders(spec, job)
    assert list(result.models) == ["svd", "linear"] and "deep" not in result.test_mse
    assert result.stopped == job.stop_note == "stopped at the start of the Deep hourglass AE: 2 of 3 models trained"
    assert len(results_table(result)) == 2


def test_a_stop_before_any_model_learned_cancels():
    job = Job(name="ae", session_id="test", fn=lambda j: None)
    job.cancel()
    with pytest.raises(Cancelled):  # nothing learned: the run is cancelled, not stopped
        train_autoencoders(AESpec(dataset=SMALL, k=4, n_train=2_000, models=("linear",), train=one_epoch()), job)


# --- Autoencoders vs SVD: the page -----------------------------------------------------------------

def ae_page(apptest, k: int = 4, epochs: int = 1, n=0):
    at = apptest(AE).run()
    at.selectbox(key="ae-dataset").set_value(SMALL).run()
    at.select_slider(key="ae-k").set_value(k)
    at.select_slider(key="ae-n").set_value(n)
    at.number_input(key="ae-epochs").set_value(epochs)
    return at


def test_ae_page_trains_a_run_and_shows_its_table_and_reconstructions(apptest):
    at = ae_page(apptest)
    at.button(key="ae-train").click().run()
    job = job_of(at, "ae")
    assert job.wait(180)
    at.run()
    assert not at.exception and job.state == "done"
    run = run_of(at, "ae")
    assert f"run {run.id}" in texts(at.markdown) and "k = 4" in texts(at.markdown)
    table = at.dataframe[1].value
    assert list(table["model"]) == ["SVD / PCA", "Linear AE", "Shallow non-linear AE", "Deep hourglass AE"]
    assert table["test MSE"].tolist() == [run.summary["test_mse"][m] for m in ("svd", "linear", "shallow", "deep")]
    assert len(at.image) == 5  # originals + one row per model
    assert f"ae-canvas-{run.id}" in str(at._tree)  # the canvas belongs to the run
    before = at.dataframe[1].value
    reopened(run)  # as after a restart: the page reads the run from the store
    at.run()
    assert not at.exception and job_of(at, "ae") is None
    assert at.dataframe[1].value.equals(before) and len(at.image) == 5
    assert "SVD's 4 directions keep" in texts(at.caption)


@pytest.mark.slow
def test_ae_page_stop_keeps_the_models_trained_so_far(apptest):
    """Stopped during the shallow AE: SVD and linear AE finished, the shallow AE kept as of
    its last step, the deep AE absent; the page shows all that without error."""
    at = ae_page(apptest, epochs=50)
    at.button(key="ae-train").click().run()
    job = job_of(at, "ae")
    stop_when(job, "shallow", at, "ae")
    at.run()
    assert not at.exception and job.state == "stopped"
    run = run_of(at, "ae")
    assert run.state == "stopped" and run.has_model
    assert re.fullmatch(r"stopped at epoch \d+ of 50 \(step \d+\) of the Shallow non-linear AE, model 3 of 4",
                        run.status), run.status
    assert any(i.value.startswith(f"S{run.status[1:]}") for i in at.info), texts(at.info)
    table = at.dataframe[1].value
    assert list(table["model"]) == ["SVD / PCA", "Linear AE", "Shallow non-linear AE"]
    assert "not reached: Deep hourglass AE" in texts(at.caption)
    assert len(at.image) == 4  # originals + three models
    assert not any("Train the models first" in i.value for i in at.info), "drawing works on the stopped run"
    back = reopened(run)
    assert list(back.models) == ["svd", "linear", "shallow"] and back.stopped == run.status
    assert same_weights(back.models["shallow"], job.result.models["shallow"])


def test_ae_settings_changed_after_a_run_keep_the_runs_data_and_say_so(apptest):
    """Train at k = 4 on the 5k sample, then pick k = 8 and MNIST: the table, the caption and
    the originals stay the run's, and the page says the settings changed."""
    at = ae_page(apptest)
    at.button(key="ae-train").click().run()
    assert job_of(at, "ae").wait(180)
    at.run()
    run = run_of(at, "ae")
    before = at.dataframe[1].value
    at.select_slider(key="ae-k").set_value(8).run()
    at.selectbox(key="ae-dataset").set_value("mnist").run()
    assert not at.exception
    assert any(f"Settings changed since run {run.id}" in i.value for i in at.info), texts(at.info)
    assert "784 → 8 → 784" in at.dataframe[0].value["architecture"].iloc[1]  # the plan follows the widgets
    assert at.dataframe[1].value.equals(before)  # the results stay the run's
    assert "MNIST 5k sample (bundled), k = 4" in texts(at.caption)
    assert f"MNIST 5k sample (bundled), the data of run {run.id}" in texts(at.markdown)
    assert len(at.image) == 5


@pytest.mark.parametrize("page,key", [(AE, "ae"), (DENOISE, "dn"), (MORPH, "morph")])
def test_training_size_sliders_offer_only_sizes_the_data_has(apptest, page, key):
    at = apptest(page).run()
    at.selectbox(key=f"{key}-dataset").set_value(SMALL).run()
    assert not at.exception
    assert at.select_slider(key=f"{key}-n").options == ["2,000", "all (4,000)"]
    at.selectbox(key=f"{key}-dataset").set_value("mnist").run()
    assert "20,000" in at.select_slider(key=f"{key}-n").options


# --- Denoising ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dn_run():
    run, job = run_lesson(DN_LESSON, DenoiseSpec(dataset=SMALL, k=8, noise=Noise("gaussian", 0.5), n_train=0,
                                                 train=one_epoch()))
    return run, job.result


def test_dn_run_reopens_with_both_models_and_their_psnr(dn_run):
    run, live = dn_run
    assert run.state == "done"
    back = reopened(run)
    assert back is not live and back.spec == live.spec and back.spec.noise == Noise("gaussian", 0.5)
    for name in ("plain", "denoising"):
        assert same_weights(live.models[name], back.models[name]) and not back.models[name].training
    assert back.scores == live.scores and back.n_eval == live.n_eval == 1_000  # the sample has 1,000
    assert back.scores["denoising"] > back.scores["noisy"]
    assert run.headline.startswith(f"{live.scores['denoising']:.1f} dB PSNR · Denoising AE")


@pytest.mark.slow
def test_dn_script_prints_psnr_of_both_models_at_the_trained_noise(dn_run, tmp_path):
    run, live = dn_run
    out = run_script(run, tmp_path)
    printed = dict(re.findall(r"^(.+): PSNR ([0-9.]+) dB$", out, re.M))
    expected = {"corrupted input": live.scores["noisy"], "Plain AE": live.scores["plain"],
                "Denoising AE": live.scores["denoising"]}
    assert printed == {name: f"{v:.2f}" for name, v in expected.items()}, out
    assert "on 1,000 test images with Gaussian noise, σ = 0.5" in out


def dn_page(apptest, epochs: int = 1):
    at = apptest(DENOISE).run()
    at.selectbox(key="dn-dataset").set_value(SMALL).run()
    at.select_slider(key="dn-k").set_value(8)
    at.select_slider(key="dn-n").set_value(0)
    at.number_input(key="dn-epochs").set_value(epochs)
    return at


def test_dn_page_says_how_many_test_images_its_psnr_is_over(apptest):
    """The bundled sample has 1,000 test images: the page said "2,000"."""
    at = dn_page(apptest)
    at.button(key="dn-train").click().run()
    assert job_of(at, "dn").wait(180)
    at.run()
    assert not at.exception
    captions = texts(at.caption)
    assert "PSNR over 1,000 test images" in captions and "2,000" not in captions
    assert "PSNR on 1,000 test images" in str(at.get("plotly_chart")[-1].proto.spec)
    psnr = {m.label: m.value for m in at.metric}
    scores = run_of(at, "dn").summary["psnr"]  # at the trained noise, the page's default test noise
    assert psnr == {"Corrupted input": f"{scores['noisy']:.1f} dB", "Plain AE": f"{scores['plain']:.1f} dB",
                    "Denoising AE": f"{scores['denoising']:.1f} dB"}


def test_dn_page_stop_during_the_plain_ae_keeps_it_and_shows_it_alone(apptest):
    at = dn_page(apptest, epochs=50)
    at.button(key="dn-train").click().run()
    job = job_of(at, "dn")
    stop_when(job, "plain", at, "dn")
    at.run()
    assert not at.exception and job.state == "stopped"
    run = run_of(at, "dn")
    assert re.fullmatch(r"stopped at epoch \d+ of 50 \(step \d+\) of the Plain AE, model 1 of 2", run.status)
    assert any(i.value.startswith(f"S{run.status[1:]}") for i in at.info), texts(at.info)
    assert [m.label for m in at.metric] == ["Corrupted input", "Plain AE"]
    assert "Denoising AE: not trained" in texts(at.caption)
    assert len(at.image) == 3  # clean, corrupted, plain AE
    assert len(at.get("plotly_chart")) == 2  # the curves and PSNR against level, without the absent model
    assert list(reopened(run).models) == ["plain"]


# --- Latent morphing ------------------------------------------------------------------------------

@pytest.mark.slow
def test_morph_run_reopens_and_its_script_prints_the_mse_and_writes_a_gif(tmp_path):
    run, job = run_lesson(MORPH_LESSON, MorphSpec(dataset=SMALL, k=4, n_train=0, epochs=1))
    live = job.result
    back = reopened(run)
    assert same_weights(live.model, back.model) and torch.equal(live.centroids, back.centroids)
    assert back.test_mse == live.test_mse and back.classes == live.classes and back.dataset == SMALL
    out = run_script(run, tmp_path, f"{export.file_stem(run)}.safetensors", export.data_location(run), "morph.gif",
                     "3", "9")
    assert re.search(rf"^Deep hourglass AE: test MSE {live.test_mse:.5f} on 1,000 test images", out, re.M), out
    from PIL import Image

    with Image.open(tmp_path / "morph.gif") as gif:
        assert gif.n_frames == 16


def test_morph_page_reuses_the_ae_pages_run_and_names_it(apptest):
    ae = ae_page(apptest)
    ae.button(key="ae-train").click().run()
    assert job_of(ae, "ae").wait(180)
    run = run_of(ae, "ae").id
    at = apptest(MORPH)
    at.session_state["run:ae"] = run  # same browser session, other page
    at.run()
    assert not at.exception
    assert at.radio(key=f"morph-source-{run}").value == f"The deep AE of run {run} (Autoencoders page)"
    assert f"Using the deep AE (k = 4) of run {run}, from the Autoencoders page" in texts(at.caption)
    assert at.get("download_button")


def test_morph_page_cannot_reuse_a_stopped_ae_run_without_its_deep_ae(apptest):
    ae = ae_page(apptest, epochs=50)
    ae.button(key="ae-train").click().run()
    stop_when(job_of(ae, "ae"), "linear")
    at = apptest(MORPH)
    at.session_state["run:ae"] = run_of(ae, "ae").id
    at.run()
    assert not at.exception and not at.radio
    assert "Train on the Autoencoders page first" in texts(at.caption)


def test_morph_page_stop_keeps_the_ae_and_morphs_with_it(apptest):
    at = apptest(MORPH).run()
    at.selectbox(key="morph-dataset").set_value(SMALL).run()
    at.select_slider(key="morph-n").set_value(0)
    at.number_input(key="morph-epochs").set_value(50)
    at.button(key="morph-train").click().run()
    job = job_of(at, "morph")
    stop_when(job, "deep", at, "morph")
    at.run()
    assert not at.exception and job.state == "stopped"
    run = run_of(at, "morph")
    assert re.fullmatch(r"stopped at epoch \d+ of 50 \(step \d+\) of the Deep hourglass AE", run.status)
    assert f"of run {run.id}, trained on this page" in texts(at.caption)
    assert f"it was {run.status}" in texts(at.caption)
    assert at.get("download_button") and reopened(run).stopped == run.status
