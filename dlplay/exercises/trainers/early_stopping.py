"""A network that overfits a few digits, stopped by the learner's rule: after every epoch the rule reads the
validation losses so far, and training ends where it says patience ran out; the weights of its best epoch
are the ones kept."""
import numpy as np

from .common import ce_grad, ce_loss, digits


def train(early_stop, seed=0, epochs=300, n=200, noise=0.3, hidden=128, patience=10, lr=0.5):
    """64 → `hidden` (tanh) → 10 trained full-batch on `n` digits, a `noise` share of them mislabelled (what
    the network learns by heart once it has learned the rest), validated on 400 others; a row per epoch
    (validation loss, test accuracy); the last row says where the rule stopped and which epoch it kept."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    Xv, yv, X, y = X[n:n + 400], y[n:n + 400], X[:n], y[:n].copy()
    wrong = rng.random(n) < noise
    y[wrong] = (y[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    W1, b1 = rng.normal(0, 1 / np.sqrt(64), (64, hidden)), np.zeros(hidden)
    W2, b2 = rng.normal(0, 1 / np.sqrt(hidden), (hidden, 10)), np.zeros(10)
    losses, kept = [], {}
    for epoch in range(1, epochs + 1):
        h = np.tanh(X @ W1 + b1)
        g = ce_grad(h @ W2 + b2, y)
        gh = (g @ W2.T) * (1 - h ** 2)
        W2, b2, W1, b1 = W2 - lr * h.T @ g, b2 - lr * g.sum(0), W1 - lr * X.T @ gh, b1 - lr * gh.sum(0)
        kept[epoch] = (W1, b1, W2, b2)
        losses.append(ce_loss(np.tanh(Xv @ W1 + b1) @ W2 + b2, yv))
        row = {"epoch": epoch, "val_loss": losses[-1], "accuracy": _accuracy(kept[epoch], Xt, yt)}
        stop, best = (int(v) for v in early_stop(list(losses), patience))
        # The rule says "stop here" once it points at this very epoch with its best `patience` epochs back
        # (for a history that merely ends here it points at the end too, but its best is recent).
        if (stop == epoch and epoch - best >= patience) or epoch == epochs:
            row.update(stopped_at=stop, best_epoch=best,
                       kept_accuracy=_accuracy(kept.get(best, kept[epoch]), Xt, yt))
            yield row
            return
        yield row


def _accuracy(weights, X, y):
    W1, b1, W2, b2 = weights
    return float(np.mean((np.tanh(X @ W1 + b1) @ W2 + b2).argmax(1) == y))
