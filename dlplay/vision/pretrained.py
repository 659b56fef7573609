"""Pretrained bodies for transfer learning: where they come from, how they are fetched,
where they are kept.

Two kinds:
- **ImageNet weights** from torchvision (ResNet18, MobileNetV2), downloaded on demand
  from download.pytorch.org (or a mirror: `DLPLAY_WEIGHTS_URL`), checked against the
  sha256 prefix torchvision writes into every file name (as torch.hub's check_hash does),
  and cached under `data.cache_dir()/models/imagenet` — or used from torch hub's
  checkpoints folder when a torchvision download already put them there.
- **dlplay's own body**: with no network, a small CNN (the CNN builder's blocks) that
  dlplay pretrains itself on a *source* task — the first five classes of the dataset — and
  caches as safetensors under `data.cache_dir()/models`, so the *target* task (the other
  five classes) starts from features learned on different images.

A body is a `Net`: `body` (image → feature vector) and `head` (features → classes), so
every strategy of the lesson treats them alike.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import data, places
from ..jobs import Job
from ..visible import where

Progress = Callable[[float, str], None]

DEFAULT_BASE_URL = "https://download.pytorch.org/models"
HASH_RE = re.compile(r"-([a-f0-9]+)\.")  # torchvision's names: resnet18-f37072fd.pth
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class WeightsUnavailable(Exception):
    """ImageNet weights could not be had (offline, unreachable, or corrupted); the message says why."""


@dataclass(frozen=True)
class ImageNetBody:
    name: str  # "resnet18"
    title: str  # "ResNet18"
    filename: str  # torchvision's file name, with its sha256 prefix
    features: int  # width of the feature vector before the classifier
    megabytes: float

    def url(self) -> str:
        base = os.environ.get("DLPLAY_WEIGHTS_URL") or DEFAULT_BASE_URL
        return f"{base.rstrip('/')}/{self.filename}"


def _filename(weights) -> str:
    return weights.url.rsplit("/", 1)[-1]


def _imagenet_bodies() -> dict[str, ImageNetBody]:
    from torchvision.models import MobileNet_V2_Weights, ResNet18_Weights

    return {"resnet18": ImageNetBody("resnet18", "ResNet18", _filename(ResNet18_Weights.IMAGENET1K_V1), 512, 44.7),
            "mobilenet_v2": ImageNetBody("mobilenet_v2", "MobileNetV2", _filename(MobileNet_V2_Weights.IMAGENET1K_V1),
                                         1280, 13.6)}


IMAGENET: dict[str, ImageNetBody] = _imagenet_bodies()


# --- the network: body and head -------------------------------------------------------------------

class Net(nn.Module):
    """`head(body(x))`: the body turns an image into a feature vector, the head into class scores."""

    def __init__(self, body: nn.Module, head: nn.Linear):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x):
        return self.head(self.body(x))


class ImageNetInput(nn.Module):
    """What an ImageNet network expects: 3 channels, a modest size (32×32 is too small for its
    five stride-2 stages; 224 too slow on a CPU), ImageNet's mean and std."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale as three equal channels
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


def imagenet_net(name: str, n_classes: int, size: int, weights: Path | None = None) -> Net:
    """ResNet18 or MobileNetV2 with a new `n_classes` head; ImageNet weights from `weights`
    (a torchvision .pth file), random ones without."""
    import torchvision.models as tvm

    model = getattr(tvm, name)(weights=None)
    if weights is not None:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    width = IMAGENET[name].features
    if name == "resnet18":
        model.fc = nn.Identity()
    else:
        model.classifier = nn.Identity()  # dropout + linear: the features are the pooled 1280 channels
    return Net(nn.Sequential(ImageNetInput(size), model), nn.Linear(width, n_classes))


# --- ImageNet weights: cache, download, check ------------------------------------------------------

def weights_dir() -> Path:
    return data.cache_dir() / "models" / "imagenet"


