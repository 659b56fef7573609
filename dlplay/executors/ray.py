"""Jobs as tasks on a Ray cluster, watched through ordinary local `Job` objects.

`RayScheduler` keeps `dlplay.jobs.Scheduler`'s bookkeeping (sessions, the FIFO queue,
pruning, release) and replaces where a job runs: a dispatcher thread takes the next
queued job once the cluster has a free CPU for it and starts `run_job` on a worker.
There the job's function runs against a `RemoteJob` that queues whatever it emits;
every `PUSH_S` the worker pushes that queue to this server's `Hub` actor, and the
reply says whether Stop was pressed. A pump thread here collects the pushed events
every `PUMP_S` into the local `Job` (so `metrics()`, `latest()` and
`wait_for_events()` work as for a local job), performs the run store writes the job
sent back (`shipping`), and ends the local job with the task's result or error.

Stop is cooperative first, so a stopped run still returns the model it learned: the
worker's `check_cancelled()` raises at its next step. A task that does not react
within `cancel_grace_s` is cancelled by Ray (an interrupt), then killed.
"""
from __future__ import annotations

import os
import pickle
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import ray

from ray import cloudpickle

from ..jobs import CANCELLED, DONE, FAILED, RUNNING, STOPPED, Job, Scheduler
from . import shipping

PUSH_S = 0.2  # a worker sends its events, and hears of Stop, this often
PUMP_S = 0.1  # this server collects events and finished tasks this often
CAPACITY_POLL_S = 0.5  # how often a waiting queue asks the cluster for free CPUs


@ray.remote(num_cpus=0)
class Hub:
    """One per server: its jobs' events wait here until the server collects them, and
    Stop waits here until the job's task next pushes. Events travel as pickled batches:
    arrays Ray itself deserializes are read-only views that pin its object store."""

    def __init__(self):
        self._events: dict[str, list[bytes]] = {}
        self._cancelled: set[str] = set()

    def start(self, job_id: str, where: str) -> bool:
        """A task begins; True if its job was stopped meanwhile (then it never starts)."""
        if job_id in self._cancelled:
            return True
        self._events.setdefault(job_id, []).append(pickle.dumps([("started", where)]))
        return False

    def push(self, job_id: str, batch: bytes | None) -> bool:
        if batch is not None:
            self._events.setdefault(job_id, []).append(batch)
        return job_id in self._cancelled

    def take(self) -> dict[str, list[bytes]]:
        out, self._events = self._events, {}
        return out

    def cancel(self, job_id: str) -> None:
        self._cancelled.add(job_id)

    def forget(self, job_id: str) -> None:
        self._cancelled.discard(job_id)
        self._events.pop(job_id, None)


class RemoteJob(Job):
    """The job as its function sees it on a worker: what it emits is kept here as for
    a local job and also queued for the server."""

    def __post_init__(self):
        super().__post_init__()
        self._outbox: list[tuple] = []
        self._outbox_lock = threading.Lock()

    def send(self, item: tuple) -> None:
        with self._outbox_lock:
            self._outbox.append(item)

    def drain(self) -> bytes | None:
        """What was queued since the last call, pickled (None if nothing)."""
        with self._outbox_lock:
            items, self._outbox = self._outbox, []
        return cloudpickle.dumps(items) if items else None

    def emit(self, kind: str, **data):
        event = super().emit(kind, **data)
        self.send(("event", kind, data))
        return event

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        super().set_progress(fraction, status)
        self.send(("progress", self.progress, status))


def _push(job: RemoteJob, hub) -> None:
    try:
        if ray.get(hub.push.remote(job.id, job.drain())):
            job._cancel.set()
    except Exception:  # noqa: BLE001 - the server is gone: stop, keeping what was learned
        job._cancel.set()


def _push_every(job: RemoteJob, hub, stop: threading.Event) -> None:
    while not stop.wait(PUSH_S):
        _push(job, hub)


def _raise(exc: BaseException):
    def fn(_job):
        raise exc
    return fn


@ray.remote(max_retries=0)  # a training job is never silently run twice
def run_job(job_id: str, name: str, session_id: str, payload: bytes, hub) -> bytes:
    """A job's function on a cluster worker; returns how it ended and its result, pickled."""
    where = f"{ray.util.get_node_ip_address()}:{os.getpid()}"
    if ray.get(hub.start.remote(job_id, where)):
        return pickle.dumps({"state": CANCELLED, "status": "cancelled before it started"})
    job = RemoteJob(name=name, session_id=session_id, fn=None)
    job.id = job_id
    try:
        job.fn = shipping.loads(payload, job.send)
    except Exception as exc:  # noqa: BLE001 - e.g. dlplay missing on the worker: the job's error
        job.fn = _raise(exc)
    stop = threading.Event()
    pusher = threading.Thread(target=_push_every, args=(job, hub, stop), name="dlplay-push", daemon=True)
    pusher.start()
    try:
        job._run()
    finally:
        stop.set()
        pusher.join()
        _push(job, hub)  # the last events reach the hub before the result does
    kept = job.state in (DONE, STOPPED)
    return cloudpickle.dumps({"state": job.state, "status": job.status, "result": job.result if kept else None,
                              "error": job.error, "error_detail": job.error_detail, "stop_note": job.stop_note,
                              "progress": job.progress})


