"""Runs as jobs: start a lesson's training as a background job that records itself in
the store, and bring a stored run's result back.

Metric rows are written by one recorder thread every `FLUSH_S` seconds, never by
the training thread: recording costs a training step nothing but a list append
(`python -m dlplay.bench --only store` measures it). When the job ends its last rows,
its model and its final state are written before the page hears of the end.
"""
from __future__ import annotations

import threading
import time
import traceback
import weakref
from collections import OrderedDict
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..jobs import CANCELLED, DONE, STOPPED, Job, get_scheduler
from . import specs
from .lesson import Lesson, Saved, lesson_for
from .store import RUNNING, Run, RunStore, get_store, stamped, store_problem

FLUSH_S = 1.0
WARNED = "finished, but: "


def describe_data(ds, used: int = 0) -> tuple[str, dict]:
    """("MNIST (60,000, data directory)", identity) for an `ImageData` (or a text corpus's
    `TextData`: "IMDB reviews (2,500, data directory)"); `used`: the training examples the run
    takes when fewer than the dataset has ("MNIST (2,000 of 60,000, data directory)")."""
    kind = {"data_dir": "data directory", "debian": "Debian package", "download": "downloaded",
            "bundled": "bundled sample"}.get(ds.source.kind, ds.source.kind)
    n_train, n_test = (len(ds.x_train), len(ds.x_test)) if hasattr(ds, "x_train") else \
        (len(ds.train_texts), len(ds.test_texts))
    n = f"{used:,} of {n_train:,}" if 0 < used < n_train else f"{n_train:,}"
    # "MNIST (60,000, data directory)"; a title with its own brackets gets one pair.
    label = f"{ds.title[:-1]}; {n} for training, {kind})" if ds.title.endswith(")") else f"{ds.title} ({n}, {kind})"
    ident = {"name": ds.name, "source": ds.source.describe(), "kind": ds.source.kind,
             "n_train": n_train, "n_test": n_test}
    return label, ident


def data_matches(run: Run, ds) -> bool:
    """Whether `ds` is the data the run trained on (same dataset, source kind and sizes)."""
    ident = run.data_id or {}
    if not ident:
        return True
    _, now = describe_data(ds)
    return all(ident.get(k) == now[k] for k in ("name", "kind", "n_train", "n_test"))


