"""Fair use on a shared server (`dlplay.limits`, applied by `ui.runs.start_run`): one
active run per session, a cap on a run's work naming the biggest allowed setting, a
wall-time limit that stops a run as Stop does, a queue cap with an estimate; and no
limits at all on a personal machine. Limits are set low through the environment."""
import re
import threading
import time
from types import SimpleNamespace

import pytest

from dlplay import data, limits, runs
from dlplay.jobs import Scheduler
from dlplay.train import TrainConfig

from tests.conftest import job_of, need_shared, run_of


@pytest.fixture(autouse=True)
def mnist_present():
    need_shared("MNIST", "raw")


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    for name in limits.DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_limits_on_a_personal_machine(monkeypatch):
    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    monkeypatch.setenv("DLPLAY_MAX_WORK", "1")
    assert limits.current() is None
    huge = limits.Work(1000, "epoch", 60_000, "training images")
    assert limits.refusal(huge, Scheduler(max_workers=1), "s") is None


def test_limits_come_from_the_environment_and_bad_values_fall_back(shared):
    shared.setenv("DLPLAY_MAX_WORK", "5000")
    shared.setenv("DLPLAY_MAX_QUEUE", "inf")
    shared.setenv("DLPLAY_MAX_JOB_S", "-3")
    rules = limits.current()
    assert rules.max_work == 5000 and rules.max_queue == limits.DEFAULTS["DLPLAY_MAX_QUEUE"]
    assert rules.max_job_s == limits.DEFAULTS["DLPLAY_MAX_JOB_S"] and rules.per_session == 1


# --- work -------------------------------------------------------------------------------------------

def test_every_page_default_fits_and_the_largest_settings_do_not(shared):
    from dlplay import classify
    from dlplay.generative import autoencoders, denoise, gan, morph, vae
    from dlplay.scratch import selection
    from dlplay.craft import diagnosis, overfit, pipeline, search
    from dlplay.music import training as music
    from dlplay.playground import lesson as pg
    from dlplay.rl import lesson as rl
    from dlplay.text import sentiment, seqae, word2vec
    from dlplay.vision import cnn, forgetting, regression, transfer

    data.clear_cache()
    defaults = [(classify.LESSON, classify.ClassifierSpec()), (autoencoders.LESSON, autoencoders.AESpec()),
                (denoise.LESSON, denoise.DenoiseSpec()), (morph.LESSON, morph.MorphSpec()), (vae.LESSON, vae.VAESpec()),
                (gan.LESSON, gan.GANSpec(n_train=6400)), (selection.LESSON, selection.SearchSpec()),
                (cnn.LESSON, cnn.from_preset("fast", "mnist")), (cnn.LESSON, cnn.from_preset("fast", "cifar10")),
                (forgetting.LESSON, forgetting.ForgetSpec()), (regression.LESSON, regression.RegressionSpec()),
                (transfer.LESSON, transfer.TransferSpec()), (sentiment.LESSON, sentiment.SentimentSpec()),
                (word2vec.LESSON, word2vec.Word2VecSpec()), (seqae.LESSON, seqae.SeqAESpec()),
                (pipeline.LESSON, pipeline.PipelineSpec()), (overfit.LESSON, overfit.OverfitSpec()),
                (search.LESSON, search.SearchSpec()), (diagnosis.LESSON, diagnosis.DiagnosisSpec()),
                (music.LESSON, music.MusicSpec()), (rl.LESSON, rl.RLSpec()),
                (pg.LESSON, pg.PlaygroundSpec())]
    rules = limits.current()
    amounts = {(lesson.page, getattr(spec, "dataset", "")): lesson.work(spec).amount for lesson, spec in defaults}
    amounts = {page if page != "cnn" else f"cnn-{name}": n for (page, name), n in amounts.items()}
    assert amounts == {"cnn-mnist": 2 * 55_000, "cnn-cifar10": 15 * 8_000, "mlp": 3 * 55_000, "ae": 10 * 10_000 * 3, "dn": 10 * 10_000 * 2, "morph": 8 * 10_000,
                       "vae": 5 * 20_000, "gan": 5 * 6_400, "regsel": 16 * 5,
                       "forget": (3 + 3) * 5_000, "imgreg": 3 * 4_000,
                       "tl": 150 * 3 * 64, "sent": 3 * 25_000, "emb": 5 * 25_000, "seqae": 15 * 2_500, "pipe": 3 * 10_000, "overfit": 20 * 1_000,
                       "search": 3 * 6_000 * 16, "diag": 2 * 5_000,
                       "music": 10 * 1_765, "rl": 500 * 70, "pg": 200 * 250}
    assert all(limits.over_budget(lesson.work(spec), rules) is None for lesson, spec in defaults)

    # The hour-long settings: DCGAN on all 60,000 images for 50 epochs; every grid choice, 10 folds.
    dcgan = limits.over_budget(gan.work(gan.GANSpec(n_train=0, epochs=50)), rules)
    assert dcgan == ("Too big for this shared server: 50 epochs × 60,000 training images = 3,000,000 examples, "
                     "and one run may train on at most 2,000,000 examples. The biggest setting allowed here: "
                     "33 epochs with 60,000 training images (fewer training images allow more).")
    grid = selection.SearchSpec(depths=(1, 2, 3), widths=(2, 4, 8, 16, 32, 64),
                                lrs=(1e-3, 3e-3, .01, .03, .1, .3, 1, 3), l2s=(0, 1e-4, 1e-3, 1e-2, 1e-1), k=10)
    assert limits.over_budget(selection.work(grid), rules) == (
        "Too big for this shared server: 720 settings × 10 folds = 7,200 fits, and one search may make at most "
        "400 fits. The biggest setting allowed here: 40 settings with 10 folds (fewer folds allow more).")


