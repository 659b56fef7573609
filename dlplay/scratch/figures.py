"""Plotly figures for the from-scratch pages (no Streamlit, no torch)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .datasets import BOX

CLASS_COLORS = ("#2e86ab", "#e4572e")  # class 0 blue, class 1 orange-red
REGION_COLORS = ("rgba(46,134,171,0.13)", "rgba(228,87,46,0.13)")
GRID_TRACE = "click-grid"  # name of the invisible trace whose points are clicked to add data
MARGIN = dict(l=10, r=10, t=40, b=10)


# --- perceptron --------------------------------------------------------------------------------

def half_plane(w, b, box: float = BOX) -> list[tuple[float, float]]:
    """Corners of the part of the square [-box, box]² where w·x + b > 0 (clipping the
    square by one line: keep inside corners, add the two crossing points)."""
    square = [(-box, -box), (box, -box), (box, box), (-box, box)]
    side = [w[0] * px + w[1] * py + b for px, py in square]
    out = []
    for i, (p, s) in enumerate(zip(square, side)):
        q, t = square[(i + 1) % 4], side[(i + 1) % 4]
        if s > 0:
            out.append(p)
        if (s > 0) != (t > 0):
            f = s / (s - t)
            out.append((p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])))
    return out


def _path(corners) -> str:
    return "M " + " L ".join(f"{x:.4f},{y:.4f}" for x, y in corners) + " Z"


def click_grid(step: float = 0.05, box: float = BOX) -> go.Scatter:
    """A fine grid of invisible but selectable points: clicking the plot selects the
    nearest one, and the page adds a data point there."""
    ticks = np.arange(-box, box + 1e-9, step)
    gx, gy = np.meshgrid(ticks, ticks)
    invisible = dict(marker=dict(opacity=0))
    return go.Scatter(x=gx.ravel().round(3), y=gy.ravel().round(3), mode="markers", name=GRID_TRACE,
                      marker=dict(size=6, opacity=0, color="#000"), selected=invisible, unselected=invisible,
                      showlegend=False, hovertemplate="(%{x:.2f}, %{y:.2f}) · click to add a point<extra></extra>")


def perceptron_figure(X, y, w, b, highlight=(), box: float = BOX, clickable: bool = True) -> go.Figure:
    """Data, the decision line with its two half-planes shaded, the weight vector w
    (normal to the line, pointing to class 1), and the point(s) of the latest update ringed."""
    X, y = np.asarray(X).reshape(-1, 2), np.asarray(y)
    fig = go.Figure()
    pos, neg = half_plane(w, b, box), half_plane(-np.asarray(w), -b, box)
    for corners, color in ((neg, REGION_COLORS[0]), (pos, REGION_COLORS[1])):
        if len(corners) >= 3:
            fig.add_shape(type="path", path=_path(corners), fillcolor=color, line_width=0, layer="below")
    if clickable:
        fig.add_trace(click_grid(box=box))
    keep = dict(marker=dict(opacity=1))  # selecting a grid point must not dim the data
    for c, symbol in ((0, "circle"), (1, "diamond")):
        m = y == c
        fig.add_scatter(x=X[m, 0], y=X[m, 1], mode="markers", name=f"class {c}", unselected=keep,
                        marker=dict(color=CLASS_COLORS[c], size=10, symbol=symbol, line=dict(color="white", width=1)),
                        hovertemplate=f"class {c}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>")
    highlight = np.asarray(highlight, dtype=int)
    if highlight.size:
        fig.add_scatter(x=X[highlight, 0], y=X[highlight, 1], mode="markers", name="caused this update",
                        unselected=keep, hoverinfo="skip",
                        marker=dict(size=24, symbol="circle-open", color="#f5b700", line=dict(width=4)))
    _draw_line_and_normal(fig, np.asarray(w, float), float(b), box)
    fig.update_layout(height=540, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0),
                      xaxis=dict(range=[-box, box], constrain="domain", title="x₁", fixedrange=True),
                      yaxis=dict(range=[-box, box], constrain="domain", scaleanchor="x", title="x₂",
                                 fixedrange=True),
                      dragmode=False, hovermode="closest", plot_bgcolor="white", clickmode="event+select")
    return fig


def _draw_line_and_normal(fig: go.Figure, w: np.ndarray, b: float, box: float) -> None:
    norm = float(np.hypot(*w))
    if norm < 1e-12:
        return  # w = 0: every point is on the "line"; nothing to draw
    foot = -b * w / norm ** 2  # the line's point nearest the origin
    along = np.array([-w[1], w[0]]) / norm
    ends = np.array([foot - 4 * box * along, foot + 4 * box * along])
    fig.add_scatter(x=ends[:, 0], y=ends[:, 1], mode="lines", name="decision line w·x + b = 0",
                    line=dict(color="#333", width=3), hoverinfo="skip")
    if len(half_plane(w, b, box)) in (0, 4) and abs(b) / norm > box:  # the line misses the square
        fig.add_annotation(x=0, y=box, yanchor="top", showarrow=False, bgcolor="rgba(255,255,255,0.8)",
                           text=f"the line is outside this view: every point is predicted class "
                                f"{int(b > 0)}")
    if np.all(np.abs(foot) <= box):
        tip = foot + 0.35 * box * w / norm
        fig.add_annotation(x=tip[0], y=tip[1], ax=foot[0], ay=foot[1], xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowsize=1.5, arrowwidth=3, arrowcolor="#f5b700",
                           text="w", font=dict(size=16, color="#b08400"), xanchor="left")


def mistakes_figure(history: list[tuple[int, int]]) -> go.Figure:
    """Misclassified points after each update: reaches 0 only if a line separates the classes."""
    h = np.array(history, dtype=float).reshape(-1, 2)
    fig = go.Figure(go.Scatter(x=h[:, 0], y=h[:, 1], mode="lines+markers" if len(h) < 60 else "lines",
                               line=dict(color="#e4572e")))
    top = h.max(axis=0) if len(h) else (1, 1)
    fig.update_layout(title="Misclassified points after each update", height=260, margin=MARGIN,
                      xaxis=dict(title="updates", **integer_ticks(top[0])),
                      yaxis=dict(title="mistakes", rangemode="tozero", **integer_ticks(top[1])))
    return fig


def integer_ticks(top: float, most: int = 8) -> dict:
    """Axis settings for counts: ticks on whole numbers only (plotly's automatic ticks put
    some at 1.5 and 2.5 on a short axis), every 1, 2, 5, 10, 20, 50… so at most `most` show."""
    step = 1
    while top / step > most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1 → 2 → 5 → 10 → 20 → 50 …
    return dict(tick0=0, dtick=step, tickformat="d")


# --- logic gates -----------------------------------------------------------------------------

def gate_figure(xs, ys, Z, X, y) -> go.Figure:
    """The network's output over the plane (0 blue → 1 red), its 0.5 contour, and the four rows."""
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=Z, zmin=0, zmax=1, colorscale="RdBu_r", opacity=0.75,
                               colorbar=dict(title="output", len=0.8),
                               hovertemplate="(%{x:.2f}, %{y:.2f}) → %{z:.2f}<extra></extra>"))
    fig.add_contour(x=xs, y=ys, z=Z, contours=dict(start=0.5, end=0.5, coloring="none"), showscale=False,
                    line=dict(color="black", width=2), hoverinfo="skip", name="output = 0.5")
    for c in (0, 1):
        m = np.asarray(y) == c
        fig.add_scatter(x=X[m, 0], y=X[m, 1], mode="markers+text", text=[str(c)] * int(m.sum()),
                        textposition="top center", textfont=dict(size=16), name=f"target {c}",
                        marker=dict(size=18, color=CLASS_COLORS[c], line=dict(color="white", width=2)))
    fig.update_layout(title="Decision regions", height=430, margin=MARGIN, showlegend=False,
                      xaxis=dict(title="input A", constrain="domain"), yaxis=dict(title="input B", scaleanchor="x"))
    return fig


