"""Image regression from files loaded lazily: a small CNN reads a continuous number from each
picture — the slant of an MNIST digit written to a folder of PNG files (offline default), or
a face's age from UTKFace's `age_gender_race_date.jpg` — with the images opened only when
their batch needs them (`dlplay.vision.lazyfiles`).

The assignment asks whether labels rounded to whole numbers hurt a regression. They can only
hurt as much as the rounding step is coarse against what the network can read: trained on the
mean absolute error, the network learns the median of the rounded labels — a staircase. At the
page's defaults (rounded to 10°) the cost is about the seed-to-seed spread: test MAE 1.87, 1.78,
1.68° exact against 1.98, 1.90, 1.99° rounded over three seeds. Both runs are scored on the
exact test labels.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, visible
from ..jobs import Job
from ..limits import shared
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import Loop, Step, TrainConfig
from . import digitfiles, lazyfiles
from .cnn import build, from_preset

SOURCES = {"digits": "MNIST digits written as PNG files (offline)", "utkface": "UTKFace faces (data directory)",
           "folder": "A folder of my own"}
UNITS = {"digits": "°", "utkface": "years"}


@dataclass
class RegressionSpec:
    source: str = "digits"  # "digits" | "utkface" | "folder"
    folder: str = ""  # source "folder": its path (with train/ and test/ inside, or one folder split 90/10)
    layout: str = "digits"  # source "folder": how its file names spell the target
    labels: str = "exact"  # "exact" or "rounded": the training labels (tests are always exact)
    step: float = 10.0  # "rounded": labels rounded to whole multiples of this, in the target's unit
    n_train: int = 4000  # training files (0 = all), validation taken from them
    workers: int = 2  # DataLoader worker processes reading files ahead of the training loop
    prefetch: int = 2  # batches each worker keeps ready
    in_memory: bool = False  # decode every file first and hold them all (the comparison)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(optimizer="adamw", lr=3e-3, l2=1e-4,
                                                                   schedule="onecycle", epochs=3, batch_size=128))


class FolderMissing(Exception):
    """The folder to read is not there or holds no file of its layout: the message says what to put where."""


@dataclass
class Source:
    train: lazyfiles.Listing
    test: lazyfiles.Listing | None  # None: split off the training folder
    size: int  # images resized to size × size
    channels: int
    unit: str
    what: str  # the target in words

    @property
    def layout(self) -> lazyfiles.Layout:
        return self.train.layout


def utkface_folder() -> Path:
    return data.data_dir() / "UTKFace"


def source(spec: RegressionSpec, progress=None) -> Source:
    """The folder(s) the spec reads, listed by name (nothing opened); FolderMissing if absent."""
    if spec.source == "digits":
        root = digitfiles.write(progress=progress)
        return Source(lazyfiles.list_folder(root / "train", "digits"), lazyfiles.list_folder(root / "test", "digits"),
                      28, 1, "°", "the stroke's slant in degrees, measured from the image's moments")
    if spec.source == "utkface":
        folder, layout = utkface_folder(), "utkface"
        hint = (f"Put the UTKFace images (files named like 26_0_1_20170116174525125.jpg: age, gender, race, date) "
                f"in {visible.where(folder)} — unpack the “Aligned&Cropped Faces” archive UTKFace.tar.gz there"
                + (f"{visible.ask()}." if shared() else
                   " — or set DLPLAY_DATA_DIR to the folder that holds UTKFace/."))
    else:
        folder, layout = Path(spec.folder).expanduser(), spec.layout
        example = lazyfiles.LAYOUTS[layout].example
        hint = f"Type the path of a folder of image files named like {example} (or with train/ and test/ inside)."
    if spec.source == "folder" and shared():  # a visitor must not list (or train on) the server's files
        raise FolderMissing("A folder of your own can't be read on this shared server: choose the digits or "
                            "UTKFace, or run dlplay on your own machine to train on your folder.")
    if spec.source == "folder" and not spec.folder.strip():
        raise FolderMissing(f"No folder yet (no path given). {hint}")
    if not folder.is_dir():
        raise FolderMissing(f"No folder at {visible.where(folder)}. {hint}")
    parts = (folder / "train", folder / "test") if (folder / "train").is_dir() and (folder / "test").is_dir() else (folder, None)
    train = lazyfiles.list_folder(parts[0], layout)
    if not train.paths:
        raise FolderMissing(f"{visible.where(parts[0])} holds no image file named by the {layout} layout. {hint}")
    test = lazyfiles.list_folder(parts[1], layout) if parts[1] is not None else None
    big = layout == "utkface"
    return Source(train, test, 64 if big else 28, 3 if big else 1, UNITS.get(layout, ""),
                  lazyfiles.LAYOUTS[layout].target)


def rounded(y: torch.Tensor, step: float) -> torch.Tensor:
    return torch.round(y / step) * step


def splits(spec: RegressionSpec, src: Source):
    """(train, validation, test) datasets over the files; the training targets rounded for a
    "rounded" run, the validation and test targets always exact."""
    def lazy(paths, targets):
        return lazyfiles.LazyImages(paths, targets, src.size, src.channels)

    gen = torch.Generator().manual_seed(spec.train.seed)
    paths, targets = src.train.paths, torch.tensor(src.train.targets)
    order = torch.randperm(len(paths), generator=gen)
    if src.test is None:  # one folder: a fixed tenth of it (at most 2,000) is the test set
        n_test = min(2000, len(paths) // 10)
        test = lazy([paths[i] for i in order[:n_test]], targets[order[:n_test]])
        order = order[n_test:]
    else:
        test = lazy(src.test.paths, src.test.targets)
    if spec.n_train:
        order = order[:spec.n_train]
    n_val = min(1000, len(order) // 10)
    val_i, tr_i = order[:n_val], order[n_val:]
    y = targets[tr_i]
    train = lazy([paths[i] for i in tr_i], rounded(y, spec.step) if spec.labels == "rounded" else y)
    return train, lazy([paths[i] for i in val_i], targets[val_i]), test


# --- the model -----------------------------------------------------------------------------------

class Regressor(nn.Module):
    """A small CNN (the CNN builder's fast stack) with one output, read in the target's unit:
    the body predicts the standardized target, `forward` scales it back."""

    def __init__(self, image_shape: tuple[int, int, int], mean: float, std: float):
        super().__init__()
        self.body = build(from_preset("fast"), image_shape, 1)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)[:, 0] * self.std + self.mean


@torch.no_grad()
def predict(model: nn.Module, dl) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """(predictions, targets, indices, unreadable items) over a loader."""
    model.eval()
    device = next(model.parameters()).device
    preds, trues, idx, bad = [], [], [], []
    with lazyfiles.batches(dl) as it:
        for b in it:
            bad += b.bad
            if len(b.y):
                preds.append(model(b.x.to(device)).cpu())
                trues.append(b.y)
                idx.append(b.index)
    cat = (lambda parts: torch.cat(parts).numpy()) if preds else (lambda parts: np.zeros(0))
    return cat(preds), cat(trues), cat(idx), bad


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.abs(pred - true).mean()) if len(true) else float("nan")


@dataclass
class RegressionResult:
    model: Regressor
    spec: RegressionSpec
    rows: list[dict]
    test_mae: float  # on the exact test labels
    baseline_mae: float  # predicting the training labels' mean for every image
    pred: np.ndarray  # test predictions
    true: np.ndarray  # exact test targets
    names: list[str]  # test file names, in the order of pred
    bad_files: list[str]  # "name: why", every unreadable file met
    odd_names: list[str]  # files skipped because their name doesn't follow the layout
    unit: str
    what: str
    images_per_s: float  # training throughput, data loading included
    wait_share: float  # share of training time spent waiting for a batch
    held_bytes: int  # what the training dataset holds in memory
    load_s: float  # seconds before training could start (decoding everything, for in-memory)
    image_shape: tuple = (1, 28, 28)
    train_seconds: float = 0.0
    stopped: str = ""


def train_regression(spec: RegressionSpec, job: Job | None = None) -> RegressionResult:
    src = source(spec, progress=(lambda f, msg: job.set_progress(0.0, msg)) if job else None)
    train_ds, val_ds, test_ds = splits(spec, src)
    if len(train_ds) < 10:
        raise FolderMissing(f"Only {len(train_ds)} training images in {src.train.folder}: put more files there.")
    cfg = spec.train
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    data_for_training = lazyfiles.InMemory(train_ds) if spec.in_memory else train_ds
    load_s = time.perf_counter() - t0
    workers = 0 if spec.in_memory else spec.workers  # held tensors need no readers
    dl = lazyfiles.loader(data_for_training, cfg.batch_size, shuffle=True, seed=cfg.seed, workers=workers,
                          prefetch=spec.prefetch, persistent=cfg.epochs > 1)
    y = train_ds.targets
    model = Regressor((src.channels, src.size, src.size), float(y.mean()), float(y.std().clamp(min=1e-6)))
    if job:
        job.log(f"{len(train_ds):,} training files ({'decoded into memory' if spec.in_memory else 'read lazily'}), "
                f"{len(val_ds):,} validation, {len(test_ds):,} test")
        job.artifact("bad_files", [])
    loop = Loop(model, cfg, job, steps_per_epoch=math.ceil(len(train_ds) / cfg.batch_size))
    bad, waits = [], []
    val_dl = lazyfiles.loader(val_ds, 512, workers=min(spec.workers, 1), prefetch=spec.prefetch)

    def batches(epoch: int):
        """The epoch's batches of files, as the loader reads them; the time spent waiting for them counted."""
        waits.append(0.0)
        with lazyfiles.batches(dl) as it:
            while True:
                t_ask = time.perf_counter()
                b = next(it, None)
                waits[-1] += time.perf_counter() - t_ask  # the loop waiting for files to be read
                if b is None:
                    return
                bad.extend(b.bad)
                if len(b.y):
                    yield b

    def step(b) -> Step:
        x, target = loop.batch((b.x, b.y))
        loss = F.l1_loss(model(x), target) / model.std  # the MAE, in standardized units
        return Step(loss, len(target), row={"loss": loss.detach() * model.std})  # shown in the target's unit

    def validate() -> dict:
        pred, true, _, unreadable = predict(model, val_dl)
        bad.extend(unreadable)
        return {"mae": mae(pred, true), "loss": mae(pred, true)}

    def on_epoch(epoch: int, row: dict) -> None:
        row.update(train_mae=row["train_loss"], loss=row["train_loss"], images_per_s=row["samples_per_s"],
                   wait_share=waits[-1] / max(row["seconds"], 1e-9))
        if job:
            job.artifact("bad_files", _named(bad))

    try:
        history = loop.run(batches, step, validate=validate, on_epoch=on_epoch)
    finally:
        lazyfiles.close(dl)  # the persistent workers end with the training, however it ends
    rows = history.rows
    pred, true, idx, unreadable = predict(model, lazyfiles.loader(test_ds, 512, workers=min(spec.workers, 1)))
    bad.extend(unreadable)
    return RegressionResult(
        model.eval(), spec, rows, mae(pred, true), mae(np.full_like(true, float(y.mean())), true), pred, true,
        [test_ds.paths[int(i)].name for i in idx], _named(bad),
        src.train.odd_names + (src.test.odd_names if src.test else []), src.unit, src.what,
        float(np.mean([r["images_per_s"] for r in rows])) if rows else 0.0,
        float(np.mean([r["wait_share"] for r in rows])) if rows else 0.0,
        data_for_training.held_bytes(), load_s, (src.channels, src.size, src.size), history.train_seconds,
        history.stopped)


def _named(bad: list) -> list[str]:
    """Each unreadable file once, "name: why", in the order met."""
    seen: dict[str, str] = {}
    for b in bad:
        seen.setdefault(b.name, f"{b.name}: {b.reason}")
    return list(seen.values())


# --- as a stored run --------------------------------------------------------------------------------

FLOAT32 = Form(lambda a: np.asarray(a, np.float32), np.asarray)
CODEC = Codec(RegressionResult, models={"model": lambda spec, s: Regressor(tuple(s["image_shape"]), 0.0, 1.0)},
              headline=lambda r: f"test MAE {r.test_mae:.2f}{r.unit}", forms={"pred": FLOAT32, "true": FLOAT32})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: RegressionSpec) -> str:
    labels = "exact labels" if spec.labels == "exact" else f"labels rounded to {spec.step:g}"
    how = "in memory" if spec.in_memory else f"lazy, {spec.workers} workers"
    return f"{spec.source} · {labels} · {how} · {spec.train.epochs} epoch{'s' if spec.train.epochs != 1 else ''}"


