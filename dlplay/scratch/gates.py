"""Logic gates with a two-layer net: train 2 → hidden → 1 on a truth table, streaming
the loss and snapshots of the network so a page can draw its decision regions and
what each hidden unit computes while it learns."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from .datasets import truth_table
from .mlp import MLP, SGD
from .train import check_finite

LIMITS = (-0.5, 1.5)  # the input plane drawn around the four corners


@dataclass
class GateSpec:
    gate: str = "XOR"
    hidden: int = 2
    activation: str = "sigmoid"
    lr: float = 0.5
    momentum: float = 0.9
    steps: int = 2000
    seed: int = 0
    snapshots: int = 80  # pictures of the network sent to the page during training
    pace_s: float = 0.03  # pause after each snapshot so learning can be watched; 0 = full speed

    def build(self) -> MLP:
        # A sigmoid output and squared error: the classic setup of the 1986 backprop paper.
        return MLP([2, self.hidden, 1], activation=self.activation, loss="mse", output="sigmoid", seed=self.seed)


def train_gate(spec: GateSpec, job=None) -> MLP:
    """Full-batch gradient descent on the four rows of the truth table."""
    X, y = truth_table(spec.gate)
    net = spec.build()
    opt = SGD(net.parameters(), spec.lr, spec.momentum)
    every = max(1, spec.steps // spec.snapshots)
    if job is not None:
        job.artifact("spec", spec)  # the page draws the gate this run learns, whatever is selected now
    for step in range(1, spec.steps + 1):
        loss = net.loss(X, y)
        check_finite(loss, step, spec.lr)
        opt.step()
        if job is not None and (step == 1 or step % every == 0 or step == spec.steps):
            job.check_cancelled()
            out = net.predict(X).ravel()
            job.metric(step=step, split="train", loss=loss, acc=float(np.mean((out > 0.5) == y)))
            job.artifact("net", copy.deepcopy(net))
            job.set_progress(step / spec.steps, f"step {step}/{spec.steps} · loss {loss:.4f}")
            if spec.pace_s:
                time.sleep(spec.pace_s)
    return net


def solved(net: MLP, gate: str) -> bool:
    X, y = truth_table(gate)
    return bool(np.all((net.predict(X).ravel() > 0.5) == y))


def plane(resolution: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid coordinates over the input plane and its points as an (r², 2) array."""
    xs = np.linspace(*LIMITS, resolution)
    gx, gy = np.meshgrid(xs, xs)
    return xs, xs, np.c_[gx.ravel(), gy.ravel()]


def output_map(net: MLP, resolution: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's output over the plane: (xs, ys, Z) with Z[row=y, col=x]."""
    xs, ys, pts = plane(resolution)
    return xs, ys, net.predict(pts).reshape(resolution, resolution)


def hidden_maps(net: MLP, resolution: int = 40) -> list[np.ndarray]:
    """Each hidden unit's activation over the plane: what feature it detects."""
    _, _, pts = plane(resolution)
    acts = net.hidden(pts)[0]
    return [acts[:, j].reshape(resolution, resolution) for j in range(acts.shape[1])]


def hidden_table(net: MLP, gate: str) -> np.ndarray:
    """Hidden activations (rows: the four inputs) and the output, for a table on the page."""
    X, _ = truth_table(gate)
    return np.c_[net.hidden(X)[0], net.predict(X)]
