"""dlplay.drawing: a canvas drawing becomes an MNIST-like digit a classifier recognises."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from dlplay import data
from dlplay.classify import ClassifierSpec, classify_image, train_classifier
from dlplay.drawing import canvas_to_mnist, ink_from_canvas, is_blank, to_mnist
from dlplay.train import TrainConfig

from tests.conftest import need_shared


def as_canvas(digit28: np.ndarray, scale: float, offset: tuple[int, int], size: int = 280) -> np.ndarray:
    """Paint a digit onto a white RGBA canvas the way a user would: big, off-centre."""
    px = int(28 * scale)
    ink = np.asarray(Image.fromarray((digit28 * 255).astype(np.uint8)).resize((px, px), Image.BILINEAR)) / 255.0
    canvas = np.zeros((size, size), np.float32)
    y, x = offset
    canvas[y: y + px, x: x + px] = ink
    rgb = (255 * (1 - canvas)).astype(np.uint8)
    return np.dstack([rgb, rgb, rgb, np.full_like(rgb, 255)])


def test_empty_canvas_is_none():
    white = np.full((280, 280, 4), 255, np.uint8)
    transparent = np.zeros((280, 280, 4), np.uint8)
    assert canvas_to_mnist(white) is None and canvas_to_mnist(transparent) is None and canvas_to_mnist(None) is None


def test_black_strokes_on_transparent_canvas_count_as_ink():
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[10:40, 20:25] = (0, 0, 0, 255)
    ink = ink_from_canvas(rgba)
    assert ink[20, 22] == 1.0 and ink[0, 0] == 0.0 and not is_blank(ink)


def test_digit_is_fitted_into_20x20_and_centred_by_mass():
    ink = np.zeros((280, 280), np.float32)
    ink[30:230, 200:240] = 1.0  # a tall bar in the top-right corner
    out = to_mnist(ink)
    rows, cols = np.nonzero(out > 0.05)
    assert out.shape == (28, 28)
    assert rows.max() - rows.min() + 1 <= 22 and rows.max() - rows.min() + 1 >= 19
    cy, cx = ndimage.center_of_mass(out)
    assert abs(cy - 13.5) < 0.5 and abs(cx - 13.5) < 0.5


@pytest.fixture(scope="module")
def classifier():
    need_shared("MNIST", "raw")
    return train_classifier(ClassifierSpec(train=TrainConfig(epochs=1)))


def test_drawn_test_digits_are_recognised_after_preprocessing(classifier):
    """Real test digits, blown up and painted off-centre on a 280×280 canvas, must be
    classified about as well as the originals: the preprocessing undoes size and position."""
    ds = data.load("mnist")
    idx = np.random.default_rng(0).choice(len(ds.x_test), 100, replace=False)
    rng = np.random.default_rng(1)
    correct = 0
    for i in idx:
        scale = rng.uniform(5, 9)
        room = 280 - int(28 * scale)
        canvas = as_canvas(ds.x_test[i, 0].numpy(), scale, (rng.integers(0, room + 1), rng.integers(0, room + 1)))
        probs = classify_image(classifier.model, canvas_to_mnist(canvas))
        correct += int(probs.argmax() == ds.y_test[i])
    assert correct >= 90, f"only {correct}/100 drawn digits recognised"