def hub_dir() -> Path:
    """torch hub's checkpoints folder, where torchvision's own downloads go."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weights(name: str) -> Path | None:
    """The weights file if it is here already: dlplay's cache, or torch hub's checkpoints."""
    filename = IMAGENET[name].filename
    for folder in (weights_dir(), hub_dir()):
        if (folder / filename).is_file():
            return folder / filename
    return None


def check_hash(path: Path, filename: str) -> None:
    """torchvision's files carry the first hex digits of their sha256 in the name; a file
    that doesn't match arrived corrupted (or is not the file named) and is removed."""
    match = HASH_RE.search(filename)
    if match is None:
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(match.group(1)):
        path.unlink(missing_ok=True)
        raise WeightsUnavailable(
            f"{filename} arrived corrupted: its sha256 starts {digest[:len(match.group(1))]}, the name says "
            f"{match.group(1)}. The file was discarded; try again, or use dlplay's own body.")


# A download that failed (no network, the mirror unreachable or missing the file) is not tried
# again for this long: each try costs the learner up to the 15 s timeout, and the page offers
# dlplay's own body meanwhile instead of promising a download on every Train.
RETRY_AFTER_S = 600.0
_failed: dict[tuple[str, str], tuple[float, str]] = {}  # (body, url) → (when, why)


def download_failure(name: str) -> str | None:
    """Why the last download of `name`'s weights from the current URL failed, if it did in the
    last RETRY_AFTER_S seconds; None otherwise (never tried, succeeded, or long enough ago)."""
    when, why = _failed.get((name, IMAGENET[name].url()), (0.0, None))
    return why if time.monotonic() - when < RETRY_AFTER_S else None


def forget_failures() -> None:
    _failed.clear()


def fetch_weights(name: str, progress: Progress | None = None) -> Path:
    """The ImageNet weights file: from the cache, else downloaded (with progress), checked and
    cached. Raises WeightsUnavailable with a message a learner can act on; a download that fails
    is remembered (`download_failure`) so the page stops offering it for a while."""
    if (path := cached_weights(name)) is not None:
        return path
    body = IMAGENET[name]
    dest = weights_dir() / body.filename
    if not data.downloads_allowed():
        raise WeightsUnavailable(f"{body.title}'s ImageNet weights are not cached and downloads are off "
                                 f"(DLPLAY_OFFLINE). Put {body.filename} into {where(weights_dir())} to use them.")
    part = dest.with_name(dest.name + ".download")
    try:
        data.download(body.url(), part, progress=progress)
    except OSError as exc:
        part.unlink(missing_ok=True)
        why = f"{body.title}'s ImageNet weights could not be downloaded from {body.url()} ({exc})."
        _failed[(name, body.url())] = (time.monotonic(), why)
        raise WeightsUnavailable(why) from exc
    _failed.pop((name, body.url()), None)
    check_hash(part, body.filename)
    part.replace(dest)
    return dest


# --- dlplay's own body, pretrained on the source task ------------------------------------------------

def own_blocks():
    """Three conv–batch-norm–pool stages, wider than the CNN builder's fast preset: 128 channels
    of 4×4 (CIFAR-10) or 3×3 (Fashion-MNIST) at the end — the features the target task reuses."""
    from .cnn import BN, conv, pool

    return (conv(32), BN, pool(2), conv(64), BN, pool(2), conv(128), BN, pool(2))


def own_net(image_shape: tuple[int, int, int], n_classes: int, norm=(0.0, 1.0)) -> Net:
    from .cnn import CNNSpec, build

    seq = build(CNNSpec(blocks=own_blocks(), dense=()), image_shape, n_classes, norm=norm)
    layers = list(seq.named_children())
    body = nn.Sequential(OrderedDict(layers[:-1]))
    return Net(body, layers[-1][1])


@dataclass
class OwnBody:
    """dlplay's own pretrained body: the network, where it is cached, what it cost."""

    net: Net
    path: Path
    seconds: float  # pretraining time (when it was made)
    source_acc: float  # its accuracy on the source task's test images
    made_now: bool  # pretrained in this call (else read from the cache)


PRETRAIN_EPOCHS = 8
# At most this many source images (a fixed random subset): ~25 s of pretraining on two cores for
# either dataset (CIFAR-10's one batch has 5,026 of classes 0–4; Fashion-MNIST's 30,000 would take 2.5 min).
PRETRAIN_IMAGES = 6000


