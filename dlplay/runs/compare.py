"""Runs side by side, as TensorBoard shows them: one table row per run, and the curves
of several runs overlaid on one chart."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from .specs import flatten
from .store import Run

NOT_CURVES = {"step", "epoch", "split", "lr", "samples_per_s", "seconds", "t"}


def table(runs: list[Run]) -> pd.DataFrame:
    """What the Runs page lists: page, dataset, key settings, headline, state, duration. Runs of
    one page whose key settings read the same also list what tells them apart ("lr 0.01")."""
    rows = []
    apart = differences(runs)
    for run in runs:
        duration = run.duration()
        rows.append({
            "run": run.id,
            "page": run.title,
            "result": run.headline or "—",
            # A stopped or failed run's status says it all ("stopped at epoch 7 of 15 (step 812)").
            "state": run.status if run.state in ("stopped", "failed") else run.state,
            "settings": " · ".join(p for p in (run.brief, apart.get(run.id, "")) if p),
            "dataset": run.dataset,
            "note": " ".join(f"#{t}" for t in run.tags) + (" " if run.tags and run.note else "") + _cut(run.note),
            "duration": f"{duration:,.1f} s" if duration is not None else "—",
            "started": dt.datetime.fromtimestamp(run.created).strftime("%Y-%m-%d %H:%M"),
        })
    return pd.DataFrame(rows, columns=["run", "page", "result", "state", "settings", "dataset", "duration", "started",
                                       "note"])


def _cut(text: str, most: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[:most - 1] + "…"


def differences(runs: list[Run], most: int = 3) -> dict[int, str]:
    """Run id → the settings that differ among runs of the same page and brief (two runs
    that would otherwise read the same on the Runs page): "train.lr 0.01 · seed 2"."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.page, run.brief, run.dataset), []).append(run)
    out = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        flat = [flatten(r.spec) for r in group]
        keys = sorted({k for f in flat for k in f if len({repr(g.get(k)) for g in flat}) > 1})
        for run, f in zip(group, flat):
            out[run.id] = " · ".join(f"{k.removeprefix('train.')} {_short(f.get(k))}" for k in keys[:most])
    return out


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "×".join(map(str, value)) or "none"
    return str(value)


def has_epochs(metrics: dict[int, list[dict]]) -> bool:
    return any(r.get("split") == "epoch" for rows in metrics.values() for r in rows)


def metric_names(metrics: dict[int, list[dict]]) -> list[str]:
    """Curves several runs can be compared on: the metric keys their rows share, with a
    page's own `curves` first ("loss", "acc"); "val_loss" folds into "loss"."""
    names: dict[str, int] = {}
    for rows in metrics.values():
        keys = {k.removeprefix("val_").removeprefix("train_") for r in rows for k, v in r.items()
                if k not in NOT_CURVES and isinstance(v, (int, float))}
        for k in keys:
            names[k] = names.get(k, 0) + 1
    shared = [k for k, n in names.items() if n == len(metrics)] or list(names)
    first = {"loss": 0, "acc": 1}
    return sorted(shared, key=lambda k: (first.get(k, 2), k))


def overlay_figure(runs: list[Run], metrics: dict[int, list[dict]], metric: str, per: str = "epoch") -> go.Figure:
    """One colour per run. per="epoch": train (dotted) and validation (solid) per epoch;
    per="step": the batch curve. Pages that train several models in one run (rows with a
    "model" key) get one line per model, told apart by dash."""
    fig = go.Figure()
    colors, dashes = qualitative.Plotly, ("solid", "dash", "dashdot", "longdash", "dot")
    for i, run in enumerate(runs):
        color = colors[i % len(colors)]
        groups: dict = {}
        for r in metrics.get(run.id, []):
            groups.setdefault(r.get("model"), []).append(r)
        for j, (model, rows) in enumerate(groups.items()):
            name = f"run {run.id} · {run.brief or run.title}" + (f" · {model}" if model else "")
            dash = dashes[j % len(dashes)] if len(groups) > 1 else None
            _add_run_curves(fig, rows, metric, per, name, color, dash)
    fig.update_layout(title=f"{metric} — {len(runs)} run{'s' if len(runs) != 1 else ''}", height=420, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title=per, legend=dict(orientation="h", y=-0.2))
    if per == "epoch":
        fig.update_xaxes(dtick=1)  # whole epochs only
    return fig


def _add_run_curves(fig, rows, metric, per, name, color, dash) -> None:
    if per == "step":
        pts = [r for r in rows if r.get("split") == "train" and metric in r and "step" in r]
        if pts:
            fig.add_scatter(x=[r["step"] for r in pts], y=[r[metric] for r in pts], mode="lines", name=name,
                            line=dict(color=color, width=1.5, dash=dash or "solid"))
        return
    epochs = [r for r in rows if r.get("split") == "epoch"]
    # With one line per model, validation only: train and validation for each would be unreadable.
    variants = (("val_", dash or "solid", "validation"),) if dash else \
        (("val_", "solid", "validation"), ("train_", "dot", "train"), ("", "solid", ""))
    for prefix, style, label in variants:
        pts = [r for r in epochs if f"{prefix}{metric}" in r]
        if pts:
            fig.add_scatter(x=[r["epoch"] for r in pts], y=[r[f"{prefix}{metric}"] for r in pts],
                            mode="lines+markers", name=f"{name} · {label}".rstrip(" ·"),
                            line=dict(color=color, dash=style, width=2.5 if style != "dot" else 1.5))
            if not prefix:
                break
