"""The offline default folder for image regression: real MNIST digits written once as PNG
files, each named with a continuous target measured from the image itself.

The target is the stroke's **slant**, from the image's second moments: with the ink's
centre (x̄, ȳ), μ11 = mean((x−x̄)(y−ȳ)) and μ02 = mean((y−ȳ)²), weighted by ink. The
shear −μ11/μ02 is how many pixels the stroke moves sideways per pixel of height (rows grow
downwards, hence the sign: positive leans right, like italics) — the quantity MNIST
deskewing undoes. As an angle from the vertical, atan(shear), it is the **slant in degrees**
(−29° … +38° for 98 % of MNIST, a spread of 15°, as UTKFace's ages spread 20 years): continuous,
readable only from the picture, and labelled for free. The file name keeps it to two
decimals: `00042_7_+12.34.png` is image 42, a 7, leaning 12.34° to the right.
"""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np

from .. import data

VERSION = 1
N_TRAIN, N_TEST = 12_000, 2_000


def shear(images: np.ndarray) -> np.ndarray:
    """The slant of each (N, H, W) image: sideways pixels per pixel of height, positive to the right."""
    x = np.asarray(images, np.float64)
    h, w = x.shape[1:]
    ys, xs = np.mgrid[:h, :w]
    ink = x.sum((1, 2)).clip(min=1e-9)
    cx = (x * xs).sum((1, 2)) / ink
    cy = (x * ys).sum((1, 2)) / ink
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    mu11 = (x * dx * dy).sum((1, 2)) / ink
    mu02 = (x * dy * dy).sum((1, 2)) / ink
    return -mu11 / mu02.clip(min=1e-9)


def slant_degrees(images: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan(shear(images)))


def file_name(index: int, digit: int, value: float) -> str:
    return f"{index:05d}_{digit}_{value:+.2f}.png"


def folder(n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    return data.cache_dir() / "image-regression" / f"mnist-slant-v{VERSION}-{n_train}-{n_test}"


def ready(root: Path | None = None) -> bool:
    return ((root or folder()) / "done.json").is_file()


def write(root: Path | None = None, n_train: int = N_TRAIN, n_test: int = N_TEST,
          progress=None) -> Path:
    """Write the folder once (train/ and test/, from MNIST's own splits) and return it; a folder
    already written is reused. Written beside its final place and renamed, so two sessions
    starting at once, or a server stopped half-way, never leave a half folder in use."""
    from PIL import Image

    root = root or folder(n_train, n_test)
    if ready(root):
        return root
    ds = data.load("mnist")
    tmp = root.with_name(f"{root.name}.part-{uuid.uuid4().hex[:8]}")
    splits = {"train": (ds.x_train[:n_train], ds.y_train[:n_train]), "test": (ds.x_test[:n_test], ds.y_test[:n_test])}
    total, done = sum(len(x) for x, _ in splits.values()), 0
    try:
        for split, (x, y) in splits.items():
            (tmp / split).mkdir(parents=True)
            pixels = (x[:, 0].numpy() * 255).round().astype(np.uint8)
            values = slant_degrees(pixels)  # measured on the very pixels written
            for i, (img, digit, value) in enumerate(zip(pixels, y.tolist(), values)):
                # Light compression: 3× faster to write than the default, the files 2 % bigger.
                Image.fromarray(img).save(tmp / split / file_name(i, digit, float(value)), compress_level=1)
                done += 1
                if progress is not None and done % 500 == 0:
                    progress(done / total, f"writing digit images: {done:,} of {total:,}")
        (tmp / "done.json").write_text(json.dumps({"source": ds.source.describe(full=True),
                                                   "train": len(splits["train"][0]), "test": len(splits["test"][0]),
                                                   "target": "slant in degrees, atan(-mu11/mu02)"}))
        root.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(root)
        except OSError:  # another session finished first: use its folder
            if not ready(root):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
