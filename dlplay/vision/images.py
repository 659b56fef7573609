"""Images from outside the datasets: an uploaded file turned into what a model expects,
and the flip + translate augmentation CIFAR-10 trains with.

`load_upload` takes any file Pillow reads (PNG, JPEG, GIF's first frame, WebP, BMP,
TIFF…) of any size and returns a (C, H, W) float tensor in [0, 1] shaped like the
dataset's images; anything else is an `ImageRejected` whose message a page can show
as it is.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from ..drawing import INK_THRESHOLD, to_mnist
from ..viz import tile_grid

MAX_BYTES = 10 * 1024 * 1024  # 10 MB: more than any photo a phone takes, far less than a server's memory
MAX_PIXELS = 4096 * 4096  # 16.8 MP, over a phone's 12.2: decoded once, 67 MB (160 MB while shrunk); more: refused
WORK_PX = 1024  # decoded pictures are shrunk to this long side first: 4× the biggest model input, a stroke stays one


class ImageRejected(ValueError):
    """The upload can't be used as an image; the message says why, in plain words."""


def _open(data: bytes, name: str) -> Image.Image:
    """The first frame of the file decoded, at most WORK_PX on its long side, or ImageRejected.

    The pixel count is read from the header and checked before anything is decoded: a 36-megapixel
    PNG (116 KB of one colour) cost 611 MB and 3.3 s on the page's thread when it was decoded
    whole and handled at full size (as RGBA: 2 GB, 9.7 s); refused unread it costs nothing. A JPEG
    is decoded at 1/2, 1/4 or 1/8 scale when that still leaves WORK_PX (Pillow's draft mode)."""
    label = f"“{name}”" if name else "The file"
    if not data:
        raise ImageRejected(f"{label} is empty (0 bytes): choose an image file such as a PNG or JPEG.")
    if len(data) > MAX_BYTES:
        raise ImageRejected(f"{label} is {len(data) / 1e6:.1f} MB; images up to {MAX_BYTES / 1e6:.0f} MB "
                            "are accepted. Save a smaller copy and upload that.")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then errors, on decompression bombs; our own limit below is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only: the size is known before decoding
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageRejected(f"{label} is {w:,}×{h:,} pixels ({w * h / 1e6:.0f} megapixels); images up "
                                    f"to {MAX_PIXELS / 1e6:.1f} megapixels (4,096×4,096) are accepted. Save a "
                                    "smaller copy and upload that.")
            img.seek(0)  # an animated GIF or WebP: its first frame
            k = WORK_PX / max(w, h)
            if k < 1:
                img.draft(None, (max(1, round(w * k)), max(1, round(h * k))))  # JPEG only; others decode whole
            img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"{label} is too large an image to decode safely "
                            f"(over {MAX_PIXELS / 1e6:.1f} megapixels).") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # Not an image at all, or a truncated/corrupt one: Pillow says so in several ways.
        raise ImageRejected(f"{label} is not an image Pillow can read. Upload a PNG, JPEG, GIF, WebP or "
                            "BMP file.") from None
    if w < 1 or h < 1:
        raise ImageRejected(f"{label} has no pixels.")
    if max(img.size) > WORK_PX:
        if img.mode in ("P", "PA") or (img.mode == "L" and "transparency" in img.info):
            img = img.convert("RGBA")  # as _flatten_alpha would: shrunk as colours, not as palette indices
        elif img.mode == "1":
            img = img.convert("L")  # shrunk as grey, not as dots
        img.thumbnail((WORK_PX, WORK_PX), Image.LANCZOS, reducing_gap=2.0)
    return ImageOps.exif_transpose(img)  # a phone photo taken sideways is shown the right way up


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """RGB without transparency. Transparent pixels become a background that contrasts
    with what is drawn: white under dark strokes, black under light ones (a digit drawn
    in white on a transparent canvas must not vanish on white)."""
    if img.mode in ("P", "PA") or (img.mode == "L" and "transparency" in img.info):
        img = img.convert("RGBA")
    if img.mode not in ("RGBA", "LA", "La", "RGBa"):
        return img.convert("RGB")
    rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
    alpha = rgba[..., 3:]
    opaque = alpha[..., 0] > 0.5
    lum = rgba[..., :3].mean(-1)
    content = float(lum[opaque].mean()) if opaque.any() else 0.0
    background = 1.0 if content < 0.5 else 0.0
    rgb = rgba[..., :3] * alpha + background * (1.0 - alpha)
    return Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB")


