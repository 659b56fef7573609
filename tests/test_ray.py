"""dlplay.executors.ray: with DLPLAY_RAY_ADDRESS set, jobs run as tasks on a real Ray
cluster (a local one with 2 CPUs, started here) and stream back into local `Job`s.

A real classifier run (mnist5k) trains on a Ray worker process and is recorded in the
run store by this process; a second one streams its rows while it trains and is
stopped through the cluster, keeping its model; queue places follow the cluster's
free CPUs; errors and a job deaf to Stop end as they do in-process.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements.txt)")

from dlplay import data, executors, jobs  # noqa: E402
from dlplay.classify import LESSON, ClassifierSpec  # noqa: E402
from dlplay.executors.ray import RayScheduler  # noqa: E402
from dlplay.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, STOPPED  # noqa: E402
from dlplay.runs import record  # noqa: E402
from dlplay.runs.store import get_store  # noqa: E402
from dlplay.train import TrainConfig, evaluate  # noqa: E402

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster: a GCS, a raylet and worker processes, 2 CPUs. Its workers
    import dlplay from this checkout (as a cluster's nodes would from theirs)."""
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), path]))  # inherited by the raylet
    ray.init(num_cpus=2, include_dashboard=False, namespace="dlplay-test", log_to_driver=False,
             object_store_memory=200 * 2**20)
    if path is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = path
    yield
    ray.shutdown()


