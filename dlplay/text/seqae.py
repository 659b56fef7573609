"""A sequence autoencoder: an LSTM reads a review into one short vector (the code), a second
LSTM writes the review back from it, word by word.

    words → embedding → LSTM encoder (packed) → final hidden state → code (linear)
    code → the decoder's first state → LSTM decoder, fed the review shifted by one → word logits

Reviews are cut to their first `max_len` words (`keep="start"`) so a run trains in about a
minute on a CPU. Trained with teacher forcing (the decoder sees the true previous word), it
is *scored* the hard way: greedy decoding from the code alone, each step fed its own last
guess — the share of the real (non-padding) words it puts at the right position. The
teacher-forced share is reported too, under its own name; it is always higher.

Two helps make the code matter within a minute's training: the code goes into every decoder
step (not only its first state), and a quarter of the decoder's input words are hidden
(word dropout, Bowman et al. 2016), so it can't just continue the sentence it has started.
Measured on the UCI sentences cut to 20 words, 10 epochs: 13.2 % of the test words rebuilt
without the two, 21.2 % with them, against 12.1 % for the baseline.

The lesson's question: an autoencoder keeps what it needs to rebuild the words, not what
they mean. Its codes of test reviews, projected to 2-D and coloured by sentiment, mostly
don't separate — a linear probe on the codes says by how much they do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..jobs import Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import Loop, Step, TrainConfig, seed_everything
from . import corpus as corpora
from .batches import bucketed, scoring, take
from .tokens import PAD_ID, UNK_ID, Encoded, Vocab, job_progress, job_report

N_EXAMPLES = 6  # test reviews shown original vs reconstructed
PROBE_TEXTS = 2000  # training codes the sentiment probe learns from (all 22,500 took a minute to encode)


@dataclass
class SeqAESpec:
    corpus: str = "imdb"  # a name of dlplay.text.corpus (the UCI sentences are short: a good second choice)
    n_train: int = 2500  # training texts (0 = all); a tenth of them (at most 500) validates
    n_test: int = 1000  # test texts scored and projected (0 = all)
    vocab_size: int = 3000
    max_len: int = 24  # words kept from the start of each text (the rest is cut)
    embed: int = 64
    hidden: int = 128
    code: int = 64  # the bottleneck: numbers per text
    reverse: bool = True  # the encoder reads each text backwards (see `reversed_ids`)
    feed_code: bool = True  # the code also goes into every decoder step, not only its first state
    word_dropout: float = 0.25  # share of the decoder's input words hidden (as [UNK]) in training; full forcing only
    teacher_forcing: float = 1.0  # share of decoder steps fed the true previous word; the rest get its own guess
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        optimizer="adam", lr=3e-3, schedule="constant", epochs=15, batch_size=32, max_grad_norm=1.0, log_every=10))


# --- the model -------------------------------------------------------------------------------------

def reversed_ids(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's real words in reverse order, padding still at the end. Read backwards, the
    text's first words are the last the encoder saw — and the first the decoder must write,
    so the short paths that matter most start short (Sutskever et al., 2014)."""
    t = torch.arange(ids.shape[1], device=ids.device)[None]
    src = (lengths[:, None].to(ids.device) - 1 - t).clamp(min=0)
    return torch.where(t < lengths[:, None].to(ids.device), ids.gather(1, src), torch.zeros_like(ids))


def shifted(ids: torch.Tensor) -> torch.Tensor:
    """The decoder's inputs: a start token, then the text without its last word. The start
    token is id 0 (padding), whose embedding stays zero: "nothing written yet"."""
    return F.pad(ids[:, :-1], (1, 0), value=PAD_ID)


