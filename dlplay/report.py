"""A lab report of runs: the settings that differ between them, their final figures (with the spread of each
group of seed repeats), their curves overlaid, the images each lesson keeps (confusion matrices, samples,
latent maps, decision maps) and the learner's notes — as a Jupyter notebook (nbformat) that rebuilds every
figure from the runs it carries and can re-train each run with `python -m dlplay run`, and as a
self-contained HTML page (plotly's script inlined: it opens offline).

The notebook needs only pandas, numpy and plotly to rebuild the figures; its helpers are dlplay's own
functions, copied in (`inspect.getsource`), so it draws what the app draws.
"""
from __future__ import annotations

import datetime as dt
import html
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .runs import compare, repeats, specs
from .runs.lesson import lesson_for
from .runs.store import Run, RunStore, dumps, get_store

# Arrays a lesson keeps that a report shows: name → (title, how it is drawn)
IMAGES = {"confusion": ("confusion matrix (rows: true class, columns: predicted)", "heatmap"),
          "map": ("decision map", "heatmap"), "generated": ("generated piano roll (time × key)", "heatmap"),
          "grids": ("generated samples", "image"), "scatter_z": ("latent map", "scatter"),
          "points": ("latent map (PCA of the codes)", "scatter")}
MAX_RUNS = 30


@dataclass
class Report:
    runs: list[Run]
    metrics: dict[int, list[dict]]
    images: dict[int, dict[str, list]]  # run → name → the array as nested lists
    created: str

    def record(self) -> dict:
        """Everything the notebook rebuilds its figures from, as JSON values."""
        figures = {}
        for run in self.runs:
            lesson = lesson_for(run.page)
            if lesson is not None and lesson.figure is not None:
                f = lesson.figure
                figures[run.page] = {"key": f.key, "label": f.label, "higher": f.higher, "percent": f.percent}
        runs = [{"id": r.id, "page": r.page, "title": r.title, "brief": r.brief, "dataset": r.dataset,
                 "headline": r.headline, "state": r.state, "status": r.status, "spec": r.spec,
                 "summary": r.summary, "note": r.note, "tags": r.tags, "repeat": repeats.group_of(r),
                 "metrics": self.metrics[r.id], "images": self.images.get(r.id, {})} for r in self.runs]
        return {"created": self.created, "dlplay": __version__, "figures": figures, "runs": runs}


