"""Train with your code: once an exercise's checks pass, a model learns with the learner's piece in the
sandbox, beside the same model with the reference piece — same data, same seed — and the page overlays
both curves. Each exercise's model is a trainer module (`trainers/`), dlplay's own source sent into the
sandbox with the learner's code: a `train(fn, **args)` generator of metric rows."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import sandbox, trainers
from .catalog import Exercise

# Two trainings, a few seconds each measured (the loop-written convolution's ~4 s the longest): room to spare.
LIMITS = sandbox.Limits(cpu_s=40, wall_s=60.0)


@dataclass(frozen=True)
class Trainer:
    module: str  # trainers/<module>.py
    metric: str  # the row value plotted and compared
    unit: str  # what a row counts: "epoch", "pass", "step", "episode"
    model: str  # what learns with the learner's piece, in a line
    rows: int  # rows a training yields (its epochs)
    size: int  # examples one row trains on (for the fair-use limits)
    args: dict = field(default_factory=dict)

    @property
    def falls(self) -> bool:
        """Whether lower is better (a log axis on the page)."""
        return self.metric != "accuracy"


DIGITS = 1437  # training digits of the 8×8 set the trainers share
_MLP = "a 64 → 32 → 10 network on scikit-learn's 8×8 digits"
TRAINERS = {
    "perceptron": Trainer("perceptron", "accuracy", "pass", "a perceptron on two overlapping clouds", 12, 200),
    "sigmoid": Trainer("activation", "accuracy", "epoch", f"{_MLP}, sigmoid hidden units", 20, DIGITS),
    "relu": Trainer("activation", "accuracy", "epoch", f"{_MLP}, ReLU hidden units", 20, DIGITS, {"lr": 0.1}),
    "dense": Trainer("dense", "accuracy", "epoch", f"{_MLP}, both layers yours", 20, DIGITS),
    "softmax_ce": Trainer("softmax_ce", "accuracy", "step", "softmax regression on the 8×8 digits", 30, DIGITS),
    "momentum": Trainer("momentum", "loss", "step", "momentum down a long narrow valley", 40, 1),
    "penalties": Trainer("penalties", "accuracy", "step", "softmax regression on 200 digits, penalised", 40, 200),
    "early_stopping": Trainer("early_stopping", "val_loss", "epoch", "a network learning 200 digits, 30 % "
                              "mislabelled, until your rule stops it", 300, 200),
    "conv_size": Trainer("conv", "accuracy", "epoch", "random 3×3 filters sized by your function, a classifier "
                         "on top", 15, DIGITS, {"which": "conv_out"}),
    "conv2d": Trainer("conv", "accuracy", "epoch", "random 3×3 filters through your loops, a classifier on top",
                      15, DIGITS),
    "lstm_cell": Trainer("lstm_cell", "accuracy", "epoch", "an LSTM reading digits row by row, a classifier on "
                         "its last state", 15, DIGITS),
    "attention": Trainer("attention", "accuracy", "epoch", "causal self-attention over a digit's rows, a "
                         "classifier on top", 15, DIGITS),
    "vae": Trainer("vae", "loss", "epoch", "a linear VAE with a 2-D code on the 8×8 digits", 25, DIGITS),
    "gan_losses": Trainer("gan", "gap", "epoch", "a one-dimensional GAN learning N(4, 0.5²)", 40, 320),
    "q_learning": Trainer("td", "steps", "episode", "Q-learning on a small cliff world", 60, 1),
    "sarsa": Trainer("td", "steps", "episode", "SARSA on a small cliff world", 60, 1, {"sarsa": True}),
}


def agree(yours: list[dict], reference: list[dict], metric: str) -> bool:
    """The same curve, row for row: equal up to rounding (a learner's `(1 − α)·Q + α·t` is the reference's
    `Q + α·(t − Q)` to the last few bits)."""
    return len(yours) == len(reference) and all(
        math.isclose(a[metric], b[metric], rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(yours, reference))


def side_by_side(exercise: Exercise, code: str, job=None, unisolated: bool = False, seed: int = 0) -> dict:
    """Train with the learner's `code`, then with the reference, rows tagged "yours" / "reference"
    (streamed to `job` as they come; its Stop ends the training in progress). Returns both runs' rows,
    whether they agree, and why either stopped early."""
    t = TRAINERS[exercise.id]
    source, args = trainers.source(t.module), {**t.args, "seed": seed}
    rows: dict[str, list[dict]] = {"yours": [], "reference": []}
    stopped: dict[str, str] = {}
    for who, text in (("yours", code), ("reference", exercise.reference_source)):
        def on_row(row, who=who):
            rows[who].append(row)
            if job is not None:
                job.metric(split=who, **row)
                job.set_progress(0.5 * (who == "reference") + 0.5 * min(1.0, len(rows[who]) / t.rows),
                                 f"training with {'your code' if who == 'yours' else 'the reference'}")

        out = sandbox.run(text, exercise.function, [], LIMITS, trainer=source, args=args, on_row=on_row,
                          unisolated=unisolated, stop=(lambda: job.stop_requested) if job is not None else None)
        if out.stopped or out.error:
            stopped[who] = out.stopped or out.error
            break  # Stop, a limit or an error: the reference isn't trained for nothing
    return {"rows": rows, "metric": t.metric, "stopped": stopped,
            "agree": not stopped and agree(rows["yours"], rows["reference"], t.metric)}


__all__ = ["LIMITS", "TRAINERS", "Trainer", "agree", "side_by_side"]
