"""Word2vec trained on the reviews, next to embeddings learned for sentiment, on the same words.

Word2vec (gensim) learns a vector per word from one signal: which words appear within
`window` words of it (CBOW predicts a word from its neighbours, skip-gram the neighbours
from the word). Words used alike end up alike, and consistent differences — country →
capital, singular → plural — become consistent directions: analogies. The run also trains
`embeddings.sentiment_embedding` on the same reviews (seconds): vectors learned from the
label only, which sort words by how positive they are and by nothing else.

The reviews are split into words exactly as `dlplay.text.tokens` does (the same
normaliser and pre-tokeniser: lower case, accents stripped, punctuation split off), so a
word here is a word of a sentiment model's vocabulary; runs of punctuation are left out,
they are not words to find analogies between.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..jobs import Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import stop_pressed
from . import corpus, embeddings, tokens
from .embeddings import AnalogyReport, Embeddings

CORPORA = ("imdb", "imdb_csv")
WORKERS = 2  # gensim's training threads: the shared servers give a job two cores


@dataclass
class Word2VecSpec:
    corpus: str = "imdb"  # "imdb" (the aclImdb folder) or "imdb_csv" (25,000 reviews)
    n_train: int = 0  # training reviews used (0 = all)
    vector_size: int = 100
    window: int = 5  # words on each side that count as context
    min_count: int = 5  # rarer words get no vector
    epochs: int = 5
    sg: bool = False  # skip-gram (True) or CBOW (False)
    seed: int = 0
    max_vocab: int = 30_000  # at most this many words keep a vector (the most frequent)
    sentiment: bool = True  # also learn embeddings for sentiment on the same reviews
    sentiment_dim: int = 32
    sentiment_epochs: int = 3
    vocab_size: int = 20_000  # the sentiment model's vocabulary (dlplay.text.tokens)


_TOKENIZER = tokens.blank()  # the vocabulary's own normaliser and pre-tokeniser, untrained


def words_of(texts: list[str], seen: dict | None = None) -> list[list[str]]:
    """Each text as its list of words, split the way the sentiment vocabulary splits them.
    Each distinct word is one string object (`seen`): 25,000 reviews hold 6 million words
    but only 100,000 distinct ones, and 6 million separate strings would take 350 MB."""
    norm, pre = _TOKENIZER.normalizer, _TOKENIZER.pre_tokenizer
    one = (seen if seen is not None else {}).setdefault
    return [[one(w, w) for w, _ in pre.pre_tokenize_str(norm.normalize_str(t)) if w[0].isalnum()] for t in texts]


def split_reviews(texts: list[str], job: Job | None = None, chunk: int = 2000) -> list[list[str]]:
    """`words_of` in chunks, with progress and a Stop check between them (Stop here cancels: nothing is learned yet)."""
    sentences, seen = [], {}
    for start in range(0, len(texts), chunk):
        stop_pressed(job, 0)
        if job is not None:
            job.set_progress(0.0, f"splitting reviews into words… {start:,} of {len(texts):,}")
        sentences += [s for s in words_of(texts[start:start + chunk], seen) if s]
    return sentences


class _Stop(Exception):
    """Stop pressed after an epoch: end training, keep the vectors learned so far."""


class Reviews:
    """The reviews as gensim reads them, once per pass (the vocabulary scan, then each epoch),
    ending the pass early once Stop is pressed: gensim asks its callbacks only around whole
    epochs (26 s each on the full CSV), so a pass cut short is how Stop acts within a second.
    `cut` says whether a pass was cut short."""

    def __init__(self, sentences: list[list[str]], job: Job | None = None):
        self.sentences, self.job, self.cut = sentences, job, False

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self):
        for i, sentence in enumerate(self.sentences):
            if self.job is not None and i % 200 == 0 and self.job.stop_requested:
                self.cut = True
                return
            yield sentence


def _epoch_callback(job: Job | None, epochs: int, n_words: int, rows: list[dict]):
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochReport(CallbackAny2Vec):
        """gensim calls this around every epoch: the loss of the epoch as a metric row; Stop
        between epochs. gensim's loss is a running total over the training (its own counter,
        float32), so an epoch's loss is the difference."""

        def __init__(self):
            self.done, self.total, self.t0 = 0, 0.0, time.perf_counter()

        def on_epoch_begin(self, model):
            if self.done == 0:
                stop_pressed(job, 0)  # Stop before anything was learned cancels the run (raises Cancelled)

        def on_epoch_end(self, model):
            total = float(model.get_latest_training_loss())
            loss, self.total = total - self.total, total
            self.done += 1
            row = {"epoch": self.done, "step": self.done, "split": "epoch", "loss": loss / max(1, n_words),
                   "train_loss": loss / max(1, n_words), "seconds": time.perf_counter() - self.t0}
            rows.append(row)
            if job is not None:
                job.metric(**row)
                job.set_progress(self.done / epochs, f"word2vec epoch {self.done}/{epochs} · loss per word "
                                 f"{row['loss']:.3f}")
            if stop_pressed(job, self.done):
                raise _Stop

    return EpochReport()


