"""The run a page shows, in Streamlit terms: the visitor's workspace, starting a run
with the page's settings, reopening a stored run, and the line that says whose
results these are.

A page shows one run at a time: the one it last started in this session, or the one
reopened from the Runs page (`st.session_state["run:<KEY>"]` holds its id). Its
results come from the run — its own spec, data and model — never from the widgets.
"""
from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from dlplay import limits, runs, work
from dlplay.jobs import get_scheduler
from dlplay.runs import specs
from dlplay_app.ui import repeats as repeat_ui
from dlplay_app.ui.live import current, train_stop_buttons
from dlplay_app.ui.notes import note_box
from dlplay_app.ui.settings import setup_link
from dlplay_app.ui.shown import RunView, current_run  # noqa: F401 - re-exported: pages import them from here
from dlplay_app.ui.workspace import session_id, shared_server, visitor, workspace  # noqa: F401 - re-exported: pages import them from here

log = logging.getLogger(__name__)
URL = "_url"  # in a run's settings: the page's settings as its address bar spelled them (bound widgets)


# --- settings ---------------------------------------------------------------------------------

def setting_keys(prefix: str) -> list[str]:
    """Widget keys of the page's settings: its widgets drawn with `persist_state`
    (see `ui.settings.KEEP`), e.g. "mlp-lr"."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    state = get_session_state()._state  # noqa: SLF001 - the metadata says which widgets are settings
    widgets = state._new_widget_state.widget_metadata  # noqa: SLF001
    keys = []
    for key in list(st.session_state.keys()):
        if not str(key).startswith(f"{prefix}-"):
            continue
        wid = state._key_id_mapper.get_id_from_key(key, None)  # noqa: SLF001
        meta = widgets.get(wid) if wid else None
        if meta is not None and getattr(meta, "persist_state", None):
            keys.append(key)
    return sorted(keys)


def settings_snapshot(prefix: str) -> dict[str, Any]:
    settings = {k: _plain(st.session_state[k]) for k in setting_keys(prefix)}
    # Widgets write their own spelling into the URL (a select box its formatted option):
    # kept as it is, so a reopened run's page gets its link to the setup back.
    settings[URL] = {k: st.query_params.get_all(k) for k in st.query_params if k.startswith(f"{prefix}-")}
    return settings


def restore_settings(run: runs.Run) -> None:
    """The run's settings back into its page's widgets (drawn after this)."""
    for name, value in run.settings.items():
        if name.startswith("_"):  # the URL's spelling, a sequence's record: not widgets
            continue
        try:
            st.session_state[name] = value
        except Exception:  # noqa: BLE001 - a setting that no longer exists is skipped
            pass


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def refused(exc: work.Refused) -> None:
    """Why work did not start, where its button is."""
    if exc.store:
        st.error(exc.reason, icon=":material/database:")
    else:
        st.warning(exc.reason, icon=":material/block:")


def start_run(key: str, lesson: runs.Lesson, spec, ds=None, seeds: int = 1) -> RunView | None:
    """Start `lesson` with `spec` as a new run of this page — or, with `seeds` > 1, that many runs of it, one
    seed each, as one unit (`ui.repeats`) — through `dlplay.work` (the limits, the store, the scheduler); the
    page's previous run, if still active, is stopped first (it keeps what it learned) and the page says so. A
    refused start is not started, and the page says why (returns None)."""
    old = current_run(key)
    replacing = old if old is not None and old.is_active else None
    try:
        if seeds > 1:
            run, job = repeat_ui.start(key, lesson, spec, seeds, ds, settings_snapshot(key),
                                       replacing.job if replacing is not None else None)
        else:
            run, job = work.start_run(visitor(), lesson, spec, settings=settings_snapshot(key), ds=ds,
                                      replacing=replacing.job if replacing is not None else None)
            st.session_state.pop(f"{key}-repeats", None)
    except work.Refused as exc:
        refused(exc)
        return None
    st.session_state[f"run:{key}"] = run.id
    st.session_state.pop(f"job-shown:{key}", None)
    if replacing is not None:
        st.info(f"Run {replacing.id} was still training: it stopped, keeping what it learned, and run {run.id} "
                "replaces it.", icon=":material/swap_horiz:")
    return RunView(run, job)


def cost_refusal(lesson: runs.Lesson, spec) -> str | None:
    """Why this run's estimated memory or step time is too much here; None if it fits."""
    return limits.too_costly(work.estimate(lesson, spec), limits.current())


def estimate_line(lesson: runs.Lesson, spec) -> None:
    """The run's estimated memory and time, under its Train button."""
    if (cost := work.estimate(lesson, spec)) is not None:
        st.caption(f"⏱️ {cost.line()}")


def open_page(key: str, newest: bool = False) -> None:
    """Call first on a page, before its widgets: a run reopened from the Runs page
    brings its settings back into the widgets and becomes the page's run. After a reload, the
    page shows its last run (`adopt_last`; `newest`: whatever settings the address bar holds)."""
    adopt_orphan(key)  # a reloaded tab takes over the run its old tab left training
    adopt_last(key, newest)  # …or shows the last run of the setup in its address bar
    request = st.session_state.get("_dlplay_reopen")
    if not request or request.get("page") != key:
        return
    st.session_state.pop("_dlplay_reopen")
    run = runs.get_store().get(request["run"], workspace())
    if run is None:
        return
    restore_settings(run)
    st.session_state[f"run:{key}"] = run.id


