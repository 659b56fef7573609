"""Streamlit glue every page shares: the session's job handle, Train/Stop controls,
the live fragment that redraws while a job runs, and dataset loading with its source.

Only widgets and rendering live here; the work itself is in `dlplay`.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable

import streamlit as st

from dlplay import data, limits, visible
from dlplay import work as start_work
from dlplay.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, STOPPED, Job
from dlplay_app.ui.shown import current, current_job, finished_result  # noqa: F401 - re-exported: pages import them from here
from dlplay_app.ui.workspace import session_id, shared_server, visitor  # noqa: F401 - session_id re-exported for pages

log = logging.getLogger(__name__)
REFRESH_S = float(os.environ.get("DLPLAY_REFRESH_S", "0.5"))  # live redraw period (s)


def start_job(key: str, fn: Callable[[Job], Any], name: str, work: limits.Work | None = None) -> Job | None:
    """Start `fn(job)` under `key` (`dlplay.work`: the limits, the time cap, the scheduler); a
    previous job under the same key is stopped first. A refused start shows why (None)."""
    old = current_job(key)
    try:
        job = start_work.start_job(visitor(), fn, name, work=work,
                                   replacing=old if old is not None and old.is_active else None)
    except start_work.Refused as exc:
        st.warning(exc.reason, icon=":material/block:")
        return None
    st.session_state[f"job:{key}"] = job.id
    st.session_state.pop(f"run:{key}", None)
    st.session_state.pop(f"job-shown:{key}", None)
    return job


def train_stop_buttons(key: str, start: Callable[[], Any], label: str = "Train",
                       disabled: bool = False) -> Job | None:
    """Train / Stop side by side; returns the session's job under `key`.

    A click is acted on before the buttons are drawn (a button's value is in session
    state from the start of the run it triggers), so the same run shows the new state:
    no extra rerun between the click and the first live chart, and `start` sees the
    widget values of this run."""
    if st.session_state.get(f"{key}-train") and not disabled:
        start()
    if st.session_state.get(f"{key}-stop") and (job := current_job(key)) is not None:
        job.cancel()
        job.wait(5.0)  # a stopped run still measures the model it keeps (about a second)
    job = current_job(key)
    active = job is not None and job.is_active
    c1, c2, _ = st.columns([1, 1, 4])
    c1.button(label, key=f"{key}-train", type="primary", disabled=active or disabled, width="stretch")
    c2.button("Stop", key=f"{key}-stop", disabled=not active, width="stretch")
    return job


def job_status(job) -> None:
    """Progress, queue position, and any error in words a learner can act on (a Job or
    a RunView)."""
    if not job.is_active:
        for warning in getattr(job, "warnings", ()):
            st.warning(visible.text(warning), icon=":material/warning:")
    if (unsaved := getattr(getattr(job, "job", job), "save_error", None)) and not job.is_active:
        st.warning(visible.text(unsaved), icon=":material/save:")  # trained, kept in memory, not stored
    if job.state == QUEUED:
        pos = job.queue_position()
        st.info(f"Waiting for a free worker — position {pos} in the queue." if pos else "Starting…")
    elif job.state == RUNNING:
        st.progress(job.progress, text=f"{job.status} · {job.elapsed():.1f} s")
    elif job.state == DONE:
        st.progress(1.0, text=f"Finished in {job.elapsed():.1f} s")
    elif job.state == STOPPED:
        st.info(f"{job.status[:1].upper()}{job.status[1:]}. The model as it was then is kept: everything "
                "below works on it as on a finished run.", icon=":material/stop_circle:")
    elif job.state == CANCELLED:
        if job.started is None:
            st.warning("Cancelled before it started: nothing was trained.")
        else:
            st.warning(f"Stopped ({job.status}).")
    elif job.state == "interrupted":
        st.warning("Interrupted: the server stopped while this run was active. Its curves up to then are "
                   "shown; press Train to run it again.")
    elif job.state == FAILED:
        st.error(visible.text(job.error) if job.error else "The run failed.")  # an OSError names its file
        if job.error_detail:
            _log_failure(job)
            if shared_server():  # a traceback names server paths: on a shared server it stays in the log
                st.caption("Technical details are in the server log.")
            else:
                with st.expander("Technical details"):
                    st.code(job.error_detail)


_logged_failures: set = set()


def _log_failure(job) -> None:
    """The failure's traceback in the server log, once per job (pages redraw it often)."""
    live_job = job if isinstance(job, Job) else getattr(job, "job", None)
    key = live_job.id if live_job is not None else id(job)
    if key not in _logged_failures:
        _logged_failures.add(key)
        log.error("job %s failed: %s\n%s", key, job.error, job.error_detail)


