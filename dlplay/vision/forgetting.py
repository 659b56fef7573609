"""Catastrophic forgetting: a network trained on task A, then on task B, forgets A.

A `fit` callback (`BothTasks`, the assignment's custom callback) measures the model on a
fixed sample of each task's test set after every epoch of both phases, so the page can
draw A's accuracy falling while B is learned. Four remedies, each its own run:

- **rehearsal**: a small buffer of A's training images, mixed into every batch of B;
- **EWC**, elastic weight consolidation (Kirkpatrick et al., 2017): B's loss plus
  λ/2 · Σᵢ Fᵢ (θᵢ − θ*ᵢ)², which pulls every weight back towards its value θ* after A in
  proportion to Fᵢ, the diagonal of the Fisher information of A's log-likelihood;
- **freezing** the lower layers during B: only the upper layers and the head learn B;
- a **lower learning rate** for B: smaller steps away from A's solution.

Task pairs: MNIST digits 0–4 → 5–9 with one 10-class head (class-incremental: the model
learns to answer only 5–9, the dramatic case), MNIST → permuted MNIST (the same digits
with a fixed shuffle of the pixels), MNIST → Fashion-MNIST.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.colors import qualitative
from torch import nn

from .. import data
from ..jobs import Cancelled, Job, Part
from ..models.mlp import Standardize
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import TrainConfig, evaluate, fit

PAIRS = {"split": "MNIST digits 0–4 → digits 5–9", "permuted": "MNIST → permuted MNIST",
         "fashion": "MNIST → Fashion-MNIST"}
TASK_NAMES = {"split": ("digits 0–4", "digits 5–9"), "permuted": ("MNIST", "permuted MNIST"),
              "fashion": ("MNIST", "Fashion-MNIST")}
MODELS = {"mlp": "MLP", "cnn": "small CNN"}
REMEDIES = {"none": "no remedy", "rehearsal": "rehearsal", "ewc": "EWC", "freeze": "freeze lower layers",
            "lower_lr": "lower learning rate for B"}


@dataclass
class ForgetSpec:
    pair: str = "split"  # see PAIRS
    model: str = "mlp"  # "mlp" | "cnn"
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden layers
    remedy: str = "none"  # see REMEDIES
    buffer: int = 200  # rehearsal: A's training images kept
    ewc_lambda: float = 1000.0  # EWC: the penalty's weight λ
    fisher_n: int = 500  # EWC: A's training images the Fisher information is averaged over
    frozen: int = 1  # freeze: lower weight layers frozen during B (the head always learns)
    lr_factor: float = 0.1  # lower learning rate: B's learning rate is A's times this
    n_train: int = 5000  # training images per task (0 = all)
    n_eval: int = 1000  # test images per task measured after every epoch (the final figures use all)
    epochs_a: int = 3
    epochs_b: int = 3
    permutation_seed: int = 1  # the pixel shuffle of permuted MNIST
    # Adam at a constant rate: each task is its own `fit` (a fresh optimizer), and a one-cycle schedule would
    # warm up again at the start of B; constant keeps the phases alike and "a lower rate for B" plain.
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=1e-3, schedule="constant", batch_size=128))


class BadSetting(ValueError):
    """A setting the lesson can't train with; the message says which and why."""


def check(spec: ForgetSpec) -> str | None:
    """Why `spec` can't be trained, in words; None if it can."""
    if spec.pair not in PAIRS:
        return f"Unknown task pair “{spec.pair}”: choose one of {', '.join(PAIRS)}."
    if spec.model not in MODELS:
        return f"Unknown model “{spec.model}”: choose mlp or cnn."
    if spec.remedy not in REMEDIES:
        return f"Unknown remedy “{spec.remedy}”: choose one of {', '.join(REMEDIES)}."
    if spec.epochs_a < 1 or spec.epochs_b < 1:
        return "Train each task for at least one epoch."
    if spec.remedy == "rehearsal" and spec.buffer < 1:
        return "Rehearsal needs a buffer of at least one image of task A."
    if spec.remedy == "lower_lr" and not 0 < spec.lr_factor <= 1:
        return f"B's learning rate factor must be in (0, 1], not {spec.lr_factor:g}."
    if spec.remedy == "ewc" and spec.ewc_lambda < 0:
        return f"EWC's λ must be 0 or more, not {spec.ewc_lambda:g}."
    if not spec.train.lr > 0:
        return f"The learning rate must be positive, not {spec.train.lr:g}."
    return None