@dataclass(eq=False)
class _Task:
    job: Job
    ref: Any  # ray.ObjectRef of run_job
    stores: dict  # run stores the job writes to (shipping)
    started: bool = False
    cancel_at: float | None = None
    escalated: int = 0  # 1: ray.cancel sent, 2: worker killed
    store_error: str | None = None


def connect(address: str | None) -> bool:
    """Join the cluster at `address` ("local": start one in this process); True if this
    call started Ray here (then shutdown stops it)."""
    if ray.is_initialized():
        return False
    if address in (None, "", "local"):
        cpus = int(os.environ.get("DLPLAY_MAX_JOBS", "0")) or None
        ray.init(num_cpus=cpus, include_dashboard=False, namespace="dlplay")
    else:
        _reachable(address)
        ray.init(address=address, namespace="dlplay")
    return True


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a "host:port" nobody answers at: ray.init would wait for minutes,
    and the page asking for the scheduler with it."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if sep and port.isdigit():
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass


class RayScheduler(Scheduler):
    """`dlplay.jobs.Scheduler`'s interface; jobs run on the Ray cluster at `address`."""

    def __init__(self, address: str | None = None, *, cpus_per_job: float | None = None,
                 gpus_per_job: float | None = None, cancel_grace_s: float = 10.0, keep_per_session: int = 8):
        self._owns_ray = connect(address)
        self.cpus_per_job = float(cpus_per_job or os.environ.get("DLPLAY_RAY_CPUS") or 1)
        self.gpus_per_job = float(gpus_per_job or os.environ.get("DLPLAY_RAY_GPUS") or 0)
        self.cancel_grace_s = cancel_grace_s
        self._tasks: dict[str, _Task] = {}
        self._hub = Hub.remote()
        super().__init__(max_workers=1, keep_per_session=keep_per_session)  # one thread: the dispatcher
        self.max_workers = max(1, int(ray.cluster_resources().get("CPU", 0) // self.cpus_per_job))
        self._pump_thread = threading.Thread(target=self._pump, name="dlplay-ray-pump", daemon=True)
        self._pump_thread.start()

    # --- the Scheduler interface ------------------------------------------------------------
    def threads_per_job(self) -> int:
        return max(1, int(self.cpus_per_job))  # Ray sets OMP_NUM_THREADS to the task's CPUs

    def _sync_threads(self) -> None:
        pass  # each task has its own process and CPUs

    def _drop_queued(self, job: Job) -> None:
        super()._drop_queued(job)
        with self._cond:
            task = self._tasks.get(job.id)
        if task is not None:
            self._stop(task)

    def shutdown(self, timeout: float = 10.0) -> None:
        super().shutdown(timeout)  # cancels every job and ends the dispatcher
        self._pump_thread.join(timeout)  # it ends once every task has
        with self._cond:
            left = list(self._tasks.values())
        for task in left:
            ray.cancel(task.ref, force=True)
            self._end(task.job, CANCELLED, "the server shut down")
        try:
            ray.kill(self._hub)
        except Exception:  # noqa: BLE001 - the cluster may already be gone
            pass
        if self._owns_ray:
            ray.shutdown()

    # --- dispatching ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
            if not self._has_room():
                time.sleep(CAPACITY_POLL_S)
                continue
            with self._cond:
                if self._closed:
                    return
                if not self._queue:
                    continue
                job = self._queue.popleft()
                self._running.add(job)
            self._launch(job)
            del job  # else this idle thread keeps the last job (and its model) alive

    def _has_room(self) -> bool:
        """A free CPU for one more job: the cluster's view (other servers' jobs included),
        but never less used than this server's own tasks (that view lags a little)."""
        try:
            total = ray.cluster_resources().get("CPU", 0.0)
            free = ray.available_resources().get("CPU", 0.0)
        except Exception:  # noqa: BLE001 - cluster unreachable for now: keep waiting
            traceback.print_exc()
            return False
        if total < self.cpus_per_job:
            return True  # no CPU yet (an autoscaling cluster): Ray holds the task until one comes
        with self._cond:
            mine = len(self._tasks) * self.cpus_per_job
        return total - max(total - free, mine) >= self.cpus_per_job

    def _launch(self, job: Job) -> None:
        try:
            payload, stores = shipping.dumps(job.fn)
        except Exception as exc:  # noqa: BLE001 - shown on the page, the server goes on
            job.error = f"this job cannot be sent to the Ray cluster: {type(exc).__name__}: {exc}"
            job.error_detail = traceback.format_exc()
            self._end(job, FAILED, job.error)
            return
        ref = run_job.options(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job,
                              name=f"dlplay: {job.name}").remote(job.id, job.name, job.session_id, payload,
                                                                 self._hub)
        task = _Task(job, ref, stores)
        job.status = "waiting for a worker on the cluster"
        with self._cond:
            self._tasks[job.id] = task
            stopped = job.stop_requested  # Stop pressed while it was being sent
        if stopped:
            self._stop(task)

    # --- following tasks -----------------------------------------------------------------------
    def _pump(self) -> None:
        while True:
            with self._cond:
                tasks = list(self._tasks.values())
                if self._closed and not tasks:
                    return
            if tasks:
                try:
                    self._pump_once(tasks)
                except Exception:  # noqa: BLE001 - a lost connection is retried next time
                    traceback.print_exc()
            time.sleep(PUMP_S)

    def _pump_once(self, tasks: list[_Task]) -> None:
        # Finished tasks first, then events: a task's last events reach the hub before its
        # result exists, so everything a finished task sent is in this batch.
        ready, _ = ray.wait([t.ref for t in tasks], num_returns=len(tasks), timeout=0)
        ready = set(ready)
        for job_id, batches in ray.get(self._hub.take.remote()).items():
            task = self._tasks.get(job_id)
            for batch in batches if task is not None else ():
                for item in pickle.loads(batch):
                    self._apply(task, item)
        for task in tasks:
            if task.ref in ready:
                self._complete(task)
            elif task.cancel_at is not None:
                self._escalate(task)

    def _apply(self, task: _Task, item: tuple) -> None:
        job, kind = task.job, item[0]
        if kind == "event":
            job.emit(item[1], **item[2])
        elif kind == "progress":
            job.set_progress(item[1], item[2])
        elif kind == "started":
            task.started = True
            job.state, job.started, job.status = RUNNING, time.time(), "running"
            job.where = item[1]  # "node-ip:pid" of the worker that trains it
        elif kind == "store":
            try:
                shipping.perform(task.stores, item)
            except Exception as exc:  # noqa: BLE001 - the job ends FAILED with it, as in-process
                task.store_error = task.store_error or f"{type(exc).__name__}: {exc}"
                traceback.print_exc()

    def _complete(self, task: _Task) -> None:
        try:
            out = pickle.loads(ray.get(task.ref))
        except ray.exceptions.TaskCancelledError:
            out = {"state": CANCELLED,
                   "status": "stopped by user" if task.started else "cancelled before it started"}
        except Exception as exc:  # noqa: BLE001 - a worker that died, a result that could not travel…
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = f"the Ray cluster could not finish this job: {type(exc).__name__}: {first}"
            out = {"state": FAILED, "error": error, "error_detail": str(exc)}
        state = out["state"]
        if task.store_error and state in (DONE, STOPPED):
            state, out["error"] = FAILED, f"saving the run failed: {task.store_error}"
        job = task.job
        job.result = out.get("result")
        job.error, job.error_detail = out.get("error"), out.get("error_detail")
        job.stop_note = out.get("stop_note") or job.stop_note
        job.progress = out.get("progress", job.progress)
        self._end(job, state, job.error if state == FAILED else out.get("status") or state)

    def _stop(self, task: _Task) -> None:
        if task.cancel_at is None:
            task.cancel_at = time.time()
            self._hub.cancel.remote(task.job.id)

    def _escalate(self, task: _Task) -> None:
        """A task deaf to Stop: interrupted by Ray after the grace time, killed after twice it.
        One still waiting for a worker is taken off Ray's queue sooner."""
        grace = self.cancel_grace_s if task.started else min(self.cancel_grace_s, 2.0)
        waited = time.time() - task.cancel_at
        if task.escalated == 0 and waited > grace:
            ray.cancel(task.ref)
            task.escalated = 1
        elif task.escalated == 1 and waited > 2 * grace:
            ray.cancel(task.ref, force=True)
            task.escalated = 2

    def _end(self, job: Job, state: str, status: str) -> None:
        job._finish(state, status)
        with self._cond:
            self._running.discard(job)
            launched = self._tasks.pop(job.id, None) is not None
            if job._forget_when_done:
                self._jobs.pop(job.id, None)
        if launched:
            try:
                self._hub.forget.remote(job.id)
            except Exception:  # noqa: BLE001 - shutting down
                pass
