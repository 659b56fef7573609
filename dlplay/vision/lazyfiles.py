"""A folder of image files as a torch `Dataset` that opens each file only when a batch needs it.

The label is read from the file name by a `Layout`: UTKFace's `age_gender_race_date.jpg`
(the age is the target) or the offline digit folder's `index_digit_slant.png`
(`dlplay.vision.digitfiles`). Listing the folder opens nothing; `__getitem__` opens one
file, so memory holds only the names however big the folder is. A file that cannot be
read (corrupt, deleted, no permission) comes back as a `Bad` item that `collate` drops
from its batch and reports by name: one broken file never stops a run.

`InMemory` is the same dataset decoded once up front, for the comparison: same indices,
same items, so the same sampler gives the same batches.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import sys
import threading
import time
import types
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


# --- file-name layouts --------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """How a file name spells its label: a regular expression whose group "target" is the number."""

    name: str
    pattern: str
    example: str
    target: str  # what the number is, in words

    def parse(self, filename: str) -> float | None:
        m = re.match(self.pattern, filename, re.IGNORECASE)
        return float(m.group("target")) if m else None


LAYOUTS = {
    # UTKFace (susanqq.github.io/UTKFace): [age]_[gender]_[race]_[date&time].jpg(.chip.jpg)
    "utkface": Layout("utkface", r"^(?P<target>\d{1,3})_[01]_[0-4]_\d+\.(jpe?g|png)(\.chip\.jpe?g)?$",
                      "26_0_1_20170116174525125.jpg", "age in years"),
    # dlplay.vision.digitfiles: [index]_[digit]_[slant].png, the slant measured from the image
    "digits": Layout("digits", r"^\d+_\d_(?P<target>[+-]?\d+(\.\d+)?)\.png$", "00042_7_+12.34.png",
                     "the stroke's slant in degrees"),
}


# --- reading one image ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Bad:
    """An item whose file could not be read: its place, its name and why."""

    index: int
    name: str
    reason: str


def read_image(path: Path, size: int, channels: int) -> torch.Tensor:
    """One file as float32 (C, size, size) in [0, 1]; raises OSError/ValueError if unreadable."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        arr = np.asarray(im, dtype=np.uint8)
    x = torch.from_numpy(arr.copy()).float().div_(255)
    return x[None] if channels == 1 else x.permute(2, 0, 1).contiguous()


def _why(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the file has gone"
    if isinstance(exc, PermissionError):
        return "no permission to read it"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    return f"not a readable image ({type(exc).__name__})"


# --- the datasets -----------------------------------------------------------------------------------

@dataclass
class Listing:
    """A folder's files that follow a layout, their targets, and the names that don't."""

    folder: Path
    layout: Layout
    paths: list[Path] = field(default_factory=list)
    targets: list[float] = field(default_factory=list)
    odd_names: list[str] = field(default_factory=list)  # image files whose name doesn't follow the layout


def list_folder(folder: str | Path, layout: str | Layout) -> Listing:
    """The image files of `folder` (sorted by name: the same order everywhere), parsed by name only."""
    layout = LAYOUTS[layout] if isinstance(layout, str) else layout
    out = Listing(Path(folder), layout)
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if not name.lower().endswith(EXTENSIONS) and not name.lower().endswith(".chip.jpg"):
            continue
        target = layout.parse(name)
        if target is None:
            out.odd_names.append(name)
        else:
            out.paths.append(Path(entry.path))
            out.targets.append(target)
    return out


class LazyImages(Dataset):
    """Items (image, target, index) read from their files on demand.

    `opened` counts, in this process, how often each file was opened (a DataLoader's workers
    each have their own copy): tests read it, nothing else does."""

    def __init__(self, paths: list[Path], targets, size: int = 28, channels: int = 1):
        self.paths = [Path(p) for p in paths]
        self.targets = torch.as_tensor(np.asarray(targets, np.float32))
        self.size, self.channels = size, channels
        self.opened: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        path = self.paths[i]
        self.opened[path.name] += 1
        try:
            return read_image(path, self.size, self.channels), self.targets[i], i
        except (OSError, ValueError, SyntaxError) as exc:  # PIL raises all three for broken files
            return Bad(i, path.name, _why(exc))

    def held_bytes(self) -> int:
        """What the dataset itself keeps in memory: the targets (the paths are a few bytes each)."""
        return self.targets.numel() * 4 + sum(len(str(p)) for p in self.paths)


class InMemory(Dataset):
    """The same items, every file decoded once at construction and held as one tensor."""

    def __init__(self, lazy: LazyImages):
        items = [lazy[i] for i in range(len(lazy))]
        self.bad = {it.index: it for it in items if isinstance(it, Bad)}
        shape = (lazy.channels, lazy.size, lazy.size)
        self.x = torch.stack([torch.zeros(shape) if isinstance(it, Bad) else it[0] for it in items]) \
            if items else torch.zeros((0, *shape))
        self.targets = lazy.targets

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.bad[i] if i in self.bad else (self.x[i], self.targets[i], i)

    def held_bytes(self) -> int:
        return self.x.numel() * self.x.element_size() + self.targets.numel() * 4


# --- batches ---------------------------------------------------------------------------------------

@dataclass
class Batch:
    x: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor
    bad: list[Bad]


def collate(items: list) -> Batch:
    """Stack the readable items; the unreadable ones are left out and listed in `bad`."""
    good = [it for it in items if not isinstance(it, Bad)]
    bad = [it for it in items if isinstance(it, Bad)]
    if not good:
        return Batch(torch.zeros(0), torch.zeros(0), torch.zeros(0, dtype=torch.long), bad)
    x, y, i = zip(*good)
    return Batch(torch.stack(x), torch.stack(list(y)), torch.tensor(i), bad)


def _one_thread(_worker_id: int) -> None:
    # A worker only decodes images: one torch/OpenMP thread each, so the workers and the
    # training thread don't fight over the cores (DataLoader does this too; said here so it's sure).
    torch.set_num_threads(1)


def start_method() -> str:
    """How worker processes start. "fork" copies a process whose other threads (a Streamlit
    server, torch's OpenMP pool, another run) may hold locks at that moment, and a child that
    then needs one of those locks hangs; "forkserver" forks from a clean single-threaded server
    process started once, so it is safe and, after the first run, about as quick
    (`python -m dlplay.bench --only lazyload` measures the three)."""
    return os.environ.get("DLPLAY_WORKER_START", "forkserver")


def context(method: str):
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # The server imports torch and this module once; every worker is then a fork of it,
        # ready at once, instead of a new interpreter importing torch (seconds) per worker.
        ctx.set_forkserver_preload(["torch", "PIL.Image", __name__])
    return ctx


def loader(ds: Dataset, batch_size: int, *, shuffle: bool = False, seed: int = 0, workers: int = 0,
           prefetch: int = 2, persistent: bool = False, method: str | None = None) -> DataLoader:
    """A DataLoader over `ds` whose shuffling depends only on `seed` (its own generator), so two
    datasets with the same items give the same batches. With workers, each keeps `prefetch`
    batches read ahead of the training loop."""
    kw = {}
    if workers:
        kw = dict(num_workers=workers, prefetch_factor=prefetch, persistent_workers=persistent,
                  worker_init_fn=_one_thread, multiprocessing_context=context(method or start_method()))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, collate_fn=collate, **kw)


