"""What several trainers share, sent into the sandbox ahead of each (the sandbox imports nothing of dlplay):
scikit-learn's 8×8 digits, a softmax classifier trained on features, and the reference pieces a trainer needs
besides the learner's own."""
import numpy as np


def digits(seed, test=360):
    """The 1,797 8×8 digits scaled to [0, 1] and shuffled by `seed`: (X, y, X_test, y_test), `test` held out."""
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(seed).permutation(len(d.target))
    X, y = d.data[order] / 16.0, d.target[order]
    return X[:-test], y[:-test], X[-test:], y[-test:]


def softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_grad(logits, y):
    """The mean cross-entropy's gradient with respect to the logits."""
    p = softmax(logits)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


def ce_loss(logits, y):
    p = softmax(logits)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def batches(rng, n, size=64):
    order = rng.permutation(n)
    return [order[i:i + size] for i in range(0, n, size)]


def readout(features, y, features_test, y_test, seed, epochs, lr=0.5, unit="epoch"):
    """Softmax regression on fixed features (standardised on the training set), mini-batch SGD; a row of
    test accuracy after every epoch — how the random-feature trainers learn on top of the learner's layer."""
    mean, std = features.mean(0), features.std(0) + 1e-6
    F, Ft = (features - mean) / std, (features_test - mean) / std
    rng = np.random.default_rng(seed)
    W, b = np.zeros((F.shape[1], 10)), np.zeros(10)
    for epoch in range(1, epochs + 1):
        for idx in batches(rng, len(F)):
            g = ce_grad(F[idx] @ W + b, y[idx])
            W -= lr * F[idx].T @ g
            b -= lr * g.sum(0)
        yield {"epoch": epoch, "accuracy": float(np.mean((Ft @ W + b).argmax(1) == y_test)),
               "loss": ce_loss(F @ W + b, y)}
