"""DCGAN on 28×28 images, shaped like pytorch/examples dcgan/main.py: a generator and
a discriminator built from (transposed) convolutions with batch norm, trained against
each other with Adam(lr 2e-4, β₁ 0.5); the loop is visible in `train_step()`.

How good are the samples? A "judge" — the MLP classifier from `dlplay.classify`,
trained once per dataset (and source of its images) and cached — labels 1,000
generated images. Good samples are classified confidently (mean top-class
confidence) and spread over all classes (class coverage); the classifier score
exp(E[KL(p(y|x) ‖ p(y))]) combines both, like the Inception Score with an MNIST
classifier, and runs from 1 (one class or pure doubt) to the number of classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, places
from ..classify import ClassifierSpec, train_classifier
from ..jobs import Cancelled, Job, Part
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..train import (LossWatch, Loop, Optimizers, Step, TrainConfig, index_batches, load_checkpoint,
                    save_checkpoint, seed_everything)
from ..viz import montage, tile_grid, to_uint8


# --- models -------------------------------------------------------------------------------------

class Generator(nn.Module):
    """z → 7×7 feature maps → 14×14 → 28×28 image in [-1, 1]."""

    def __init__(self, nz: int = 64, width: int = 32, channels: int = 1):
        super().__init__()
        self.nz, self.channels = nz, channels
        self.project = nn.Sequential(nn.Linear(nz, 2 * width * 7 * 7, bias=False),
                                     nn.Unflatten(1, (2 * width, 7, 7)), nn.BatchNorm2d(2 * width), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z))


class Discriminator(nn.Module):
    """28×28 image → 14×14 → 7×7 feature maps → one logit: "real" when positive."""

    def __init__(self, width: int = 32, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def init_weights(m: nn.Module) -> None:
    """N(0, 0.02) for conv weights and N(1, 0.02) for batch-norm scales, as in the DCGAN paper."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# --- the judge: a cached classifier -------------------------------------------------------------

def judge_spec(dataset: str) -> ClassifierSpec:
    return ClassifierSpec(dataset=dataset, hidden=(256, 128), train=TrainConfig(epochs=2, batch_size=256, seed=0))


# What training the judge takes (2 epochs on 55,000 images), measured on two CPU cores: 1.6–1.9 s
# for MNIST or Fashion-MNIST when nothing else runs, 16–18 s while other training shares the cores.
JUDGE_TRAINING_TIME = "2 to 20 seconds on two CPU cores, depending on what else runs"


def judge_path(ds: data.ImageData) -> Path:
    """One judge per dataset, source kind and size: a judge trained on the bundled 5,000
    digits (87% accurate) must not be reused once the full MNIST (97%) is there."""
    return data.cache_dir() / "models" / f"judge-mlp-{ds.name}-{ds.source.kind}-{len(ds.x_train)}.safetensors"


def _never_kept(note: str) -> None:
    raise Cancelled()  # a half-trained judge is never kept: Stop now cancels the GAN's run


def load_judge(dataset: str, job: Job | None = None) -> tuple[nn.Module, float]:
    """The judge classifier for `dataset` (as `data.load` gives it now) and its test
    accuracy: from the cache, or trained now (seconds) and cached for next time."""
    ds = data.load(dataset)
    spec, path = judge_spec(dataset), judge_path(ds)
    with places.making(path):  # sessions (or processes) asking at once: one trains it, the others read it
        return _cached_or_trained_judge(dataset, ds, spec, path, job)


def _cached_or_trained_judge(dataset: str, ds, spec, path, job: Job | None) -> tuple[nn.Module, float]:
    if path.is_file():
        model = spec.build(ds)
        try:
            meta = load_checkpoint(model, path)
            return model.eval(), float(meta.get("test_acc", "nan"))
        except (RuntimeError, OSError, ValueError) as exc:  # corrupt or from another architecture
            if job:
                job.log(f"cached judge unusable ({exc}); training a new one")
    if job:
        job.log(f"training the judge classifier for {dataset}; cached at {path}")
    # Stop is honoured and progress shown in the GAN's job; the judge's rows stay out of the GAN's curves.
    judging = Part(job, "training the judge classifier (once per dataset)", share=0.0, rows=False,
                   stop=_never_kept) if job else None
    result = train_classifier(spec, judging)
    save_checkpoint(result.model, path, {"dataset": dataset, "source": ds.source.describe(full=True),
                                         "n_train": len(ds.x_train), "test_acc": result.test_acc,
                                         "hidden": spec.hidden})
    return result.model.eval(), result.test_acc


