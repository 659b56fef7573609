"""Caltech 101 from the user's own folder, for the transfer-learning lesson.

torchvision's layout: `$DLPLAY_DATA_DIR/caltech101/101_ObjectCategories/<class>/image_0001.jpg`
(or `caltech-101/101_ObjectCategories`), the `BACKGROUND_Google` clutter class left out as
torchvision does. There is no download here (the zip is 130 MB behind a records page): a learner
puts the folder there once. The images are decoded once, resized to the ImageNet body's input
size and kept in memory as uint8 (9,144 images at 64×64 are 110 MB), cached per process and
read again when the folder's files change. An image that can't be decoded is skipped and named.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import data
from ..visible import ask, text, where

TITLE = "Caltech 101"
URL = "https://data.caltech.edu/records/mzrjq-6wc02"
FOLDERS = ("caltech101", "caltech-101")  # torchvision's name, and the zip's
IMAGES = "101_ObjectCategories"
SKIP = ("BACKGROUND_Google",)  # random Google images, not an object category
SUFFIXES = (".jpg", ".jpeg", ".png")
# The usual Caltech 101 protocol trains on 30 images per class and tests on the rest: the first
# 30 of each class (in a seeded random order) are never test images, whatever budgets are chosen,
# so the test set doesn't move when the budgets change.
HELD = 30


@dataclass
class Caltech:
    x: torch.Tensor  # uint8 (N, 3, S, S)
    y: torch.Tensor  # int64 (N,)
    classes: list[str]
    folder: Path
    key: tuple  # folder and file listing: what the cache (and frozen features) are keyed by
    skipped: list[str] = field(default_factory=list)  # "class/file (why)"

    def note(self) -> str:
        if not self.skipped:
            return ""
        shown = "; ".join(self.skipped[:5]) + (f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else "")
        return (f"{len(self.skipped)} image file(s) of {where(self.folder)} could not be read and were skipped: "
                f"{text(shown)}")


def find_folder() -> Path | None:
    for name in FOLDERS:
        if (path := data.data_dir() / name / IMAGES).is_dir():
            return path
    return None


def missing_message() -> str:
    return (f"{TITLE} is not in the data directory. Download `caltech-101.zip` from {URL}, extract "
            f"`101_ObjectCategories.tar.gz` from it, and put its `{IMAGES}` folder (one folder of .jpg images "
            f"per class) at {where(data.data_dir() / FOLDERS[0] / IMAGES)}{ask()}.")


def listing(folder: Path) -> dict[str, list[os.DirEntry]]:
    """Class name → its image files, both sorted (as torchvision orders them)."""
    classes = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir() and entry.name not in SKIP:
            classes[entry.name] = sorted((f for f in os.scandir(entry.path)
                                          if f.is_file() and f.name.lower().endswith(SUFFIXES)), key=lambda f: f.name)
    return classes


def read_image(path: str, size: int) -> np.ndarray:
    """(size, size, 3) uint8. Grayscale JPEGs (Caltech has some) become three equal channels;
    the aspect ratio is squashed to a square, as torchvision's Resize((size, size)) does."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8)


_cache: dict[tuple, Caltech] = {}
_lock = threading.Lock()


def load(size: int) -> Caltech:
    """The images resized to size×size; raises data.DatasetUnavailable saying what to put where."""
    folder = find_folder()
    if folder is None:
        raise data.DatasetUnavailable(missing_message())
    files = listing(folder)
    key = (str(folder), tuple((c, tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in fs))
                              for c, fs in files.items()))
    with _lock:
        if (size, key) in _cache:
            return _cache[(size, key)]
        caltech = _read(folder, files, size, key)
        _cache[(size, key)] = caltech
        while len(_cache) > 2:  # e.g. two image sizes; oldest out
            _cache.pop(next(iter(_cache)))
        return caltech


def _read(folder: Path, files: dict[str, list[os.DirEntry]], size: int, key: tuple) -> Caltech:
    jobs = [(c, f) for c, fs in files.items() for f in fs]

    def one(job):
        try:
            return read_image(job[1].path, size), ""
        except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, ValueError, SyntaxError…: skip, name it
            # Pillow's message repeats the file's full path: the class and name say which file it is.
            why = str(exc).replace(job[1].path, "").replace(str(folder), "").strip(" :'\"") or type(exc).__name__
            return None, f"{job[0]}/{job[1].name} ({why})"

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # Pillow decodes without the GIL
        decoded = list(pool.map(one, jobs))
    images, labels, skipped, seen = [], [], [], {}
    for (c, _), (image, problem) in zip(jobs, decoded):
        if image is None:
            skipped.append(problem)
            continue
        images.append(image)
        labels.append(seen.setdefault(c, len(seen)))
    empty = [c for c in files if c not in seen]
    skipped += [f"{c}/ (no readable image: the class is left out)" for c in empty]
    if not images:
        raise data.DatasetUnavailable(f"{folder} holds no readable images. " + missing_message())
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return Caltech(x, torch.tensor(labels), list(seen), folder, key, skipped)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
