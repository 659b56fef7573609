"""Runs: every run of this workspace — compare curves, reopen a run on its page, export
it, delete it."""
import streamlit as st

from dlplay import course, report, runs
from dlplay.runs import compare, export, repeats, significance, tensorboard
from dlplay_app.ui import notes
from dlplay_app.ui.live import job_status
from dlplay_app.ui.runs import RunView, reopen, shared_server, workspace
from dlplay_app.ui.workspace import bookmark_url

KEY = course.here(__file__).key
ws = workspace()

st.title(course.page(KEY).heading)
st.markdown(
    "Every model you train is a **run**: its settings, its data and where the data came from, its curves, "
    "its results and its trained weights, kept on the server — after you leave a page, and after the "
    "server restarts. Select runs in the table to overlay their curves; select one to reopen it on its "
    "page (settings and results restored, the model ready to explore) or to export it.")

if shared_server():
    with st.container(border=True):
        st.markdown("**Your private workspace.** This browser keeps it for you: no one else sees your runs, and "
                    "links to a page's setup never carry it. To reach your runs from another browser, bookmark "
                    "the link below — it is **private**: whoever opens it can see and delete your runs, so never "
                    "share it.")
        with st.expander("Bookmark my workspace"):
            st.code(bookmark_url(), language=None)

store = runs.get_store()
if stopping := st.session_state.pop(f"{KEY}-stopping", None):
    st.info(f"Run{'s' if len(stopping) > 1 else ''} {', '.join(map(str, stopping))} "
            f"{'were' if len(stopping) > 1 else 'was'} still training: stopped, and removed as soon as the current "
            "step ends.", icon=":material/delete:")
all_runs = store.list(ws)
if not all_runs:
    st.info("No runs yet. Train a model on any page (the digit classifier, the VAE, …) and it appears here.")
    st.stop()

titles = sorted({r.title for r in all_runs})
c1, c2 = st.columns([1, 1])
picked_pages = c1.multiselect("Pages", titles, placeholder="all pages", key=f"{KEY}-pages")
query = c2.text_input("Search", key=f"{KEY}-search", placeholder="your notes and tags, settings, results…",
                      max_chars=200)
listed = [r for r in all_runs if (not picked_pages or r.title in picked_pages) and notes.matches(r, query)]
if not listed:
    st.info(f"No run matches “{query}”." if query else "No runs on these pages.")
    st.stop()

any_active = any(r.is_active for r in listed)


by_id = {r.id: r for r in listed}


def table_picked():
    """Rows ticked in the table become the selection below (which can also be edited by hand)."""
    table = st.session_state.get(f"{KEY}-table")  # gone after a delete reset the table
    rows = table.selection.rows if table is not None else []
    st.session_state[f"{KEY}-chosen"] = [listed[i].id for i in rows if i < len(listed)]
    st.session_state[f"{KEY}-picked"] = True


@st.fragment(run_every=2.0 if any_active else None)
def listing():
    fresh = [store.get(r.id) or r for r in listed]  # states and headlines of active runs move on
    st.dataframe(compare.table(fresh), hide_index=True, width="stretch", on_select=table_picked,
                 selection_mode="multi-row", key=f"{KEY}-table",
                 column_config={"run": st.column_config.NumberColumn(format="%d", width="small")})
    if st.session_state.pop(f"{KEY}-picked", False):
        st.rerun()  # a tick reran only this fragment: redraw the page so the selection below shows it


listing()
if any(i not in by_id for i in st.session_state.get(f"{KEY}-chosen", [])):  # deleted, or filtered out
    st.session_state[f"{KEY}-chosen"] = [i for i in st.session_state[f"{KEY}-chosen"] if i in by_id]
chosen_ids = st.multiselect("Selected runs", list(by_id), key=f"{KEY}-chosen", placeholder="tick rows above",
                            format_func=lambda i: f"run {i} · {by_id[i].title}")
