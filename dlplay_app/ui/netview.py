"""The playground's network and output heatmap as one interactive picture.

A Streamlit components-v2 widget (no iframe: it lives in the page's DOM, so the page's
tests and styles reach it). In the browser, without a round trip to the server:
hovering a neuron's tile shows that tile's map large over the output heatmap, as
TensorFlow Playground does. Sent back to Python as trigger values: clicking a weight's
line or a bias square ("pick": "w:layer,i,j" / "b:layer,j"), and, while drawing, a click
on the heatmap ("point": {x, y} in map coordinates).

The pictures are dlplay.playground.render's SVGs; the hover view re-uses the network's
own tile sheet (one PNG), so it costs no extra bytes per redraw.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

CSS = """
.pgv-grid { display: flex; gap: 1.2rem; align-items: flex-start; }
.pgv-net { flex: 3 1 0; min-width: 0; }
.pgv-out { flex: 2 1 0; min-width: 0; }
.pgv-label { font-size: .85rem; color: #555; min-height: 1.3rem; }
.pgv-root .pg-w { cursor: pointer; }
.pgv-root .pg-w:hover { stroke-opacity: 1; filter: drop-shadow(0 0 2px #0006); }
.pgv-root .pg-w.pg-sel { stroke: #111 !important; stroke-dasharray: 5 3; stroke-opacity: 1; }
.pgv-root .pg-b { cursor: pointer; }
.pgv-root .pg-b.pg-sel { stroke: #111; stroke-width: 2; }
.pgv-root .pg-node { cursor: zoom-in; }
.pgv-root .pg-node.pg-hovered { stroke: #111; stroke-width: 2; }
.pgv-root.pgv-drawing svg.pg-heatmap { cursor: crosshair; }
"""

JS = """
const NS = 'http://www.w3.org/2000/svg';
let hovered = null;  // the tile under the mouse, kept across redraws while playing
let nonce = 0;

export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.pgv-root');
  if (!root) {
    root = document.createElement('div');
    root.className = 'pgv-root';
    parentElement.appendChild(root);
  }
  root.innerHTML = data.html;
  root.classList.toggle('pgv-drawing', !!data.draw);
  const net = root.querySelector('svg.pg-network');
  const heat = root.querySelector('svg.pg-heatmap');
  const label = root.querySelector('.pgv-label');
  const sheet = net && net.querySelector('image.pg-sheet');

  function show(node) {
    root.querySelectorAll('.pg-big').forEach(el => el.remove());
    root.querySelectorAll('.pg-hovered').forEach(el => el.classList.remove('pg-hovered'));
    if (!node || !heat || !sheet) {
      if (label) label.textContent = data.hint || '';
      return;
    }
    node.classList.add('pg-hovered');
    const size = heat.dataset.size;
    const big = document.createElementNS(NS, 'svg');
    big.setAttribute('class', 'pg-big');
    big.setAttribute('data-node', node.dataset.node);
    for (const [k, v] of [['x', 0], ['y', 0], ['width', size], ['height', size]]) big.setAttribute(k, v);
    big.setAttribute('viewBox', ['x', 'y', 'width', 'height'].map(k => node.getAttribute(k)).join(' '));
    big.setAttribute('preserveAspectRatio', 'none');
    const img = document.createElementNS(NS, 'image');
    for (const k of ['x', 'y', 'width', 'height', 'preserveAspectRatio', 'href']) img.setAttribute(k, sheet.getAttribute(k));
    big.appendChild(img);
    const out = heat.querySelector('image.pg-out');
    heat.insertBefore(big, out ? out.nextSibling : heat.firstChild);  // under the points
    if (label) label.textContent = node.dataset.name + ' — its output over the plane (move away for the network\\'s)';
  }

  root.querySelectorAll('.pg-node').forEach(node => {
    node.addEventListener('mouseenter', () => { hovered = node.dataset.node; show(node); });
    node.addEventListener('mouseleave', () => { hovered = null; show(null); });
  });
  show(hovered ? root.querySelector(`.pg-node[data-node="${hovered}"]`) : null);

  if (data.editable) {
    root.querySelectorAll('.pg-w').forEach(el =>
      el.addEventListener('click', () => setTriggerValue('pick', 'w:' + el.dataset.w)));
    root.querySelectorAll('.pg-b').forEach(el =>
      el.addEventListener('click', () => setTriggerValue('pick', 'b:' + el.dataset.b)));
  }
  if (data.selected) {
    const [kind, where] = data.selected.split(':');
    const el = root.querySelector(kind === 'w' ? `.pg-w[data-w="${where}"]` : `.pg-b[data-b="${where}"]`);
    if (el) el.classList.add('pg-sel');
  }
  if (data.draw && heat) {
    heat.addEventListener('click', e => {
      const pt = heat.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      const p = pt.matrixTransform(heat.getScreenCTM().inverse());
      const size = +heat.dataset.size, d = +heat.dataset.domain;
      if (p.x < 0 || p.y < 0 || p.x > size || p.y > size) return;
      const dot = document.createElementNS(NS, 'circle');  // shown at once; the server's redraw follows
      for (const [k, v] of [['cx', p.x], ['cy', p.y], ['r', 4], ['fill', data.draw_color], ['stroke', '#fff']]) dot.setAttribute(k, v);
      heat.appendChild(dot);
      setTriggerValue('point', { x: p.x / size * 2 * d - d, y: d - p.y / size * 2 * d, n: ++nonce });
    });
  }
}
"""

_COMPONENT = st.components.v2.component("dlplay.netview", css=CSS, js=JS, isolate_styles=False)


def netview(network_svg: str, heatmap_svg: str, *, key: str, editable: bool = False, selected: str | None = None,
            draw_color: str | None = None, hint: str = "", on_pick: Callable[[], None] | None = None,
            on_point: Callable[[], None] | None = None) -> None:
    """Mount the picture. `on_pick`/`on_point` run (as Streamlit callbacks) when a weight is
    clicked / a point is drawn; read the value with `picked(key)` / `drawn(key)`."""
    html = (f"<div class='pgv-grid'><div class='pgv-net'>{network_svg}</div>"
            f"<div class='pgv-out'><div class='pgv-label'>{hint}</div>{heatmap_svg}</div></div>")
    _COMPONENT(data={"html": html, "editable": editable, "selected": selected, "draw": draw_color is not None,
                     "draw_color": draw_color, "hint": hint},
               key=key, on_pick_change=on_pick or _nothing, on_point_change=on_point or _nothing)


def _nothing() -> None:
    pass


def _value(key: str, name: str):
    state = st.session_state.get(key)
    try:
        return state[name] if state is not None else None
    except (KeyError, TypeError):
        return getattr(state, name, None)


def picked(key: str) -> tuple[str, tuple[int, ...]] | None:
    """The weight ("w", (layer, i, j)) or bias ("b", (layer, j)) just clicked."""
    value = _value(key, "pick")
    if not isinstance(value, str) or ":" not in value:
        return None
    kind, _, where = value.partition(":")
    try:
        return kind, tuple(int(n) for n in where.split(","))
    except ValueError:
        return None


def drawn(key: str) -> tuple[float, float] | None:
    """The map coordinates of the point just drawn."""
    value = _value(key, "point")
    try:
        return float(value["x"]), float(value["y"])
    except (TypeError, KeyError, ValueError):
        return None
