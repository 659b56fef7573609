"""The grid-world page's figures: the exploration schedule (plotly), the board with its values,
greedy arrows and path (plotly, and as SVG for the clickable board), and the return and length
curves (plotly)."""
from __future__ import annotations

from html import escape

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


def _values(grid: tuple[str, ...], q):
    """Each cell's place between the board's lowest V and its highest (0 to 1), None before a run."""
    n_c = len(grid[0])
    cells = [(r, c) for r in range(len(grid)) for c in range(n_c)]
    values = [q[r * n_c + c].max() for r, c in cells if grid[r][c] in ".S"] if q is not None else []
    if not values:
        return lambda r, c: None
    lo, hi = min(values), max(values)
    return lambda r, c: 0.5 if hi - lo < 1e-9 else float((q[r * n_c + c].max() - lo) / (hi - lo))


def board_svg(grid: tuple[str, ...], q, path, title: str, wind) -> str:
    """The board of `board` as an SVG picture for the page's click-to-edit widget: a plotly chart
    is a new element whenever its figure changes (Streamlit names a chart by its whole spec), so
    while the agent learned and the values changed twice a second, the chart under the mouse
    was replaced again and again and clicks on it were lost. Each cell is a `rect` with its row
    and column (`data-r`, `data-c`) and its hover text as a `title`; the greedy path on top."""
    n_r, n_c = len(grid), len(grid[0])
    size = playback.cell_size(n_r, n_c) + 8
    head, foot = 30, 18 if wind is not None and any(wind) else 4
    width, height = n_c * size, head + n_r * size + foot
    place = _values(grid, q)
    out = [f"<svg class='rl-board' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}' font-family='sans-serif'>",
           f"<text class='rl-title' x='0' y='18' font-size='14' font-weight='600' fill='#31333f'>{escape(title)}</text>"]
    for r in range(n_r):
        for c in range(n_c):
            colour, label, font, hover = _cell(grid[r][c], r, c, None if q is None else q[r * n_c + c], place(r, c))
            x, y = c * size, head + r * size
            out.append(f"<rect class='rl-cell' data-r='{r}' data-c='{c}' data-cell='{escape(grid[r][c])}' x='{x}' "
                       f"y='{y}' width='{size}' height='{size}' fill='{colour}' stroke='#fff' stroke-width='1'>"
                       f"<title>{escape(hover.replace('<br>', chr(10)))}</title></rect>")
            if label:
                out.append(f"<text x='{x + size / 2}' y='{y + size / 2}' text-anchor='middle' dominant-baseline='central' "
                           f"font-size='{max(9, size // 2)}' fill='{font}' pointer-events='none'>{escape(label)}</text>")
    if path is not None and len(path) > 1:
        points = " ".join(f"{(s % n_c + 0.5) * size:.1f},{head + (s // n_c + 0.5) * size:.1f}" for s in path)
        out.append(f"<polyline class='rl-path' points='{points}' fill='none' stroke='orange' stroke-width='3' "
                   "stroke-linejoin='round' pointer-events='none'/>")
    if wind is not None and any(wind):
        out += [f"<text x='{(c + 0.5) * size}' y='{head + n_r * size + 14}' text-anchor='middle' font-size='11' "
                f"fill='#555'>↑{w}</text>" for c, w in enumerate(wind) if w]
    out.append("</svg>")
    return "".join(out)


# The click-to-edit board (a Streamlit components-v2 widget: it keeps its identity, its key, while its
# picture changes). A cell reports itself on the press of the button, not on the click that follows
# the release: the picture may be replaced in between (twice a second while the agent learns). The
# listener sits on the widget's own element, which lives as long as the widget, and the cell pressed
# is darkened at once, before the server's redraw.
BOARD_CSS = """
.rl-board-root .rl-cell { cursor: pointer; }
.rl-board-root .rl-cell:hover { stroke: #111; stroke-width: 2; }
.rl-board-root.rl-locked .rl-cell { cursor: default; }
.rl-board-root .rl-pressed { opacity: .55; }
"""

BOARD_JS = """
let nonce = 0;

export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.rl-board-root');
  if (!root) {
    root = document.createElement('div');
    root.className = 'rl-board-root';
    parentElement.appendChild(root);
    root.addEventListener('pointerdown', e => {
      const cell = e.target.closest && e.target.closest('.rl-cell');
      if (!cell || !root.latest || !root.latest.editable) return;
      cell.classList.add('rl-pressed');
      root.latest.send('cell', { r: +cell.dataset.r, c: +cell.dataset.c, n: ++nonce });
    });
  }
  root.latest = { editable: !!data.editable, send: setTriggerValue };
  root.classList.toggle('rl-locked', !data.editable);
  root.innerHTML = data.html;
}
"""


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
        log = name == "length" and len(y) > 0 and y.max() > 20 * max(1, np.median(y))
        at = (lambda v: np.log10(v)) if log else (lambda v: v)  # plotly places shapes on a log axis by log10
        if name == "length" and shortest:
            fig.add_hline(y=at(shortest), line_dash="dash", line_color="green",
                          annotation_text=f"shortest path: {shortest}", annotation_position="top right")
        yaxis = dict(type="log" if log else "linear")
        if name == "length" and len(y):
            # From the data (and the shortest path), never plotly's guess: an episode is 1 to 10,000 steps.
            lo, hi = max(1.0, min(y.min(), shortest or y.min())), max(y.max(), shortest or 0)
            yaxis["range"] = ([np.log10(lo) - 0.1, np.log10(hi) + 0.1] if log else
                              [0, hi * 1.08 + 1])
        fig.update_layout(title=f"Run {run_id} · {label}", xaxis_title="episode", height=300, showlegend=False,
                          margin=dict(l=10, r=10, t=40, b=10), yaxis=yaxis)
        out.append(fig)
    return tuple(out)
