"""An episode played back: one picture per step of the grid, the agent and the trail it left,
and the pictures as an animated GIF (imageio)."""
from __future__ import annotations

import io

import numpy as np

COLOURS = {"#": (60, 60, 70), "S": (200, 225, 255), "G": (120, 200, 120), "P": (225, 95, 85), ".": (245, 245, 240)}
TRAIL, AGENT, GRIDLINE, BAR = (255, 214, 120), (40, 90, 200), (200, 200, 200), (40, 90, 200)
FOOTER = 6  # pixels under the grid: the progress bar and the step tick


def cell_size(rows: int, cols: int) -> int:
    return int(np.clip(480 // max(rows, cols), 8, 40))


def board(rows: tuple[str, ...], size: int) -> np.ndarray:
    """The grid as an RGB image, `size` pixels a cell, with a footer strip under it."""
    h, w = len(rows), len(rows[0])
    img = np.zeros((h * size + FOOTER, w * size, 3), np.uint8)
    img[:] = 255
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            img[r * size:(r + 1) * size, c * size:(c + 1) * size] = COLOURS.get(ch, COLOURS["."])
    img[:h * size:size, :] = GRIDLINE
    img[:h * size, ::size] = GRIDLINE
    return img


def frames(rows: tuple[str, ...], states: np.ndarray, size: int | None = None) -> list[np.ndarray]:
    """One picture per step: after step k the agent on s_k, the cells it visited before tinted.
    The footer's bar grows to k/T and a tick moves one pixel a step, so no two pictures are alike
    (a GIF writer merges identical ones, and a step against a wall leaves the grid unchanged)."""
    cols = len(rows[0])
    size = size or cell_size(len(rows), cols)
    base = board(rows, size)
    h = len(rows) * size
    steps = len(states) - 1
    out, visited = [], set()
    pad = max(1, size // 5)
    for k in range(1, steps + 1):
        visited.add(int(states[k - 1]))
        img = base.copy()
        for s in visited:
            r, c = divmod(s, cols)
            if rows[r][c] == ".":
                img[r * size + 1:(r + 1) * size, c * size + 1:(c + 1) * size] = TRAIL
        r, c = divmod(int(states[k]), cols)
        img[r * size + pad:(r + 1) * size - pad + 1, c * size + pad:(c + 1) * size - pad + 1] = AGENT
        width = img.shape[1]
        img[h + 1:h + FOOTER - 2, :max(1, round(width * k / steps))] = BAR
        img[h + FOOTER - 2:, (k - 1) % width] = AGENT
        out.append(img)
    return out


def gif(pictures: list[np.ndarray], fps: float = 8.0) -> bytes:
    """The pictures as an animated GIF, looping."""
    import imageio.v3 as iio

    if not pictures:
        raise ValueError("an episode of no steps has nothing to play")
    buf = io.BytesIO()
    iio.imwrite(buf, np.stack(pictures), extension=".gif", duration=int(1000 / fps), loop=0)
    return buf.getvalue()


def gif_frames(data: bytes) -> int:
    """How many frames a GIF holds."""
    import imageio.v3 as iio

    return len(iio.imread(data, index=None, extension=".gif"))


def episode_gif(rows: tuple[str, ...], states: np.ndarray, fps: float = 8.0, max_steps: int = 2000) -> bytes:
    """The GIF of an episode (its first `max_steps` steps: a long random walk stays playable)."""
    return gif(frames(rows, np.asarray(states)[:max_steps + 1]), fps)
