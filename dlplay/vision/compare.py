"""Comparing CNN architectures: several setups trained one after another, each its own
run of the CNN builder (so each opens on that page), and a table side by side.

The assignment's finding: a deeper network trained the way the shallow one was (plain
SGD, a constant learning rate, a few epochs, no batch norm) does *worse*, not better —
its signal and gradients shrink through the extra layers and it learns slowly. The
"fixed" variants add what makes depth pay: batch norm after every convolution, and
Adam with a one-cycle learning rate.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Callable

import pandas as pd
import plotly.graph_objects as go

from .cnn import BN, PRESETS, CNNSpec, build, from_preset, n_parameters

IMAGE_SHAPES = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _with_bn(blocks) -> tuple:
    """Batch norm after every convolution."""
    out = []
    for b in blocks:
        out.append(b)
        if b.kind == "conv":
            out.append(BN)
    return tuple(out)


def deeper_fixed(dataset: str, bn: bool = True) -> CNNSpec:
    """The deeper stack with what fixes it: batch norm (if `bn`), Adam, a one-cycle schedule."""
    spec = from_preset("deeper, untuned", dataset)
    blocks = _with_bn(PRESETS["deeper, untuned"]) if bn else spec.blocks
    train = replace(spec.train, optimizer="adam", lr=3e-3, schedule="onecycle")
    name = "deeper + batch norm + Adam" if bn else "deeper + Adam (no batch norm)"
    return replace(spec, preset=name, blocks=blocks, train=train)


# What the page offers to compare: the presets, then the fixes for the deeper one.
CHOICES: dict[str, Callable[[str], CNNSpec]] = {
    **{name: (lambda ds, n=name: from_preset(n, ds)) for name in PRESETS},
    "deeper + Adam (no batch norm)": lambda ds: deeper_fixed(ds, bn=False),
    "deeper + batch norm + Adam": lambda ds: deeper_fixed(ds, bn=True),
}


def setups(names: list[str], dataset: str, epochs: int = 0, n_train: int = 0,
           extra: dict[str, CNNSpec] | None = None) -> list[CNNSpec]:
    """The specs to train, in order. `epochs` (0 = each setup's own) and `n_train`
    (0 = all) are applied to every one so they compare on equal terms."""
    out = []
    for name in names:
        spec = (extra or {}).get(name) or CHOICES[name](dataset)
        spec = replace(spec, dataset=dataset, n_train=n_train)
        if epochs:
            spec = replace(spec, train=replace(spec.train, epochs=epochs))
        out.append(spec)
    return out


def n_params(spec: CNNSpec) -> int:
    shape = IMAGE_SHAPES.get(spec.dataset, (1, 28, 28))
    return n_parameters(build(spec, shape, 10))


def table(runs: list, specs: list[CNNSpec]) -> pd.DataFrame:
    """One row per setup: its run, parameters, seconds per epoch, best validation and
    test accuracy (runs still waiting or training show what they have so far)."""
    rows = []
    for i, spec in enumerate(specs):
        run = runs[i] if i < len(runs) else None
        s = run.summary if run is not None else {}
        rows.append({
            "setup": spec.preset,
            "run": run.id if run is not None else None,
            "state": (run.status if run.state in ("stopped", "failed") else run.state) if run else "waiting",
            "parameters": s.get("n_params") or n_params(spec),
            "epochs": spec.train.epochs,
            "s / epoch": round(s["epoch_seconds"], 1) if s.get("epoch_seconds") else None,
            "best val. acc.": s.get("best_val_acc"),
            "test acc.": s.get("test_acc"),
        })
    return pd.DataFrame(rows, columns=["setup", "run", "state", "parameters", "epochs", "s / epoch",
                                       "best val. acc.", "test acc."])


def finding(df: pd.DataFrame) -> str | None:
    """The assignment's finding in the numbers of this comparison; None until the
    deeper-untuned setup and a shallower one have finished."""
    done = df.dropna(subset=["test acc."])
    accs = dict(zip(done["setup"], done["test acc."]))
    deep = accs.get("deeper, untuned")
    if deep is None:
        return None
    shallow = {k: v for k, v in accs.items() if k in ("simple", "Keras mnist_convnet", "fast")}
    fixed = {k: v for k, v in accs.items() if k.startswith("deeper +")}
    if not shallow and not fixed:
        return None
    parts = []
    if shallow:
        name, best = max(shallow.items(), key=lambda kv: kv[1])
        verdict = "worse than" if deep < best else "no worse than"
        parts.append(f"The deeper, untuned network reached {deep:.1%} test accuracy: {verdict} the shallower "
                     f"“{name}” ({best:.1%}), with more parameters and slower epochs.")
        if deep >= best:
            parts.append("Depth did not hurt here — with more epochs or data it can; the gap usually shows with "
                         "few epochs.")
    for name, acc in fixed.items():
        parts.append(f"“{name}” reached {acc:.1%} ({(acc - deep) * 100:+.1f} points over the untuned one).")
    return " ".join(parts)


LEGEND_ROW_PX = 22  # one row of a horizontal legend


def curves_figure(runs: list, metrics: dict[int, list[dict]], metric: str) -> go.Figure:
    """The runs' curves overlaid (`dlplay.runs.compare.overlay_figure`) with a legend that fits a
    half-width column: one entry per run, named by its setup ("run 12 · simple") — its validation
    (solid) and training (dotted) lines share it, and the title says which is which. The full names
    ("run 12 · simple · conv 32 · 2 epochs · validation"), two per run, wrapped into more rows than
    the chart's bottom margin held: the legend was cut off. The chart grows by the rows it needs."""
    from ..runs.compare import overlay_figure

    fig = overlay_figure(runs, metrics, metric)
    setup = {r.id: (r.spec or {}).get("preset") or r.brief or r.title for r in runs}
    shown = set()
    for trace in fig.data:
        m = re.match(r"run (\d+)", trace.name or "")
        if m is None:
            continue
        run_id = int(m.group(1))
        trace.legendgroup = f"run {run_id}"
        trace.name = f"run {run_id} · {setup.get(run_id, '')}".rstrip(" ·")
        trace.showlegend = run_id not in shown
        shown.add(run_id)
    rows = math.ceil(len(shown) / 2)  # two short names a row in a half-width column
    what = {"acc": "accuracy", "loss": "loss"}.get(metric, metric)
    fig.update_layout(title=f"{what}: validation (solid), training (dotted)", height=380 + LEGEND_ROW_PX * rows,
                      margin=dict(l=10, r=10, t=40, b=50 + LEGEND_ROW_PX * rows),
                      legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"))
    return fig


__all__ = ["CHOICES", "curves_figure", "deeper_fixed", "finding", "n_params", "setups", "table"]
