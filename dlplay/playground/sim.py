"""One playground run: the data a state describes, its network, and the loss history.

A page keeps a `Playground` between reruns, calls `step()` for the Step button and
`play(seconds)` on every tick while playing, and `sync(state)` when settings change:
data, features, shape or activation rebuild the run (as the playground resets);
learning rate, batch size and regularisation apply to the running network.
"""
from __future__ import annotations

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


class Playground:
    def __init__(self, state: PlaygroundState | None = None):
        self.state = state or PlaygroundState()
        s = self.state
        pts, labels = datasets.generate(s.dataset, s.noise / 100, s.seed)
        (self.train_pts, self.train_y), (self.test_pts, self.test_y) = datasets.split(pts, labels, s.perc_train)
        self.train_x = features.compute(self.train_pts, s.features)
        self.test_x = features.compute(self.test_pts, s.features)
        output = "linear" if s.problem == "regression" else "tanh"
        self.net = Network(len(s.features), list(s.network_shape), s.activation, output, seed=s.seed)
        self.epoch = 0
        self.history: list[tuple[int, float, float]] = []  # (epoch, train loss, test loss)
        self.error: str | None = None
        self.blowup: tuple[int, float, float] | None = None  # the losses of the epoch that diverged
        self._grid_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._record()

    # --- settings ---------------------------------------------------------------------------
    def sync(self, state: PlaygroundState) -> "Playground":
        """This run with `state` applied: the same object when only live settings
        changed, a fresh run when the data or network must change."""
        if state.network_key() != self.state.network_key():
            return Playground(state)
        self.state = state
        return self

    def reset(self) -> "Playground":
        return Playground(self.state)

    # --- training ---------------------------------------------------------------------------
    def step(self, epochs: int = 1) -> None:
        """Train `epochs` passes over the training points (one Step = one epoch)."""
        if self.error:
            return
        s = self.state
        with np.errstate(all="ignore"), _one_thread():
            for _ in range(epochs):
                self.net.train_epoch(self.train_x, self.train_y, s.batch_size, s.learning_rate,
                                     s.regularization, s.regularization_rate)
                self.epoch += 1
        self._record()

    def play(self, seconds: float, max_epochs: int = 1000) -> int:
        """Train whole epochs for about `seconds` (at least one); returns how many.
        Time-boxed so the picture refreshes on time whatever the network's size."""
        start, done = time.perf_counter(), 0
        while done < max_epochs and not self.error:
            self.step()
            done += 1
            if time.perf_counter() - start >= seconds:
                break
        return done

    def tick(self) -> int:
        """The training part of one redraw while playing."""
        return self.play(TRAIN_S, MAX_EPOCHS_PER_TICK)

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
        """Every neuron's output over the square, from one forward pass:
        {"layers": [(d, d, n) per hidden layer], "output": (d, d)}."""
        _, x = self.grid(density)
        with np.errstate(all="ignore"), _one_thread():
            _, outs = self.net.forward(x)
        d = density
        return {"layers": [o.reshape(d, d, -1) for o in outs[1:-1]], "output": outs[-1].reshape(d, d)}
