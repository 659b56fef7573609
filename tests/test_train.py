"""dlplay.train and dlplay.classify on real MNIST: accuracy reached, regularisation,
early stopping, reproducibility, checkpoints."""
import time

import pytest
import torch
import torch.nn.functional as F

from dlplay import data
from dlplay.classify import ClassifierSpec, train_classifier
from dlplay.jobs import Scheduler
from dlplay.models import MLP, count_parameters
from dlplay.train import OPTIMIZERS, TrainConfig, evaluate, fit, load_checkpoint, pick_device, save_checkpoint

from tests.conftest import need_shared


@pytest.fixture(scope="module")
def mnist():
    need_shared("MNIST", "raw")
    return data.load("mnist")


@pytest.fixture(scope="module")
def small(mnist):
    """3,000 training and 2,000 validation digits: enough to overfit quickly."""
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(mnist.x_train), generator=g)
    tr, va = idx[:3000], idx[3000:5000]
    return (mnist.x_train[tr], mnist.y_train[tr]), (mnist.x_train[va], mnist.y_train[va])


@pytest.mark.slow
def test_default_mlp_reaches_97_5_percent_on_mnist_in_3_epochs(mnist):
    sched = Scheduler(max_workers=1)
    try:
        spec = ClassifierSpec()  # 784-256-128-10, ReLU, dropout 0.2, Adam one-cycle lr 3e-3, batch 128
        assert spec.train.epochs <= 3
        job = sched.submit(lambda j: train_classifier(spec, j), session_id="t", name="mlp")
        assert job.wait(300), "training took more than 5 minutes"
        assert job.state == "done", job.error
        result = job.result
    finally:
        sched.shutdown()
    print(f"test accuracy {result.test_acc:.4f}, {result.history.samples_per_s:,.0f} samples/s")
    assert result.test_acc >= 0.975
    assert count_parameters(result.model) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert result.confusion.sum() == 10000 and result.confusion.trace() == round(result.test_acc * 10000)
    rows = job.metrics()
    steps = [r for r in rows if r["split"] == "train"]
    epochs = [r for r in rows if r["split"] == "epoch"]
    assert steps[0]["step"] == 1, "the first step is streamed at once"
    assert len(epochs) == 3 and epochs[-1]["val_acc"] > 0.97
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    # misclassified examples really are misclassified, most confident first
    pred = result.model(mnist.x_test[result.wrong[:20]]).argmax(1)
    assert (pred != mnist.y_test[result.wrong[:20]]).all()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns(small, optimizer):
    train, val = small
    model = MLP(hidden=(64,), dropout=0.0)
    before = evaluate(model, *val)["loss"]
    lr = {"sgd": 0.3, "momentum": 0.1}.get(optimizer, 3e-3)
    fit(model, train, None, TrainConfig(optimizer=optimizer, lr=lr, epochs=3, schedule="constant"))
    after = evaluate(model, *val)
    assert after["loss"] < 0.6 * before and after["acc"] > 0.8


def test_l2_and_l1_shrink_weights(small):
    train, _ = small

    def weights(**reg):
        model = MLP(hidden=(64,), dropout=0.0)
        fit(model, train, None, TrainConfig(epochs=8, schedule="constant", lr=0.05, optimizer="momentum", **reg))
        return torch.cat([p.detach().flatten() for n, p in model.named_parameters() if "weight" in n])

    plain, l2, l1 = weights(), weights(l2=1e-2), weights(l1=1e-4)
    assert l2.norm() < 0.8 * plain.norm()
    assert (l1.abs() < 1e-3).float().mean() > 2 * (plain.abs() < 1e-3).float().mean()


def test_early_stopping_restores_the_best_epoch(small):
    train, val = small
    model = MLP(hidden=(256, 256), dropout=0.0)
    cfg = TrainConfig(epochs=30, early_stopping=2, schedule="constant", lr=3e-3)
    history = fit(model, train, val, cfg)
    assert history.stopped_early and history.best_epoch < len(history.rows) < 40
    best = min(r["val_loss"] for r in history.rows)
    assert evaluate(model, *val)["loss"] == pytest.approx(best, rel=1e-4)


def test_same_seed_same_weights_and_callbacks_see_every_epoch(small):
    train, val = small
    seen = []

    class Recorder:
        def on_epoch_end(self, model, epoch, row):
            seen.append((epoch, round(row["val_loss"], 6)))

    def run(callbacks=()):
        torch.manual_seed(1)
        model = MLP(hidden=(32,))
        fit(model, train, val, TrainConfig(epochs=2, seed=7), callbacks=callbacks)
        return model

    a, b = run((Recorder(),)), run()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert [e for e, _ in seen] == [1, 2]


