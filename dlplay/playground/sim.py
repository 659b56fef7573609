"""One playground run: the data a state describes, its network, and the loss history.

A page keeps a `Playground` between reruns, calls `step()` for the Step button and
`play(seconds)` on every tick while playing, and `sync(state)` when settings change:
data, features, shape or activations rebuild the run (as the playground resets);
learning rate (and its schedule), batch size, regularisation, dropout and the stop
condition apply to the running network. `Playground(state, data=(points, labels))`
trains on given points (state.dataset "custom", state.n_classes says what the labels are).
"""
from __future__ import annotations

import math
import time

import numpy as np
from threadpoolctl import ThreadpoolController

from dlplay.playground import datasets, features
from dlplay.playground.net import Network
from dlplay.playground.state import PlaygroundState

DOMAIN = 6.0  # the heatmap shows [-6, 6]²
# While playing, a page redraws every TICK_S seconds and trains for TRAIN_S of each tick
# (drawing takes ~15–30 ms more), at most MAX_EPOCHS_PER_TICK epochs: about 60 epochs a
# second, the playground's own pace, so the boundary's growth can be watched.
TICK_S, TRAIN_S, MAX_EPOCHS_PER_TICK = 0.2, 0.08, 12
# OpenBLAS splits even a 10,000×8 by 8×8 product over threads; on a busy 2-core server
# that is ~100× slower than one thread, so the playground's maths runs on one.
_BLAS = ThreadpoolController()


def loss_text(loss: float) -> str:
    """A loss as the page prints it: 0.123, or 1.4e+202 once the weights have blown up."""
    return f"{loss:.3f}" if abs(loss) < 1e4 else f"{loss:.3g}"


def _one_thread():
    return _BLAS.limit(limits=1, user_api="blas")


