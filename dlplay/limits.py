"""Fair use on a shared server: what one visitor may run, and the checks.

Only with `DLPLAY_SHARED=1` (a server a class shares); on a personal machine there
are no limits. The limits, read from the environment each time they are checked:

- one active unit of work per visitor (workspace): a second Train in any tab is
  refused, naming the run still training and its page;
- `DLPLAY_MAX_WORK` training examples per unit of work (epochs × training images ×
  models trained, every run of a sequence counted; default 2,000,000 — the digit
  classifier's largest setting fits) and `DLPLAY_MAX_FITS` fits per search (grid
  settings × folds; default 400);
- `DLPLAY_MAX_JOB_S` seconds of training per unit of work (default 900; the runs of a
  sequence share them): then the run is stopped as Stop does, keeping its model;
- `DLPLAY_MAX_QUEUE` runs waiting for a worker (default 24): then a new one is refused
  with an estimate of when there will be room.

A lesson says how much work a spec is with `Lesson.work(spec) -> Work`. Every start
passes these checks in `dlplay.work`.

On every machine, shared or not, a run must fit in memory: `Lesson.cost(spec)`
(`dlplay.costs`) estimates its peak before it starts, and a run over
`DLPLAY_MAX_RUN_MB` (default: the machine's memory, less 2 GB for the server, × 0.7,
shared by the runs that may train at once) is refused naming what to lower — one
visitor's largest settings once OOM-killed a class's server. On a shared server a
training step may last at most `DLPLAY_MAX_STEP_S` seconds (default 4): Stop, a closed
tab and the time limit act between steps (or inside a model's forward pass), so a
minutes-long step would hold them all.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

from .jobs import CANCELLED, QUEUED, RUNNING, STOPPED, Job
from .places import shared

DEFAULTS = {"DLPLAY_MAX_WORK": 2_000_000, "DLPLAY_MAX_FITS": 400, "DLPLAY_MAX_JOB_S": 900, "DLPLAY_MAX_QUEUE": 24,
            "DLPLAY_MAX_STEP_S": 4}
SERVER_MB = 2048  # the server itself: Python, torch, Streamlit, cached datasets
# What estimates miss (`python -m dlplay.bench --only memory`): a CNN's step measured 1.42× its estimate, a
# sequence autoencoder's 2.0×, and runs copy their validation split (up to ~300 MB) before the first step.
MEMORY_MARGIN = 1.5  # a run's estimated peak may be the cap ÷ this
TIME_MARGIN = 3.0  # a run's estimated time may be this many times the time cap before it is refused


def _env_number(name: str) -> float:
    """A positive limit from the environment; a missing or unusable value gives the default."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return DEFAULTS[name]
    return value if math.isfinite(value) and value > 0 else DEFAULTS[name]


@dataclass(frozen=True)
class Limits:
    max_work: int  # training examples per run
    max_fits: int  # model fits per search
    max_job_s: float  # seconds of training per run
    max_queue: int  # runs waiting for a worker
    per_session: int = 1  # active runs per visitor (workspace)
    max_step_s: float = DEFAULTS["DLPLAY_MAX_STEP_S"]  # seconds one training step may take

    def cap(self, unit: str) -> int:
        return self.max_fits if unit == "fits" else self.max_work


def current() -> Limits | None:
    """The limits in force now: None on a personal machine."""
    if not shared():
        return None
    return Limits(int(_env_number("DLPLAY_MAX_WORK")), int(_env_number("DLPLAY_MAX_FITS")),
                  _env_number("DLPLAY_MAX_JOB_S"), int(_env_number("DLPLAY_MAX_QUEUE")),
                  max_step_s=_env_number("DLPLAY_MAX_STEP_S"))


# --- work ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Work:
    """How much a run trains: `count` of something the learner sets (epochs, grid
    settings), each costing `size` (training images, folds), `times` over (models
    trained one after another on the same images)."""

    count: int
    noun: str  # "epoch", "setting"
    size: int
    size_noun: str  # "training images", "folds"
    times: int = 1
    unit: str = "examples"  # "examples" (DLPLAY_MAX_WORK) or "fits" (DLPLAY_MAX_FITS)

    @property
    def amount(self) -> int:
        return self.count * self.size * self.times

    def _count(self, n: int) -> str:
        return f"{n:,} {self.noun}{'s' if n != 1 else ''}"

    def describe(self) -> str:
        models = f" × {self.times} models" if self.times > 1 else ""
        return f"{self._count(self.count)} × {self.size:,} {self.size_noun}{models} = {self.amount:,} {self.unit}"

    def biggest(self, cap: int) -> str:
        """The largest setting within `cap`, changing only `count` (or saying what else to lower)."""
        models = f" × {self.times} models" if self.times > 1 else ""
        most = cap // max(1, self.size * self.times)
        if most >= 1:
            return (f"{self._count(most)} with {self.size:,} {self.size_noun}{models} "
                    f"(fewer {self.size_noun} allow more)")
        return f"fewer {self.size_noun}: at most {cap // max(1, self.times):,} for one {self.noun}"


    @classmethod
    def together(cls, works: list["Work"]) -> "Work":
        """The work of several runs trained as one unit (a sequence, a sweep)."""
        first = works[0]
        if len(works) == 1:
            return first
        if all((w.count, w.size, w.unit) == (first.count, first.size, first.unit) for w in works):
            return cls(first.count, first.noun, first.size, first.size_noun, sum(w.times for w in works), first.unit)
        if all((w.size, w.unit) == (first.size, first.unit) for w in works):  # e.g. different epochs each
            return cls(sum(w.count * w.times for w in works), first.noun, first.size, first.size_noun,
                       unit=first.unit)
        return cls(sum(w.amount for w in works), first.unit.removesuffix("s"), 1, f"(all {len(works)} runs)",
                   unit=first.unit)


