"""Training diagnosis: a gallery of broken training setups and their fixes.

Every case is the same small network on MNIST — 784 pixels → h → h → 10, an MLP — with one
thing wrong: a learning rate far too high, weights started at zero or far too large,
sigmoid units fed raw 0–255 pixels, a softmax applied before a loss that applies its own,
ReLUs killed by steps too large, labels sorted and never shuffled, test images scaled
differently from the training ones. Training records, every few steps, a *snapshot* of
each layer — histograms of its weights, gradients and activations, its gradient norm and
the share of its units that are dead (ReLU: zero for every example of the batch) or
saturated (sigmoid: within 0.01 of 0 or 1) — taken by forward hooks, as TensorBoard's
histograms would be. Each symptom shows in those numbers (measured in
tests/craft/test_diagnosis.py) and each fix trains.

A diverged run is a result, not a failure: the loop catches `TrainingDiverged` and keeps
what it recorded up to the step where the loss became NaN or exploded.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..jobs import Job, TrainingDiverged
from ..models.mlp import ACTIVATIONS, Standardize
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..runs.lesson import Figure
from ..train import Loop, LossWatch, TrainConfig, classify_step, evaluate

LOG10 = math.log(10)  # the loss of a network that knows nothing: 1/10 on each digit (2.303)
KINDS = {"weights": "weights", "grads": "gradients", "acts": "activations"}
BINS = 40


# --- the setups -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setup:
    """Everything one run does that a case can get wrong."""
    optimizer: str = "adam"  # as dlplay.train.make_optimizer: adam, sgd, momentum
    lr: float = 1e-3
    activation: str = "relu"  # hidden units: relu, sigmoid, tanh
    init: str = "default"  # "default" (PyTorch's uniform ±1/√fan_in), "zero", "normal" (std init_std)
    init_std: float = 0.0
    inputs: str = "standardised"  # "standardised" (mean 0, std 1) or "raw" (0–255, as read from disk)
    softmax_output: bool = False  # the network ends in a softmax (before a loss that applies its own)
    sort_labels: bool = False  # training images sorted by label…
    shuffle: bool = True  # …and batches drawn in order when False
    test_inputs: str = "same"  # "twice": the test images divided by 255 a second time (a loader bug)


@dataclass(frozen=True)
class Case:
    title: str  # the diagnosis, as a guess to pick: "Learning rate far too high"
    seen: str  # what the learner is told before guessing: the setup, neutrally
    symptom: str  # where the diagnosis shows in the numbers
    fix: str
    broken: dict  # Setup fields changed from BASE
    fixed: dict = field(default_factory=dict)


BASE = Setup()  # Adam, lr 0.001, ReLU, PyTorch's init, standardised inputs: 91 % after 2 epochs on 5,000

# Measured on 5,000 training images, 2 epochs (156 steps), 128-unit hidden layers, seed 0; the fix of
# each reaches 88–91 % test accuracy (tests/craft/test_diagnosis.py checks every number named here).
CASES: dict[str, Case] = {
    "lr_high": Case(
        "Learning rate far too high",
        "Plain SGD, the textbook optimizer, with a bold step size. Watch the loss from the very first steps.",
        "The loss explodes within a few steps (here from 2.3 to 65,600 at step 5): every step overshoots "
        "the minimum by more than it corrects, the weights grow without bound and the gradient norms shoot "
        "up by an order of magnitude or more (up to 90 in layer 2, against at most 2 in the fixed run). "
        "The curves simply end — the run diverged.",
        "Lower the learning rate from 5 to 0.1: plain SGD then trains steadily (91 % test accuracy).",
        dict(optimizer="sgd", lr=5.0), dict(optimizer="sgd", lr=0.1)),
    "zero_init": Case(
        "Weights initialised to zero",
        "A tidy initialisation: every weight and bias starts at exactly the same value.",
        "The loss stays at log 10 = 2.303, the loss of a network that answers 1/10 for every digit, and "
        "the accuracy at 11 % (the most frequent digit). Every hidden unit computes the same thing — here "
        "zero — so every one gets the same gradient, here exactly zero: all the gradient norms are 0, "
        "100 % of the units are dead, and only the last layer's biases move (to the class frequencies).",
        "Start from small random weights (PyTorch's default: uniform in ±1/√fan-in) so the units differ "
        "from the start (91 % test accuracy).",
        dict(init="zero")),
    "huge_init": Case(
        "Weights initialised far too large",
        "Random initial weights drawn from a normal distribution with a generous spread, trained with Adam.",
        "The first loss is in the millions (3.8 million) instead of 2.3: each layer multiplies the spread "
        "of its input by about 10·√fan-in, so the logits are enormous and the softmax is certain — and "
        "wrong. The gradient norms are about 100,000. Adam's steps (0.001 per weight) are tiny next to "
        "weights of size 10: after two epochs the loss is still 2 million and the test accuracy 14 %.",
        "Scale the initial weights with the layer's width (std ≈ 1/√fan-in, PyTorch's default, or He's "
        "√(2/fan-in) for ReLU) so activations keep their size from layer to layer (91 % test accuracy).",
        dict(init="normal", init_std=10.0)),
    "sigmoid_raw": Case(
        "Saturating sigmoids on unnormalised inputs",
        "Sigmoid units — smooth, bounded, the classic choice — fed the pixels as stored on disk (0 to 255), "
        "trained with SGD and momentum.",
        "The first layer's sums reach ±50: nearly every sigmoid sits at 0 or 1, where its slope is ~0. "
        "98 % of the first layer's outputs are saturated (7 % in the fixed run): they act as on/off "
        "switches that barely learn, since almost no gradient gets through them. Test accuracy: 45 % "
        "against the fix's 88 %.",
        "Standardise the inputs (subtract the training pixels' mean, divide by their std) so the first "
        "layer's sums start near zero, where the sigmoid has its slope.",
        dict(activation="sigmoid", inputs="raw", optimizer="momentum", lr=0.1),
        dict(activation="sigmoid", optimizer="momentum", lr=0.1)),
    "double_softmax": Case(
        "Softmax applied twice",
        "The network ends in a softmax layer, so its outputs are probabilities, and it is trained with "
        "PyTorch's CrossEntropyLoss, using plain SGD.",
        "CrossEntropyLoss applies log-softmax itself: it treats the probabilities as logits squeezed into "
        "[0, 1]. The loss cannot go below log(1 + 9/e) = 1.46 however right the network is; the first "
        "gradients are 10× smaller than the fix's (0.07 against 0.70 in layer 1) and training crawls: "
        "the loss ends at 1.94 (fixed: 0.37), the test accuracy at 64 % (fixed: 91 %).",
        "Drop the softmax layer: CrossEntropyLoss wants raw logits (or use NLLLoss on log_softmax).",
        dict(softmax_output=True, optimizer="sgd", lr=0.1), dict(optimizer="sgd", lr=0.1)),
    "dead_relu": Case(
        "Dead ReLUs",
        "ReLU units trained with plain SGD and a large, but not absurd, step size. The loss never becomes NaN.",
        "A few large steps push many units' biases so far down that their sum is negative for every image: "
        "the ReLU outputs 0, passes no gradient back, and the unit never comes back. By the end 87 % of "
        "layer 1's units and 72 % of layer 2's are dead (fixed: 0 % and 5 %); the loss stalls at 1.60 and "
        "the test accuracy at 39 %.",
        "Lower the learning rate from 1 to 0.1 (91 % test accuracy). A leaky ReLU never has a zero slope, "
        "but at learning rate 1 it diverges instead.",
        dict(optimizer="sgd", lr=1.0), dict(optimizer="sgd", lr=0.1)),
    "sorted_labels": Case(
        "Labels sorted, never shuffled",
        "The training images in the order they were stored, batches taken one after another.",
        "The images are sorted by label, so each batch holds one digit: the network learns 0s, then forgets "
        "them for 1s… and ends answering the last digits it saw. Test accuracy 13 % (shuffled: 91 %). "
        "The page Shuffle, batch, repeat takes this apart.",
        "Shuffle the training set every epoch.",
        dict(sort_labels=True, shuffle=False)),
    "scaling_bug": Case(
        "Test data scaled differently (a data-scaling bug)",
        "Training goes smoothly. The test images are read by another piece of code.",
        "The training accuracy is 93 %, the test accuracy 9 %: the test loader divides by 255 pixels that "
        "were already in [0, 1], so every test image is nearly black and the model answers almost the "
        "same digit for all of them. The training numbers are fine — only train against test shows it.",
        "Scale test inputs exactly like training inputs: one preprocessing function for both (or keep the "
        "scaling inside the model). Test accuracy 91 %.",
        dict(test_inputs="twice")),
}


def mystery(name: str) -> str:
    """The case's neutral name for the select box: "Mystery 3"."""
    return f"Mystery {list(CASES).index(name) + 1}"


