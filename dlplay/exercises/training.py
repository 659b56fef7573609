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
MOMENTUM = '''
def train(momentum_step, seed=0, epochs=40, lr=0.02, beta=0.9):
    """A long narrow valley, f(w) = ½(w₀² + 25·w₁²), from (-4, 1.5): momentum's steps across it."""
    import numpy as np

    scale = np.array([1.0, 25.0])
    w, v = np.array([-4.0, 1.5]), np.zeros(2)
    for epoch in range(1, epochs + 1):
        w, v = (np.asarray(a, dtype=float) for a in momentum_step(w, v, scale * w, lr, beta))
        yield {"epoch": epoch, "loss": float(0.5 * np.sum(scale * w ** 2))}
'''

SOFTMAX_CE = '''
def train(softmax_ce_grad, seed=0, epochs=30, lr=0.5):
    """Softmax regression on scikit-learn's 8×8 digits (1,437 to learn from, 360 to test), full-batch
    gradient descent with your gradient; test accuracy after every step."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(seed).permutation(len(d.target))
    X, y = d.data[order] / 16.0, d.target[order]
    X = np.hstack([X, np.ones((len(X), 1))])
    Xtr, ytr, Xte, yte = X[:1437], y[:1437], X[1437:], y[1437:]
    W = np.zeros((X.shape[1], 10))
    for epoch in range(1, epochs + 1):
        G = np.asarray(softmax_ce_grad(Xtr @ W, ytr), dtype=float)
        W -= lr * Xtr.T @ G
        yield {"epoch": epoch, "accuracy": float(np.mean((Xte @ W).argmax(1) == yte))}
'''

TD = '''
def train(update, seed=0, epochs=60, alpha=0.5, gamma=0.95, epsilon=0.1, sarsa=False):
    """A 4×6 grid, start bottom-left, goal bottom-right, the bottom row between them a cliff (−100, back to
    the start), −1 a step; ε-greedy episodes with your update; steps per episode (lower is better)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = 4, 6
    start, goal = (rows - 1) * cols, rows * cols - 1
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]

    def step(s, a):
        r, c = divmod(s, cols)
        r, c = min(max(r + moves[a][0], 0), rows - 1), min(max(c + moves[a][1], 0), cols - 1)
        s2 = r * cols + c
        if r == rows - 1 and 0 < c < cols - 1:
            return start, -100.0, False
        return s2, -1.0, s2 == goal

    def act(Q, s):
        return int(rng.integers(4)) if rng.random() < epsilon else int(np.argmax(Q[s]))

    Q = np.zeros((rows * cols, 4))
    for episode in range(1, epochs + 1):
        s, a, done, steps = start, act(Q, start), False, 0
        while not done and steps < 500:
            s2, r, done = step(s, a)
            a2 = act(Q, s2)
            args = (Q, s, a, r, s2, a2, alpha, gamma, done) if sarsa else (Q, s, a, r, s2, alpha, gamma, done)
            Q = np.asarray(update(*args), dtype=float)
            s, a, steps = s2, a2, steps + 1
        yield {"epoch": episode, "steps": steps}
'''

# exercise → (trainer source, the metric plotted, the trainer's arguments, what a row counts)
TRAINERS = {"perceptron": (PERCEPTRON, "accuracy", {}, "pass"), "momentum": (MOMENTUM, "loss", {}, "step"),
            "softmax_ce": (SOFTMAX_CE, "accuracy", {}, "step"), "q_learning": (TD, "steps", {}, "episode"),
            "sarsa": (TD, "steps", {"sarsa": True}, "episode")}


def trainable(exercise: Exercise) -> bool:
    return exercise.id in TRAINERS


def side_by_side(exercise: Exercise, code: str, job=None, unisolated: bool = False) -> dict:
    """Train with the learner's `code`, then with the reference, rows tagged "yours" / "reference"
    (streamed to `job` as they come). Returns both runs' rows and whether they agree."""
    source, metric, args, _ = TRAINERS[exercise.id]
    rows: dict[str, list[dict]] = {"yours": [], "reference": []}
    stopped = {}
    for who, text in (("yours", code), ("reference", exercise.reference_source)):
        def on_row(row, who=who):
            rows[who].append(row)
            if job is not None:
                job.metric(split=who, **row)
                job.set_progress(0.5 * (who == "reference") + 0.5 * min(1.0, row["epoch"] / 60),
                                 f"training with {'your code' if who == 'yours' else 'the reference'}")

        out = sandbox.run(text, exercise.function, [], trainer=source, args=args, on_row=on_row,
                          unisolated=unisolated)
        if out.stopped or out.error:
            stopped[who] = out.stopped or out.error
    agree = not stopped and [r[metric] for r in rows["yours"]] == [r[metric] for r in rows["reference"]]
    return {"rows": rows, "metric": metric, "agree": agree, "stopped": stopped}


__all__ = ["TRAINERS", "side_by_side", "trainable"]
