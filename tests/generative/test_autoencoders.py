"""dlplay.generative.autoencoders, dlplay.generative.denoise and dlplay.generative.morph on real MNIST: the linear AE
reaches the SVD optimum, depth beats it, denoising beats copying, morphs go from one
class to the other and the GIF holds every frame."""
import io

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.decomposition import PCA as SkPCA

from dlplay import data
from dlplay.generative.autoencoders import (MODELS, PCA, AESpec, loss_figure, one_per_class, reconstruct,
                                 reconstruct_drawing, results_table, train_autoencoders, training_split)
from dlplay.generative.denoise import DenoiseSpec, DenoisingAE, Noise, denoise, psnr, psnr_scores, train_denoisers
from dlplay.jobs import Job
from dlplay.generative.morph import build_morph_model, decoded_centroids, gif_bytes, interpolate, morph

from tests.conftest import need_shared

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def one_thread():
    """Two cores shared with other work: one intra-op thread trains these small models
    several times faster than two threads fighting over them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def mnist():
    need_shared("MNIST", "raw")
    return data.load("mnist")


@pytest.fixture(scope="module")
def trained(mnist, one_thread):
    """The default run (k = 16, 10,000 images, 10 epochs, Adam with cosine decay) as a job."""
    spec = AESpec()
    job = Job(name="autoencoders", session_id="test", fn=lambda j: None)
    return train_autoencoders(spec, job), job


@pytest.fixture(scope="module")
def denoisers(mnist, one_thread):
    return train_denoisers(DenoiseSpec(noise=Noise("gaussian", 0.5)))


# --- SVD and autoencoders ------------------------------------------------------------------------

def test_svd_baseline_matches_scikit_learn_pca(mnist, one_thread):
    x, _ = training_split(mnist, 5_000, 2_000)
    pca = PCA.fit(x, 16)
    flat = x.flatten(1).numpy()
    sk = SkPCA(16, svd_solver="covariance_eigh").fit(flat)  # another algorithm: eigenvectors of the covariance
    assert pca.explained == pytest.approx(sk.explained_variance_ratio_.sum(), rel=1e-3)
    gram = pca.components @ pca.components.T
    assert torch.allclose(gram, torch.eye(16), atol=1e-4)  # orthonormal directions
    ours = pca(x[:200]).flatten(1).numpy()
    theirs = sk.inverse_transform(sk.transform(flat[:200]))
    assert np.abs(ours - theirs).max() < 1e-3


def test_linear_ae_reaches_the_svd_optimum(trained):
    result, _ = trained
    svd, linear = result.test_mse["svd"], result.test_mse["linear"]
    print(f"test MSE: {result.test_mse}")
    assert 0.02 < svd < 0.035  # k = 16 on MNIST
    assert linear <= 1.05 * svd, f"linear AE {linear:.5f} vs SVD {svd:.5f}"
    assert linear >= 0.99 * svd, "no linear map of rank 16 should beat the SVD"


def test_non_linear_autoencoders_beat_the_linear_ones(trained):
    result, _ = trained
    mse = result.test_mse
    assert mse["shallow"] < mse["svd"]
    assert mse["deep"] < 0.8 * mse["linear"], mse
    table = results_table(result)
    assert list(table["model"]) == ["SVD / PCA", "Linear AE", "Shallow non-linear AE", "Deep hourglass AE"]
    assert table["test MSE"].tolist() == [mse[m] for m in MODELS]
    assert table["vs SVD"].iloc[3].startswith("-")


def test_training_job_streams_curves_per_model(trained):
    result, job = trained
    rows = job.metrics()
    assert {r["model"] for r in rows} == set(MODELS)
    for name in MODELS[1:]:
        mine = [r for r in rows if r["model"] == name]
        steps = [r for r in mine if r["split"] == "train"]
        epochs = [r for r in mine if r["split"] == "epoch"]
        assert steps[0]["step"] == 1 and len(epochs) == result.spec.train.epochs
        assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    assert job.latest("test_mse") == result.test_mse
    assert job.progress > 0.95 and job.status.startswith("Deep hourglass AE (4/4)")
    fig = loss_figure(rows)
    assert {t.name for t in fig.data} >= {"SVD / PCA", "Linear AE", "Deep hourglass AE"}


def test_reconstructions_of_test_digits_and_of_a_drawing(trained, mnist):
    result, _ = trained
    idx = one_per_class(mnist.y_test, 10)
    assert mnist.y_test[idx].tolist() == list(range(10))
    recons = reconstruct(result.models, mnist.x_test[idx])
    for r in recons.values():
        assert r.shape == (10, 1, 28, 28) and 0 <= r.min() and r.max() <= 1
    digit = mnist.x_test[idx[3], 0].numpy()
    from_drawing = reconstruct_drawing(result.models, digit)
    err = {m: float(np.mean((r - digit) ** 2)) for m, r in from_drawing.items()}
    assert err["deep"] < err["svd"], err


# --- denoising -------------------------------------------------------------------------------

def test_noise_kinds_corrupt_as_described():
    g = torch.Generator().manual_seed(0)
    grey = torch.full((200, 1, 28, 28), 0.5)
    assert (Noise("gaussian", 0.1)(grey, g) - grey).std() == pytest.approx(0.1, rel=0.02)
    ones = torch.ones(50, 1, 28, 28)
    blanked = (Noise("square", 0.25)(ones, g) == 0).flatten(1).sum(1)
    assert (blanked == 7 * 7).all()
    halves = Noise("half")(ones, g)
    assert ((halves == 0).flatten(1).sum(1) == 28 * 14).all()
    with pytest.raises(ValueError, match="unknown noise"):
        Noise("salt")


def test_denoising_ae_beats_the_plain_one_on_noisy_inputs(denoisers, mnist):
    scores = psnr_scores(denoise(denoisers.models, mnist.x_test[:2000], Noise("gaussian", 0.5)))
    print(f"PSNR at sigma 0.5: {scores}")
    assert scores["denoising"] > scores["plain"] + 1.5, scores
    assert scores["denoising"] > scores["noisy"] + 4.0, scores
    grey = torch.full((10, 1, 28, 28), 0.5)
    assert psnr(grey, grey + 0.1) == pytest.approx(20.0, abs=1e-3)  # 10·log10(1 / 0.1²)


def test_denoising_ae_corrupts_only_while_training(denoisers, mnist):
    model = denoisers.models["denoising"]
    assert isinstance(model, DenoisingAE)
    x = mnist.x_test[:8]
    model.train()
    assert not torch.equal(model(x), model(x))  # a fresh draw of noise each call
    model.eval()
    assert torch.equal(model(x), model(x))


# --- morphing ----------------------------------------------------------------------------------

def test_interpolation_includes_both_ends():
    za, zb = torch.zeros(4), torch.ones(4)
    z = interpolate(za, zb, 5)
    assert z.shape == (5, 4) and torch.equal(z[0], za) and torch.equal(z[-1], zb)
    assert torch.allclose(z[2], torch.full((4,), 0.5))


def test_decoded_centroids_look_like_their_class(trained, mnist):
    mm = build_morph_model(trained[0].models["deep"], mnist, "test")
    pixel_means = torch.stack([mnist.x_test[mnist.y_test == c].mean(0) for c in range(10)]).flatten(1)
    decoded = decoded_centroids(mm).flatten(1)
    nearest = torch.cdist(decoded, pixel_means).argmin(1)
    assert nearest.tolist() == list(range(10))


@pytest.mark.parametrize("a,b,n", [(2, 0, 12), (3, 9, 7)])
def test_morph_goes_from_one_class_to_the_other_and_the_gif_keeps_every_frame(trained, mnist, a, b, n):
    mm = build_morph_model(trained[0].models["deep"], mnist, "test")
    frames = morph(mm, a, b, n)
    assert frames.shape == (n, 1, 28, 28)
    pixel_means = torch.stack([mnist.x_test[mnist.y_test == c].mean(0) for c in range(10)]).flatten(1)
    nearest = torch.cdist(frames.flatten(1), pixel_means).argmin(1)
    assert nearest[0] == a and nearest[-1] == b
    gif = gif_bytes(frames, fps=10)
    assert gif[:6] == b"GIF89a"
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == n and im.info.get("loop") == 0
    decoded = iio.imread(gif, index=None)
    assert decoded.shape[0] == n
    # The first frame, shrunk back, is the decoded centroid of class a.
    first = decoded[0][..., 0] if decoded[0].ndim == 3 else decoded[0]
    first = np.asarray(Image.fromarray(first[:112]).resize((28, 28), Image.BILINEAR)) / 255.0
    assert np.abs(first - frames[0, 0].numpy()).mean() < 0.05
