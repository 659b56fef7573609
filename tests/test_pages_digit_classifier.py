"""AppTest of the page "Digit classifier (MLP)": controls, training, errors, Stop."""
import pytest

from tests.conftest import job_of as page_job, run_of
from dlplay import data

PAGE = "pages/digit_classifier.py"


def job_of(at):
    return page_job(at, "mlp")


def train(at, **settings):
    for key, value in settings.items():
        at.number_input(key=f"mlp-{key}").set_value(value) if key == "epochs" else \
            at.select_slider(key=f"mlp-{key}").set_value(value)
    at.button(key="mlp-train").click().run()
    job = job_of(at)
    assert job.wait(240), "training did not finish"
    at.run()
    return job


@pytest.fixture(autouse=True)
def fresh_data():
    data.clear_cache()


def test_page_shows_model_size_and_data_source(apptest):
    at = apptest(PAGE).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "235,146 trainable parameters" in text
    assert any("Source — data directory" in c.value for c in at.caption)
    at.slider(key="mlp-layers").set_value(1).run()
    assert "784 → 256 → 10" in " ".join(m.value for m in at.markdown)


@pytest.mark.slow
def test_training_one_epoch_gives_curves_accuracy_and_mistakes(apptest):
    at = apptest(PAGE).run()
    job = train(at, epochs=1)
    assert not at.exception and job.state == "done"
    acc = [m for m in at.metric if m.label == "Test accuracy"]
    assert acc and float(acc[0].value.rstrip("%")) >= 95.0
    assert len(at.get("plotly_chart")) >= 3  # loss, accuracy, confusion matrix
    assert any("Finished in" in str(p.proto) for p in at.get("progress"))
    assert [r for r in job.metrics() if r["split"] == "epoch"][0]["val_acc"] > 0.95


def test_a_diverging_learning_rate_stops_with_a_hint(apptest):
    at = apptest(PAGE).run()
    at.selectbox(key="mlp-opt").set_value("sgd")
    job = train(at, lr=10.0, epochs=1)
    assert job.state == "failed"
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("lower the learning rate" in e and "exploded" in e for e in errors), errors  # before NaN


def test_stop_keeps_what_was_learned(apptest):
    at = apptest(PAGE).run()
    at.number_input(key="mlp-epochs").set_value(30)
    at.button(key="mlp-train").click().run()
    job = job_of(at)
    # Stopped after 100 steps or so (half an epoch): enough to be measured above chance by far.
    while not job.metrics() or job.metrics()[-1].get("step", 0) < 100:
        assert job.wait(0.05) is False or job.state != "failed"
    at.button(key="mlp-stop").click().run()
    assert job.wait(30) and job.state == "stopped"
    at.run()
    assert not at.exception
    assert any("Stopped at epoch 1 of 30" in i.value for i in at.info), [i.value for i in at.info]
    acc = [m for m in at.metric if m.label == "Test accuracy"]
    assert acc and float(acc[0].value.rstrip("%")) > 50, "a stopped run is measured like a finished one"
    assert not any("Train a model first" in i.value for i in at.info), "drawing works on the stopped model"
    run = run_of(at, "mlp")
    assert run.state == "stopped" and run.has_model and "stopped at epoch 1 of 30" in run.status


