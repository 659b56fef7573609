"""2-D playground core: editing weights, zero weights, gradients of every output, multi-class
learning, accuracy and confusion, learning-rate schedules, stop conditions, dropout and the
new URL fields. Every test checks an outcome computed independently (by hand or by another path)."""
from __future__ import annotations

import copy
import math
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pytest

from dlplay.playground import Playground, PlaygroundState, datasets
from dlplay.playground.net import Network
from dlplay.playground.sim import learning_rate_at
from dlplay.playground.state import CONTROLS

RELU = lambda z: np.maximum(z, 0)  # noqa: E731


def _x(n=40, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# --- editing weights ------------------------------------------------------------------------------
def test_edit_output_weight_moves_the_output_by_delta_times_the_hidden_output():
    net = Network(4, [5, 3], ["tanh", "relu"], "tanh", seed=2)
    x = _x()
    zs, outs = net.forward(x)
    hidden = outs[-2]  # what the output layer sees
    for i, delta in ((0, 0.7), (2, -1.3)):
        old = net.weights[2][i, 0]
        net.set_weight(2, i, 0, old + delta)
        assert net.weights[2][i, 0] == old + delta
        expected = np.tanh(zs[-1][:, 0] + delta * hidden[:, i])
        assert np.max(np.abs(net.predict(x) - expected)) < 1e-12
        net.set_weight(2, i, 0, old)  # back: the same outputs as before
        assert np.max(np.abs(net.predict(x) - outs[-1][:, 0])) < 1e-12


def test_edit_softmax_weight_changes_only_that_class_logit():
    net = Network(4, [6], "tanh", "softmax", seed=1, n_outputs=3)
    x = _x()
    zs, outs = net.forward(x)
    delta = 0.9
    net.set_weight(1, 4, 2, net.weights[1][4, 2] + delta)
    z = zs[-1].copy()
    z[:, 2] += delta * outs[1][:, 4]
    assert np.max(np.abs(net.predict(x) - _softmax(z))) < 1e-12


def _by_hand(net: Network, x: np.ndarray) -> np.ndarray:
    """The forward pass of a tanh → relu → tanh network written out with NumPy."""
    (w0, w1, w2), (b0, b1, b2) = net.weights, net.biases
    h1 = np.tanh(x @ w0 + b0)
    h2 = RELU(h1 @ w1 + b1)
    return np.tanh(h2 @ w2 + b2)[:, 0]


def test_edit_first_layer_weight_and_bias_recomputed_by_hand():
    net = Network(4, [5, 3], ["tanh", "relu"], "tanh", seed=4)
    x = _x(seed=1)
    before = net.predict(x)
    assert np.max(np.abs(before - _by_hand(net, x))) < 1e-12
    net.set_weight(0, 3, 1, 2.5)
    assert net.weights[0][3, 1] == 2.5
    after = net.predict(x)
    assert np.max(np.abs(after - _by_hand(net, x))) < 1e-12
    assert np.max(np.abs(after - before)) > 1e-3  # the edit did something
    net.set_bias(1, 2, -0.75)
    assert net.biases[1][2] == -0.75
    assert np.max(np.abs(net.predict(x) - _by_hand(net, x))) < 1e-12
    # an output bias: the output is tanh(z + Δ)
    zs, _ = net.forward(x)
    net.set_bias(2, 0, net.biases[2][0] + 0.4)
    assert np.max(np.abs(net.predict(x) - np.tanh(zs[-1][:, 0] + 0.4))) < 1e-12


def test_playground_set_weight_trains_on_from_the_edited_value_and_adds_a_history_row():
    sim = Playground(PlaygroundState().replace(dataset="xor"))
    sim.step(5)
    rows = len(sim.history)
    sim.set_weight(1, 2, 3, 1.75)
    assert sim.net.weights[1][2, 3] == 1.75
    assert len(sim.history) == rows + 1
    epoch, train, test = sim.history[-1]
    assert epoch == 5  # the edit sits at the same epoch: the chart shows the jump
    assert train == sim.net.loss(sim.train_x, sim.train_y) and test == sim.net.loss(sim.test_x, sim.test_y)
    # The next step starts from the edited weight: the same as one epoch by hand from a copy.
    by_hand = copy.deepcopy(sim.net)
    by_hand.train_epoch(sim.train_x, sim.train_y, sim.state.batch_size, sim.lr)
    sim.step()
    assert sim.epoch == 6
    for a, b in zip(sim.net.weights + sim.net.biases, by_hand.weights + by_hand.biases):
        assert np.array_equal(a, b)
    sim.set_bias(2, 0, -0.2)
    assert sim.net.biases[2][0] == -0.2 and len(sim.history) == rows + 3 and sim.history[-1][0] == 6


def test_bad_edits_raise_clear_errors_and_change_nothing():
    sim = Playground(PlaygroundState())  # 4 → 8 → 8 → 5 → 1: weight matrices 0..3
    rows, weights = len(sim.history), [w.copy() for w in sim.net.weights]
    with pytest.raises(IndexError, match=r"layer 4 out of range 0–3"):
        sim.set_weight(4, 0, 0, 1.0)
    with pytest.raises(IndexError, match=r"i 4 out of range 0–3"):
        sim.set_weight(0, 4, 0, 1.0)
    with pytest.raises(IndexError, match=r"j 8 out of range 0–7"):
        sim.set_weight(0, 0, 8, 1.0)
    with pytest.raises(IndexError, match=r"j -1 out of range"):
        sim.set_weight(0, 0, -1, 1.0)
    with pytest.raises(IndexError, match=r"i 1\.5"):
        sim.set_weight(0, 1.5, 0, 1.0)
    with pytest.raises(IndexError, match=r"layer True"):
        sim.set_weight(True, 0, 0, 1.0)
    with pytest.raises(IndexError, match=r"j 1 out of range 0–0"):
        sim.set_bias(3, 1, 1.0)
    for bad in (float("nan"), float("inf"), -math.inf, "1e999"):
        with pytest.raises(ValueError, match="finite number"):
            sim.set_weight(0, 0, 0, bad)
        with pytest.raises(ValueError, match="finite number"):
            sim.set_bias(0, 0, bad)
    assert len(sim.history) == rows
    assert all(np.array_equal(a, b) for a, b in zip(weights, sim.net.weights))
    sim.set_weight(0, 0, 0, "0.25")  # numbers as text are fine (a text box)
    assert sim.net.weights[0][0, 0] == 0.25


# --- zero weights ---------------------------------------------------------------------------------
def test_zero_weights_with_tanh_cannot_learn():
    """All weights 0 and tanh everywhere: every neuron outputs 0, every weight gradient is
    exactly 0 and so is every hidden bias's; only the output bias moves (to the labels' mean).
    The map stays one colour forever — why networks start at random."""
    sim = Playground(PlaygroundState().replace(dataset="circle"))
    sim.zero_weights()
    gw, gb = sim.net.gradients(sim.train_x, sim.train_y)
    assert all(not g.any() for g in gw) and all(not g.any() for g in gb[:-1])
    assert gb[-1][0] == pytest.approx(-np.mean(sim.train_y), abs=1e-15)  # d/d(b) of ½(b − y)² at b = 0
    sim.step(30)
    assert all(not w.any() for w in sim.net.weights) and all(not b.any() for b in sim.net.biases[:-1])
    out = sim.net.predict(sim.test_x)
    assert np.ptp(out) == 0  # one value everywhere: the picture is flat
    # the output bias heads for the training labels' mean: every point gets their majority class
    majority = 1.0 if np.mean(sim.train_y) >= 0 else -1.0
    assert np.sign(out[0]) == majority
    assert sim.accuracy() == np.mean(sim.test_y == majority)


def test_zero_weights_with_relu_is_dead_and_sigmoid_stays_symmetric():
    """relu: z = 0 gives outputs 0 and relu'(0) = 0, so the weights never move either.
    sigmoid: outputs are ½, the weights do move but every neuron of a layer keeps the same
    weights (symmetry is never broken)."""
    relu = Playground(PlaygroundState().replace(dataset="gauss", activation="relu"))
    relu.zero_weights()
    gw, gb = relu.net.gradients(relu.train_x, relu.train_y)
    assert all(not g.any() for g in gw) and all(not g.any() for g in gb[:-1])
    relu.step(20)
    assert all(not w.any() for w in relu.net.weights)

    sig = Playground(PlaygroundState().replace(dataset="gauss", activation="sigmoid", learning_rate=0.3))
    sig.zero_weights()
    sig.step(20)
    assert any(w.any() for w in sig.net.weights)  # it learns something…
    for w in sig.net.weights[1:]:  # …but the neurons of a layer are copies of each other
        assert np.allclose(w, w[:1], atol=1e-12) and np.allclose(w, w[:, :1], atol=1e-12)
    w0 = sig.net.weights[0]
    assert np.allclose(w0, w0[:, :1], atol=1e-12)


# --- gradients ------------------------------------------------------------------------------------
def _check_gradients(net: Network, x, y, masks=None):
    gw, gb = net.gradients(x, y, masks)
    eps, worst = 1e-5, 0.0
    for params, grads in ((net.weights, gw), (net.biases, gb)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + eps
                up = net.loss(x, y, masks)
                p[idx] = old - eps
                down = net.loss(x, y, masks)
                p[idx] = old
                fd = (up - down) / (2 * eps)
                worst = max(worst, abs(g[idx] - fd) / max(abs(g[idx]) + abs(fd), 1e-7))
    assert worst < 1e-6, worst


def test_gradients_softmax_three_classes_mixed_activations():
    net = Network(4, [6, 5, 4], ["tanh", "sigmoid", "relu"], "softmax", seed=5, n_outputs=3)
    x = _x(30, 4, seed=2)
    y = np.random.default_rng(3).integers(0, 3, 30).astype(float)
    _check_gradients(net, x, y)
    # the loss is the mean cross-entropy, checked by hand
    p = net.predict(x)
    assert net.loss(x, y) == pytest.approx(-np.mean(np.log(p[np.arange(30), y.astype(int)])), rel=1e-12)


def test_gradients_with_fixed_dropout_masks():
    net = Network(4, [6, 5], ["tanh", "linear"], "tanh", seed=6, dropout=0.3)
    x = _x(25, 4, seed=4)
    y = np.random.default_rng(5).choice([-1.0, 1.0], 25)
    masks = net.masks(len(x))
    assert [m.shape for m in masks] == [(25, 6), (25, 5)]
    assert np.all(np.isin(masks[0], [0.0, 1 / 0.7]))
    assert net.loss(x, y, masks) != net.loss(x, y)  # the masks do change the loss
    _check_gradients(net, x, y, masks)
    soft = Network(3, [5], "sigmoid", "softmax", seed=7, n_outputs=4, dropout=0.5)
    xs = _x(20, 3, seed=6)
    _check_gradients(soft, xs, np.arange(20) % 4.0, soft.masks(20))


def test_gradients_regression_linear_output():
    net = Network(3, [5, 4], ["relu", "tanh"], "linear", seed=8)
    x = _x(30, 3, seed=7)
    y = np.random.default_rng(8).normal(size=30)
    _check_gradients(net, x, y)
    assert net.loss(x, y) == pytest.approx(0.5 * np.mean((net.predict(x) - y) ** 2), rel=1e-12)


# --- multi-class learning -------------------------------------------------------------------------
# Measured (300 epochs, the page's default 8-8-5 tanh net, features x1 x2 sin x1 sin x2, batch 10,
# noise 0): spiral3 test accuracy per seed 1–5 at lr 0.03: 0.957 0.943 0.990 0.967 0.983; at lr
# 0.1: 1.000 0.967 0.993 1.000 0.993; relu lr 0.03: 0.943 0.923 0.997 0.990 0.980. blobs5: 1.000 for
# every seed at both rates (0.996 once with relu); noise 20 (the blobs overlap): 0.928–0.972.
# Chance is 1/3 and 1/5; the thresholds leave ≥ 4 points of margin under the worst seed.
@pytest.mark.parametrize("lr,seed", [(0.03, 1), (0.03, 2), (0.1, 2), (0.1, 3)])
def test_three_class_spiral_is_learned(lr, seed):
    sim = Playground(PlaygroundState().replace(dataset="spiral3", learning_rate=lr, seed=seed))
    assert sim.net.output == "softmax" and sim.net.shape == [4, 8, 8, 5, 3] and sim.classes == 3
    start = sim.accuracy()
    sim.step(300)
    acc = sim.accuracy()
    print(f"spiral3 lr {lr} seed {seed}: test accuracy {start:.3f} -> {acc:.3f}, test loss {sim.test_loss:.3f}")
    assert start < 0.45  # untrained: about chance
    assert acc >= 0.90, acc
    assert sim.test_loss < 0.3  # cross-entropy; chance is ln 3 ≈ 1.10


@pytest.mark.parametrize("noise,threshold", [(0, 0.97), (20, 0.88)])
def test_five_blobs_are_learned(noise, threshold):
    accs = []
    for seed in (1, 2):
        sim = Playground(PlaygroundState().replace(dataset="blobs5", noise=noise, seed=seed))
        sim.step(200)
        accs.append(sim.accuracy())
    print(f"blobs5 noise {noise}: test accuracy per seed {accs}")
    assert min(accs) >= threshold, accs


def test_multiclass_datasets_labels_and_counts():
    for name, k in (("spiral3", 3), ("blobs5", 5)):
        pts, y = datasets.generate(name, 0.1, seed=3)
        assert datasets.n_classes(name) == k and pts.shape == (datasets.DATASETS[name][2], 2)
        assert set(np.unique(y)) == set(range(k)) and y.dtype == float
        counts = np.bincount(y.astype(int))
        assert counts.max() - counts.min() <= k  # balanced
        assert np.all(np.abs(pts) <= 6.5)
    assert datasets.n_classes("circle") == 2 and datasets.n_classes("reg-plane") == 0
    assert "spiral3" not in datasets.CLASSIFICATION and len(datasets.DATASETS) == 8


# --- accuracy and confusion -----------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["spiral3", "xor"])
def test_accuracy_and_confusion_agree(dataset):
    sim = Playground(PlaygroundState().replace(dataset=dataset, noise=20))
    sim.step(15)
    k = sim.classes
    for split, (x, y) in (("test", (sim.test_x, sim.test_y)), ("train", (sim.train_x, sim.train_y))):
        cm = sim.confusion(split)
        assert cm.shape == (k, k) and cm.sum() == len(y)
        assert np.trace(cm) / cm.sum() == pytest.approx(sim.accuracy(split), abs=1e-12)
        truth = (y > 0).astype(int) if k == 2 else y.astype(int)  # binary rows: −1 first, then +1
        assert np.array_equal(cm.sum(1), np.bincount(truth, minlength=k))
        predicted = sim.net.classify(x)
        predicted = (predicted > 0).astype(int) if k == 2 else predicted.astype(int)
        assert np.array_equal(cm.sum(0), np.bincount(predicted, minlength=k))
    with pytest.raises(ValueError, match="split"):
        sim.accuracy("val")


def test_binary_confusion_order_and_zero_output_counts_as_blue():
    sim = Playground(PlaygroundState().replace(dataset="circle"))
    sim.zero_weights()  # output tanh(0) = 0, which counts as +1 (blue)
    cm = sim.confusion()
    assert not cm[:, 0].any()
    assert cm[0, 1] == np.sum(sim.test_y < 0) and cm[1, 1] == np.sum(sim.test_y > 0)


def test_regression_has_no_accuracy():
    sim = Playground(PlaygroundState().replace(dataset="reg-plane"))
    assert sim.accuracy() is None and sim.confusion() is None and sim.accuracy("train") is None


# --- learning-rate schedules ----------------------------------------------------------------------
def test_learning_rate_schedules():
    s = PlaygroundState().replace(learning_rate=0.1, schedule_epochs=100)
    assert [learning_rate_at(s, e) for e in (0, 99, 1000)] == [0.1] * 3
    step = s.replace(lr_schedule="step")
    assert [learning_rate_at(step, e) for e in (0, 99, 100, 199, 200, 350)] == \
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]
    cos = s.replace(lr_schedule="cosine")
    assert learning_rate_at(cos, 0) == 0.1
    assert learning_rate_at(cos, 50) == pytest.approx(0.05, abs=1e-15)
    assert learning_rate_at(cos, 25) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi / 4)), abs=1e-15)
    assert learning_rate_at(cos, 100) == 0.0 and learning_rate_at(cos, 5000) == 0.0
    odd = cos.replace(schedule_epochs=7)  # S/2 not a whole epoch: cos(π·3/7)
    assert learning_rate_at(odd, 3) == pytest.approx(0.05 * (1 + math.cos(3 * math.pi / 7)), abs=1e-15)


