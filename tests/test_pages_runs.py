"""AppTest of the Runs page: listing, comparing, exporting, deleting and reopening runs."""
import json

import pytest

from dlplay import data, runs
from dlplay.classify import LESSON, ClassifierSpec
from dlplay.train import TrainConfig

PAGE = "pages/runs.py"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    return tmp_path / "home"


def train_run(epochs=1, hidden=(64,), workspace="local"):
    spec = ClassifierSpec(dataset="mnist5k", hidden=hidden, train=TrainConfig(epochs=epochs))
    run, job = runs.start(LESSON, spec, workspace=workspace, session_id="test", ds=data.load("mnist5k"))
    assert job.wait(120) and job.state == "done"
    return runs.get_store().get(run.id)


def test_no_runs_says_how_to_get_one(apptest, home):
    at = apptest(PAGE).run()
    assert not at.exception
    assert any("No runs yet" in i.value for i in at.info)


def test_lists_compares_and_exports_runs(apptest, home):
    a, b = train_run(1, (64,)), train_run(2, (32,))
    at = apptest(PAGE).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == [b.id, a.id]
    assert table["result"].str.contains("test accuracy").all()
    assert "784→64→10 · 1 epoch" in set(table["settings"])
    # select both: their curves are overlaid
    at.multiselect(key="runs-chosen").set_value([a.id, b.id]).run()
    figs = at.get("plotly_chart")
    assert figs, "an overlay chart"
    spec = json.loads(figs[0].proto.spec)
    names = " ".join(t.get("name", "") for t in spec["data"])
    assert f"run {a.id}" in names and f"run {b.id}" in names
    # one run: reopen and export buttons
    at.multiselect(key="runs-chosen").set_value([a.id]).run()
    assert not at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert {"Weights", "Spec", "Metrics", "PyTorch script", "All (zip)"} <= set(labels)
    assert at.button(key="runs-reopen")


def test_delete_removes_the_run_and_its_weights(apptest, home):
    a = train_run(1)
    path = runs.get_store().model_path(a.id)
    assert path.is_file()
    at = apptest(PAGE).run()
    at.multiselect(key="runs-chosen").set_value([a.id]).run()
    at.button(key="runs-delete").click().run()
    assert not at.exception
    assert runs.get_store().get(a.id) is None and not path.exists()
    assert any("No runs yet" in i.value for i in at.info)


MINE, THEIRS = "mY7kQ2vN9xR4tB8wZ1cD5fGh", "tH3jK6mP0sV8yA2qW5eR9uXz"


def visitor(apptest, key: str | None = None, page: str = "pages/runs.py", query: dict | None = None):
    """A browser on the shared server through app.py; `key`: the workspace its cookie keeps."""
    at = apptest("app.py")
    if key is not None:
        at.session_state["_dlplay_ws"] = key
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    return at.switch_page(page).run()