# --- the two tasks ------------------------------------------------------------------------------

@dataclass
class Task:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_eval: torch.Tensor  # a fixed sample of the test set, measured after every epoch
    y_eval: torch.Tensor


def permutation(seed: int, n_pixels: int = 28 * 28) -> torch.Tensor:
    return torch.randperm(n_pixels, generator=torch.Generator().manual_seed(seed))


def permute(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """The same images with their pixels shuffled by `perm` (the same shuffle for every image)."""
    return x.flatten(1)[:, perm].view_as(x)


def _subset(x, y, n: int, seed: int):
    if n and n < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
        return x[idx], y[idx]
    return x, y


def _task(name, x_tr, y_tr, x_te, y_te, spec: ForgetSpec, seed: int, transform=None) -> Task:
    x_tr, y_tr = _subset(x_tr, y_tr, spec.n_train, seed)
    x_ev, y_ev = _subset(x_te, y_te, spec.n_eval, seed + 1)
    if transform is not None:
        x_tr, x_te, x_ev = transform(x_tr), transform(x_te), transform(x_ev)
    return Task(name, x_tr, y_tr, x_te, y_te, x_ev, y_ev)


def make_tasks(spec: ForgetSpec) -> tuple[Task, Task]:
    """Tasks A and B: their training images (`n_train` of each), test sets and the fixed
    test samples the curves are measured on."""
    mnist = data.load("mnist")
    seed = spec.train.seed
    name_a, name_b = TASK_NAMES[spec.pair]
    if spec.pair == "split":
        def part(x, y, keep):
            return x[keep(y)], y[keep(y)]

        low, high = (lambda y: y < 5), (lambda y: y >= 5)
        a = _task(name_a, *part(mnist.x_train, mnist.y_train, low), *part(mnist.x_test, mnist.y_test, low), spec, seed)
        b = _task(name_b, *part(mnist.x_train, mnist.y_train, high), *part(mnist.x_test, mnist.y_test, high), spec,
                  seed + 10)
        return a, b
    a = _task(name_a, mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test, spec, seed)
    if spec.pair == "permuted":
        perm = permutation(spec.permutation_seed)
        b = _task(name_b, mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test, spec, seed + 10,
                  transform=lambda x: permute(x, perm))
    else:
        fashion = data.load("fashion_mnist")
        b = _task(name_b, fashion.x_train, fashion.y_train, fashion.x_test, fashion.y_test, spec, seed + 10)
    return a, b


# --- the model ------------------------------------------------------------------------------------

def build(spec: ForgetSpec, norm: tuple[float, float] = (0.1307, 0.3081)) -> nn.Sequential:
    """One network for both tasks with one 10-class head; inputs standardised with A's statistics."""
    layers: list[tuple[str, nn.Module]] = [("scale", Standardize(*norm))]
    if spec.model == "cnn":
        layers += [("conv1", nn.Conv2d(1, 16, 3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                   ("conv2", nn.Conv2d(16, 32, 3, padding=1)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                   ("flatten", nn.Flatten()), ("fc1", nn.Linear(32 * 7 * 7, 128)), ("relu3", nn.ReLU()),
                   ("head", nn.Linear(128, 10))]
    else:
        layers.append(("flatten", nn.Flatten()))
        width = 28 * 28
        for i, units in enumerate(spec.hidden, 1):
            layers += [(f"fc{i}", nn.Linear(width, units)), (f"relu{i}", nn.ReLU())]
            width = units
        layers.append(("head", nn.Linear(width, 10)))
    return nn.Sequential(OrderedDict(layers))


def weight_layers(model: nn.Sequential) -> list[str]:
    """Names of the layers with weights, from the input up; the last is the head."""
    return [name for name, m in model.named_children() if isinstance(m, (nn.Linear, nn.Conv2d))]


def freeze_lower(model: nn.Sequential, n: int) -> list[str]:
    """Stop the lowest `n` weight layers learning (never the head); returns their names."""
    names = weight_layers(model)[:-1][:max(0, n)]
    for name in names:
        getattr(model, name).requires_grad_(False)
    return names


def frozen(model: nn.Sequential) -> list[str]:
    """The weight layers that are not learning now."""
    return [n for n in weight_layers(model) if not any(p.requires_grad for p in getattr(model, n).parameters())]


def unfreeze(model: nn.Module) -> None:
    model.requires_grad_(True)


# --- remedies as terms of B's loss -----------------------------------------------------------------

class Rehearsal:
    """Task A's images kept in a small buffer: every batch of B is joined by as many buffered
    images (all of them if the buffer is smaller), and the loss is the mean over the mixed batch."""

    def __init__(self, a: Task, size: int, per_batch: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(a.x_train), generator=gen)[:size]
        self.x, self.y = a.x_train[keep], a.y_train[keep]
        self.per_batch = min(per_batch, len(self.x))
        self.gen = gen

    def loss_fn(self, model: nn.Module) -> Callable:
        def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if not torch.is_grad_enabled():  # measuring, not training: B's own loss
                return F.cross_entropy(out, y)
            idx = torch.randint(len(self.x), (self.per_batch,), generator=self.gen)
            xa, ya = self.x[idx].to(out.device), self.y[idx].to(out.device)
            # The sum over new and old images over their number: the mean loss of one joined batch.
            total = F.cross_entropy(out, y, reduction="sum") + F.cross_entropy(model(xa), ya, reduction="sum")
            return total / (len(y) + len(ya))

        return loss


def fisher_diagonal(model: nn.Module, x: torch.Tensor, labels: str = "sampled", y: torch.Tensor | None = None,
                    seed: int = 0, chunk: int = 100) -> dict[str, torch.Tensor]:
    """The diagonal of the Fisher information of the model's log-likelihood over the images `x`:
    Fᵢ = mean over images of (∂ log p(y|x) / ∂θᵢ)², one gradient per image (torch.func.vmap), with
    y drawn from the model's own prediction (labels="sampled", the true Fisher) or the given `y`
    (labels="true", the "empirical" Fisher). Squaring a batch's mean gradient instead would be
    wrong: the cross terms between images would cancel most of it."""
    from torch.func import functional_call, grad, vmap

    model.eval()
    device = next(model.parameters()).device
    params = {n: p.detach() for n, p in model.named_parameters()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def log_likelihood(p, xi, yi):
        logits = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return -F.cross_entropy(logits, yi.unsqueeze(0))  # log p(y | x)

    per_image = vmap(grad(log_likelihood), in_dims=(None, 0, 0))
    gen = torch.Generator().manual_seed(seed)
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    for start in range(0, len(x), chunk):
        xb = x[start:start + chunk].to(device)
        if labels == "sampled":
            with torch.no_grad():
                probs = F.softmax(model(xb), 1).cpu()
            yb = torch.multinomial(probs, 1, generator=gen).squeeze(1).to(device)
        else:
            yb = y[start:start + chunk].to(device)
        for n, g in per_image(params, xb, yb).items():
            total[n] += g.pow(2).sum(0)
    return {n: t / max(1, len(x)) for n, t in total.items()}


class EWC:
    """Elastic weight consolidation: λ/2 · Σᵢ Fᵢ (θᵢ − θ*ᵢ)² added to B's loss, θ* the weights
    after A and F their Fisher information on A (`fisher_diagonal`)."""

    def __init__(self, model: nn.Module, fisher: dict[str, torch.Tensor], lam: float):
        self.anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.fisher, self.lam = fisher, lam

    def penalty(self, model: nn.Module) -> torch.Tensor:
        terms = [(self.fisher[n] * (p - self.anchor[n]).pow(2)).sum() for n, p in model.named_parameters()]
        return 0.5 * self.lam * torch.stack(terms).sum()

    def loss_fn(self, model: nn.Module) -> Callable:
        def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            base = F.cross_entropy(out, y)
            return base + self.penalty(model) if torch.is_grad_enabled() else base

        return loss


# --- the assignment's callback ----------------------------------------------------------------------

class BothTasks:
    """`fit` callback: after every epoch, the accuracy on the fixed test samples of both tasks.
    One instance sees both phases; `phase(name, offset)` says which one trains now, so epochs
    count on across them (task B's first epoch is epoch `epochs_a` + 1)."""

    def __init__(self, a: Task, b: Task, job: Job | None = None):
        self.a, self.b, self.job = a, b, job
        self.points: list[dict] = []
        self.name, self.offset = "A", 0

    def phase(self, name: str, offset: int) -> None:
        self.name, self.offset = name, offset

    def measure(self, model: nn.Module, epoch: int) -> dict:
        point = {"epoch": self.offset + epoch, "phase": self.name,
                 "acc_a": evaluate(model, self.a.x_eval, self.a.y_eval)["acc"],
                 "acc_b": evaluate(model, self.b.x_eval, self.b.y_eval)["acc"]}
        self.points.append(point)
        if self.job is not None:
            self.job.metric(split="epoch", **point)
        return point

    def on_epoch_end(self, model: nn.Module, epoch: int, row: dict) -> None:
        self.measure(model, epoch)


def in_task(note: str, task: str) -> str:
    """fit's "stopped at epoch 2 of 3 (step 80)" saying which task: "stopped in task B at epoch 2…"."""
    return note.replace("stopped at", f"stopped in task {task} at", 1)


def phase_part(job: Job, name: str, offset: int, start: float, share: float) -> Part:
    """The run's job as one phase's `fit` sees it: its rows placed after the earlier phase's
    epochs and tagged with the task, its progress a share of the whole run, its stop note
    naming the task."""
    return Part(job, f"task {name}", start=start, share=share, tag={"phase": name}, shift={"epoch": offset},
                stop=lambda note: in_task(note, name))


# --- the run ----------------------------------------------------------------------------------------

@dataclass
class ForgetResult:
    model: nn.Sequential
    spec: ForgetSpec
    points: list[dict]  # {"epoch", "phase", "acc_a", "acc_b"} after every epoch, epoch 0 before training
    a_after_a: float | None  # on A's whole test set, after training on A
    b_after_a: float | None  # B before it was learned: what A's features give it
    a_after_b: float | None  # … after training on B: what is left of A
    b_after_b: float | None
    seconds: float  # training both phases, the remedy's own work (EWC's Fisher) included
    stopped: str = ""
    tasks: tuple[str, str] = ("A", "B")
    frozen_layers: tuple[str, ...] = ()

    @property
    def fall(self) -> float | None:
        """How many points of A's accuracy training on B cost."""
        if self.a_after_a is None or self.a_after_b is None:
            return None
        return 100 * (self.a_after_a - self.a_after_b)


def _full(model, task: Task) -> float:
    return evaluate(model, task.x_test, task.y_test)["acc"]


def train_forgetting(spec: ForgetSpec, job: Job | None = None) -> ForgetResult:
    """Train on A for `epochs_a` epochs, then on B for `epochs_b` with the remedy, measuring
    both tasks after every epoch. Stop keeps what was learned, in either phase."""
    if (problem := check(spec)) is not None:
        raise BadSetting(problem)
    a, b = make_tasks(spec)
    torch.manual_seed(spec.train.seed)
    model = build(spec, (float(a.x_train.mean()), float(a.x_train.std())))
    if job:
        job.log(f"task A: {a.name}, {len(a.x_train):,} training images; task B: {b.name}, {len(b.x_train):,}")
    cb = BothTasks(a, b, job)
    cb.measure(model, 0)  # the start: both at chance
    total = spec.epochs_a + spec.epochs_b
    t0 = time.perf_counter()
    result = ForgetResult(model, spec, cb.points, None, None, None, None, 0.0, tasks=(a.name, b.name))

    cfg_a = replace(spec.train, epochs=spec.epochs_a)
    phase = phase_part(job, "A", 0, 0.0, spec.epochs_a / total) if job else None
    history = fit(model, (a.x_train, a.y_train), None, cfg_a, job=phase, callbacks=(cb,))
    result.a_after_a, result.b_after_a = _full(model, a), _full(model, b)
    if history.stopped:
        return _finish(result, in_task(history.stopped, "A"), t0)

    loss_fn, cfg_b = remedy_for_b(spec, model, a)
    result.frozen_layers = tuple(frozen(model))
    cb.phase("B", spec.epochs_a)
    phase = phase_part(job, "B", spec.epochs_a, spec.epochs_a / total, spec.epochs_b / total) if job else None
    try:
        history = fit(model, (b.x_train, b.y_train), None, cfg_b, job=phase, loss_fn=loss_fn, callbacks=(cb,))
    except Cancelled:  # Stop before B's first step: A's model is what there is
        note = f"stopped before task B began (after {spec.epochs_a} epochs of task A)"
        job.stopped_at(note)
        unfreeze(model)
        return _finish(result, note, t0)
    unfreeze(model)
    result.a_after_b, result.b_after_b = _full(model, a), _full(model, b)
    return _finish(result, in_task(history.stopped, "B"), t0)


def remedy_for_b(spec: ForgetSpec, model: nn.Sequential, a: Task) -> tuple[Callable, TrainConfig]:
    """B's loss function and training settings with the spec's remedy applied to `model`."""
    cfg = replace(spec.train, epochs=spec.epochs_b)
    if spec.remedy == "rehearsal":
        return Rehearsal(a, spec.buffer, cfg.batch_size, spec.train.seed).loss_fn(model), cfg
    if spec.remedy == "ewc":
        x, _ = _subset(a.x_train, a.y_train, spec.fisher_n, spec.train.seed + 2)
        return EWC(model, fisher_diagonal(model, x, seed=spec.train.seed), spec.ewc_lambda).loss_fn(model), cfg
    if spec.remedy == "freeze":
        freeze_lower(model, spec.frozen)
    if spec.remedy == "lower_lr":
        cfg = replace(cfg, lr=cfg.lr * spec.lr_factor)
    return F.cross_entropy, cfg


def _finish(result: ForgetResult, stopped: str, t0: float) -> ForgetResult:
    result.seconds = time.perf_counter() - t0
    result.stopped = stopped
    result.model = result.model.cpu().eval()
    return result


# --- figures ----------------------------------------------------------------------------------------

A_COLOR, B_COLOR = "#e4572e", "#2e86ab"


def _percent_axes(fig: go.Figure, epochs_a: int, title: str, epochs: int) -> go.Figure:
    """Accuracy in percent over the whole run's epochs, drawn from the start: B's part lies ahead."""
    fig.add_vline(x=epochs_a, line_dash="dot", line_color="#888", annotation_text="task B starts",
                  annotation_position="top right")
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=50, b=10), xaxis_title="epoch",
                      yaxis=dict(title="test accuracy", range=[0, 1.02], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(dtick=1, range=[-0.2, epochs + 0.2])
    return fig


def tasks_figure(points: list[dict], spec: ForgetSpec, title: str) -> go.Figure:
    """Both tasks' accuracy after every epoch; a dotted line where B's training starts."""
    name_a, name_b = TASK_NAMES.get(spec.pair, ("A", "B"))
    fig = go.Figure()
    for key, label, color in (("acc_a", f"task A: {name_a}", A_COLOR), ("acc_b", f"task B: {name_b}", B_COLOR)):
        fig.add_scatter(x=[p["epoch"] for p in points], y=[p[key] for p in points], mode="lines+markers",
                        name=label, line=dict(color=color, width=2.5))
    return _percent_axes(fig, spec.epochs_a, title, spec.epochs_a + spec.epochs_b)


def task_points(rows: list[dict]) -> list[dict]:
    """The callback's measurements among a run's metric rows."""
    return [r for r in rows if "acc_a" in r]


def overlay_figure(runs: list, specs: list[ForgetSpec], metrics: dict[int, list[dict]]) -> go.Figure:
    """Task A's curve of every run (solid), task B's (dotted, thin), one colour per run."""
    fig = go.Figure()
    for i, (run, spec) in enumerate(zip(runs, specs)):
        points = task_points(metrics.get(run.id, []))
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        label = f"run {run.id} · {remedy_label(spec)}"
        fig.add_scatter(x=[p["epoch"] for p in points], y=[p["acc_a"] for p in points], mode="lines+markers",
                        name=f"{label} · task A", line=dict(color=color, width=2.5))
        fig.add_scatter(x=[p["epoch"] for p in points], y=[p["acc_b"] for p in points], mode="lines",
                        name=f"{label} · task B", line=dict(color=color, width=1.2, dash="dot"))
    ids = ", ".join(str(r.id) for r in runs)
    first = specs[0] if specs else ForgetSpec()
    title = f"Task A (solid) and B (dotted) — run{'s' if len(runs) != 1 else ''} {ids}"
    return _percent_axes(fig, first.epochs_a, title, first.epochs_a + first.epochs_b)


def remedy_label(spec: ForgetSpec) -> str:
    if spec.remedy == "rehearsal":
        return f"rehearsal of {spec.buffer:,} images"
    if spec.remedy == "ewc":
        return f"EWC λ = {spec.ewc_lambda:g}"
    if spec.remedy == "freeze":
        return f"freeze the lowest {spec.frozen} layer{'s' if spec.frozen != 1 else ''}"
    if spec.remedy == "lower_lr":
        return f"B at {spec.lr_factor:g}× the learning rate"
    return REMEDIES.get(spec.remedy, spec.remedy)


# --- several remedies one after another (Sequence from dlplay.vision.compare) -----------------------

def remedy_specs(base: ForgetSpec, remedies: list[str]) -> list[ForgetSpec]:
    """The same setup once per remedy, for a comparison on equal terms."""
    return [replace(base, remedy=r) for r in remedies]


COLUMNS = ["remedy", "run", "state", "A after A", "A after B", "fall (points)", "B after B", "seconds"]


def table(runs: list, specs: list[ForgetSpec]) -> pd.DataFrame:
    """One row per remedy: accuracy on A's and B's whole test sets after each phase, A's fall
    in points, training seconds. A run still training or waiting shows what it has so far."""
    rows = []
    for i, spec in enumerate(specs):
        run = runs[i] if i < len(runs) else None
        s = run.summary if run is not None else {}
        fall = (100 * (s["a_after_a"] - s["a_after_b"]) if s.get("a_after_a") is not None
                and s.get("a_after_b") is not None else None)
        rows.append({
            "remedy": remedy_label(spec),
            "run": run.id if run is not None else None,
            "state": (run.status if run.state in ("stopped", "failed") else run.state) if run else "waiting",
            "A after A": s.get("a_after_a"), "A after B": s.get("a_after_b"),
            "fall (points)": round(fall, 1) if fall is not None else None,
            "B after B": s.get("b_after_b"),
            "seconds": round(s["seconds"], 1) if s.get("seconds") else None,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


# --- as a stored run (dlplay.runs) -------------------------------------------------------------------

def _headline(result: ForgetResult) -> str:
    if result.a_after_b is not None:
        return f"task A {result.a_after_a:.1%} → {result.a_after_b:.1%} after B"
    if result.a_after_a is not None:
        return f"task A {result.a_after_a:.1%} (B not trained)"
    return "stopped in task A"


CODEC = Codec(ForgetResult, models={"model": lambda spec, s: build(spec)}, headline=_headline,
              extra=lambda r: {"fall": r.fall})
save_result, load_result = CODEC.save, CODEC.load


def model_brief(spec: ForgetSpec) -> str:
    return "small CNN" if spec.model == "cnn" else f"MLP {'-'.join(map(str, spec.hidden))}"


def brief(spec: ForgetSpec) -> str:
    images = f"{spec.n_train:,} images per task" if spec.n_train else "all images"
    return (f"{PAIRS.get(spec.pair, spec.pair)} · {remedy_label(spec)} · {model_brief(spec)} · {images} · "
            f"{spec.epochs_a} + {spec.epochs_b} epochs")


def images_per_task(spec: ForgetSpec) -> int:
    """Training images in the larger of the two tasks (what one epoch costs at most)."""
    y = data.load("mnist").y_train
    full = int(max((y < 5).sum(), (y >= 5).sum())) if spec.pair == "split" else len(y)
    return min(spec.n_train, full) if spec.n_train else full


def work(spec: ForgetSpec):
    """Training examples seen: epochs of both tasks × images per task (rehearsal's buffered
    images ride along in B's batches: twice the images per step)."""
    from ..limits import Work

    epochs = spec.epochs_a + spec.epochs_b * (2 if spec.remedy == "rehearsal" else 1)
    return Work(epochs, "epoch", images_per_task(spec), "training images per task")


LESSON = Lesson(page="forget", figure=Figure("a_after_b", "task A accuracy after task B", percent=True),
                spec_type=ForgetSpec, train=lambda spec, job: train_forgetting(spec, job), save=save_result,
                load=load_result, brief=brief, curves=("acc_a", "acc_b"), work=work)


FISHER_CHUNK = 100  # images `fisher_diagonal` takes a gradient of at once


def cost(spec: ForgetSpec):
    """Memory and step time of one batch of task B (`dlplay.costs`) — rehearsal joins as many buffered
    images to it, EWC keeps A's weights and their Fisher information beside the model, after taking a
    gradient per image for `FISHER_CHUNK` images at once — and both tasks' images."""
    from ..costs import MB, torch_cost

    batch, images = spec.train.batch_size, images_per_task(spec)
    joined = batch + (min(batch, spec.buffer) if spec.remedy == "rehearsal" else 0)
    step = torch_cost(lambda n: build(spec), lambda b, n: (torch.zeros(b, 1, 28, 28),), batch=joined,
                      optimizer=spec.train.optimizer, lower="the training images per task",
                      data_mb=(2 * images + 10_000) * 28 * 28 * 4 / MB  # A's and B's, and the test images
                      ).with_steps((spec.epochs_a + spec.epochs_b) * -(-images // batch))
    if spec.remedy != "ewc":
        return step
    return replace(step, training_mb=step.training_mb + 2 * step.weights_mb,
                   activations_mb=max(step.activations_mb, FISHER_CHUNK * step.weights_mb))


LESSON.cost = cost