def learning_rate_at(state: PlaygroundState, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0 = the first): constant; step halves it every
    `schedule_epochs`; cosine falls from the set rate to 0 over `schedule_epochs`
    (lr·½(1 + cos(π·epoch/S))) and stays 0 from epoch S on."""
    lr, every = state.learning_rate, state.schedule_epochs
    if state.lr_schedule == "step":
        return lr * 0.5 ** (epoch // every)
    if state.lr_schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * min(epoch, every) / every))
    return lr


def output_for(classes: int) -> tuple[str, int]:
    """(output activation, number of outputs) for 0 (regression), 2 (±1) or k classes."""
    if classes == 0:
        return "linear", 1
    return ("tanh", 1) if classes == 2 else ("softmax", classes)


def _check_labels(labels: np.ndarray, classes: int) -> None:
    """Given labels must follow the convention `classes` announces (else the loss indexes out
    of range or the confusion matrix miscounts, far from the cause)."""
    if not np.all(np.isfinite(labels)):
        raise ValueError("the labels must be finite numbers")
    if classes == 2 and not np.all(np.abs(labels) == 1):
        raise ValueError("two classes need labels −1 and +1")
    if classes > 2 and not np.all(np.isin(labels, np.arange(classes))):
        raise ValueError(f"{classes} classes need labels 0 to {classes - 1}")


class Playground:
    def __init__(self, state: PlaygroundState | None = None, data=None):
        self.state = state or PlaygroundState()
        s = self.state
        self._given = data  # given points are kept for reset and sync
        if data is not None:
            pts, labels = (np.asarray(a, float) for a in data)
            if pts.ndim != 2 or pts.shape[1] != 2 or labels.shape != (len(pts),):
                raise ValueError(f"data must be points (n, 2) and labels (n,), not {pts.shape} and {labels.shape}")
            _check_labels(labels, s.classes)
            # Drawn or uploaded points often come class by class: shuffled (by the seed) so the cut is fair.
            order = np.random.default_rng(s.seed).permutation(len(pts))
            pts, labels = pts[order], labels[order]
        elif s.dataset == datasets.CUSTOM:
            raise ValueError("the custom dataset needs its points: Playground(state, data=(points, labels))")
        else:
            pts, labels = datasets.generate(s.dataset, s.noise / 100, s.seed)
        (self.train_pts, self.train_y), (self.test_pts, self.test_y) = datasets.split(pts, labels, s.perc_train)
        self.train_x = features.compute(self.train_pts, s.features)
        self.test_x = features.compute(self.test_pts, s.features)
        self.classes = s.classes  # 0 regression, 2 ±1, k classes 0..k−1
        output, n_outputs = output_for(self.classes)
        self.net = Network(len(s.features), list(s.network_shape), list(s.hidden_activations), output,
                           seed=s.seed, n_outputs=n_outputs, dropout=s.dropout)
        self.epoch = 0
        self.history: list[tuple[int, float, float]] = []  # (epoch, train loss, test loss)
        self.error: str | None = None
        self.blowup: tuple[int, float, float] | None = None  # the losses of the epoch that diverged
        self.stopped: str | None = None  # why the stop condition ended training
        self._grid_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._record()

    # --- settings ---------------------------------------------------------------------------
    def sync(self, state: PlaygroundState) -> "Playground":
        """This run with `state` applied: the same object when only live settings
        changed, a fresh run when the data or network must change."""
        if state.network_key() != self.state.network_key():
            return Playground(state, data=self._given if state.dataset == datasets.CUSTOM else None)
        if state != self.state:
            self.stopped = None  # checked again on the next step
        self.state = state
        self.net.dropout = state.dropout
        return self

    def reset(self) -> "Playground":
        return Playground(self.state, data=self._given)

    # --- training ---------------------------------------------------------------------------
    def step(self, epochs: int = 1) -> None:
        """Train `epochs` passes over the training points (one Step = one epoch)."""
        if self.error or self.stopped or (epochs > 0 and self._check_stop()):
            return
        s = self.state
        with np.errstate(all="ignore"), _one_thread():
            for _ in range(epochs):
                self.net.train_epoch(self.train_x, self.train_y, s.batch_size, self.lr,
                                     s.regularization, s.regularization_rate)
                self.epoch += 1
                if s.stop_metric != "none" and self._check_stop():
                    break
        self._record()

    def play(self, seconds: float, max_epochs: int = 1000) -> int:
        """Train whole epochs for about `seconds` (at least one); returns how many.
        Time-boxed so the picture refreshes on time whatever the network's size."""
        start, first = time.perf_counter(), self.epoch
        while self.epoch - first < max_epochs and not self.error and not self.stopped:
            self.step()  # trains one epoch, or none when the stop condition holds already
            if time.perf_counter() - start >= seconds:
                break
        return self.epoch - first

    def tick(self) -> int:
        """The training part of one redraw while playing."""
        return self.play(TRAIN_S, MAX_EPOCHS_PER_TICK)

    @property
    def lr(self) -> float:
        """The learning rate of the epoch to train next (the schedule's)."""
        return learning_rate_at(self.state, self.epoch)

    def _check_stop(self) -> str | None:
        """Sets and returns `stopped` when the state's stop condition holds now."""
        s = self.state
        metric, target = s.stop_metric, s.stop_value
        if metric == "epochs" and self.epoch >= target:
            self.stopped = f"Stopped at epoch {self.epoch:,}: the {int(target):,} epochs asked for are done."
        elif metric == "test_loss":
            with np.errstate(all="ignore"), _one_thread():
                loss = self.net.loss(self.test_x, self.test_y)
            if loss <= target:
                self.stopped = (f"Stopped at epoch {self.epoch:,}: the test loss {loss_text(loss)} reached the "
                                f"target {target:g}.")
        elif metric == "test_accuracy" and self.classes:
            acc = self.accuracy("test")
            if acc is not None and acc >= target:
                self.stopped = (f"Stopped at epoch {self.epoch:,}: the test accuracy {acc:.1%} reached the "
                                f"target {target:.1%}.")
        return self.stopped

    # --- editing the network ------------------------------------------------------------------
    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """Edit one weight (see Network.set_weight); training goes on from the edited network."""
        self.net.set_weight(layer, i, j, value)
        self._edited()

    def set_bias(self, layer: int, j: int, value: float) -> None:
        self.net.set_bias(layer, j, value)
        self._edited()

    def zero_weights(self) -> None:
        self.net.zero()
        self._edited()

    def _edited(self) -> None:
        """The losses of the edited network join the history at the same epoch (the chart
        shows the jump), and the stop condition is checked again on the next step."""
        self.stopped = None
        if not self.error:
            self._record()

    # --- how good it is -----------------------------------------------------------------------
    def _split(self, split: str):
        if split not in ("train", "test"):
            raise ValueError(f"split is 'train' or 'test', not {split!r}")
        return (self.train_x, self.train_y) if split == "train" else (self.test_x, self.test_y)

    def accuracy(self, split: str = "test") -> float | None:
        """The fraction of `split`'s points put in their class (None for regression, nan
        with no points). A ±1 output ≥ 0 counts as +1."""
        if not self.classes:
            return None
        x, y = self._split(split)
        if not len(x):
            return float("nan")
        with np.errstate(all="ignore"), _one_thread():
            return float(np.mean(self.net.classify(x) == y))

    def confusion(self, split: str = "test") -> np.ndarray | None:
        """k×k counts, rows the true class, columns the predicted one; binary in the order
        (−1, +1): index 0 orange, 1 blue. None for regression."""
        if not self.classes:
            return None
        x, y = self._split(split)
        with np.errstate(all="ignore"), _one_thread():
            predicted = self.net.classify(x)
        if self.classes == 2:
            y, predicted = (y > 0), (predicted > 0)
        k = self.classes
        out = np.zeros((k, k), int)
        np.add.at(out, (y.astype(int), predicted.astype(int)), 1)
        return out

    def _record(self) -> None:
        with np.errstate(all="ignore"), _one_thread():
            train, test = self.net.loss(self.train_x, self.train_y), self.net.loss(self.test_x, self.test_y)
        if not np.isfinite(train) or train > 1e6:  # no real problem here has a loss past ~2
            # Kept apart from the history, whose chart it would flatten, but shown with the epoch
            # counter: the numbers above the picture are those the message quotes.
            self.blowup = (self.epoch, train, test)
            self.error = (f"Training diverged: the loss reached {loss_text(train)} at epoch {self.epoch} because "
                          f"the weights blew up. Lower the learning rate (now {self.state.learning_rate:g}) "
                          f"and press Reset.")
            return
        self.history.append((self.epoch, train, test))

    @property
    def last(self) -> tuple[int, float, float]:
        """(epoch, train loss, test loss) of the latest epoch, the one that diverged included."""
        return self.blowup or self.history[-1]

    @property
    def train_loss(self) -> float:
        return self.last[1]

    @property
    def test_loss(self) -> float:
        return self.last[2]

    # --- what the pictures show ---------------------------------------------------------------
    def grid(self, density: int) -> tuple[np.ndarray, np.ndarray]:
        """(density², 2) points on the heatmap's square, row 0 at the top (x2 = 6),
        and their feature matrix; cached since the features never change in a run."""
        if density not in self._grid_cache:
            axis = np.linspace(-DOMAIN, DOMAIN, density)
            x1, x2 = np.meshgrid(axis, axis[::-1])
            pts = np.stack([x1.ravel(), x2.ravel()], 1)
            self._grid_cache[density] = (pts, features.compute(pts, self.state.features))
        return self._grid_cache[density]

    def boundary(self, density: int = 100) -> dict:
        """Every neuron's output over the square, from one forward pass: {"layers": [(d, d, n)
        per hidden layer], "output": (d, d), or (d, d, k) class probabilities for softmax}."""
        _, x = self.grid(density)
        with np.errstate(all="ignore"), _one_thread():
            _, outs = self.net.forward(x)
        d = density
        out = outs[-1].reshape(d, d, -1)
        return {"layers": [o.reshape(d, d, -1) for o in outs[1:-1]], "output": out if out.shape[2] > 1 else out[..., 0]}
