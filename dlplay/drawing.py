"""Turn a drawing from the canvas into an MNIST-like 28×28 image.

MNIST digits were size-normalised to fit a 20×20 box (keeping the aspect ratio) and
then centred by centre of mass in a 28×28 field; a drawing must get the same
treatment or the classifier sees something it never trained on.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

INK_THRESHOLD = 0.05


def ink_from_canvas(rgba: np.ndarray) -> np.ndarray:
    """Canvas RGBA (H, W, 4), white or transparent background, to ink in [0, 1].

    Ink is whatever is dark and opaque, so it works for black strokes on a transparent
    canvas and for a white background painted in."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.ndim == 2:
        return rgba / 255.0 if rgba.max() > 1 else rgba
    alpha = rgba[..., 3] / 255.0 if rgba.shape[-1] == 4 else np.ones(rgba.shape[:2], np.float32)
    lum = rgba[..., :3].mean(-1) / 255.0
    return np.clip(alpha * (1.0 - lum), 0.0, 1.0)


def is_blank(ink: np.ndarray) -> bool:
    return float(ink.max(initial=0.0)) < INK_THRESHOLD


def to_mnist(ink: np.ndarray, box: int = 20, size: int = 28) -> np.ndarray | None:
    """Crop to the ink, fit into box×box, centre by mass in size×size; None if blank."""
    ink = np.asarray(ink, dtype=np.float32)
    if is_blank(ink):
        return None
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    crop = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    img = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS)
    small = np.asarray(img, dtype=np.float32) / 255.0
    out = np.zeros((size, size), np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top: top + new_h, left: left + new_w] = small
    cy, cx = ndimage.center_of_mass(out)
    shifted = ndimage.shift(out, (size / 2 - 0.5 - cy, size / 2 - 0.5 - cx), order=1, mode="constant")
    return np.clip(shifted, 0.0, 1.0)


def canvas_to_mnist(rgba: np.ndarray | None) -> np.ndarray | None:
    """The whole path from canvas pixels to a 28×28 digit, or None for an empty canvas."""
    if rgba is None:
        return None
    return to_mnist(ink_from_canvas(rgba))
