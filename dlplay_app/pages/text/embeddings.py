"""Word embeddings: nearest neighbours, analogies, a 2-D map and polarity, for word2vec trained
here and for embeddings learned for sentiment — and why only one of them does analogies."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dlplay import course, runs, visible
from dlplay.data import DatasetUnavailable
from dlplay.text import corpus
from dlplay.text import embeddings as E
from dlplay.text.word2vec import CORPORA, LESSON, Word2VecSpec
from dlplay.viz import curves_figure
from dlplay_app.ui.live import finished_result, live
from dlplay_app.ui.runs import open_page, run_controls, workspace
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
SIZES = [500, 1000, 2500, 5000, 10_000, 0]
MAX_MAP = 100  # words on the 2-D map: more labels than that are unreadable
WORDS_2D = ("good, great, excellent, wonderful, bad, awful, terrible, boring, man, woman, king, queen, "
            "actor, actress, father, mother, france, paris, italy, rome")

open_page(KEY, newest=True)  # after a reload: the newest run, though the words explored since changed the address bar
st.title(course.page(KEY).heading)
st.markdown(
    "A network that reads words turns each into a **vector**; words it treats alike get vectors that point "
    "alike. What “alike” means depends on what the vectors were trained *for*. Here you compare two kinds, "
    "learned from the same movie reviews:\n"
    "- **word2vec**, trained on this page: each word's vector is learned to predict the words around it;\n"
    "- **embeddings learned for sentiment**: the first layer of a model trained to tell positive reviews "
    "from negative ones (trained alongside word2vec in the same run, or from a run of the **Sentiment** page).\n\n"
    "You will see each word's **nearest neighbours** by cosine, **analogies** (king − man + woman = ?), a "
    "**2-D map** of words you choose, how strongly words lean **good or bad**, and the accuracy of both on "
    "the 19,544 analogy questions that gensim ships.")


@st.cache_data(show_spinner=False)
def offered_corpora() -> list[str]:
    return [name for name in corpus.available() if name in CORPORA]


# --- settings ----------------------------------------------------------------------------------------
problem = None
with st.sidebar:
    st.header("Reviews")
    names = offered_corpora()
    if names:
        name = st.selectbox("Corpus", names, format_func=lambda n: corpus.TITLES.get(n, n), key=f"{KEY}-corpus",
                            **KEEP)
        data = corpus.load(name)
        sizes = [n for n in SIZES if n == 0 or n < len(data.train_texts)]
        n_train = st.select_slider("Training reviews", sizes, value=0, key=f"{KEY}-ntrain", **KEEP,
                                   format_func=lambda n: f"{n:,}" if n else f"all ({len(data.train_texts):,})")
    st.header("Word2vec")
    sg = st.radio("Model", ["CBOW", "skip-gram"], horizontal=True, key=f"{KEY}-sg", **KEEP,
                  help="CBOW predicts a word from the words around it (fast); skip-gram predicts the words "
                       "around from the word (slower, better for rare words).") == "skip-gram"
    vector_size = st.select_slider("Vector size", [25, 50, 100, 200, 300], value=100, key=f"{KEY}-dim", **KEEP)
    window = st.slider("Window (words on each side)", 1, 10, 5, key=f"{KEY}-window", **KEEP)
    min_count = st.slider("Minimum count (rarer words get no vector)", 1, 20, 5, key=f"{KEY}-mincount", **KEEP)
    epochs = st.number_input("Epochs", 1, 30, 5, key=f"{KEY}-epochs", **KEEP)
    sentiment = st.toggle("Also learn embeddings for sentiment on the same reviews", value=True,
                          key=f"{KEY}-sentiment", **KEEP,
                          help="A bag-of-embeddings classifier (the mean of a review's word vectors → "
                               "positive/negative), 3 epochs: seconds.")

if not names:
    try:
        corpus.load("imdb_csv")
    except DatasetUnavailable as exc:
        problem = visible.text(exc)
    problem = problem or "No IMDB reviews are available here."
    st.error(problem, icon=":material/error:")
    spec = Word2VecSpec()
else:
    st.caption(f"📦 {data.summary()}")
    spec = Word2VecSpec(corpus=name, n_train=int(n_train), vector_size=int(vector_size), window=int(window),
                        min_count=int(min_count), epochs=int(epochs), sg=sg, sentiment=sentiment)

# --- train, live -------------------------------------------------------------------------------------
st.subheader("Train word2vec")
st.markdown("Each epoch passes over every review once. The loss is gensim's (negative sampling), per word; "
            "then the run scores the analogy questions, and learns the sentiment embedding if asked.")
ds = data.take(spec.n_train, 2500, spec.seed) if names else None  # the run's label names the reviews it read
shown = run_controls(KEY, LESSON, spec, ds, disabled=bool(problem))


def render(view) -> None:
    st.plotly_chart(curves_figure(view.metrics(), "loss", f"Run {view.id} · word2vec loss per word, each epoch"),
                    width="stretch", key=f"{KEY}-loss")


live(KEY, render)
result = finished_result(KEY) if shown is not None else None


# --- the vectors to explore -----------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def sentiment_run_table(run_id: int, ws: str) -> E.Embeddings | None:
    """A Sentiment-page run's embedding layer (its result offers .vocab and .embeddings())."""
    run = runs.get_store().get(run_id, ws)
    if run is None:
        return None
    try:
        return E.Embeddings.from_result(runs.result_of(run), f"Run {run_id} · sentiment model")
    except Exception:  # noqa: BLE001 - a run that can't be loaded is named, not a traceback
        return None


