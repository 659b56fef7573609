"""An LSTM reads each 8×8 digit row by row (8 steps of 8 pixels) with the learner's cell step; a softmax
classifier learns on its final state. The LSTM's weights stay as drawn (a reservoir): only the classifier
learns, so what it reaches shows what the learner's cell carries through the steps."""
import numpy as np

from .common import digits, readout


def train(lstm_step, seed=0, epochs=15, hidden=24):
    """Test accuracy of the classifier on the LSTM's final hidden and cell states after every epoch."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    W, U = rng.normal(0, 0.6, (4 * hidden, 8)), rng.normal(0, 1 / np.sqrt(hidden), (4 * hidden, hidden))
    b = np.concatenate([np.zeros(hidden), np.ones(hidden), np.zeros(2 * hidden)])  # forget gates open

    def features(images):
        out = []
        for img in images:
            h, c = np.zeros(hidden), np.zeros(hidden)
            for row in img.reshape(8, 8):
                h, c = (np.asarray(v, dtype=float) for v in lstm_step(row, h, c, W, U, b))
            out.append(np.concatenate([h, c]))
        return np.array(out)

    yield from readout(features(X), y, features(Xt), yt, seed, epochs, lr=0.1)