def test_checkpoint_round_trip_with_safetensors(tmp_path, small):
    train, val = small
    model = MLP(hidden=(32,))
    fit(model, train, None, TrainConfig(epochs=1))
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"dataset": "mnist", "hidden": (32,)})
    clone = MLP(hidden=(32,))
    meta = load_checkpoint(clone, path)
    assert meta == {"dataset": "mnist", "hidden": "(32,)"}
    assert evaluate(clone, *val) == evaluate(model, *val)


def test_regression_loss_without_accuracy(small):
    """fit() trains any loss: an autoencoder-style MSE target, no accuracy column."""
    (x, _), _ = small
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 784), torch.nn.Unflatten(1, (1, 28, 28)))
    history = fit(model, (x, x), (x[:500], x[:500]), TrainConfig(epochs=12), loss_fn=F.mse_loss, classify=False)
    mean_image_mse = F.mse_loss(x[:500], x.mean(0, keepdim=True).expand(500, -1, -1, -1)).item()
    assert "val_acc" not in history.rows[-1] and history.rows[-1]["val_loss"] < 0.75 * mean_image_mse


def test_fit_stops_an_exploding_loss_and_names_the_learning_rate_as_set(small):
    """Not only NaN: a loss blown far above its first value stops the run, in fit() itself (so on
    every page that trains through it), with the learning rate the learner set, not the scheduled one."""
    from dlplay.jobs import TrainingDiverged

    train, _ = small
    model = MLP(hidden=(64,), dropout=0.0)
    with pytest.raises(TrainingDiverged, match=r"^the loss exploded from 2\.\d+ to \S+ at step \d+ — lower the "
                                               r"learning rate \(now 10\) and train again$"):
        fit(model, train, None, TrainConfig(optimizer="adam", lr=10.0, epochs=1, schedule="constant"))


def test_fit_lets_a_healthy_run_finish_however_its_loss_wobbles(small):
    """A high but workable learning rate (SGD 0.3, as test_every_optimizer_learns uses) is not a blow-up."""
    train, val = small
    history = fit(MLP(hidden=(64,), dropout=0.0), train, val, TrainConfig(optimizer="sgd", lr=0.3, epochs=2,
                                                                         schedule="constant"))
    assert history.rows[-1]["val_acc"] > 0.8


def test_training_uses_cuda_when_present():
    device = pick_device()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    x, y = torch.randn(512, 1, 28, 28), torch.randint(0, 10, (512,))
    model = MLP(hidden=(16,))
    fit(model, (x, y), None, TrainConfig(epochs=1))
    assert next(model.parameters()).device.type == device.type


class Pressed:
    """A job whose Stop has been pressed."""
    stop_requested = True


class Slow(torch.nn.Module):
    """A model whose every batch takes 0.2 s: a big network's test pass, in small."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        time.sleep(0.2)
        return self.model(x)


def test_a_stopped_run_is_tested_on_what_it_reaches_in_seconds(mnist, small, monkeypatch):
    """After Stop, testing ends within its budget (a second's worth here) on the first part of the
    test set, and the result says how much; without Stop the whole set is tested in one pass."""
    from dlplay import classify, train
    from dlplay.train import History

    model = MLP(hidden=(32,))
    fit(model, *small[:1], None, TrainConfig(epochs=1))
    whole = classify.assess(model, History(), mnist)
    assert whole.confusion.sum() == 10_000 and whole.stopped == ""
    assert whole.test_acc == pytest.approx(evaluate(model, mnist.x_test, mnist.y_test)["acc"])

    monkeypatch.setattr(train, "STOPPED_SCORING_S", 1.0)
    t0 = time.perf_counter()
    part = classify.assess(Slow(model), History(stopped="stopped at epoch 1 of 5"), mnist, Pressed())
    took = time.perf_counter() - t0
    n = int(part.confusion.sum())
    assert took < 2.0 and train.STOPPED_BATCH <= n < 10_000 and n % train.STOPPED_BATCH == 0
    assert part.stopped == f"stopped at epoch 1 of 5; tested on {n:,} of 10,000 test images, the first seconds after Stop"
    assert part.test_acc == pytest.approx(evaluate(model, mnist.x_test[:n], mnist.y_test[:n])["acc"])
