"""The overfitting lab on real data: the overfit setup's gap, each regulariser narrowing it,
early stopping's restored epoch, L1's exact zeros against L2's, save/load, Stop."""
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from dlplay.craft.overfit import (LESSON, features, load_result, preset, proximal_l1, regularisers, save_result,
                                  train_overfit)
from dlplay.jobs import STOPPED, get_scheduler
from dlplay.runs import specs
from dlplay.train import evaluate

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

BASE = preset("overfit", "mnist")  # 500 MNIST digits, 512-512, no regularisation, 20 epochs


@pytest.fixture(scope="module")
def base():
    return train_overfit(BASE)


@pytest.fixture(scope="module")
def regularised():
    """One run per regulariser at the page's default strength."""
    return {name: train_overfit(replace(BASE, **kw)) for name, kw in
            {"L1": dict(l1=0.1), "L2": dict(l2=1e-2), "dropout": dict(dropout=0.8),
             "early stopping": dict(patience=2)}.items()}


def test_the_overfit_setup_memorises_and_validation_stays_far_below(base):
    # Measured: train 100 %, validation 88.5 % (gap 11.5 points); loss gap 0.507 (val 0.51, train 0.000).
    assert base.train_acc == 1.0
    assert base.gap > 0.08, (base.train_acc, base.val_acc)
    assert base.loss_gap > 0.35, base.loss_gap
    assert len(base.rows) == 20 and base.best_epoch == 0


def test_the_overfit_setup_on_ag_news_articles_parts_too():
    # Measured: 500 articles as 5,000 TF-IDF words: train 100 %, validation 83.8 %, test 81.2 %.
    r = train_overfit(replace(preset("overfit", "ag_news"), train=replace(BASE.train, epochs=8)))
    assert r.train_acc == 1.0 and r.gap > 0.10, (r.train_acc, r.val_acc)
    assert r.model.config["in_features"] == 5000 and r.test_acc > 0.7
    assert "AG News" in r.summary


def test_each_regulariser_narrows_the_gap(base, regularised):
    # Validation minus training loss, measured: none 0.507; L1 0.1 0.362, L2 0.01 0.375, dropout 0.8 0.280,
    # early stopping (patience 2) 0.397. The accuracy gap moves less (11.5 → 11.8, 12.5, 10.0, 12.0 points):
    # every run still gets (nearly) all 500 training digits right.
    for name, r in regularised.items():
        assert r.loss_gap < 0.9 * base.loss_gap, (name, r.loss_gap, base.loss_gap)
    assert regularised["dropout"].gap < base.gap, "strong dropout narrows the accuracy gap too"


def test_early_stopping_restores_the_best_epochs_weights(regularised):
    r = regularised["early stopping"]
    # Measured: best epoch 6, stopped after epoch 8.
    assert 1 <= r.best_epoch < len(r.rows) < 20
    best_row = r.rows[r.best_epoch - 1]
    assert best_row["val_loss"] == min(row["val_loss"] for row in r.rows)
    assert r.val_loss == pytest.approx(best_row["val_loss"], rel=1e-5), "the returned model is the best epoch's"
    assert r.val_loss < r.rows[-1]["val_loss"]


def test_l1_gives_exact_zeros_that_l2_does_not(regularised, base):
    # Measured: L1 0.1 34.6 % of all weights exactly zero (first layer most); L2 0.0 %; none 0.0 %.
    assert regularised["L1"].zero_share > 0.25, regularised["L1"].zeros
    assert regularised["L2"].zero_share < 0.001 and base.zero_share < 0.001
    # L2 shrinks instead: smaller weights on average than the unregularised run.
    assert np.abs(regularised["L2"].weights[0]).mean() < 0.9 * np.abs(base.weights[0]).mean()


def test_the_proximal_step_soft_thresholds():
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.05, 0.0], [-0.3, 0.2, 0.09]]))
    proximal_l1(1.0)(layer, 0.1)  # shrink by lr · l1 = 0.1
    expected = torch.tensor([[0.4, 0.0, 0.0], [-0.2, 0.1, 0.0]])
    assert torch.allclose(layer.weight, expected) and (layer.weight == 0).sum() == 3


def test_save_and_load_give_the_same_run(regularised):
    r = regularised["L1"]
    back = load_result(r.spec, save_result(r))
    f = features(r.spec)
    assert evaluate(back.model, *f.val)["loss"] == pytest.approx(r.val_loss, rel=1e-6)
    assert back.zeros == r.zeros and back.gap == r.gap and back.rows == r.rows
    assert regularisers(back.spec) == "L1 0.1"
    assert LESSON.spec_from(specs.to_dict(r.spec)) == r.spec, "the spec round-trips to the run store"


def test_stop_keeps_the_model():
    spec = replace(BASE, train=replace(BASE.train, epochs=60))
    job = get_scheduler().submit(lambda j: train_overfit(spec, j), session_id="test-overfit", name="stop")
    deadline = time.time() + 60
    while not [m for m in job.metrics() if m.get("split") == "epoch"] and time.time() < deadline:
        time.sleep(0.05)
    job.cancel()
    assert job.wait(20)
    assert job.state == STOPPED and "stopped at epoch" in job.result.stopped
    assert 1 <= len(job.result.rows) < 60 and job.result.train_acc > 0.5
