"""Lab reports and the command line (issue 29 parts 4 and 7): runs trained by `python -m dlplay run` (over
seeds), noted, reported as a notebook that executes headless (nbclient) and draws the same final figures as
the app, and as an HTML page that opens offline; the Runs page offers both."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from dlplay import report, runs
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # four runs trained from the command line, a notebook executed: the full suite's

SETTINGS = ["--set", "dataset=mnist5k", "--set", "hidden=[16]", "--set", "train.epochs=1"]


def _cli(*args, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "DLPLAY_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "dlplay", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two settings of the MLP, 1 and 2 epochs, two seeds each, trained from the command line."""
    home = tmp_path_factory.mktemp("report") / "home"
    one = _cli("run", "mlp", *SETTINGS, "--seeds", "2", home=home)
    two = _cli("run", "mlp", *SETTINGS[:-1], "train.epochs=2", "--seeds", "2", home=home)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    ids = [int(i) for i in one.stdout.split() + two.stdout.split()]
    assert len(ids) == 4
    return home, ids


def test_the_command_line_lists_the_lessons_and_refuses_what_it_cant_do(tmp_path):
    from dlplay import course

    listed = _cli("lessons", home=tmp_path).stdout.splitlines()
    assert "mlp\tDigit classifier (MLP)" in listed
    assert [line.split("\t")[0] for line in listed] == list(course.lessons())
    bad = _cli("run", "mlp", "--set", "epochs=3", home=tmp_path)
    assert bad.returncode == 2 and "no setting 'epochs'" in bad.stderr and "train.epochs" in bad.stderr
    assert _cli("run", "nope", home=tmp_path).returncode == 2


def test_runs_trained_from_the_command_line_are_seed_repeats_in_the_store(trained, monkeypatch):
    home, ids = trained
    monkeypatch.setenv("DLPLAY_HOME", str(home))
    store = runs.RunStore(home)
    got = [store.get(i) for i in ids]
    assert all(r.state == "done" and r.workspace == "local" for r in got)
    assert [runs.repeats.group_of(r)["seed"] for r in got] == [0, 1, 0, 1]
    assert [r.spec["train"]["epochs"] for r in got] == [1, 1, 2, 2]


def test_the_notebook_executes_and_draws_the_figures_the_app_shows(trained, tmp_path):
    import nbclient

    home, ids = trained
    store = runs.RunStore(home)
    store.annotate(ids[0], "local", note="One epoch <b>only</b>: noisy.", tags=["baseline"])
    out = _cli("report", *map(str, ids), "--out", str(tmp_path / "lab.ipynb"), home=home)
    assert out.returncode == 0, out.stderr
    nb = nbformat.read(tmp_path / "lab.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}).execute()
    outputs = {c.source.splitlines()[0]: c.outputs for c in nb.cells if c.cell_type == "code"}
    figures = outputs["figures_table(REPORT)"][0]["data"]["text/html"]
    for i in ids:  # each run's final figure, as the app stored it, and each seed group's spread
        assert f"{store.get(i).summary['test_acc']}" in figures
    values = [store.get(i).summary["test_acc"] for i in ids[:2]]
    s = runs.repeats.spread(values)
    assert f"{s.mean * 100:.4g} ± {s.std * 100:.2g}" in figures
    settings = outputs["settings_table(RUNS)"][0]["data"]["text/plain"]
    assert "train.epochs" in settings and "train.seed" in settings and "dataset" not in settings  # what differs
    plotted = [o for c in nb.cells if c.cell_type == "code" and ".show()" in c.source for o in c.outputs]
    assert len(plotted) >= 4 + 2  # the curves, and each run's confusion matrix
    notes = next(c.source for c in nb.cells if c.source.startswith("## Notes"))
    assert "One epoch &lt;b&gt;only&lt;/b&gt;: noisy." in notes and "`baseline`" in notes


def test_the_html_page_opens_offline_and_another_workspaces_run_is_refused(trained, tmp_path):
    home, ids = trained
    assert _cli("report", *map(str, ids), "--out", str(tmp_path / "lab.html"), home=home).returncode == 0
    page = (tmp_path / "lab.html").read_text()
    assert "Lab report: Digit classifier (MLP)" in page and page.count("<script") >= 3
    import re

    assert not re.search(r"<script[^>]*\bsrc=", page) and "Plotly.newPlot" in page  # plotly's script inlined
    other = _cli("report", str(ids[0]), "--workspace", "someone-else", "--out", str(tmp_path / "x.html"), home=home)
    assert other.returncode == 2 and f"no run {ids[0]} in this workspace" in other.stderr


def test_the_notebook_trains_its_runs_again(trained, tmp_path):
    import nbclient

    home, ids = trained
    nb = report.notebook(report.collect(ids[:1], "local", runs.RunStore(home)))
    setup = next(c for c in nb.cells if c.cell_type == "code" and "RETRAIN = False" in c.source)
    setup.source = setup.source.replace("RETRAIN = False", "RETRAIN = True")
    env_before = os.environ.get("DLPLAY_HOME")
    os.environ["DLPLAY_HOME"] = str(home)  # the kernel, and the command it starts, train into this store
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.pop("DLPLAY_HOME") if env_before is None else os.environ.update(DLPLAY_HOME=env_before)
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    new_id = int(printed.split(":", 1)[1].split()[0])
    again, first = runs.RunStore(home).get(new_id), runs.RunStore(home).get(ids[0])
    assert again.spec == first.spec and again.summary["test_acc"] == pytest.approx(first.summary["test_acc"], abs=0.02)


def test_the_runs_page_offers_the_report(apptest, trained, monkeypatch):
    home, ids = trained
    monkeypatch.setenv("DLPLAY_HOME", str(home))
    at = apptest("pages/runs.py").run()
    at.multiselect(key="runs-chosen").set_value(ids).run()
    assert not at.exception
    assert "Notebook (.ipynb)" in [d.proto.label for d in at.get("download_button")]
    at.button(key="runs-report-make").click().run()  # the HTML page (5 MB) is made on request
    assert "HTML page" in [d.proto.label for d in at.get("download_button")]
    assert any("likely real" in s.value or "could be noise" in s.value for s in [*at.success, *at.info])
    json.dumps(report.collect(ids, "local", runs.RunStore(home)).record())  # all of it JSON
