"""Plotly figures and image helpers shared by the pages (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

COLORS = {"train": "#e4572e", "val": "#2e86ab", "test": "#3bb273"}

# --- every chart's title clear of Plotly's toolbar ------------------------------------------------------
# Plotly's toolbar (the modebar: zoom, pan, download…) floats over a chart's top right corner whenever the
# pointer is on the chart, and Streamlit left-aligns titles on the same top band: a title that reaches the
# right (a half-width chart's "Run 7 · labels rounded to 10° · test MAE 1.96°") had its end hidden. Every
# figure's title is therefore drawn below the toolbar's band, and its top margin grows to fit (automargin),
# whatever margin the figure asks for. A template, so it holds for every figure the app makes — the pages'
# own, dlplay's, Streamlit's theme on top — without each one repeating it.
TOOLBAR_PX = 30  # the toolbar's 22-px buttons with their padding, from the chart's top edge

pio.templates["dlplay"] = go.layout.Template(layout=dict(
    title=dict(yref="container", y=1, yanchor="top", pad=dict(t=TOOLBAR_PX), automargin=True)))


def use_template() -> None:
    """Figures made from now on take the dlplay template over the current default ("streamlit" once
    Streamlit is imported, which sets its own; "plotly" otherwise). Called on import."""
    default = pio.templates.default or "plotly"
    if "dlplay" not in default.split("+"):
        pio.templates.default = f"{default}+dlplay"


use_template()


def to_uint8(img) -> np.ndarray:
    """(C,H,W) or (H,W) float in [0,1] to uint8 (H,W[,C]) for st.image."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    return (np.clip(a, 0, 1) * 255).round().astype(np.uint8)


def montage(images, ncols: int = 10, pad: int = 1) -> np.ndarray:
    """A grid of equally sized images (N,C,H,W or N,H,W) as one uint8 picture."""
    tiles = [to_uint8(im) for im in images]
    if not tiles:
        return np.zeros((1, 1), np.uint8)
    return tile_grid(tiles, ncols, pad, 255)


def tile_grid(tiles: list[np.ndarray], ncols: int, pad: int, fill: int) -> np.ndarray:
    """Equally sized uint8 tiles (H, W) or (H, W, 3) in rows of `ncols`, `pad` px of `fill` around each."""
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // ncols)
    out = np.full((rows * (h + pad) + pad, ncols * (w + pad) + pad) + tiles[0].shape[2:], fill, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, ncols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = t
    return out


def curves_figure(rows: list[dict], metric: str = "loss", title: str | None = None,
                  x: str = "epoch") -> go.Figure:
    """Training curve per step (thin) plus train/validation per epoch (markers)."""
    df = pd.DataFrame(rows)
    fig = go.Figure()
    if not df.empty and "split" in df:
        steps = df[df["split"] == "train"]
        if metric in steps and len(steps):
            fig.add_scatter(x=steps[x], y=steps[metric], mode="lines", name=f"train {metric} (batches)",
                            line=dict(color=COLORS["train"], width=1), opacity=0.55)
        epochs = df[df["split"] == "epoch"]
        for split in ("train", "val"):
            col = f"{split}_{metric}"
            if col in epochs and len(epochs):
                fig.add_scatter(x=epochs["epoch"], y=epochs[col], mode="lines+markers",
                                name=f"{'validation' if split == 'val' else 'train'} {metric} (epoch)",
                                line=dict(color=COLORS[split], width=2.5))
    fig.update_layout(title=title or metric, height=320, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title=x, legend=dict(orientation="h", y=-0.25))
    if not fig.data:
        empty_axes(fig, metric)
    return fig


def empty_axes(fig: go.Figure, metric: str = "") -> go.Figure:
    """Axes that say "nothing yet" for a chart with no data: Plotly's own empty axes run from −1 to 6 and
    −1 to 4, an accuracy axis with ticks at −100 % and 400 %. An accuracy (or any share) gets 0–100 %,
    anything else 0–1 with no numbers; the x axis starts at 0."""
    share = metric in ("acc", "accuracy") or metric.endswith("_acc")
    fig.update_xaxes(range=[0, 1], showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(range=[0, 1], showticklabels=share, tickformat=".0%" if share else None, zeroline=False)
    fig.add_annotation(text="nothing trained yet", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(color="#9aa5b1"))
    return fig


def confusion_figure(cm: np.ndarray, classes: list[str]) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=cm, x=classes, y=classes, colorscale="Blues", text=cm,
                               texttemplate="%{text}", hovertemplate="true %{y} → predicted %{x}: %{z}<extra></extra>"))
    # Category axes: class names such as "0".."9" would otherwise become a numeric axis
    # that labels only every other class.
    fig.update_layout(height=440, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="predicted",
                      yaxis_title="true", yaxis_autorange="reversed", xaxis_type="category",
                      yaxis_type="category")
    return fig


def probability_figure(probs: np.ndarray, classes: list[str]) -> go.Figure:
    best = int(np.argmax(probs))
    colors = [COLORS["train"] if i == best else "#9aa5b1" for i in range(len(classes))]
    fig = go.Figure(go.Bar(x=classes, y=probs, marker_color=colors, text=[f"{p:.0%}" for p in probs],
                           textposition="outside"))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), yaxis_range=[0, 1.15],
                      yaxis_tickformat=".0%", xaxis_type="category")
    return fig


def heat_image(values: np.ndarray, box: tuple[int, int, int, int] | None = None, scale: int = 8) -> np.ndarray:
    """A non-negative (H,W) map as an RGB picture in the inferno colours (black = 0, pale yellow =
    the largest value), each cell `scale`×`scale` pixels; `box` (top, bottom, left, right, inclusive
    cells) is outlined in blue. A picture, not a chart: it reads the same in every browser."""
    from plotly.colors import hex_to_rgb, sequential

    v = np.asarray(values, np.float64)
    v = v / v.max() if v.size and v.max() > 0 else np.zeros_like(v)
    stops = np.array([hex_to_rgb(c) for c in sequential.Inferno], np.float64)
    pos = v * (len(stops) - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    rgb = (stops[lo] * (1 - frac) + stops[lo + 1] * frac).round().astype(np.uint8)
    big = rgb.repeat(scale, 0).repeat(scale, 1)
    if box is not None:
        top, bottom, left, right = (int(b) for b in box)
        y0, y1, x0, x1 = top * scale, (bottom + 1) * scale - 1, left * scale, (right + 1) * scale - 1
        blue = np.array([46, 134, 171], np.uint8)
        for y in (y0, y0 + 1, y1 - 1, y1):
            big[np.clip(y, 0, big.shape[0] - 1), max(x0, 0):x1 + 1] = blue
        for x in (x0, x0 + 1, x1 - 1, x1):
            big[max(y0, 0):y1 + 1, np.clip(x, 0, big.shape[1] - 1)] = blue
    return big