@pytest.fixture
def sched(cluster, tmp_path, monkeypatch) -> RayScheduler:
    """The scheduler dlplay.jobs.get_scheduler() returns with DLPLAY_RAY_ADDRESS set."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLPLAY_DB_URL", raising=False)
    monkeypatch.setenv("DLPLAY_RAY_ADDRESS", "local")  # already connected to the cluster above
    if jobs._scheduler is not None:
        jobs._scheduler.shutdown()
        jobs._scheduler = None
    monkeypatch.setattr(jobs, "_factory", jobs.Scheduler)  # put back after the test
    executors.from_environment()  # as app.py does where the app starts
    scheduler = jobs.get_scheduler()
    assert isinstance(scheduler, RayScheduler), "DLPLAY_RAY_ADDRESS did not select the Ray scheduler"
    return scheduler  # shut down after the test by conftest


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_recorded_run_trains_on_a_ray_worker_and_is_stored_here(sched):
    ds = data.load("mnist5k")
    spec = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=1))
    run, job = record.start(LESSON, spec, workspace="ws", session_id="s-ray", ds=ds)
    assert job.wait(120), "training on the cluster did not finish"
    assert job.state == DONE, job.error_detail
    host, pid = job.where.rsplit(":", 1)
    assert int(pid) != os.getpid(), "the job trained in this process, not on a Ray worker"
    assert job.progress == 1.0 and any("trainable parameters" in line for line in job.logs())
    assert job.result.confusion.flags.writeable, "the result is this process's own, not a view of Ray's store"

    store = get_store()
    run = store.get(run.id)
    assert run.state == "done" and run.status == "finished" and run.has_model, run.status
    assert run.started and run.finished >= run.started
    metrics = job.metrics()
    assert metrics and metrics[-1]["epoch"] == 1 and store.metrics(run.id) == metrics
    assert run.headline == f"{job.result.test_acc:.1%} test accuracy" and job.result.test_acc > 0.5

    sched.release_session("s-ray")  # the live job is gone: rebuilt from what this process stored
    record._results.drop(run.id)
    rebuilt = record.result_of(store.get(run.id))
    assert rebuilt is not job.result
    assert evaluate(rebuilt.model, ds.x_test, ds.y_test)["acc"] == job.result.test_acc, "the very weights"
    assert np.array_equal(rebuilt.confusion, job.result.confusion)


def test_rows_stream_while_it_trains_and_stop_keeps_the_model(sched):
    ds = data.load("mnist5k")
    spec = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=200))  # far longer than the test waits
    run, job = record.start(LESSON, spec, workspace="ws", session_id="s-ray", ds=ds)
    assert job.wait_for_events(0, timeout=90, kind="metric"), "no metric row came back from the cluster"
    assert job.state == RUNNING
    first = len(job.metrics())
    assert job.wait_for_events(job.n_events, timeout=10, kind="metric") and job.is_active
    assert len(job.metrics()) > first, "rows arrive while the job trains, not only at its end"
    wait_until(lambda: job.progress > 0, 5, "progress from the worker")

    t0 = time.time()
    job.cancel()
    assert job.wait(20), "Stop did not reach the worker"
    stop_s = time.time() - t0
    assert job.state == STOPPED, (job.state, job.error_detail)
    assert job.stop_note.startswith("stopped at epoch") and job.result.model is not None
    assert stop_s < 3, f"Stop took {stop_s:.1f} s"

    store = get_store()
    run = store.get(run.id)
    assert run.state == "stopped" and run.status == job.stop_note and run.has_model
    assert store.metrics(run.id) == job.metrics()
    assert evaluate(job.result.model, ds.x_test, ds.y_test)["acc"] == job.result.test_acc
    print(f"\nStop on the cluster → job ended in {stop_s:.2f} s ({job.stop_note})")


def test_queue_places_come_from_the_clusters_free_cpus(sched):
    def spin(job):
        while True:
            job.check_cancelled()
            time.sleep(0.02)

    a, b, c, d = (sched.submit(spin, session_id="s-q", name=f"spin {i}") for i in range(4))
    wait_until(lambda: a.state == RUNNING and b.state == RUNNING, 60, "two jobs on the two CPUs")
    time.sleep(1.5)  # the cluster has no third CPU: the others keep their places
    assert (c.state, c.queue_position(), d.queue_position()) == (QUEUED, 1, 2) and a.queue_position() is None
    d.cancel()
    assert d.wait(5) and d.state == CANCELLED and d.started is None and "before it started" in d.status

    a.cancel()
    assert a.wait(10) and a.state == CANCELLED
    wait_until(lambda: c.state == RUNNING, 30, "the queued job to take the freed CPU")
    assert c.queue_position() is None

    sched.release_session("s-q")  # the tab closed: its jobs on the cluster stop
    assert b.wait(10) and c.wait(10) and b.state == c.state == CANCELLED


def test_an_error_on_the_cluster_becomes_the_jobs_error(sched):
    def broken(job):
        job.metric(step=1, loss=1.0)
        raise ValueError("the spec is wrong")

    job = sched.submit(broken, session_id="s-err", name="broken")
    assert job.wait(60)
    assert job.state == FAILED and job.error == "ValueError: the spec is wrong"
    assert "Traceback" in job.error_detail and "broken" in job.error_detail
    assert job.metrics() == [{"step": 1, "loss": 1.0}], "what it sent before failing still arrives"

    lock = threading.Lock()
    unsendable = sched.submit(lambda job: lock.acquire(), session_id="s-err", name="holds a lock")
    assert unsendable.wait(10) and unsendable.state == FAILED
    assert "cannot be sent to the Ray cluster" in unsendable.error


def test_a_job_deaf_to_stop_is_cancelled_by_ray(cluster):
    jobs._scheduler = sched = RayScheduler(cancel_grace_s=1.0)  # shut down after the test by conftest

    def deaf(job):
        time.sleep(120)  # never calls check_cancelled

    job = sched.submit(deaf, session_id="s-deaf", name="deaf")
    wait_until(lambda: job.state == RUNNING, 60, "the job to start")
    t0 = time.time()
    job.cancel()
    assert job.wait(15), "ray.cancel did not end the task"
    assert job.state == CANCELLED and time.time() - t0 < 8


def test_the_digit_page_trains_on_the_cluster_unchanged(sched, apptest):
    from tests.conftest import job_of

    at = apptest("pages/digit_classifier.py").run()
    at.number_input(key="mlp-epochs").set_value(1)
    at.button(key="mlp-train").click().run()
    job = job_of(at, "mlp")
    assert job.wait(120), "training did not finish"
    at.run()
    assert not at.exception and job.state == DONE, job.error_detail
    assert int(job.where.rsplit(":", 1)[1]) != os.getpid()
    acc = [m for m in at.metric if m.label == "Test accuracy"]
    assert acc and float(acc[0].value.rstrip("%")) >= 90.0
    assert any("Finished in" in str(p.proto) for p in at.get("progress"))


def test_an_unreachable_cluster_falls_back_to_this_process(monkeypatch, capfd):
    """ray.init on a dead address waits for minutes: the page would hang. Refused at
    once, it says why in the server log and trains here."""
    from dlplay import executors
    from dlplay.executors import ray as ray_executor

    monkeypatch.setattr(ray_executor.ray, "is_initialized", lambda: False)  # as in a fresh server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    t0 = time.time()
    scheduler = executors.cluster_scheduler(f"127.0.0.1:{port}")
    try:
        assert type(scheduler) is jobs.Scheduler and time.time() - t0 < 10
        assert "cannot use the Ray cluster" in capfd.readouterr().err
        job = scheduler.submit(lambda job: 42, session_id="s-fallback", name="here")
        assert job.wait(10) and job.result == 42
    finally:
        scheduler.shutdown()