def test_playground_trains_at_the_scheduled_rate():
    state = PlaygroundState().replace(dataset="gauss", learning_rate=0.1, lr_schedule="step", schedule_epochs=2)
    sim = Playground(state)
    by_hand = copy.deepcopy(sim.net)
    for epoch in range(5):
        assert sim.lr == learning_rate_at(state, epoch) == 0.1 * 0.5 ** (epoch // 2)
        by_hand.train_epoch(sim.train_x, sim.train_y, state.batch_size, 0.1 * 0.5 ** (epoch // 2))
        sim.step()
    assert all(np.array_equal(a, b) for a, b in zip(sim.net.weights, by_hand.weights))
    # cosine reaches 0 after schedule_epochs: the weights then stay where they are
    cos = Playground(state.replace(lr_schedule="cosine", schedule_epochs=4))
    cos.step(4)
    assert cos.lr == 0.0
    frozen = [w.copy() for w in cos.net.weights]
    cos.step(3)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, cos.net.weights))


# --- stop conditions ------------------------------------------------------------------------------
def test_stop_after_epochs_and_nothing_happens_until_the_state_changes():
    sim = Playground(PlaygroundState().replace(stop_metric="epochs", stop_value=37))
    sim.step(1000)
    assert sim.epoch == 37 and "37 epochs" in sim.stopped and sim.history[-1][0] == 37
    rows = len(sim.history)
    weights = [w.copy() for w in sim.net.weights]
    assert sim.play(1.0) == 0
    sim.step(5)
    assert sim.epoch == 37 and len(sim.history) == rows
    assert all(np.array_equal(a, b) for a, b in zip(weights, sim.net.weights))
    assert sim.sync(sim.state) is sim and sim.stopped  # the same state: still stopped
    # A change that still meets the condition: checked again, stops again without training.
    sim.sync(sim.state.replace(learning_rate=0.1))
    assert sim.stopped is None
    assert sim.play(1.0) == 0 and sim.epoch == 37 and sim.stopped
    # A later target: training goes on to it.
    assert sim.sync(sim.state.replace(stop_value=50)) is sim
    sim.step(1000)
    assert sim.epoch == 50 and "50 epochs" in sim.stopped


def test_stop_at_test_accuracy_the_first_epoch_it_is_reached():
    state = PlaygroundState().replace(dataset="xor", noise=10, stop_metric="test_accuracy", stop_value=0.9)
    sim = Playground(state)
    sim.step(500)
    assert sim.stopped and sim.epoch < 500
    acc = sim.accuracy()
    assert acc >= 0.9
    assert sim.stopped == (f"Stopped at epoch {sim.epoch:,}: the test accuracy {acc:.1%} reached the "
                           f"target 90.0%.")
    # The same run one epoch at a time without a stop condition: the first epoch reaching 90 %.
    free = Playground(state.replace(stop_metric="none"))
    while free.accuracy() < 0.9:
        free.step()
    assert free.epoch == sim.epoch
    # Editing the network clears the stop: zero weights drop the accuracy, training resumes.
    sim.zero_weights()
    assert sim.stopped is None and sim.accuracy() < 0.9
    sim.step(50)
    assert sim.epoch > free.epoch


def test_stop_at_test_loss():
    state = PlaygroundState().replace(dataset="gauss", stop_metric="test_loss", stop_value=0.05)
    sim = Playground(state)
    sim.step(300)
    assert sim.stopped and "test loss" in sim.stopped and "0.05" in sim.stopped
    assert sim.test_loss <= 0.05 and sim.history[-2][2] > 0.05
    assert sim.play(1.0) == 0


def test_a_target_never_reached_never_stops():
    sim = Playground(PlaygroundState().replace(stop_metric="test_accuracy", stop_value=1.0, dataset="xor",
                                               noise=50))
    sim.step(20)
    assert sim.epoch == 20 and sim.stopped is None
    reg = Playground(PlaygroundState().replace(dataset="reg-plane", stop_metric="test_accuracy", stop_value=0.5))
    reg.step(5)
    assert reg.epoch == 5 and reg.stopped is None  # regression has no accuracy: nothing to reach


# --- dropout --------------------------------------------------------------------------------------
def test_dropout_zeroes_about_p_and_scales_the_rest():
    p = 0.2
    net = Network(4, [8, 8, 5], "tanh", "tanh", seed=3, dropout=p)
    x = _x(2000, 4, seed=9)
    zs, outs = net.forward(x, train=True)
    for z, out in zip(zs[:-1], outs[1:-1]):  # hidden layers
        ratio = out / np.tanh(z)  # tanh(z) is never exactly 0 here
        kept = ratio != 0
        assert np.allclose(ratio[kept], 1 / (1 - p), rtol=1e-12)
        assert abs(1 - kept.mean() - p) < 0.02
    assert np.array_equal(outs[-1], np.tanh(zs[-1]))  # the output is never dropped
    # predicting: no dropout, deterministic, the same as the same weights without dropout
    first = net.predict(x)
    assert np.array_equal(first, net.predict(x))
    plain = copy.deepcopy(net)
    plain.dropout = 0.0
    assert plain.masks(3) is None and np.array_equal(first, plain.predict(x))
    assert not np.array_equal(net.forward(x, train=True)[1][1], net.forward(x, train=True)[1][1])  # fresh masks


def test_dropout_applies_via_sync_and_changes_training_reproducibly():
    base = PlaygroundState().replace(dataset="spiral")
    sim = Playground(base)
    sim.step(2)
    same = sim.sync(base.replace(dropout=0.3))
    assert same is sim and sim.net.dropout == 0.3 and sim.epoch == 2
    assert base.network_key() == base.replace(dropout=0.3).network_key()
    without = Playground(base)
    without.step(2)
    sim.step(3)
    without.step(3)
    assert not np.array_equal(sim.net.weights[0], without.net.weights[0])  # the masks took part
    again = Playground(base)
    again.step(2)
    again.sync(base.replace(dropout=0.3))
    again.step(3)
    assert all(np.array_equal(a, b) for a, b in zip(sim.net.weights, again.net.weights))  # seeded masks
    # the recorded losses are without dropout: the history is what predict() gives
    assert sim.history[-1][2] == sim.net.loss(sim.test_x, sim.test_y)


# --- URL state of the new fields ------------------------------------------------------------------
NEW_KEYS = ("numClasses", "dropout", "activations", "lrSchedule", "scheduleEpochs", "stopMetric", "stopValue", "hide")


def test_new_fields_round_trip_through_the_url():
    s = PlaygroundState().replace(
        dataset="custom", n_classes=4, dropout=0.2, layer_activations=("relu", "tanh", "sigmoid"),
        lr_schedule="cosine", schedule_epochs=500, stop_metric="test_accuracy", stop_value=0.95,
        hide=("noise", "dropout", "hide_panel"))
    q = s.to_query()
    assert {k: q[k] for k in NEW_KEYS} == {
        "numClasses": "4", "dropout": "0.2", "activations": "relu,tanh,sigmoid", "lrSchedule": "cosine",
        "scheduleEpochs": "500", "stopMetric": "test_accuracy", "stopValue": "0.95",
        "hide": "noise,dropout,hide_panel"}
    back = PlaygroundState.from_query(dict(parse_qsl(urlencode(q))), allow_custom=True)
    assert back == s and back.classes == 4
    # without allow_custom: the default dataset, and numClasses is not read for it
    plain = PlaygroundState.from_query(q)
    assert plain.dataset == "circle" and plain.n_classes == 2 and plain.classes == 2
    assert plain == s.replace(dataset="circle", n_classes=2)
    assert PlaygroundState.from_query({"numClasses": "3"}) == PlaygroundState()
    assert PlaygroundState.from_query({"numClasses": "0", "dataset": "custom"}, allow_custom=True).problem == \
        "regression"
    other = PlaygroundState().replace(stop_metric="epochs", stop_value=300, lr_schedule="step", dropout=0.05)
    assert PlaygroundState.from_query(other.to_query()) == other and other.to_query()["stopValue"] == "300"


def test_default_state_has_none_of_the_new_keys():
    q = PlaygroundState().to_query()
    assert not set(NEW_KEYS) & set(q)
    assert not set(NEW_KEYS) & set(PlaygroundState().replace(dataset="spiral3").to_query())
    for name in ("spiral3", "blobs5"):  # multi-class sets travel in links
        s = PlaygroundState().replace(dataset=name, noise=10)
        assert s.to_query()["dataset"] == name and PlaygroundState.from_query(s.to_query()) == s


@pytest.mark.parametrize("query,expected", [
    ({"dropout": "abc"}, {"dropout": 0.0}),
    ({"dropout": "nan"}, {"dropout": 0.0}),
    ({"dropout": "0.9"}, {"dropout": 0.5}),  # clamped to the most
    ({"dropout": "0.22"}, {"dropout": 0.2}),  # the nearest menu value
    ({"activations": "relu,gelu,tanh"}, {"layer_activations": ()}),
    ({"activations": "relu"}, {"layer_activations": ("relu", "tanh", "tanh")}),  # the rest: `activation`
    ({"activations": "tanh,tanh,tanh"}, {"layer_activations": ()}),  # all the same: the short form
    ({"activations": "relu,relu,relu,relu,relu"}, {"layer_activations": ("relu",) * 3}),
    ({"lrSchedule": "exponential"}, {"lr_schedule": "constant"}),
    ({"scheduleEpochs": "abc"}, {"schedule_epochs": 200}),
    ({"scheduleEpochs": "-5"}, {"schedule_epochs": 1}),
    ({"scheduleEpochs": "1e308"}, {"schedule_epochs": 100_000}),
    ({"stopMetric": "val_loss"}, {"stop_metric": "none"}),
    ({"stopValue": "inf"}, {"stop_value": 0.0}),
    ({"stopMetric": "test_accuracy", "stopValue": "95"}, {"stop_value": 1.0}),
    ({"stopMetric": "epochs", "stopValue": "12.6"}, {"stop_value": 13.0}),
    ({"stopMetric": "epochs", "stopValue": "-3"}, {"stop_value": 1.0}),
    ({"hide": "noise,bogus,,dataset"}, {"hide": ("dataset", "noise")}),  # CONTROLS' order, unknown dropped
    ({"hide": "bogus"}, {"hide": ()}),
    ({"numClasses": "abc", "dataset": "custom"}, {"n_classes": 2}),
    ({"numClasses": "99", "dataset": "custom"}, {"n_classes": 10}),
    ({"numClasses": "1", "dataset": "custom"}, {"n_classes": 2}),
])
def test_malformed_new_values_keep_defaults_or_clamp(query, expected):
    s = PlaygroundState.from_query(query, allow_custom=True)
    assert {k: getattr(s, k) for k in expected} == expected


def test_controls_and_network_key():
    assert list(CONTROLS)[:3] == ["dataset", "noise", "perc_train"] and "hide_panel" in CONTROLS
    assert PlaygroundState.CONTROLS is CONTROLS and len(CONTROLS) == 22
    s = PlaygroundState()
    for live in (dict(dropout=0.3), dict(lr_schedule="cosine"), dict(stop_metric="epochs", stop_value=5),
                 dict(hide=("noise",)), dict(learning_rate=0.1)):
        assert s.replace(**live).network_key() == s.network_key(), live
    for fresh in (dict(layer_activations=("relu", "tanh", "tanh")), dict(dataset="spiral3"),
                  dict(dataset="custom", n_classes=3), dict(network_shape=(4,))):
        assert s.replace(**fresh).network_key() != s.network_key(), fresh
    sim = Playground(s.replace(dataset="spiral3"))
    assert sim.sync(sim.state.replace(layer_activations=("relu", "tanh", "tanh"))) is not sim


# --- given (custom) data --------------------------------------------------------------------------
def test_given_points_train_with_the_output_their_classes_need():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-5, 5, (120, 2))
    quadrant = (pts[:, 0] > 0) + 2.0 * (pts[:, 1] > 0)  # 4 classes 0..3
    custom = PlaygroundState().replace(dataset="custom", features=("x", "y"), learning_rate=0.1)
    sim = Playground(custom.replace(n_classes=4), data=(pts, quadrant))
    assert sim.net.output == "softmax" and sim.net.shape[-1] == 4
    assert len(sim.train_y) == 60 and sorted(np.concatenate([sim.train_y, sim.test_y])) == sorted(quadrant)
    sim.step(100)
    assert sim.accuracy() > 0.9 and sim.confusion().shape == (4, 4)
    binary = Playground(custom, data=(pts, np.where(pts[:, 0] > 0, 1.0, -1.0)))
    assert binary.net.output == "tanh" and binary.classes == 2
    value = Playground(custom.replace(n_classes=0), data=(pts, pts[:, 0] / 5))
    assert value.net.output == "linear" and value.accuracy() is None


