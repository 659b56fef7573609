"""The one way to start work (`dlplay.work`, issue 26): every kind of work a visitor can start —
a run of every lesson, a sequence, a sweep, gradient ascent — is refused while the visitor has
one active, counted whole against the work cap, and stopped at the time cap keeping its model."""
from __future__ import annotations

import pytest

from dlplay import costs, limits, work
from dlplay.classify import LESSON as MLP
from dlplay.classify import ClassifierSpec, prepare
from dlplay.jobs import get_scheduler
from dlplay.playground import PlaygroundState, sweep
from dlplay.runs import get_store
from dlplay import course
from dlplay.runs.lesson import lesson_for
from dlplay.train import TrainConfig
from dlplay.vision import inside

CAP_S = 3.0  # DLPLAY_MAX_JOB_S in these tests
PERIOD_S = 0.5  # the time keeper's check


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    for name in limits.DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DLPLAY_MAX_JOB_S", str(CAP_S))
    monkeypatch.setattr(costs, "machine_flops", lambda: 1e15)  # no time estimate refuses first: the cap is tested
    yield monkeypatch
    for job in get_scheduler().active_jobs():
        if (job.workspace or "").startswith("work-test"):
            job.cancel()
            job.wait(30)


def long_mlp(epochs: int = 30) -> ClassifierSpec:
    spec = ClassifierSpec(dataset="mnist", train=TrainConfig(epochs=epochs))
    prepare(spec)  # the data is ready before Train, as on the page
    return spec


def quick_mlp() -> ClassifierSpec:
    spec = ClassifierSpec(dataset="mnist", hidden=(16,), train=TrainConfig(epochs=1, batch_size=512))
    prepare(spec)
    return spec


def spinning(job):
    """A job that computes until stopped (as gradient ascent's steps do)."""
    while not job.stop_requested:
        sum(i * i for i in range(20_000))
    return "stopped"


# --- every lesson, through the one start path ---------------------------------------------------

LESSON_CAP_S = 2.0


def _setting(page: str, lesson):
    """The setting each lesson is started with: its default, except where the default prepares
    for longer than the cap inside the run (the cap counts that too: it is the class's time) —
    transfer from scratch (no body to pretrain), sentiment and image regression on fewer texts
    and files (a vocabulary to build, files to decode, in this process); the DCGAN's judge and
    the regression's digit files are made once per server, as a class's server has before."""
    from dlplay.generative import gan
    from dlplay.text.sentiment import SentimentSpec
    from dlplay.vision.regression import RegressionSpec
    from dlplay.vision.transfer import TransferSpec

    if page == "ex":  # the slowest training with learner code (the reference's loops), in the sandbox
        from dlplay.exercises import catalog, sandbox
        from dlplay.exercises.lesson import FitSpec

        if (why := sandbox.available()) is not None:
            pytest.skip(f"learner code can't be sandboxed here: {why}")
        return FitSpec("conv2d", catalog.BY_ID["conv2d"].reference_source)
    smaller = {"tl": lambda: TransferSpec(strategy="scratch"),
               "sent": lambda: SentimentSpec(n_train=2000, n_test=500),
               "imgreg": lambda: RegressionSpec(n_train=1000, workers=0)}
    spec = smaller[page]() if page in smaller else lesson.spec_type()
    if page == "gan":
        gan.load_judge(spec.dataset)
    if page == "imgreg":  # the digit files written once (the page writes them before Train)
        from dlplay.vision import regression

        regression.source(spec)
    if lesson.work is not None:
        lesson.work(spec)  # its data loaded as the page loads it before Train
    return spec


@pytest.mark.slow
@pytest.mark.parametrize("page", list(course.lessons()))
def test_every_lesson_stops_at_the_time_cap_keeping_its_model(page, shared):
    cap = LESSON_CAP_S
    shared.setenv("DLPLAY_MAX_JOB_S", str(cap))
    lesson = lesson_for(page)
    spec = _setting(page, lesson)
    me = work.Visitor(f"work-test-{page}", f"tab-{page}")
    run, job = work.start_run(me, lesson, spec)
    with pytest.raises(work.Refused, match="still training"):  # a second start by the same visitor, another tab
        work.start_run(work.Visitor(me.workspace, "another-tab"), lesson, spec)
    assert job.wait(120), f"{page}: still running after 120 s"
    cost = work.estimate(lesson, spec)
    step = 3 * cost.step_s() if cost is not None else 1.0  # the estimate errs long; three for a loaded machine
    stored = get_store().get(run.id)
    if job.state == "done":  # its default trains within the cap
        assert job.elapsed() <= cap + PERIOD_S + step, f"{page}: done after {job.elapsed():.1f} s"
    else:
        assert job.state == "stopped", f"{page}: {job.state}: {job.status}"
        learned_s = job.training_stopped - job.started
        assert cap <= learned_s <= cap + PERIOD_S + max(step, 1.0), f"{page}: learned for {learned_s:.1f} s"
        assert f"stopped at the server's limit of {cap:g} s" in stored.status, stored.status
    assert stored.has_model and stored.headline, f"{page}: {stored.state}: {stored.status}"


