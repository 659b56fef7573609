"""Walking through an autoencoder's latent space from one class to another.

Encode many training images, average the codes of each class (its centroid), then
decode evenly spaced points on the straight line between two centroids. If the
latent space is organised, the pictures change smoothly from one class into the
other; where it is not, they pass through blurry non-digits. The frames can be saved
as an animated GIF.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import data
from .autoencoders import AESpec, train_autoencoders
from .jobs import Job
from .train import TrainConfig
from .viz import to_uint8

PRESETS = ((2, 0), (3, 9), (1, 4), (7, 1), (5, 6))


@dataclass
class MorphModel:
    """An autoencoder and the latent centroid of every class."""

    model: nn.Module
    centroids: torch.Tensor  # (n_classes, k)
    classes: list[str]
    dataset: str
    source: str  # where the model came from, for the page


@torch.no_grad()
def class_centroids(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int,
                    batch_size: int = 2048) -> torch.Tensor:
    """Mean latent code of every class."""
    model.eval()
    z = torch.cat([model.encode(xb) for xb in x.split(batch_size)])
    return torch.stack([z[y == c].mean(0) for c in range(n_classes)])


def build_morph_model(model: nn.Module, ds: data.ImageData, source: str, n: int = 10_000) -> MorphModel:
    centroids = class_centroids(model, ds.x_train[:n], ds.y_train[:n], ds.n_classes)
    return MorphModel(model, centroids, ds.classes, ds.name, source)


@dataclass
class MorphSpec:
    dataset: str = "mnist"
    k: int = 8
    n_train: int = 10_000
    epochs: int = 8
    lr: float = 3e-3


def train_morph_model(spec: MorphSpec, job: Job | None = None) -> MorphModel:
    """A deep hourglass AE trained for the morph (the Autoencoders page's one works too)."""
    ae = AESpec(dataset=spec.dataset, k=spec.k, n_train=spec.n_train, models=("deep",),
                train=TrainConfig(lr=spec.lr, epochs=spec.epochs, schedule="cosine"))
    result = train_autoencoders(ae, job)
    return build_morph_model(result.models["deep"], data.load(spec.dataset),
                             f"deep AE (k = {spec.k}) trained on this page")


def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, n_frames: int) -> torch.Tensor:
    """n_frames evenly spaced points from z_a to z_b, both ends included."""
    t = torch.linspace(0, 1, max(2, n_frames)).unsqueeze(1)
    return torch.lerp(z_a.unsqueeze(0), z_b.unsqueeze(0), t)


@torch.no_grad()
def morph(mm: MorphModel, a: int, b: int, n_frames: int) -> torch.Tensor:
    """Decoded images (n_frames, C, H, W) from class a's centroid to class b's."""
    mm.model.eval()
    return mm.model.decode(interpolate(mm.centroids[a], mm.centroids[b], n_frames)).clamp(0, 1)


@torch.no_grad()
def decoded_centroids(mm: MorphModel) -> torch.Tensor:
    mm.model.eval()
    return mm.model.decode(mm.centroids).clamp(0, 1)


def frame_pictures(frames: torch.Tensor, scale: int = 4, bar: int = 3) -> list[np.ndarray]:
    """Enlarged frames with a thin bar along the bottom showing how far the morph has
    gone (which also keeps any two frames distinct: GIF writers merge identical ones)."""
    pictures = []
    n = len(frames)
    for i, frame in enumerate(frames):
        img = Image.fromarray(to_uint8(frame))
        img = img.resize((img.width * scale, img.height * scale), Image.BICUBIC)
        pic = np.zeros((img.height + bar, img.width), np.uint8)
        pic[: img.height] = np.asarray(img)
        pic[img.height + 1:, : round(img.width * i / max(1, n - 1))] = 160
        pictures.append(pic)
    return pictures


def gif_bytes(frames: torch.Tensor, fps: float = 10, scale: int = 4, loop: bool = True) -> bytes:
    """An animated GIF of the frames, every frame kept (one per image)."""
    pictures = [Image.fromarray(p) for p in frame_pictures(frames, scale)]
    buf = io.BytesIO()
    repeat = {"loop": 0} if loop else {}  # loop=0 means forever; without it the GIF plays once
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=round(1000 / fps), optimize=False, **repeat)
    return buf.getvalue()