def test_work_of_several_models_and_a_cap_below_one_epoch(shared):
    shared.setenv("DLPLAY_MAX_WORK", "15000")
    work = limits.Work(4, "epoch", 10_000, "training images", 2)
    message = limits.over_budget(work, limits.current())
    assert "4 epochs × 10,000 training images × 2 models = 80,000 examples" in message
    assert message.endswith("fewer training images: at most 7,500 for one epoch.")


# --- one run per session, and the queue ---------------------------------------------------------

def blocking_job(sched, session, release, run_id=None, name="Digit classifier (MLP)"):
    def body(job):
        while not release.wait(0.02):
            job.check_cancelled()
    job = sched.submit(body, session_id=session, name=name)
    job.run_id = run_id
    return job


def test_a_second_run_in_the_same_session_is_refused_naming_the_first(shared):
    sched, release = Scheduler(max_workers=2), threading.Event()
    try:
        first = blocking_job(sched, "alice", release, run_id=12)
        rules = limits.current()
        assert limits.busy_elsewhere(sched, "alice", rules) == (
            "Run 12 on Digit classifier (MLP) is still training — stop it or wait, then train here. On this shared "
            "server each visitor trains one run at a time.")
        assert limits.busy_elsewhere(sched, "alice", rules, replacing=first) is None  # its own page replaces it
        assert limits.busy_elsewhere(sched, "bob", rules) is None
        first.cancel()  # being stopped: it ends at its next step and no longer counts
        assert limits.busy_elsewhere(sched, "alice", rules) is None
    finally:
        release.set()
        sched.shutdown()


def fake_job(state, elapsed=0.0, progress=0.0):
    return SimpleNamespace(state=state, progress=progress, elapsed=lambda: elapsed)


def test_a_full_queue_refuses_with_when_to_come_back(shared):
    rules = limits.Limits(max_work=10**9, max_fits=10**9, max_job_s=900, max_queue=2)
    running = [fake_job("running", elapsed=120, progress=0.25),  # 360 s left
               fake_job("running", elapsed=30, progress=0.1)]  # 270 s left: the queue moves then
    sched = SimpleNamespace(active_jobs=lambda: running + [fake_job("queued"), fake_job("queued")])
    assert limits.queue_full(sched, rules) == ("The server is full (2 runs training, 2 waiting): try again in about "
                                               "5 minutes.")
    assert limits.queue_full(sched, limits.Limits(10**9, 10**9, 900, max_queue=3)) is None
    # No progress yet: the time limit bounds the wait.
    assert limits.remaining_s(fake_job("running", elapsed=800, progress=0.0), rules) == 100


