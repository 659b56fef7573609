"""Background jobs: training runs that stream what happens to the UI.

A `Job` runs a function in a worker thread and records an append-only list of
events (metric rows, artifacts, log lines), each with a sequence number, so a page
re-reading every half second fetches only what is new. A process-wide `Scheduler`
runs at most `max_workers` jobs at once; the rest wait in a FIFO queue whose
position the page shows. Jobs belong to a browser session and are dropped with it
(`dlplay.sessions` notices a closed tab).
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from .logs import event

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STOPPED = "stopped"  # Stop pressed, and the function still returned what was learned until then

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job's function at its next checkpoint after `cancel()`."""


class TrainingDiverged(Exception):
    """A non-finite loss: the message says where and what to change."""


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str  # "metric", "artifact", "log"
    data: dict
    t: float


@dataclass(eq=False)  # identity semantics: jobs live in sets and queues
class Job:
    name: str
    session_id: str
    fn: Callable[["Job"], Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = QUEUED
    progress: float = 0.0
    status: str = "waiting for a free worker"
    error: str | None = None
    error_detail: str | None = None
    result: Any = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    def __post_init__(self):
        self._events: list[Event] = []
        self._latest: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._new_event = threading.Condition(self._lock)
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._scheduler: Scheduler | None = None
        self._forget_when_done = False  # set when its session ends while it still runs
        self._on_finish: list[Callable[["Job"], None]] = []
        self.stop_note: str | None = None  # "stopped at epoch 7 of 15", set by a function that kept its model
        self.training_stopped: float | None = None  # when it saw Stop (then it measures what it kept)
        self.run_id: int | None = None  # the stored run this job trains (dlplay.runs), if any
        self.workspace: str | None = None  # whose work it is: fair use counts per workspace, not per tab
        self.save_error: str | None = None  # trained, but the run store refused its model (kept in memory)
        self._stopped_inside = False  # Stop already acted inside a step (`_stop_before_forward`)
        self._preemptible = 0  # inside `stoppable_steps`: Stop may act within a step
        self.warnings: list[str] = []  # what the learner should know about a run that ended "fine"

    # --- written by the job's function -------------------------------------------
    def emit(self, kind: str, **data) -> Event:
        with self._lock:
            event = Event(len(self._events), kind, data, time.time())
            self._events.append(event)
            if kind == "artifact":
                self._latest[data["name"]] = data.get("value")
            self._new_event.notify_all()
        return event

    def metric(self, **row) -> Event:
        return self.emit("metric", **row)

    def artifact(self, name: str, value: Any) -> Event:
        return self.emit("artifact", name=name, value=value)

    def log(self, message: str) -> Event:
        return self.emit("log", message=message)

    def warn(self, message: str) -> None:
        """Something the learner must read about this run, shown with its result and kept
        with the stored run (a validation loss that exploded while training looked calm)."""
        self.warnings.append(message)
        self.log(message)

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        self.progress = min(1.0, max(0.0, float(fraction)))
        if status is not None:
            self.status = status

    @property
    def stop_requested(self) -> bool:
        if not self._cancel.is_set():
            return False
        if getattr(_running_here, "job", None) is self:
            self._saw_stop()  # the job's own loop has seen it
        return True

    def stopped_at(self, note: str) -> None:
        """Called by a training function that caught `Cancelled` and returns the model
        as it was: the job then ends as STOPPED, with its result."""
        self.stop_note = note
        self._saw_stop()

    def _saw_stop(self) -> None:
        """The first moment the job's function acted on Stop: it learns no more from then on."""
        if self.training_stopped is None:
            self.training_stopped = time.time()

    def on_finish(self, callback: Callable[["Job"], None]) -> None:
        """`callback(job)` once the job has ended, whatever the way (run in the thread that ends it)."""
        self._on_finish.append(callback)

    def check_cancelled(self) -> None:
        """Call often (every step): raises `Cancelled` once the user pressed Stop,
        and keeps this job's share of the cores up to date."""
        if self._cancel.is_set():
            self._saw_stop()
            raise Cancelled()
        if self._scheduler is not None:
            self._scheduler._sync_threads()

    # --- read by the UI ------------------------------------------------------------
    def events_since(self, seq: int = 0, kind: str | None = None) -> list[Event]:
        with self._lock:
            new = self._events[seq:]
        return [e for e in new if kind is None or e.kind == kind]

    def wait_for_events(self, seq: int = 0, timeout: float = 0.5, kind: str | None = None) -> bool:
        """Block until there is an event (of `kind`, if given) numbered `seq` or later,
        the job ends, or `timeout` passes; True if there is something new to show."""
        deadline = time.time() + timeout

        def arrived():
            return any(kind is None or e.kind == kind for e in self._events[seq:])

        with self._new_event:
            while not arrived() and not self._done.is_set():
                left = deadline - time.time()
                if left <= 0:
                    break
                self._new_event.wait(min(left, 0.05))  # wakes for the end of the job too
            return arrived()

    @property
    def n_events(self) -> int:
        return len(self._events)

    def metrics(self) -> list[dict]:
        return [e.data for e in self.events_since(0, "metric")]

    def latest(self, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._latest.get(name, default)

    def logs(self) -> list[str]:
        return [e.data["message"] for e in self.events_since(0, "log")]

    @property
    def has_result(self) -> bool:
        """Finished, or stopped with the model learned so far."""
        return self.state in (DONE, STOPPED) and self.result is not None

    @property
    def is_active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def queue_position(self) -> int | None:
        """1-based place in the queue while waiting, else None."""
        return self._scheduler.queue_position(self) if self._scheduler else None

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def cancel(self) -> None:
        self._cancel.set()
        if self._scheduler is not None:
            self._scheduler._drop_queued(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    # --- lifecycle, used by the scheduler ---------------------------------------
    def _run(self) -> None:
        self.state, self.started, self.status = RUNNING, time.time(), "running"
        event(log, "job started", job=self.id, name=self.name, run=self.run_id)
        _running_here.job = self
        _stop_inside_steps()
        try:
            self.check_cancelled()
            self.result = self.fn(self)
            if self._cancel.is_set():  # stopped, but the function kept what it had learned
                self._saw_stop()
                self._finish(STOPPED, self.stop_note or "stopped by user")
            else:
                self._finish(DONE, "finished")
        except Cancelled:
            self._finish(CANCELLED, "stopped by user")
        except TrainingDiverged as exc:
            self.error = str(exc)
            self._finish(FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - a job's failure must never reach the server
            self.error = f"{type(exc).__name__}: {exc}"
            self.error_detail = traceback.format_exc()
            self._finish(FAILED, self.error)

    def _finish(self, state: str, status: str) -> None:
        if getattr(_running_here, "job", None) is self:
            _running_here.job = None
        self.state, self.status, self.finished = state, status, time.time()
        if state == DONE:
            self.progress = 1.0
        event(log, "job ended", job=self.id, name=self.name, run=self.run_id, state=state,
              seconds=round(self.elapsed(), 1), where=getattr(self, "where", None), error=self.error)
        for callback in self._on_finish:
            try:
                callback(self)
            except Exception:  # noqa: BLE001 - a recorder's failure must not hide the job's end
                traceback.print_exc()
        if self._forget_when_done and self._scheduler is not None:
            self._scheduler._forget(self)  # its session is gone: freed before anyone hears of the end
        self._done.set()


# --- Stop inside a training step ----------------------------------------------------------

class Part:
    """One part of a run's work as its training loop sees the run's job — a model of several, a
    task of two, a label budget of three, the classifier a DCGAN trains first: its rows tagged
    (`tag`) and shifted (`shift`, added to a row's values: the epochs or steps of the parts before),
    or not streamed at all (`rows=False`); its progress the share [start, start + share) of the
    run's bar, its status after `label`; its stop note as `stop(note)` makes it (None: the run
    writes its own; raising `Cancelled`: Stop here cancels the run). The rest is the job's own."""

    def __init__(self, job: "Job", label: str, *, start: float = 0.0, share: float = 1.0, tag: dict | None = None,
                 shift: dict | None = None, rows: bool = True, stop: Callable[[str], str | None] = lambda note: note):
        self.job, self.label, self.start, self.share = job, label, start, share
        self.tag, self.shift, self.rows, self.stop = tag or {}, shift or {}, rows, stop

    def metric(self, **row):
        if self.rows:
            shifted = {k: v + self.shift[k] if k in self.shift and v is not None else v for k, v in row.items()}
            return self.job.metric(**shifted, **self.tag)
        return None

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        self.job.set_progress(self.start + self.share * fraction, f"{self.label} · {status}" if status else self.label)

    def stopped_at(self, note: str) -> None:
        note = self.stop(note)
        if note is not None:
            self.job.stopped_at(note)

    def __getattr__(self, name):  # check_cancelled, log, warn, artifact, stop_requested…: the job's own
        return getattr(self.job, name)


def whole_job(job):
    """The run's own job behind any parts of it (`Part`)."""
    while isinstance(job, Part):
        job = job.job
    return job


_running_here = threading.local()  # the job this worker thread is running
_hook_lock = threading.Lock()
_hooked = False


def _stop_inside_steps() -> None:
    """Stop acts inside a training step too, not only between steps: before each module's
    forward pass while gradients are being recorded (a training forward; evaluation runs
    without them, so a stopped run is still measured), once per Stop, in loops that say
    they can take it (`stoppable_steps`). The step is
    abandoned before the optimizer moves, so the model kept is the last finished step's.
    One process-wide PyTorch hook, costing a thread-local read per module call."""
    global _hooked
    torch = sys.modules.get("torch")
    if _hooked or torch is None:
        return
    with _hook_lock:
        if not _hooked:
            torch.nn.modules.module.register_module_forward_pre_hook(_stop_before_forward)
            _hooked = True


@contextlib.contextmanager
def stoppable_steps(job: "Job | None"):
    """Inside: Stop may end a training step midway (`_stop_inside_steps`). Only for a loop that
    catches `Cancelled` around its steps and keeps the last finished one (`train.keep_on_stop`);
    elsewhere a step raising mid-way would lose the run's model, so Stop waits for the step."""
    job = whole_job(job)
    if not isinstance(job, Job):  # None, or a stand-in that only shows progress
        yield
        return
    job._preemptible += 1
    try:
        yield
    finally:
        job._preemptible -= 1


def _stop_before_forward(module, args):
    job = getattr(_running_here, "job", None)
    if job is None or not job._preemptible or not job._cancel.is_set() or job._stopped_inside:
        return None
    import torch

    if torch.is_grad_enabled():
        job._stopped_inside = True
        job._saw_stop()
        raise Cancelled()
    return None


class Scheduler:
    """Runs at most `max_workers` jobs at a time; the rest wait in FIFO order."""

    def __init__(self, max_workers: int | None = None, keep_per_session: int = 8):
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        # Read once: threads_per_job runs on every training step.
        self.job_cores = int(os.environ.get("DLPLAY_JOB_CORES", "0")) or max(1, (os.cpu_count() or 1) - 1)
        self.keep_per_session = keep_per_session
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._jobs: dict[str, Job] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._local = threading.local()
        self._workers = [
            threading.Thread(target=self._work, name=f"dlplay-worker-{i}", daemon=True)
            for i in range(self.max_workers)
        ]
        for w in self._workers:
            w.start()

    def submit(self, fn: Callable[[Job], Any], *, session_id: str, name: str, workspace: str | None = None) -> Job:
        job = Job(name=name, session_id=session_id, fn=fn)
        job.workspace = workspace
        job._scheduler = self
        with self._cond:
            if self._closed:
                raise RuntimeError("scheduler is shut down")
            self._jobs[job.id] = job
            self._queue.append(job)
            self._prune(session_id)
            self._cond.notify()
        return job

    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs_for(self, session_id: str) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs.values() if j.session_id == session_id]

    def jobs_of_workspace(self, workspace: str) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs.values() if j.workspace == workspace]

    def queue_position(self, job: Job) -> int | None:
        with self._cond:
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return None

    def threads_per_job(self) -> int:
        """Training threads for each running job. One core is left to the web server
        and a browser on the same machine: on 2 cores with the page open, a job using
        both ran at 0.5× a bare loop's speed, with one thread at 0.66× (dlplay.bench),
        because a preempted OpenMP thread stalls its partner. DLPLAY_JOB_CORES overrides."""
        return max(1, self.job_cores // max(1, len(self._running)))

    def _sync_threads(self) -> None:
        """Share the cores among running jobs so two jobs on two cores don't each use
        two intra-op threads. torch's setting may be per calling thread (OpenMP), so
        each job's own thread applies it, and only when the share has changed."""
        torch = sys.modules.get("torch")
        want = self.threads_per_job()
        if torch is not None and getattr(self._local, "threads", None) != want:
            torch.set_num_threads(want)
            self._local.threads = want

    def release_session(self, session_id: str) -> list[Job]:
        """Cancel a session's jobs and forget them, freeing models and data they hold.
        Returns the jobs that were still active (they end, STOPPED or CANCELLED, at
        their next step). One lock for all of it, so `adopt` cannot slip in between."""
        with self._cond:
            mine = [j for j in self._jobs.values() if j.session_id == session_id]
            active = [j for j in mine if j.is_active]
            for job in active:
                job.cancel()  # re-enters the lock (an RLock) to drop a queued job
            for job in mine:
                if not job.is_active:
                    del self._jobs[job.id]
                else:  # still unwinding: forgotten as soon as it finishes
                    job._forget_when_done = True
        return active

    def active_jobs(self) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs.values() if j.is_active]

    def adopt(self, job: Job, session_id: str) -> bool:
        """Give an active job to another session (a reloaded tab takes over its run).
        False if the job has ended or is being stopped."""
        with self._cond:
            if not job.is_active or job.stop_requested or self._jobs.get(job.id) is not job:
                return False
            job.session_id = session_id
            job._forget_when_done = False
            return True

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            jobs = list(self._jobs.values())
            self._cond.notify_all()
        for job in jobs:
            job.cancel()
        for w in self._workers:
            w.join(timeout)

    # --- internals --------------------------------------------------------------
    def _prune(self, session_id: str) -> None:
        """Keep only the newest finished jobs of a session (callers hold the lock)."""
        done = sorted(
            (j for j in self._jobs.values() if j.session_id == session_id and not j.is_active),
            key=lambda j: j.created,
        )
        for job in done[: max(0, len(done) - self.keep_per_session)]:
            del self._jobs[job.id]

    def _forget(self, job: Job) -> None:
        with self._cond:
            if job._forget_when_done:  # not adopted by another session meanwhile
                self._jobs.pop(job.id, None)

    def _drop_queued(self, job: Job) -> None:
        with self._cond:
            if job in self._queue:
                self._queue.remove(job)
                job._finish(CANCELLED, "cancelled before it started")

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._queue.popleft()
                self._running.add(job)
            try:
                job._run()
            finally:
                with self._cond:
                    self._running.discard(job)
                del job  # else this idle worker keeps its last job (and model) alive


_scheduler: Scheduler | None = None
_scheduler_lock = threading.Lock()
_factory: Callable[[int | None], Scheduler] = Scheduler
_session_ids = itertools.count()


def get_scheduler() -> Scheduler:
    """The process-wide scheduler (created on first use, by the factory `use_scheduler` set:
    threads of this process unless the app chose otherwise where it starts)."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None or _scheduler._closed:
            _scheduler = _factory(int(os.environ.get("DLPLAY_MAX_JOBS", "0")) or None)
        return _scheduler


def use_scheduler(factory: Callable[[int | None], Scheduler]) -> None:
    """Where the app starts: how the scheduler is made, `factory(max_workers)` (a Ray cluster's,
    `dlplay.executors.from_environment`). Takes effect when no scheduler has been made yet."""
    global _factory
    with _scheduler_lock:
        _factory = factory


class SessionHandle:
    """Lives in a browser session's state. Its jobs are released when the browser
    session has gone (`dlplay.sessions` watches `streamlit_id`, the Streamlit session
    it belongs to) or, failing that, when the handle is garbage collected."""

    def __init__(self, scheduler: Scheduler | None = None, streamlit_id: str | None = None):
        self.id = f"s{next(_session_ids)}-{uuid.uuid4().hex[:8]}"
        self.streamlit_id = streamlit_id
        sched = scheduler or get_scheduler()
        weakref.finalize(self, sched.release_session, self.id)