class SeqAutoencoder(nn.Module):
    def __init__(self, vocab_size: int, embed: int, hidden: int, code: int, reverse: bool = True,
                 feed_code: bool = True):
        super().__init__()
        self.reverse, self.feed_code = reverse, feed_code
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD_ID)  # shared by both LSTMs
        self.encoder = nn.LSTM(embed, hidden, batch_first=True)
        self.to_code = nn.Linear(hidden, code)
        self.from_code = nn.Linear(code, 2 * hidden)  # the decoder's first hidden and cell state
        self.decoder = nn.LSTM(embed + (code if feed_code else 0), hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.reverse:
            ids = reversed_ids(ids, lengths)
        # Packed: the LSTM stops at each text's last real word, so its final state is the text's.
        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        return self.to_code(h[-1])

    def start(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.from_code(code)).chunk(2, dim=-1)
        return h[None].contiguous(), c[None].contiguous()

    def inputs(self, words: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The decoder's input at each step: the previous word's embedding (and the code)."""
        x = self.embedding(words)
        return torch.cat([x, code[:, None].expand(-1, x.shape[1], -1)], -1) if self.feed_code else x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, teacher_forcing: float = 1.0,
                word_dropout: float = 0.0) -> torch.Tensor:
        """Word logits (B, T, vocab) for rebuilding `ids` from their code."""
        code = self.encode(ids, lengths)
        if teacher_forcing >= 1.0:  # every input known in advance: one call over the whole sequence
            words = shifted(ids)
            if word_dropout > 0:
                # Hidden previous words: the decoder can't just continue the sentence, it must read the code.
                hide = (torch.rand(words.shape, device=words.device) < word_dropout) & (words != PAD_ID)
                words = words.masked_fill(hide, UNK_ID)
            out, _ = self.decoder(self.inputs(words, code), self.start(code))
            return self.out(out)
        return self.decode(code, ids.shape[1], ids, teacher_forcing)

    def decode(self, code: torch.Tensor, steps: int, truth: torch.Tensor | None = None,
               teacher_forcing: float = 0.0) -> torch.Tensor:
        """Step by step: each step is fed the true previous word with probability
        `teacher_forcing`, else the decoder's own last guess (0 = greedy decoding)."""
        state, word = self.start(code), torch.full((len(code), 1), PAD_ID, dtype=torch.long, device=code.device)
        logits = []
        for t in range(steps):
            out, state = self.decoder(self.inputs(word, code), state)
            logits.append(self.out(out[:, 0]))
            word = logits[-1].argmax(-1, keepdim=True)
            if truth is not None and teacher_forcing > 0:
                use_truth = torch.rand(len(code), 1, device=code.device) < teacher_forcing
                word = torch.where(use_truth, truth[:, t:t + 1], word)
        return torch.stack(logits, 1)


def masked_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the real words only (padding, id 0, is ignored)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids.reshape(-1), ignore_index=PAD_ID)


def hits(logits: torch.Tensor, ids: torch.Tensor) -> tuple[int, int]:
    """(words right, real words) at the non-padding positions."""
    real = ids != PAD_ID
    return int(((logits.argmax(-1) == ids) & real).sum()), int(real.sum())


# --- scoring -------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model: SeqAutoencoder, enc: Encoded, batch_size: int = 256, greedy: bool = True,
             job: Job | None = None) -> dict:
    """Loss and teacher-forced accuracy, and (with `greedy`) the accuracy of greedy decoding from
    the code — told how many words to write, since the model has no end-of-text word. Over all
    the texts, unless the job's Stop cuts the scoring short (`batches.scoring`; "n" counts them)."""
    model.eval()
    device = next(model.parameters()).device
    loss = right = n = 0.0
    width = enc.ids.shape[1]
    right_at, real_at = torch.zeros(width), torch.zeros(width)  # greedy hits and real words per position
    texts = 0
    for idx in scoring(enc.lengths, batch_size, job):
        texts += len(idx)
        ids, lengths, _ = take(enc, idx)
        ids = ids.to(device)
        logits = model(ids, lengths)
        k, m = hits(logits, ids)
        loss, right, n = loss + masked_loss(logits, ids).item() * m, right + k, n + m
        if greedy:
            guess = model.decode(model.encode(ids, lengths), ids.shape[1]).argmax(-1)
            real = ids != PAD_ID
            right_at[:ids.shape[1]] += ((guess == ids) & real).sum(0).cpu()
            real_at[:ids.shape[1]] += real.sum(0).cpu()
    out = {"loss": loss / max(1, n), "acc": right / max(1, n), "n": texts}
    if greedy:
        out["greedy_acc"] = float(right_at.sum()) / max(1, n)
        out["by_position"] = (right_at / real_at.clamp(min=1)).numpy()
    return out