def test_the_queue_is_counted_on_the_real_scheduler(shared):
    shared.setenv("DLPLAY_MAX_QUEUE", "2")
    sched, release = Scheduler(max_workers=1), threading.Event()
    try:
        first = blocking_job(sched, "a", release)
        while first.state != "running":
            time.sleep(0.01)
        blocking_job(sched, "b", release), blocking_job(sched, "c", release)
        message = limits.refusal(None, sched, "d")
        assert message == "The server is full (1 run training, 2 waiting): try again in about 15 minutes."
        assert limits.refusal(None, sched, "d", limits=limits.Limits(10**9, 10**9, 900, max_queue=3)) is None
    finally:
        release.set()
        sched.shutdown()


# --- the time limit -----------------------------------------------------------------------------------

def test_limit_note_words():
    assert limits.limit_note(900, "stopped at epoch 7 of 15 (step 3,000)") == \
        "stopped at the server's limit of 15 min, at epoch 7 of 15 (step 3,000)"
    assert limits.limit_note(1.5, None) == "stopped at the server's limit of 1.5 s"


def test_a_run_past_the_time_limit_is_stopped_keeping_its_model(shared):
    from dlplay import work
    from dlplay.classify import LESSON, ClassifierSpec, prepare

    from dlplay import costs

    shared.setenv("DLPLAY_MAX_JOB_S", "1.5")
    shared.setattr(costs, "machine_flops", lambda: 1e15)  # no estimate refuses it first: the cap is under test
    spec = ClassifierSpec(dataset="mnist", train=TrainConfig(epochs=30))
    prepare(spec)  # the data is ready before Train, as on the page: the first step comes at once
    run, job = work.start_run(work.Visitor("limits-test", "s"), LESSON, spec)  # the one start path
    assert job.wait(60)
    assert job.state == "stopped" and 1.5 <= job.elapsed() < 10
    assert re.fullmatch(r"stopped at the server's limit of 1.5 s, at epoch \d+ of 30 \(step [\d,]+\)", job.status)
    stored = runs.get_store().get(run.id)
    assert stored.state == "stopped" and stored.status == job.status and stored.has_model
    assert job.result.test_acc > 0.5  # measured like a finished run


def test_a_job_that_ends_in_time_keeps_its_own_note(shared):
    sched = Scheduler(max_workers=1)
    try:
        def quick(job):
            job.check_cancelled()
            return 1
        job = sched.submit(quick, session_id="s", name="quick")
        notes = []
        limits.Timekeeper(period=0.05).watch(job, 5, on_note=lambda j, n: notes.append(n))
        assert job.wait(10) and job.state == "done" and job.status == "finished" and not notes
    finally:
        sched.shutdown()


# --- on the pages -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_shared_server_limits_on_the_pages(apptest, shared):
    """In one browser session: an oversized setting is refused with the biggest allowed one;
    a run on the digit classifier blocks Train on the Denoising page, naming it; the run
    is stopped at the time limit and keeps its model."""
    shared.setenv("DLPLAY_MAX_WORK", "600000")
    shared.setenv("DLPLAY_MAX_JOB_S", "10")
    from dlplay import costs

    shared.setattr(costs, "machine_flops", lambda: 1e15)  # no estimate refuses it first: the cap is under test
    at = apptest("app.py")
    at.switch_page("pages/digit_classifier.py").run()
    at.number_input(key="mlp-epochs").set_value(30)
    at.button(key="mlp-train").click().run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "30 epochs × 55,000 training images = 1,650,000 examples" in warnings, warnings
    assert "The biggest setting allowed here: 10 epochs with 55,000 training images" in warnings
    assert "run:mlp" not in at.session_state

    at.number_input(key="mlp-epochs").set_value(10)
    at.button(key="mlp-train").click().run()
    job = job_of(at, "mlp")
    assert job is not None and job.is_active
    run_id = at.session_state["run:mlp"]

    at.switch_page("pages/generative/denoising.py").run()
    at.button(key="dn-train").click().run()
    assert not at.exception
    assert job.is_active, "the test needs the classifier still training here"
    warnings = " ".join(w.value for w in at.warning)
    assert f"Run {run_id} on Digit classifier (MLP) is still training — stop it or wait" in warnings, warnings
    assert "run:dn" not in at.session_state

    assert job.wait(60) and job.state == "stopped"
    at.switch_page("pages/digit_classifier.py").run()
    infos = " ".join(i.value for i in at.info)
    assert "Stopped at the server's limit of 10 s, at epoch" in infos, infos
    assert run_of(at, "mlp").status.startswith("stopped at the server's limit of 10 s")
    assert any(m.label == "Test accuracy" for m in at.metric), "the stopped run is measured and kept"


