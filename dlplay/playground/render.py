"""Pictures of a playground run as SVG strings: the network with a mini-heatmap per
neuron, the big output heatmap with the data points, the loss curves, and dataset
thumbnails. Colours are TensorFlow Playground's (orange −1, grey 0, blue +1).

Heatmaps are small PNGs embedded in the SVG and scaled by the browser, so one
redraw is one forward pass over a 100×100 grid plus a few kB of text: a few
milliseconds (measured by `dlplay/bench/playground.py`).
"""
from __future__ import annotations

import base64
import io
from functools import lru_cache
from html import escape

import numpy as np
from PIL import Image

from dlplay.playground import datasets, features
from dlplay.playground.sim import DOMAIN, Playground

ORANGE, GREY, BLUE = (0xF5, 0x93, 0x22), (0xE8, 0xEA, 0xEB), (0x08, 0x77, 0xBD)
HEAT_DENSITY = 100  # the output heatmap's grid, as the playground's
TILE_DENSITY = 20  # neuron tiles: the 100-grid averaged in 5×5 blocks
FONT = "font-family='Source Sans Pro, Helvetica, Arial, sans-serif'"  # an SVG attribute


def _lut() -> np.ndarray:
    """257 colours from orange (−1) through grey (0, the middle one) to blue (+1)."""
    t = np.linspace(-1, 1, 257)[:, None]
    lo = np.array(GREY) + (np.array(ORANGE) - GREY) * np.clip(-t, 0, 1)
    hi = np.array(GREY) + (np.array(BLUE) - GREY) * np.clip(t, 0, 1)
    return np.where(t < 0, lo, hi).round().astype(np.uint8)


LUT = _lut()
HEX = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in LUT]


def _index(values) -> np.ndarray:
    """Values in [-1, 1] (clamped; NaN as 0) -> rows of LUT."""
    v = np.nan_to_num(np.asarray(values, float), posinf=1.0, neginf=-1.0)
    return ((np.clip(v, -1, 1) + 1) * 128).round().astype(np.intp)


def color(v: float) -> str:
    """Hex colour of a value in [-1, 1]."""
    return HEX[int(_index(v))]


def colorize(values: np.ndarray, discretize: bool = False) -> np.ndarray:
    """(h, w) values -> (h, w, 3) uint8 picture."""
    v = np.asarray(values, float)
    if discretize:
        v = np.where(v >= 0, 1.0, -1.0)
    return LUT[_index(v)]


# Classes 0..k−1 (up to 10 shown, 5 trained), orange and blue first as the ±1 classes' −1 and +1,
# so a class keeps its colour whether its data has two classes or more.
CLASS_COLORS = ((0xF5, 0x93, 0x22), (0x08, 0x77, 0xBD), (0x2C, 0xA0, 0x2C), (0x94, 0x67, 0xBD), (0xD6, 0x27, 0x28),
                (0x8C, 0x56, 0x4B), (0xE3, 0x77, 0xC2), (0x7F, 0x7F, 0x7F), (0xBC, 0xBD, 0x22), (0x17, 0xBE, 0xCF))
CLASS_HEX = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in CLASS_COLORS]


def classes_rgb(probs: np.ndarray, discretize: bool = False) -> np.ndarray:
    """(h, w, k) class probabilities -> (h, w, 3): the winning class's colour, faded to grey
    as its confidence falls to chance (1/k). Discretized: the winner's colour only."""
    p = np.nan_to_num(np.asarray(probs, float))
    k = p.shape[-1]
    win = p.argmax(-1)
    conf = np.ones(win.shape) if discretize else np.clip((p.max(-1) - 1 / k) / (1 - 1 / k), 0, 1)
    palette = np.asarray(CLASS_COLORS[:k], float)
    rgb = np.asarray(GREY, float) + (palette[win] - GREY) * conf[..., None]
    return rgb.round().astype(np.uint8)


def output_rgb(output: np.ndarray, discretize: bool = False) -> np.ndarray:
    """The output heatmap's picture: (d, d) values in [-1, 1] or (d, d, k) probabilities."""
    output = np.asarray(output)
    return classes_rgb(output, discretize) if output.ndim == 3 else colorize(output, discretize)