@pytest.mark.slow
def test_switching_dataset_after_training_keeps_the_runs_own_results(apptest):
    """Train on MNIST, then pick other data: no IndexError, the MNIST run's report stays
    with MNIST's images and digit classes, and the page says the settings changed."""
    at = apptest(PAGE).run()
    train(at, epochs=1)
    at.selectbox(key="mlp-dataset").set_value("mnist5k").run()  # was: IndexError in the mistakes montage
    assert not at.exception
    assert any("Settings changed since run" in i.value for i in at.info)
    assert any("run " in m.value and "MNIST (60,000, data directory)" in m.value for m in at.markdown)
    acc = [m for m in at.metric if m.label == "Test accuracy"]
    assert acc and "10,000" in acc[0].help, "still measured on MNIST's 10,000 test images"
    at.selectbox(key="mlp-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    assert any(s.value == "Draw a digit" for s in at.subheader), "the run's classes are digits"
    captions = " ".join(c.value for c in at.caption)
    assert "Sandal" not in captions and "T-shirt" not in captions


@pytest.mark.slow
def test_fashion_run_draws_clothing_and_a_new_run_has_a_fresh_canvas(apptest):
    at = apptest(PAGE).run()
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    train(at, epochs=1)
    first = run_of(at, "mlp").id
    assert f"mlp-canvas-{first}" in str(at._tree)  # the canvas belongs to the run
    at.selectbox(key="mlp-dataset").set_value("fashion_mnist")
    train(at, epochs=1)
    second = run_of(at, "mlp").id
    assert second != first and f"mlp-canvas-{second}" in str(at._tree)
    assert f"mlp-canvas-{first}" not in str(at._tree)
    assert any(s.value.startswith("Draw a piece of clothing") for s in at.subheader)


def test_fashion_mnist_from_the_debian_package(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    at = apptest(PAGE).run()
    at.selectbox(key="mlp-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    assert any("Debian package" in c.value for c in at.caption)


def test_missing_dataset_is_a_message_not_a_traceback(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "nothing")
    at = apptest(PAGE).run()
    notes = [w.value for w in at.warning if "not found; using the bundled sample" in w.value]
    assert notes, "MNIST falls back to the bundled digits"
    assert str(tmp_path) in notes[0] and "train-images-idx3-ubyte.gz" in notes[0] and "MNIST 5k sample" in notes[0]
    at.selectbox(key="mlp-dataset").set_value("fashion_mnist").run()
    assert not at.exception
    assert any("Put the four files" in e.value and str(tmp_path) in e.value for e in at.error)


@pytest.mark.slow
def test_many_users_queue_fairly_and_see_their_place(apptest, monkeypatch):
    """With one worker, a second and third user's runs wait in FIFO order and the page
    says where they are; Stop in the first session lets the next one start."""
    monkeypatch.setenv("DLPLAY_MAX_JOBS", "1")
    users = [apptest(PAGE).run() for _ in range(3)]
    for epochs, at in zip((30, 1, 1), users):
        at.selectbox(key="mlp-dataset").set_value("mnist5k")  # small: the queued runs take seconds
        at.number_input(key="mlp-epochs").set_value(epochs)
        at.button(key="mlp-train").click().run()
    jobs = [job_of(at) for at in users]
    assert jobs[0].state == "running"
    assert [j.queue_position() for j in jobs[1:]] == [1, 2]
    users[2].run()
    infos = [i.value for i in users[2].info]
    assert any("position 2 in the queue" in i for i in infos), infos
    assert not users[2].get("plotly_chart"), "a queued run shows its place, not empty axes"
    users[0].button(key="mlp-stop").click().run()
    for job in jobs[1:]:
        assert job.wait(240) and job.state == "done"
    assert jobs[0].state == "stopped"
    assert jobs[0].finished <= jobs[1].started and jobs[1].finished <= jobs[2].started


def test_a_run_cancelled_in_the_queue_says_so(apptest, monkeypatch):
    monkeypatch.setenv("DLPLAY_MAX_JOBS", "1")
    first, second = apptest(PAGE).run(), apptest(PAGE).run()
    for epochs, at in ((30, first), (1, second)):
        at.selectbox(key="mlp-dataset").set_value("mnist5k")
        at.number_input(key="mlp-epochs").set_value(epochs)
        at.button(key="mlp-train").click().run()
    second.button(key="mlp-stop").click().run()
    assert page_job(second, "mlp").state == "cancelled"
    assert any("Cancelled before it started" in w.value for w in second.warning)
    assert not any("learned" in w.value for w in second.warning)
    assert run_of(second, "mlp").state == "cancelled"
    first.button(key="mlp-stop").click().run()


def test_settings_survive_leaving_the_page(apptest):
    at = apptest("app.py").run()
    at.switch_page("pages/digit_classifier.py").run()
    at.number_input(key="mlp-epochs").set_value(5)
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    at.slider(key="mlp-dropout").set_value(0.5).run()
    at.switch_page("pages/home.py").run()
    assert "mlp-epochs" not in [w.key for w in at.number_input]
    at.switch_page("pages/digit_classifier.py").run()
    assert not at.exception
    assert at.number_input(key="mlp-epochs").value == 5
    assert at.selectbox(key="mlp-dataset").value == "mnist5k"
    assert at.slider(key="mlp-dropout").value == 0.5