@torch.no_grad()
def codes_of(model: SeqAutoencoder, enc: Encoded, batch_size: int = 512) -> np.ndarray:
    """(N, code) in the order of `enc`."""
    model.eval()
    device = next(model.parameters()).device
    out = torch.zeros(len(enc), model.to_code.out_features)
    for idx in bucketed(enc.lengths, batch_size, shuffle=False):
        ids, lengths, _ = take(enc, idx)
        out[idx] = model.encode(ids.to(device), lengths).cpu()
    return out.numpy()


def baselines(train: Encoded, test: Encoded) -> dict:
    """Token accuracy without reading the text: always the training set's most frequent word,
    or the most frequent word *at each position* (the stronger: "i" and "this" open reviews)."""
    ids, real = train.ids.long(), train.ids != PAD_ID
    counts = torch.bincount(ids[real], minlength=2)
    counts[PAD_ID] = 0
    top = int(counts.argmax())
    per_pos = []
    for t in range(ids.shape[1]):
        col = ids[:, t][real[:, t]]
        per_pos.append(int(torch.bincount(col).argmax()) if len(col) else top)
    tids, treal = test.ids.long(), test.ids != PAD_ID
    n = max(1, int(treal.sum()))
    word = int(((tids == top) & treal).sum()) / n
    pos = int(((tids == torch.tensor(per_pos)[None, :tids.shape[1]]) & treal).sum()) / n
    return {"word": word, "position": pos, "top_word": top}


def pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(points (N, 2), mean, axes (2, code), share of the variance each axis keeps)."""
    mean = codes.mean(0)
    _, s, vt = np.linalg.svd(codes - mean, full_matrices=False)
    axes = vt[:2]
    return (codes - mean) @ axes.T, mean, axes, (s[:2] ** 2) / max(1e-12, float((s ** 2).sum()))


def probe(train_codes: np.ndarray, y_train: np.ndarray, test_codes: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy of a logistic regression reading sentiment off the codes: how much of the
    label the autoencoder happened to keep (chance is the majority class share)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_train)) < 2 or not len(y_test):
        return float("nan")
    scale = StandardScaler().fit(train_codes)
    clf = LogisticRegression(max_iter=500).fit(scale.transform(train_codes), y_train)
    return float(clf.score(scale.transform(test_codes), y_test))


@dataclass
class Reconstruction:
    original: list[str]  # the words the model read (vocabulary entries, "[UNK]" for unknown ones)
    rebuilt: list[str]  # greedy decoding from the code, as many words
    n_words: int  # words in the whole text, before the cut to max_len
    truncated: bool
    n_unknown: int
    code: np.ndarray | None = None

    @property
    def correct(self) -> list[bool]:
        return [a == b for a, b in zip(self.original, self.rebuilt)]

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.original) if self.original else float("nan")

    def note(self, max_len: int) -> str:
        """What the page says besides the words ("" when there is nothing to add)."""
        if not self.original:
            return "There are no words in this text to reconstruct: type a sentence."
        parts = []
        if self.truncated:
            parts.append(f"only the first {max_len} of its {self.n_words:,} words are read (the model was trained "
                         f"on {max_len}-word texts)")
        if self.n_unknown:
            parts.append(f"{self.n_unknown} word{'s' if self.n_unknown != 1 else ''} outside the vocabulary "
                         "became [UNK]")
        return "; ".join(parts)


@torch.no_grad()
def rebuild(model: SeqAutoencoder, ids: list[int]) -> tuple[list[int], np.ndarray]:
    """Greedy reconstruction of one text's ids (as many as it has), and its code."""
    model.eval()
    x = torch.tensor([ids], device=next(model.parameters()).device)
    code = model.encode(x, torch.tensor([len(ids)]))
    return model.decode(code, len(ids)).argmax(-1)[0].tolist(), code[0].cpu().numpy()