chosen = [r for r in (store.get(i, ws) for i in chosen_ids) if r is not None]
if not chosen:
    st.caption(f"{len(listed)} run{'s' if len(listed) != 1 else ''}. Select rows (the boxes on the left) to "
               "compare, reopen, export or delete.")
    st.stop()

# --- compare ------------------------------------------------------------------------------------
metrics = {r.id: store.metrics(r.id) for r in chosen}
names = compare.metric_names(metrics)
if names:
    c1, c2 = st.columns([2, 1])
    metric = c1.selectbox("Curve", names, key=f"{KEY}-metric")
    # A run stopped in its first epoch has batch points only: show those by default.
    per = c2.radio("Along", ["epoch", "step"], index=0 if compare.has_epochs(metrics) else 1, horizontal=True,
                   key=f"{KEY}-per",
                   help="epoch: train (dotted) and validation (solid) after each epoch; step: every logged batch.")
    st.plotly_chart(compare.overlay_figure(chosen, metrics, metric, per), width="stretch", key=f"{KEY}-overlay")
else:
    st.caption("These runs have no curves to compare yet.")

# --- seed groups, and whether a difference is real ------------------------------------------------------
seed_groups = repeats.groups(chosen)
if names and seed_groups and st.toggle("Average each seed group (mean curve and band)", value=True,
                                       key=f"{KEY}-bands"):
    kind = st.radio("Band", ["std", "minmax"], horizontal=True, key=f"{KEY}-band-kind",
                    format_func={"std": "± 1 std", "minmax": "min–max"}.get)
    curves = {label: [repeats.curve(metrics[r.id], metric) for r in members] for label, members in seed_groups.items()}
    st.plotly_chart(repeats.band_figure(curves, metric, kind), width="stretch", key=f"{KEY}-band-chart")
one_lesson = runs.lesson_for(chosen[0].page) if len({r.page for r in chosen}) == 1 else None
figure = one_lesson.figure if one_lesson is not None else None
if figure is not None and len(chosen) > 1:
    st.subheader("Is this difference real?")
    st.caption(f"Two groups of these runs — two settings, each over seeds — compared on their {figure.label}: the "
               "difference of the means with its 95 % interval (Welch's t-test).")
    labels = list(seed_groups)
    picks = {}
    c1, c2 = st.columns(2)
    for col, name, i in ((c1, "A", 0), (c2, "B", 1)):
        default = [r.id for r in seed_groups[labels[i]]] if len(labels) == 2 else []
        picks[name] = col.multiselect(f"Group {name}", [r.id for r in chosen], default=default, key=f"{KEY}-sig-{name}",
                                      format_func=lambda i: f"run {i} · {by_id[i].brief}" if i in by_id else f"run {i}")
    a = [figure.value(r.summary) for r in chosen if r.id in picks["A"] and r.has_result]
    b = [figure.value(r.summary) for r in chosen if r.id in picks["B"] and r.has_result]
    a, b = [v for v in a if v is not None], [v for v in b if v is not None]
    if set(picks["A"]) & set(picks["B"]):
        st.warning("A run can't be in both groups.")
    elif a and b:
        verdict = significance.compare(a, b, figure)
        for name, s in (("A", verdict.a), ("B", verdict.b)):
            st.markdown(f"**{name}**: {figure.label} {s.text(figure.text, figure.scale(), figure.unit)}")
        show = {True: st.success, False: st.info, None: st.info}[verdict.real]
        show(verdict.words, icon=":material/balance:")
    else:
        st.caption("Pick finished runs for both groups.")

