"""Uploaded images (dlplay.vision.images): every format and size becomes the model's
input shape, and anything that isn't a usable image is a clear message."""
import io
import struct
import time
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from dlplay import data
from dlplay.vision.images import MAX_BYTES, ImageRejected, augment, load_upload
from tests.conftest import ROOT

EXAMPLES = ROOT / "dlplay" / "assets" / "examples"


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist")


def test_png_of_a_real_mnist_digit_comes_back_as_that_digit(mnist):
    x = load_upload((EXAMPLES / "mnist-test-7.png").read_bytes(), "mnist-test-7.png", (1, 28, 28))
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    original = mnist.x_test[0]  # the file is MNIST's test image 0, already 20×20-fitted and centred
    assert float((x - original).abs().mean()) < 0.03


def test_jpeg_of_dark_ink_on_light_paper_is_inverted_like_mnist(mnist):
    x = load_upload((EXAMPLES / "digit-3-on-paper.jpg").read_bytes(), "digit-3-on-paper.jpg", (1, 28, 28))
    assert x.shape == (1, 28, 28)
    corners = torch.cat([x[0, :3, :3].flatten(), x[0, -3:, -3:].flatten()])
    assert float(corners.max()) < 0.05, "the paper became MNIST's black background"
    assert float(x.max()) > 0.9, "the ink became bright strokes"
    original = mnist.x_test[18]  # a 3
    corr = np.corrcoef(x.flatten().numpy(), original.flatten().numpy())[0, 1]
    assert corr > 0.8, f"the digit keeps its shape (correlation {corr:.2f})"


def test_cifar_jpeg_is_rgb_32x32_and_keeps_its_colours():
    cifar = data.load("cifar10")
    x = load_upload((EXAMPLES / "cifar-test-cat.jpg").read_bytes(), "cat.jpg", (3, 32, 32))
    assert x.shape == (3, 32, 32)
    assert float((x - cifar.x_test[0]).abs().mean()) < 0.04  # upscaled ×4 as JPEG, then back down


def test_a_wide_photo_keeps_its_aspect_and_is_padded():
    img = Image.new("RGB", (400, 100), (200, 30, 30))  # 4:1, red
    x = load_upload(encode(img, "PNG"), "wide.png", (3, 32, 32))
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x[:, 16, 16], torch.tensor([200, 30, 30]) / 255, atol=0.02)
    assert torch.allclose(x[:, 0, 16], x[:, 16, 16], atol=0.02), "the margin takes the border colour"


def test_not_an_image_is_rejected_with_a_clear_message():
    with pytest.raises(ImageRejected, match="“notes.txt” is not an image"):
        load_upload(b"these are my lecture notes, not a picture\n" * 20, "notes.txt")
    with pytest.raises(ImageRejected, match="not an image"):  # a PNG cut off halfway
        load_upload(encode(Image.new("L", (64, 64), 128), "PNG")[:40], "cut.png")


def test_empty_file_is_rejected():
    with pytest.raises(ImageRejected, match="empty"):
        load_upload(b"", "empty.png")


def test_file_over_the_byte_limit_is_rejected():
    with pytest.raises(ImageRejected, match="up to 10 MB"):
        load_upload(b"\x89PNG" + bytes(MAX_BYTES), "big.png")


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height: the decompression-bomb shape."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_a_huge_image_is_refused_before_it_is_decoded():
    t0 = time.perf_counter()
    with pytest.raises(ImageRejected, match="megapixels"):
        load_upload(_png_header_only(20_000, 20_000), "bomb.png")  # 400 megapixels in 100 bytes
    assert time.perf_counter() - t0 < 0.5, "refused from the header, not decoded"


