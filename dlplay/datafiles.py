"""Reading dataset files, and saying what is wrong with one in words a learner can act on.

Every reader checks what it reads — readability, gzip integrity, the IDX magic number and
dtype code, the sizes its header promises against what the file holds, images against
their labels, CIFAR pickles — and raises `BadData` naming the file and the fix
("MNIST/raw/train-images-idx3-ubyte.gz is truncated — re-download it or delete it"),
so `dlplay.data` can say so and try the next source.
"""
from __future__ import annotations

import gzip
import math
import pickle
import zlib
from pathlib import Path

import numpy as np

REDOWNLOAD = "re-download it or delete it"
# IDX's type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class BadData(Exception):
    """One or more files of a source cannot be used; `problems` says which and why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class BadDataFile(BadData):
    """One file: `name` (as the learner finds it), what is wrong with it, what to do."""

    def __init__(self, name: str, problem: str, fix: str = REDOWNLOAD):
        self.name, self.problem, self.fix = name, problem, fix
        super().__init__([f"{name} {problem} — {fix}"])


def display_name(path: Path, root: Path | None) -> str:
    """The path relative to the data directory when it is inside it, else in full."""
    try:
        return str(path.relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)


def find_file(folder: Path, stem: str, gz_only: bool = False) -> Path | None:
    """`stem` or `stem.gz` inside `folder`."""
    candidates = (folder / f"{stem}.gz",) if gz_only else (folder / stem, folder / f"{stem}.gz")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path, name: str) -> bytes:
    """The file's content, decompressed when it ends in .gz."""
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise BadDataFile(name, "cannot be read (permission denied)",
                          "let the server's user read it (chmod a+r) or delete it") from None
    except OSError as exc:
        raise BadDataFile(name, f"cannot be read ({exc.strerror or exc})", "check the disk, or delete it") from None
    if not raw:
        raise BadDataFile(name, "is empty (0 bytes)")
    if path.suffix != ".gz":
        return raw
    if raw[:2] != b"\x1f\x8b":
        raise BadDataFile(name, "is not a gzip file although its name ends in .gz",
                          "re-download it, or remove .gz from its name if it is an uncompressed file")
    try:
        return gzip.decompress(raw)
    except EOFError:  # the stream stops before its end marker: a download cut short
        raise BadDataFile(name, "is truncated") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise BadDataFile(name, f"is corrupted ({exc})") from None


def read_idx(path: Path, name: str | None = None) -> np.ndarray:
    """An IDX file (MNIST's format), gzipped or not, checked against its own header."""
    name = name or str(path)
    raw = read_bytes(path, name)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES or raw[3] == 0:
        raise BadDataFile(name, f"is not an IDX file (it starts with bytes {raw[:4].hex(' ')}; "
                                "MNIST's files start with 00 00 08 01 or 00 00 08 03)")
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise BadDataFile(name, "is truncated (its header is cut short)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = math.prod(dims)
    body, expected = len(raw) - header, count * dtype.itemsize
    if body < expected:
        raise BadDataFile(name, f"is truncated (its header promises {'×'.join(map(str, dims))} values: "
                                f"{expected:,} bytes, but it holds {body:,})")
    if body > expected:
        raise BadDataFile(name, f"is corrupted ({body - expected:,} bytes more than its header promises)")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)


def check_images(x: np.ndarray, y: np.ndarray, names: tuple[str, str], pixels: tuple[int, ...],
                 n_classes: int, what: str, fix: str = REDOWNLOAD) -> None:
    """Images of the dataset's size as uint8, one label in range per image."""
    x_name, y_name = names
    if x.dtype != np.uint8 or tuple(x.shape[1:]) != pixels:
        found = "×".join(map(str, x.shape[1:])) or "single values"
        raise BadDataFile(x_name, f"does not hold {what} images (found {found} {x.dtype} values each): "
                                  "it belongs to another dataset", fix)
    if y.ndim != 1:
        raise BadDataFile(y_name, f"does not hold one label per image (found shape {y.shape})", fix)
    if len(x) != len(y):
        raise BadData([f"{x_name} has {len(x):,} images but {y_name} has {len(y):,} labels: one of them is "
                       f"incomplete or from another dataset — re-download both"])
    if len(y) and not (0 <= int(y.min()) and int(y.max()) < n_classes):
        raise BadDataFile(y_name, f"has labels outside 0–{n_classes - 1} (found {int(y.min())}…{int(y.max())})",
                          fix)