def collect(run_ids: list[int], workspace: str, store: RunStore | None = None,
            metrics: dict[int, list[dict]] | None = None) -> Report:
    """The runs of `workspace` named by `run_ids` (another workspace's, or none, is a LookupError);
    `metrics`: their metric rows when the caller has read them already."""
    store = store or get_store()
    if not run_ids:
        raise ValueError("a report needs at least one run")
    if len(run_ids) > MAX_RUNS:
        raise ValueError(f"a report takes at most {MAX_RUNS} runs")
    runs = []
    for i in dict.fromkeys(run_ids):
        run = store.get(i, workspace)
        if run is None:
            raise LookupError(f"there is no run {i} in this workspace")
        runs.append(run)
    images = {}
    for run in runs:
        arrays = store.load_arrays(run.id) if run.has_model else {}
        images[run.id] = {k: np.asarray(v)[-1 if IMAGES[k][1] == "image" else slice(None)].tolist()
                          for k, v in arrays.items() if k in IMAGES}
    metrics = metrics or {}
    return Report(runs, {r.id: metrics[r.id] if r.id in metrics else store.metrics(r.id) for r in runs}, images,
                  dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


# --- the tables and figures: the same functions in the app and (copied) in the notebook ---------------------

flatten, spread, curve, band, band_figure = specs.flatten, repeats.spread, repeats.curve, repeats.band, \
    repeats.band_figure


def settings_table(runs: list[dict]) -> pd.DataFrame:
    """One row per run, one column per setting whose value differs between the runs (none alike kept)."""
    flat = [{k: "×".join(map(str, v)) or "none" if isinstance(v, list) else v
             for k, v in flatten({"page": r["title"], **r["spec"]}).items()} for r in runs]
    keys = [k for k in dict.fromkeys(k for f in flat for k in f) if len({repr(f.get(k)) for f in flat}) > 1]
    return pd.DataFrame([{"run": r["id"], **{k: f.get(k) for k in keys}} for r, f in zip(runs, flat)])


def figures_table(record: dict) -> pd.DataFrame:
    """Each run's final figure (the lesson's one number), and for a group of seed repeats its mean ± spread."""
    rows, groups = [], {}
    for r in record["runs"]:
        fig = record["figures"].get(r["page"])
        value = r["summary"].get(fig["key"]) if fig else None
        rows.append({"run": r["id"], "page": r["title"], "settings": r["brief"], "result": r["headline"],
                     "figure": fig["label"] if fig else "", "value": value,
                     "seed group": (r["repeat"] or {}).get("id", "")})
        if fig and isinstance(value, (int, float)) and r["repeat"]:
            groups.setdefault((r["repeat"]["id"], fig["percent"]), []).append(value)
    table = pd.DataFrame(rows)
    for (group, percent), values in groups.items():
        if len(values) > 1:
            scale = 100 if percent else 1
            table.loc[table["seed group"] == group, "over its seeds"] = spread(values).text(
                lambda v: f"{v * scale:.4g}", scale, " points" if percent else "")
    return table


def curve_names(record: dict) -> list[str]:
    metrics = {r["id"]: r["metrics"] for r in record["runs"]}
    return [m for m in compare.metric_names(metrics) if all(curve(rows, m)[0] for rows in metrics.values())]


def curves_figure(record: dict, metric: str):
    """The runs' curves of `metric` overlaid — a group of seed repeats as its mean with a ± 1 std band."""
    groups: dict = {}
    for r in record["runs"]:
        if (c := curve(r["metrics"], metric))[0]:
            groups.setdefault((r["repeat"] or {}).get("id") or r["id"], []).append((r, c))
    named = {f"run{'s' if len(m) > 1 else ''} {', '.join(str(r['id']) for r, _ in m)} · {m[0][0]['brief']}":
             [c for _, c in m] for m in groups.values()}
    return band_figure(named, metric, title=metric)


def image_figure(name: str, values: list, title: str):
    import plotly.graph_objects as go

    what, how = IMAGES[name]
    a = np.asarray(values)
    if how == "scatter":
        fig = go.Figure(go.Scatter(x=a[:, 0], y=a[:, 1], mode="markers"))
    elif how == "image":
        fig = go.Figure(go.Heatmap(z=a[::-1], colorscale="gray", showscale=False))
    else:
        fig = go.Figure(go.Heatmap(z=a, colorscale="Viridis", text=a if a.size <= 400 else None,
                                   texttemplate="%{text}" if a.size <= 400 else None))
        if name == "confusion":
            fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=f"{title}: {what}", height=360, margin=dict(l=10, r=10, t=40, b=10))
    return fig


HELPERS = (flatten, settings_table, spread, figures_table, curve, band, repeats._faint, band_figure,
           curves_figure, image_figure)


# --- the notebook ----------------------------------------------------------------------------------------

def notebook(report: Report):
    """The report as a notebook: run all, and it draws every table and figure from the runs it carries."""
    import nbformat.v4 as nbf

    record = report.record()
    md, code = nbf.new_markdown_cell, nbf.new_code_cell
    cells = [md(_title(report)),
             code("import json\nimport math\nimport subprocess\nimport sys\nfrom dataclasses import dataclass\n\n"
                  "import numpy as np\nimport pandas as pd\nimport plotly.graph_objects as go\n\n"
                  "RETRAIN = False  # True: train every run again with `python -m dlplay run` (dlplay installed)\n"
                  f"REPORT = json.loads({dumps(record)!r})\nRUNS = REPORT['runs']\n"
                  f"IMAGES = {IMAGES!r}"),
             code(_helpers_source()),
             md("## Settings\nOnly the settings that differ between these runs."),
             code("settings_table(RUNS)"),
             md("## Final figures\nEach lesson's one number; a group of seed repeats also as its mean ± one "
                "standard deviation (min–max)."),
             code("figures_table(REPORT)")]
    names = curve_names(record)
    if names:
        cells.append(md("## Curves"))
        cells += [code(f"curves_figure(REPORT, {m!r}).show()") for m in names]
    shown = [(r["id"], name) for r in record["runs"] for name in r["images"]]
    if shown:
        cells.append(md("## Images"))
        cells += [code(f"run = next(r for r in RUNS if r['id'] == {i})\n"
                       f"image_figure({name!r}, run['images'][{name!r}], f\"run {i}\").show()") for i, name in shown]
    cells.append(md("## Notes\n\n" + (_notes_md(report.runs) or "_No notes on these runs._")))
    cells += [md("## Train them again\nWith dlplay installed, `RETRAIN = True` at the top trains each run again "
                 "with its settings (its seed included) into your run store, and prints the new runs' results."),
              code(_retrain_source())]
    nb = nbf.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _title(report: Report) -> str:
    pages = ", ".join(dict.fromkeys(r.title for r in report.runs))
    listing = "\n".join(f"- **run {r.id}** · {html.escape(r.label())}" for r in report.runs)
    return f"# Lab report: {pages}\n\n{report.created} · dlplay {__version__}\n\n{listing}"


