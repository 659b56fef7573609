"""VAE and DCGAN runs in the store: a short run of each, rebuilt from its stored weights
and figures equals the live result, the spec round-trips, and the exported standalone
script reproduces the numbers the page shows."""
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from dlplay import data, runs

from dlplay.generative import gan, vae
from dlplay.jobs import get_scheduler
from dlplay.runs import export, specs
from dlplay.runs.record import _results


SESSION = "test-runs-generative"


def run_lesson(lesson, spec):
    """Start `lesson` as a stored run on its spec's data; wait; the job and the stored run."""
    run, job = runs.start(lesson, spec, workspace="local", session_id=SESSION,
                          ds=data.load(spec.dataset))
    assert job.wait(240) and job.state == "done", (job.state, job.error)
    return job, runs.get_store().get(run.id)


def rebuilt(run):
    """The result as a restarted server would see it: from the store, not the live job
    (its session released, the cache of rebuilt results dropped)."""
    get_scheduler().release_session(SESSION)
    assert runs.RECORDER.job(run.id) is None
    _results.drop(run.id)
    return runs.result_of(runs.get_store().get(run.id))


def run_script(run, tmp_path, *args):
    for name, content in export.files(run).items():
        (tmp_path / name).write_bytes(content)
    script = tmp_path / f"{export.file_stem(run)}.py"
    done = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def vae_run():
    spec = vae.VAESpec(dataset="mnist5k", hidden=(400,), epochs=1, n_train=0, n_scatter=300)
    return run_lesson(vae.LESSON, spec)


@pytest.fixture(scope="module")
def gan_run():
    spec = gan.GANSpec(dataset="mnist5k", n_train=640, epochs=2, n_score=200)
    return run_lesson(gan.LESSON, spec)


def test_specs_round_trip():
    for spec in (vae.VAESpec(hidden=(512, 256), latent_dim=8, beta=4.0), gan.GANSpec(nz=16, n_train=0)):
        assert specs.from_dict(type(spec), specs.to_dict(spec)) == spec


def test_vae_rebuilt_from_the_store_equals_the_live_result(vae_run):
    job, run = vae_run
    live, stored = job.result, rebuilt(run)
    assert stored is not live
    assert (stored.test_recon, stored.test_kl, stored.rows) == (live.test_recon, live.test_kl, live.rows)
    for name in ("scatter_idx", "scatter_z", "scatter_y", "scatter_images"):
        assert np.array_equal(getattr(stored, name), getattr(live, name)), name
    assert stored.scatter_thumbs == live.scatter_thumbs and stored.classes == live.classes
    assert not stored.model.training
    x = data.load("mnist5k").x_test[:50]
    assert np.allclose(vae.reconstruct(stored.model, x), vae.reconstruct(live.model, x))
    assert np.array_equal(vae.latent_grid(stored.model, stored.plane, 5), vae.latent_grid(live.model, live.plane, 5))
    # Seeded noise: measured again, the same figure (up to float summation order across thread counts).
    assert vae.test(stored.model, data.load("mnist5k").x_test)["recon"] == pytest.approx(live.test_recon, rel=1e-6)
    assert run.headline == f"{live.test_elbo:.1f} nats negative ELBO"


@pytest.mark.slow
def test_vae_script_prints_the_test_figures_the_page_shows(vae_run, tmp_path):
    job, run = vae_run
    result = job.result
    out = run_script(run, tmp_path)
    expected = (f"test reconstruction {result.test_recon:.1f} nats · KL {result.test_kl:.2f} nats · "
                f"negative ELBO {result.test_elbo:.1f} nats per image, on 1,000 images")
    assert expected in out, out


def test_gan_rebuilt_from_the_store_equals_the_live_result(gan_run):
    job, run = gan_run
    live, stored = job.result, rebuilt(run)
    assert stored is not live
    assert stored.scores == live.scores and [s["epoch"] for s in stored.scores] == [0, 1, 2]
    assert all(np.array_equal(a, b) for a, b in zip(stored.grids, live.grids)) and len(stored.grids) == 3
    assert stored.rows == live.rows and stored.rows[0]["step"] == 1
    assert (stored.judge_acc, stored.classes, stored.dataset) == (live.judge_acc, live.classes, live.dataset)
    assert torch.equal(stored.fixed_noise, live.fixed_noise)
    assert not stored.generator.training and not stored.discriminator.training
    assert torch.equal(gan.interpolate(stored.generator, 1, 2, 4), gan.interpolate(live.generator, 1, 2, 4))
    fake = gan.generate(live.generator, live.fixed_noise) * 2 - 1
    assert torch.equal(stored.discriminator(fake), live.discriminator(fake))


def test_gan_script_writes_the_sample_grid_and_prints_judge_free_figures(gan_run, tmp_path):
    job, run = gan_run
    result = job.result
    out = run_script(run, tmp_path, f"{export.file_stem(run)}.safetensors", "grid.png")
    images = gan.generate(result.generator, result.fixed_noise)
    with torch.no_grad():
        verdict = torch.sigmoid(result.discriminator(images * 2 - 1)).mean().item()
    assert f"mean pixel value of the 64 samples: {images.mean().item():.4f}" in out, out
    assert f"discriminator's mean probability of 'real' for them: {verdict:.4f}" in out, out
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == result.grids[-1].shape  # the page's last grid of the 64 fixed noise vectors
    assert np.abs(grid.astype(int) - result.grids[-1]).max() <= 1
    assert re.search(r"measured\s+" + f"{images.mean().item():.4f}", export.script(run))
