"""What a page shows: its run (a stored run with its live job, read like a job) or a plain
job, from the session's state — for the widgets (`ui.live`) and for starting work (`ui.runs`)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dlplay import runs
from dlplay.jobs import Job, get_scheduler
from dlplay_app.ui.workspace import workspace


class RunView:
    """A stored run with its live job when this process runs it; reads like a Job for
    the pages' live renderers (metrics, latest, is_active, state…)."""

    def __init__(self, run: runs.Run, job: Job | None):
        self.run, self.job = run, job

    @property
    def id(self) -> int:
        return self.run.id

    @property
    def state(self) -> str:
        return self.job.state if self.job is not None else self.run.state

    @property
    def status(self) -> str:
        return self.job.status if self.job is not None else self.run.status

    @property
    def is_active(self) -> bool:
        return self.job.is_active if self.job is not None else False

    @property
    def progress(self) -> float:
        return self.job.progress if self.job is not None else (1.0 if self.run.state == runs.DONE else 0.0)

    @property
    def warnings(self) -> list[str]:
        if self.job is not None:
            return self.job.warnings
        status = self.run.status or ""
        return [status.removeprefix(runs.record.WARNED)] if status.startswith(runs.record.WARNED) else []

    @property
    def error(self) -> str | None:
        return self.job.error if self.job is not None else (self.run.status if self.run.state == runs.FAILED else None)

    @property
    def error_detail(self) -> str | None:
        return self.job.error_detail if self.job is not None else None

    @property
    def started(self):
        return self.job.started if self.job is not None else self.run.started

    def elapsed(self) -> float:
        return self.job.elapsed() if self.job is not None else (self.run.duration() or 0.0)

    def queue_position(self) -> int | None:
        return self.job.queue_position() if self.job is not None else None

    def metrics(self) -> list[dict]:
        if self.job is not None:
            return self.job.metrics()
        return runs.get_store().metrics(self.run.id)

    def latest(self, name: str, default: Any = None) -> Any:
        return self.job.latest(name, default) if self.job is not None else default

    def wait_for_events(self, *args, **kwargs) -> bool:
        return self.job.wait_for_events(*args, **kwargs) if self.job is not None else False

    def result(self):
        """What the run learned (finished, or stopped with its model), else None."""
        if self.job is not None:
            if self.job.is_active:
                return None
            if self.job.has_result:
                return self.job.result
        run = runs.get_store().get(self.run.id) or self.run  # the job may have just written it
        return runs.result_of(run) if run.state in (runs.DONE, runs.STOPPED) else None

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()


def current_run(key: str) -> RunView | None:
    run_id = st.session_state.get(f"run:{key}")
    if run_id is None:
        return None
    run = runs.get_store().get(run_id, workspace())
    if run is None:  # deleted on the Runs page
        st.session_state.pop(f"run:{key}", None)
        return None
    return RunView(run, runs.RECORDER.job(run.id))



def current_job(key: str) -> Job | None:
    """The live job under `key`: the page's run's, or a plain job's (pages without runs)."""
    if f"run:{key}" in st.session_state:
        view = current_run(key)
        return view.job if view is not None else None
    return get_scheduler().get(st.session_state.get(f"job:{key}"))


def current(key: str):
    """What the page shows under `key`: its run (a RunView) or a plain job; None if neither."""
    if f"run:{key}" in st.session_state:
        return current_run(key)
    return get_scheduler().get(st.session_state.get(f"job:{key}"))


def finished_result(key: str) -> Any:
    """What the page's run (or job) learned: finished, or stopped with its model; else None."""
    shown = current(key)
    if shown is None:
        return None
    if isinstance(shown, Job):
        return shown.result if shown.has_result else None
    return shown.result()