def test_given_labels_must_match_the_classes():
    pts = np.random.default_rng(1).uniform(-5, 5, (30, 2))
    custom = PlaygroundState().replace(dataset="custom", n_classes=3)
    with pytest.raises(ValueError, match="3 classes need labels 0 to 2"):
        Playground(custom, data=(pts, np.arange(30) % 4.0))
    with pytest.raises(ValueError, match="−1 and \\+1"):
        Playground(custom.replace(n_classes=2), data=(pts, np.arange(30) % 2.0))
    with pytest.raises(ValueError, match="finite"):
        Playground(custom.replace(n_classes=0), data=(pts, np.full(30, np.nan)))
    with pytest.raises(ValueError, match="needs its points"):
        Playground(custom)


def test_boundary_of_a_softmax_net_is_its_class_probabilities():
    sim = Playground(PlaygroundState().replace(dataset="blobs5"))
    sim.step(2)
    b = sim.boundary(12)
    pts, x = sim.grid(12)
    assert b["output"].shape == (12, 12, 5) and [t.shape for t in b["layers"]] == [(12, 12, 8), (12, 12, 8),
                                                                                  (12, 12, 5)]
    assert np.allclose(b["output"].sum(2), 1, atol=1e-12)
    assert np.array_equal(b["output"].reshape(-1, 5), sim.net.predict(x))
    assert Playground(PlaygroundState()).boundary(12)["output"].shape == (12, 12)