@st.cache_data(show_spinner="Scoring the 19,544 analogy questions…", max_entries=8)
def accuracy_of(run_id: int, ws: str) -> E.AnalogyReport | None:
    table = sentiment_run_table(run_id, ws)
    return E.analogy_accuracy(table) if table is not None else None


def sentiment_runs() -> list:
    try:
        found = runs.get_store().list(workspace(), page="sent")
    except Exception:  # noqa: BLE001 - no store, no runs to offer
        return []
    return [r for r in found if r.state in (runs.DONE, runs.STOPPED) and r.has_model]


sources: dict[str, tuple] = {}  # label → (table or run id, analogy report or None)
if result is not None:
    w2v_name = f"Run {shown.id} · word2vec"
    sources[w2v_name] = (result.word2vec(w2v_name), result.analogies)
    if result.sentiment_vectors is not None:
        sent_name = f"Run {shown.id} · sentiment embedding"
        sources[sent_name] = (result.sentiment(sent_name), result.sentiment_analogies)
for r in sentiment_runs():
    label = f"Run {r.id} · sentiment model" + (f" ({r.brief})" if r.brief else "")
    sources[label] = (r.id, None)

st.header("Explore the vectors")
if not sources:
    st.info("Nothing to explore yet: press **Train** above (all 2,500 reviews take well under a minute), or "
            "train a model on the **Sentiment** page — its runs appear here too.", icon=":material/school:")
    emb = None
else:
    if result is not None and st.session_state.get(f"{KEY}:explored-run") != shown.id:
        # A run newly on screen (just trained, reopened, back after a reload) is explored with its own
        # word2vec: the box kept a Sentiment-page model it had offered before, and "king − man + woman"
        # was answered by that model under the new run's curves.
        st.session_state[f"{KEY}-source"] = w2v_name
        st.session_state[f"{KEY}:explored-run"] = shown.id
    choice = st.selectbox("Vectors", list(sources), key=f"{KEY}-source")
    emb = sources[choice][0]
    if isinstance(emb, int):  # a Sentiment-page run, loaded only when chosen
        emb = sentiment_run_table(emb, workspace())
        if emb is None:
            st.error(f"{choice.split(' · ')[0]}'s model could not be loaded. Pick another source, or train it "
                     "again.", icon=":material/error:")
if emb is not None:
    st.caption(f"{emb.name}: {emb.size:,} words, {emb.dim} numbers each.")


def bars(pairs: list[tuple[str, float]], title: str, key: str) -> None:
    if not pairs:
        st.warning("No other word in this vocabulary to compare with.", icon=":material/help:")
        return
    fig = go.Figure(go.Bar(x=[s for _, s in pairs][::-1], y=[w for w, _ in pairs][::-1], orientation="h",
                           text=[f"{s:.2f}" for _, s in pairs][::-1], marker_color="#4c78a8"))
    fig.update_layout(title=title, height=60 + 28 * len(pairs), margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title="cosine similarity", xaxis_range=[min(0.0, min(s for _, s in pairs)), 1.0])
    st.plotly_chart(fig, width="stretch", key=key)


def word_list(text: str) -> list[str]:
    return list(dict.fromkeys(w.strip().lower() for w in text.replace("\n", ",").split(",") if w.strip()))


