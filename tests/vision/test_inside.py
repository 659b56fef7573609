"""Inside a trained network (dlplay.vision.inside): receptive fields, gradient ascent, saliency."""
import numpy as np
import pytest
import torch
from torch import nn

from dlplay import data
from dlplay.classify import ClassifierSpec, train_classifier
from dlplay.train import TrainConfig
from dlplay.vision import inside
from dlplay.vision.inside import AscentConfig, Target


@pytest.fixture(scope="module")
def mlp():
    """An MLP trained for 2 epochs on 5,000 real MNIST digits (about 3 s)."""
    torch.manual_seed(0)
    result = train_classifier(ClassifierSpec(dataset="mnist5k", hidden=(128, 64), n_val=500,
                                             train=TrainConfig(epochs=2, seed=0)))
    assert result.test_acc > 0.85
    return result.model


@pytest.fixture(scope="module")
def mnist5k():
    return data.load("mnist5k")


def conv_pool_conv():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))


# --- theoretical receptive fields -------------------------------------------------------------------

def test_two_3x3_convs_see_5x5():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    rf = inside.receptive_fields(net)
    assert [f.r for f in rf] == [3, 3, 5] and [f.j for f in rf] == [1, 1, 1]


def test_conv_pool_conv_sees_8x8():
    rf = inside.receptive_fields(conv_pool_conv())
    convs = [f for f in rf if f.kind in ("conv", "pool")]
    assert [(f.r, f.j) for f in convs] == [(3, 1), (4, 2), (8, 2)]
    assert len(rf) == 5, "stops at Flatten"


def test_strides_and_dilation():
    net = nn.Sequential(nn.Conv2d(1, 1, 5, stride=2), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, dilation=2))
    # r: 5; 5 + 2·2 = 9 (j 4); dilated 3 → effective 5: 9 + 4·4 = 25
    assert [(f.r, f.j) for f in inside.receptive_fields(net)] == [(5, 2), (9, 4), (25, 4)]


# --- effective receptive fields ---------------------------------------------------------------------

@pytest.mark.parametrize("layer", [0, 2, 3, 4])
def test_effective_field_lies_within_the_theoretical_one(layer, mnist5k):
    net = conv_pool_conv().eval()
    rf = inside.receptive_fields(net)[layer]
    erf, (cy, cx) = inside.effective_receptive_field(net, layer, mnist5k.x_test[:8])
    top, bottom, left, right = inside.erf_extent(erf)
    lo_y, hi_y = rf.window(cy)
    lo_x, hi_x = rf.window(cx)
    assert bottom >= top, "some gradient reaches the input"
    assert lo_y <= top and bottom <= hi_y and lo_x <= left and right <= hi_x, \
        ((top, bottom, left, right), (lo_y, hi_y, lo_x, hi_x))
    # and it fills a good part of it: the nonzero region is at least half the theoretical side
    assert bottom - top + 1 >= rf.r / 2 and right - left + 1 >= rf.r / 2
    assert inside.erf_size(erf) <= rf.r


# --- MLP receptive fields ---------------------------------------------------------------------------

