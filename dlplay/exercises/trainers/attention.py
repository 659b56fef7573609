"""Self-attention over the rows of each 8×8 digit with the learner's attention: each row (8 pixels and its
position) looks at itself and the rows above it (a causal mask), through fixed random projections; a softmax
classifier learns on what comes out. Only the classifier learns."""
import numpy as np

from .common import digits, readout


def train(attention, seed=0, epochs=15, d=16):
    """Test accuracy of the classifier on the attention's outputs after every epoch."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    Wq, Wk, Wv = (rng.normal(0, 1 / 4, (16, d)) for _ in range(3))
    mask = np.tril(np.ones((8, 8), dtype=bool))

    def features(images):
        out = []
        for img in images:
            tokens = np.hstack([img.reshape(8, 8), np.eye(8)])  # a row's pixels and where it is
            out.append(np.asarray(attention(tokens @ Wq, tokens @ Wk, tokens @ Wv, mask), dtype=float).reshape(-1))
        return np.array(out)

    yield from readout(features(X), y, features(Xt), yt, seed, epochs, lr=0.1)
