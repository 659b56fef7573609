"""Train/Stop for a page that trains several runs one after another (`dlplay.runs.sequence`):
Compare CNNs, the forgetting remedies, exact vs rounded labels, the transfer strategies."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import streamlit as st

from dlplay import runs, work
from dlplay.runs.sequence import Sequence
from dlplay_app.ui.runs import refused, visitor, workspace


SEQ = "_sequence"  # in each run's settings: the sequence it belongs to (id, page, place, every spec)
REOPEN = "_dlplay_reopen_sequence"


def sequence_of(key: str) -> Sequence | None:
    """The page's sequence of runs: the one started or reopened in this session, else the
    workspace's newest sequence of this page (after a reload, or a restart): a sequence is
    stored with its runs and comes back as a whole."""
    request = st.session_state.get(REOPEN)
    if request and request.get("key") == key:
        st.session_state.pop(REOPEN)
        if (seq := stored_sequence(key, request["id"])) is not None:
            st.session_state[f"{key}-sequence"] = seq
            st.session_state.pop(f"run:{key}", None)
    if f"{key}-sequence" not in st.session_state:  # a run reopened alone (`run:<key>`) is shown alone
        st.session_state[f"{key}-sequence"] = None if f"run:{key}" in st.session_state else stored_sequence(key)
    return st.session_state[f"{key}-sequence"]


def stored_sequence(key: str, seq_id: str | None = None) -> Sequence | None:
    """A finished (or interrupted) sequence of this page from the store, as a `Sequence` whose
    runs are read back from the store; the newest one, or the one with `seq_id`."""
    mine = [r for r in runs.get_store().list(workspace()) if (r.settings.get(SEQ) or {}).get("key") == key]
    if seq_id is None and mine:
        seq_id = mine[0].settings[SEQ]["id"]
    members = sorted((r for r in mine if r.settings[SEQ]["id"] == seq_id), key=lambda r: r.settings[SEQ]["i"])
    if not members:
        return None
    lesson = runs.lesson_for(members[0].page)
    specs = [lesson.spec_from(d) for d in members[0].settings[SEQ]["specs"]]
    return Sequence.restored(specs, [r.id for r in members])


def tag(settings: dict | None, key: str, seq_id: str, i: int, specs: list, page: str | None) -> dict:
    """A run's settings with its place in the sequence (so the sequence can be stored and reopened)."""
    from dlplay.runs import specs as spec_codec

    return {**(settings or {}), SEQ: {"key": key, "id": seq_id, "i": i, "page": page,
                                      "specs": [spec_codec.to_dict(s) for s in specs]}}


def _page_path() -> str | None:
    """The page script running now, relative to the app ("pages/vision/compare.py")."""
    try:
        from pathlib import Path

        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        manager = ctx.pages_manager
        path = Path(manager.get_pages()[manager.current_page_script_hash]["script_path"])
        return str(path.relative_to(Path(manager.main_script_path).parent))
    except Exception:  # noqa: BLE001 - without it, a run reopens on its lesson's page alone
        return None


def sequence_controls(key: str, lesson: runs.Lesson, specs: list, *, label: str, buttons: str | None = None,
                      disabled: bool = False, ds: Any = None, settings: dict | None = None,
                      prepare: Callable[[list], list] | None = None, replaces_run: bool = True) -> Sequence | None:
    """The Train and Stop buttons of a sequence of `specs`, each run of `lesson`; returns the
    page's sequence (None before the first). `buttons`: the buttons' key prefix (default `key`);
    `ds`: the data passed to every run, or a function spec → data; `settings`: the page's
    settings stored with every run; `prepare(specs)`: the specs to train, worked out when Train
    is pressed (e.g. after a download; none: nothing starts, prepare says why); `replaces_run`: the page then shows the sequence instead of
    its one run (a page that shows both says False)."""
    prefix = buttons or key
    seq = sequence_of(key)
    if st.session_state.get(f"{prefix}-train") and specs and not disabled and not (seq is not None and seq.is_active):
        seq_id, page = uuid.uuid4().hex[:12], _page_path()  # (the later runs start outside this script run)
        try:
            started = work.start_runs(visitor(), lesson, specs, ds=ds, prepare=prepare,
                                      settings=lambda i, todo: tag(settings, key, seq_id, i, todo, page))
        except work.Refused as exc:
            refused(exc)
        else:
            if started.specs:  # prepare() said why nothing can train (e.g. a download failed)
                seq = st.session_state[f"{key}-sequence"] = started
                if replaces_run:
                    st.session_state.pop(f"run:{key}", None)  # the page now shows this sequence
    if st.session_state.get(f"{prefix}-stop") and seq is not None:
        seq.stop()
        for job in seq.jobs:
            job.wait(5.0)
    active = seq is not None and seq.is_active
    c1, c2, _ = st.columns([2, 1, 3])
    c1.button(label, key=f"{prefix}-train", type="primary", disabled=active or disabled or not specs,
              width="stretch")
    c2.button("Stop", key=f"{prefix}-stop", disabled=not active, width="stretch")
    return seq