if emb is not None:
    # --- neighbours ---------------------------------------------------------------------------------
    st.subheader("Nearest neighbours")
    c1, c2 = st.columns([3, 1])
    word = c1.text_input("Word", "excellent", key=f"{KEY}-word", **KEEP)
    k = c2.number_input("How many", 3, 30, 10, key=f"{KEY}-k", **KEEP)
    if not word.strip():
        st.warning("Type a word to see its neighbours.", icon=":material/edit:")
    else:
        try:
            bars(E.neighbours(emb, word, int(k)), f"{emb.name} · nearest neighbours of “{word.strip()}”",
                 f"{KEY}-neighbours")
        except E.UnknownWord as exc:
            st.warning(str(exc), icon=":material/help:")

    # --- analogies ----------------------------------------------------------------------------------
    st.subheader("Analogies: a − b + c")
    st.markdown("“king − man + woman”: the word whose vector is nearest, by cosine, to king's vector minus "
                "man's plus woman's (the three themselves left out). It works when *man → woman* is the same "
                "direction as *king → queen*.")
    c1, c2, c3 = st.columns(3)
    a = c1.text_input("a", "king", key=f"{KEY}-a", **KEEP)
    b = c2.text_input("− b", "man", key=f"{KEY}-b", **KEEP)
    c = c3.text_input("+ c", "woman", key=f"{KEY}-c", **KEEP)
    if not (a.strip() and b.strip() and c.strip()):
        st.warning("Type three words: a, b and c.", icon=":material/edit:")
    else:
        try:
            found = E.analogy(emb, a, b, c, 5)
        except E.UnknownWord as exc:
            st.warning(str(exc), icon=":material/help:")
            found = None
        if found == []:
            st.warning("No word is left once a, b and c are set aside.", icon=":material/help:")
        elif found:
            st.markdown(f"**{a.strip()} − {b.strip()} + {c.strip()} ≈ {found[0][0]}**")
            bars(found, f"{emb.name} · {a.strip()} − {b.strip()} + {c.strip()}", f"{KEY}-analogy")

    # --- 2-D map and polarity ---------------------------------------------------------------------------
    st.subheader("A map of words, and how they lean")
    chosen = word_list(st.text_area("Words (comma-separated)", WORDS_2D, key=f"{KEY}-words2d", **KEEP))
    if len(chosen) > MAX_MAP:
        st.warning(f"{len(chosen):,} words: the map shows the first {MAX_MAP}.", icon=":material/info:")
        chosen = chosen[:MAX_MAP]
    known = [w for w in chosen if w in emb]
    if missing := [w for w in chosen if w not in emb]:
        st.warning(f"Not in the vocabulary of {emb.name}, left out: {', '.join(w[:30] for w in missing[:20])}"
                   f"{' …' if len(missing) > 20 else ''}.", icon=":material/help:")
    if len(known) < 2:
        st.warning("Choose at least two known words for the map.", icon=":material/edit:")
    else:
        rows = [emb.find(w) for w in known]
        words = [emb.words[i] for i in rows]
        coords, share = E.project_2d(emb, words)
        lean = E.polarity(emb, words) if {"good", "bad"} <= set(emb.index) else np.zeros(len(words))
        marker = dict(size=10, color=lean, colorscale="RdBu", cmin=-1, cmax=1, colorbar=dict(title="good − bad"))
        fig = go.Figure(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers+text", text=words,
                                   textposition="top center", marker=marker))
        fig.update_layout(title=f"{emb.name} · 2-D PCA of {len(words)} words ({share[0]:.0%} + {share[1]:.0%} "
                                f"of their variance)", height=520, margin=dict(l=10, r=10, t=40, b=10),
                          xaxis_title="first principal direction", yaxis_title="second principal direction")
        st.plotly_chart(fig, width="stretch", key=f"{KEY}-map")
        st.caption("PCA of the words' unit vectors: the two directions along which these words differ most. "
                   "Colour: the cosine with good − bad (red leans bad, blue good).")
        if {"good", "bad"} <= set(emb.index):
            order = np.argsort(-lean)
            pol = go.Figure(go.Bar(x=[words[i] for i in order], y=lean[order],
                                   marker_color=["#4c78a8" if lean[i] >= 0 else "#e45756" for i in order]))
            pol.update_layout(title=f"{emb.name} · polarity: cosine with good − bad", height=340,
                              margin=dict(l=10, r=10, t=40, b=10), yaxis_range=[-1, 1])
            st.plotly_chart(pol, width="stretch", key=f"{KEY}-polarity")