def hidden_units_figure(maps: list[np.ndarray], xs) -> go.Figure:
    """One small map per hidden unit: where in the input plane it fires."""
    n = len(maps)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"h{j + 1}" for j in range(n)],
                        horizontal_spacing=0.04, vertical_spacing=0.12)
    lo, hi = min(float(m.min()) for m in maps), max(float(m.max()) for m in maps)
    for j, m in enumerate(maps):
        fig.add_trace(go.Heatmap(x=xs, y=xs, z=m, zmin=lo, zmax=hi, colorscale="Viridis", showscale=j == 0,
                                 hovertemplate="(%{x:.2f}, %{y:.2f}) → %{z:.2f}<extra></extra>"),
                      row=j // cols + 1, col=j % cols + 1)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    for j in range(n):
        fig.add_scatter(x=corners[:, 0], y=corners[:, 1], mode="markers", showlegend=False, hoverinfo="skip",
                        marker=dict(size=7, color="white", line=dict(color="black", width=1)),
                        row=j // cols + 1, col=j % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=190 * rows + 40, margin=MARGIN)
    return fig


# --- regression ---------------------------------------------------------------------------------

def fit_figure(x, y, curves: dict[str, tuple[np.ndarray, np.ndarray]], x_test=None, y_test=None,
               title: str = "") -> go.Figure:
    """Data points and any number of named curves (x, y) drawn over them."""
    fig = go.Figure()
    fig.add_scatter(x=x, y=y, mode="markers", name="training data", marker=dict(color="#333", size=7))
    if x_test is not None:
        fig.add_scatter(x=x_test, y=y_test, mode="markers", name="test data",
                        marker=dict(color="#3bb273", size=7, symbol="x"))
    styles = [dict(color="#9aa5b1", dash="dash", width=2), dict(color="#e4572e", width=3),
              dict(color="#2e86ab", width=3)]
    for i, (name, (cx, cy)) in enumerate(curves.items()):
        fig.add_scatter(x=cx, y=cy, mode="lines", name=name, line=styles[i % len(styles)])
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.3 * (hi - lo)
    fig.update_layout(title=title, height=380, margin=MARGIN, legend=dict(orientation="h", y=-0.2),
                      xaxis_title="x", yaxis=dict(title="y", range=[lo - pad, hi + pad]))
    return fig


def degree_figure(rows: list[dict], chosen: int | None = None) -> go.Figure:
    """Train and test MSE against polynomial degree (log scale): the gap is overfitting."""
    d = [r["degree"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=d, y=[r["train_mse"] for r in rows], mode="lines+markers", name="train MSE",
                    line=dict(color="#e4572e"))
    fig.add_scatter(x=d, y=[r["test_mse"] for r in rows], mode="lines+markers", name="test MSE",
                    line=dict(color="#3bb273"))
    if chosen is not None:
        fig.add_vline(x=chosen, line=dict(color="#999", dash="dot"))
    fig.update_layout(title="Error against degree", height=380, margin=MARGIN, xaxis_title="degree",
                      yaxis=dict(title="MSE (log scale)", type="log"), legend=dict(orientation="h", y=-0.2))
    return fig


def grid_progress_figure(rows: list[dict]) -> go.Figure:
    """CV error of each setting as the search goes (diverged settings left out)."""
    done = [r for r in rows if np.isfinite(r.get("cv_error", np.inf))]
    fig = go.Figure(go.Scatter(x=[r["step"] for r in done], y=[r["cv_error"] for r in done], mode="markers",
                               marker=dict(color="#2e86ab", size=9),
                               hovertext=[", ".join(f"{k}={v}" for k, v in r.items()
                                                    if k not in ("step", "split", "cv_error")) for r in done]))
    if done:
        best = np.minimum.accumulate([r["cv_error"] for r in done])
        fig.add_scatter(x=[r["step"] for r in done], y=best, mode="lines", name="best so far",
                        line=dict(color="#e4572e", shape="hv"))
    fig.update_layout(title="Cross-validated MSE per setting", height=300, margin=MARGIN, showlegend=False,
                      xaxis_title="setting", yaxis=dict(title="CV MSE (log scale)", type="log"))
    return fig