def source_images(ds: data.ImageData, source: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = subset(ds.x_train, ds.y_train, source)
    if len(x) > PRETRAIN_IMAGES:
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:PRETRAIN_IMAGES]
        x, y = x[keep], y[keep]
    return x, y


def own_path(dataset: str, source: tuple[int, ...], epochs: int = PRETRAIN_EPOCHS) -> Path:
    """Keyed by dataset, source classes, number of source images, architecture and epochs."""
    ds = data.load(dataset)
    n = min(PRETRAIN_IMAGES, int(torch.isin(ds.y_train, torch.tensor(source)).sum()))
    classes = "-".join(map(str, source))
    return data.cache_dir() / "models" / f"tl-own-{dataset}-classes{classes}-n{n}-c32-64-128-e{epochs}.safetensors"


class _PretrainProgress:
    """fit callback: the run's progress text during pretraining, and Stop honoured per epoch."""

    def __init__(self, job: Job | None, epochs: int, what: str):
        self.job, self.epochs, self.what = job, epochs, what

    def on_epoch_end(self, model, epoch, row):
        if self.job is not None:
            self.job.check_cancelled()
            self.job.set_progress(0.0, f"{self.what}: epoch {epoch}/{self.epochs}, "
                                       f"{row['train_acc']:.0%} on its training images")


def own_body(dataset: str, source: tuple[int, ...], job: Job | None = None,
             epochs: int = PRETRAIN_EPOCHS) -> OwnBody:
    """The body pretrained on `dataset`'s classes `source`: from the cache, else trained now
    (a minute or less on two cores) and cached. Stop during pretraining cancels the run and
    caches nothing."""
    from ..train import TrainConfig, evaluate, fit, load_checkpoint, save_checkpoint

    ds = data.load(dataset)
    path = own_path(dataset, source, epochs)
    with places.making(path):  # two runs (or processes) starting at once pretrain it once
        net = own_net(ds.image_shape, len(source), ds.pixel_stats)
        if path.is_file():
            try:
                meta = load_checkpoint(net, path)
                return OwnBody(net, path, float(meta.get("seconds", 0)), float(meta.get("source_acc", 0)), False)
            except Exception:  # noqa: BLE001 - an unreadable cache file is made again
                path.unlink(missing_ok=True)
        x, y = source_images(ds, source)
        xt, yt = subset(ds.x_test, ds.y_test, source)
        names = ", ".join(ds.classes[c] for c in source)
        what = f"pretraining dlplay's body on {ds.title} classes {source[0]}–{source[-1]} ({names})"
        if job is not None:
            job.log(f"{what}: {len(x):,} images, {epochs} epochs — once, then it is cached at {where(path)}")
            job.set_progress(0.0, what)
        torch.manual_seed(0)
        t0 = time.perf_counter()
        fit(net, (x, y), None, TrainConfig(optimizer="adamw", lr=4e-3, l2=5e-4, schedule="onecycle", epochs=epochs,
                                           batch_size=128), callbacks=(_PretrainProgress(job, epochs, what),))
        seconds = time.perf_counter() - t0
        acc = evaluate(net, xt, yt)["acc"]
        save_checkpoint(net, path, {"seconds": f"{seconds:.1f}", "source_acc": f"{acc:.4f}", "dataset": dataset,
                                    "source_classes": ",".join(map(str, source))})
        if job is not None:
            job.log(f"pretrained in {seconds:.0f} s: {acc:.1%} test accuracy on the source classes")
        return OwnBody(net.eval(), path, seconds, acc, True)


def subset(x: torch.Tensor, y: torch.Tensor, classes: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of `classes`, relabelled 0, 1, … in that order."""
    keep = torch.isin(y, torch.tensor(classes))
    relabel = torch.full((int(y.max()) + 1,), -1, dtype=torch.long)
    relabel[torch.tensor(classes)] = torch.arange(len(classes))
    return x[keep], relabel[y[keep]]


def own_cached(dataset: str, source: tuple[int, ...], epochs: int = PRETRAIN_EPOCHS) -> dict | None:
    """The cached own body's metadata (seconds, source accuracy), or None if it isn't made yet."""
    from safetensors import safe_open

    path = own_path(dataset, source, epochs)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception:  # noqa: BLE001 - unreadable: it will be made again
        return None