def _train_twice_on_one_page():
    import streamlit as st

    from dlplay.classify import LESSON, ClassifierSpec
    from dlplay.train import TrainConfig
    from dlplay_app.ui.runs import start_run

    if "first" not in st.session_state:  # Train, then Train again on the same page while it runs
        spec = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=30))
        st.session_state["first"] = start_run("mlp", LESSON, spec).id
        st.session_state["second"] = start_run("mlp", LESSON, spec).id


def test_the_same_pages_train_replaces_its_run_and_says_so(shared):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_train_twice_on_one_page, default_timeout=30).run()
    assert not at.exception and not at.warning, "not refused: it is this page's own run"
    first, second = at.session_state["first"], at.session_state["second"]
    assert second != first and at.session_state["run:mlp"] == second
    assert any(f"Run {first} was still training: it stopped, keeping what it learned, and run {second} replaces it"
               in i.value for i in at.info)
    job = job_of(at, "mlp")
    job.cancel()
    assert job.wait(30)


def test_three_tabs_of_one_workspace_get_one_run_and_two_clear_refusals(apptest, shared):
    """One visitor with three tabs (one browser: one workspace key, three sessions) presses
    Train in each: one run trains, two tabs say which run is still training and where."""
    key = "tAb7kQ2vN9xR4tB8wZ1cD5fG"
    tabs = []
    for page in ("pages/digit_classifier.py", "pages/generative/denoising.py", "pages/digit_classifier.py"):
        at = apptest("app.py")
        at.session_state["_dlplay_ws"] = key  # as the browser's cookie gives every tab
        at.run()
        tabs.append(at.switch_page(page).run())
    tabs[0].number_input(key="mlp-epochs").set_value(10)
    tabs[0].button(key="mlp-train").click().run()
    job = job_of(tabs[0], "mlp")
    assert job is not None and job.is_active and job.workspace == key
    run_id = tabs[0].session_state["run:mlp"]
    for at, train in ((tabs[1], "dn-train"), (tabs[2], "mlp-train")):
        at.button(key=train).click().run()
        assert not at.exception and job.is_active, "the test needs the first run still training"
        warnings = " ".join(w.value for w in at.warning)
        assert f"Run {run_id} on Digit classifier (MLP) (in another tab) is still training" in warnings, warnings
    assert "run:dn" not in tabs[1].session_state and "run:mlp" not in tabs[2].session_state
    active = [j for j in limits.active_jobs(job._scheduler) if j.workspace == key]
    assert active == [job]
    job.cancel()


def test_tabs_pressing_train_at_the_same_moment_start_one_run(shared):
    """The check and the start are one step: eight threads starting at once for one
    workspace get exactly one job."""
    sched, started, barrier = Scheduler(max_workers=2), [], threading.Barrier(8)

    def tab(i):
        barrier.wait()
        with limits.START_LOCK:
            if limits.refusal(None, sched, f"tab{i}", workspace="ws-one") is None:
                started.append(sched.submit(lambda j: time.sleep(1), session_id=f"tab{i}", name="x",
                                            workspace="ws-one"))

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    try:
        assert len(started) == 1
    finally:
        sched.shutdown()