def test_rgba_png_with_a_transparent_background():
    # White strokes on a transparent canvas: the background must contrast, not swallow them.
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    img.paste((255, 255, 255, 255), (45, 10, 55, 90))  # a white "1"
    x = load_upload(encode(img, "PNG"), "one.png", (1, 28, 28))
    assert float(x.max()) > 0.9 and float(x[0, :2].max()) < 0.05
    assert float(x[0, :, 12:16].mean()) > 5 * float(x[0, :, :8].mean() + 1e-3), "the stroke is in the middle"
    # Black strokes on transparent: the same digit comes out.
    dark = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    dark.paste((0, 0, 0, 255), (45, 10, 55, 90))
    y = load_upload(encode(dark, "PNG"), "one-dark.png", (1, 28, 28))
    assert float((x - y).abs().max()) < 0.05
    rgb = load_upload(encode(img, "PNG"), "one.png", (3, 32, 32))
    assert rgb.shape == (3, 32, 32)


def test_a_tiny_8x8_image_is_scaled_up():
    img = Image.new("L", (8, 8), 0)
    img.paste(255, (3, 1, 5, 7))
    x = load_upload(encode(img, "BMP"), "tiny.bmp", (1, 28, 28))
    assert x.shape == (1, 28, 28) and float(x.max()) > 0.8
    rows = (x[0] > 0.3).any(1).nonzero().flatten()
    assert int(rows.max() - rows.min()) >= 15, "fitted to MNIST's 20-pixel box"


def test_other_formats_gif_first_frame_and_webp():
    frames = [Image.new("L", (40, 40), 0) for _ in range(2)]
    frames[0].paste(255, (18, 5, 22, 35))
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    x = load_upload(gif, "anim.gif", (1, 28, 28))
    assert float(x.max()) > 0.8, "the first frame (the stroke), not the blank second"
    webp = encode(Image.new("RGB", (50, 30), (10, 200, 10)), "WEBP")
    assert load_upload(webp, "g.webp", (3, 32, 32))[1, 16, 16] > 0.7


def test_augment_flips_and_shifts_within_bounds():
    x = torch.rand(256, 3, 32, 32)
    gen = torch.Generator().manual_seed(0)
    y = augment(x, gen, translate=2)
    assert y.shape == x.shape
    same, flipped = 0, 0
    for i in range(256):
        # Each output is the input (maybe flipped) shifted by at most 2 pixels: its centre matches somewhere.
        src = [x[i], x[i].flip(-1)]
        hit = [any(torch.equal(y[i, :, 4:28, 4:28], s[:, 4 + dy:28 + dy, 4 + dx:28 + dx])
                   for dy in range(-2, 3) for dx in range(-2, 3)) for s in src]
        assert any(hit)
        flipped += hit[1] and not hit[0]
        same += torch.equal(y[i], x[i])
    assert 80 < flipped < 176, "about half are flipped"
    assert same < 40, "most are moved"
    again = augment(x, torch.Generator().manual_seed(0), translate=2)
    assert torch.equal(y, again), "the generator makes it reproducible"
    t0 = time.perf_counter()
    augment(torch.rand(512, 3, 32, 32), gen)
    assert time.perf_counter() - t0 < 1.0  # ~10 ms alone; generous on a shared 2-core machine


def test_filters_and_maps_are_drawn_with_a_visible_gap_between_them():
    """Issue 25: first-layer filters were drawn edge to edge (2 px between 48-px tiles)."""
    import numpy as np

    from dlplay.vision.images import filter_grid, maps_grid

    rng = np.random.default_rng(0)
    grid = filter_grid(rng.normal(size=(4, 1, 3, 3)))  # 4 tiles of 48 px in a row
    assert grid.shape == (48 + 2 * 6, 4 * 48 + 5 * 6)
    background = grid == 235
    gaps = [c for c in range(grid.shape[1]) if background[:, c].all()]
    assert len(gaps) == 5 * 6, "a 6-px gap before, between and after the tiles"
    assert all(background[r].all() for r in (0, 5, grid.shape[0] - 1))
    maps = maps_grid(rng.random((3, 28, 28)))  # 28 → 56 px tiles, 7-px gaps
    assert maps.shape == (56 + 2 * 7, 3 * 56 + 4 * 7)