def guesses() -> list[str]:
    """The diagnoses as options to guess from, alphabetical (not in the mysteries' order)."""
    return sorted(CASES, key=lambda n: CASES[n].title)


@dataclass
class DiagnosisSpec:
    case: str = "lr_high"
    fixed: bool = False  # the case's fix instead of its broken setup
    n_train: int = 5000  # MNIST training images
    epochs: int = 2
    hidden: int = 128  # units in each of the two hidden layers
    batch_size: int = 64
    seed: int = 0


def setup_of(spec: DiagnosisSpec) -> Setup:
    if spec.case not in CASES:
        raise ValueError(f"unknown case {spec.case!r}; choose from {', '.join(CASES)}")
    case = CASES[spec.case]
    return replace(BASE, **(case.fixed if spec.fixed else case.broken))


# --- the network ---------------------------------------------------------------------------------------

class Net(nn.Module):
    """784 → h → h → 10: Linear layers with an activation after each (the last one's is the identity,
    or the mistaken softmax). Input scaling happens inside, so every image is scaled the same way."""

    def __init__(self, setup: Setup, in_features: int = 784, hidden: int = 128, n_classes: int = 10,
                 pixel_stats: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        self.setup = setup
        # Pixels arrive in [0, 1]; "raw" multiplies them back to 0–255, as a file stores them.
        self.scale = Standardize(*(pixel_stats if setup.inputs == "standardised" else (0.0, 1 / 255)))
        widths = [in_features, hidden, hidden, n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.acts = nn.ModuleList([ACTIVATIONS[setup.activation](), ACTIVATIONS[setup.activation](),
                                   nn.Softmax(dim=1) if setup.softmax_output else nn.Identity()])
        self.config = dict(in_features=in_features, hidden=hidden, n_classes=n_classes)
        self._initialise()

    @torch.no_grad()
    def _initialise(self) -> None:
        s = self.setup
        for layer in self.layers:
            if s.init == "zero":
                layer.weight.zero_()
                layer.bias.zero_()
            elif s.init == "normal":
                layer.weight.normal_(0.0, s.init_std)
                layer.bias.zero_()

    def forward(self, x):
        x = self.scale(x.flatten(1))
        for layer, act in zip(self.layers, self.acts):
            x = act(layer(x))
        return x


def build(spec: DiagnosisSpec, n_classes: int = 10, pixel_stats=(0.0, 1.0), in_features: int = 784) -> Net:
    torch.manual_seed(spec.seed)
    return Net(setup_of(spec), in_features, spec.hidden, n_classes, pixel_stats)


def layer_names(net: Net) -> list[str]:
    return [f"layer {i + 1} ({m.in_features}→{m.out_features})" for i, m in enumerate(net.layers)]


class Probe:
    """Forward hooks on every activation: the last batch's inputs (the layer's sums) and outputs."""

    def __init__(self, net: Net):
        self.pre: dict[int, torch.Tensor] = {}
        self.out: dict[int, torch.Tensor] = {}
        self.handles = [act.register_forward_hook(self._keep(i)) for i, act in enumerate(net.acts)]

    def _keep(self, i: int):
        def hook(module, inputs, output):
            self.pre[i], self.out[i] = inputs[0].detach(), output.detach()
        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def inactive_share(activation: str, out: torch.Tensor) -> float:
    """ReLU: the share of units that are zero for every example of the batch (dead: no gradient
    flows through them). Sigmoid/tanh: the share of outputs within 0.01 of a bound (saturated: the
    slope there is at most 4 % of its best)."""
    if activation == "relu":
        return float(1.0 - (out > 0).any(0).float().mean())
    if activation == "sigmoid":
        return float(((out < 0.01) | (out > 0.99)).float().mean())
    if activation == "tanh":
        return float((out.abs() > 0.99).float().mean())
    return 0.0


# --- snapshots: histograms of every layer ------------------------------------------------------------------

BOUNDS = {nn.Sigmoid: (0.0, 1.0), nn.Softmax: (0.0, 1.0), nn.Tanh: (-1.0, 1.0)}  # outputs' own ranges


def histogram(values: torch.Tensor, bounds: tuple[float, float] | None = None,
              bins: int = BINS) -> tuple[np.ndarray, np.ndarray, int]:
    """(counts, edges, non-finite count): `bins` equal bins over the values' own range, as
    TensorBoard bins each step anew — or over the activation's bounds, for one that has them (sigmoid
    and softmax: 0 to 1). NaN and infinity are counted apart, so counts plus non-finite values add
    up to the number of values."""
    v = values.detach().float().cpu().numpy().ravel()
    finite = v[np.isfinite(v)]
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if hi - lo < 1e-12:  # all equal (zero weights): a small range around them
        half = max(1e-3, abs(lo) * 0.5)
        lo, hi = lo - half, hi + half
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(np.clip(finite, lo, hi), bins=edges)
    return counts.astype(np.int64), edges, int(v.size - finite.size)


@dataclass
class Snapshot:
    step: int
    epoch: float
    loss: float
    grad_norm: list[float]  # ‖∂loss/∂W‖ of each layer's weights
    inactive: list[float]  # per hidden layer: dead (ReLU) or saturated (sigmoid) share
    counts: dict[str, list[np.ndarray]]  # kind → per layer, BINS counts
    edges: dict[str, list[np.ndarray]]  # kind → per layer, BINS + 1 bin edges
    nonfinite: dict[str, list[int]]  # kind → per layer, NaN or infinite values


def take_snapshot(net: Net, probe: Probe, step: int, epoch: float, loss: float) -> Snapshot:
    """After backward, before the optimizer step: this batch's weights, gradients and activations."""
    counts, edges, bad = ({k: [] for k in KINDS} for _ in range(3))
    norms = []
    for i, layer in enumerate(net.layers):
        grad = layer.weight.grad if layer.weight.grad is not None else torch.zeros_like(layer.weight)
        norms.append(float(grad.norm()))
        for kind, values in (("weights", layer.weight), ("grads", grad), ("acts", probe.out[i])):
            c, e, n = histogram(values, BOUNDS.get(type(net.acts[i])) if kind == "acts" else None)
            counts[kind].append(c)
            edges[kind].append(e)
            bad[kind].append(n)
    inactive = [inactive_share(net.setup.activation, probe.out[i]) for i in range(len(net.layers) - 1)]
    return Snapshot(step, epoch, loss, norms, inactive, counts, edges, bad)


def snapshot_steps(total: int, n: int = 24) -> set[int]:
    """The steps that get a snapshot: the first three (where an initialisation shows), then about
    `n` evenly spread, and the last."""
    every = max(1, total // n)
    return {s for s in range(1, total + 1) if s <= 3 or s % every == 0 or s == total}


# --- data ----------------------------------------------------------------------------------------------

def training_subset(ds, n: int, seed: int, sort_labels: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` random training images (all for n = 0), sorted by label if the case says so."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds.y_train), generator=g)[:n or len(ds.y_train)]
    x, y = ds.x_train[idx], ds.y_train[idx]
    if sort_labels:
        order = torch.argsort(y, stable=True)
        x, y = x[order], y[order]
    return x, y


def scaled_for_test(setup: Setup, x: torch.Tensor) -> torch.Tensor:
    """The test images as the model gets them: with the scaling bug, divided by 255 once more."""
    return x / 255.0 if setup.test_inputs == "twice" else x


# --- training, shaped like pytorch/examples ---------------------------------------------------------------

@dataclass
class DiagnosisResult:
    spec: DiagnosisSpec
    model: Net
    rows: list[dict]  # metric rows: per step ("train"), per epoch ("epoch")
    snapshots: list[Snapshot]
    layers: list[str]
    first_loss: float
    train_acc: float  # the whole training subset, at the end
    test_acc: float
    test_loss: float
    classes: list[str]
    summary: str  # where the data came from
    diverged: str = ""  # "the loss became NaN at step 4"
    diverged_step: int = 0
    stopped: str = ""
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return max((r["step"] for r in self.rows if r.get("split") == "train"), default=0)

    @property
    def losses(self) -> np.ndarray:
        return np.array([r["loss"] for r in self.rows if r.get("split") == "train"], float)

    def final_loss(self, last: int = 20) -> float:
        """The mean training loss over the last `last` steps (NaN if the run diverged first)."""
        losses = self.losses
        return float(np.mean(losses[-last:])) if len(losses) else math.nan

    @property
    def grad_norms(self) -> np.ndarray:
        """(snapshots, layers)."""
        return np.array([s.grad_norm for s in self.snapshots], float)

    @property
    def inactive(self) -> np.ndarray:
        """(snapshots, hidden layers)."""
        return np.array([s.inactive for s in self.snapshots], float)


def test(model: Net, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2500) -> dict:
    """Cross-entropy on the model's outputs (as the training loss sees them) and accuracy."""
    result = evaluate(model, x, y, batch_size=batch_size)
    model.train()  # `evaluate` leaves it in eval mode; training goes on
    return result


def train_diagnosis(spec: DiagnosisSpec, job: Job | None = None, ds=None) -> DiagnosisResult:
    from .. import data

    t0 = time.perf_counter()
    setup = setup_of(spec)
    ds = ds or data.load("mnist")
    x, y = training_subset(ds, spec.n_train, spec.seed, setup.sort_labels)
    x_test, y_test = scaled_for_test(setup, ds.x_test), ds.y_test
    per_epoch = max(1, len(x) // spec.batch_size)  # the last, partial batch is dropped: every step's batch is as large
    cfg = TrainConfig(optimizer=setup.optimizer, lr=setup.lr, batch_size=spec.batch_size, epochs=spec.epochs,
                      schedule="constant", seed=spec.seed, log_every=1)
    model = build(spec, ds.n_classes, ds.pixel_stats, x[0].numel())
    probe, snapshots, snap_at = Probe(model), [], snapshot_steps(per_epoch * spec.epochs)

    def snapshot(step: int, loss: float | None) -> None:
        """After backward, before the optimizer step, at the chosen steps: every layer pictured."""
        if step not in snap_at:
            return
        snap = take_snapshot(model, probe, step, step / per_epoch, loss)
        snapshots.append(snap)
        if job:
            job.metric(step=step, epoch=snap.epoch, split="layers",
                       **{f"grad_norm_{i + 1}": g for i, g in enumerate(snap.grad_norm)},
                       **{f"inactive_{i + 1}": d for i, d in enumerate(snap.inactive)})
            job.artifact("snapshots", tuple(snapshots))

    # factor=None: only NaN, infinity or a 10,000-fold jump ends a run. A slow 10-fold rise is
    # a symptom to watch here, not a reason to stop.
    watch = LossWatch(setup.lr, factor=None)
    loop = Loop(model, cfg, job, steps_per_epoch=per_epoch, watch=watch, after_backward=snapshot)
    gen = torch.Generator().manual_seed(spec.seed)

    def batches(epoch: int):
        order = torch.randperm(len(x), generator=gen) if setup.shuffle else torch.arange(len(x))
        return ((x[idx], y[idx]) for idx in order[:per_epoch * spec.batch_size].split(spec.batch_size))

    if job:
        job.log(f"{len(x):,} training images, {spec.epochs} epochs of {per_epoch} steps")
    diverged, diverged_step, stopped = "", 0, ""
    try:  # val_: the test images, as scaled
        stopped = loop.run(batches, classify_step(model, F.cross_entropy, loop.device),
                           validate=lambda: test(model, x_test, y_test)).stopped
    except TrainingDiverged:  # a finding here, not a failure: the page shows where it went
        v = watch.last
        what = ("became NaN" if math.isnan(v) else "became infinite") if not math.isfinite(v) else \
            f"exploded from {watch.first:.3g} to {v:.3g}"
        diverged, diverged_step = f"the loss {what} at step {watch.step}", watch.step
        if job:
            job.log(f"diverged: {diverged}")
    probe.remove()
    with np.errstate(all="ignore"):
        tr, te = test(model, x, y), test(model, x_test, y_test)
    first = watch.first
    return DiagnosisResult(spec, model.eval(), loop.history.in_order(), snapshots, layer_names(model),
                           first if first is not None else math.nan, tr["acc"], te["acc"], te["loss"],
                           list(ds.classes), ds.summary(), diverged, diverged_step, stopped,
                           time.perf_counter() - t0)


# --- the model's graph ------------------------------------------------------------------------------

def graph_dot(spec: DiagnosisSpec, in_features: int = 784, n_classes: int = 10) -> str:
    """The network as a Graphviz DOT graph, top to bottom: one box per step from pixels to loss."""
    s = setup_of(spec)
    act = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}.get(s.activation, s.activation)
    init = {"default": "", "zero": " · init: all 0", "normal": f" · init: N(0, {s.init_std:g}²)"}[s.init]
    scale = "(x − mean) / std" if s.inputs == "standardised" else "× 255 (raw pixels)"
    nodes = [("input", f"input: {in_features} pixels", "ellipse"), ("scale", scale, "box")]
    widths = [in_features, spec.hidden, spec.hidden, n_classes]
    for i in range(3):
        hidden = i < 2
        label = f"Linear {widths[i]}→{widths[i + 1]}{' → ' + act if hidden else ''}{init}"
        nodes.append((f"layer{i + 1}", f"layer {i + 1}: {label}", "box"))
    if s.softmax_output:
        nodes.append(("softmax", "Softmax", "box"))
    nodes.append(("loss", "CrossEntropyLoss (log-softmax + NLL)", "ellipse"))
    lines = ["digraph G {", '  node [fontname="Helvetica", fontsize=11, style="rounded,filled", fillcolor="#eef2f7", '
             "height=0.3];", "  edge [arrowsize=0.6];"]
    lines += [f'  {name} [label="{label}", shape={shape}];' for name, label, shape in nodes]
    lines += [f"  {a} -> {b};" for (a, _, _), (b, _, _) in zip(nodes, nodes[1:])]
    lines.append("}")
    return "\n".join(lines)


# --- as a stored run ----------------------------------------------------------------------------------

def _finite(v: float):
    return v if v is not None and math.isfinite(v) else None


def _snapshot_arrays(snapshots: list[Snapshot]) -> dict:
    """Every snapshot's figures as arrays, one row per snapshot: each layer's histograms by kind."""
    n = len(snapshots)
    arrays = {"steps": np.array([s.step for s in snapshots], np.int64),
              "epochs": np.array([s.epoch for s in snapshots], np.float64),
              "snap_loss": np.array([s.loss for s in snapshots], np.float64),
              "grad_norm": np.array([s.grad_norm for s in snapshots], float).reshape(n, -1),
              "inactive": np.array([s.inactive for s in snapshots], float).reshape(n, -1)}
    layers = len(snapshots[0].grad_norm) if snapshots else 0
    for kind in KINDS:
        for i in range(layers):
            arrays[f"{kind}.{i}.edges"] = np.array([s.edges[kind][i] for s in snapshots], np.float64).reshape(n, -1)
            arrays[f"{kind}.{i}.counts"] = np.array([s.counts[kind][i] for s in snapshots], np.int64).reshape(n, -1)
            arrays[f"{kind}.{i}.nonfinite"] = np.array([s.nonfinite[kind][i] for s in snapshots], np.int64)
    return arrays


def _snapshots_of(spec: DiagnosisSpec, saved: Saved) -> list[Snapshot]:
    a, n_layers = saved.arrays, len(saved.summary["layers"])
    return [Snapshot(int(a["steps"][j]), float(a["epochs"][j]), float(a["snap_loss"][j]),
                     [float(v) for v in a["grad_norm"][j]], [float(v) for v in a["inactive"][j]],
                     {k: [a[f"{k}.{i}.counts"][j] for i in range(n_layers)] for k in KINDS},
                     {k: [a[f"{k}.{i}.edges"][j] for i in range(n_layers)] for k in KINDS},
                     {k: [int(a[f"{k}.{i}.nonfinite"][j]) for i in range(n_layers)] for k in KINDS})
            for j in range(len(a["steps"]))]


def _nan(v):
    return math.nan if v is None else v


CODEC = Codec(DiagnosisResult,
              models={"model": lambda spec, s: Net(setup_of(spec), s.get("in_features", 784), spec.hidden,
                                                   len(s["classes"]))},
              headline=lambda r: r.diverged or f"{r.test_acc:.1%} test accuracy",  # the brief names the mystery
              extra=lambda r: {"final_loss": _finite(r.final_loss()), "case": r.spec.case, "fixed": r.spec.fixed,
                               "in_features": r.model.config["in_features"]},
              # JSON has no NaN: a loss that became NaN is stored as null, and read back as NaN
              forms={"snapshots": Form(_snapshot_arrays, _snapshots_of, whole=True),
                     "rows": Form(lambda rows: rows, lambda rows: [{k: _nan(v) for k, v in r.items()} for r in rows])})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: DiagnosisSpec) -> str:
    which = "fixed" if spec.fixed else "as given"
    return (f"{mystery(spec.case) if spec.case in CASES else spec.case} ({which}) · {spec.n_train:,} images · "
            f"784-{spec.hidden}-{spec.hidden}-10 · {spec.epochs} epochs")


def work(spec: DiagnosisSpec):
    from ..limits import Work

    return Work(spec.epochs, "epoch", spec.n_train, "training images")


def cost(spec: DiagnosisSpec):
    """Memory and step time of one batch (`dlplay.costs`) with the case's optimizer, and the run's
    copy of its training images."""
    from ..costs import MB, torch_cost

    setup = setup_of(spec)  # not `build`: it seeds the process's generator, which runs may be drawing from
    return torch_cost(lambda n: Net(setup, 784, spec.hidden, 10), lambda b, n: (torch.zeros(b, 784),),
                      batch=spec.batch_size, optimizer=setup.optimizer,
                      lower="the units per hidden layer, the batch size or the training images",
                      data_mb=spec.n_train * 784 * 4 / MB
                      ).with_steps(spec.epochs * max(1, spec.n_train // spec.batch_size))


LESSON = Lesson(page="diag", figure=Figure("test_acc", "test accuracy", percent=True), spec_type=DiagnosisSpec,
                train=lambda spec, job: train_diagnosis(spec, job), save=save_result, load=load_result,
                brief=brief, curves=("loss", "acc"), work=work, cost=cost)

__all__ = ["BASE", "CASES", "LESSON", "LOG10", "Case", "DiagnosisResult", "DiagnosisSpec", "Net",
           "Probe", "Setup", "Snapshot", "graph_dot", "histogram", "guesses", "load_result", "mystery", "save_result",
           "setup_of", "snapshot_steps", "train_diagnosis"]
