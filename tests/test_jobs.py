"""dlplay.jobs: concurrency bound, FIFO queue, cancel latency, failures captured, NaN stop."""
import gc
import threading
import time
import weakref

import pytest
import torch

from dlplay import jobs
from dlplay.jobs import CANCELLED, DONE, FAILED, QUEUED, STOPPED, Scheduler, SessionHandle
from dlplay.train import TrainConfig, fit


@pytest.fixture
def sched():
    s = Scheduler(max_workers=2)
    yield s
    s.shutdown(timeout=10)


def busy(job, steps=10_000, dt=0.01):
    """A stand-in for a training loop: checks for Stop every step."""
    for i in range(steps):
        job.check_cancelled()
        job.metric(step=i + 1, split="train", loss=1.0 / (i + 1))
        time.sleep(dt)


def test_concurrency_is_bounded_and_queue_is_fifo(sched):
    running, peak, lock = [0], [0], threading.Lock()
    order = []

    def work(job):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            order.append(job.name)
        time.sleep(0.2)
        with lock:
            running[0] -= 1

    submitted = [sched.submit(work, session_id="s", name=f"j{i}") for i in range(6)]
    time.sleep(0.05)
    waiting = [j for j in submitted if j.state == QUEUED]
    assert [j.queue_position() for j in waiting] == list(range(1, len(waiting) + 1))
    assert len(waiting) == 4
    for j in submitted:
        assert j.wait(10)
    assert peak[0] == 2
    assert order == [f"j{i}" for i in range(6)]
    assert all(j.state == DONE for j in submitted)


def test_cancel_takes_effect_within_a_second(sched):
    job = sched.submit(busy, session_id="s", name="busy")
    while job.n_events < 5:
        time.sleep(0.01)
    t0 = time.perf_counter()
    job.cancel()
    assert job.wait(1.0), "job did not stop within 1 s"
    assert time.perf_counter() - t0 < 1.0
    assert job.state == CANCELLED
    assert job.metrics(), "what was streamed before Stop is kept"


def test_cancel_of_a_real_training_run_is_fast(sched):
    x, y = torch.randn(20_000, 1, 28, 28), torch.randint(0, 10, (20_000,))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    job = sched.submit(lambda j: fit(model, (x, y), cfg=TrainConfig(epochs=50), job=j), session_id="s", name="t")
    while not job.metrics():
        time.sleep(0.01)
    t0 = time.perf_counter()
    job.cancel()
    assert job.wait(1.0)
    assert time.perf_counter() - t0 < 1.0 and job.state == STOPPED, "fit keeps what it learned"
    assert job.stop_note.startswith("stopped at epoch 1 of 50")


def test_a_queued_job_cancels_without_running(sched):
    blockers = [sched.submit(busy, session_id="s", name="b") for _ in range(2)]
    queued = sched.submit(busy, session_id="s", name="q")
    assert queued.state == QUEUED
    queued.cancel()
    assert queued.wait(0.5) and queued.state == CANCELLED and queued.started is None
    for b in blockers:
        b.cancel()


def test_exception_is_captured_and_workers_survive(sched):
    def boom(job):
        raise ValueError("shapes (3, 4) and (5, 6) not aligned")

    bad = sched.submit(boom, session_id="s", name="bad")
    assert bad.wait(5)
    assert bad.state == FAILED
    assert "ValueError: shapes (3, 4) and (5, 6) not aligned" == bad.error
    assert "Traceback" in bad.error_detail
    good = sched.submit(lambda j: 42, session_id="s", name="good")
    assert good.wait(5) and good.result == 42


def test_nan_loss_stops_with_a_hint(sched):
    torch.manual_seed(0)
    x = torch.randn(4096, 20) * 50
    y = torch.randint(0, 3, (4096,))
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    cfg = TrainConfig(optimizer="sgd", lr=1e6, schedule="constant", epochs=5, batch_size=64)
    job = sched.submit(lambda j: fit(model, (x, y), cfg=cfg, job=j), session_id="s", name="nan")
    assert job.wait(30)
    assert job.state == FAILED
    assert "lower the learning rate" in job.error
    # NaN, infinite, or (dlplay.train's explosion check, issue 8) caught as it explodes, before either
    assert job.error.startswith(("loss became NaN at step", "loss became infinite at step", "the loss exploded from"))
    step = int(job.error.split("at step ")[1].split()[0])
    assert 1 <= step < 5 * 64


def test_events_since_returns_only_new_events(sched):
    gate = threading.Event()

    def work(job):
        job.metric(step=1)
        job.artifact("img", "a")
        gate.wait(5)
        job.metric(step=2)
        job.artifact("img", "b")

    job = sched.submit(work, session_id="s", name="ev")
    while job.n_events < 2:
        time.sleep(0.01)
    first = job.events_since(0)
    assert [e.seq for e in first] == [0, 1] and job.latest("img") == "a"
    gate.set()
    job.wait(5)
    new = job.events_since(len(first))
    assert [e.seq for e in new] == [2, 3]
    assert [e.data["step"] for e in job.events_since(0, "metric")] == [1, 2]
    assert job.latest("img") == "b"


