"""Train with your code: once an exercise's checks pass, a model learns with the learner's piece in the
sandbox, beside the same model with the reference piece — same data, same seed — and the page overlays
both curves. Each trainer is dlplay's own source, sent into the sandbox with the learner's code (the
sandbox imports nothing of dlplay): a `train(fn, **args)` generator of metric rows."""
from __future__ import annotations

from .catalog import Exercise
from . import sandbox

PERCEPTRON = '''
def train(update, seed=0, epochs=12, n=200, lr=0.1):
    """Two overlapping Gaussian clouds, labels -1 and +1, a 1 appended to each point for the bias; online
    passes in a seeded random order from w = 0; accuracy and mistakes after every pass."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal([-1.0, -1.0], 0.9, (n // 2, 2)), rng.normal([1.0, 1.0], 0.9, (n // 2, 2))])
    X = np.hstack([X, np.ones((n, 1))])
    y = np.array([-1.0] * (n // 2) + [1.0] * (n // 2))
    w = np.zeros(3)
    for epoch in range(1, epochs + 1):
        for i in rng.permutation(n):
            w = np.asarray(update(w, X[i], y[i], lr), dtype=float)
        right = np.sign(X @ w) == y
        yield {"epoch": epoch, "accuracy": float(right.mean()), "mistakes": int((~right).sum())}
'''
TRAINERS = {"perceptron": (PERCEPTRON, "accuracy")}
# what is plotted for each


def trainable(exercise: Exercise) -> bool:
    return exercise.id in TRAINERS


def side_by_side(exercise: Exercise, code: str, job=None, unisolated: bool = False) -> dict:
    """Train with the learner's `code`, then with the reference, rows tagged "yours" / "reference"
    (streamed to `job` as they come). Returns both runs' rows and whether they agree."""
    source, metric = TRAINERS[exercise.id]
    rows: dict[str, list[dict]] = {"yours": [], "reference": []}
    stopped = {}
    for who, text in (("yours", code), ("reference", exercise.reference_source)):
        def on_row(row, who=who):
            rows[who].append(row)
            if job is not None:
                job.metric(split=who, **row)
                job.set_progress(0.5 * (who == "reference") + 0.5 * row["epoch"] / 12, f"training with {who}")

        out = sandbox.run(text, exercise.function, [], trainer=source, on_row=on_row, unisolated=unisolated)
        if out.stopped or out.error:
            stopped[who] = out.stopped or out.error
    agree = not stopped and [r[metric] for r in rows["yours"]] == [r[metric] for r in rows["reference"]]
    return {"rows": rows, "metric": metric, "agree": agree, "stopped": stopped}


__all__ = ["TRAINERS", "side_by_side", "trainable"]
