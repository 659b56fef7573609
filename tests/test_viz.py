"""dlplay.viz: every chart's title clear of Plotly's toolbar, empty charts with axes that mean something."""
import json

import plotly.graph_objects as go
import plotly.io as pio

from dlplay import viz
from dlplay.viz import TOOLBAR_PX, curves_figure


def test_every_figure_made_after_import_puts_its_title_below_the_toolbar():
    """Issue 25: the toolbar (on hover, top right) covered the end of long titles — the MAE on image
    regression. The dlplay template, added to whatever default is current, moves titles below it."""
    import streamlit  # noqa: F401 - sets its own default template when first imported

    import dlplay_app.ui.settings  # noqa: F401 - every settings page imports it after Streamlit: it adds dlplay's

    viz.use_template()  # idempotent
    assert pio.templates.default.split("+") == ["streamlit", "dlplay"]
    fig = go.Figure(layout=dict(title="Run 7 · labels rounded to 10° · test MAE 1.96°", margin=dict(t=40)))
    title = fig.layout.template.layout.title
    assert title.pad.t == TOOLBAR_PX >= 28 and title.automargin and title.yref == "container"
    assert title.yanchor == "top" and title.y == 1
    assert fig.layout.margin.t == 40, "a figure's own margin is kept: the title's automargin grows it"


def test_empty_curves_have_a_0_to_100_percent_accuracy_axis_and_no_made_up_numbers():
    """Issue 25: before training, the accuracy chart's axis ran from −1 to 4 (Plotly's empty default)."""
    acc = curves_figure([], "acc", "Accuracy")
    assert tuple(acc.layout.yaxis.range) == (0, 1) and acc.layout.yaxis.tickformat == ".0%"
    assert tuple(acc.layout.xaxis.range) == (0, 1) and acc.layout.xaxis.showticklabels is False
    assert any("nothing trained yet" in a.text for a in acc.layout.annotations)
    loss = curves_figure([], "loss", "Loss")
    assert tuple(loss.layout.yaxis.range) == (0, 1) and loss.layout.yaxis.showticklabels is False
    rows = [{"split": "epoch", "epoch": 1, "train_acc": 0.9, "val_acc": 0.92}]
    full = curves_figure(rows, "acc", "Accuracy")
    assert full.layout.yaxis.range is None and not full.layout.annotations, "data: Plotly's own ranges"


def test_a_page_s_charts_carry_it(apptest):
    """The CNN builder before any run: both empty charts, as the browser gets them."""
    at = apptest("pages/vision/cnn.py").run()
    assert not at.exception
    specs = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
             for c in at.get("plotly_chart")}
    acc = specs["Accuracy"]["layout"]
    assert acc["yaxis"]["range"] == [0, 1] and acc["yaxis"]["tickformat"] == ".0%"
    assert acc["template"]["layout"]["title"]["pad"]["t"] == TOOLBAR_PX
    assert specs["Loss"]["layout"]["template"]["layout"]["title"]["automargin"] is True