def live(key: str, render: Callable[[Job], None], every: float = REFRESH_S) -> None:
    """Call `render(job)` now and, while the job runs, every `every` seconds inside a
    fragment (only this part of the page reruns). When the job ends the whole page
    reruns once so results drawn outside the fragment appear."""
    shown = current(key)
    if shown is None:
        return

    def body():
        j = current(key)
        if j is None:
            return
        if j.is_active and not j.metrics():
            # Just started: wait briefly for the first point rather than a whole refresh
            # period, so the curve appears well within a second of the click.
            j.wait_for_events(0, timeout=every, kind="metric")
        job_status(j)
        if j.state == QUEUED:
            return  # no empty axes while waiting: the queue place says it all
        render(j)
        live_job = j if isinstance(j, Job) else j.job
        if live_job is not None and not j.is_active and st.session_state.get(f"job-shown:{key}") != j.id:
            st.session_state[f"job-shown:{key}"] = j.id
            if j.state in (DONE, STOPPED, FAILED, CANCELLED) and j.started is not None:
                st.rerun()  # results drawn outside the fragment appear now

    st.fragment(body, run_every=every if shown.is_active else None)()


def _load_with_progress(name: str) -> data.ImageData:
    """`data.load` with a progress bar (only a download reports progress); a failure other
    than a missing dataset is logged and becomes DatasetUnavailable in plain words."""
    slot = st.empty()
    try:
        return data.load(name, progress=lambda f, msg: slot.progress(min(1.0, f), text=msg))
    except (data.DatasetUnavailable, KeyError):
        raise
    except Exception as exc:  # noqa: BLE001 - no traceback with server paths on the page
        log.exception("loading dataset %s failed", name)
        raise data.DatasetUnavailable(
            f"{data.TITLES.get(name, name)} could not be loaded ({type(exc).__name__}); the details are in "
            "the server log. Try another dataset.") from exc
    finally:
        slot.empty()


def load_dataset(name: str) -> data.ImageData:
    """Load with a progress bar and show where the data came from; a missing dataset
    stops the page with a message saying what to put where, and a broken file is named
    (with what to do) next to the note on the source used instead."""
    try:
        ds = _load_with_progress(name)
    except (data.DatasetUnavailable, KeyError) as exc:
        st.error(visible.text(str(exc).strip("'\"")))
        st.stop()
    problems = [f"**{p}.**" for p in ds.extra.get("problems", [])]
    if note := "\n\n".join(problems + [ds.extra.get("fallback_note", "")]).strip():
        st.warning(visible.text(note), icon=":material/warning:")
    st.caption(f"📦 {visible.text(ds.summary())}")
    return ds


def dataset_selectbox(options: list[str], key: str, label: str = "Dataset") -> str:
    """A dataset setting (kept across pages and in the URL, like every setting)."""
    from dlplay_app.ui.settings import KEEP

    return st.selectbox(label, options, format_func=lambda n: data.TITLES.get(n, n), key=key, **KEEP)


def lr_slider(key: str, default: float = 3e-3, label: str = "Learning rate") -> float:
    from dlplay_app.ui.settings import KEEP

    values = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
    return st.select_slider(label, values, value=default, key=key, format_func=lambda v: f"{v:g}", **KEEP,
                            help="Too small: slow progress. Too large: the loss jumps around or becomes NaN.")


def train_size_slider(label: str, options: list[int], value: int, key: str, dataset: str,
                      help: str | None = None) -> int:
    """How many training images to use (0 = all). Sizes the dataset doesn't have are not
    offered: with the bundled 4,000-image sample, 10,000 and 20,000 disappear."""
    from dlplay_app.ui.settings import KEEP

    try:
        available = len(data.load(dataset).x_train)
    except Exception:  # noqa: BLE001 - a missing dataset is reported by load_dataset below
        available = None
    sizes = [n for n in options if n == 0 or available is None or n < available]
    if value not in sizes:
        value = sizes[-1] if 0 not in sizes else 0
    default = {"value": value}
    if st.session_state.get(key) is not None and st.session_state[key] not in sizes:
        st.session_state[key] = value  # kept from another dataset, which had more images
        default = {}  # set through session state: passing a value too would warn on the page
    fmt = (lambda n: f"{n:,}" if n else f"all ({available:,})" if available else "all")
    return st.select_slider(label, sizes, key=key, format_func=fmt, help=help, **default, **KEEP)
