"""Sequence autoencoder: an LSTM squeezes a text into a short code, another LSTM writes it back."""
import html

import plotly.graph_objects as go
import streamlit as st

from dlplay import course, visible
from dlplay.data import DatasetUnavailable
from dlplay.text import corpus as corpora
from dlplay.text.seqae import LESSON, SeqAESpec, curves
from dlplay.train import TrainConfig
from dlplay_app.ui.live import finished_result, live, lr_slider
from dlplay_app.ui.typed import keep_typed, typed
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
CORPORA = ["imdb", "uci_sentences", "imdb_csv", "ag_news"]
COLOURS = ["#d62728", "#2ca02c", "#1f77b4", "#ff7f0e"]  # negative red, positive green (then AG's topics)

open_page(KEY, newest=True)  # a reopened run's settings first; after a reload, the newest run

st.title(course.page(KEY).heading)
st.markdown(
    "An **encoder** LSTM reads a text word by word and keeps only its final state, squeezed into a "
    "**code** of a few dozen numbers. A **decoder** LSTM starts from that code and writes the text back, one "
    "word at a time. Nothing tells it what the text *means*: the only goal is to get the words back. "
    "You will see the loss and the share of words rebuilt fall and rise live, test texts next to their "
    "reconstructions, and every test text's code on a plane, coloured by its sentiment.")

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Texts")
    name = st.selectbox("Corpus", CORPORA, format_func=lambda n: corpora.TITLES.get(n, n), key=f"{KEY}-corpus",
                        **KEEP, help="IMDB reviews cut to their first words, or the short UCI sentences.")
    n_train = st.select_slider("Training texts", [500, 1000, 2500, 5000, 10000, 0], value=2500,
                               key=f"{KEY}-ntrain", format_func=lambda n: f"{n:,}" if n else "all", **KEEP,
                               help="A tenth of them (at most 500) is held out to validate.")
    max_len = st.select_slider("Words kept per text", [12, 16, 20, 24, 32, 40, 60], value=24, key=f"{KEY}-maxlen",
                               **KEEP, help="Each text is cut to its first words: the decoder must write them "
                                            "all back, so longer texts are much harder and slower.")
    vocab_size = st.select_slider("Vocabulary", [1000, 2000, 3000, 5000, 10000], value=3000, key=f"{KEY}-vocab",
                                  format_func=lambda n: f"{n:,} words", **KEEP,
                                  help="The most frequent training words; every other word is [UNK].")
    st.header("Network")
    embed = st.select_slider("Embedding size", [32, 64, 128], value=64, key=f"{KEY}-embed", **KEEP)
    hidden = st.select_slider("LSTM hidden size", [64, 128, 256], value=128, key=f"{KEY}-hidden", **KEEP)
    code = st.select_slider("Code size", [4, 8, 16, 32, 64, 128], value=64, key=f"{KEY}-code", **KEEP,
                            help="The bottleneck: how many numbers each text is squeezed into.")
    reverse = st.toggle("Encoder reads backwards", value=True, key=f"{KEY}-reverse", **KEEP,
                        help="Then the first words to write back are the last ones read: the shortest path "
                             "through the network, which helps the LSTMs get started (Sutskever et al. 2014).")
    feed_code = st.toggle("Code into every decoder step", value=True, key=f"{KEY}-feed", **KEEP,
                          help="Off: the code only sets the decoder's first state, and must survive every step.")
    st.header("Training")
    forcing = st.slider("Teacher forcing", 0.5, 1.0, 1.0, 0.1, key=f"{KEY}-forcing", **KEEP,
                        help="The share of decoder steps fed the true previous word in training; the rest get "
                             "the decoder's own last guess. Below 1 the decoder runs step by step: slower.")
    dropout = st.slider("Word dropout", 0.0, 0.5, 0.25, 0.05, key=f"{KEY}-wdrop", **KEEP,
                        help="With full teacher forcing, this share of the decoder's input words is hidden, "
                             "so it can't just continue the sentence and must read the code.")
    epochs = st.number_input("Epochs", 1, 40, 15, key=f"{KEY}-epochs", **KEEP)
    lr = lr_slider(f"{KEY}-lr", 3e-3)