def class_tile(p: np.ndarray, k: int) -> np.ndarray:
    """One softmax output's probability of class k over the square: grey (0) to the class colour (1)."""
    t = np.clip(np.nan_to_num(np.asarray(p, float)), 0, 1)[..., None]
    return (np.asarray(GREY, float) + (np.asarray(CLASS_COLORS[k], float) - GREY) * t).round().astype(np.uint8)


def point_colors(sim: Playground, labels: np.ndarray) -> list[str]:
    """A point's fill: its class's colour, or for ±1 and regression labels the orange–blue scale."""
    if sim.classes > 2:
        return [CLASS_HEX[int(c) % len(CLASS_HEX)] for c in labels.tolist()]
    return [HEX[i] for i in _index(labels).tolist()]


def png_uri(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _reduce(grid: np.ndarray, factor: int) -> np.ndarray:
    """Average `factor`×`factor` blocks of an (h, w, …) array."""
    h, w = grid.shape[:2]
    return grid.reshape(h // factor, factor, w // factor, factor, *grid.shape[2:]).mean((1, 3))


def frame(sim: Playground) -> dict[str, str]:
    """Everything a redraw shows, from one forward pass over the grid."""
    boundary = sim.boundary(HEAT_DENSITY)
    return {"network": network_svg(sim, boundary), "heatmap": heatmap_svg(sim, boundary),
            "loss": loss_svg(sim.history)}


# --- the network --------------------------------------------------------------------------------
# Tiles are TILE_DENSITY pixels drawn TILE units wide: all of them go into one picture at
# half scale, so a redraw encodes one PNG instead of one per neuron.
TILE, GAP, BIAS, TOP, SCALE, LEFT = 40, 16, 6, 34, 2, 100
WIDTH = 780


def _y(row: int) -> int:
    return TOP + row * (TILE + GAP)


def network_svg(sim: Playground, boundary: dict | None = None) -> str:
    """Feature tiles, one tile per hidden neuron (its output over the square), the
    output tile, and links whose colour is the weight's sign and width its size.
    Hover a link, tile or bias square for its numbers."""
    b = boundary or sim.boundary(HEAT_DENSITY)
    all_features = list(features.FEATURES)
    columns = [len(all_features)] + list(sim.state.network_shape) + [sim.net.weights[-1].shape[1]]
    height = _y(max(columns))
    xs = [int(x) // SCALE * SCALE for x in np.linspace(LEFT, WIDTH - TILE - 6, len(columns))]
    # Features keep their fixed row; only the active ones link on.
    rows = [[all_features.index(f) for f in features.ordered(sim.state.features)]] + \
        [list(range(n)) for n in columns[1:]]
    sheet = np.zeros((height // SCALE, WIDTH // SCALE, 4), np.uint8)
    marks = _feature_column(sheet, xs[0], rows[0], sim.state.discretize)
    out = b["output"]
    layers = b["layers"] + [out if out.ndim == 3 else out[..., None]]
    for li, grid in enumerate(layers):
        marks += _neuron_column(sheet, xs[li + 1], _reduce(grid, HEAT_DENSITY // TILE_DENSITY), sim.net.biases[li],
                                li + 1 if li < len(layers) - 1 else None, sim.state.discretize, li,
                                softmax=out.ndim == 3 and li == len(layers) - 1)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {height}' width='100%' "
            f"class='pg-network' data-epoch='{sim.epoch}' role='img' aria-label='network' {FONT}>"
            f"<g fill='none' stroke-opacity='0.7'>{''.join(_links(sim.net.weights, xs, rows))}</g>"
            f"<image class='pg-sheet' x='0' y='0' width='{WIDTH}' height='{height}' preserveAspectRatio='none' "
            f"href='{png_uri(sheet)}'/>{''.join(marks)}</svg>")


def _links(weights: list[np.ndarray], xs: list[int], rows: list[list[int]]) -> list[str]:
    """One curve per weight, from a tile's right edge to the next layer's left edge,
    fanned out a little at the destination as in the playground. `data-w` = "layer,i,j"
    as Network.set_weight numbers them (i: the row among the active inputs)."""
    out = []
    for li, w in enumerate(weights):
        x0, x1 = xs[li] + TILE, xs[li + 1]
        mid, n_in = (x0 + x1) / 2, len(rows[li])
        for i, src in enumerate(rows[li]):
            y0 = _y(src) + TILE / 2
            for j in range(w.shape[1]):
                wij = float(w[i, j])
                y1 = _y(j) + TILE / 2 + (i - (n_in - 1) / 2) / max(1, n_in) * 12
                width = 1 + 9 * min(abs(wij), 5) / 5 if np.isfinite(wij) else 1
                out.append(f"<path class='pg-w' data-w='{li},{i},{j}' data-value='{wij:.6g}' "
                           f"d='M{x0},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1},{y1:.1f}' "
                           f"stroke='{color(wij)}' stroke-width='{width:.2f}'><title>weight {wij:.3f}</title></path>")
    return out


def _paste(sheet: np.ndarray, x: int, row: int, values: np.ndarray, discretize: bool, alpha: int = 255,
           rgb: np.ndarray | None = None) -> None:
    r0, c0 = _y(row) // SCALE, x // SCALE
    sheet[r0:r0 + TILE_DENSITY, c0:c0 + TILE_DENSITY, :3] = colorize(values, discretize) if rgb is None else rgb
    sheet[r0:r0 + TILE_DENSITY, c0:c0 + TILE_DENSITY, 3] = alpha


def _feature_column(sheet: np.ndarray, x: int, active_rows: list[int], discretize: bool) -> list[str]:
    """All seven features, the ones switched off faded."""
    marks = [_header(x, "Features")]
    for r, f in enumerate(features.FEATURES):
        on = r in active_rows
        _paste(sheet, x, r, _feature_tile(f), discretize, 255 if on else 70)
        marks.append(_frame(x, _y(r), features.label(f) + ("" if on else " — off: switch it on under Features"),
                            f"f-{f}", features.label(f)))
        marks.append(f"<text x='{x - 10}' y='{_y(r) + TILE / 2 + 5}' text-anchor='end' font-size='17' "
                     f"fill='{'#222' if on else '#b0b0b0'}'>{escape(features.label(f))}</text>")
    return marks


def _neuron_column(sheet: np.ndarray, x: int, tiles: np.ndarray, biases: np.ndarray, layer: int | None,
                   discretize: bool, index: int, softmax: bool = False) -> list[str]:
    """A layer's tiles (`layer` None for the output), each with its bias as a small square;
    `index` is the weight matrix feeding it (Network.set_bias's layer). Softmax outputs
    show each class's probability in its colour."""
    n = tiles.shape[-1]
    marks = [_header(x, f"{n} neuron{'s' * (n > 1)}" if layer else ("Classes" if softmax else "Output"))]
    for j in range(n):
        bias = float(biases[j])
        _paste(sheet, x, j, tiles[..., j], discretize, rgb=class_tile(tiles[..., j], j) if softmax else None)
        name = f"layer {layer}, neuron {j + 1}" if layer else (f"output, class {j + 1}" if softmax else "output")
        node = f"{layer}-{j}" if layer else f"out-{j}"
        marks.append(_frame(x, _y(j), f"{name} · bias {bias:.3f}", node, name.capitalize()))
        marks.append(f"<rect class='pg-b' data-b='{index},{j}' data-value='{bias:.6g}' x='{x - BIAS - 2}' "
                     f"y='{_y(j) + TILE - BIAS}' width='{BIAS}' height='{BIAS}' fill='{color(bias)}' stroke='#777' "
                     f"stroke-width='0.6'><title>bias {bias:.3f}</title></rect>")
    return marks


def _frame(x: int, y: int, title: str, node: str, name: str) -> str:
    """A tile's outline; hovering it (the page's netview) shows its map large in the output."""
    return (f"<rect class='pg-node' data-node='{node}' data-name='{escape(name)}' x='{x}' y='{y}' width='{TILE}' "
            f"height='{TILE}' fill='none' stroke='#bbb' pointer-events='all'><title>{escape(title)}</title></rect>")


def _header(x: int, text: str) -> str:
    return (f"<text x='{x + TILE / 2}' y='{TOP - 14}' text-anchor='middle' font-size='15' "
            f"fill='#555'>{escape(text)}</text>")


@lru_cache(maxsize=16)
def _feature_tile(key: str) -> np.ndarray:
    """A feature's value over the square: fixed, so computed once."""
    axis = np.linspace(-DOMAIN, DOMAIN, HEAT_DENSITY)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return _reduce(features.FEATURES[key][1](x1, x2), HEAT_DENSITY // TILE_DENSITY)


# --- the output -----------------------------------------------------------------------------------
def heatmap_svg(sim: Playground, boundary: dict | None = None, size: int = 360, extra=(), points: bool = True) -> str:
    """The network's output over [-6, 6]² with the training points (white rim) and,
    when shown, the test points (black rim); `extra`: (x, y, colour) points drawn but not
    yet a dataset (grey rim); `points=False` leaves the run's own points out (while drawing anew)."""
    b = boundary or sim.boundary(HEAT_DENSITY)
    s = sim.state
    pad = 26
    full = size + pad
    scale = size / (2 * DOMAIN)

    def px(v):
        return (np.asarray(v) + DOMAIN) * scale

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='-10 -8 {full + 10} {full + 8}' width='100%' "
           f"class='pg-heatmap' data-epoch='{sim.epoch}' data-size='{size}' data-domain='{DOMAIN:g}' role='img' "
           f"aria-label='output heatmap' {FONT}>",
           f"<image class='pg-out' x='0' y='0' width='{size}' height='{size}' preserveAspectRatio='none' "
           f"href='{png_uri(output_rgb(b['output'], s.discretize))}'/>"]
    sets = [(sim.train_pts, sim.train_y, "#fff")] if points else []
    if s.show_test_data and points:
        sets.append((sim.test_pts, sim.test_y, "#000"))
    for pts, ys, rim in sets:
        cx, cy = px(pts[:, 0]), size - px(pts[:, 1])
        out.append(f"<g stroke='{rim}' stroke-width='1'>")
        out.extend(f"<circle cx='{a:.1f}' cy='{c:.1f}' r='3.2' fill='{f}'/>"
                   for a, c, f in zip(cx.tolist(), cy.tolist(), point_colors(sim, ys)))
        out.append("</g>")
    if len(extra):
        out.append("<g stroke='#555' stroke-width='1' class='pg-drawn'>")
        out.extend(f"<circle cx='{float(px(x)):.1f}' cy='{size - float(px(y)):.1f}' r='4' fill='{c}'/>"
                   for x, y, c in extra)
        out.append("</g>")
    for t in range(-6, 7, 2):  # axis ticks like the playground's
        p = float(px(t))
        out.append(f"<text x='{p:.1f}' y='{size + 16}' text-anchor='middle' font-size='11' fill='#666'>{t}</text>")
        out.append(f"<text x='{size + 4}' y='{size - p + 4:.1f}' font-size='11' fill='#666'>{t}</text>")
    out.append(f"<rect x='0' y='0' width='{size}' height='{size}' fill='none' stroke='#bbb'/></svg>")
    return "".join(out)


def loss_svg(history: list[tuple[int, float, float]], width: int = 386, height: int = 110) -> str:
    """Training (grey) and test (black) loss per epoch, as the playground draws them."""
    pad_l, pad_b = 34, 16
    every = max(1, len(history) // 400)  # a few hundred points is all the line needs, however long the run
    h = np.asarray(history[::every] + history[-1:] if every > 1 else history, float).reshape(-1, 3)
    finite = h[:, 1:][np.isfinite(h[:, 1:])]
    top = max(float(finite.max()) if finite.size else 1.0, 1e-3)
    span = max(h[-1, 0] - h[0, 0], 1) if len(h) else 1
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' "
           f"class='pg-loss' role='img' aria-label='loss curves'>",
           f"<line x1='{pad_l}' y1='{height - pad_b}' x2='{width}' y2='{height - pad_b}' stroke='#ccc'/>",
           f"<text x='{pad_l - 4}' y='10' text-anchor='end' font-size='10' fill='#666' {FONT}>{top:.2f}</text>",
           f"<text x='{pad_l - 4}' y='{height - pad_b}' text-anchor='end' font-size='10' fill='#666' {FONT}>0</text>",
           f"<text x='{width - 2}' y='{height - 3}' text-anchor='end' font-size='10' fill='#666' {FONT}>"
           f"epoch {int(h[-1, 0]) if len(h) else 0}</text>"]
    for col, stroke, name in ((1, "#999", "training"), (2, "#111", "test")):
        xy = [(pad_l + (e - h[0, 0]) / span * (width - pad_l - 4), 4 + (1 - v / top) * (height - pad_b - 6))
              for e, v in zip(h[:, 0], h[:, col]) if np.isfinite(v)]
        if xy:
            pts = " ".join(f"{a:.1f},{c:.1f}" for a, c in xy)
            out.append(f"<polyline points='{pts}' fill='none' stroke='{stroke}' stroke-width='1.6'>"
                       f"<title>{name} loss</title></polyline>")
    for n, (stroke, name) in enumerate((("#111", "test"), ("#999", "training"))):
        x = width - 150 + n * 74
        out.append(f"<line x1='{x}' y1='8' x2='{x + 16}' y2='8' stroke='{stroke}' stroke-width='2'/>"
                   f"<text x='{x + 20}' y='12' font-size='11' fill='#555' {FONT}>{name}</text>")
    out.append("</svg>")
    return "".join(out)


# --- dataset thumbnails -----------------------------------------------------------------------------
@lru_cache(maxsize=32)
def thumbnail_uri(name: str, size: int = 64) -> str:
    """A dataset's 200 noiseless points as a small picture, like the playground's picker."""
    pts, labels = datasets.generate(name, 0.0, seed=7, n=200)
    img = np.full((size, size, 3), 255, np.uint8)
    ij = ((pts + DOMAIN) / (2 * DOMAIN) * (size - 3)).astype(int).clip(0, size - 3)
    k = datasets.n_classes(name)
    rgb = np.asarray(CLASS_COLORS, np.uint8)[labels.astype(int)] if k > 2 else colorize(labels[:, None])[:, 0]
    for (c, r), col in zip(ij, rgb):
        img[size - 3 - r: size - 1 - r, c: c + 2] = col
    return png_uri(img)


def thumbnails_svg(selected: str, size: int = 64, per_row: int = 3) -> str:
    """The built-in datasets as a grid of pictures with their names, the chosen one framed."""
    names = list(datasets.DATASETS)
    gap, label_h = 14, 16
    rows = -(-len(names) // per_row)
    width, height = per_row * (size + gap), rows * (size + label_h + 8)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' "
           f"class='pg-thumbs' role='img' aria-label='datasets' {FONT}>"]
    for i, name in enumerate(names):
        r, c = divmod(i, per_row)
        x, y = c * (size + gap) + gap / 2, r * (size + label_h + 8) + 2
        on = name == selected
        title = datasets.DATASETS[name][0]
        short = {"spiral3": "3 spirals", "blobs5": "5 blobs"}.get(name, title.split(" (")[0])
        out.append(f"<g opacity='{1 if on else 0.5}'><image x='{x}' y='{y}' width='{size}' height='{size}' "
                   f"href='{thumbnail_uri(name)}'/><rect x='{x}' y='{y}' width='{size}' height='{size}' "
                   f"fill='none' stroke='{'#222' if on else '#ccc'}' stroke-width='{2.5 if on else 1}'>"
                   f"<title>{escape(title)}</title></rect>"
                   f"<text x='{x + size / 2}' y='{y + size + 14}' text-anchor='middle' font-size='11' "
                   f"fill='#333' font-weight='{600 if on else 400}'>{escape(short)}</text></g>")
    out.append("</svg>")
    return "".join(out)


# --- accuracy, classes and sweeps -------------------------------------------------------------------
def class_names(sim: Playground, names=None) -> list[str]:
    """The classes in the order of the confusion matrix: orange then blue for ±1 data."""
    if names:
        return [str(n) for n in names]
    if sim.classes == 2:
        return ["orange (−1)", "blue (+1)"]
    return [f"class {k + 1}" for k in range(sim.classes)]


def legend_html(sim: Playground, names=None) -> str:
    """Swatches naming the classes' colours (multi-class only)."""
    if sim.classes <= 2:
        return ""
    items = "".join(f"<span style='display:inline-flex;align-items:center;gap:.3rem;margin-right:.9rem'>"
                    f"<span style='width:.8rem;height:.8rem;border-radius:50%;background:{CLASS_HEX[k]}'></span>"
                    f"{escape(n)}</span>" for k, n in enumerate(class_names(sim, names)))
    return f"<div class='pg-legend' style='font-size:.85rem'>{items}</div>"


def confusion_html(matrix: np.ndarray, names: list[str]) -> str:
    """Rows the true class, columns the predicted one; the diagonal (right) shaded green,
    the rest red in proportion to each row's share, so a class that is often mistaken stands out."""
    m = np.asarray(matrix, int)
    totals = m.sum(1, keepdims=True)
    share = m / np.maximum(totals, 1)
    head = "".join(f"<th style='padding:2px 6px;font-weight:500'>{escape(n)}</th>" for n in names)
    rows = []
    for i, n in enumerate(names):
        cells = []
        for j in range(len(names)):
            alpha = share[i, j] * (0.55 if i == j else 0.8)
            rgb = "44,160,44" if i == j else "214,39,40"
            cells.append(f"<td style='padding:2px 8px;text-align:right;background:rgba({rgb},{alpha:.2f})'>"
                         f"{m[i, j]:,}</td>")
        rows.append(f"<tr><th style='padding:2px 6px;text-align:left;font-weight:500'>{escape(n)}</th>"
                    f"{''.join(cells)}</tr>")
    return ("<table class='pg-confusion' style='border-collapse:collapse;font-size:.85rem;"
            "font-variant-numeric:tabular-nums'><tr><th style='padding:2px 6px;font-weight:400;color:#777'>"
            f"true ↓ · predicted →</th>{head}</tr>{''.join(rows)}</table>")


def map_uri(decision_map: np.ndarray, discretize: bool = False) -> str:
    """A stored decision map ((d, d) or (d, d, k)) as a picture."""
    return png_uri(output_rgb(decision_map, discretize))


def sweep_svg(results: list[dict], label, size: int = 150) -> str:
    """Small multiples: each run's final (or latest) decision map with its value and test loss.
    `label(value)` writes the swept setting's value."""
    gap, text_h = 16, 34
    width = max(1, len(results)) * (size + gap)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {size + text_h + 4}' width='100%' "
           f"style='max-width:{width * 1.2:.0f}px' class='pg-sweep' role='img' aria-label='sweep' {FONT}>"]
    for n, r in enumerate(results):
        x = n * (size + gap) + gap / 2
        if r.get("map") is not None:
            out.append(f"<image x='{x}' y='0' width='{size}' height='{size}' preserveAspectRatio='none' "
                       f"href='{map_uri(r['map'])}'/>")
        else:
            out.append(f"<rect x='{x}' y='0' width='{size}' height='{size}' fill='#f4f4f4'/>")
        out.append(f"<rect x='{x}' y='0' width='{size}' height='{size}' fill='none' stroke='#bbb'/>")
        loss = r.get("test_loss")
        lines = [f"{label(r['value'])}" + (f" · run {r['run']}" if r.get("run") is not None else ""),
                 ("diverged" if r.get("error") else
                  (f"test loss {loss:.3f}" if loss is not None and np.isfinite(loss) else r.get("status") or ""))
                 + (f" · {r['accuracy']:.0%}" if r.get("accuracy") is not None and not r.get("error") else "")]
        for k, line in enumerate(lines):
            out.append(f"<text x='{x + size / 2}' y='{size + 14 + 15 * k}' text-anchor='middle' font-size='12' "
                       f"fill='{'#222' if k == 0 else '#555'}'>{escape(line)}</text>")
    out.append("</svg>")
    return "".join(out)