def read_mnist_folder(folder: Path, files: dict[str, str], root: Path | None = None,
                      gz_only: bool = False, fix: str = REDOWNLOAD) -> dict[str, np.ndarray] | None:
    """The four MNIST-layout files in `folder` (`files`: key -> stem), checked; None if any
    is missing. Every broken file is named at once (BadData), not only the first."""
    paths = {key: find_file(folder, stem, gz_only) for key, stem in files.items()}
    if not all(paths.values()):
        return None
    names = {key: display_name(path, root) for key, path in paths.items()}
    arrays, problems = {}, []
    for key, path in paths.items():
        try:
            arrays[key] = read_idx(path, names[key])
        except BadDataFile as exc:  # a source's own fix (e.g. reinstall a package) replaces the generic one
            problems.append(f"{exc.name} {exc.problem} — {fix if exc.fix == REDOWNLOAD else exc.fix}")
    for split in ("train", "test"):
        x, y = f"{split}_images", f"{split}_labels"
        if x in arrays and y in arrays:
            try:
                check_images(arrays[x], arrays[y], (names[x], names[y]), (28, 28), 10, "28×28 grey", fix)
            except BadData as exc:
                problems += exc.problems
    if problems:
        raise BadData(problems)
    return arrays


CIFAR_FIX = "extract it again from cifar-10-python.tar.gz or delete it"


def read_cifar_batch(path: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: (N, 3, 32, 32) uint8 images and their labels."""
    raw = read_bytes(path, name)
    try:
        d = pickle.loads(raw, encoding="latin1")
    except Exception as exc:  # noqa: BLE001 - a broken pickle raises anything from EOFError to KeyError
        raise BadDataFile(name, f"cannot be unpickled ({type(exc).__name__}), so it is not a CIFAR-10 python "
                                "batch", CIFAR_FIX) from None
    if not isinstance(d, dict) or "data" not in d or "labels" not in d:
        raise BadDataFile(name, "is not a CIFAR-10 python batch (it has no data and labels)", CIFAR_FIX)
    x, y = np.asarray(d["data"]), np.asarray(d["labels"])
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise BadDataFile(name, f"does not hold 32×32 colour images (found data of shape {x.shape})", CIFAR_FIX)
    x = x.reshape(-1, 3, 32, 32)
    check_images(x, y, (name, name), (3, 32, 32), 10, "3×32×32 colour", CIFAR_FIX)
    return x, y


def read_cifar_folder(folder: Path, root: Path | None = None) -> dict | None:
    """CIFAR-10 python batches; any subset of the five training batches is accepted, and a
    broken training batch is left out (named in `problems`) while the others are used."""
    test = folder / "test_batch"
    train_files = sorted(p for p in folder.glob("data_batch_*") if p.is_file())
    if not test.is_file() or not train_files:
        return None
    parts, problems = [], []
    for path in train_files:
        try:
            parts.append(read_cifar_batch(path, display_name(path, root)))
        except BadData as exc:
            problems += exc.problems
    try:
        x_test, y_test = read_cifar_batch(test, display_name(test, root))
    except BadData as exc:
        raise BadData(problems + exc.problems) from None
    if not parts:
        raise BadData(problems)
    return {
        "train_images": np.concatenate([p[0] for p in parts]),
        "train_labels": np.concatenate([p[1] for p in parts]),
        "test_images": x_test,
        "test_labels": y_test,
        "n_batches": len(parts),
        "problems": problems,
    }