def test_mlp_fields_have_the_right_shapes_and_equal_weight_products(mlp):
    w1, w2, w3 = (lin.weight.detach().numpy() for lin in inside.linears(mlp))
    first = inside.linear_fields(mlp, 1)
    assert first.shape == (128, 1, 28, 28)
    np.testing.assert_allclose(first.reshape(128, -1), w1)
    second = inside.linear_fields(mlp, 2)
    assert second.shape == (64, 1, 28, 28)
    np.testing.assert_allclose(second.reshape(64, -1), w2 @ w1, rtol=1e-4, atol=1e-5)
    out = inside.linear_fields(mlp, 3)
    assert out.shape == (10, 1, 28, 28)
    # the assignment's receptive field of the output layer: columns of W1ᵀ·W2ᵀ·W3ᵀ
    np.testing.assert_allclose(out.reshape(10, -1), (w1.T @ w2.T @ w3.T).T, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        inside.linear_fields(mlp, 4)


# --- gradient ascent --------------------------------------------------------------------------------

def test_gradient_ascent_raises_hidden_units_tenfold(mlp):
    relu1 = 3  # Standardize, Flatten, Linear, ReLU
    assert isinstance(inside.sequential_of(mlp)[relu1], nn.ReLU)
    start = inside.start_image((1, 28, 28), "noise")
    with torch.no_grad():
        acts = inside.up_to(mlp.eval(), relu1)(start)[0]
    active = [int(u) for u in torch.nonzero(acts > 0.05).flatten()[:6]]
    assert len(active) >= 3
    for unit in active:
        r = inside.ascend(mlp, Target(relu1, unit), cfg=AscentConfig(steps=60))
        assert r.final_value >= 10 * r.start_value, (unit, r.start_value, r.final_value)


@pytest.fixture(scope="module")
def cnn(mnist5k):
    """conv → pool → conv → dense, one epoch on 3,000 real MNIST digits (a few seconds)."""
    from dlplay.train import evaluate, fit

    net = conv_pool_conv()
    fit(net, (mnist5k.x_train[:3000], mnist5k.y_train[:3000]), None, TrainConfig(epochs=1, lr=3e-3, seed=0))
    assert evaluate(net, mnist5k.x_test, mnist5k.y_test)["acc"] > 0.6
    return net.eval()


def test_gradient_ascent_on_cnn_channels_and_classes(cnn):
    for ch in range(4):  # a channel's mean activation over its map goes up
        r = inside.ascend(cnn, Target(4, ch), cfg=AscentConfig(steps=40))
        assert r.final_value > 1.2 * r.start_value > 0, (ch, r.start_value, r.final_value)
    hits = 0
    for c in range(10):
        r = inside.ascend(cnn, Target(-1, c), cfg=AscentConfig(steps=40, seed=c))
        with torch.no_grad():
            hits += int(cnn(torch.from_numpy(r.image)[None]).argmax()) == c
    assert hits >= 9, hits


def test_class_images_are_classified_as_their_class(mlp):
    hits, values = 0, []
    for c in range(10):
        r = inside.ascend(mlp, Target(-1, c), cfg=AscentConfig(steps=60, seed=c))
        with torch.no_grad():
            hits += int(mlp(torch.from_numpy(r.image)[None]).argmax()) == c
        values.append((r.start_value, r.final_value))
    assert hits >= 9, (hits, values)  # ≥ 90 %


def test_callback_sees_every_step_and_can_stop(mlp):
    seen = []
    r = inside.ascend(mlp, Target(-1, 3), cfg=AscentConfig(steps=50),
                      callback=lambda step, image, value: seen.append((step, image.shape)) or step == 9)
    assert [s for s, _ in seen] == list(range(10)) and seen[0][1] == (1, 28, 28)
    assert r.stopped and r.image.min() >= 0 and r.image.max() <= 1
    assert all(p.requires_grad for p in mlp.parameters()), "the model is left trainable"


def test_blur_keeps_mean_and_smooths():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1
    y = inside.gaussian_blur(x, 1.0)
    assert abs(float(y.sum()) - 1) < 1e-5 and float(y.max()) < 0.3


# --- saliency ---------------------------------------------------------------------------------------

def test_saliency_is_on_the_digits_pixels(mlp, mnist5k):
    ig_shares, grad_density = [], []
    for i in range(20):
        image = mnist5k.x_test[i].numpy()
        sal, target = inside.saliency(mlp, image, method="integrated_gradients")
        assert sal.shape == (28, 28)
        share, ink = inside.stroke_share(sal, image)
        ig_shares.append(share)
        sal, _ = inside.saliency(mlp, image, method="saliency")
        share, ink = inside.stroke_share(sal, image)
        grad_density.append((share / ink) / ((1 - share) / (1 - ink)))
    # integrated gradients: more attribution mass inside the stroke than outside, on every image
    assert min(ig_shares) > 0.5, ig_shares
    # plain gradients: per pixel, denser on the stroke than off it on average
    assert np.mean(grad_density) > 1.0, grad_density