# --- a lab report ---------------------------------------------------------------------------------------
with st.expander(f"Lab report of {'this run' if len(chosen) == 1 else f'these {len(chosen)} runs'}",
                 icon=":material/description:"):
    st.caption("The settings that differ, the final figures (seed groups with their spread), the curves, the images "
               "each lesson keeps and your notes — as a Jupyter notebook that draws every figure again from the runs "
               "it carries (and can train them again), or as one HTML page that opens offline.")
    try:
        lab = report.collect([r.id for r in chosen], ws, metrics=metrics)  # (read once, above)
    except (LookupError, ValueError) as exc:
        st.warning(str(exc))
    else:
        record = lab.record()
        st.dataframe(report.settings_table(record["runs"]), hide_index=True, key=f"{KEY}-report-settings")
        st.dataframe(report.figures_table(record), hide_index=True, key=f"{KEY}-report-figures")
        c1, c2, _ = st.columns([1, 1, 2])
        c1.download_button("Notebook (.ipynb)", report.notebook_bytes(lab), file_name="lab-report.ipynb",
                           key=f"{KEY}-report-ipynb", icon=":material/download:", width="stretch")
        # The page inlines plotly's script (about 5 MB): made on request, not on every rerun of this page.
        made = st.session_state.get(f"{KEY}-report-page")
        if made is None or made[0] != [r.id for r in chosen]:
            if c2.button("Make the HTML page", key=f"{KEY}-report-make", width="stretch"):
                st.session_state[f"{KEY}-report-page"] = made = ([r.id for r in chosen], report.html_page(lab).encode())
        if made is not None and made[0] == [r.id for r in chosen]:
            c2.download_button("HTML page", made[1], file_name="lab-report.html", key=f"{KEY}-report-html",
                               icon=":material/download:", width="stretch")

# --- one run: reopen, export ----------------------------------------------------------------------
if len(chosen) == 1:
    run = chosen[0]
    st.subheader(f"Run {run.id}")
    st.markdown(f"**{run.label()}**")
    notes.note_box(run, KEY)
    job_status(RunView(run, runs.RECORDER.job(run.id)))
    lesson = runs.lesson_for(run.page)
    c1, c2 = st.columns([1, 3])
    if lesson is not None and c1.button("Reopen on its page", key=f"{KEY}-reopen", type="primary",
                                        icon=":material/open_in_new:"):
        reopen(run)
    with c2:
        st.markdown("**Export**")
        files = export.files(run)
        cols = st.columns(len(files) + 2)
        kinds = {".safetensors": "Weights", ".json": "Spec", ".csv": "Metrics", ".py": "PyTorch script"}
        for col, (name, content) in zip(cols, files.items()):
            kind = next(v for k, v in kinds.items() if name.endswith(k))
            col.download_button(kind, content, file_name=name, key=f"{KEY}-dl-{name}", width="stretch")
        cols[-2].download_button("TensorBoard", lambda: tensorboard.zip_bytes(run),
                                 file_name=f"{export.file_stem(run)}-tensorboard.zip", key=f"{KEY}-dl-tb",
                                 width="stretch", help="Event files: unzip, then `tensorboard --logdir .` there")
        cols[-1].download_button("All (zip)", export.zip_bytes(run), file_name=f"{export.file_stem(run)}.zip",
                                 key=f"{KEY}-dl-zip", width="stretch", icon=":material/download:")
    if not run.has_model:
        st.caption("This run has no trained model to export (it was cancelled, failed or interrupted before "
                   "one was kept): its spec and curves are still here.")
    else:
        st.caption("The script rebuilds the model without dlplay, loads the weights file beside it and "
                   "evaluates it on the run's test data: `python " + export.file_stem(run) + ".py`.")

# --- delete -------------------------------------------------------------------------------------
with st.expander(f"Delete {'this run' if len(chosen) == 1 else f'these {len(chosen)} runs'}"):
    st.caption("Deleting removes the runs' records, curves and weights for good. An active run is stopped "
               "first, disappears from this list at once and is removed as soon as its current step ends.")
    if st.button(f"Delete run{'s' if len(chosen) > 1 else ''} " + ", ".join(str(r.id) for r in chosen),
                 key=f"{KEY}-delete", icon=":material/delete:"):
        stopping = [r.id for r in chosen if runs.delete(r.id, ws) == "stopping"]
        if stopping:
            st.session_state[f"{KEY}-stopping"] = stopping
        st.session_state.pop(f"{KEY}-table", None)
        st.session_state.pop(f"{KEY}-chosen", None)
        st.rerun()