# --- sample quality -----------------------------------------------------------------------------

@torch.no_grad()
def generate(generator: Generator, z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (the judge's and the page's scale) for latent points z."""
    generator.eval()
    device = next(generator.parameters()).device
    return (generator(z.to(device)).cpu() + 1) / 2


@torch.no_grad()
def quality(images: torch.Tensor, judge: nn.Module, n_classes: int, min_share: float = 0.02) -> dict:
    """Mean top-class confidence, class coverage (share of classes that receive at least
    `min_share` of the samples, i.e. a fifth of a fair share for 10 classes) and the
    classifier score exp(E[KL(p(y|x) ‖ p(y))])."""
    judge.eval()
    probs = F.softmax(judge(images), 1)
    counts = torch.bincount(probs.argmax(1), minlength=n_classes).float()
    p_y = probs.mean(0, keepdim=True)
    kl = (probs * (torch.log(probs + 1e-12) - torch.log(p_y + 1e-12))).sum(1).mean()
    return {"confidence": probs.max(1).values.mean().item(),
            "coverage": (counts / len(images) >= min_share).float().mean().item(),
            "score": math.exp(kl.item()),
            "class_counts": counts.int().tolist()}


# --- training ------------------------------------------------------------------------------------

@dataclass
class GANSpec:
    dataset: str = "mnist"
    n_train: int = 10000  # training images used; 0 = all
    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5  # Adam's momentum; 0.5 (not 0.9) keeps the two-player game stable
    nz: int = 64
    width: int = 32
    n_score: int = 1000
    seed: int = 0
    log_every: int = 10

    def build(self, channels: int = 1) -> tuple[Generator, Discriminator]:
        torch.manual_seed(self.seed)
        g, d = Generator(self.nz, self.width, channels), Discriminator(self.width, channels)
        g.apply(init_weights)
        d.apply(init_weights)
        return g, d


@dataclass
class GANResult:
    generator: Generator
    discriminator: Discriminator
    rows: list[dict]
    scores: list[dict]  # per epoch, epoch 0 = before training
    grids: list[np.ndarray]  # the fixed-noise sample grid per epoch, epoch 0 = before training
    fixed_noise: torch.Tensor
    classes: list[str]
    dataset: str
    judge_acc: float
    stopped: str = ""  # "stopped at epoch 3 of 5 (step 250)" when Stop was pressed


def train_step(g: Generator, d: Discriminator, opt_g, opt_d, real: torch.Tensor) -> Step:
    """One round of the game: D learns to tell real from fake, then G learns to fool D (both
    players step here: the loop watches their summed loss)."""
    ones, zeros = torch.ones(len(real), device=real.device), torch.zeros(len(real), device=real.device)
    fake = g(torch.randn(len(real), g.nz, device=real.device))
    # Discriminator: push D(x) up for real images and D(G(z)) down for fakes.
    d_real, d_fake = d(real), d(fake.detach())
    loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # Generator: the non-saturating loss −log D(G(z)) gives strong gradients early on.
    loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    row = {"d_loss": loss_d.detach(), "g_loss": loss_g.detach(),
           "d_x": torch.sigmoid(d_real).mean().detach(), "d_g_z": torch.sigmoid(d_fake).mean().detach()}
    return Step(row["d_loss"] + row["g_loss"], len(real), row=row, stepped=True)


def train_gan(spec: GANSpec, job: Job | None = None) -> GANResult:
    ds = data.load(spec.dataset)
    judge, judge_acc = load_judge(spec.dataset, job)
    gen = seed_everything(spec.seed)
    x = ds.x_train
    if spec.n_train and spec.n_train < len(x):
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(spec.seed))[:spec.n_train]]
    x = x * 2 - 1  # the generator's tanh works in [-1, 1]
    g, d = spec.build(ds.image_shape[0])
    opt_g = torch.optim.Adam(g.parameters(), lr=spec.lr, betas=(spec.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=spec.lr, betas=(spec.beta1, 0.999))
    cfg = TrainConfig(lr=spec.lr, batch_size=spec.batch_size, epochs=spec.epochs, seed=spec.seed,
                      log_every=spec.log_every)
    steps_per_epoch = math.ceil(len(x) / spec.batch_size)
    # The two losses see-saw by design (up to 3.4× their first sum at default settings):
    # only NaN or a loss far beyond anything a working game produces stops the run.
    loop = Loop(_Round(g, d), cfg, job, steps_per_epoch=steps_per_epoch, optimizers=Optimizers([opt_g, opt_d]),
                watch=LossWatch(spec.lr, factor=100.0, patience=10))
    fixed = torch.randn(64, spec.nz, generator=torch.Generator().manual_seed(spec.seed + 1))
    score_z = torch.randn(spec.n_score, spec.nz, generator=torch.Generator().manual_seed(spec.seed + 2))
    if job:
        job.log(f"{ds.summary()}")
        job.log(f"training on {len(x):,} images; judge classifier test accuracy {judge_acc:.1%}")
    scores, grids = [], []

    def scored(epoch: float) -> dict:
        s = {"epoch": epoch, **quality(generate(g, score_z), judge, ds.n_classes)}
        scores.append(s)
        grids.append(montage(generate(g, fixed), ncols=8))
        if job:
            job.artifact("samples", {"epoch": epoch, "image": grids[-1]})
            job.artifact("class_counts", s["class_counts"])
        g.train()
        # An "epoch" row: the Runs page overlays the score of several runs per epoch.
        return {k: v for k, v in s.items() if k not in ("class_counts", "epoch")}

    def scored_between(epoch: float, step: int) -> None:
        """A score outside the loop's epochs (before the first, after Stop), streamed as an epoch row."""
        row = scored(epoch)
        if job:
            job.metric(step=step, split="epoch", epoch=epoch, **row)

    scored_between(0, 0)

    def batches(epoch: int):
        return (x[idx] for idx in index_batches(len(x), spec.batch_size, gen) if len(idx) >= 2)  # batch norm needs two

    history = loop.run(batches, lambda real: train_step(g, d, opt_g, opt_d, loop.batch(real)),
                       on_epoch=lambda epoch, row: row.update(scored(epoch)))
    done = round(loop.step / steps_per_epoch, 2)  # epochs trained, e.g. 2.4
    if history.stopped and done > scores[-1]["epoch"]:  # Stop: both models kept, their samples scored as they are
        scored_between(done, loop.step)
    rows = [{"split": "train", **{k: r[k] for k in ROW_KEYS}} for r in history.steps]  # what the store keeps
    return GANResult(g.cpu().eval(), d.cpu().eval(), rows, scores, grids, fixed, ds.classes, ds.name,
                     judge_acc, history.stopped)


# --- latent interpolation -------------------------------------------------------------------------

def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: stays at the typical radius of a Gaussian, where a
    straight line through the middle would pass through unusually short vectors."""
    omega = torch.acos(torch.clamp(F.cosine_similarity(a, b, dim=-1), -1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(generator: Generator, seed_a: int, seed_b: int, steps: int = 10,
                spherical: bool = True) -> torch.Tensor:
    """Images along a path between the latent points drawn with two seeds."""
    a = torch.randn(generator.nz, generator=torch.Generator().manual_seed(seed_a))
    b = torch.randn(generator.nz, generator=torch.Generator().manual_seed(seed_b))
    ts = torch.linspace(0, 1, steps)
    z = torch.stack([slerp(a, b, float(t)) if spherical else (1 - t) * a + t * b for t in ts])
    return generate(generator, z)


# --- figures --------------------------------------------------------------------------------------

def _steps_figure(rows: list[dict], series: dict[str, tuple[str, str]], title: str, y_title: str) -> go.Figure:
    steps = [r for r in rows if r.get("split") == "train"]
    fig = go.Figure()
    for key, (name, color) in series.items():
        fig.add_scatter(x=[r["step"] for r in steps], y=[r[key] for r in steps], mode="lines", name=name,
                        line=dict(color=color, width=1.8))
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step",
                      yaxis_title=y_title, legend=dict(orientation="h", y=-0.3))
    return fig


def losses_figure(rows: list[dict]) -> go.Figure:
    return _steps_figure(rows, {"d_loss": ("D loss", "#2e86ab"), "g_loss": ("G loss", "#e4572e")},
                         "Discriminator and generator losses", "BCE")


def d_outputs_figure(rows: list[dict]) -> go.Figure:
    fig = _steps_figure(rows, {"d_x": ("D(x): real images", "#3bb273"),
                               "d_g_z": ("D(G(z)): generated images", "#e4572e")},
                        "What the discriminator says", "probability of 'real'")
    # At the game's equilibrium D can't tell real from fake and says ½ to both.
    fig.add_hline(y=0.5, line_dash="dot", line_color="#9aa5b1")
    fig.update_yaxes(range=[0, 1])
    return fig


def quality_figure(rows: list[dict]) -> go.Figure:
    """Per-epoch sample quality: the classifier score on the left axis, confidence and
    coverage (shares) on the right."""
    scores = [r for r in rows if r.get("split") == "epoch"]
    epochs = [r["epoch"] for r in scores]
    fig = go.Figure()
    fig.add_scatter(x=epochs, y=[r["score"] for r in scores], mode="lines+markers", name="classifier score",
                    line=dict(color="#e4572e", width=2.5))
    fig.add_scatter(x=epochs, y=[r["confidence"] for r in scores], mode="lines+markers", yaxis="y2",
                    name="mean top-class confidence", line=dict(color="#2e86ab", dash="dot"))
    fig.add_scatter(x=epochs, y=[r["coverage"] for r in scores], mode="lines+markers", yaxis="y2",
                    name="class coverage", line=dict(color="#3bb273", dash="dot"))
    fig.update_layout(title="Sample quality (1,000 samples, judged by a classifier)", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(title="epoch", dtick=1),
                      yaxis=dict(title="score (1 … number of classes)", rangemode="tozero"),
                      yaxis2=dict(title="share", overlaying="y", side="right", range=[0, 1.05],
                                  tickformat=".0%", showgrid=False),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def class_counts_figure(counts: list[int], classes: list[str]) -> go.Figure:
    fig = go.Figure(go.Bar(x=classes, y=counts, marker_color="#2e86ab"))
    fig.update_layout(title=f"What the judge calls the {sum(counts):,} samples", height=260,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis_title="samples")
    # Digit names "0"…"9" would make a numeric axis labelled 0, 2, 4…: a category axis with
    # every class named.
    fig.update_xaxes(type="category", tickmode="array", tickvals=classes, ticktext=classes)
    return fig


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

ROW_KEYS = ("step", "epoch", "d_loss", "g_loss", "d_x", "d_g_z")


def _rows(rows: list[dict]) -> np.ndarray:
    return np.array([[r[k] for k in ROW_KEYS] for r in rows], np.float64).reshape(-1, len(ROW_KEYS))


def _rows_of(a: np.ndarray) -> list[dict]:
    return [{"split": "train", **{k: (int(v) if k == "step" else float(v)) for k, v in zip(ROW_KEYS, row)}} for row in a]


def _scores(scores: list[dict]) -> dict:
    """Per epoch: the score figures as JSON, the class counts as one array."""
    return {"scores": [{k: v for k, v in s.items() if k != "class_counts"} for s in scores],
            "class_counts": np.array([s["class_counts"] for s in scores], np.int64)}


def _scores_of(spec: GANSpec, saved: Saved) -> list[dict]:
    return [{**score, "class_counts": counts.tolist()}
            for score, counts in zip(saved.summary["scores"], saved.arrays["class_counts"])]


# Both models' weights; the per-epoch sample grids, class counts and scores, so a reopened run shows how
# it learned as a just-finished one does.
CODEC = Codec(GANResult, models={"generator": lambda spec, s: Generator(spec.nz, spec.width, s["channels"]),
                                 "discriminator": lambda spec, s: Discriminator(spec.width, s["channels"])},
              headline=lambda r: f"classifier score {r.scores[-1]['score']:.2f}",
              extra=lambda r: {"channels": r.generator.channels,
                               "sample_mean": float(generate(r.generator, r.fixed_noise).mean())},
              forms={"rows": Form(_rows, _rows_of), "scores": Form(_scores, _scores_of, whole=True),
                     "grids": Form(np.stack, list)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: GANSpec) -> str:
    return (f"z {spec.nz} · width {spec.width} · {spec.epochs} epoch{'s' if spec.epochs != 1 else ''}"
            f" · {f'{spec.n_train:,}' if spec.n_train else 'all'} images")


def script(spec: GANSpec, run) -> str:
    """A standalone PyTorch script: rebuild G and D from the run's weights, turn the page's
    64 fixed noise vectors into a sample grid (a PNG) and print figures that need no judge."""
    from ..runs.export import file_stem, sources

    stem, channels = file_stem(run), run.summary.get("channels", 1)
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

Rebuilds the trained generator and discriminator without dlplay, turns the 64 fixed noise
vectors of the page's sample grid (seed {spec.seed + 1}) into images, writes them as one grid
(a PNG, the page's last grid) and prints their mean pixel value (the app measured
{run.summary.get("sample_mean", float("nan")):.4f}) and the discriminator's mean verdict on them.

    python {stem}.py [{stem}.safetensors] [samples.png]

Needs torch, numpy, safetensors and Pillow.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

NZ, WIDTH, CHANNELS, SEED = {spec.nz!r}, {spec.width!r}, {channels!r}, {spec.seed!r}


{sources(Generator, Discriminator, generate, to_uint8, tile_grid, montage)}

def load(model, tensors, prefix):
    model.load_state_dict({{k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}})
    return model.eval()


def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else "{stem}.safetensors"
    out = sys.argv[2] if len(sys.argv) > 2 else "{stem}-samples.png"
    tensors = load_file(weights)
    g = load(Generator(NZ, WIDTH, CHANNELS), tensors, "generator.")
    d = load(Discriminator(WIDTH, CHANNELS), tensors, "discriminator.")
    z = torch.randn(64, NZ, generator=torch.Generator().manual_seed(SEED + 1))  # the page's fixed noise
    images = generate(g, z)  # in [0, 1]
    Image.fromarray(montage(images, ncols=8)).save(out)
    with torch.no_grad():
        verdict = torch.sigmoid(d(images * 2 - 1)).mean().item()  # D works in [-1, 1]
    print(f"mean pixel value of the 64 samples: {{images.mean().item():.4f}}")
    print(f"discriminator's mean probability of 'real' for them: {{verdict:.4f}}")
    print(f"sample grid written to {{out}}")


if __name__ == "__main__":
    main()
'''


def work(spec: GANSpec):
    """Training examples seen: epochs × images (a shared server caps it)."""
    from ..limits import Work, training_images

    return Work(spec.epochs, "epoch", training_images(spec.dataset, spec.n_train), "training images")


class _Round(nn.Module):
    """One round of the game as one pass, for sizing it: D on real images and on G's fakes, whose
    graph through G stays held until G's own step (as `train_step` holds it)."""

    def __init__(self, g: Generator, d: Discriminator):
        super().__init__()
        self.g, self.d = g, d

    def forward(self, z: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.d(self.g(z)), self.d(real)])


def cost(spec: GANSpec):
    """Memory and step time of one round (`dlplay.costs`): both players, each with its Adam, and the
    images the run holds (rescaled to [-1, 1]: its own copy)."""
    from ..costs import MB, torch_cost

    shape, w = data.load(spec.dataset).image_shape, work(spec)  # loaded by the page, and by `work`
    # Not `spec.build`: it seeds the process's generator, which runs may be drawing from.
    return torch_cost(lambda n: _Round(Generator(spec.nz, spec.width, shape[0]),
                                       Discriminator(spec.width, shape[0])),
                      lambda b, n: (torch.zeros(b, spec.nz), torch.zeros(b, *shape)), batch=spec.batch_size,
                      optimizer="adam", lower="the width (feature maps), the batch size or the training images",
                      data_mb=w.size * math.prod(shape) * 4 / MB).with_steps(-(-w.amount // spec.batch_size))


LESSON = Lesson(page="gan", spec_type=GANSpec,
                train=lambda spec, job: train_gan(spec, job), save=save_result, load=load_result, brief=brief,
                script=script, curves=("d_loss", "g_loss", "score"), work=work, cost=cost)