class Recorder:
    """Writes the metric rows of running jobs to the store, in the background."""

    def __init__(self):
        self._watched: dict[int, tuple[Job, RunStore, list[int]]] = {}
        # run id → its job, while this process has it; weak, so a job its scheduler has
        # forgotten (its session released) is freed, model and all (dlplay.sessions)
        self._jobs: weakref.WeakValueDictionary[int, Job] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, run_id: int, job: Job, store: RunStore) -> None:
        with self._lock:
            self._watched[run_id] = (job, store, [0])
            self._jobs[run_id] = job
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="dlplay-recorder", daemon=True)
                self._thread.start()

    def job(self, run_id: int) -> Job | None:
        with self._lock:
            job = self._jobs.get(run_id)
        if job is not None and get_scheduler().get(job.id) is None:
            return None  # released with its session
        return job

    def flush(self, run_id: int, heartbeat: bool = True) -> None:
        with self._lock:
            entry = self._watched.get(run_id)
        if entry is None:
            return
        job, store, cursor = entry
        events = job.events_since(cursor[0])
        rows = [(e.seq, e.data) for e in events if e.kind == "metric"]
        try:
            store.add_metrics(run_id, rows, heartbeat=heartbeat)
            if events:
                cursor[0] = events[-1].seq + 1
        except Exception:  # noqa: BLE001 - a busy database is retried at the next flush
            traceback.print_exc()

    def unwatch(self, run_id: int) -> None:
        with self._lock:
            self._watched.pop(run_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            with self._lock:
                ids = list(self._watched)
            for run_id in ids:
                self.flush(run_id)


RECORDER = Recorder()


def start(lesson: Lesson, spec, *, workspace: str, session_id: str, settings: dict | None = None,
          ds=None, store: RunStore | None = None) -> tuple[Run, Job]:
    """Create the run and submit its training; returns both."""
    store = store or get_store()
    if ds is not None:
        label, ident = describe_data(ds, _examples_used(spec))
    else:
        label, ident = lesson.data(spec) if lesson.data is not None else ("", {})
    # Which dlplay trained it, from its start (an interrupted run too).
    run = store.create(workspace=workspace, page=lesson.page, title=lesson.title, spec=specs.to_dict(spec),
                       settings=settings, dataset=label, data_id=ident, brief=lesson.brief(spec), summary=stamped({}))

    def body(job: Job):
        store.update(run.id, state=RUNNING, started=time.time(), status="running")
        result = lesson.train(spec, job)
        _results.put(run.id, result)  # kept in memory whatever happens to the store
        saved = lesson.save(result)
        try:
            store.save_model(run.id, saved.tensors, saved.arrays, {"page": lesson.page, "run": run.id})
            store.update(run.id, summary=stamped(saved.summary), headline=saved.headline)
        except (OSError, SQLAlchemyError) as exc:
            # Training finished: a full or read-only store must not throw the model away.
            job.save_error = (f"This run trained, but the server could not store it "
                              f"({store_problem(exc)}): it is here until you leave or reload the page — "
                              f"download what you need now.")
            traceback.print_exc()
        return result

    job = get_scheduler().submit(body, session_id=session_id, name=lesson.title, workspace=workspace)
    job.run_id = run.id
    job.on_finish(lambda j: _finished(store, run.id, j))
    RECORDER.watch(run.id, job, store)
    return run, job


def _examples_used(spec) -> int:
    """The training examples a spec asks for when it takes a subset (0: all of them)."""
    for name in ("n_train", "n_images", "n"):
        value = getattr(spec, name, 0)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def _finished(store: RunStore, run_id: int, job: Job) -> None:
    RECORDER.flush(run_id, heartbeat=False)
    RECORDER.unwatch(run_id)
    if job.state == DONE:
        state, status = "done", "finished"
        if job.warnings:
            status = WARNED + " ".join(job.warnings)  # the stored run keeps what the learner must read
    elif job.state == STOPPED:
        state, status = "stopped", job.stop_note or "stopped by user"
    elif job.state == CANCELLED:
        state = "cancelled"
        status = job.status if job.started is None else "stopped before the first step finished: nothing learned"
    else:
        state, status = "failed", job.error or "failed"
    try:
        store.finish(run_id, state=state, status=status, finished=job.finished or time.time())
    except (OSError, SQLAlchemyError):
        traceback.print_exc()  # the page still shows the job's own state and result


class _ResultCache:
    """Rebuilt results of stored runs, newest kept: models are small, and a page
    rerunning twice a second must not reload weights each time."""

    def __init__(self, size: int = 16):
        self._items: OrderedDict[int, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, run_id: int):
        with self._lock:
            if run_id in self._items:
                self._items.move_to_end(run_id)
                return self._items[run_id]
        return None

    def put(self, run_id: int, result) -> None:
        with self._lock:
            self._items[run_id] = result
            self._items.move_to_end(run_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, run_id: int) -> None:
        with self._lock:
            self._items.pop(run_id, None)


_results = _ResultCache()


def result_of(run: Run, store: RunStore | None = None):
    """The result object of a finished or stopped run: the live job's, or rebuilt from
    the stored model and figures. None if the run has no model."""
    job = RECORDER.job(run.id)
    if job is not None and job.has_result:
        return job.result
    if not run.has_model:
        return None
    cached = _results.get(run.id)
    if cached is not None:
        return cached
    lesson = lesson_for(run.page)
    if lesson is None:
        return None
    store = store or get_store()
    saved = Saved(store.load_model(run.id), store.load_arrays(run.id), run.summary, run.headline)
    result = lesson.load(lesson.spec_from(run.spec), saved)
    _results.put(run.id, result)
    return result


def unsaved_result(run_id: int):
    """The result of a run of this process that trained but could not be stored, else None."""
    job = RECORDER.job(run_id)
    if job is None or not job.save_error or not job.has_result:
        return None
    return job.result


def forget(run_id: int) -> None:
    _results.drop(run_id)


def delete(run_id: int, workspace: str, store: RunStore | None = None) -> str | None:
    """Delete a run of `workspace`, stopping its job first when it is still training:
    "deleted", "stopping" (hidden now, removed by the job's end) or None (no such run)."""
    store = store or get_store()
    if store.get(run_id, workspace) is None:
        return None
    outcome = store.delete(run_id, workspace)
    if outcome == "stopping" and (job := RECORDER.job(run_id)) is not None:
        job.cancel()
    forget(run_id)
    return outcome
