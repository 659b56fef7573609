"""The CNN builder: parameter counts by the formula equal torchinfo's, invalid stacks are
named before training, the fast preset reaches 99 % on real MNIST, Stop keeps the model,
a stored run equals the live one and its export script prints the same accuracy."""
from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from dlplay import data, runs
from dlplay.jobs import get_scheduler
from dlplay.runs import export, record
from dlplay.train import TrainConfig, evaluate
from dlplay.vision import cnn
from dlplay.vision.cnn import BN, Block, CNNSpec, conv, pool

SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def agree(spec, shape, n_classes=10):
    table = cnn.layer_table(spec, shape, n_classes)
    assert (table["parameters (formula)"] == table["parameters (torchinfo)"]).all(), table.to_string()
    model = cnn.build(spec, shape, n_classes)
    assert table["parameters (formula)"].sum() == sum(p.numel() for p in model.parameters())
    return table


@pytest.mark.parametrize("preset", list(cnn.PRESETS))
@pytest.mark.parametrize("dataset", list(SHAPES))
def test_every_preset_counts_parameters_by_the_formula_as_torchinfo_does(preset, dataset):
    spec = cnn.from_preset(preset, dataset)
    table = agree(spec, SHAPES[dataset])
    assert table["layer"].iloc[-1] == "out" and "conv1" in set(table["layer"])
    if preset == "simple":  # the assignment's numbers: (3·3·1 + 1)·32 = 320 on MNIST, (3·3·3 + 1)·32 = 896 on CIFAR
        first = table.set_index("layer").loc["conv1"]
        assert first["parameters (formula)"] == (320 if dataset == "mnist" else 896)
        assert first["output shape"] == ("32 × 26 × 26" if dataset == "mnist" else "32 × 30 × 30")
    if preset == "Keras mnist_convnet" and dataset == "mnist":
        assert table["parameters (formula)"].sum() == 34826  # the Keras example's model.summary() total