def test_session_end_releases_its_jobs():
    sched = jobs.get_scheduler()
    handle = SessionHandle(sched)
    sid = handle.id
    done = sched.submit(lambda j: torch.zeros(1000, 1000), session_id=sid, name="done")
    running = sched.submit(busy, session_id=sid, name="running")
    other = sched.submit(lambda j: 1, session_id="someone-else", name="other")
    done.wait(5)
    other.wait(5)
    del handle
    gc.collect()
    assert running.wait(2) and running.state == CANCELLED
    time.sleep(0.1)
    assert sched.jobs_for(sid) == []
    assert sched.get(other.id) is other


def test_finished_jobs_per_session_are_capped():
    s = Scheduler(max_workers=1, keep_per_session=3)
    try:
        for i in range(6):
            s.submit(lambda j: None, session_id="s", name=str(i)).wait(5)
        s.submit(lambda j: None, session_id="s", name="last").wait(5)
        assert len(s.jobs_for("s")) <= 4
    finally:
        s.shutdown()


def test_torch_threads_are_shared_between_running_jobs(sched):
    seen = []
    both_running = threading.Barrier(2, timeout=5)

    def work(job):
        both_running.wait()
        job.check_cancelled()  # where a training loop applies its share of the cores
        seen.append(torch.get_num_threads())
        both_running.wait()

    a = sched.submit(work, session_id="s", name="a")
    b = sched.submit(work, session_id="s", name="b")
    assert a.wait(5) and b.wait(5) and a.state == b.state == DONE
    import os
    assert max(seen) <= max(1, (os.cpu_count() or 1) // 2)


def test_a_released_sessions_job_is_forgotten_by_the_time_it_ends(sched):
    """Nothing (scheduler, idle worker) keeps a released job, so its model can be freed
    as soon as it ends: a closed tab's memory comes back (dlplay.sessions)."""
    job = sched.submit(busy, session_id="gone", name="long")
    while not job.metrics():
        time.sleep(0.01)
    assert sched.release_session("gone") == [job]
    assert job.wait(1.0) and job.state == CANCELLED
    assert sched.get(job.id) is None and sched.jobs_for("gone") == []
    ref = weakref.ref(job)
    del job
    gc.collect()
    assert ref() is None, "the worker that ran it does not hold it"


def test_adopt_gives_a_running_job_to_another_session(sched):
    job = sched.submit(busy, session_id="old-tab", name="long")
    while not job.metrics():
        time.sleep(0.01)
    assert sched.adopt(job, "new-tab")
    assert sched.release_session("old-tab") == [] and job.is_active, "the old tab's end leaves it running"
    assert sched.jobs_for("new-tab") == [job]
    job.cancel()
    assert job.wait(1.0)
    assert not sched.adopt(job, "third-tab"), "an ended job is not adopted"


def test_a_part_of_a_run_streams_its_rows_shifted_and_tagged_and_fills_its_share_of_the_bar(sched):
    x, y = torch.randn(2_000, 1, 28, 28), torch.randint(0, 10, (2_000,))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    seen = []

    def two_phases(job):
        first = jobs.Part(job, "task A", share=0.5, tag={"phase": "A"})
        fit(model, (x, y), cfg=TrainConfig(epochs=1, batch_size=500), job=first)
        seen.append(job.progress)
        second = jobs.Part(job, "task B", start=0.5, share=0.5, tag={"phase": "B"}, shift={"epoch": 1},
                           stop=lambda note: note.replace("stopped at", "stopped in task B at"))
        assert jobs.whole_job(second) is job
        fit(model, (x, y), cfg=TrainConfig(epochs=1, batch_size=500), job=second)

    job = sched.submit(two_phases, session_id="s", name="parts")
    assert job.wait(30) and job.state == DONE, job.error
    rows = job.metrics()
    epochs = [(r["phase"], r["epoch"]) for r in rows if r.get("split") == "epoch"]
    assert epochs == [("A", 1), ("B", 2)]  # B's epoch placed after A's
    assert seen == [0.5] and job.progress == 1.0  # each part fills its half of the bar
    assert all(r["epoch"] >= 1 for r in rows if r.get("phase") == "B")


def test_stop_inside_a_part_is_noted_as_the_part_says_and_a_silent_part_streams_nothing(sched):
    x, y = torch.randn(20_000, 1, 28, 28), torch.randint(0, 10, (20_000,))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))

    def quiet_then_named(job):
        fit(model, (x[:500], y[:500]), cfg=TrainConfig(epochs=1), job=jobs.Part(job, "warming up", rows=False))
        fit(model, (x, y), cfg=TrainConfig(epochs=50),
            job=jobs.Part(job, "task B", tag={"phase": "B"},
                          stop=lambda note: note.replace("stopped at", "stopped in task B at")))

    job = sched.submit(quiet_then_named, session_id="s", name="stop")
    while not job.metrics():
        time.sleep(0.01)
    job.cancel()
    assert job.wait(5) and job.state == STOPPED
    assert job.stop_note.startswith("stopped in task B at epoch 1 of 50")
    assert {r.get("phase") for r in job.metrics()} == {"B"}  # the silent part's rows never reached the run
