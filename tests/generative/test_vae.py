"""The VAE: loss terms against their definitions, the sampling layer, a real training
run on MNIST reaching a justified negative ELBO, and the latent-space tools."""
import base64
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from PIL import Image
from torch.distributions import Normal, kl_divergence

from dlplay import data

from dlplay.generative import vae
from dlplay.jobs import Cancelled, Job
from tests.conftest import need_shared

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

# Pixel-wise BCE of every MNIST test image against the mean training image, summed over
# the 784 pixels (205.8 nats measured): what a decoder that ignores its code can reach.
MEAN_IMAGE_BCE = 205.8


@pytest.fixture(scope="module")
def trained():
    """A 2-d VAE shaped like pytorch/examples (784-400-z-400-784) on 10,000 MNIST
    images for 3 epochs, reported to a job like the page does."""
    need_shared("MNIST", "raw")
    job = Job("vae", "test", fn=None)
    spec = vae.VAESpec(dataset="mnist", latent_dim=2, hidden=(400,), epochs=3, n_train=10000, lr=3e-3)
    return vae.train_vae(spec, job), job


def test_loss_terms_match_their_definitions():
    torch.manual_seed(0)
    x = torch.rand(5, 1, 28, 28)
    logits, mu, logvar = torch.randn(5, 1, 28, 28), torch.randn(5, 3), torch.randn(5, 3)
    recon, kl = vae.vae_loss(x, logits, mu, logvar)
    expected_recon = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 5
    expected_kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum() / 5
    assert recon.item() == pytest.approx(expected_recon.item(), rel=1e-5)
    assert kl.item() == pytest.approx(expected_kl.item(), rel=1e-5)
    _, kl_prior = vae.vae_loss(x, logits, torch.zeros(5, 3), torch.zeros(5, 3))
    assert kl_prior.item() == pytest.approx(0.0, abs=1e-6)  # codes equal to the prior cost nothing


def test_sampling_layer_draws_from_the_posterior_and_passes_gradients():
    mu = torch.tensor([[1.5, -2.0]]).repeat(200_000, 1).requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).repeat(200_000, 1).requires_grad_()
    torch.manual_seed(0)
    z = vae.Sampling()(mu, logvar)
    assert z.mean(0).tolist() == pytest.approx([1.5, -2.0], abs=0.02)
    assert z.std(0).tolist() == pytest.approx([0.5, 2.0], rel=0.01)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))  # dz/dμ = 1
    assert logvar.grad.abs().sum() > 0  # dz/dlogσ² = ½σε: the reparameterisation lets it through


def test_negative_elbo_on_mnist_drops_below_a_justified_threshold(trained):
    """Threshold 185 nats per test image (BCE summed over pixels + KL).

    References: pytorch/examples vae (same 784-400-z-400-784 MLP, Adam) reports a test
    loss of about 105 with a 20-d code after 10 epochs on all 60,000 images. A 2-d code
    holds far less — Kingma & Welling (2014, fig. 2) show the 2-d bound well above the
    larger ones, and 2-d MNIST VAEs settle around 145–155 after long training. A decoder
    that ignores its code reaches 205.8 (the mean-image BCE). Here the model sees 10,000
    images for 3 epochs; measured 170.4 (recon 165.5 + KL 4.9). 185 is 21 nats better
    than ignoring the code and leaves a 15-nat margin for run-to-run variation.
    """
    result, job = trained
    assert result.test_elbo < 185.0, f"test negative ELBO {result.test_elbo:.1f}"
    assert result.test_elbo < MEAN_IMAGE_BCE - 20
    assert result.test_kl > 2.0, "KL near 0 means the code is ignored (posterior collapse)"
    val = [r["val_elbo"] for r in result.rows]
    assert val == sorted(val, reverse=True) and val[0] - val[-1] > 5, val


def test_training_streams_reconstruction_and_kl_separately(trained):
    _, job = trained
    rows = job.metrics()
    steps = [r for r in rows if r["split"] == "train"]
    epochs = [r for r in rows if r["split"] == "epoch"]
    assert steps[0]["step"] == 1 and len(epochs) == 3
    assert {"recon", "kl", "loss", "elbo", "epoch"} <= set(steps[0])
    assert {"train_recon", "train_kl", "val_recon", "val_kl"} <= set(epochs[0])
    # The code gets used as training goes on: reconstruction falls, KL rises from ~0.
    assert steps[-1]["recon"] < steps[0]["recon"] - 100
    assert steps[0]["kl"] < 1.0 < epochs[-1]["train_kl"]


def test_latent_means_cluster_by_class(trained):
    """Nobody told the VAE the labels, yet neighbours in its 2-d plane mostly share a
    class: 10-nearest-neighbour accuracy measured 0.48 (chance: 0.10)."""
    result, _ = trained
    acc = cross_val_score(KNeighborsClassifier(10), result.scatter_z, result.scatter_y, cv=5).mean()
    assert acc > 0.3, acc


def test_reconstructions_resemble_their_own_image(trained):
    """Through a 2-d bottleneck reconstructions are blurry, but each is still closer to
    its own image than to another one (measured: 85% of test images) and closer on
    average than the mean training image is (MSE 0.048 against 0.064)."""
    result, _ = trained
    ds = data.load("mnist")
    x = ds.x_test[:300]
    rec = torch.from_numpy(vae.reconstruct(result.model, x))
    own = ((rec - x) ** 2).mean((1, 2, 3))
    other = ((rec - x.roll(1, 0)) ** 2).mean((1, 2, 3))
    mean_image = ((ds.x_train.mean(0, keepdim=True) - x) ** 2).mean()
    assert rec.shape == x.shape
    assert (own < other).float().mean() > 0.75
    assert own.mean() < 0.9 * mean_image, (own.mean(), mean_image)