def _fit(img: Image.Image, h: int, w: int, fill) -> Image.Image:
    """Resized to fit h×w keeping its aspect ratio, centred, the rest filled with `fill`."""
    scale = min(w / img.width, h / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    small = img.resize(size, Image.LANCZOS if scale < 1 else Image.BICUBIC)
    out = Image.new(img.mode, (w, h), fill)
    out.paste(small, ((w - size[0]) // 2, (h - size[1]) // 2))
    return out


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels of the outer tenth of each side (at least one pixel)."""
    h, w = a.shape[:2]
    bh, bw = max(1, h // 10), max(1, w // 10)
    return np.concatenate([a[:bh].reshape(-1, *a.shape[2:]), a[-bh:].reshape(-1, *a.shape[2:]),
                           a[:, :bw].reshape(-1, *a.shape[2:]), a[:, -bw:].reshape(-1, *a.shape[2:])])


def mnist_like(gray: np.ndarray, size: int = 28) -> np.ndarray:
    """A grayscale picture (H, W) in [0, 1] as MNIST shows its images: bright on dark,
    fitted into a 20×20 box and centred by mass in size×size.

    The inversion rule: MNIST and Fashion-MNIST images are white strokes on a black
    background (0), while a photo or scan of handwriting is dark ink on light paper. The
    border of a picture is nearly always background, so if the median brightness of its
    outer tenth is above one half, the picture is light-on-dark the wrong way round and is
    inverted. Then the background level is subtracted and the contrast stretched, so grey
    paper becomes black like MNIST's background rather than a faint haze. A picture of
    any other size is cropped to its ink and framed like a drawn digit (`dlplay.drawing`)."""
    bg = float(np.median(_border(gray)))
    if bg > 0.5:
        gray, bg = 1.0 - gray, 1.0 - bg
    top = float(gray.max())
    ink = np.clip((gray - bg) / (top - bg), 0.0, 1.0) if top - bg > 1e-3 else np.zeros_like(gray)
    if ink.shape == (size, size):
        return ink.astype(np.float32)  # already the dataset's size: its framing is kept as it is
    out = to_mnist(ink, box=round(size * 20 / 28), size=size)  # the same path a drawn digit takes
    if out is None:  # nothing stands out from the background (a blank picture): shown as it is
        out = np.asarray(_fit(Image.fromarray((ink * 255).astype(np.uint8)), size, size, 0), np.float32) / 255
    return out.astype(np.float32)


def load_upload(data: bytes, name: str = "", shape: tuple[int, int, int] = (1, 28, 28), *,
                mnist_style: bool | None = None) -> torch.Tensor:
    """An uploaded file as a (C, H, W) float tensor in [0, 1] shaped like `shape`.

    One channel: grayscale, and (unless `mnist_style` is False) made MNIST-like — bright
    on dark, fitted into the centre like MNIST's digits (see `mnist_like`). Three channels:
    RGB fitted into H×W keeping the aspect ratio, the margins filled with the picture's
    mean border colour. Raises ImageRejected for an empty file, a file over 10 MB or
    16 megapixels, or one that isn't an image."""
    c, h, w = shape
    if c not in (1, 3):
        raise ValueError(f"images have 1 or 3 channels, not {c}")
    img = _flatten_alpha(_open(data, name))
    if c == 1:
        gray = np.asarray(img.convert("L"), np.float32) / 255.0
        if mnist_style is None or mnist_style:
            if h == w:
                return torch.from_numpy(mnist_like(gray, h)).unsqueeze(0)
        fill = int(round(float(np.median(_border(gray))) * 255))
        small = _fit(img.convert("L"), h, w, fill)
        return torch.from_numpy(np.asarray(small, np.float32) / 255.0).unsqueeze(0)
    rgb = np.asarray(img, np.uint8)
    fill = tuple(int(v) for v in np.median(_border(rgb), axis=0))
    small = _fit(img, h, w, fill)
    return torch.from_numpy(np.asarray(small, np.float32) / 255.0).permute(2, 0, 1).contiguous()


def is_blank(image: torch.Tensor) -> bool:
    """Whether an MNIST-like image has no ink at all (e.g. a plain white picture)."""
    return float(image.max()) < INK_THRESHOLD


# --- augmentation -----------------------------------------------------------------------------

def augment(x: torch.Tensor, generator: torch.Generator | None = None, translate: int = 2,
            flip: bool = True) -> torch.Tensor:
    """A batch (N, C, H, W) randomly flipped left-right (half of the images) and shifted
    by up to `translate` pixels each way, the edge reflected into the gap — airbench's
    CIFAR-10 augmentation. One gather for the whole batch: ~1 ms for 512 CIFAR images."""
    n, _, h, w = x.shape
    dev = x.device
    if flip:
        flips = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flips.to(dev)[:, None, None, None], x.flip(-1), x)
    if translate <= 0:
        return x
    r = translate
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    dy = torch.randint(0, 2 * r + 1, (n,), generator=generator).to(dev)
    dx = torch.randint(0, 2 * r + 1, (n,), generator=generator).to(dev)
    rows = (torch.arange(h, device=dev)[None, :] + dy[:, None])  # (N, H)
    cols = (torch.arange(w, device=dev)[None, :] + dx[:, None])  # (N, W)
    idx = torch.arange(n, device=dev)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


# --- pictures of what a network holds ---------------------------------------------------------

def _grid(tiles: list[np.ndarray], ncols: int, pad: int | None = None) -> np.ndarray:
    """Equally sized uint8 tiles (H, W) or (H, W, 3) in a grid on a light background, a gap of an
    eighth of a tile between them (at least 2 px): 2 px between 48-px filters, once the picture
    was scaled to the page, read as no gap at all — neighbouring filters ran into each other."""
    pad = max(2, tiles[0].shape[0] // 8) if pad is None else pad
    return tile_grid(tiles, ncols, pad, 235)


def _upscale(a: np.ndarray, px: int) -> np.ndarray:
    """Nearest-neighbour enlargement so each value stays a crisp square."""
    k = max(1, px // max(a.shape[:2]))
    return np.kron(a, np.ones((k, k) + (1,) * (a.ndim - 2), a.dtype)) if k > 1 else a


def filter_grid(weights: np.ndarray, tile_px: int = 48, ncols: int = 8) -> np.ndarray:
    """First-layer filters (C_out, C_in, k, k) as one picture: RGB filters in colour, the
    others as grey (the mean over input channels); each scaled to its own range, so
    mid-grey is zero only roughly — the pattern is what matters."""
    w = np.asarray(weights, np.float32)
    if w.size == 0:
        return np.full((8, 8), 235, np.uint8)
    tiles = []
    for f in w:
        f = f.transpose(1, 2, 0) if f.shape[0] == 3 else f.mean(0)
        lo, hi = float(f.min()), float(f.max())
        t = ((f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)) * 255
        tiles.append(_upscale(t.round().astype(np.uint8), tile_px))
    return _grid(tiles, min(ncols, len(tiles)))


def maps_grid(maps: np.ndarray, tile_px: int = 64, ncols: int = 8, limit: int = 32) -> np.ndarray:
    """A layer's feature maps (C, H, W) side by side, each scaled to its own range
    (bright = strong activation); the first `limit` channels."""
    tiles = []
    for m in np.asarray(maps, np.float32)[:limit]:
        lo, hi = float(m.min()), float(m.max())
        t = ((m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)) * 255
        tiles.append(_upscale(t.round().astype(np.uint8), tile_px))
    return _grid(tiles, min(ncols, len(tiles)))
