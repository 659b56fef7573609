"""The one way to start work a visitor asks for: a run, runs trained one after another
(Compare CNNs, the forgetting remedies, a search's comparison, the playground's sweep) and
jobs that are not runs (gradient ascent).

Every start passes the same checks, under one lock so a visitor's tabs pressing Train
together can't all pass (`dlplay.limits`): the run store can keep what is trained; on a
shared server one active unit of work per visitor, the work cap on the *whole* unit (every
run of a sequence counted), the queue cap; on every machine each run's estimated memory.
Then its runs are recorded in the run store and handed to the scheduler (threads here,
Ray with `DLPLAY_RAY_ADDRESS`), and the shared server's time cap watches the unit: its
runs share `DLPLAY_MAX_JOB_S` seconds of training, after which the run in progress stops
as Stop does (keeping its model) and nothing more of the unit starts.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from . import limits, runs
from .jobs import Job, get_scheduler
from .runs import specs as spec_codec
from .runs.sequence import Sequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visitor:
    """Who starts the work: the workspace owns its runs, the session (a browser tab) its jobs."""

    workspace: str
    session_id: str


class Refused(Exception):
    """Work that may not start; the message says why in words for the visitor. `store`:
    refused because the run store can't keep what would be trained."""

    def __init__(self, reason: str, store: bool = False):
        super().__init__(reason)
        self.reason, self.store = reason, store


def start_runs(visitor: Visitor, lesson: runs.Lesson, specs: list, *, settings: Any = None, ds: Any = None,
               replacing: Job | None = None, prepare: Callable[[list], list] | None = None) -> Sequence:
    """Train `specs` of `lesson`, one run each, one after another; returns the `Sequence`
    (its first run already submitted). `settings`: stored with each run, a dict or a
    function (place, the specs trained) → dict; `ds`: the data, or a function spec → data; `replacing`:
    the visitor's job this one replaces (stopped, keeping its model, once the start is
    allowed); `prepare(specs)`: the specs to train, worked out once the start is allowed
    (a download; an empty list starts nothing). Raises `Refused`."""
    specs = list(specs)
    if not specs:
        raise ValueError("nothing to train")
    refuse_store()
    with limits.START_LOCK:
        refuse(visitor, _total_work(lesson, specs), [estimate(lesson, s) for s in specs], replacing)
        todo = prepare(list(specs)) if prepare is not None else specs
        if replacing is not None and replacing.is_active:
            replacing.cancel()
        seq = Sequence(todo, _starter(visitor, lesson, todo, settings, ds))
        return seq.start() if todo else seq


def start_run(visitor: Visitor, lesson: runs.Lesson, spec, **kwargs) -> tuple[runs.Run, Job]:
    """One run (`start_runs` of one spec); returns the stored run and its job. Raises `Refused`."""
    seq = start_runs(visitor, lesson, [spec], **kwargs)
    if seq.error is not None or not seq.jobs:
        raise RuntimeError(seq.error or "the run did not start")
    return runs.get_store().get(seq.run_ids[0]), seq.jobs[0]


def start_job(visitor: Visitor, fn: Callable[[Job], Any], name: str, *, work: limits.Work | None = None,
              replacing: Job | None = None) -> Job:
    """Work that is not a stored run (gradient ascent): the same checks and time cap.
    Raises `Refused`."""
    with limits.START_LOCK:
        refuse(visitor, work, [], replacing)
        if replacing is not None and replacing.is_active:
            replacing.cancel()
        job = get_scheduler().submit(fn, session_id=visitor.session_id, name=name, workspace=visitor.workspace)
    _watch_time(job, 0.0)
    return job


def refuse(visitor: Visitor, work: limits.Work | None, costs: list, replacing: Job | None = None) -> None:
    """Raise `Refused` if the visitor may not start this work now (call under START_LOCK)."""
    if why := limits.refusal(work, get_scheduler(), visitor.session_id, replacing, workspace=visitor.workspace,
                             costs=tuple(costs)):
        raise Refused(why)


def refuse_store() -> None:
    """Raise `Refused` when the run store can't keep what would be trained."""
    try:
        problem = runs.get_store().writable()
    except Exception as exc:  # noqa: BLE001 - a store that can't even be opened
        problem = f"the run store can't be opened ({runs.store.store_problem(exc)})"
    if problem is not None:
        raise Refused(f"Training can't start: {problem}, so nothing trained now could be kept. "
                      "Ask whoever runs this server to make room or fix the run store, then press Train again.",
                      store=True)


_costs: OrderedDict = OrderedDict()
_costs_lock = threading.Lock()


def estimate(lesson: runs.Lesson, spec):
    """The run's `dlplay.costs.Cost` (None if the lesson doesn't size its runs), kept for the
    newest specs: pages redraw often, and sizing a big recurrent net takes a second or two."""
    if lesson.cost is None:
        return None
    key = (lesson.page, json.dumps(spec_codec.to_dict(spec), sort_keys=True, default=str))
    with _costs_lock:
        if key in _costs:
            _costs.move_to_end(key)
            return _costs[key]
    try:
        cost = lesson.cost(spec)
    except Exception as exc:  # noqa: BLE001 - a spec it can't size (its data missing) fails the run itself, with its message
        log.info("no estimate for a %s run: %s: %s", lesson.page, type(exc).__name__, exc)
        cost = None
    with _costs_lock:
        _costs[key] = cost
        while len(_costs) > 256:
            _costs.popitem(last=False)
    return cost


def _total_work(lesson: runs.Lesson, specs: list) -> limits.Work | None:
    """How much the whole unit trains: its runs' work together (None if not counted)."""
    if limits.current() is None or lesson.work is None:
        return None
    try:
        works = [lesson.work(s) for s in specs]
    except Exception:  # noqa: BLE001 - data it can't be sized on fails the run itself, with its message
        return None
    if any(w is None for w in works):
        return None
    return limits.Work.together(works)


def _starter(visitor: Visitor, lesson: runs.Lesson, todo: list, settings, ds):
    """How a unit starts each of its runs: recorded, submitted, and on the unit's clock."""
    jobs: list[Job] = []

    def start_one(spec):
        data = ds(spec) if callable(ds) else ds
        tags = settings(len(jobs), todo) if callable(settings) else settings
        run, job = runs.start(lesson, spec, workspace=visitor.workspace, session_id=visitor.session_id,
                              settings=tags, ds=data)
        _watch_time(job, sum(j.elapsed() for j in jobs))
        jobs.append(job)
        return run.id, job

    return start_one


def _watch_time(job: Job, used_s: float) -> None:
    """On a shared server, stop `job` when its unit's training time reaches the cap."""
    if (rules := limits.current()) is not None:
        limits.TIMEKEEPER.watch(job, max(0.0, rules.max_job_s - used_s), on_note=_note_limit, limit_s=rules.max_job_s)


def _note_limit(job: Job, note: str) -> None:
    """A run stopped at the server's time limit says so in the store too."""
    if job.run_id is not None:
        runs.get_store().update(job.run_id, status=note)