def reconstruct(model: SeqAutoencoder, vocab: Vocab, text: str, max_len: int) -> Reconstruction:
    """One text in, its greedy reconstruction out; an empty text gives an empty one."""
    piece = vocab.piece(text or "")  # all its words first: the note says how many were cut
    ids = piece.ids[:max_len]
    if not ids:
        return Reconstruction([], [], 0, False, 0)
    out, code = rebuild(model, ids)
    return Reconstruction([vocab.words[i] for i in ids], [vocab.words[i] for i in out], len(piece.ids),
                          len(piece.ids) > max_len, sum(i == UNK_ID for i in ids), code)


def examples(model: SeqAutoencoder, vocab: Vocab, enc: Encoded, labels: np.ndarray, classes: list[str],
             n: int = N_EXAMPLES) -> list[dict]:
    """A few test texts (evenly spread) as {original, rebuilt, label, index} word lists."""
    out = []
    for i in np.linspace(0, len(enc) - 1, min(n, len(enc))).astype(int).tolist():
        ids = enc.ids[i, :int(enc.lengths[i])].tolist()
        rebuilt, _ = rebuild(model, ids)
        out.append({"original": [vocab.words[j] for j in ids], "rebuilt": [vocab.words[j] for j in rebuilt],
                    "label": classes[int(labels[i])], "index": int(i)})
    return out


# --- training ------------------------------------------------------------------------------------------

@dataclass
class SeqAEResult:
    model: SeqAutoencoder
    vocab: Vocab
    spec: SeqAESpec
    rows: list[dict]
    test_acc: float  # greedy decoding from the code, non-padding words
    test_acc_forced: float  # teacher-forced: each step given the true previous word
    test_loss: float
    baseline_acc: float  # the most frequent word at each position
    baseline_word_acc: float  # always the single most frequent word
    top_word: str
    examples: list[dict]
    points: np.ndarray  # (N, 2) PCA of the test codes
    labels: np.ndarray  # (N,) their classes
    pca_mean: np.ndarray
    pca_axes: np.ndarray  # (2, code)
    explained: np.ndarray  # (2,) variance share per axis
    by_position: np.ndarray  # (max_len,) greedy test accuracy at each word position
    probe_acc: float  # logistic regression on the codes → sentiment, test accuracy
    majority_share: float  # the probe's chance level
    classes: list[str]
    data_summary: str
    truncated_share: float  # training texts longer than max_len
    seconds_per_epoch: float
    train_seconds: float = 0.0
    stopped: str = ""

    def reconstruct(self, text: str) -> Reconstruction:
        return reconstruct(self.model, self.vocab, text, self.spec.max_len)

    def project(self, code: np.ndarray) -> np.ndarray:
        """A code onto the test codes' PCA plane."""
        return (np.asarray(code) - self.pca_mean) @ self.pca_axes.T


