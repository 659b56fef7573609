"""An uploaded image is bounded before it is decoded (issue 25): its pixel count is read from the
header and a picture past 16 megapixels is refused unread, fast and with memory flat (a 36-megapixel
PNG is 116 KB on disk and cost 611 MB and 3.3 s when it was decoded on the page's thread); one at the
limit is shrunk before any float copies; a photo still loads; a damaged file is a plain message."""
import io
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

from dlplay.vision.images import MAX_PIXELS, WORK_PX, ImageRejected, load_upload
from tests.conftest import ROOT

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

MEASURE = textwrap.dedent("""
    import sys, time
    from dlplay.vision.images import ImageRejected, load_upload
    data = open(sys.argv[1], "rb").read()
    shape = tuple(int(v) for v in sys.argv[2].split(","))
    def high_water():  # the most this process has had resident (kB), since the reset below
        return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])
    open("/proc/self/clear_refs", "w").write("5")  # Linux: the high-water mark starts again from now
    before = high_water()
    start = time.perf_counter()
    try:
        load_upload(data, "upload", shape)
        said = "loaded"
    except ImageRejected as exc:
        said = str(exc)
    seconds = time.perf_counter() - start
    print(seconds, (high_water() - before) / 1024)
    print(said)
""")


def cost(path, shape=(1, 28, 28)) -> tuple[float, float, str]:
    """Seconds, megabytes of memory grown to, and what load_upload said, in a fresh process (a test
    process's own peak would hide the growth)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path), ",".join(map(str, shape))], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    seconds, grown = map(float, out[0].split())
    return seconds, grown, out[1]


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(w: int, h: int) -> Image.Image:
    """Something like a photo: gradients, noise and a dark object in the middle."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], -1)
    a = np.clip(a + rng.integers(-20, 20, a.shape), 0, 255).astype(np.uint8)
    a[h // 3:2 * h // 3, w // 3:2 * w // 3] = 30
    return Image.fromarray(a)


def test_a_36_megapixel_png_is_refused_unread(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(encode(Image.new("RGBA", (6000, 6000), (200, 180, 160, 255)), "PNG", compress_level=9))
    assert path.stat().st_size < 1_000_000  # small on disk: the size limit in bytes does not catch it
    start = time.thread_time()  # CPU time of this thread: another worker only delays the wall clock
    with pytest.raises(ImageRejected, match=r"6,000×6,000 pixels \(36 megapixels\); images up to 16.8 megapixels"):
        load_upload(path.read_bytes(), "huge.png")
    assert time.thread_time() - start < 0.1  # was 9.7 s as RGBA (3.3 s as RGB)
    seconds, grown, said = cost(path)
    assert "36 megapixels" in said and grown < 5, (seconds, grown)  # was +2 GB as RGBA (611 MB as RGB)


def test_a_picture_at_the_limit_is_shrunk_before_it_is_handled(tmp_path):
    side = int(MAX_PIXELS ** 0.5)
    path = tmp_path / "limit.png"
    path.write_bytes(encode(Image.new("RGBA", (side, side), (10, 10, 10, 255)), "PNG"))
    seconds, grown, said = cost(path)
    assert said == "loaded" and grown < 200, (seconds, grown)  # decoded once (67 MB), shrunk to 1,024 px a side
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(encode(photo(4000, 3000), "JPEG", quality=85))  # a 12-megapixel phone photo
    seconds, grown, said = cost(jpeg, (3, 32, 32))
    assert said == "loaded" and grown < 40, (seconds, grown)  # decoded at half size (draft mode): 9 MB


def test_a_photo_still_loads_and_keeps_its_picture():
    big = photo(3000, 2000)
    x = load_upload(encode(big, "JPEG", quality=90), "photo.jpg", (3, 32, 32))
    small = load_upload(encode(big.resize((300, 200), Image.LANCZOS), "PNG"), "small.png", (3, 32, 32))
    assert x.shape == (3, 32, 32) and float((x - small).abs().mean()) < 0.02
    assert float(x[:, 16, 16].max()) < 0.2, "the dark middle stays dark"
    wide = load_upload(encode(Image.new("L", (WORK_PX * 3, 50), 255), "PNG"), "strip.png", (1, 28, 28))
    assert wide.shape == (1, 28, 28)


def test_a_truncated_or_corrupt_image_is_a_plain_message():
    jpeg = encode(photo(640, 480), "JPEG")
    png = encode(photo(640, 480), "PNG")
    broken = {"cut.jpg": jpeg[:len(jpeg) // 2], "cut.png": png[:len(png) // 2],
              "garbled.png": png[:100] + bytes(200) + png[300:], "header.png": png[:33],
              "lies.jpg": b"\xff\xd8\xff\xe0" + bytes(500)}
    for name, data in broken.items():
        with pytest.raises(ImageRejected) as caught:
            load_upload(data, name, (3, 32, 32))
        message = str(caught.value)
        assert message == (f"“{name}” is not an image Pillow can read. Upload a PNG, JPEG, GIF, WebP or BMP "
                           "file."), message
