"""Sentiment of movie reviews: the course's sequence models trained on IMDB, one run each —
a bag of embeddings with bigrams (fastText), a simple RNN, an LSTM, a GRU, a bidirectional
LSTM and a Transformer encoder — compared by parameters, seconds per epoch and accuracy.

The training split is tokenised by a vocabulary learned on it (`tokens.vocab_for`), a tenth
of it is held out for validation (the curves), and the test split is scored once at the end.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tokenizers import Tokenizer

from ..jobs import Job
from ..models import count_parameters
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..runs.store import Run
from ..train import TrainConfig
from . import corpus, fitting, models
from .models import KINDS, NetSpec
from .tokens import Encoded, Vocab, job_progress, job_report, vocab_for

CORPORA = ("imdb", "imdb_csv", "uci_sentences")


@dataclass
class SentimentSpec:
    corpus: str = "imdb"
    n_train: int = 0  # training texts (0 = the whole split), a tenth held out for validation
    n_test: int = 0  # test texts (0 = the whole split)
    vocab_size: int = 10_000
    max_len: int = 200  # words kept per text
    keep: str = "end"  # which words of a longer review: its "end" (where the verdict usually is) or "start"
    val_share: float = 0.1  # of the training texts, held out for the validation curve (0: train on all)
    net: NetSpec = field(default_factory=NetSpec)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        optimizer="adamw", lr=3e-3, l2=0.01, epochs=3, batch_size=64, max_grad_norm=1.0, schedule="onecycle",
        log_every=10))

    def problem(self) -> str | None:
        return self.net.problem()


@dataclass
class Prepared:
    data: corpus.TextData  # the texts trained and tested on
    vocab: Vocab
    train: Encoded
    val: Encoded
    test: Encoded
    coverage: float  # share of the test words the vocabulary knows

    @property
    def source(self) -> str:
        return self.data.summary()


def _val_split(n: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed + 1).permutation(n)
    k = max(1, int(round(n * share))) if n > 10 and share > 0 else 0
    return order[k:], order[:k]


def prepare(spec: SentimentSpec, job: Job | None = None) -> Prepared:
    """The corpus, its vocabulary and the three encoded splits (DatasetUnavailable if missing).
    With a job, its page says what is being done — on the full CSV reading and tokenising take a
    minute or more on two busy cores — and Stop acts between chunks of reviews (raises Cancelled)."""
    full = corpus.load(spec.corpus, progress=job_progress(job))
    d = full.take(spec.n_train, spec.n_test, seed=spec.train.seed)
    tr, va = _val_split(len(d.train_texts), spec.val_share, spec.train.seed)
    texts = [d.train_texts[i] for i in tr]
    # The vocabulary is learned from the training texts only: the test words it lacks are the
    # unknown words a deployed model would meet.
    vocab = vocab_for(texts, spec.vocab_size, f"{spec.corpus}-{len(d.train_texts)}-{spec.train.seed}",
                      job_report(job, f"learning the vocabulary from {len(texts):,} reviews"))

    def enc(xs, ys, what):
        return vocab.encode(xs, ys, spec.max_len, spec.keep, job_report(job, f"encoding {len(xs):,} {what} reviews"))

    return Prepared(d, vocab, enc(texts, d.train_labels[tr], "training"),
                    enc([d.train_texts[i] for i in va], d.train_labels[va], "validation"),
                    enc(d.test_texts, d.test_labels, "test"), vocab.coverage(d.test_texts[:2000]))


@dataclass
class SentimentResult:
    model: torch.nn.Module
    spec: SentimentSpec
    vocab: Vocab
    classes: list[str]
    rows: list[dict]  # one per epoch: train_loss, train_acc, val_loss, val_acc, seconds
    test_acc: float
    test_loss: float
    n_params: int
    seconds_per_epoch: float
    train_seconds: float
    tokens_per_s: float
    source: str  # the corpus and where it came from
    n_train: int
    n_test: int
    truncated: float  # share of training texts longer than max_len
    coverage: float
    best_epoch: int = 0
    stopped: str = ""

    def embeddings(self) -> np.ndarray:
        """The learned word vectors, one row per vocabulary entry (row 0: padding)."""
        return self.model.embedding.weight[: self.vocab.size].detach().float().numpy().copy()

    @property
    def best_val_acc(self) -> float:
        vals = [r["val_acc"] for r in self.rows if "val_acc" in r]
        return max(vals) if vals else float("nan")


def train_sentiment(spec: SentimentSpec, job: Job | None = None) -> SentimentResult:
    if (why := spec.problem()) is not None:
        raise ValueError(why)
    t0 = time.perf_counter()
    p = prepare(spec, job)
    torch.manual_seed(spec.train.seed)
    model = models.build(spec.net, p.vocab.size, p.data.n_classes, spec.max_len)
    if job:
        job.log(f"{len(p.train):,} training, {len(p.val):,} validation, {len(p.test):,} test texts; "
                f"vocabulary {p.vocab.size:,} words ({p.coverage:.1%} of test words known); "
                f"{p.train.truncated:,} texts cut to {spec.max_len} words; ready in {time.perf_counter() - t0:.1f} s")
        job.artifact("source", p.source)
    fitted = fitting.fit(model, p.train, p.val, spec.train, job)
    if job:
        job.set_progress(job.progress, f"testing on {len(p.test):,} reviews…")
    test = fitting.evaluate(model, p.test, job=job)  # after Stop: a random part of them, for seconds
    stopped = fitted.stopped
    if test["n"] < len(p.test):
        stopped += f"; tested on a random {test['n']:,} of the {len(p.test):,} test reviews"
    return SentimentResult(
        model.eval(), spec, p.vocab, list(p.data.classes), fitted.rows, test["acc"], test["loss"],
        count_parameters(model), fitted.seconds_per_epoch, fitted.train_seconds,
        fitted.tokens / max(fitted.train_seconds, 1e-9), p.source, len(p.train), test["n"],
        p.train.truncated / max(1, len(p.train)), p.coverage, fitted.best_epoch, stopped)


# --- as a stored run --------------------------------------------------------------------------------

def _tokenizer_bytes(vocab: Vocab) -> np.ndarray:
    return np.frombuffer(vocab.tokenizer.to_str().encode("utf-8"), np.uint8).copy()


CODEC = Codec(SentimentResult, headline=lambda r: f"{r.test_acc:.1%} test accuracy",
              models={"model": lambda spec, s: models.build(spec.net, s["n_words"], len(s["classes"]), spec.max_len)},
              extra=lambda r: {"n_words": r.vocab.size}, renamed={"vocab": "tokenizer"},
              forms={"vocab": Form(_tokenizer_bytes, lambda a: Vocab(Tokenizer.from_str(bytes(a).decode("utf-8"))))})
save_result, load_result = CODEC.save, CODEC.load


def describe(net: NetSpec) -> str:
    """The network in a few words: "LSTM 64 · 1 layer · dropout 0.2"."""
    if net.kind == "bag":
        return f"bag of {net.embed_dim}-d embeddings" + (" + bigrams" if net.bigrams else "")
    if net.kind == "transformer":
        return (f"Transformer d={net.embed_dim} · {net.heads} heads · ff {net.ff} · {net.layers} "
                f"layer{'s' if net.layers != 1 else ''} · {net.positional} positions")
    return (f"{KINDS[net.kind]} {net.hidden} · {net.layers} layer{'s' if net.layers != 1 else ''}"
            + (f" · {net.pool}-pooled" if net.pool != "last" else ""))


def brief(spec: SentimentSpec) -> str:
    t = spec.train
    return (f"{describe(spec.net)} · dropout {spec.net.dropout:g} · vocab {spec.vocab_size:,} · {spec.max_len} words · "
            f"{t.epochs} epoch{'s' if t.epochs != 1 else ''}")


def work(spec: SentimentSpec):
    from ..limits import Work

    n = spec.n_train or {"imdb_csv": 25_000, "uci_sentences": 2_400}.get(spec.corpus, 25_000)
    return Work(spec.train.epochs, "epoch", n, "texts")


def table(stored: list[Run]) -> pd.DataFrame:
    """The assignment's comparison, a row per run: accuracy first, then parameters and seconds per
    epoch, the long setup last (at 1,400 px it pushed the test accuracy off the screen)."""
    rows = []
    for run in stored:
        s, spec = run.summary or {}, run.spec or {}
        net = spec.get("net", {})
        by_hand = None
        if net.get("kind") in models.RECURRENT and s.get("n_words"):
            n_classes = len(s.get("classes", [])) or 2
            by_hand = sum(c for _, _, c in models.recurrent_formula(NetSpec(**net), s["n_words"], n_classes))
        rows.append({"run": run.id, "model": KINDS.get(net.get("kind"), net.get("kind")), "test acc": s.get("test_acc"),
                     "best val acc": max((r.get("val_acc", 0) for r in s.get("rows", [])), default=None),
                     "s / epoch": round(s["seconds_per_epoch"], 1) if s.get("seconds_per_epoch") is not None else None,
                     "parameters": s.get("n_params"), "parameters by hand": by_hand,
                     "training texts": s.get("n_train"), "state": run.state, "setup": run.brief})
    return pd.DataFrame(rows)


LESSON = Lesson(page="sent", figure=Figure("test_acc", "test accuracy", percent=True),
                spec_type=SentimentSpec, train=lambda spec, job: train_sentiment(spec, job), save=save_result,
                load=load_result, brief=brief, curves=("loss", "val_acc"), work=work)

__all__ = ["CORPORA", "LESSON", "SentimentResult", "SentimentSpec", "prepare", "table", "train_sentiment"]


def cost(spec: SentimentSpec):
    """Memory and step time of one batch of this network (`dlplay.costs`), before any data is read."""
    from dataclasses import replace

    from ..costs import torch_cost

    net = replace(spec.net, packed=False)  # packing steps through the same cells: the same cost
    return torch_cost(lambda n: models.build(net, spec.vocab_size + 4, 4, n or spec.max_len),
                      lambda b, n: (torch.ones(b, n, dtype=torch.long), torch.full((b,), n)),
                      batch=spec.train.batch_size, length=spec.max_len, per_step=net.kind not in ("bag", "transformer"),
                      optimizer=spec.train.optimizer,
                      lower="the batch size, the words read per review, the hidden or embedding size, or the layers"
                      ).with_steps(work(spec).amount * (1 - spec.val_share) // spec.train.batch_size)


LESSON.cost = cost