def load_texts(spec: SeqAESpec, job: Job | None = None) -> tuple[corpora.TextData, Vocab, Encoded, Encoded, Encoded]:
    """(data, vocabulary, train, validation, test encodings) — the validation texts are the
    first tenth of the (shuffled, stratified) training subset. With a job, its page says what is
    being prepared and Stop acts between chunks of texts (raises Cancelled)."""
    data = corpora.load(spec.corpus, progress=job_progress(job)).take(spec.n_train, spec.n_test, seed=spec.train.seed)
    n_val = min(500, len(data.train_texts) // 10)
    vocab = corpora_vocab(data, spec, job)

    def enc(texts, labels, what):
        return vocab.encode(texts, labels, spec.max_len, keep="start",
                            report=job_report(job, f"encoding {len(texts):,} {what} texts"))

    train = enc(data.train_texts[n_val:], data.train_labels[n_val:], "training")
    val = enc(data.train_texts[:n_val], data.train_labels[:n_val], "validation")
    return data, vocab, train, val, enc(data.test_texts, data.test_labels, "test")


def corpora_vocab(data: corpora.TextData, spec: SeqAESpec, job: Job | None = None) -> Vocab:
    from .tokens import vocab_for

    return vocab_for(data.train_texts, spec.vocab_size, f"{data.name}-{len(data.train_texts)}",
                     job_report(job, f"learning the vocabulary from {len(data.train_texts):,} texts"))


def train_seqae(spec: SeqAESpec, job: Job | None = None) -> SeqAEResult:
    cfg = spec.train
    gen = seed_everything(cfg.seed)
    data, vocab, train, val, test = load_texts(spec, job)
    if len(train) < 10:
        raise ValueError(f"Only {len(train)} training texts: choose more (n_train) or another corpus.")
    model = SeqAutoencoder(vocab.size, spec.embed, spec.hidden, spec.code, spec.reverse, spec.feed_code)
    loop = Loop(model, cfg, job, steps_per_epoch=math.ceil(len(train) / cfg.batch_size))
    if job:
        job.log(f"{len(train):,} training, {len(val):,} validation, {len(test):,} test texts; "
                f"{train.truncated:,} training texts cut to their first {spec.max_len} words")

    def step(batch) -> Step:
        """Rebuild the texts from their codes; the loss and accuracy are per real word."""
        ids, lengths, _ = batch
        words = int((ids != PAD_ID).sum())  # counted on the CPU: no wait for the device
        ids = ids.to(loop.device)  # the lengths stay on the CPU, where packing reads them
        logits = model(ids, lengths, spec.teacher_forcing, spec.word_dropout)
        right = ((logits.detach().argmax(-1) == ids) & (ids != PAD_ID)).sum()
        return Step(masked_loss(logits, ids), len(ids), correct=right, weight=words)

    def validate() -> dict:
        v = evaluate(model, val, job=job)
        return {"loss": v["loss"], "acc": v["acc"], "greedy_acc": v["greedy_acc"]}

    history = loop.run(lambda epoch: (take(train, idx) for idx in bucketed(train.lengths, cfg.batch_size, gen)),
                       step, validate=validate)
    return finish(model.cpu().eval(), vocab, spec, data, train, test, history.rows, history.train_seconds,
                  history.stopped, job)


def finish(model, vocab, spec, data, train, test, rows, train_seconds, stopped, job: Job | None = None) -> SeqAEResult:
    """Score the model on the test texts: accuracies, baselines, examples, codes in 2-D. After Stop
    the accuracies come from a random part of the test texts, scored for seconds (`batches.scoring`)."""
    if job:
        job.set_progress(job.progress, f"scoring {len(test):,} test texts…")
    t = evaluate(model, test, job=job)
    if t["n"] < len(test):
        stopped += f"; scored on a random {t['n']:,} of the {len(test):,} test texts"
    base = baselines(train, test)
    test_codes = codes_of(model, test)
    points, mean, axes, explained = pca_2d(test_codes)
    y_test = test.labels.numpy()
    probe_rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:PROBE_TEXTS].sort().values
    probe_train = Encoded(train.ids[probe_rows], train.lengths[probe_rows], train.labels[probe_rows])
    y_train = probe_train.labels.numpy()
    majority = float(np.bincount(y_test).max() / max(1, len(y_test)))
    epoch_s = [r["seconds"] for r in rows]
    return SeqAEResult(
        model, vocab, spec, rows, t["greedy_acc"], t["acc"], t["loss"], base["position"], base["word"],
        vocab.words[base["top_word"]], examples(model, vocab, test, y_test, data.classes), points.astype(np.float32),
        y_test, mean.astype(np.float32), axes.astype(np.float32), explained.astype(np.float32),
        t["by_position"].astype(np.float32),
        probe(codes_of(model, probe_train), y_train, test_codes, y_test), majority, list(data.classes), data.summary(),
        train.truncated / max(1, len(train)), float(np.mean(epoch_s)) if epoch_s else 0.0, train_seconds, stopped)


# --- the live curves -------------------------------------------------------------------------------------