problem = None
try:
    data = corpora.load(name)
    st.caption(f"📦 {data.summary()}")
except DatasetUnavailable as exc:
    problem = visible.text(exc)
    st.error(problem, icon=":material/error:")

spec = SeqAESpec(corpus=name, n_train=n_train, max_len=max_len, vocab_size=vocab_size, embed=embed, hidden=hidden,
                 code=code, reverse=reverse, feed_code=feed_code, teacher_forcing=float(forcing),
                 word_dropout=float(dropout),
                 train=TrainConfig(optimizer="adam", lr=lr, schedule="constant", epochs=int(epochs), batch_size=32,
                                   max_grad_norm=1.0, log_every=10))
st.caption(f"Texts are cut to their first **{max_len} words** (longer ones lose the rest) so that a run trains "
           "in about a minute on a CPU.")

# --- train, live --------------------------------------------------------------------------------
ds = None if problem else data.take(spec.n_train, spec.n_test, spec.train.seed)  # names the run's texts
shown = run_controls(KEY, LESSON, spec, ds, disabled=problem is not None)
if problem:
    st.caption("Train is off until the corpus is there.")


def render(view) -> None:
    loss, acc = curves(view.metrics(), f"Run {view.id} · ")
    c1, c2 = st.columns(2)
    c1.plotly_chart(loss, width="stretch", key=f"{KEY}-loss")
    c2.plotly_chart(acc, width="stretch", key=f"{KEY}-acc")


live(KEY, render)
st.caption("Training and teacher-forced accuracy give the decoder the true previous word at every step; "
           "*greedy from the code* gives it only the code and its own last guesses — the real test.")


def words_html(words, right) -> str:
    """Words as HTML, the correctly rebuilt ones on green."""
    out = []
    for w, ok in zip(words, right):
        w = html.escape(w)
        out.append(f"<span style='background:#c8f7c5'>{w}</span>" if ok else w)
    return " ".join(out)


def reconstructions(result, run_id: int) -> None:
    st.subheader(f"Run {run_id}: test texts and their reconstructions")
    rows = []
    for e in result.examples:
        right = [a == b for a, b in zip(e["original"], e["rebuilt"])]
        rows.append({"sentiment": e["label"], "original": " ".join(e["original"]),
                     "reconstruction": " ".join(e["rebuilt"]), "words right": f"{sum(right)}/{len(right)}"})
        st.markdown(f"<div style='margin-bottom:.6em'><b>{html.escape(e['label'])}</b> · original: "
                    f"{html.escape(' '.join(e['original']))}<br>→ rebuilt: {words_html(e['rebuilt'], right)}</div>",
                    unsafe_allow_html=True)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Green: the right word at the right place. Greedy decoding is told how many words to write "
               "(the model has no end-of-text word).")


def code_figure(result, run_id: int, own=None):
    fig = go.Figure()
    for c, cls in enumerate(result.classes):
        pts = result.points[result.labels == c]
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=cls,
                        marker=dict(size=5, opacity=0.6, color=COLOURS[c % len(COLOURS)]))
    if own is not None:
        fig.add_scatter(x=[own[0]], y=[own[1]], mode="markers", name="your text",
                        marker=dict(size=16, symbol="star", color="black"))
    ex = result.explained
    by = "sentiment" if len(result.classes) == 2 else "topic"
    fig.update_layout(title=f"Run {run_id} · codes of {len(result.points):,} test texts (PCA) · coloured by {by}",
                      height=480, xaxis_title=f"PC 1 ({ex[0]:.0%} of the variance)",
                      yaxis_title=f"PC 2 ({ex[1]:.0%})", margin=dict(l=10, r=10, t=40, b=10))
    return fig


def position_figure(result, run_id: int):
    acc = result.by_position
    fig = go.Figure(go.Bar(x=list(range(1, len(acc) + 1)), y=acc, marker_color="#1f77b4"))
    fig.add_hline(y=result.baseline_acc, line_dash="dot", annotation_text="baseline (all positions)")
    fig.update_layout(title=f"Run {run_id} · words rebuilt at each position (greedy, test texts)", height=300,
                      xaxis_title="word position", yaxis_tickformat=".0%", margin=dict(l=10, r=10, t=40, b=10))
    return fig


