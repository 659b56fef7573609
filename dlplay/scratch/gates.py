"""Logic gates with a two-layer net: train 2 → hidden → 1 on a truth table, streaming
the loss and snapshots of the network so a page can draw its decision regions and
what each hidden unit computes while it learns. `LESSON` makes it a stored run of the
page "gates"."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from ..jobs import Cancelled
from ..runs.codec import Codec
from ..runs.lesson import Lesson
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


@dataclass
class GateResult:
    net: MLP
    gate: str  # the gate this run learned, whatever the page selects now
    stopped: str = ""  # "stopped at step 700 of 2000" when Stop was pressed

    @property
    def outputs(self) -> np.ndarray:
        """The network's output for the four rows of the truth table."""
        return self.net.predict(truth_table(self.gate)[0]).ravel()

    @property
    def solved(self) -> bool:
        return solved(self.net, self.gate)


def train_gate(spec: GateSpec, job=None) -> GateResult:
    """Full-batch gradient descent on the four rows of the truth table."""
    X, y = truth_table(spec.gate)
    net = spec.build()
    opt = SGD(net.parameters(), spec.lr, spec.momentum)
    every = max(1, spec.steps // spec.snapshots)
    for step in range(1, spec.steps + 1):
        loss = net.loss(X, y)
        check_finite(loss, step, spec.lr)
        opt.step()
        if job is not None and (step == 1 or step % every == 0 or step == spec.steps):
            try:
                job.check_cancelled()
            except Cancelled:  # a step was taken: keep the network as it is
                note = f"stopped at step {step:,} of {spec.steps:,}"
                job.stopped_at(note)
                return GateResult(net, spec.gate, note)
            out = net.predict(X).ravel()
            job.metric(step=step, split="train", loss=loss, acc=float(np.mean((out > 0.5) == y)))
            job.artifact("net", copy.deepcopy(net))
            job.set_progress(step / spec.steps, f"step {step}/{spec.steps} · loss {loss:.4f}")
            if spec.pace_s:
                time.sleep(spec.pace_s)
    return GateResult(net, spec.gate)


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


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

def verdict(result: GateResult) -> str:
    right = int(np.sum((result.outputs > 0.5) == truth_table(result.gate)[1]))
    return f"{'solved' if result.solved else 'not solved'} ({right}/{len(result.outputs)} rows right)"


CODEC = Codec(GateResult, models={"net": lambda spec, s: spec.build()}, headline=verdict,
              extra=lambda r: {"solved": r.solved, "outputs": r.outputs.tolist()})  # what the Runs page lists
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: GateSpec) -> str:
    return f"{spec.gate} · 2→{spec.hidden}→1 {spec.activation} · lr {spec.lr:g} · {spec.steps:,} steps"


def _script(spec: GateSpec, run) -> str:
    from .stored import gates_script

    return gates_script(spec, run)


LESSON = Lesson(page="gates", spec_type=GateSpec,
                train=lambda spec, job: train_gate(spec, job), save=save_result, load=load_result, brief=brief,
                script=_script, curves=("loss", "acc"))