@dataclass
class Word2VecResult:
    spec: Word2VecSpec
    words: list[str]  # most frequent first
    vectors: np.ndarray  # (words, vector_size) float32
    rows: list[dict]  # per epoch: loss per word, seconds
    analogies: AnalogyReport
    n_reviews: int
    n_words: int  # words in the training reviews (after splitting)
    train_seconds: float
    stopped: str = ""
    source: str = ""  # the corpus's summary line
    sentiment_words: list[str] | None = None  # the sentiment vocabulary ([PAD], [UNK] first)
    sentiment_vectors: np.ndarray | None = None
    sentiment_analogies: AnalogyReport | None = None
    sentiment_test_acc: float = float("nan")  # the bag-of-embeddings classifier on test reviews
    sentiment_seconds: float = 0.0

    def word2vec(self, name: str = "word2vec") -> Embeddings:
        return Embeddings(self.words, self.vectors, name)

    def sentiment(self, name: str = "sentiment embedding") -> Embeddings | None:
        if self.sentiment_vectors is None:
            return None
        return Embeddings.of(self.sentiment_words, self.sentiment_vectors, name)


def _sentiment_part(spec: Word2VecSpec, data: corpus.TextData, job: Job | None) -> dict:
    """The bag-of-embeddings sentiment classifier on the same reviews; {} if Stop ends it first."""
    if job is not None:
        job.set_progress(1.0, "learning embeddings for sentiment on the same reviews…")

    def check():
        if stop_pressed(job, 1):
            raise _Stop

    def report(done, total):  # the vocabulary is learned in chunks: Stop acts between them, word2vec kept
        check()
        if job is not None:
            job.set_progress(1.0, f"learning the sentiment vocabulary from {total:,} reviews: {done / max(1, total):.0%}")

    try:
        vocab = tokens.vocab_for(data.train_texts, spec.vocab_size, name=data.name, report=report)
    except _Stop:
        return {}
    report: dict = {}
    try:
        vectors = embeddings.sentiment_embedding(data.train_texts, data.train_labels, vocab, dim=spec.sentiment_dim,
                                                 epochs=spec.sentiment_epochs, seed=spec.seed, report=report,
                                                 check=check)
    except _Stop:
        return {}
    emb = Embeddings.of(vocab.words, vectors)
    return {"sentiment_words": list(vocab.words), "sentiment_vectors": vectors,
            "sentiment_analogies": embeddings.analogy_accuracy(emb),
            "sentiment_test_acc": embeddings.bag_accuracy(report["model"], vocab, data.test_texts, data.test_labels),
            "sentiment_seconds": report["seconds"]}


