"""The training loop for the NumPy MLP: shuffled minibatches, one SGD step per batch.

Shaped like pytorch/examples' `train()` / `test()`: the loop is visible, and a
non-finite loss stops training with a hint instead of filling the charts with NaN.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from ..jobs import TrainingDiverged
from .mlp import MLP, SGD


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start: start + batch_size]


def check_finite(loss: float, step: int, lr: float) -> None:
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {step} — "
                               f"lower the learning rate (now {lr:g}) and train again")


class Guard:
    """Stops a run whose loss is NaN or infinite, or has exploded to `factor` times its
    first value: with ReLUs a too-large step often kills every unit, and the loss then
    stays finite but the run is lost all the same."""

    def __init__(self, lr: float, factor: float = 100.0):
        self.lr, self.factor, self.first, self.step = lr, factor, None, 0

    def __call__(self, loss: float) -> None:
        self.step += 1
        check_finite(loss, self.step, self.lr)
        if self.first is None:
            self.first = max(loss, 1e-3)
        elif loss > self.factor * self.first:
            raise TrainingDiverged(f"the loss exploded from {self.first:.3g} to {loss:.3g} at step {self.step} — "
                                   f"lower the learning rate (now {self.lr:g}) and train again")


def train_epoch(net: MLP, opt: SGD, x, y, batch_size: int, rng: np.random.Generator,
                on_step: Callable[[float, np.ndarray], None] | None = None, guard: Guard | None = None) -> float:
    """One pass over (x, y); returns the mean training loss. `on_step(loss, batch)` runs after each step."""
    guard = guard or Guard(opt.lr)
    total = 0.0
    for idx in minibatches(len(x), batch_size, rng):
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is caught just below, with a hint
            loss = net.loss(x[idx], y[idx])
        guard(loss)
        opt.step()
        total += loss * len(idx)
        if on_step is not None:
            on_step(loss, idx)
    return total / len(x)


def evaluate(net: MLP, x, y, batch_size: int = 2000) -> dict:
    """Mean loss (without the L2 penalty) and, for classifiers, accuracy."""
    losses, correct = [], 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start: start + batch_size], y[start: start + batch_size]
        out = net.forward(xb)
        losses.append(net.loss_fn.forward(out, yb) * len(xb))
        if net.loss_name == "cross_entropy":
            correct += int(np.sum(out.argmax(1) == yb))
    result = {"loss": sum(losses) / len(x)}
    if net.loss_name == "cross_entropy":
        result["acc"] = correct / len(x)
    return result


def fit(net: MLP, x, y, *, lr: float, momentum: float = 0.9, epochs: int = 100,
        batch_size: int | None = None, seed: int = 0, check: Callable[[], None] | None = None) -> list[float]:
    """Train in place (full batch when batch_size is None); returns the loss per epoch.
    `check()` runs once per epoch (a job's check_cancelled)."""
    opt, guard = SGD(net.parameters(), lr, momentum), Guard(lr)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        if check is not None:
            check()
        losses.append(train_epoch(net, opt, x, y, batch_size or len(x), rng, guard=guard))
    return losses
