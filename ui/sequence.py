"""Train/Stop for a page that trains several runs one after another (`dlplay.runs.sequence`):
Compare CNNs, the forgetting remedies, exact vs rounded labels, the transfer strategies."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from dlplay import limits, runs
from dlplay.runs.sequence import Sequence
from ui.live import session_id
from ui.runs import cost_refusal, fair_use_refusal, store_refusal, workspace


def sequence_of(key: str) -> Sequence | None:
    """The page's sequence of runs, once one was started this session."""
    return st.session_state.get(f"{key}-sequence")


def sequence_controls(key: str, lesson: runs.Lesson, specs: list, *, label: str, buttons: str | None = None,
                      disabled: bool = False, ds: Any = None, settings: dict | None = None,
                      prepare: Callable[[list], list] | None = None, replaces_run: bool = True) -> Sequence | None:
    """The Train and Stop buttons of a sequence of `specs`, each run of `lesson`; returns the
    page's sequence (None before the first). `buttons`: the buttons' key prefix (default `key`);
    `ds`: the data passed to every run, or a function spec → data; `settings`: the page's
    settings stored with every run; `prepare(specs)`: the specs to train, worked out when Train
    is pressed (e.g. after a download; none: nothing starts, prepare says why); `replaces_run`: the page then shows the sequence instead of
    its one run (a page that shows both says False). The fair-use limits are checked on the first spec."""
    prefix = buttons or key
    seq = sequence_of(key)
    if st.session_state.get(f"{prefix}-train") and specs and not disabled and not (seq is not None and seq.is_active):
        ws, sid = workspace(), session_id()
        if problem := store_refusal():
            st.error(problem, icon=":material/database:")
        else:
            with limits.START_LOCK:
                # The work cap on the first spec, memory and step time on every one.
                refused = fair_use_refusal(lesson, specs[0], sid) or next(
                    (r for spec in specs[1:] if (r := cost_refusal(lesson, spec))), None)
                if refused:
                    st.warning(refused, icon=":material/block:")
                else:
                    def start_one(spec):
                        data = ds(spec) if callable(ds) else ds
                        run, job = runs.start(lesson, spec, workspace=ws, session_id=sid, settings=settings, ds=data)
                        return run.id, job

                    todo = prepare(list(specs)) if prepare is not None else list(specs)
                    if todo:  # prepare() said why nothing can train (e.g. a download failed)
                        seq = st.session_state[f"{key}-sequence"] = Sequence(todo, start_one).start()
                    if todo and replaces_run:
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
