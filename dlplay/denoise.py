"""Denoising autoencoders: corrupt the input, ask for the clean image back.

A denoising AE is an ordinary autoencoder with a corruption layer in front that acts
only while training, like dropout: every batch gets a fresh draw of noise, and the
target stays the clean image. Here it is compared with the same architecture trained
on clean images (the "plain" AE), by PSNR on corrupted test images.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torchmetrics.functional.image import peak_signal_noise_ratio

from . import data
from .autoencoders import DeepAE, ModelJob, fit_autoencoder, training_split
from .jobs import Job
from .train import History, TrainConfig, seed_everything

NOISE_KINDS = {"gaussian": "Gaussian noise", "square": "Occluding square", "half": "Half blanked"}


@dataclass(frozen=True)
class Noise:
    """kind "gaussian": add N(0, level²) per pixel; "square": blank a square of side
    level × image width at a random place; "half": blank a random half (top, bottom,
    left or right; level unused). Pixels stay in [0, 1]."""

    kind: str = "gaussian"
    level: float = 0.5

    def __post_init__(self):
        if self.kind not in NOISE_KINDS:
            raise ValueError(f"unknown noise {self.kind!r}; choose from {', '.join(NOISE_KINDS)}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator, device=x.device)
            return (x + self.level * noise).clamp(0, 1)
        return x * ~self.mask(x, generator)

    def mask(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """True where pixels are blanked, shape (N, 1, H, W)."""
        n, _, h, w = x.shape
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        if self.kind == "square":
            side = max(1, min(h, round(self.level * w)))
            top = torch.randint(0, h - side + 1, (n, 1, 1), generator=generator).to(x.device)
            left = torch.randint(0, w - side + 1, (n, 1, 1), generator=generator).to(x.device)
            m = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        else:
            side = torch.randint(0, 4, (n, 1, 1), generator=generator).to(x.device)
            m = torch.where(side == 0, rows < h // 2, torch.where(side == 1, rows >= h // 2,
                            torch.where(side == 2, cols < w // 2, cols >= w // 2)))
        return m.unsqueeze(1)

    def describe(self) -> str:
        if self.kind == "gaussian":
            return f"Gaussian noise, σ = {self.level:g}"
        if self.kind == "square":
            return f"a blank square {self.level:.0%} of the image wide"
        return "half of the image blanked"


class DenoisingAE(nn.Module):
    """An autoencoder that sees corrupted inputs while training (fresh noise every batch)
    and clean ones otherwise; corrupt test inputs yourself to measure denoising."""

    def __init__(self, ae: DeepAE, noise: Noise):
        super().__init__()
        self.ae, self.noise = ae, noise

    def encode(self, x):
        return self.ae.encode(x)

    def decode(self, z):
        return self.ae.decode(z)

    def forward(self, x):
        return self.ae(self.noise(x) if self.training else x)


def psnr(clean: torch.Tensor, other: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB over a set of images (pixels in [0, 1]):
    10·log10(1 / MSE) with the MSE over all their pixels. Averaging per-image PSNRs
    instead breaks on occlusion: a square over empty background changes nothing, and
    that image's PSNR is infinite."""
    return float(peak_signal_noise_ratio(other.clamp(0, 1), clean, data_range=1.0))


def psnr_per_image(clean: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """PSNR of every image on its own (inf where it is unchanged)."""
    return peak_signal_noise_ratio(other.clamp(0, 1), clean, data_range=1.0, reduction="none", dim=(1, 2, 3))


@dataclass
class DenoiseSpec:
    dataset: str = "mnist"
    k: int = 32
    noise: Noise = field(default_factory=Noise)
    n_train: int = 10_000  # 0 = the whole training set
    n_val: int = 2_000
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=3e-3, epochs=10, schedule="cosine"))


@dataclass
class DenoiseResult:
    models: dict[str, nn.Module]  # "plain" and "denoising"
    histories: dict[str, History]
    seconds: dict[str, float]
    spec: DenoiseSpec


def train_denoisers(spec: DenoiseSpec, job: Job | None = None) -> DenoiseResult:
    """The same deep AE twice: on clean inputs, and on inputs corrupted by `spec.noise`.
    Both are validated on the same corrupted validation images, so the curves compare
    the task itself."""
    ds = data.load(spec.dataset)
    x, x_val = training_split(ds, spec.n_train, spec.n_val, spec.train.seed)
    noisy_val = spec.noise(x_val, torch.Generator().manual_seed(spec.train.seed + 1))
    if job:
        job.log(f"{len(x):,} training images; the denoising AE sees them with {spec.noise.describe()}")
    models, histories, seconds = {}, {}, {}
    for i, name in enumerate(("plain", "denoising")):
        seed_everything(spec.train.seed)
        ae = DeepAE(spec.k, x.mean(0))
        model = ae if name == "plain" else DenoisingAE(ae, spec.noise)
        t0 = time.perf_counter()
        part = ModelJob(job, name, i, 2) if job else None
        histories[name] = fit_autoencoder(model, x, (noisy_val, x_val), spec.train, part)
        models[name], seconds[name] = model, time.perf_counter() - t0
    return DenoiseResult(models, histories, seconds, spec)


@torch.no_grad()
def denoise(models: dict[str, nn.Module], clean: torch.Tensor, noise: Noise, seed: int = 0) -> dict[str, torch.Tensor]:
    """{"clean", "noisy", and each model's output on the noisy images}."""
    noisy = noise(clean, torch.Generator().manual_seed(seed))
    out = {"clean": clean, "noisy": noisy}
    for name, model in models.items():
        model.eval()
        out[name] = model(noisy).clamp(0, 1)
    return out


def psnr_scores(images: dict[str, torch.Tensor]) -> dict[str, float]:
    """PSNR against the clean images, for the noisy input and every model."""
    clean = images["clean"]
    return {name: psnr(clean, x) for name, x in images.items() if name != "clean"}


def psnr_by_level(models: dict[str, nn.Module], clean: torch.Tensor, kind: str, levels) -> pd.DataFrame:
    """PSNR at several noise levels: how each model copes beyond the level it trained at."""
    rows = []
    for level in levels:
        scores = psnr_scores(denoise(models, clean, Noise(kind, float(level))))
        rows += [{"level": float(level), "input": name, "PSNR (dB)": v} for name, v in scores.items()]
    return pd.DataFrame(rows)