result = finished_result(KEY)
if result is not None:
    r = result
    st.subheader(f"Run {shown.id} on the test set")
    c1, c2, c3 = st.columns(3)
    c1.metric("Words rebuilt, greedy from the code", f"{r.test_acc:.1%}",
              f"{(r.test_acc - r.baseline_acc) * 100:+.1f} points over the baseline")
    c2.metric("Baseline: the most frequent word at each position", f"{r.baseline_acc:.1%}")
    c3.metric("Teacher-forced (true previous word given)", f"{r.test_acc_forced:.1%}")
    st.caption(f"Non-padding words of {len(r.points):,} test texts. Always writing “{r.top_word}”, the most "
               f"frequent word, gets {r.baseline_word_acc:.1%}. {r.truncated_share:.0%} of the training texts were "
               f"cut to {r.spec.max_len} words · {r.seconds_per_epoch:.1f} s per epoch"
               + (f" · this run was {r.stopped}" if r.stopped else "") + ".")
    if r.test_acc <= r.baseline_acc:
        st.warning("Not better than the baseline yet: the decoder still writes the most likely words whatever "
                   "the code says. Train for more epochs, or try shorter texts or a bigger code.")
    reconstructions(r, shown.id)
    st.plotly_chart(position_figure(r, shown.id), width="stretch", key=f"{KEY}-positions")

    # --- your own text ---------------------------------------------------------------------------------
    st.subheader("Reconstruct your own sentence")
    keep_typed(f"{KEY}-own-{shown.id}")  # after a reload or another page, the sentence typed here comes back
    text = typed(f"{KEY}-own-{shown.id}", st.text_area(
        "A sentence (words outside the vocabulary become [UNK])", key=f"{KEY}-own-{shown.id}", max_chars=200_000,
        placeholder="the acting was great but the story was boring"))
    own = None
    if not text.strip():
        st.info("Type a sentence above to see how the model rebuilds it and where its code lands on the plane.")
    else:
        rec = r.reconstruct(text)
        if not rec.original:
            st.warning(rec.note(r.spec.max_len))
        else:
            if note := rec.note(r.spec.max_len):
                st.caption(f"Note: {note}.")
            st.markdown(f"read: {html.escape(' '.join(rec.original))}<br>→ rebuilt: "
                        f"{words_html(rec.rebuilt, rec.correct)} &nbsp; (<b>{rec.accuracy:.0%}</b> right)",
                        unsafe_allow_html=True)
            own = r.project(rec.code)

    # --- the codes ---------------------------------------------------------------------------------------
    st.subheader(f"Run {shown.id}: the codes in 2-D")
    st.plotly_chart(code_figure(r, shown.id, own), width="stretch", key=f"{KEY}-codes")
    st.caption(f"Each point is one test text's {r.spec.code}-number code, projected onto the two directions along "
               f"which the codes vary most. A logistic regression reading the sentiment off the full codes gets "
               f"{r.probe_acc:.1%} of the test texts right, against {r.majority_share:.1%} for always answering the "
               "commoner label.")

st.markdown("""
**What to notice**
- The teacher-forced accuracy is always well above the greedy one: given the true previous word, the
  decoder is a language model; from the code alone, one wrong word derails the rest.
- The first words come back best (the bars by position): reading backwards puts them closest to the code, and
  once the decoder has guessed one word wrong, it continues the wrong sentence.
- Frequent words (“the”, “i”, “.”, “[UNK]”) come back first; rare ones become whichever frequent word fits.
  Early in training the decoder writes the same likely sentence for every code.
- **Sentiment mostly doesn't separate** on the plane: the autoencoder keeps *which words are there and where*,
  not what they say about the film. The probe is only a little above chance — compare the sentiment page,
  where the network is trained on the label.
- Try code size 4 against 64: after a few epochs they rebuild nearly as much (on 12-word UCI sentences,
  measured 19.8 % against 21.4 %) — what is rebuilt so far is mostly the first words and the language's
  habits, which need little room. Rebuilding whole texts word for word takes far more training than a minute.
""")
