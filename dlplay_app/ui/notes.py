"""A learner's note and tags on a run: written where the run is shown (its page, the Runs page), kept
with the run in the store, exported with it and searched on the Runs page."""
from __future__ import annotations

import streamlit as st

from dlplay import runs
from dlplay_app.ui.workspace import workspace


def note_box(run: runs.Run, where: str) -> None:
    """An expander with the run's note and tags and a Save button (`where`: the page's key, so two places
    showing one run keep their own widgets)."""
    label = "📝 Your note" + (f" · {', '.join(run.tags)}" if run.tags else "") + (" ✓" if run.note else "")
    with st.expander(label, expanded=False), st.form(key=f"{where}-note-form-{run.id}", border=False):
        note = st.text_area(f"Note on run {run.id}", run.note, height=100, max_chars=runs.store.NOTE_MAX,
                            key=f"{where}-note-{run.id}",
                            placeholder="What you tried, what you saw, what to try next…")
        tags = st.text_input("Tags", ", ".join(run.tags), key=f"{where}-tags-{run.id}", max_chars=400,
                             placeholder="baseline, lab 3 (separated by commas)")
        if st.form_submit_button("Save note", icon=":material/save:"):
            saved = runs.get_store().annotate(run.id, workspace(), note=note, tags=tags.split(","))
            (st.success if saved else st.error)("Saved with the run." if saved else "This run is gone.")


def matches(run: runs.Run, query: str) -> bool:
    """Whether every word of `query` is in the run's note, tags, title, settings, result or data."""
    text = " ".join([f"run {run.id}", run.title, run.brief, run.headline, run.dataset, run.note, *run.tags]).lower()
    return all(word in text for word in query.lower().split())