def test_workspaces_are_private_on_a_shared_server(apptest, home, monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    train_run(1, workspace=MINE)
    mine, theirs = visitor(apptest, MINE), visitor(apptest, THEIRS)
    assert len(mine.dataframe) == 1 and not theirs.dataframe
    assert any("No runs yet" in i.value for i in theirs.info)
    assert any(f"ws={MINE}" in c.value for c in mine.code), "the page offers the private bookmark"
    assert "ws" not in mine.query_params, "the key is never in the address bar"
    stranger = visitor(apptest)  # no cookie: a fresh private workspace
    assert not stranger.dataframe and len(stranger.session_state["_dlplay_ws"]) >= 22


def test_a_link_with_someone_elses_key_asks_before_opening_their_runs(apptest, home, monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    train_run(1, workspace=MINE)
    at = visitor(apptest, THEIRS, query={"ws": MINE})  # a classmate opens the owner's bookmark
    assert not at.exception
    assert "ws" not in at.query_params, "the key leaves the address bar at once"
    assert not at.dataframe, "their runs are not shown without asking"
    assert at.session_state["_dlplay_ws"] == THEIRS
    assert any("private workspace key" in m.value for m in at.markdown)
    at.button(key="ws-offer-keep").click().run()
    assert not at.dataframe and at.session_state["_dlplay_ws"] == THEIRS
    assert not any("private workspace key" in m.value for m in at.markdown)

    own = visitor(apptest, THEIRS, query={"ws": MINE})  # the owner on a second computer says yes
    own.button(key="ws-offer-open").click().run()
    assert own.session_state["_dlplay_ws"] == MINE and len(own.dataframe) == 1


@pytest.mark.parametrize("weak", ["a" * 24, "abcdefghijklmnopqrstuvwx", "short-key-1234", "../" * 10])
def test_a_weak_workspace_key_is_refused(apptest, home, monkeypatch, weak):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    train_run(1, workspace=weak)
    at = visitor(apptest, query={"ws": weak})
    assert not at.exception and not at.dataframe
    assert at.session_state["_dlplay_ws"] != weak and "_dlplay_ws_offer" not in at.session_state


def test_a_setup_link_carries_settings_but_never_the_workspace(apptest, home, monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    at = visitor(apptest, MINE, page="pages/digit_classifier.py", query={"ws": MINE, "mlp-epochs": "5"})
    links = [c.value for c in at.code if "mlp-epochs=5" in c.value]
    assert links and not any(MINE in link or "ws=" in link for link in links), [c.value for c in at.code]


def test_reopen_restores_settings_results_and_model(apptest, home):
    """Train on the digit page with non-default settings, reset the session, then reopen
    the run from the Runs page: the digit page comes back with those settings, its test
    report and a model to draw on, without training again."""
    from tests.conftest import job_of, run_of

    at = apptest("app.py").run()
    at.switch_page("pages/digit_classifier.py").run()
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    at.slider(key="mlp-layers").set_value(1)
    at.select_slider(key="mlp-units0").set_value(64)
    at.number_input(key="mlp-epochs").set_value(2).run()
    at.button(key="mlp-train").click().run()
    assert job_of(at, "mlp").wait(120)
    run = run_of(at, "mlp")
    assert run.settings["mlp-dataset"] == "mnist5k" and run.settings["mlp-units0"] == 64
    assert run.settings["mlp-epochs"] == 2 and run.settings["mlp-layers"] == 1

    fresh = apptest("app.py").run()  # a new visitor session on the same (personal) server
    fresh.switch_page("pages/runs.py").run()
    fresh.multiselect(key="runs-chosen").set_value([run.id]).run()
    fresh.button(key="runs-reopen").click().run()
    assert not fresh.exception
    assert fresh.selectbox(key="mlp-dataset").value == "mnist5k"
    assert fresh.select_slider(key="mlp-units0").value == 64
    assert fresh.number_input(key="mlp-epochs").value == 2
    assert any(f"run {run.id}" in m.value for m in fresh.markdown)
    assert not any("Settings changed" in i.value for i in fresh.info), "the settings on screen are the run's"
    acc = [m for m in fresh.metric if m.label == "Test accuracy"]
    assert acc and acc[0].value == f"{run.summary['test_acc']:.2%}"
    assert not any("Train a model first" in i.value for i in fresh.info), "the model is ready to draw on"


def test_overlay_draws_one_line_per_model_of_a_multi_model_run():
    from dlplay.runs import compare
    from dlplay.runs.store import Run

    def run(i):
        return Run(i, "local", "ae", "Autoencoders vs SVD", {}, {}, "", {}, f"k = {i}", "done", "", "", {},
                   True, "", 0.0)

    rows = [{"split": "epoch", "epoch": e, "model": m, "val_loss": 1.0 / e, "train_loss": 1.2 / e}
            for m in ("linear", "deep") for e in (1, 2)]
    fig = compare.overlay_figure([run(1), run(2)], {1: rows, 2: rows}, "loss")
    names = [t.name for t in fig.data]
    assert len(names) == 4 and any("run 2" in n and "deep" in n for n in names)
    assert {t.line.dash for t in fig.data} == {"solid", "dash"}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist5k", "mnist"])
def test_exported_script_measures_what_the_page_measured(home, tmp_path, dataset):
    """The standalone script rebuilds the MLP without dlplay and gets the page's accuracy
    on the run's own test set (the bundled sample, or MNIST's IDX files)."""
    import subprocess
    import sys

    from dlplay.runs import export

    spec = ClassifierSpec(dataset=dataset, hidden=(64,), train=TrainConfig(epochs=1))
    run, job = runs.start(LESSON, spec, workspace="local", session_id="test", ds=data.load(dataset))
    assert job.wait(240) and job.state == "done"
    run = runs.get_store().get(run.id)
    out = tmp_path / "export"
    out.mkdir()
    for name, content in export.files(run).items():
        (out / name).write_bytes(content)
    code = (out / f"{export.file_stem(run)}.py").read_text()
    assert "import dlplay" not in code and "from dlplay" not in code
    done = subprocess.run([sys.executable, f"{export.file_stem(run)}.py"], cwd=out, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"test accuracy: {run.summary['test_acc']:.4f}" in done.stdout, (done.stdout, run.summary["test_acc"])
    assert json.loads((out / f"{export.file_stem(run)}.json").read_text())["spec"]["hidden"] == [64]
    header = (out / f"{export.file_stem(run)}-metrics.csv").read_text().splitlines()[0]
    assert "loss" in header.split(",")


def test_a_read_only_store_refuses_train_in_plain_words(apptest, home, monkeypatch):
    """A server whose run store can't be written says so when Train is pressed, before any
    training (which it could not keep), with no path and no traceback."""
    runs.get_store()  # the store exists; the server then opens it read-only
    monkeypatch.setenv("DLPLAY_DB_URL", f"sqlite:///file:{home / 'runs.db'}?mode=ro&uri=true")
    at = apptest("app.py").run()
    at.switch_page("pages/digit_classifier.py").run()
    at.selectbox(key="mlp-dataset").set_value("mnist5k").run()
    at.button(key="mlp-train").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Training can't start: the run database can't be written (read-only)" in errors, errors
    assert str(home) not in errors and "run:mlp" not in at.session_state


def test_deleting_a_training_run_on_the_page_stops_it_then_removes_it(apptest, home):
    spec = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=50))
    run, job = runs.start(LESSON, spec, workspace="local", session_id="test", ds=data.load("mnist5k"))
    at = apptest(PAGE).run()
    at.multiselect(key="runs-chosen").set_value([run.id]).run()
    assert job.is_active, "the test needs the run still training"
    at.button(key="runs-delete").click().run()
    assert not at.exception
    assert any(f"Run {run.id} was still training: stopped, and removed" in i.value for i in at.info)
    assert job.wait(30) and job.state in ("stopped", "cancelled")
    assert runs.get_store().get(run.id) is None and not runs.get_store().run_dir(run.id).exists()
    at.run()  # the page after the delete: no leftover selection, no error
    assert not at.exception and any("No runs yet" in i.value for i in at.info)
    assert runs.get_store().create(workspace="local", page="mlp", title="next", spec={}).id > run.id


def test_runs_that_would_read_the_same_list_what_tells_them_apart():
    from dlplay.runs import compare
    from dlplay.runs.store import Run

    def run(i, lr, seed=0, brief="784→64→10 · 1 epoch"):
        return Run(i, "local", "mlp", "Digit classifier (MLP)", {"hidden": [64], "train": {"lr": lr, "seed": seed}},
                   {}, "MNIST (60,000, data directory)", {}, brief, "done", "", "", {}, True, "", 0.0)

    table = compare.table([run(1, 0.01), run(2, 0.1), run(3, 0.1, brief="784→32→10 · 1 epoch")])
    assert list(table["settings"]) == ["784→64→10 · 1 epoch · lr 0.01", "784→64→10 · 1 epoch · lr 0.1",
                                       "784→32→10 · 1 epoch"]


def test_a_run_on_a_subset_is_labelled_with_what_it_trained_on():
    from dlplay.runs.record import describe_data

    ds = data.load("mnist5k")
    assert f"; 2,000 of {len(ds.x_train):,} for training" in describe_data(ds, 2_000)[0]
    assert describe_data(ds)[0] == describe_data(ds, len(ds.x_train))[0]


def test_a_reload_shows_the_last_run_of_the_setup_in_the_address_bar(apptest, home):
    from tests.conftest import job_of

    at = apptest("app.py").run()
    at.switch_page("pages/digit_classifier.py").run()
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    at.number_input(key="mlp-epochs").set_value(1).run()
    at.button(key="mlp-train").click().run()
    assert job_of(at, "mlp").wait(120)
    run_id = at.session_state["run:mlp"]
    address = {k: at.query_params[k] for k in at.query_params if k.startswith("mlp-")}

    reloaded = apptest("app.py")  # a new session with the same address
    for k, v in address.items():
        reloaded.query_params[k] = v
    reloaded.run()
    reloaded.switch_page("pages/digit_classifier.py").run()
    assert not reloaded.exception and reloaded.session_state["run:mlp"] == run_id
    assert any(m.label == "Test accuracy" for m in reloaded.metric), "its results are shown again"

    other = apptest("app.py").run()  # another setup: its own page, no one else's run
    other.query_params["mlp-epochs"] = "7"
    other.run()
    other.switch_page("pages/digit_classifier.py").run()
    assert "run:mlp" not in other.session_state


def test_a_note_and_tags_are_kept_with_the_run_searched_and_exported(apptest, home):
    a, b = train_run(1, (64,)), train_run(1, (32,))
    at = apptest(PAGE).run()
    at.multiselect(key="runs-chosen").set_value([a.id]).run()
    at.text_area(key=f"runs-note-{a.id}").input("Wider hidden layer: learns faster in epoch 1")
    at.text_input(key=f"runs-tags-{a.id}").input("Baseline,  lab 3, baseline")
    at.button(key=f"FormSubmitter:runs-note-form-{a.id}-Save note").click().run()
    assert not at.exception
    stored = runs.get_store().get(a.id)
    assert stored.note == "Wider hidden layer: learns faster in epoch 1" and stored.tags == ["baseline", "lab 3"]
    assert json.loads(runs.export.spec_json(stored))["note"] == stored.note  # exported with it

    at = apptest(PAGE).run()  # a later visit: the table shows it, and search finds it by note or tag
    table = at.dataframe[0].value
    assert table.set_index("run").loc[a.id, "note"] == "#baseline #lab 3 Wider hidden layer: learns faster in epoch 1"
    for query, found in (("faster", [a.id]), ("lab 3", [a.id]), ("#nothing", []), ("test accuracy", [b.id, a.id])):
        at.text_input(key="runs-search").input(query).run()
        assert not at.exception
        if found:
            assert list(at.dataframe[0].value["run"]) == found, query
        else:
            assert any("No run matches" in i.value for i in at.info), query


def test_one_workspace_cannot_annotate_anothers_run(home):
    theirs = train_run(1, (16,), workspace="someone-else")
    store = runs.get_store()
    assert not store.annotate(theirs.id, "local", note="mine now", tags=["x"])
    assert store.get(theirs.id).note == "" and store.get(theirs.id).tags == []
    assert store.annotate(theirs.id, "someone-else", note="n" * 20_000)
    assert len(store.get(theirs.id).note) == runs.store.NOTE_MAX  # bounded


def test_a_note_is_written_on_the_runs_own_page(apptest, home):
    a = train_run(1, (64,))
    at = apptest("pages/digit_classifier.py")
    at.session_state["_dlplay_reopen"] = {"page": "mlp", "run": a.id}
    at.run()
    assert not at.exception
    at.text_area(key=f"mlp-note-{a.id}").input("first try")
    at.button(key=f"FormSubmitter:mlp-note-form-{a.id}-Save note").click().run()
    assert not at.exception
    assert runs.get_store().get(a.id).note == "first try"
