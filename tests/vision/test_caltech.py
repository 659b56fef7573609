"""Caltech 101 as a transfer target, on a small folder in torchvision's layout made of real
images (CIFAR-10 test images written as JPEGs): no real Caltech 101 here."""
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from dlplay.vision import caltech, pretrained, transfer
from dlplay.vision.transfer import TransferSpec, train_transfer
from tests.conftest import need_shared
from tests.vision.test_pretrained import serve_checkpoint

COUNTS = {"airplane": 40, "cat": 36, "ship": 34}  # CIFAR-10 classes 0, 3, 8 as three "categories"
CIFAR = {"airplane": 0, "cat": 3, "ship": 8}
SPEC = TransferSpec(task="caltech101", body="mobilenet_v2", budgets=(5, 10), image_size=32, n_test=0)


def write_caltech(root, folder="caltech101"):
    """root/<folder>/101_ObjectCategories/<class>/image_0001.jpg …, a BACKGROUND_Google class,
    one grayscale JPEG (cat/image_0001.jpg) and one corrupt file (ship/image_0035.jpg)."""
    with open(need_shared("cifar-10-batches-py", "test_batch"), "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    images = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = np.array(batch[b"labels"])
    base = root / folder / caltech.IMAGES
    for name, n in COUNTS.items():
        (base / name).mkdir(parents=True)
        for i, image in enumerate(images[labels == CIFAR[name]][:n]):
            im = Image.fromarray(image)
            (im.convert("L") if (name, i) == ("cat", 0) else im).save(base / name / f"image_{i + 1:04d}.jpg",
                                                                      quality=95)
    (base / "BACKGROUND_Google").mkdir()
    for i, image in enumerate(images[:5]):
        Image.fromarray(image).save(base / "BACKGROUND_Google" / f"image_{i + 1:04d}.jpg")
    (base / "ship" / "image_0035.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return base


@pytest.fixture
def caltech_dir(tmp_path, monkeypatch):
    """DLPLAY_DATA_DIR pointing at a folder holding caltech101/101_ObjectCategories."""
    base = write_caltech(tmp_path / "data")
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path / "data"))
    caltech.clear_cache()
    yield base
    caltech.clear_cache()


def test_the_folder_is_read_in_torchvisions_layout_skipping_background_and_a_corrupt_file(caltech_dir):
    cal = caltech.load(32)
    assert cal.classes == ["airplane", "cat", "ship"], "sorted, BACKGROUND_Google left out"
    assert torch.bincount(cal.y).tolist() == [40, 36, 34], "the corrupt ship image skipped, nothing else"
    assert cal.x.shape == (110, 3, 32, 32) and cal.x.dtype == torch.uint8
    gray = cal.x[40]  # cat/image_0001.jpg, saved grayscale: three equal channels
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert not torch.equal(cal.x[41][0], cal.x[41][2]), "a colour image stays in colour"
    assert "ship/image_0035.jpg" in cal.note() and "skipped" in cal.note()
    assert caltech.load(32) is cal, "cached per process"
    (caltech_dir / "cat" / "image_0036.jpg").unlink()
    assert torch.bincount(caltech.load(32).y).tolist() == [40, 35, 34], "a changed folder is read again"
    assert caltech.load(16).x.shape[-1] == 16


def test_budgets_are_nested_and_the_test_images_are_never_in_the_pool(caltech_dir):
    target = transfer.target_data(SPEC)
    x5, y5 = transfer.budget_slice(target, 5)
    x10, y10 = transfer.budget_slice(target, 10)
    assert torch.bincount(y5).tolist() == [5] * 3 and torch.bincount(y10).tolist() == [10] * 3
    assert torch.equal(x10[:15], x5), "the 5 per class are among the 10"
    # The first 30 of each class are held out of testing whatever the budgets: the rest are the test images.
    assert torch.bincount(target.y_test).tolist() == [40 - 30, 36 - 30, 34 - 30]
    pool = {bytes((x * 255).round().to(torch.uint8).numpy()) for x in target.x}
    assert not pool & {bytes((x * 255).round().to(torch.uint8).numpy()) for x in target.x_test}
    again = transfer.target_data(replace(SPEC, budgets=(5,)))
    assert torch.equal(again.x_test, target.x_test), "the test set doesn't move with the budgets"
    assert "ship/image_0035.jpg" in target.note and target.source.location == str(caltech_dir)
    assert len(transfer.target_data(replace(SPEC, n_test=7)).y_test) == 7
    with pytest.raises(transfer.InvalidSpec, match=r"smallest class \(ship\) has only 34 images: .* at most 33"):
        transfer.target_data(replace(SPEC, budgets=(5, 34)))


def test_the_folder_named_like_the_zip_is_accepted(tmp_path, monkeypatch):
    base = write_caltech(tmp_path, "caltech-101")
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    assert caltech.find_folder() == base and transfer.check(SPEC) is None


def test_a_missing_folder_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    problem = transfer.check(SPEC)
    assert str(tmp_path / "caltech101" / "101_ObjectCategories") in problem
    assert "https://data.caltech.edu/records/mzrjq-6wc02" in problem and "caltech-101.zip" in problem
    with pytest.raises(transfer.InvalidSpec, match="101_ObjectCategories"):
        train_transfer(SPEC)
    with pytest.raises(caltech.data.DatasetUnavailable, match="caltech-101.zip"):
        transfer.target_data(SPEC)


def test_the_own_body_is_refused_for_caltech(caltech_dir):
    problem = transfer.check(replace(SPEC, body="own"))
    assert "needs an ImageNet body" in problem and "no such source task" in problem
    assert transfer.body_status("own", "caltech101") == ("", problem)
    with pytest.raises(transfer.InvalidSpec, match="needs an ImageNet body"):
        train_transfer(replace(SPEC, body="own", strategy="frozen"))


def test_offline_without_weights_caltech_says_where_to_put_them(caltech_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path / "cache"))
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        used, where = transfer.body_status("mobilenet_v2", "caltech101")
    finally:
        torch.hub.set_dir(hub)
    assert used == "", "no own body to fall back on"
    assert "Caltech 101 needs MobileNetV2's ImageNet weights" in where and "DLPLAY_WEIGHTS_URL" in where
    assert str(tmp_path / "cache" / "models" / "imagenet") in where and str(tmp_path / "hub" / "checkpoints") in where
    assert pretrained.IMAGENET["mobilenet_v2"].filename in where


def test_a_frozen_mobilenet_run_end_to_end_with_cached_features(caltech_dir, tmp_path, monkeypatch):
    # Random-init weights served as torchvision's file: the run's machinery, not its learning.
    with serve_checkpoint("mobilenet_v2", tmp_path, monkeypatch):
        pretrained.fetch_weights("mobilenet_v2")
        transfer.clear_features()
        spec = replace(SPEC, strategy="frozen", steps=10)
        before = transfer.FEATURE_PASSES[0]
        first = train_transfer(spec)
        second = train_transfer(replace(spec, lr=1e-3))
    assert [r["budget"] for r in first.rows] == [5, 10] and all(0 <= r["test_acc"] <= 1 for r in first.rows)
    assert first.classes == ["airplane", "cat", "ship"] and "ImageNet weights (MobileNetV2" in first.body_note
    assert transfer.FEATURE_PASSES[0] == before + 1 and first.feature_seconds > 0 and second.feature_seconds == 0
    back = transfer.load_result(spec, transfer.save_result(first))
    assert back.rows == first.rows and back.model(torch.rand(2, 3, 32, 32)).shape == (2, 3)
