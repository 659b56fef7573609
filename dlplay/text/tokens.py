"""Words to ids with Hugging Face `tokenizers` (Rust, so 25,000 reviews encode in a second or
two): a word-level vocabulary of the `vocab_size` most frequent words of the training split,
lower-cased and accent-stripped, punctuation split off. Id 0 pads, id 1 is every word outside
the vocabulary. A vocabulary is trained once per (corpus, size) and cached as JSON.

Word level, not sub-word pieces, because the lessons look at *words*: each word's
contribution to a prediction, its embedding's neighbours, analogies between words.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from ..data import cache_dir

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
CHUNK = 1000  # texts per chunk when progress is reported: about 0.3 s of work on a loaded 2-core machine
Report = Callable[[int, int], None]  # (texts done, texts in all); may raise (Stop) to end the work


@dataclass
class Encoded:
    """Texts as one (N, max_len) int32 id matrix padded with 0 (kept small: 25,000 × 400 is
    40 MB), their lengths (at least 1: an empty text is one padding token) and labels."""
    ids: torch.Tensor
    lengths: torch.Tensor  # int64
    labels: torch.Tensor  # int64
    truncated: int = 0  # how many texts were longer than max_len

    def __len__(self) -> int:
        return len(self.lengths)


@dataclass
class Piece:
    """One text as the model sees it: its ids and, for each, the word and where it sits in the text."""
    ids: list[int]
    words: list[str]  # the vocabulary entry ("[UNK]" for unknown words)
    spans: list[tuple[int, int]]  # character offsets into the original text
    truncated: bool = False

    @property
    def n_unknown(self) -> int:
        return sum(i == UNK_ID for i in self.ids)


class Vocab:
    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.size = tokenizer.get_vocab_size()
        vocab = tokenizer.get_vocab()
        self.words = [""] * self.size
        for word, i in vocab.items():
            self.words[i] = word

    def id(self, word: str) -> int:
        found = self.tokenizer.token_to_id(self.tokenizer.normalizer.normalize_str(word))
        return UNK_ID if found is None else found

    def piece(self, text: str, max_len: int = 0, keep: str = "start") -> Piece:
        """One text, with each id's word and span (to highlight words in the text)."""
        enc = self.tokenizer.encode(text)
        ids, offsets = list(enc.ids), list(enc.offsets)
        cut = bool(max_len) and len(ids) > max_len
        if cut:
            sl = slice(None, max_len) if keep == "start" else slice(len(ids) - max_len, None)
            ids, offsets = ids[sl], offsets[sl]
        return Piece(ids, [self.words[i] for i in ids], [tuple(o) for o in offsets], cut)

    def encode(self, texts: list[str], labels=None, max_len: int = 256, keep: str = "start",
               report: Report | None = None) -> Encoded:
        """Many texts at once, truncated to `max_len` ids: the first ones (`keep="start"`) or
        the last (`"end"` — a review's verdict often comes last). With `report`, in chunks of
        `CHUNK` texts, `report(done, total)` before each (it may raise to stop: a job's Stop)."""
        n = len(texts)
        ids = np.zeros((n, max_len), np.int32)
        lengths = np.ones(n, np.int64)
        truncated = 0
        step = CHUNK if report is not None else max(1, n)
        for start in range(0, n, step):
            if report is not None:
                report(start, n)
            encs = self.tokenizer.encode_batch_fast(list(texts[start:start + step]))
            for row, enc in enumerate(encs, start):
                seq = enc.ids
                if len(seq) > max_len:
                    truncated += 1
                    seq = seq[:max_len] if keep == "start" else seq[-max_len:]
                ids[row, :len(seq)] = seq
                lengths[row] = max(1, len(seq))
        if report is not None:
            report(n, n)
        y = torch.as_tensor(np.asarray(labels if labels is not None else np.zeros(n), np.int64))
        return Encoded(torch.from_numpy(ids), torch.from_numpy(lengths), y, truncated)

    def decode(self, ids) -> str:
        """The words of `ids` joined by spaces, padding left out."""
        return " ".join(self.words[int(i)] for i in ids if int(i) != PAD_ID)

    def coverage(self, texts: list[str]) -> float:
        """The share of the words in `texts` the vocabulary knows (shown beside the size slider)."""
        encs = self.tokenizer.encode_batch_fast(list(texts))
        total = sum(len(e.ids) for e in encs)
        unknown = sum(e.ids.count(UNK_ID) for e in encs)
        return 1.0 - unknown / max(1, total)


def blank() -> Tokenizer:
    """An untrained tokenizer with the vocabulary's normaliser and word splitter (word2vec splits with it)."""
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # words and runs of punctuation: "great!!" → great, !!
    return tok


def train_vocab(texts: list[str], vocab_size: int, report: Report | None = None) -> Vocab:
    tok = blank()
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[PAD, UNK],
                                        show_progress=False)
    tok.train_from_iterator(_reported(texts, report), trainer=trainer, length=len(texts))
    return Vocab(tok)


def _reported(texts: list[str], report: Report | None):
    """`texts` in chunks of `CHUNK` for the tokenizer's trainer, `report` called before each: the
    trainer reads its iterator from Python, so an exception raised there (Stop) ends the training."""
    if report is None:
        yield texts
        return
    for start in range(0, len(texts), CHUNK):
        report(start, len(texts))
        yield texts[start:start + CHUNK]
    report(len(texts), len(texts))


def job_report(job, what: str) -> Report | None:
    """A `Report` for a job's long preparation: its page reads what is happening ("encoding 22,500
    training reviews: 40 %") and its Stop acts between chunks (raises `Cancelled`); None without a job."""
    if job is None:
        return None

    def report(done: int, total: int) -> None:
        job.check_cancelled()
        job.set_progress(job.progress, f"{what}: {done / max(1, total):.0%}")

    return report


def job_progress(job):
    """The same for a corpus being read (`corpus.load`'s `progress(fraction, message)`); None without a job."""
    if job is None:
        return None

    def progress(fraction: float, message: str) -> None:
        job.check_cancelled()
        job.set_progress(job.progress, message)

    return progress


_memo: dict[str, Vocab] = {}
_lock = threading.Lock()


def _key(texts: list[str], vocab_size: int) -> str:
    h = hashlib.sha1(f"{len(texts)}:{vocab_size}".encode())
    for t in texts[:: max(1, len(texts) // 500)]:  # a sample identifies the corpus; hashing all 30 MB costs 0.1 s
        h.update(t.encode("utf-8", "replace"))
    return h.hexdigest()[:16]


def vocab_for(texts: list[str], vocab_size: int, name: str = "corpus", report: Report | None = None) -> Vocab:
    """The vocabulary of `texts` (a training split), trained once and cached in memory and on disk;
    `report(done, total)` is called while it is trained (see `train_vocab`)."""
    key = f"{name}-{vocab_size}-{_key(texts, vocab_size)}"
    with _lock:
        if key in _memo:
            return _memo[key]
        path = Path(cache_dir()) / "tokenizers" / f"{key}.json"
        vocab = None
        if path.is_file():
            try:
                vocab = Vocab(Tokenizer.from_file(str(path)))
            except Exception:  # noqa: BLE001 - a broken cache file is rebuilt
                vocab = None
        if vocab is None:
            vocab = train_vocab(texts, vocab_size, report)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            vocab.tokenizer.save(str(tmp))
            tmp.replace(path)
        _memo[key] = vocab
        return vocab


__all__ = ["Encoded", "PAD_ID", "Piece", "UNK_ID", "Vocab", "blank", "job_progress", "job_report", "train_vocab",
           "vocab_for"]
