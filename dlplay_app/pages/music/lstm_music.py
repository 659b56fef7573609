"""Music with an LSTM: train on piano rolls, watch the validation NLL per frame against the
published numbers, continue a test piece (or your own MIDI file) and listen."""
import html
import re

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, extras
from dlplay.data import DatasetUnavailable
from dlplay.music import audio, rolls
from dlplay.music.models import MODELS
from dlplay.music.training import LESSON, REFERENCES, MusicSpec, continue_piece, nll_range
from dlplay.viz import curves_figure
from dlplay_app.ui.live import finished_result, live
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
TITLES = {k: v[0] for k, v in rolls.DATASETS.items()}
NOTE_NAMES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"]


def as_text(name: str) -> str:
    """A visitor's file name for st.markdown/st.error: every ASCII punctuation mark escaped, so
    `*x*`, `[a](url)`, `$x$` or `:red[x]` show as typed instead of as italics, a link, maths or colour."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", name)


@st.cache_resource(show_spinner="Reading the piano rolls…")
def music_data(name: str) -> rolls.MusicData:
    return rolls.load(name)


def roll_figure(roll: np.ndarray, title: str, prime: int = 0) -> go.Figure:
    keys = np.flatnonzero(roll.any(0))
    lo, hi = (int(keys.min()), int(keys.max()) + 1) if len(keys) else (30, 60)
    names = [f"{NOTE_NAMES[(k + rolls.LOW) % 12]}{(k + rolls.LOW) // 12 - 1}" for k in range(lo, hi)]
    fig = go.Figure(go.Heatmap(z=roll[:, lo:hi].T, y=names, colorscale=[[0, "#ffffff"], [1, "#1f3b73"]],
                               showscale=False, hovertemplate="frame %{x}, %{y}<extra></extra>"))
    if prime:
        fig.add_vrect(x0=-0.5, x1=prime - 0.5, fillcolor="#e4572e", opacity=0.12, line_width=0,
                      annotation_text="given", annotation_position="top left")
    fig.update_layout(title=title, height=300, xaxis_title="frame", margin=dict(l=10, r=10, t=40, b=10))
    return fig


open_page(KEY)
st.title(course.page(KEY).heading)
if (lacking := extras.message("music", "The music lesson")) is not None:  # an install without dlplay[music]
    st.error(lacking)
    st.stop()
st.markdown(
    "A piano roll is music as a picture: time runs left to right, one row per key, dark where a key is down. An "
    "LSTM reads it frame by frame and predicts the next frame — which keys will be down. Its **negative "
    "log-likelihood per frame** (nats, lower is better) is the number papers report, so the chart sets it beside "
    "theirs and beside a **baseline** that plays each key with its usual frequency. The **two hands** model is "
    "the assignment's: for each hand it says *how many* notes to play, then *which*. When it has trained, it "
    "continues the first frames of a test piece — listen to it, and download the MIDI file.")

with st.sidebar:
    st.header("Data and model")
    names = list(rolls.DATASETS)
    dataset = st.selectbox("Music", names, format_func=TITLES.get, key=f"{KEY}-dataset", **KEEP,
                           index=names.index(rolls.default_dataset()),
                           help="Without the collections in the data directory, Bach chorales from music21's corpus.")
    kind = st.radio("Model", list(MODELS), format_func=MODELS.get, key=f"{KEY}-model", **KEEP)
    hidden = st.select_slider("LSTM units", [64, 128, 256, 512], 256, key=f"{KEY}-hidden", **KEEP)
    layers = st.slider("LSTM layers", 1, 3, 1, key=f"{KEY}-layers", **KEEP)
    dropout = st.select_slider("Dropout", [0.0, 0.1, 0.2, 0.3, 0.5], 0.2, key=f"{KEY}-dropout", **KEEP)
    lr = st.select_slider("Learning rate (Adam)", [3e-4, 1e-3, 3e-3, 1e-2], 3e-3, format_func=lambda v: f"{v:g}",
                          key=f"{KEY}-lr", **KEEP)
    epochs = st.slider("Epochs", 1, 100, 10, key=f"{KEY}-epochs", **KEEP)
    window = st.select_slider("Frames per training window", [25, 50, 100, 200], 100, key=f"{KEY}-window", **KEEP)
    batch = st.select_slider("Batch size", [8, 16, 32, 64], 16, key=f"{KEY}-batch", **KEEP)
    st.header("Generation")
    prime = st.slider("Frames given", 4, 64, 16, key=f"{KEY}-prime", **KEEP)
    length = st.slider("Frames to generate", 16, 256, 96, key=f"{KEY}-length", **KEEP)
    temperature = st.select_slider("Temperature", [0.5, 0.75, 1.0, 1.25, 1.5], 1.0, key=f"{KEY}-temp", **KEEP,
                                   help="Below 1 the model plays its likeliest notes; above 1 it takes more chances.")
    piece = st.number_input("Test piece to continue", 0, 999, 0, key=f"{KEY}-piece", **KEEP)

spec = MusicSpec(dataset=dataset, model=kind, hidden=int(hidden), layers=int(layers), dropout=float(dropout),
                 lr=float(lr), epochs=int(epochs), window=int(window), batch_size=int(batch), prime=int(prime),
                 length=int(length), temperature=float(temperature), piece=int(piece))
try:
    data = music_data(dataset)
    st.caption(f"📦 {data.summary()}")
    missing = False
except DatasetUnavailable as exc:  # a bad file (BadMusicFile) says which and why
    st.error(str(exc))
    data, missing = None, True

if data is not None:
    with st.expander("The data as piano rolls", expanded=False):
        first = data.train[0][:160]
        st.plotly_chart(roll_figure(first, f"{data.title} · training piece 1, first {len(first)} frames"),
                        width="stretch", key=f"{KEY}-data-roll")
        st.caption(f"On average {np.concatenate(data.train).sum(1).mean():.1f} keys are down in a frame; a "
                   f"frame is a quarter or eighth note, depending on the collection.")

shown = run_controls(KEY, LESSON, spec, ds=None, disabled=missing)


def render(view) -> None:
    rows = view.metrics()
    run_spec = LESSON.spec_from(view.run.spec)
    fig = curves_figure(rows, "loss", f"Run {view.id} · negative log-likelihood per frame (nats)")
    base = next((r["baseline"] for r in rows if "baseline" in r), None)
    if base is not None:
        fig.add_hline(y=base, line_dash="dot", line_color="grey", annotation_text=f"per-key baseline {base:.2f}")
    refs = REFERENCES.get(run_spec.dataset, [])
    for name, value in refs:
        fig.add_hline(y=value, line_dash="dash", line_color="green", annotation_text=f"{name}: {value}",
                      annotation_position="bottom right")
    fig.update_yaxes(range=nll_range(rows, [v for _, v in refs] + ([base] if base is not None else [])))
    st.plotly_chart(fig, width="stretch", key=f"{KEY}-curve")


live(KEY, render)

result = finished_result(KEY)
if result is not None:
    r = result
    st.subheader(f"Run {shown.id}: how well it predicts, and what it plays")
    c = st.columns(4)
    c[0].metric("Validation NLL / frame", f"{r.val_nll:.2f}")
    c[1].metric("Test NLL / frame", f"{r.test_nll:.2f}")
    c[2].metric("Per-key baseline", f"{r.baseline:.2f}", f"{r.val_nll - r.baseline:+.2f}", delta_color="inverse")
    c[3].metric("Seconds", f"{r.seconds:.0f}")
    refs = REFERENCES.get(r.spec.dataset, [])
    if refs:
        st.caption("Published: " + "; ".join(f"{n} {v}" for n, v in refs) + ". "
                   + ("The two-hands model's number is an upper bound of its NLL (notes scored in one drawing order)."
                      if r.spec.model == "hands" else ""))
    st.caption(f"Trained on — {r.summary}")
    if r.stopped:
        st.info(f"This run was {r.stopped}: everything below uses the model as it was then.",
                icon=":material/stop_circle:")

    st.markdown("**Continue a piece.** Pick the temperature in the sidebar, or give your own MIDI file.")
    upload = st.file_uploader(f"Your own MIDI file to continue (optional; up to {audio.MAX_SECONDS // 60} minutes, "
                              f"{audio.MAX_BYTES // 1024} KB)", type=["mid", "midi"], key=f"{KEY}-upload",
                              max_upload_size=1)
    gen_spec = MusicSpec(**{**r.spec.__dict__, "temperature": spec.temperature, "prime": spec.prime,
                            "length": spec.length, "piece": spec.piece})
    source, label = None, ""  # what is continued, and its name as the chart title shows it
    if upload is not None:
        try:
            source, label = audio.read_midi(upload.getvalue()), html.escape(upload.name, quote=False)
            if source.sum() == 0 or len(source) < 2:
                st.warning(f"{as_text(upload.name)} has no notes on the piano's 88 keys; continuing a test piece "
                           "instead.")
                source = None
        except audio.BadMidi as exc:
            st.error(f"{as_text(upload.name)}: {as_text(str(exc))} Continuing a test piece instead.")
    seed = st.session_state.get(f"{KEY}-draw", 0)
    if source is None and data is not None and r.spec.dataset == dataset:
        source, label = data.test[spec.piece % len(data.test)], f"test piece {spec.piece % len(data.test)}"
    if source is not None:
        generated, original = continue_piece(r.model, source, gen_spec, seed=gen_spec.seed + seed)
    else:  # the music on screen is not the run's: the continuation it made when it had trained
        generated, original, label = r.generated, r.original, "the piece it continued when it had trained"
    c1, c2 = st.columns(2)
    c1.plotly_chart(roll_figure(generated, f"Run {shown.id} · continued ({label}, temperature "
                                           f"{gen_spec.temperature:g})", gen_spec.prime), width="stretch",
                    key=f"{KEY}-gen")
    c2.plotly_chart(roll_figure(original, f"Run {shown.id} · the original over the same frames", gen_spec.prime),
                    width="stretch", key=f"{KEY}-orig")
    if st.button("Draw again", key=f"{KEY}-again", icon=":material/casino:"):
        st.session_state[f"{KEY}-draw"] = seed + 1
        st.rerun()
    wav, synth = audio.render_wav(generated)
    st.audio(wav, format="audio/wav")
    st.caption(f"Played by {synth}; a frame lasts a quarter of a second.")
    st.download_button("Download the MIDI file", audio.midi_bytes(generated), file_name=f"dlplay-run-{shown.id}.mid",
                       mime="audio/midi", key=f"{KEY}-midi", icon=":material/download:")

st.subheader("What to notice")
st.markdown(
    "- The baseline knows only how often each key is played (about 10 nats per frame on Nottingham). The LSTM "
    "passes it within the first epoch: most of music's predictability is that **the next frame is usually the "
    "one before** — a held chord.\n"
    "- Nottingham's folk tunes are the easiest collection; Bach's four-part chorales and Piano-midi's concert "
    "pieces hold more notes at once and are harder.\n"
    "- At a low temperature the continuation repeats itself; at a high one it wanders off the key. The **two "
    "hands** model never plays more notes than it chose to, so its chords keep their size.")
