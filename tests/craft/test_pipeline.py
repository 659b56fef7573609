"""Shuffle, batch and repeat in every order, on MNIST images sorted by label."""
import numpy as np
import pytest

from dlplay import data
from dlplay.craft import pipeline as P
from dlplay.runs.lesson import Saved


def test_shuffle_keeps_every_item_and_a_buffer_of_one_changes_nothing():
    rng = np.random.default_rng(0)
    out = list(P.shuffle(range(1000), 1000, rng))
    assert sorted(out) == list(range(1000)) and out != list(range(1000))
    assert list(P.shuffle(range(50), 1, rng)) == list(range(50))
    local = np.array(list(P.shuffle(range(10_000), 100, rng)))
    # A buffer of 100 moves an item at most a few hundred places forward (measured: 99th percentile ~460)
    assert np.percentile(np.abs(local - np.arange(10_000)), 99) < 1000


def labels_sorted(n=10_000, classes=10):
    return np.repeat(np.arange(classes), n // classes)


def test_sorted_batches_hold_one_class_shuffled_ones_hold_them_all():
    y = labels_sorted()
    per = {o: P.label_counts(P.batches_for(o, len(y), 128, 2, seed=1), y, 10) for o in P.ORDERS}
    one_class = lambda c: ((c > 0).sum(1) == 1).mean()  # noqa: E731
    # 10 classes of 1,000 in batches of 128: all but the 9 boundary batches per epoch hold one class.
    assert one_class(per["none"]) >= 0.88 and P.classes_per_batch(per["none"]) < 1.2
    assert one_class(per["batch_shuffle_repeat"]) >= 0.88, "shuffling whole batches mixes nothing"
    for mixed in ("shuffle_batch_repeat", "repeat_shuffle_batch"):
        assert P.classes_per_batch(per[mixed]) > 9.5, mixed  # measured 9.96 / 9.99
        assert one_class(per[mixed]) == 0
    assert 2 < P.classes_per_batch(per["small_buffer"]) < 8  # measured 4.9: neighbouring digits only
    for o, c in per.items():
        assert c.sum() == 2 * len(y), f"{o}: every example once per epoch"
    # batch → shuffle: the same batches in another order each epoch
    plan = P.batches_for("batch_shuffle_repeat", len(y), 128, 2, seed=1)
    first, second = plan[:79], plan[79:]
    assert sorted(map(tuple, first)) == sorted(map(tuple, second)) and [tuple(b) for b in first] != [tuple(b) for b in second]
    # repeat → shuffle: an epoch's worth of batches already holds examples of the second pass
    again = np.concatenate(P.batches_for("repeat_shuffle_batch", len(y), 128, 2, seed=1)[:79])
    assert len(np.unique(again)) < len(again), "some example comes twice before the first epoch is over"


def test_the_same_seed_gives_the_same_batches():
    a = P.batches_for("shuffle_batch_repeat", 1000, 32, 2, seed=3)
    b = P.batches_for("shuffle_batch_repeat", 1000, 32, 2, seed=3)
    c = P.batches_for("shuffle_batch_repeat", 1000, 32, 2, seed=4)
    assert all((x == y).all() for x, y in zip(a, b)) and any((x != y).any() for x, y in zip(a, c))
    with pytest.raises(ValueError, match="unknown order"):
        P.batches_for("batch_repeat_dance", 10, 2, 1)


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist")


def test_the_order_decides_what_the_network_learns(mnist):
    res = {o: P.train_pipeline(P.PipelineSpec(order=o, n_train=10_000, epochs=2), ds=mnist)
           for o in ("shuffle_batch_repeat", "batch_shuffle_repeat", "none")}
    # Measured (10,000 sorted MNIST images, 2 epochs): 92.2 %, 80.0 %, 38.6 % test accuracy.
    assert res["shuffle_batch_repeat"].test_acc >= 0.88
    assert res["batch_shuffle_repeat"].test_acc <= res["shuffle_batch_repeat"].test_acc - 0.05
    never = res["none"]
    assert never.test_acc <= 0.6, "fed one digit at a time, the network keeps forgetting"
    # Measured: 44 % of the test images called "7", 23 % "6" — digits of the last runs it saw.
    assert never.test_pred_share.max() >= 0.3 and int(np.argmax(never.test_pred_share)) >= 5, never.test_pred_share
    assert (never.counts[:5] > 0).sum(1).tolist() == [1] * 5, "the batches it saw first: all 0s"
    saved = P.save_result(never)
    again = P.load_result(never.spec, Saved(saved.tensors, saved.arrays, saved.summary))
    x = mnist.x_test[:50]
    assert (again.model(x).argmax(1) == never.model(x).argmax(1)).all() and again.test_acc == never.test_acc
