"""dlplay.sessions: a session whose browser has gone is released after its grace period,
its jobs stopped (a run keeps its model) and freed; a reloaded tab can adopt its run."""
from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from dlplay import data, jobs, sessions
from dlplay.classify import LESSON, ClassifierSpec
from dlplay.jobs import CANCELLED, RUNNING, STOPPED, Cancelled
from dlplay.runs import record
from dlplay.runs.store import get_store
from dlplay.train import TrainConfig


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLPLAY_DB_URL", raising=False)


class Browsers:
    """Stands in for Streamlit's runtime: which sessions are connected."""

    def __init__(self):
        self.connected: set[str] = set()

    def __call__(self, streamlit_id: str) -> bool:
        return streamlit_id in self.connected


class Weights:
    def __init__(self):
        self.data = bytearray(20_000_000)


def keeps_learning(job):
    """A training loop that keeps what it learned when stopped (as every lesson does)."""
    model = Weights()
    try:
        while True:
            job.check_cancelled()
            job.metric(step=1, loss=1.0)
            time.sleep(0.01)
    except Cancelled:
        job.stopped_at("stopped at step 1")
        return model


def test_a_disconnected_session_is_released_after_its_grace_period_only():
    browsers, released = Browsers(), []
    watch = sessions.SessionWatch(connected=browsers, release=released.extend, grace_s=10, check_s=3600)
    browsers.connected |= {"st-a", "st-b"}
    watch.watch("a", "st-a")
    watch.watch("b", "st-b")
    t0 = time.monotonic()
    assert watch.check(t0 + 1) == [] and released == []

    browsers.connected.discard("st-a")  # tab a closed
    assert watch.check(t0 + 5) == [], "within the grace period nothing happens"
    assert watch.is_gone("a") and not watch.is_gone("b")
    assert watch.check(t0 + 12) == ["a"] and released == ["a"]
    assert watch.watching() == ["b"], "a released session is no longer watched"
    assert watch.check(t0 + 100) == [] and released == ["a"], "released once"


def test_a_network_blip_shorter_than_the_grace_period_keeps_the_session():
    browsers, released = Browsers(), []
    watch = sessions.SessionWatch(connected=browsers, release=released.extend, grace_s=10, check_s=3600)
    browsers.connected.add("st-a")
    watch.watch("a", "st-a")
    t0 = time.monotonic()
    browsers.connected.clear()
    watch.check(t0 + 8)
    browsers.connected.add("st-a")  # reconnected
    watch.check(t0 + 9)
    browsers.connected.clear()
    assert watch.check(t0 + 15) == [], "the grace period counts from the last time it was seen"
    assert watch.check(t0 + 20) == ["a"]


def test_sessions_without_a_real_streamlit_runtime_are_never_watched():
    """AppTest's runtime is a mock and plain Python has none: nothing to ask, nothing ended."""
    watch = sessions.SessionWatch(connected=lambda sid: None, release=pytest.fail, grace_s=0, check_s=3600)
    watch.watch("a", "test session id")
    watch.watch("b", None)
    assert watch.watching() == [] and watch.check(time.monotonic() + 100) == []
    assert sessions.streamlit_connected("no such session") is None  # no runtime in this process


def test_the_watchdog_thread_releases_a_closed_tab_and_then_exits():
    browsers, released = Browsers(), threading.Event()
    watch = sessions.SessionWatch(connected=browsers, release=lambda ids: released.set(), grace_s=0.3, check_s=0.1)
    browsers.connected.add("st-a")
    watch.watch("a", "st-a")
    thread = watch._thread
    assert thread is not None and thread.is_alive()
    time.sleep(0.3)
    assert not released.is_set(), "connected: kept"
    browsers.connected.clear()
    assert released.wait(3), "released within grace + one check"
    thread.join(2)
    assert not thread.is_alive() and watch._thread is None, "no thread while nothing is watched"


def test_release_stops_the_sessions_jobs_keeps_what_they_learned_and_frees_them():
    sched = jobs.get_scheduler()
    job = sched.submit(keeps_learning, session_id="gone", name="long")
    other = sched.submit(keeps_learning, session_id="here", name="other")
    while job.state != RUNNING or not job.metrics():
        time.sleep(0.01)
    t0 = time.perf_counter()
    stopped = sessions.release_sessions(["gone"])
    assert time.perf_counter() - t0 < 2
    assert stopped == [job] and job.state == STOPPED and job.result is not None
    assert other.is_active, "another session's job goes on"
    assert sched.jobs_for("gone") == []
    ref = weakref.ref(job.result)
    del job, stopped
    gc.collect()
    assert ref() is None, "nothing holds the released job's model any more"
    other.cancel()


def test_a_recorded_run_of_a_closed_tab_ends_stopped_with_its_model_and_is_freed():
    ds = data.load("mnist5k")
    spec = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=30, batch_size=16))
    run, job = record.start(LESSON, spec, workspace="ws", session_id="tab", ds=ds)
    while len(job.metrics()) < 3:
        assert job.is_active, job.error_detail
        time.sleep(0.02)
    sessions.release_sessions(["tab"])
    stored = get_store().get(run.id)
    assert stored.state == "stopped" and stored.has_model, (stored.state, stored.status)
    assert stored.status.startswith("stopped at")
    assert record.RECORDER.job(run.id) is None
    ref = weakref.ref(job)
    del job
    gc.collect()
    assert ref() is None, "the recorder no longer holds the job (and its model)"
    assert record.result_of(stored) is not None, "the stopped run's model is still there to reopen"


def test_a_queued_job_of_a_closed_tab_is_cancelled_without_running():
    sched = jobs.Scheduler(max_workers=1)
    try:
        blocker = sched.submit(keeps_learning, session_id="here", name="b")
        queued = sched.submit(keeps_learning, session_id="gone", name="q")
        assert sched.release_session("gone") == [queued]
        assert queued.state == CANCELLED and queued.started is None
        blocker.cancel()
    finally:
        sched.shutdown()


def test_orphaned_jobs_are_the_active_jobs_of_gone_sessions(monkeypatch):
    browsers = Browsers()
    watch = sessions.SessionWatch(connected=browsers, release=lambda ids: None, grace_s=60, check_s=3600)
    monkeypatch.setattr(sessions, "WATCH", watch)
    browsers.connected |= {"st-old", "st-live"}
    watch.watch("old", "st-old")
    watch.watch("live", "st-live")
    sched = jobs.get_scheduler()
    old = sched.submit(keeps_learning, session_id="old", name="old")
    live = sched.submit(keeps_learning, session_id="live", name="live")
    assert sessions.orphaned_jobs() == []
    browsers.connected.discard("st-old")  # the old tab reloaded
    assert sessions.orphaned_jobs() == [old]
    assert sched.adopt(old, "new") and old.session_id == "new"
    assert sessions.orphaned_jobs() == []
    sessions.release_sessions(["old"])
    assert old.is_active, "an adopted job is not stopped with its old session"
    old.cancel()
    live.cancel()


def test_trim_heap_runs_anywhere():
    sessions.trim_heap()