def train_word2vec(spec: Word2VecSpec, job: Job | None = None) -> Word2VecResult:
    from gensim.models import Word2Vec

    data = corpus.load(spec.corpus, progress=tokens.job_progress(job)).take(spec.n_train, 2500, spec.seed)
    sentences = split_reviews(data.train_texts, job)
    n_words = sum(map(len, sentences))
    model = Word2Vec(vector_size=spec.vector_size, window=spec.window, min_count=spec.min_count, sg=int(spec.sg),
                     workers=WORKERS, seed=spec.seed, max_final_vocab=spec.max_vocab)
    reviews = Reviews(sentences, job)
    if job is not None:
        job.set_progress(0.0, f"counting the words of {len(sentences):,} reviews…")
    model.build_vocab(reviews)
    stop_pressed(job, 0)  # Stop during the count (cut short): nothing learned, the run is cancelled
    if len(model.wv) < 10:
        raise ValueError(f"Only {len(model.wv)} words occur {spec.min_count} times or more in these "
                         f"{len(sentences):,} reviews: use more reviews or a lower minimum count.")
    if job is not None:
        job.log(f"{len(sentences):,} reviews, {n_words:,} words, {len(model.wv):,} distinct words with a vector")
    rows: list[dict] = []
    stopped, t0 = "", time.perf_counter()
    try:
        model.train(reviews, total_examples=model.corpus_count, epochs=spec.epochs, compute_loss=True,
                    callbacks=[_epoch_callback(job, spec.epochs, n_words, rows)])
    except _Stop:
        stopped = (f"stopped during epoch {len(rows)} of {spec.epochs}" if reviews.cut else
                   f"stopped after epoch {len(rows)} of {spec.epochs}") + ": the vectors learned so far are kept"
        if job is not None:
            job.stopped_at(stopped)
    train_seconds = time.perf_counter() - t0
    words, vectors = list(model.wv.index_to_key), np.asarray(model.wv.vectors, np.float32).copy()
    if job is not None:
        job.set_progress(1.0, "scoring the analogy questions…")
    result = Word2VecResult(spec, words, vectors, rows, embeddings.analogy_accuracy(Embeddings(words, vectors)),
                            len(sentences), n_words, train_seconds, stopped, data.summary())
    if spec.sentiment and not stopped:
        part = _sentiment_part(spec, data, job)
        for name, value in part.items():
            setattr(result, name, value)
        if not part:
            result.stopped = "stopped while learning the sentiment embedding: word2vec kept all its epochs"
            if job is not None:
                job.stopped_at(result.stopped)
    return result


# --- as a stored run --------------------------------------------------------------------------------

def _packed(words: list[str]) -> np.ndarray:
    """Words as one UTF-8 byte array, newline-separated (a word never holds whitespace): the
    store's arrays file keeps numbers only, and 30,000 words in the run's JSON summary would
    be read with every listing of the Runs page."""
    return np.frombuffer("\n".join(words).encode("utf-8"), np.uint8).copy()


def _unpacked(a: np.ndarray) -> list[str]:
    return bytes(np.asarray(a, np.uint8)).decode("utf-8").split("\n")


def headline(r: Word2VecResult) -> str:
    text = f"analogies {r.analogies.accuracy:.1%} of {r.analogies.covered:,}"
    if r.sentiment_analogies is not None:
        text += f" (sentiment embedding {r.sentiment_analogies.accuracy:.1%})"
    return text


def _maybe(save, load) -> Form:
    """A form for a field that may be None (the sentiment comparison, when it was not made)."""
    return Form(lambda v: None if v is None else save(v), lambda v: None if v is None else load(v))


WORDS = Form(_packed, _unpacked)
REPORT = Form(lambda r: r.to_dict(), AnalogyReport.from_dict)
CODEC = Codec(Word2VecResult, models={}, headline=headline, renamed={"sentiment_vectors": "sentiment"},
              forms={"words": WORDS, "analogies": REPORT, "sentiment_words": _maybe(WORDS.save, WORDS.load),
                     "sentiment_analogies": _maybe(REPORT.save, REPORT.load),
                     "sentiment_vectors": _maybe(lambda v: np.ascontiguousarray(v, np.float32), np.asarray)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: Word2VecSpec) -> str:
    n = f"{spec.n_train:,} reviews" if spec.n_train else "all reviews"
    return (f"{spec.corpus} · {n} · {'skip-gram' if spec.sg else 'CBOW'} {spec.vector_size}-d, window "
            f"{spec.window} · {spec.epochs} epoch{'s' if spec.epochs != 1 else ''}")


def work(spec: Word2VecSpec):
    from ..limits import Work

    n = spec.n_train or 25_000  # "all": an aclImdb folder holds up to 25,000 training reviews
    return Work(spec.epochs, "epoch", n, "training reviews")


LESSON = Lesson(page="emb", figure=Figure("sentiment_test_acc", "sentiment test accuracy", percent=True), spec_type=Word2VecSpec,
                train=lambda spec, job: train_word2vec(spec, job), save=save_result, load=load_result, brief=brief,
                curves=("loss",), work=work)

__all__ = ["CORPORA", "LESSON", "Word2VecResult", "Word2VecSpec", "train_word2vec", "words_of"]