def training_images(dataset: str, n_train: int = 0, n_val: int = 0) -> int:
    """How many training images a spec uses: `n_train` (0 = all) of what is left after the
    validation hold-out, as `ImageData.split_validation` makes it."""
    from . import data

    total = len(data.load(dataset).x_train)
    left = total - min(n_val, total // 5)
    return min(n_train, left) if n_train else left


def over_budget(work: Work | None, limits: Limits) -> str | None:
    """Why `work` is refused, naming the biggest allowed setting; None if it fits."""
    if work is None:
        return None
    cap = limits.cap(work.unit)
    if work.amount <= cap:
        return None
    most = "one search may make at most" if work.unit == "fits" else "one run may train on at most"
    return (f"Too big for this shared server: {work.describe()}, and {most} {cap:,} {work.unit}. "
            f"The biggest setting allowed here: {work.biggest(cap)}.")


# --- memory and step time ----------------------------------------------------------------------

def max_run_mb() -> float:
    """Memory one run may use: `DLPLAY_MAX_RUN_MB`, else the machine's share per concurrent run."""
    from .costs import machine_mb

    try:
        given = float(os.environ.get("DLPLAY_MAX_RUN_MB", ""))
        if math.isfinite(given) and given > 0:
            return given
    except ValueError:
        pass
    workers = int(os.environ.get("DLPLAY_MAX_JOBS", "0") or 0) or os.cpu_count() or 1
    return max(256.0, (machine_mb() - SERVER_MB) * 0.7 / workers)


def too_costly(cost, limits: Limits | None) -> str | None:
    """Why a run of this `dlplay.costs.Cost` may not start: memory on any machine, a step's
    time on a shared server (`limits`); None if it may."""
    if cost is None:
        return None
    from .costs import duration as long_duration
    from .costs import gb

    cap = max_run_mb() / MEMORY_MARGIN
    if cost.peak_mb > cap:
        return (f"Too big for this machine's memory: this setting needs {cost.describe()}, and one run may use at "
                f"most {gb(cap)} here. Lower {cost.lower}.")
    if limits is None:
        return None
    if (step := cost.step_s()) > limits.max_step_s:
        return (f"Too slow for this shared server: one training step of this setting takes about {step:.0f} s "
                f"here, and Stop (or closing the tab) waits for the step in progress; a step may take at most "
                f"{limits.max_step_s:g} s. Lower {cost.lower}.")
    # The estimate errs long (up to 2.7× measured): only a run sure to overrun the cap is refused.
    if cost.steps and (total := step * cost.steps) > TIME_MARGIN * limits.max_job_s:
        return (f"Too long for this shared server: this setting would train for about {long_duration(total)} here, and "
                f"a run is stopped after {duration(limits.max_job_s)}. Lower {cost.lower}, or the epochs.")
    return None


def too_long_together(costs: list, limits: Limits) -> str | None:
    """Why runs trained as one unit, sharing the time cap, are sure to overrun it; None if not."""
    total = sum(c.step_s() * c.steps for c in costs if c is not None and c.steps)
    if total <= TIME_MARGIN * limits.max_job_s:
        return None
    from .costs import duration as long_duration

    lower = next(c.lower for c in costs if c is not None)
    return (f"Too long for this shared server: these {len(costs)} runs would train for about {long_duration(total)} "
            f"here, and together they are stopped after {duration(limits.max_job_s)}. Train fewer of them, or "
            f"lower {lower}, or the epochs.")


# --- jobs ---------------------------------------------------------------------------------------

def active_jobs(scheduler) -> list[Job]:
    if hasattr(scheduler, "active_jobs"):
        return scheduler.active_jobs()
    with scheduler._cond:  # noqa: SLF001 - schedulers without `active_jobs`
        return [j for j in scheduler._jobs.values() if j.is_active]  # noqa: SLF001


def busy_elsewhere(scheduler, session_id: str, limits: Limits, replacing: Job | None = None,
                   workspace: str | None = None) -> str | None:
    """Why this visitor may not start another run (the one it replaces aside); None if it
    may. A visitor is a workspace, so every tab of one browser counts together (a session
    alone when the work has no workspace)."""
    jobs = scheduler.jobs_of_workspace(workspace) if workspace is not None else scheduler.jobs_for(session_id)
    # A job being stopped ends at its next step: it doesn't count.
    mine = [j for j in jobs if j.is_active and not j.stop_requested and j is not replacing]
    if len(mine) < limits.per_session:
        return None
    job = mine[0]
    what = f"Run {job.run_id} on {job.name}" if job.run_id is not None else f"A job on {job.name}"
    where = " (in another tab)" if job.session_id != session_id else ""
    return (f"{what}{where} is still training — stop it or wait, then train here. On this shared server each "
            f"visitor trains {'one run' if limits.per_session == 1 else f'{limits.per_session} runs'} at a time.")


def remaining_s(job: Job, limits: Limits) -> float:
    """A running job's time left: from its progress so far, and never past the time limit."""
    elapsed = job.elapsed()
    left = limits.max_job_s - elapsed
    if job.progress > 0.01:
        left = min(left, elapsed * (1 - job.progress) / job.progress)
    return max(0.0, left)


def queue_full(scheduler, limits: Limits) -> str | None:
    """Why a new run can't even wait in the queue, with when to try again; None if it can."""
    jobs = active_jobs(scheduler)
    waiting = [j for j in jobs if j.state == QUEUED]
    if len(waiting) < limits.max_queue:
        return None
    running = [j for j in jobs if j.state == RUNNING]
    # The queue moves on when the first running job ends.
    minutes = max(1, math.ceil(min((remaining_s(j, limits) for j in running), default=limits.max_job_s) / 60))
    runs = f"{len(running)} run{'s' if len(running) != 1 else ''} training, {len(waiting)} waiting"
    return f"The server is full ({runs}): try again in about {minutes} minute{'s' if minutes != 1 else ''}."


def refusal(work: Work | None, scheduler, session_id: str, replacing: Job | None = None,
            limits: Limits | None = None, workspace: str | None = None, costs: tuple = ()) -> str | None:
    """Why new work (`work` in all, one `dlplay.costs.Cost` per run of it) may not start here;
    None if it may. On a personal machine only each run's memory is checked. Check and submit
    under `START_LOCK`, so tabs pressing Train at once can't all pass."""
    limits = limits or current()
    costly = next((why for cost in costs if (why := too_costly(cost, limits))), None)
    if limits is None:
        return costly
    return (busy_elsewhere(scheduler, session_id, limits, replacing, workspace) or over_budget(work, limits)
            or costly or (too_long_together(costs, limits) if len(costs) > 1 else None)
            or queue_full(scheduler, limits))


# Held from a start's fair-use check until its job is submitted.
START_LOCK = threading.RLock()


# --- the time limit -------------------------------------------------------------------------

def duration(seconds: float) -> str:
    if seconds >= 60:
        minutes = seconds / 60
        return f"{minutes:.0f} min" if minutes == round(minutes) else f"{minutes:.1f} min"
    return f"{seconds:g} s"


def limit_note(limit_s: float, note: str | None) -> str:
    """The note of a run stopped at the time limit, from its own stop note: "stopped at the
    server's limit of 15 min, at epoch 7 of 15 (step 3,000)"."""
    head = f"stopped at the server's limit of {duration(limit_s)}"
    rest = (note or "").removeprefix("stopped ").strip()
    return f"{head}, {rest}" if rest and rest != "by user" else head


class Timekeeper:
    """Stops jobs that have trained longer than they may, as Stop does (they keep their
    model), and rewrites their note to say why. One thread for all jobs, checking twice
    a second: time in the queue does not count."""

    def __init__(self, period: float = 0.5):
        self.period = period
        self._jobs: dict[str, tuple[Job, float]] = {}
        self._stopped: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, job: Job, max_s: float, on_note=None, limit_s: float | None = None) -> None:
        """Stop `job` after `max_s` seconds of running; `on_note(job, note)` once it has ended so.
        `limit_s`: the limit its note names (a run of a sequence gets what the runs before it left)."""
        job.on_finish(lambda j: self._ended(j, max_s if limit_s is None else limit_s, on_note))
        with self._lock:
            self._jobs[job.id] = (job, max_s)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="dlplay-timekeeper", daemon=True)
                self._thread.start()

    def check(self) -> None:
        now = time.time()
        with self._lock:
            entries = list(self._jobs.values())
        for job, max_s in entries:
            if not job.is_active:
                with self._lock:
                    self._jobs.pop(job.id, None)
            elif job.started is not None and now - job.started > max_s and not job.stop_requested:
                with self._lock:
                    self._stopped.add(job.id)
                job.cancel()
                if not job.is_active:  # it had just ended on its own: nothing to rewrite
                    with self._lock:
                        self._stopped.discard(job.id)

    def _ended(self, job: Job, max_s: float, on_note) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
            if job.id not in self._stopped:
                return
            self._stopped.discard(job.id)
        if job.state == STOPPED:
            note = limit_note(max_s, job.stop_note)
        elif job.state == CANCELLED:
            note = f"stopped at the server's limit of {duration(max_s)} before the first step finished: nothing learned"
        else:
            return
        job.stop_note = job.status = note
        if on_note is not None:
            on_note(job, note)

    def _loop(self) -> None:
        while True:
            time.sleep(self.period)
            self.check()


TIMEKEEPER = Timekeeper()
