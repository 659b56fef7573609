"""A small convolutional network on the 8×8 digits with the learner's convolution in it: a layer of fixed
random filters (8 of 3×3, ReLU), then a softmax classifier that learns on what they detect — a random-feature
network: the learner's layer is computed, not trained. With `conv_out` the learner's size sets the layer's
output and the classifier's width; with `conv2d` the learner's loops compute the features."""
import numpy as np

from .common import digits, readout


def train(fn, seed=0, epochs=15, filters=8, kernel=3, which="conv2d"):
    """Test accuracy of the classifier on top after every epoch (the first row also says the layer's output
    side and parameters as the network was built)."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    w, b = rng.normal(0, 1 / kernel, (filters, 1, kernel, kernel)), rng.normal(0, 0.1, filters)
    if which == "conv_out":
        side, params = (int(v) for v in fn(8, kernel, 1, 1, 1, filters))
        conv = lambda img: _windows(np.pad(img, 1), kernel, side) @ w.reshape(filters, -1).T + b  # noqa: E731
    else:
        side, params = 8 - kernel + 1, w.size + b.size
        conv = lambda img: np.moveaxis(np.asarray(fn(img[None], w, b), dtype=float), 0, -1)  # noqa: E731

    def features(images):
        return np.stack([np.maximum(0, conv(img.reshape(8, 8))).reshape(-1) for img in images])

    for i, row in enumerate(readout(features(X), y, features(Xt), yt, seed, epochs, lr=0.1)):
        yield {**row, "side": side, "params": params} if i == 0 else row


def _windows(img, k, side):
    """Every k×k window of `img` at stride 1, `side` by `side` of them: (side, side, k·k)."""
    return np.stack([[img[i:i + k, j:j + k].reshape(-1) for j in range(side)] for i in range(side)])
