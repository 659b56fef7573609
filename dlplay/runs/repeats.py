"""Seed repeats: one setting trained N times, each with its own seed, to see how much of a result is the
seed's — the mean curve with its band, and the final figure as mean ± spread.

The N runs are one unit of work (`dlplay.work.start_runs`: the fair-use rules count all of them), each
tagged in its settings with its group, so the group is found again after a reload, a restart or on the
Runs page.
"""
from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass

import numpy as np

from .store import Run, RunStore

TAG = "_repeat"  # in each run's settings: {"id", "i", "of", "seed"}
MAX_SHARED, MAX_LOCAL = 5, 10  # seeds a visitor may ask for at once (a class's server, a personal machine)
SEED_PATHS = ("seed", "train.seed", "state.seed")  # where a lesson's spec keeps its training seed


def max_seeds() -> int:
    from ..limits import shared

    return MAX_SHARED if shared() else MAX_LOCAL


def seed_path(spec) -> str | None:
    """Where `spec` keeps its training seed ("train.seed"), None if it has none."""
    for path in SEED_PATHS:
        if _get(spec, path) is not None:
            return path
    return None


def seed_of(spec) -> int:
    path = seed_path(spec)
    return int(_get(spec, path)) if path else 0


def _get(spec, path: str):
    obj = spec
    for name in path.split("."):
        if not (dataclasses.is_dataclass(obj) and hasattr(obj, name)):
            return None
        obj = getattr(obj, name)
    return obj


def with_seed(spec, seed: int):
    """`spec` with its training seed set to `seed` (nested specs replaced, not changed)."""
    path = seed_path(spec)
    if path is None:
        raise ValueError(f"{type(spec).__name__} has no seed to vary")
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(spec, **{head: seed})
    return dataclasses.replace(spec, **{head: with_seed(getattr(spec, head), seed)})


def seeded(spec, n: int) -> list:
    """`n` copies of `spec`, seeds counted up from its own."""
    first = seed_of(spec)
    return [with_seed(spec, first + i) for i in range(n)]


def new_group() -> str:
    return uuid.uuid4().hex[:12]


def tag(settings: dict | None, group: str, i: int, n: int, seed: int) -> dict:
    """A run's settings with its place in its group of seed repeats."""
    return {**(settings or {}), TAG: {"id": group, "i": i, "of": n, "seed": seed}}


def group_of(run: Run) -> dict | None:
    return run.settings.get(TAG)


def members(store: RunStore, workspace: str, group: str, page: str | None = None) -> list[Run]:
    """The group's runs in the workspace, in seed order."""
    found = [r for r in store.list(workspace, page=page) if (group_of(r) or {}).get("id") == group]
    return sorted(found, key=lambda r: group_of(r)["i"])


def groups(runs: list[Run]) -> dict[str, list[Run]]:
    """The seed groups among `runs` (two or more of a group), each named by its setting and runs:
    "784→64→10 · 2 epochs (runs 4, 5, 6)"."""
    found: dict[str, list[Run]] = {}
    for run in runs:
        if (g := group_of(run)) is not None:
            found.setdefault(g["id"], []).append(run)
    out = {}
    for members in found.values():
        if len(members) > 1:
            members = sorted(members, key=lambda r: group_of(r)["i"])
            out[f"{members[0].brief or members[0].title} (runs {', '.join(str(r.id) for r in members)})"] = members
    return out


# --- figures over seeds ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spread:
    n: int
    mean: float
    std: float  # the sample standard deviation (n − 1); 0 for one value
    lo: float
    hi: float

    def text(self, fmt=lambda v: f"{v:.4g}", scale: float = 1.0, unit: str = "") -> str:
        """"97.8% ± 0.2 points (97.5%–98.1%, 3 seeds)": mean ± one standard deviation, min–max."""
        if self.n == 1:
            return f"{fmt(self.mean)} (1 seed)"
        return (f"{fmt(self.mean)} ± {self.std * scale:.2g}{unit} (min–max {fmt(self.lo)}–{fmt(self.hi)}, "
                f"{self.n} seeds)")


def spread(values) -> Spread:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        raise ValueError("no values")
    return Spread(len(v), float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, float(v.min()),
                  float(v.max()))


def curve(rows: list[dict], metric: str) -> tuple[list[float], list[float]]:
    """A run's curve of `metric`: per epoch (its validation value where there is one) when the run logs
    epochs, else every row that has it, by epoch or step."""
    epochs = [r for r in rows if r.get("split") == "epoch"]
    for key in (f"val_{metric}", metric):
        pts = [r for r in epochs if isinstance(r.get(key), (int, float))]
        if pts:
            return [float(r["epoch"]) for r in pts], [float(r[key]) for r in pts]
    pts = [r for r in rows if isinstance(r.get(metric), (int, float)) and r.get("split") != "train"] or \
        [r for r in rows if isinstance(r.get(metric), (int, float))]
    x = "epoch" if all("epoch" in r for r in pts) else "step"
    pts = [r for r in pts if x in r]
    return [float(r[x]) for r in pts], [float(r[metric]) for r in pts]


@dataclass
class Band:
    x: list[float]
    mean: list[float]
    std: list[float]
    lo: list[float]
    hi: list[float]
    count: list[int]  # runs that reached each x (a stopped one ends early)


def band(curves: list[tuple[list[float], list[float]]]) -> Band:
    """The curves' mean, standard deviation and min–max at each x any of them reached."""
    at: dict[float, list[float]] = {}
    for xs, ys in curves:
        for x, y in zip(xs, ys):
            if math.isfinite(y):
                at.setdefault(x, []).append(y)
    xs = sorted(at)
    stats = [spread(at[x]) for x in xs]
    return Band(xs, [s.mean for s in stats], [s.std for s in stats], [s.lo for s in stats],
                [s.hi for s in stats], [s.n for s in stats])


def band_figure(groups: dict[str, list[tuple[list[float], list[float]]]], metric: str, kind: str = "std",
                title: str | None = None):
    """One mean line per group with its band: ± one standard deviation (`kind`="std") or min–max; a group of
    one curve is that curve, without a band."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    for i, (name, curves) in enumerate(groups.items()):
        b, color = band(curves), qualitative.Plotly[i % len(qualitative.Plotly)]
        if len(curves) == 1:
            fig.add_scatter(x=b.x, y=b.mean, mode="lines+markers", line=dict(color=color, width=2.5), name=name)
            continue
        lower = b.lo if kind == "minmax" else [m - s for m, s in zip(b.mean, b.std)]
        upper = b.hi if kind == "minmax" else [m + s for m, s in zip(b.mean, b.std)]
        fig.add_scatter(x=b.x + b.x[::-1], y=upper + lower[::-1], fill="toself", fillcolor=_faint(color),
                        line=dict(width=0), hoverinfo="skip", showlegend=False, name=f"{name} band")
        fig.add_scatter(x=b.x, y=b.mean, mode="lines+markers", line=dict(color=color, width=2.5),
                        name=f"{name} · mean of {max(b.count, default=0)}",
                        customdata=b.count, hovertemplate="%{y:.4g} (%{customdata} runs)<extra></extra>")
    what = "± one standard deviation" if kind == "std" else "min–max"
    fig.update_layout(title=title or f"{metric}: mean over seeds, band {what}", height=380,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2))
    return fig


def _faint(color: str) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.18)"


__all__ = ["Band", "MAX_LOCAL", "MAX_SHARED", "Spread", "TAG", "band", "band_figure", "curve", "group_of", "groups",
           "max_seeds", "members", "new_group", "seed_of", "seed_path", "seeded", "spread", "tag", "with_seed"]