def _notes_md(runs: list[Run]) -> str:
    parts = []
    for r in runs:
        if r.note or r.tags:
            tags = " ".join(f"`{t}`" for t in r.tags)
            parts.append(f"**Run {r.id}** {tags}\n\n" + "\n".join(f"> {html.escape(line)}" for line in
                                                               (r.note or "").splitlines()))
    return "\n\n".join(parts)


def _helpers_source() -> str:
    from .runs.repeats import Band, Spread

    return "\n\n".join(inspect.getsource(o) for o in (Spread, Band) + HELPERS)


def _retrain_source() -> str:
    return '''def retrain(run):
    """Train `run` again with its settings, as `python -m dlplay run` does; the new run's id and result."""
    sets = [f"--set={k}={json.dumps(v)}" for k, v in flatten(run["spec"]).items()]
    out = subprocess.run([sys.executable, "-m", "dlplay", "run", run["page"], *sets], capture_output=True,
                         text=True)
    return out.stdout.strip(), out.stderr.strip().splitlines()[-1:] or [out.returncode]


if RETRAIN:
    for run in RUNS:
        print(f"run {run['id']} again:", *retrain(run))'''


# --- the HTML page -------------------------------------------------------------------------------------

def html_page(report: Report) -> str:
    """The same report as one HTML file: plotly's script inlined once, so it opens without a network."""
    record = report.record()
    parts, first = [], True

    def fig_html(fig) -> str:
        nonlocal first
        out = fig.to_html(full_html=False, include_plotlyjs="inline" if first else False)
        first = False
        return out

    title = ", ".join(dict.fromkeys(r.title for r in report.runs))
    parts.append(f"<h1>Lab report: {html.escape(title)}</h1><p>{report.created} · dlplay {__version__}</p><ul>" +
                 "".join(f"<li><b>run {r.id}</b> · {html.escape(r.label())}</li>" for r in report.runs) + "</ul>")
    parts.append("<h2>Settings</h2><p>Only the settings that differ between these runs.</p>" +
                 settings_table(record["runs"]).to_html(index=False, na_rep=""))
    parts.append("<h2>Final figures</h2>" + figures_table(record).to_html(index=False, na_rep=""))
    names = curve_names(record)
    if names:
        parts.append("<h2>Curves</h2>" + "".join(fig_html(curves_figure(record, m)) for m in names))
    images = [fig_html(image_figure(n, v, f"run {r['id']}")) for r in record["runs"] for n, v in r["images"].items()]
    if images:
        parts.append("<h2>Images</h2>" + "".join(images))
    notes = "".join(f"<h3>Run {r.id} {' '.join(f'<code>{html.escape(t)}</code>' for t in r.tags)}</h3>"
                    f"<blockquote>{html.escape(r.note).replace(chr(10), '<br>')}</blockquote>"
                    for r in report.runs if r.note or r.tags)
    parts.append("<h2>Notes</h2>" + (notes or "<p><i>No notes on these runs.</i></p>"))
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px}"
             "blockquote{border-left:4px solid #8ab;margin:0;padding:0 1em;color:#333}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Lab report: {html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def build(run_ids: list[int], workspace: str, out: Path, store: RunStore | None = None) -> Path:
    """Write the report of `run_ids` to `out`: a notebook (.ipynb) or an HTML page (.html)."""
    import nbformat

    report = collect(run_ids, workspace, store)
    out = Path(out)
    if out.suffix == ".ipynb":
        out.write_text(nbformat.writes(notebook(report)))
    elif out.suffix in (".html", ".htm"):
        out.write_text(html_page(report))
    else:
        raise ValueError(f"{out.name}: a report is written as .ipynb or .html")
    return out


def notebook_bytes(report: Report) -> bytes:
    import nbformat

    return nbformat.writes(notebook(report)).encode()


__all__ = ["IMAGES", "Report", "build", "collect", "figures_table", "html_page", "notebook", "notebook_bytes",
           "settings_table"]