def curves(rows: list[dict], run: str):
    """(loss, words rebuilt) figures of a run's metric rows, titled "Run 7 · …": what was measured is
    always drawn — a few points get markers (a line through one point shows nothing), the share of
    words rebuilt runs from 0 (an axis from −100 % to 100 % drew a run that diverged at step 6),
    and a run that diverged says so in both titles, with the step it diverged at drawn."""
    from ..viz import curves_figure

    diverged = next((r for r in rows if r.get("diverged")), None)
    note = f" — diverged at step {diverged['step']}" if diverged else ""
    loss = curves_figure(rows, "loss", f"{run}loss (cross-entropy per word){note}")
    acc = curves_figure(rows, "acc", f"{run}words rebuilt{note}")
    epochs = [r for r in rows if r.get("split") == "epoch" and "val_greedy_acc" in r]
    if epochs:
        acc.add_scatter(x=[r["epoch"] for r in epochs], y=[r["val_greedy_acc"] for r in epochs],
                        mode="lines+markers", name="validation, greedy from the code", line=dict(width=2.5, dash="dot"))
    shares = [v for r in rows for k in ("acc", "train_acc", "val_acc", "val_greedy_acc")
              if isinstance(v := r.get(k), (int, float)) and math.isfinite(v)]
    if shares:
        acc.update_layout(yaxis_tickformat=".0%", yaxis_range=[0, min(1.0, max(shares) * 1.15 + 0.02)])
    for fig in (loss, acc):
        for trace in fig.data:
            if trace.x is not None and len(trace.x) < 3:
                trace.mode = "lines+markers"
        if diverged:
            fig.add_vline(x=diverged["epoch"], line_dash="dot", line_color="#d62728")
    return loss, acc


# --- as a stored run -------------------------------------------------------------------------------------

def _vocab(tokenizer: str) -> Vocab:
    from tokenizers import Tokenizer

    return Vocab(Tokenizer.from_str(tokenizer))


CODEC = Codec(SeqAEResult, headline=lambda r: f"{r.test_acc:.1%} of words rebuilt (baseline {r.baseline_acc:.1%})",
              models={"model": lambda spec, s: SeqAutoencoder(_vocab(s["tokenizer"]).size, spec.embed, spec.hidden,
                                                              spec.code, spec.reverse, spec.feed_code)},
              renamed={"vocab": "tokenizer"}, forms={"vocab": Form(lambda v: v.tokenizer.to_str(), _vocab),
                                                     "labels": Form(lambda a: a.astype(np.int64), np.asarray)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: SeqAESpec) -> str:
    epochs = spec.train.epochs
    return (f"{spec.corpus} · first {spec.max_len} words · code {spec.code} · "
            f"{epochs} epoch{'s' if epochs != 1 else ''}")


def work(spec: SeqAESpec):
    from ..limits import Work

    total = len(corpora.load(spec.corpus).train_texts)
    n = min(spec.n_train, total) if spec.n_train else total  # a corpus smaller than asked trains on what it has
    return Work(spec.train.epochs, "epoch", n, "training texts")


LESSON = Lesson(page="seqae", figure=Figure("test_acc", "words rebuilt", percent=True),
                spec_type=SeqAESpec, train=lambda spec, job: train_seqae(spec, job), save=save_result,
                load=load_result, brief=brief, curves=("loss", "acc", "val_greedy_acc"), work=work)


def cost(spec: SeqAESpec):
    """Memory and step time of one batch (`dlplay.costs`): both LSTMs and the word logits' loss,
    probed on short texts and extrapolated per word; sized before the texts are encoded."""
    from ..costs import torch_cost

    def loss(logits):
        words = logits.shape[0] * logits.shape[1]
        return F.cross_entropy(logits.flatten(0, 1), torch.zeros(words, dtype=torch.long, device=logits.device))

    w = work(spec)
    batch = spec.train.batch_size
    texts = w.size - min(500, w.size // 10)  # a tenth (at most 500) validates
    return torch_cost(lambda n: SeqAutoencoder(spec.vocab_size, spec.embed, spec.hidden, spec.code, spec.reverse,
                                               spec.feed_code),
                      lambda b, n: (torch.ones(b, n, dtype=torch.long), torch.full((b,), n, device="cpu"),
                                    spec.teacher_forcing, spec.word_dropout),
                      batch=batch, length=spec.max_len, per_step=True, optimizer=spec.train.optimizer, loss=loss,
                      lower="the words kept per text, the vocabulary, the LSTM hidden size or the embedding size"
                      ).with_steps(w.count * -(-texts // batch))


LESSON.cost = cost