def work(spec: RegressionSpec):
    from ..limits import Work

    n = spec.n_train or (digitfiles.N_TRAIN if spec.source == "digits" else 20_000)
    return Work(spec.train.epochs, "epoch", n, "training images")


def pair(spec: RegressionSpec) -> list[RegressionSpec]:
    """The comparison: the same setup trained on exact labels, then on rounded ones."""
    return [replace(spec, labels="exact"), replace(spec, labels="rounded")]


LESSON = Lesson(page="imgreg", figure=Figure("test_mae", "test MAE (degrees)", higher=False),
                spec_type=RegressionSpec, train=lambda spec, job: train_regression(spec, job), save=save_result,
                load=load_result, brief=brief, curves=("loss", "val_mae"), work=work)


WORKER_MB = 20.0  # a reader process's own memory: 15-18 MB (forkserver workers, 128 digits a batch, 2 ahead)


def cost(spec: RegressionSpec):
    """Memory and step time of one batch (`dlplay.costs`), sized without listing the folder, and
    what reading costs: every image decoded (in memory) or the worker processes reading ahead."""
    from ..costs import MB, torch_cost

    big = spec.source == "utkface" or (spec.source == "folder" and spec.layout == "utkface")
    shape = (3, 64, 64) if big else (1, 28, 28)  # as `source` resizes them
    cfg, n = spec.train, work(spec).size
    held = n * math.prod(shape) * 4 / MB if spec.in_memory else spec.workers * WORKER_MB
    lower = ("the training images, or read them from their files instead of holding them" if spec.in_memory
             else "the worker processes or the training images")
    return torch_cost(lambda k: Regressor(shape, 0.0, 1.0), lambda b, k: (torch.zeros(b, *shape),),
                      batch=cfg.batch_size, optimizer=cfg.optimizer, lower=lower, data_mb=held
                      ).with_steps(cfg.epochs * -(-n // cfg.batch_size))


LESSON.cost = cost
