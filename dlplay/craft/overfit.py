"""The overfitting lab: a 3-layer network (two hidden layers and the output) trained on few
examples until it remembers them, then the same network with L1, L2, dropout or early
stopping, each measured by the gap between training and validation accuracy.

Data: AG News articles as TF-IDF vectors (the vectorizer fitted on the training texts only,
so no validation word leaks in) or MNIST pixels, a small training subset either way.
L1 is a proximal step after each optimizer step — soft-thresholding the weights,
w ← sign(w)·max(|w| − lr·l1, 0) — because a plain L1 subgradient only makes weights
hover around zero, never reach it; the lab's histograms show L1's exact zeros.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from .. import data
from ..jobs import Job
from ..models.mlp import MLP
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import TrainConfig, evaluate, fit

DATASETS = {"ag_news": "AG News articles (TF-IDF)", "mnist": "MNIST digits (pixels)"}
N_VAL = 1000  # validation examples held out of the training split


@dataclass
class OverfitSpec:
    dataset: str = "ag_news"  # "ag_news" | "mnist"
    n_train: int = 1000  # training examples
    max_features: int = 5000  # AG News: TF-IDF vocabulary size
    hidden: tuple[int, ...] = (256, 256)
    l1: float = 0.0  # proximal L1 strength (0 = off)
    l2: float = 0.0  # weight decay (0 = off)
    dropout: float = 0.0  # after each hidden layer (0 = off)
    patience: int = 0  # early stopping on validation loss (0 = off)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        optimizer="adam", lr=1e-3, batch_size=64, epochs=20, schedule="constant"))


def preset(name: str = "overfit", dataset: str = "mnist") -> OverfitSpec:
    """The one-click setups. "overfit": a big network, few examples, no regularisation — it
    reaches 100 % on its 500 examples while validation stays far below (MNIST: 88.5 %,
    AG News: 83.8 %) and the validation loss climbs as the network grows sure of its
    memorised answers."""
    if name == "overfit":
        return OverfitSpec(dataset=dataset, n_train=500, max_features=5000, hidden=(512, 512))
    raise ValueError(f"unknown preset {name!r}")


def regularisers(spec: OverfitSpec) -> str:
    """The switched-on regularisers in words: "L1 1e-4 · dropout 0.5", or "none"."""
    parts = [f"L1 {spec.l1:g}" if spec.l1 else "", f"L2 {spec.l2:g}" if spec.l2 else "",
             f"dropout {spec.dropout:g}" if spec.dropout else "",
             f"early stopping (patience {spec.patience})" if spec.patience else ""]
    return " · ".join(p for p in parts if p) or "none"


# --- data -----------------------------------------------------------------------------------------

@dataclass
class Features:
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    classes: list[str]
    summary: str  # where the data came from
    norm: tuple[float, float] = (0.0, 1.0)


def _split(n: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(validation, training) indices: a fixed validation part, then the first n_train of the rest."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(N_VAL, n // 5)
    return order[:n_val], order[n_val:n_val + n_train]


def load_data(name: str) -> data.ImageData:
    """The corpus or image set (raises DatasetUnavailable with what to put where)."""
    if name == "ag_news":
        from ..text import corpus
        return corpus.load("ag_news")
    if name == "mnist":
        return data.load("mnist")
    raise ValueError(f"unknown dataset {name!r}; choose from {list(DATASETS)}")


def features(spec: OverfitSpec) -> Features:
    ds = load_data(spec.dataset)
    if spec.dataset == "ag_news":
        from sklearn.feature_extraction.text import TfidfVectorizer

        val_i, tr_i = _split(len(ds.train_texts), spec.n_train, spec.train.seed)
        vec = TfidfVectorizer(max_features=spec.max_features, sublinear_tf=True)
        x_tr = vec.fit_transform([ds.train_texts[i] for i in tr_i])  # training texts only: no leak
        dense = lambda m: torch.from_numpy(m.toarray().astype(np.float32))  # noqa: E731
        lab = lambda y: torch.from_numpy(np.asarray(y, np.int64))  # noqa: E731
        return Features((dense(x_tr), lab(ds.train_labels[tr_i])),
                        (dense(vec.transform([ds.train_texts[i] for i in val_i])), lab(ds.train_labels[val_i])),
                        (dense(vec.transform(ds.test_texts)), lab(ds.test_labels)), ds.classes, ds.summary())
    val_i, tr_i = _split(len(ds.x_train), spec.n_train, spec.train.seed)
    flat = lambda x: x.reshape(len(x), -1).float()  # noqa: E731
    return Features((flat(ds.x_train[tr_i]), ds.y_train[tr_i]), (flat(ds.x_train[val_i]), ds.y_train[val_i]),
                    (flat(ds.x_test), ds.y_test), ds.classes, ds.summary(), ds.pixel_stats)


# --- the regularisers fit() doesn't have ------------------------------------------------------------

def proximal_l1(strength: float):
    """After each optimizer step, soft-threshold every weight matrix: weights within lr·l1 of
    zero become exactly zero, the rest move lr·l1 towards it (biases are left alone)."""
    @torch.no_grad()
    def step(model: nn.Module, lr: float) -> None:
        shrink = lr * strength
        for p in model.parameters():
            if p.ndim > 1:
                p.copy_(p.sign() * (p.abs() - shrink).clamp_(min=0))
    return step


def linear_weights(model: nn.Module) -> list[np.ndarray]:
    return [m.weight.detach().cpu().numpy().ravel() for m in model.modules() if isinstance(m, nn.Linear)]


def zero_shares(weights: list[np.ndarray]) -> list[float]:
    return [float((w == 0).mean()) for w in weights]


# --- training ----------------------------------------------------------------------------------------

@dataclass
class OverfitResult:
    model: MLP
    spec: OverfitSpec
    rows: list[dict]  # one per epoch: train/val loss and accuracy
    best_epoch: int  # early stopping restored this epoch's weights (0: the last epoch's kept)
    train_acc: float  # of the returned model, dropout off
    val_acc: float
    test_acc: float
    val_loss: float
    train_loss: float
    classes: list[str]
    summary: str  # the data's source
    stopped: str = ""

    @property
    def gap(self) -> float:
        return self.train_acc - self.val_acc

    @property
    def loss_gap(self) -> float:
        """Validation minus training loss: where the regularisers' effect shows even when every
        training example stays right (TF-IDF on 500 articles is separable whatever the penalty)."""
        return self.val_loss - self.train_loss

    @property
    def weights(self) -> list[np.ndarray]:
        return linear_weights(self.model)

    @property
    def zeros(self) -> list[float]:
        return zero_shares(self.weights)

    @property
    def zero_share(self) -> float:
        """Exact zeros among all the weights."""
        w = self.weights
        return float(sum((x == 0).sum() for x in w) / max(1, sum(x.size for x in w)))


def build(spec: OverfitSpec, in_features: int, n_classes: int, norm=(0.0, 1.0)) -> MLP:
    return MLP(in_features, tuple(spec.hidden), n_classes, dropout=spec.dropout, norm=norm)


def train_overfit(spec: OverfitSpec, job: Job | None = None) -> OverfitResult:
    f = features(spec)
    torch.manual_seed(spec.train.seed)
    model = build(spec, f.train[0].shape[1], len(f.classes), f.norm)
    if job:
        job.log(f"{len(f.train[0]):,} training, {len(f.val[0]):,} validation, {len(f.test[0]):,} test examples; "
                f"{f.train[0].shape[1]:,} features; regularisers: {regularisers(spec)}")
    # L1 goes through the proximal step, not fit's subgradient penalty.
    cfg = replace(spec.train, l1=0.0, l2=spec.l2, early_stopping=spec.patience)
    history = fit(model, f.train, f.val, cfg, job=job, after_step=proximal_l1(spec.l1) if spec.l1 else None)
    tr, va, te = (evaluate(model, *split) for split in (f.train, f.val, f.test))
    return OverfitResult(model.eval(), spec, history.rows, history.best_epoch, tr["acc"], va["acc"], te["acc"],
                         va["loss"], tr["loss"], f.classes, f.summary, history.stopped)


# --- as a stored run ------------------------------------------------------------------------------------

CODEC = Codec(OverfitResult, models={"model": lambda spec, s: build(spec, s["in_features"], len(s["classes"]))},
              headline=lambda r: f"gap {r.gap:.1%} · val {r.val_acc:.1%}",
              # and the figures the Runs page lists, computed from the fields
              extra=lambda r: {"in_features": r.model.config["in_features"], "loss_gap": r.loss_gap, "gap": r.gap,
                               "zero_share": r.zero_share})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: OverfitSpec) -> str:
    return (f"{spec.dataset} · {spec.n_train:,} examples · {'-'.join(map(str, spec.hidden))} · "
            f"{regularisers(spec)} · {spec.train.epochs} epochs")


def work(spec: OverfitSpec):
    from ..limits import Work

    return Work(spec.train.epochs, "epoch", spec.n_train, "training examples")


def cost(spec: OverfitSpec):
    """Memory and step time of one batch (`dlplay.costs`), and the features the run holds: AG News
    as dense TF-IDF rows (training, validation and every test article), MNIST as pixel copies."""
    from ..costs import MB, torch_cost

    text = spec.dataset == "ag_news"
    width, classes = (spec.max_features, 4) if text else (784, 10)
    rows = spec.n_train + N_VAL + (len(load_data(spec.dataset).test_texts) if text else 0)
    return torch_cost(lambda n: build(spec, width, classes), lambda b, n: (torch.zeros(b, width),),
                      batch=spec.train.batch_size, optimizer=spec.train.optimizer,
                      lower="the hidden layers, the TF-IDF features or the training examples",
                      data_mb=rows * width * 4 / MB
                      ).with_steps(spec.train.epochs * -(-spec.n_train // spec.train.batch_size))


LESSON = Lesson(page="overfit", figure=Figure("test_acc", "test accuracy", percent=True), spec_type=OverfitSpec,
                train=lambda spec, job: train_overfit(spec, job), save=save_result, load=load_result, brief=brief,
                curves=("loss", "acc"), work=work, cost=cost)