def reopen(run: runs.Run) -> None:
    """From the Runs page: switch to the run's page with its settings and results."""
    lesson = runs.lesson_for(run.page)
    if (seq := run.settings.get("_sequence")) and seq.get("page"):  # one of several trained together
        st.session_state["_dlplay_reopen_sequence"] = {"key": seq["key"], "id": seq["id"]}
        st.switch_page(seq["page"])
    st.session_state["_dlplay_reopen"] = {"page": run.page, "run": run.id}
    # Bound widgets write the URL only when the user changes them, and st.query_params
    # refuses bound keys: the run's settings reach the address bar through the switch.
    query = dict(run.settings.get(URL, {}))
    st.switch_page(lesson.path, query_params=query)


def run_header(view: RunView, spec=None) -> bool:
    """Whose results these are; with `spec` (the settings on screen), whether they differ
    from the run's — then a notice. Returns True when the settings are the run's."""
    run = runs.get_store().get(view.id) or view.run
    st.markdown(f"<div class='dl-run-label'>📌 <b>{run.label()}</b></div>", unsafe_allow_html=True)
    note_box(run, run.page)
    current = spec is None or specs.same(spec, run.spec)
    if not current:
        st.info(f"Settings changed since run {run.id} — press **Train** to apply them. "
                f"Everything below is run {run.id}'s, with the settings and data it trained on.",
                icon=":material/tune:")
    return current


def run_spec(view: RunView, lesson: runs.Lesson):
    """The spec the run trained with (not the one on screen)."""
    return lesson.spec_from(view.run.spec)


def adopt_orphan(key: str) -> None:
    """A page with no run of its own adopts its workspace's run of this page that is
    still training for a tab that has gone (a reload, within the grace period before
    `dlplay.sessions` stops it): the run becomes this session's, shown live and
    stoppable here, with its settings back in the widgets."""
    from dlplay.sessions import orphaned_jobs

    if f"run:{key}" in st.session_state or st.session_state.get("_dlplay_reopen"):
        return
    for job in orphaned_jobs():
        run = runs.get_store().get(job.run_id, workspace()) if job.run_id is not None else None
        if run is None or run.page != key or not get_scheduler().adopt(job, session_id()):
            continue
        restore_settings(run)
        st.session_state[f"run:{key}"] = run.id
        return


def adopt_last(key: str, newest: bool = False) -> None:
    """Once per session, a page with no run of its own shows the workspace's newest finished
    run of this page trained with the settings in its address bar: a reload (or a bookmark of
    the setup) brings back what was trained, not an empty page. A run of a sequence is shown
    by its sequence (`ui.sequence`). With `newest`, the newest finished run whatever the address
    bar says: on the text pages it moves on as the learner explores (the word whose neighbours
    to show, the analogy's words), so after "king − man + woman" became "queen" the word2vec
    just trained was no longer found; the "Settings changed since run N" notice says when the
    settings on screen are not that run's."""
    ss = st.session_state
    if f"run:{key}" in ss or ss.get("_dlplay_reopen") or ss.get(f"_last-shown:{key}"):
        return
    try:
        mine = runs.get_store().list(workspace(), page=key)
    except Exception:  # noqa: BLE001 - no store: nothing to show, the page still works (its Train says why)
        return
    if any(run.is_active for run in mine):
        return  # a reloaded tab's run still training: `adopt_orphan` takes it once its old tab is gone
    ss[f"_last-shown:{key}"] = True
    address = {k: st.query_params.get_all(k) for k in st.query_params if k.startswith(f"{key}-")}
    for run in mine:  # newest first
        if not run.settings.get("_sequence") and (newest or (run.settings.get(URL) or {}) == address):
            ss[f"run:{key}"] = run.id
            return


def run_controls(key: str, lesson: runs.Lesson, spec, ds=None, *, label: str = "Train",
                 disabled: bool = False, compare_as=None) -> RunView | None:
    """What every trainable page draws under its settings: how many seeds, Train/Stop for a new run of
    `spec` (or a group of seed repeats), the line saying whose results the page shows (with a notice when
    the settings on screen are no longer that run's; `compare_as(run_view)` adjusts the spec compared, for
    settings that don't make a different run), the group's mean curve and spread, and the link to this
    setup."""
    repeat_ui.follow(key)  # a group in training: the page shows its run in training
    c, _ = st.columns([1, 4])
    with c:
        n = repeat_ui.seeds_box(key, spec)
    train_stop_buttons(key, lambda: start_run(key, lesson, spec, ds, seeds=n), label=label, disabled=disabled)
    estimate_line(lesson, spec)
    shown = current(key)
    if shown is not None:
        compared = spec if compare_as is None else compare_as(shown)
        group = runs.repeats.group_of(shown.run) if isinstance(shown, RunView) else None
        if group is not None:  # a seed repeat of the setting on screen is that setting
            compared = runs.repeats.with_seed(compared, group["seed"])
        run_header(shown, compared)
        if group is not None:
            repeat_ui.panel(key, lesson, runs.get_store().get(shown.id) or shown.run)
    setup_link(key)
    return shown