# --- one unit of work per visitor ---------------------------------------------------------------

def test_a_visitor_training_can_start_nothing_else_in_any_tab(shared):
    me = work.Visitor("work-test-busy", "tab-1")
    other_tab = work.Visitor(me.workspace, "tab-2")
    _, job = work.start_run(me, MLP, long_mlp())
    starts = {
        "a run": lambda: work.start_run(other_tab, MLP, long_mlp(1)),
        "a sequence": lambda: work.start_runs(other_tab, MLP, [long_mlp(1), long_mlp(1)]),
        "a sweep": lambda: sweep.start(other_tab, PlaygroundState(), "learning_rate", [0.01, 0.1], 5),
        "gradient ascent": lambda: work.start_job(other_tab, spinning, "Gradient ascent",
                                                  work=inside.ascent_work(inside.AscentConfig())),
    }
    for what, start in starts.items():
        with pytest.raises(work.Refused, match=f"Run {job.run_id} on .* \\(in another tab\\) is still training"):
            start()
    # another visitor is not held up by this one
    _, theirs = work.start_run(work.Visitor("work-test-someone-else", "tab-9"), MLP, quick_mlp())
    assert theirs.wait(60) and theirs.state == "done"
    job.cancel()
    assert job.wait(30)
    work.start_run(other_tab, MLP, quick_mlp())[1].wait(60)  # and once it has stopped, the visitor may


def test_a_sequence_and_a_sweep_are_counted_whole_against_the_work_cap(shared):
    shared.setenv("DLPLAY_MAX_WORK", "600000")
    me = work.Visitor("work-test-cap", "tab")
    three = [long_mlp(4)] * 3  # 4 epochs × 55,000 images each: one fits, three don't
    with pytest.raises(work.Refused, match=r"4 epochs × 55,000 training images × 3 models = 660,000 examples"):
        work.start_runs(me, MLP, three)
    assert not get_store().list(me.workspace), "a refused sequence stores nothing"
    shared.setenv("DLPLAY_MAX_WORK", "5000")
    state = PlaygroundState().replace(dataset="xor")
    with pytest.raises(work.Refused, match=r"× 4 models"):
        sweep.start(me, state, "learning_rate", [0.001, 0.01, 0.1, 0.3], epochs=10)
    mixed = limits.Work.together([limits.Work(2, "epoch", 100, "images"), limits.Work(3, "epoch", 100, "images")])
    assert mixed.amount == 500 and mixed.describe() == "5 epochs × 100 images = 500 examples"


@pytest.mark.slow
def test_a_sequence_shares_one_time_cap_and_keeps_the_model_it_stopped(shared):
    me = work.Visitor("work-test-seq", "tab")
    seq = work.start_runs(me, MLP, [quick_mlp(), long_mlp(10), long_mlp(10)])  # 21 epochs: within the work cap
    assert seq.wait(120)
    first, second = seq.jobs
    assert first.state == "done" and second.state == "stopped" and len(seq.run_ids) == 2, "the third never started"
    learned = first.elapsed() + (second.training_stopped - second.started)
    assert CAP_S <= learned <= CAP_S + 2 * PERIOD_S + 1.0, f"the sequence learned for {learned:.1f} s"
    stored = get_store().get(seq.run_ids[1])
    assert stored.has_model and stored.status.startswith("stopped at the server's limit of 3 s")


@pytest.mark.slow
def test_gradient_ascent_is_stopped_at_the_time_cap(shared):
    job = work.start_job(work.Visitor("work-test-ascent", "tab"), spinning, "Gradient ascent")
    assert job.wait(30)
    assert CAP_S <= job.elapsed() <= CAP_S + 2 * PERIOD_S and job.result == "stopped"


def test_on_a_personal_machine_only_memory_is_checked(monkeypatch):
    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    me = work.Visitor("work-test-local", "tab")
    _, first = work.start_run(me, MLP, long_mlp())
    try:
        _, second = work.start_run(me, MLP, quick_mlp())  # no fair use to keep here
        assert second.wait(60) and second.state == "done"
    finally:
        first.cancel()
        first.wait(30)
    monkeypatch.setenv("DLPLAY_MAX_RUN_MB", "1")
    with pytest.raises(work.Refused, match="Too big for this machine's memory"):
        work.start_run(me, MLP, long_mlp(1))
