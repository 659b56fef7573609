"""dlplay.vision.compare: the overlaid curves of Compare CNNs."""
from dlplay.runs.store import Run
from dlplay.vision.compare import LEGEND_ROW_PX, curves_figure

BRIEFS = [("simple", "simple · conv 32 · 2 epochs"),
          ("deeper, untuned", "deeper, untuned · conv 32-32-32-64-64-64-128-128 · dense 128 · 2 epochs"),
          ("deeper + batch norm + Adam", "deeper + batch norm + Adam · conv 32-32-32-64-64-64-128-128 · dense 128 · 2 epochs"),
          ("fast", "fast · conv 16-32-64 · 2 epochs")]


def runs_and_rows():
    runs = [Run(10 + k, "local", "cnn", "CNN builder", {"preset": p}, {}, "mnist", {}, b, "done", "", "", {}, True, "",
                0.0) for k, (p, b) in enumerate(BRIEFS)]
    rows = {r.id: [{"split": "epoch", "epoch": e, "train_acc": 0.8, "val_acc": 0.85, "train_loss": 0.5,
                    "val_loss": 0.4} for e in (1, 2)] for r in runs}
    return runs, rows


def test_the_legend_has_one_short_entry_per_run_and_room_below_the_chart():
    """Issue 25: the legend (two entries per run, "run 11 · deeper, untuned · conv 32-32-…-128 · dense 128 ·
    2 epochs · validation") was cut off in a half-width column."""
    runs, rows = runs_and_rows()
    fig = curves_figure(runs, rows, "acc")
    listed = [t.name for t in fig.data if t.showlegend is not False]
    assert listed == ["run 10 · simple", "run 11 · deeper, untuned", "run 12 · deeper + batch norm + Adam",
                      "run 13 · fast"]
    assert max(map(len, listed)) <= 40
    for r in runs:  # validation and training lines share the run's entry
        group = [t for t in fig.data if t.legendgroup == f"run {r.id}"]
        assert {t.line.dash for t in group} == {"solid", "dot"}
    assert "validation (solid), training (dotted)" in fig.layout.title.text
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom"
    assert fig.layout.margin.b >= 50 + 2 * LEGEND_ROW_PX and fig.layout.height == 380 + 2 * LEGEND_ROW_PX
