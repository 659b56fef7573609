"""The lazy image-folder dataset: files opened only when a batch needs them, the same batches as
the in-memory one, broken files named and skipped, UTKFace names parsed, workers stopped at once."""
import shutil
import time
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from dlplay import data
from dlplay.jobs import Cancelled
from dlplay.vision import digitfiles, lazyfiles
from dlplay.vision.lazyfiles import Bad, InMemory, LazyImages, list_folder, loader


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """60 training and 10 test MNIST digits written as PNG files named with their slant."""
    return digitfiles.write(tmp_path_factory.mktemp("digits") / "folder", n_train=60, n_test=10)


def lazy_over(folder) -> LazyImages:
    listing = list_folder(folder, "digits")
    return LazyImages(listing.paths, listing.targets)


def test_the_written_files_hold_real_digits_and_the_slant_measured_from_them(digit_folder):
    listing = list_folder(digit_folder / "train", "digits")
    assert len(listing.paths) == 60 and not listing.odd_names
    mnist = data.load("mnist")
    first = np.asarray(Image.open(listing.paths[0]))
    assert np.array_equal(first, (mnist.x_train[0, 0].numpy() * 255).round().astype(np.uint8))
    assert listing.paths[0].name.startswith(f"00000_{int(mnist.y_train[0])}_")
    assert listing.targets[0] == pytest.approx(float(digitfiles.slant_degrees(first[None])[0]), abs=0.006)
    # A right-leaning stroke (/ drawn top-right to bottom-left) has a positive slant, its mirror a negative one.
    lean = np.zeros((1, 28, 28))
    for r in range(4, 24):
        lean[0, r, 20 - (r - 4) // 2] = 1.0
    assert digitfiles.slant_degrees(lean)[0] > 20 and digitfiles.slant_degrees(lean[:, :, ::-1])[0] < -20


def test_nothing_is_opened_until_a_batch_needs_it_and_then_only_that_batch(digit_folder):
    ds = lazy_over(digit_folder / "train")
    assert not ds.opened, "listing the folder and building the dataset open no file"
    it = iter(loader(ds, 8, shuffle=True, seed=5))
    batch = next(it)
    names = [ds.paths[int(i)].name for i in batch.index]
    assert ds.opened == Counter(names) and len(names) == 8, "exactly the first batch's files, once each"
    second = next(it)
    assert ds.opened == Counter(names + [ds.paths[int(i)].name for i in second.index])
    assert sum(ds.opened.values()) == 16 < len(ds)
    assert batch.x.shape == (8, 1, 28, 28) and torch.equal(batch.y, ds.targets[batch.index])


def test_the_lazy_dataset_yields_exactly_the_in_memory_batches_for_the_same_seed(digit_folder):
    ds = lazy_over(digit_folder / "train")
    held = InMemory(lazy_over(digit_folder / "train"))
    with lazyfiles.batches(loader(ds, 16, shuffle=True, seed=11, workers=2, prefetch=2)) as it:
        lazy_batches = list(it)
    memory_batches = list(loader(held, 16, shuffle=True, seed=11))
    assert len(lazy_batches) == len(memory_batches) == 4
    for a, b in zip(lazy_batches, memory_batches):
        assert torch.equal(a.index, b.index) and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert sorted(torch.cat([b.index for b in lazy_batches]).tolist()) == list(range(60)), "every file once"


def test_corrupt_and_unreadable_files_are_named_and_skipped(digit_folder, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(digit_folder / "train", folder)
    names = sorted(p.name for p in folder.iterdir())
    (folder / names[3]).write_bytes(b"this is not a PNG at all" * 10)  # garbage under a good name
    raw = (folder / names[7]).read_bytes()
    (folder / names[7]).write_bytes(raw[: len(raw) // 2])  # cut in half
    (folder / "00999_1_+3.00.png").mkdir()  # a folder with an image's name
    ds = lazy_over(folder)
    (folder / names[20]).unlink()  # gone between listing and reading
    held = InMemory(LazyImages(ds.paths, ds.targets))  # decoding all of them up front: no crash either
    seen, bad = 0, []
    with lazyfiles.batches(loader(ds, 10, shuffle=True, workers=2)) as it:
        for b in it:
            seen += len(b.y)
            bad += b.bad
    reasons = {b.name: b.reason for b in bad}
    assert set(reasons) == {names[3], names[7], names[20], "00999_1_+3.00.png"}
    assert reasons[names[20]] == "the file has gone" and reasons["00999_1_+3.00.png"] == "a folder, not a file"
    assert "not a readable image" in reasons[names[3]] and "not a readable image" in reasons[names[7]]
    assert seen == len(ds) - 4 == 57
    assert set(held.bad) == {b.index for b in bad}


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_a_file_without_read_permission_is_named_and_skipped(digit_folder, tmp_path):
    folder = tmp_path / "locked"
    shutil.copytree(digit_folder / "test", folder)
    locked = sorted(folder.iterdir())[2]
    locked.chmod(0)
    items = [lazy_over(folder)[i] for i in range(10)]
    assert [(b.name, b.reason) for b in items if isinstance(b, Bad)] == [(locked.name, "no permission to read it")]


def test_utkface_file_names_are_parsed_from_a_folder_of_real_images(tmp_path):
    cifar = data.load("cifar10")
    names = {"26_0_1_20170116174525125.jpg.chip.jpg": 26, "3_1_0_20170109150557335.jpg": 3,
             "85_0_3_20170111205436011.jpg": 85, "116_1_2_20170112213001988.jpg.chip.jpg": 116}
    odd = ["39_1_20170116174525125.jpg.chip.jpg", "notes.jpg"]  # UTKFace has files missing their race
    for i, name in enumerate([*names, *odd]):
        img = (cifar.x_train[i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / name, format="JPEG")
    (tmp_path / "README.txt").write_text("not an image")
    listing = list_folder(tmp_path, "utkface")
    assert dict(zip((p.name for p in listing.paths), listing.targets)) == names
    assert sorted(listing.odd_names) == sorted(odd)
    ds = LazyImages(listing.paths, listing.targets, size=64, channels=3)
    x, y, i = ds[0]
    assert x.shape == (3, 64, 64) and 0 <= x.min() and x.max() <= 1 and x.std() > 0.05
    assert y.item() == names[listing.paths[0].name]


def test_stopping_shuts_the_workers_down_at_once(digit_folder):
    ds = lazy_over(digit_folder / "train")
    dl = loader(ds, 4, shuffle=True, workers=2, prefetch=2, persistent=True)
    with pytest.raises(Cancelled):
        with lazyfiles.batches(dl) as it:
            next(it)
            workers = list(it._workers)  # noqa: SLF001 - the processes the test watches
            assert all(w.is_alive() for w in workers)
            t0 = time.perf_counter()
            raise Cancelled()  # what job.check_cancelled raises after Stop
    stopped_in = time.perf_counter() - t0
    assert not any(w.is_alive() for w in workers) and stopped_in < 3.0, stopped_in


def test_workers_start_from_a_forkserver_not_a_fork_of_the_threaded_server():
    assert lazyfiles.start_method() == "forkserver"
    assert loader(LazyImages([], []), 4, workers=1).multiprocessing_context.get_start_method() == "forkserver"


def test_workers_start_while_a_page_script_is_main(digit_folder, tmp_path, monkeypatch):
    """Under Streamlit (and after an AppTest) `__main__` is the last page script run; a worker
    started by forkserver or spawn would run that script again and die. The loader's workers
    must start without it."""
    import sys
    import types

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a worker ran the page script')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    ds = lazy_over(digit_folder / "train")
    with lazyfiles.batches(loader(ds, 16, workers=2, method="forkserver")) as it:
        assert sum(len(b.y) for b in it) == len(ds)
    assert sys.modules["__main__"] is fake, "the page's __main__ is back once the workers started"