def test_latent_grid_samples_and_single_images(trained):
    result, _ = trained
    grid = vae.latent_grid(result.model, result.plane, 7)
    assert grid.shape == (49, 1, 28, 28) and 0 <= grid.min() and grid.max() <= 1
    corners = grid[[0, 6, 42, 48]]
    assert min(((a - b) ** 2).mean() for i, a in enumerate(corners) for b in corners[i + 1:]) > 0.005
    s1, s2 = vae.sample(result.model, 16, seed=1), vae.sample(result.model, 16, seed=2)
    assert np.array_equal(s1, vae.sample(result.model, 16, seed=1)) and not np.allclose(s1, s2)
    one = vae.encode_means(result.model, data.load("mnist").x_test[0, 0].numpy())  # a bare 28×28 image
    assert one.shape == (1, 2)


def test_quantile_axis_is_gaussian():
    u = vae.quantile_axis(5)
    assert u[2] == pytest.approx(0.0, abs=1e-12) and u[0] == pytest.approx(-1.6449, abs=1e-4)
    assert np.allclose(u, -u[::-1])


def test_latent_plane_is_identity_in_2d_and_pca_above():
    z2 = np.random.default_rng(0).normal(size=(100, 2))
    plane = vae.LatentPlane.fit(z2)
    assert not plane.is_pca and np.allclose(plane.to_plane(z2), z2) and np.allclose(plane.from_plane(z2), z2)
    rng = np.random.default_rng(1)
    # 6-d codes that vary mostly along two directions: PCA should find that plane.
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T
    z6 = rng.normal(size=(500, 2)) * [3.0, 2.0] @ basis + 0.01 * rng.normal(size=(500, 6)) + 0.5
    plane = vae.LatentPlane.fit(z6)
    assert plane.is_pca and sum(plane.explained) > 0.99
    assert np.allclose(plane.from_plane(plane.to_plane(z6)), z6, atol=0.05)
    assert "PC 1" in plane.axis_titles[0]


def test_scatter_has_classes_hover_thumbnails_a_clickable_grid_and_markers(trained):
    result, _ = trained
    spec = vae.latent_scatter(result, picked=(0.5, -1.0), drawn=(1.0, 1.0), grid_n=21).to_dict()
    grid, dots, picked, drawn = spec["layer"]
    datasets = spec["datasets"]
    assert len(datasets[grid["data"]["name"]]) == 21 * 21 and grid["mark"]["opacity"] == 0
    rows = datasets[dots["data"]["name"]]
    assert len(rows) == len(result.scatter_idx)
    assert sorted({r["class"] for r in rows}) == sorted(result.classes)
    # Vega's tooltip draws a field named "image" as a picture: each dot carries its digit.
    assert "image" in [t["field"] for t in dots["encoding"]["tooltip"]]
    assert rows[0]["image"] == result.scatter_thumbs[0] and rows[0]["test_index"] == result.scatter_idx[0]
    params = {p["name"]: p["select"] for p in spec["params"]}
    assert params[vae.PICK_GRID]["nearest"] and params[vae.PICK_GRID]["fields"] == ["x", "y"]
    assert params[vae.PICK_DOT]["fields"] == ["x", "y", "test_index"]
    assert [datasets[m["data"]["name"]][0]["marker"] for m in (picked, drawn)] == ["picked", "your drawing"]


def test_thumbnails_are_the_test_images_as_small_pngs(trained):
    result, _ = trained
    ds = data.load("mnist")
    urls = result.scatter_thumbs
    assert len(urls) == len(result.scatter_idx) == 2000
    i = 3
    png = base64.b64decode(urls[i].removeprefix("data:image/png;base64,"))
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    assert pixels.shape == (56, 56)  # 28×28 at twice the size
    expected = np.round(ds.x_test[result.scatter_idx[i], 0].numpy() * 255)
    assert np.array_equal(pixels[::2, ::2], expected.astype(np.uint8))
    assert sum(map(len, urls)) / len(urls) < 1000  # ~2,000 of them travel with the chart


def test_picked_point_reads_an_altair_selection():
    assert vae.picked_point({vae.PICK_GRID: [], vae.PICK_DOT: []}) is None
    assert vae.picked_point({}) is None
    grid = {vae.PICK_GRID: [{"x": 0.25, "y": -1.5}], vae.PICK_DOT: []}
    assert vae.picked_point(grid) == {"xy": (0.25, -1.5), "test_index": None}
    dot = {vae.PICK_GRID: [{"x": 0.9, "y": 2.0}], vae.PICK_DOT: [{"x": 1.0, "y": 2.0, "test_index": 42}]}
    assert vae.picked_point(dot) == {"xy": (1.0, 2.0), "test_index": 42}


def test_a_larger_beta_buys_a_smaller_kl():
    """β weighs the KL term: at β = 8 the codes stay closer to the prior than at β = 1
    (measured on this small run: KL 0.73 against 4.94 nats)."""
    need_shared("MNIST", "raw")
    kls = {}
    for beta in (1.0, 8.0):
        spec = vae.VAESpec(hidden=(400,), beta=beta, epochs=2, n_train=3000, n_val=500, lr=3e-3, n_scatter=100)
        kls[beta] = vae.train_vae(spec).test_kl
    assert kls[8.0] < 0.7 * kls[1.0], kls


def test_stop_cancels_training():
    need_shared("MNIST", "raw")
    job = Job("vae", "test", fn=None)
    job.cancel()
    with pytest.raises(Cancelled):
        vae.train_vae(vae.VAESpec(n_train=1000, epochs=1), job)
