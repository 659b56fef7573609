"""The grid-world page's figures (plotly): the exploration schedule, the board with its values,
greedy arrows and path, and the return and length curves."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from . import episodes as playback
from . import worlds
from .agents import SCHEDULES, epsilon_schedule
from .lesson import RLSpec
from .lesson import schedule as lesson_schedule


def schedule(run_id, run_spec: RLSpec | None, spec: RLSpec) -> go.Figure:
    """The run's ε (or τ) per episode, and the one on screen dashed when it differs."""
    fig = go.Figure()
    symbol = lambda sp: "τ" if sp.policy == "softmax" else "ε"  # noqa: E731
    if run_spec is not None:
        fig.add_scatter(y=lesson_schedule(run_spec), mode="lines", name=f"run {run_id}: {symbol(run_spec)}")
    if run_spec is None or (run_spec.schedule, run_spec.explore, run_spec.explore_end, run_spec.episodes) != \
            (spec.schedule, spec.explore, spec.explore_end, spec.episodes):
        fig.add_scatter(y=epsilon_schedule(spec.schedule, spec.episodes, spec.explore, spec.explore_end),
                        mode="lines", name=f"on screen: {symbol(spec)}", line=dict(dash="dash"))
    title = (f"Run {run_id} · exploration over the episodes" if run_id is not None else
             f"Exploration over the episodes: {SCHEDULES[spec.schedule]} {symbol(spec)}")
    fig.update_layout(title=title, xaxis_title="episode", yaxis_title=symbol(spec), height=220,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis_rangemode="tozero")
    return fig


def _cell(ch: str, r: int, c: int, q_row, t: float | None) -> tuple[str, str, str, str]:
    """A cell's colour, label, label colour and hover text; `t` places its value V between the
    board's lowest (0) and highest (1), None before a run."""
    label, font = {"S": "S", "G": "G", "P": "P"}.get(ch, ""), "black"
    colour, hover = "rgb(%d,%d,%d)" % playback.COLOURS[ch], f"row {r}, column {c}: {worlds.CELLS[ch]}"
    if t is not None and ch in ".S":
        colour, font = sample_colorscale("Viridis", [t])[0], "white" if t < 0.6 else "black"
        if ch == "." and q_row.max() > q_row.min():  # no arrow where every action is still alike
            label = worlds.ARROWS[int(np.argmax(q_row))]
        hover += f"<br>V = max Q = {q_row.max():.2f}"
    return colour, label, font, hover


def board(grid: tuple[str, ...], q, path, title: str, wind) -> go.Figure:
    """The grid as clickable squares: walls, pits, start and goal in their colours, the other cells
    coloured by V(s) = max_a Q(s, a), each with its greedy action's arrow; the greedy path on top."""
    n_r, n_c = len(grid), len(grid[0])
    size = playback.cell_size(n_r, n_c) + 8
    cells = [(r, c) for r in range(n_r) for c in range(n_c)]
    spread = None
    if q is not None and (values := [q[r * n_c + c].max() for r, c in cells if grid[r][c] in ".S"]):
        spread = (min(values), max(values))

    def place(r, c):  # where V(s) sits between the lowest and the highest, 0 to 1
        if spread is None:
            return None
        lo, hi = spread
        return 0.5 if hi - lo < 1e-9 else (q[r * n_c + c].max() - lo) / (hi - lo)

    colours, labels, fonts, hover = zip(*(_cell(grid[r][c], r, c, None if q is None else q[r * n_c + c],
                                                place(r, c)) for r, c in cells))
    xs, ys = [c for _, c in cells], [r for r, _ in cells]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=ys, mode="markers+text", name="cells", text=list(labels), hovertext=list(hover),
                    hoverinfo="text", textfont=dict(color=list(fonts), size=max(9, size // 2)),
                    marker=dict(symbol="square", size=size - 2, color=list(colours), line=dict(width=0)))
    if path is not None and len(path) > 1:
        fig.add_scatter(x=[s % n_c for s in path], y=[s // n_c for s in path], mode="lines", name="greedy path",
                        line=dict(color="orange", width=3), hoverinfo="skip")
    ticks = dict(tickmode="array", tickvals=list(range(n_c)),
                 ticktext=[f"↑{w}" if w else "" for w in wind]) if wind is not None and any(wind) else \
        dict(showticklabels=False)
    fig.update_layout(title=title, width=n_c * size + 40, height=n_r * size + 90, showlegend=False,
                      margin=dict(l=20, r=20, t=50, b=30), plot_bgcolor="white", clickmode="event+select",
                      xaxis=dict(range=[-0.5, n_c - 0.5], showgrid=False, zeroline=False, fixedrange=True, **ticks),
                      yaxis=dict(range=[n_r - 0.5, -0.5], showgrid=False, zeroline=False, fixedrange=True,
                                 showticklabels=False, scaleanchor="x"))
    return fig


def curves(run_id: int, metrics: list[dict], shortest) -> tuple[go.Figure, go.Figure]:
    eps = [m for m in metrics if m.get("split") == "episode"]
    x = [m["episode"] for m in eps]
    out = []
    for name, label in (("ret", "return per episode (the online return)"), ("length", "steps per episode")):
        y = np.array([m[name] for m in eps], float)
        fig = go.Figure()
        fig.add_scatter(x=x, y=y, mode="lines", name="episode", line=dict(width=1, color="#9bbcd9"))
        if len(y) >= 10:
            avg = np.convolve(y, np.ones(10) / 10, mode="valid")
            fig.add_scatter(x=x[9:], y=avg, mode="lines", name="mean of 10", line=dict(color="#1f5fa0"))
        if name == "length" and shortest:
            fig.add_hline(y=shortest, line_dash="dash", line_color="green",
                          annotation_text=f"shortest path: {shortest}", annotation_position="top right")
        fig.update_layout(title=f"Run {run_id} · {label}", xaxis_title="episode", height=300, showlegend=False,
                          margin=dict(l=10, r=10, t=40, b=10), yaxis_type="log" if name == "length" and
                          len(y) and y.max() > 20 * max(1, np.median(y)) else "linear")
        out.append(fig)
    return tuple(out)