# --- analogy accuracy, side by side ------------------------------------------------------------------------
reports: dict[str, E.AnalogyReport] = {}
tables: dict[str, E.Embeddings] = {}
for label, (table, report) in sources.items():
    if isinstance(table, int):  # a Sentiment-page run: scored only once it is the one chosen
        if emb is None or label != choice:
            continue
        report, table = accuracy_of(table, workspace()), emb
    if report is not None:
        reports[label.split(" (")[0]], tables[label.split(" (")[0]] = report, table
if reports:
    st.subheader("Analogy accuracy on gensim's questions")
    st.markdown("The 19,544 questions of `questions-words.txt` (Mikolov et al., 2013) — *athens : greece :: "
                "baghdad : ?* — each asked only of vectors that know all four of its words. Small corpora "
                "cover few of them: country capitals and currencies are rare in movie reviews.")
    frame = {}  # every source's accuracy first, then the questions each covers: at 1,400 px the key columns show
    for label, rep in reports.items():
        frame[f"{label} · accuracy"] = [s["accuracy"] for s in rep.sections] + [rep.accuracy]
    for label, rep in reports.items():
        frame[f"{label} · covered"] = [s["covered"] for s in rep.sections] + [rep.covered]
    st.markdown("  \n".join(f"**{label}**: {rep.accuracy:.1%} right of the {rep.covered:,} questions it covers"
                            for label, rep in reports.items()))
    sections = [s["section"] for s in next(iter(reports.values())).sections] + ["all covered questions"]
    st.dataframe(pd.DataFrame(frame, index=sections), width="stretch", height=35 * (len(sections) + 1) + 3,
                 key=f"{KEY}-analogy-table",
                 column_config={"_index": st.column_config.TextColumn(width=190),
                                **{c: st.column_config.NumberColumn(format="percent" if "accuracy" in c else "localized",
                                                                    width=210 if "accuracy" in c else 170)
                                   for c in frame}})
    polar = {label: E.separation(t, E.POSITIVE_WORDS, E.NEGATIVE_WORDS) for label, t in tables.items()
             if {"good", "bad"} <= set(t.index)}
    if polar:
        st.markdown("**Polarity**, the other test: the share of (positive, negative) opinion-word pairs — "
                    f"{', '.join(E.POSITIVE_WORDS[:4])}… against {', '.join(E.NEGATIVE_WORDS[:4])}… — that the "
                    "direction good − bad puts in the right order (0.5 is chance): "
                    + "; ".join(f"{label} **{v:.0%}**" for label, v in polar.items()) + ".")
    if result is not None and result.sentiment_vectors is not None:
        st.caption(f"The sentiment embedding's classifier reads {result.sentiment_test_acc:.0%} of the test "
                   f"reviews right ({result.sentiment_seconds:.0f} s to train); word2vec took "
                   f"{result.train_seconds:.0f} s for {len(result.rows)} epochs over {result.n_words:,} words.")

st.markdown("""
**What to notice**
- **Sentiment embeddings capture polarity, not meaning.** The only thing such a vector is ever asked is
  “does this word push a review towards positive or negative?” — the classifier reads the mean of the vectors
  along a single direction (its positive-minus-negative weights), and every gradient a word's vector gets points
  along it. So training moves each word along that one direction, hardly anywhere else (Adam's per-number steps
  bend it a little): *excellent*
  and *awful* end at opposite ends, and a word's neighbours are the words that lean the same way, whatever
  they mean. *King* and *queen* are no closer than any two neutral words, so king − man + woman lands on noise:
  almost no analogy is answered.
- **Word2vec captures usage.** Its vectors are asked to predict the words *around* a word, so words used in
  the same places get the same vector — *good* and *bad* are close neighbours (“a ___ movie”), and polarity is
  weak (on the full CSV *great* and *awful* sit at about ±0.3 along good − bad, against ±0.98 for the
  sentiment embedding) — while consistent differences (*man → woman*, *actor → actress*, *france → paris*)
  become consistent directions, which is what analogies test.
- More text helps word2vec a lot: on the 2,500 reviews it answers about 2% of the questions it can be asked
  (king − man + woman lands on an unrelated word); on the 25,000-review CSV about 13%, and king − man + woman
  gives *queen* among the first two. Try skip-gram, or a larger window.
""")
