"""× N seeds beside Train: the page's setting trained N times, each with its own seed, as one unit of work;
the page follows the run in training, and shows the group's mean curve with its band and the final figure
as mean ± spread (`dlplay.runs.repeats`)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dlplay import runs, work
from dlplay.runs import repeats
from dlplay_app.ui.workspace import visitor, workspace


def seeds_box(key: str, spec) -> int:
    """How many seeds Train trains (1: one run, as always); none offered for a spec without a seed."""
    if repeats.seed_path(spec) is None:
        return 1
    most = repeats.max_seeds()
    options = [n for n in (1, 2, 3, 5, 10) if n <= most]
    return st.selectbox("Seeds", options, key=f"{key}-seeds", format_func=lambda n: "1 seed" if n == 1 else
                        f"× {n} seeds", help="Train this setting once per seed (counted up from the setting's own "
                        "seed), one after another: the page shows the mean curve with its band and the final "
                        "figure as mean ± spread, so a difference between settings can be told from the seed's.")


def start(key: str, lesson: runs.Lesson, spec, n: int, ds: Any, settings: dict, replacing):
    """Start `n` seeded runs of `spec` as one unit, followed by the page (`follow`); returns the first run and
    its job, as `work.start_run` does. Raises `work.Refused`."""
    group = repeats.new_group()
    seq = work.start_runs(visitor(), lesson, repeats.seeded(spec, n), ds=ds, replacing=replacing,
                          settings=lambda i, todo: repeats.tag(settings, group, i, n, repeats.seed_of(todo[i])))
    if seq.error is not None or not seq.jobs:
        raise RuntimeError(seq.error or "the runs did not start")
    st.session_state[f"{key}-repeats-at"] = seq.run_ids[0]
    st.session_state[f"{key}-repeats"] = seq
    return runs.get_store().get(seq.run_ids[0]), seq.jobs[0]


def follow(key: str) -> None:
    """The page moves with its group from run to run as each starts (so Stop stops the one in training),
    and stays on the last; a member reopened from the Runs page stays shown."""
    seq = st.session_state.get(f"{key}-repeats")
    if seq is None or not seq.run_ids:
        return
    at = st.session_state.get(f"{key}-repeats-at", seq.run_ids[0])
    if st.session_state.get(f"run:{key}") == at and seq.run_ids[-1] != at:
        st.session_state[f"run:{key}"] = st.session_state[f"{key}-repeats-at"] = seq.run_ids[-1]
        st.session_state.pop(f"job-shown:{key}", None)


def panel(key: str, lesson: runs.Lesson, run: runs.Run) -> None:
    """The shown run's group of seed repeats: how far it is, the mean curve with its band, the final
    figure as mean ± spread."""
    group = repeats.group_of(run)
    if group is None:
        return
    store = runs.get_store()
    members = repeats.members(store, workspace(), group["id"], page=run.page)
    finished = [r for r in members if r.state in (runs.DONE, runs.STOPPED)]
    with st.container(border=True):
        st.markdown(f"**Seed repeats** · run {run.id} is seed {group['seed']} of this setting's {group['of']}: "
                    f"{len(finished)} of {group['of']} trained"
                    + ("" if len(members) == group["of"] else f" ({group['of'] - len(members)} not started)"))
        metrics = {r.id: store.metrics(r.id) for r in members}
        names = [m for m in lesson.curves if any(repeats.curve(rows, m)[0] for rows in metrics.values())]
        if names and len(members) > 1:
            c1, c2 = st.columns([2, 1])
            metric = c1.selectbox("Curve", names, key=f"{key}-repeat-metric")
            kind = c2.radio("Band", ["std", "minmax"], horizontal=True, key=f"{key}-repeat-band",
                            format_func={"std": "± 1 std", "minmax": "min–max"}.get)
            curves = [repeats.curve(metrics[r.id], metric) for r in members]
            st.plotly_chart(repeats.band_figure({f"{len(members)} seeds": [c for c in curves if c[0]]}, metric, kind),
                            key=f"{key}-repeat-chart")
        figure_line(lesson, finished)


def figure_line(lesson: runs.Lesson, finished: list[runs.Run]) -> None:
    """"test accuracy over 3 seeds: 97.8% ± 0.2 points (min–max 97.5%–98.1%)"."""
    fig = lesson.figure
    values = [fig.value(r.summary) for r in finished] if fig is not None else []
    values = [v for v in values if v is not None]
    if values:
        st.markdown(f"**{fig.label}** over the seeds trained: "
                    f"{repeats.spread(values).text(fig.text, fig.scale(), fig.unit)}")