def random_valid_spec(rng: random.Random, shape) -> CNNSpec:
    while True:
        blocks = []
        for _ in range(rng.randint(1, 7)):
            kind = rng.choice(["conv", "conv", "conv", "pool", "bn", "dropout", "act"])
            if kind == "conv":
                k = rng.choice([1, 2, 3, 5, 7])
                blocks.append(Block("conv", filters=rng.randint(1, 40), kernel=k, stride=rng.choice([1, 1, 2]),
                                    padding=rng.randint(0, k // 2), activation=rng.choice(["relu", "tanh", "none"])))
            elif kind == "pool":
                blocks.append(pool(rng.choice([2, 3])))
            elif kind == "dropout":
                blocks.append(Block("dropout", p=rng.choice([0.1, 0.5])))
            elif kind == "act":
                blocks.append(Block("act", activation=rng.choice(["gelu", "leaky_relu"])))
            else:
                blocks.append(BN)
        spec = CNNSpec(blocks=tuple(blocks), dense=tuple(rng.randint(1, 64) for _ in range(rng.randint(0, 2))),
                       dropout=rng.choice([0.0, 0.3]))
        if cnn.check(spec, shape) is None:
            return spec


def test_the_formula_equals_torchinfo_for_20_random_valid_stacks():
    rng = random.Random(9)
    for i in range(20):
        shape = SHAPES["mnist" if i % 2 else "cifar10"]
        spec = random_valid_spec(rng, shape)
        agree(spec, shape, n_classes=rng.choice([2, 10]))


def test_a_conv_then_bn_puts_the_batch_norm_before_the_activation():
    model = cnn.build(CNNSpec(blocks=(conv(8), BN, pool(2)), dense=(16,)), (1, 28, 28), 10)
    assert list(dict(model.named_children())) == ["std", "conv1", "bn1", "relu1", "pool1", "flatten", "fc",
                                                  "fc_relu", "out"]


@pytest.mark.parametrize("blocks, shape, words", [
    ((conv(8, 5, padding=0),), (1, 3, 3), ["Block 1", "5×5 kernel is bigger than its 3×3 input"]),
    ((pool(2),) * 5 + (conv(8, 3),), (1, 28, 28), ["Block 5", "shrunk the image to 1×1"]),
    ((conv(8, 3, padding=0),) * 14, (1, 28, 28), ["Block 14", "bigger than its 2×2 input"]),
    ((conv(8), pool(2), conv(16, 7, padding=0), pool(4), conv(16, 3, padding=0)), (1, 28, 28),
     ["Block 5", "3×3 kernel is bigger than its 2×2 input"]),
    ((Block("conv", filters=0),), (1, 28, 28), ["Block 1", "at least 1"]),
    ((Block("conv", activation="swoosh"),), (1, 28, 28), ["Block 1", "unknown activation 'swoosh'"]),
    ((Block("dropout", p=1.5),), (1, 28, 28), ["Block 1", "[0, 1)"]),
])
def test_an_invalid_stack_is_named_before_training(blocks, shape, words):
    spec = CNNSpec(blocks=blocks)
    message = cnn.check(spec, shape)
    assert message is not None and all(w in message for w in words), message
    with pytest.raises(cnn.InvalidStack, match=re.escape(words[0])):
        cnn.build(spec, shape, 10)
    if shape == (1, 28, 28):
        with pytest.raises(cnn.InvalidStack, match=re.escape(words[1])):  # the run fails with it, before training
            cnn.train_cnn(spec)


def test_augmentation_shifts_and_flips_but_keeps_shape_and_pixels():
    x = data.load("cifar10").x_train[:64]
    out = cnn.Augment(2, flip=True, seed=1)(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    # a shift of 0 and no flip is the identity
    assert torch.equal(cnn.Augment(0, flip=False)(x), x)


def test_feature_maps_and_classify_on_a_test_image():
    ds = data.load("mnist")
    model = cnn.build(cnn.from_preset("fast"), ds.image_shape, 10, norm=ds.pixel_stats)
    maps = cnn.feature_maps(model, ds.x_test[0])
    names = [n for n, _ in maps]
    assert names[:4] == ["conv1", "bn1", "relu1", "pool1"]
    assert dict(maps)["conv1"].shape == (16, 28, 28) and dict(maps)["pool3"].shape == (64, 3, 3)
    probs = cnn.classify(model, ds.x_test[0].numpy())
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-5


# --- training on real data ---------------------------------------------------------------------------

@pytest.mark.slow
def test_the_fast_preset_reaches_99_percent_on_real_mnist():
    spec = cnn.from_preset("fast", "mnist")
    data.load("mnist")  # reading the files is not training
    t0 = time.perf_counter()
    result = cnn.train_cnn(spec)
    seconds = time.perf_counter() - t0
    print(f"\nfast preset, MNIST: {result.test_acc:.2%} test accuracy in {result.train_seconds:.1f} s of training "
          f"({seconds:.1f} s with the test set; {result.epoch_seconds:.1f} s per epoch, {torch.get_num_threads()} "
          f"threads)")
    assert result.test_acc >= 0.99, result.test_acc
    assert len(result.filters) == spec.train.epochs and result.filters[0].shape == (16, 1, 3, 3)
    assert not np.array_equal(result.filters[0], result.filters[-1])
    assert result.best_val_acc >= 0.985 and result.epoch_seconds > 0
    assert result.confusion.sum() == 10000 and len(result.wrong) == round(10000 * (1 - result.test_acc))



@pytest.mark.slow
def test_the_fast_preset_passes_90_percent_on_real_fashion_mnist_in_3_of_its_8_epochs():
    """The preset tuned for Fashion-MNIST learns it: 91.05 % after 3 of its 8 epochs (measured); the whole
    preset's 92 % within 90 s is the benchmark's goal (`python -m dlplay.bench --only cnn`, README)."""
    spec = cnn.from_preset("fast", "fashion_mnist")
    assert spec.train.epochs == 8
    spec = replace(spec, train=replace(spec.train, epochs=3))
    ds = data.load("fashion_mnist")
    assert ds.n_classes == 10 and len(ds.x_train) == 60000, ds.summary()  # the real set, not a sample
    result = cnn.train_cnn(spec)
    print(f"\nfast preset, Fashion-MNIST: {result.test_acc:.2%} test accuracy in {result.train_seconds:.1f} s "
          f"of training ({spec.train.epochs} epochs)")
    assert result.test_acc >= 0.90, result.test_acc
    assert result.classes[0] == "T-shirt/top" and result.confusion.sum() == 10000

# --- as a stored run -----------------------------------------------------------------------------------

SMALL = replace(cnn.from_preset("fast", "mnist"), n_train=3000, train=TrainConfig(optimizer="adamw", lr=4e-3,
                                                                                   epochs=1, batch_size=128))


def start(spec=SMALL):
    return runs.start(cnn.LESSON, spec, workspace="test", session_id="test", ds=data.load(spec.dataset))


@pytest.mark.slow
def test_a_run_emits_filters_every_epoch_and_rebuilt_from_the_store_equals_the_live_one(tmp_path):
    spec = replace(SMALL, train=replace(SMALL.train, epochs=2))
    run, job = start(spec)
    assert job.wait(180) and job.state == "done", job.error
    live = job.result
    filters = [e.data["value"] for e in job.events_since(0, "artifact") if e.data["name"] == "filters"]
    assert len(filters) == 3  # the untrained filters, then one per epoch
    assert filters[-1].shape == (16, 1, 3, 3) and not np.array_equal(filters[0], filters[-1])
    assert live.test_acc > 0.9, live.test_acc
    run = runs.get_store().get(run.id)
    assert run.headline == f"{live.test_acc:.1%} test accuracy"

    get_scheduler().release_session("test")
    record._results.drop(run.id)
    again = runs.result_of(runs.get_store().get(run.id))
    assert again is not live
    ds = data.load("mnist")
    assert evaluate(again.model, ds.x_test, ds.y_test)["acc"] == live.test_acc == again.test_acc
    np.testing.assert_array_equal(again.confusion, live.confusion)
    np.testing.assert_array_equal(again.wrong, live.wrong)
    assert len(again.filters) == 2
    np.testing.assert_array_equal(again.filters[-1], live.filters[-1])
    assert again.best_val_acc == live.best_val_acc and again.epoch_seconds == live.epoch_seconds

    # the export script: plain PyTorch, no dlplay, prints the same accuracy
    for name, content in export.files(run).items():
        (tmp_path / name).write_bytes(content)
    script = tmp_path / f"{export.file_stem(run)}.py"
    assert not re.search(r"^\s*(import|from)\s+dlplay", script.read_text(), flags=re.M)
    out = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"test accuracy: {live.test_acc:.4f} on 10,000 images" in out.stdout, out.stdout


@pytest.mark.slow
def test_cifar_export_script_reads_its_own_test_set_and_flips(tmp_path):
    spec = replace(cnn.from_preset("fast", "cifar10"), n_train=1000, train=TrainConfig(epochs=1, batch_size=128))
    run, job = start(spec)
    assert job.wait(180) and job.state == "done", job.error
    live = job.result
    assert live.tta() and live.test_acc > 0.15
    run = runs.get_store().get(run.id)
    for name, content in export.files(run).items():
        (tmp_path / name).write_bytes(content)
    out = subprocess.run([sys.executable, f"{export.file_stem(run)}.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"test accuracy: {live.test_acc:.4f} on 10,000 images" in out.stdout, out.stdout


@pytest.mark.slow
def test_stop_keeps_a_measured_model():
    run, job = start(replace(SMALL, train=replace(SMALL.train, epochs=50, schedule="constant")))
    while not any(m.get("split") == "epoch" for m in job.metrics()):
        assert not job.wait(0.05) or job.state == "running", job.error
    job.cancel()
    assert job.wait(60) and job.state == "stopped", job.error
    result = job.result
    assert result.stopped.startswith("stopped at epoch") and "of 50" in result.stopped
    tested = int(result.confusion.sum())  # all of them, unless testing after Stop ran past its seconds
    assert result.test_acc > 0.8 and tested >= 32
    assert tested == 10_000 or f"tested on {tested:,} of 10,000 test images" in result.stopped
    assert len(result.filters) >= 1
    run = runs.get_store().get(run.id)
    assert run.has_model and run.state == "stopped", (run.state, run.status)


def test_label_smoothing_targets_floor_and_notes():
    """Issue 25: the fast preset's label smoothing 0.1 puts the training loss above the validation loss and a
    clear 7 at about 90 %; the page explains both with these numbers."""
    import torch.nn.functional as F

    from dlplay.vision.cnn import smoothed_target, smoothing_floor, smoothing_note

    assert smoothed_target(0.1, 10) == pytest.approx(0.91)
    # The floor is the cross-entropy of predicting exactly the smoothed targets; any other prediction is higher.
    targets = torch.full((1, 10), 0.01)
    targets[0, 3] = 0.91
    y = torch.tensor([3])
    floor = F.cross_entropy(targets.log(), y, label_smoothing=0.1).item()
    assert smoothing_floor(0.1, 10) == pytest.approx(floor, abs=1e-5) and floor == pytest.approx(0.50, abs=0.005)
    for logits in (torch.randn(20, 10) * 5, torch.eye(10)[[3] * 20] * 50):
        assert F.cross_entropy(logits, y.repeat(20), label_smoothing=0.1).item() >= floor - 1e-6
    assert smoothing_note(0.0, 10) is None and smoothing_floor(0.0, 10) == 0.0
    curves = smoothing_note(0.1, 10)
    assert "91% on the right class" in curves and "can't go below 0.50" in curves
    assert "trained towards 91% for the right class and 1% for every other one" in smoothing_note(0.1, 10, "prediction")