_MAIN_LOCK = threading.Lock()


@contextmanager
def _plain_main():
    """While worker processes start: a `__main__` with no file. multiprocessing's forkserver
    and spawn re-run the parent's `__main__` script in every new process — under Streamlit
    that is whichever page script ran last (it installs each page as `__main__`), so a worker
    would run a whole page, and die on its widgets. With no file to re-run, workers import
    only what they unpickle (this module, torch)."""
    with _MAIN_LOCK:
        real, plain = sys.modules.get("__main__"), types.ModuleType("__main__")
        sys.modules["__main__"] = plain
        try:
            yield
        finally:
            if sys.modules.get("__main__") is plain:  # a page run may have installed its own meanwhile
                sys.modules["__main__"] = real


def start(dl: DataLoader) -> Iterator[Batch]:
    """`iter(dl)`: its worker processes, if any, start here."""
    if not dl.num_workers:
        return iter(dl)
    with _plain_main():
        return iter(dl)


@contextmanager
def batches(dl: DataLoader) -> Iterator[Iterator[Batch]]:
    """Iterate `dl`; leaving early — Stop (`Cancelled`), an error, a `break` — shuts its worker
    processes down at once instead of whenever the iterator is garbage-collected. A loader
    with persistent workers keeps them at an epoch's normal end: `close` it after the last."""
    it = start(dl)
    try:
        yield it
    except BaseException:
        _shutdown(it)
        raise
    if not dl.persistent_workers:
        _shutdown(it)


def close(dl: DataLoader) -> None:
    """Shut down a loader's persistent workers (after its last epoch, or on Stop)."""
    it = getattr(dl, "_iterator", None)
    if it is not None:
        _shutdown(it)
        dl._iterator = None


def _shutdown(it) -> None:
    shutdown = getattr(it, "_shutdown_workers", None)  # only a multi-process iterator has workers
    if shutdown is not None:
        shutdown()


def measure(dl: DataLoader, limit: int | None = None, on_batch: Callable[[Batch], None] | None = None) -> dict:
    """Read batches from `dl` (at most `limit` images): images per second, seconds to the first
    batch (worker start-up included) and the unreadable files met."""
    t0 = time.perf_counter()
    first, n, bad = None, 0, []
    with batches(dl) as it:
        for b in it:
            if first is None:
                first = time.perf_counter() - t0
            n += len(b.y)
            bad += b.bad
            if on_batch is not None:
                on_batch(b)
            if limit is not None and n >= limit:
                break
    seconds = time.perf_counter() - t0
    return {"images": n, "seconds": seconds, "images_per_s": n / max(seconds, 1e-9), "first_batch_s": first or 0.0,
            "bad": [b.name for b in bad]}
