"""Word vectors as geometry: any table of (words, vectors) — the embedding layer of a
sentiment model, or word2vec — explored by cosine.

- `neighbours`: the words whose vectors point the same way as a word's.
- `analogy`: a − b + c, the word nearest to it by cosine, the three inputs left out
  ("3CosAdd", what gensim's `most_similar(positive=[a, c], negative=[b])` does).
- `analogy_accuracy`: the analogy questions gensim ships (`questions-words.txt`, Mikolov
  et al. 2013: "athens greece baghdad iraq" asks greece − athens + baghdad = iraq?),
  restricted to the questions whose four words the table knows, scored in numpy batches.
- `project_2d`: a 2-D PCA of chosen words, to draw them.
- `polarity`: the cosine of each word with a direction such as good − bad.

`sentiment_embedding` trains the smallest model whose embeddings are learned *for
sentiment*: the mean of a review's word vectors, then one linear layer to
negative/positive. Its only signal is the label, so its vectors need to encode one thing
— how positive a word is — and nothing about what a word means otherwise; word2vec's
only signal is which words appear near which, so its vectors encode meaning and usage,
the relations that analogies test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPECIAL = ("[PAD]", "[UNK]")  # a Vocab's padding and unknown-word ids: not words to explore
POSITIVE = ("good",)  # the default polarity direction: good − bad
NEGATIVE = ("bad",)


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (an all-zero row stays zero): dot products become cosines."""
    v = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class UnknownWord(KeyError):
    """A word the table doesn't have; the message says which and where it came from."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown word"


@dataclass
class Embeddings:
    """Words and their vectors (one row each); `unit` rows for cosines, `index` word → row.
    Built with `of`, which leaves the vocabulary's padding and unknown ids out."""
    words: list[str]
    vectors: np.ndarray  # (n, dim) float32
    name: str = ""  # what the figures call it: "Run 3 · word2vec"
    unit: np.ndarray = field(init=False, repr=False)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.vectors = np.asarray(self.vectors, np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.words):
            raise ValueError(f"{len(self.words)} words but vectors of shape {self.vectors.shape}")
        self.unit = unit(self.vectors)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def of(cls, words, vectors, name: str = "", drop=SPECIAL) -> "Embeddings":
        keep = [i for i, w in enumerate(words) if w and w not in drop]
        return cls([words[i] for i in keep], np.asarray(vectors)[keep], name)

    @classmethod
    def from_result(cls, result, name: str = "") -> "Embeddings":
        """The embedding layer of a trained sentiment run: any result with `.vocab` (a
        dlplay.text.tokens.Vocab) and `.embeddings()` → array (vocab.size, dim)."""
        return cls.of(list(result.vocab.words), np.asarray(result.embeddings()), name)

    @property
    def size(self) -> int:
        return len(self.words)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __contains__(self, word: str) -> bool:
        return self.find(word) is not None

    def find(self, word: str) -> int | None:
        """The row of `word` as typed, or lower-cased (both vocabularies are lower-case)."""
        w = (word or "").strip()
        return self.index.get(w, self.index.get(w.lower()))

    def row(self, word: str) -> int:
        i = self.find(word)
        if i is None:
            where = f" of {self.name}" if self.name else ""
            shown = word.strip() if len(word.strip()) <= 40 else word.strip()[:40] + "…"
            raise UnknownWord(f"“{shown}” is not in the vocabulary{where} ({self.size:,} words): "
                              "it was too rare in the training reviews, or is spelled differently.")
        return i


def _top(scores: np.ndarray, k: int, exclude: list[int]) -> list[int]:
    scores = scores.copy()
    scores[exclude] = -np.inf
    k = min(k, len(scores) - len(set(exclude)))
    best = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.zeros(0, int)
    return best[np.argsort(-scores[best], kind="stable")].tolist()


def neighbours(emb: Embeddings, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The k words most similar to `word` by cosine, most similar first, the word itself left out."""
    i = emb.row(word)
    scores = emb.unit @ emb.unit[i]
    return [(emb.words[j], float(scores[j])) for j in _top(scores, k, [i])]


def analogy(emb: Embeddings, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """a − b + c ("king − man + woman"): the k words nearest by cosine to the sum of the
    three unit vectors, the three themselves left out (gensim's 3CosAdd)."""
    ia, ib, ic = emb.row(a), emb.row(b), emb.row(c)
    target = emb.unit[ia] - emb.unit[ib] + emb.unit[ic]
    target = target / max(float(np.linalg.norm(target)), 1e-12)
    scores = emb.unit @ target
    return [(emb.words[j], float(scores[j])) for j in _top(scores, k, [ia, ib, ic])]


# --- the analogy questions ----------------------------------------------------------------------

def questions_path() -> Path:
    """gensim's copy (`gensim.test.utils.datapath("questions-words.txt")`), found without
    importing gensim: the import takes seconds, the page needs only the file."""
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "test" / "test_data" / "questions-words.txt"
        if path.is_file():
            return path
    from gensim.test.utils import datapath  # an unusual install: ask gensim

    return Path(datapath("questions-words.txt"))


def read_questions(path: str | Path | None = None) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """[(section, [(a, b, c, d), …]), …], lower-cased; ": capital-common-countries" starts a section."""
    sections: list[tuple[str, list]] = []
    for line in Path(path or questions_path()).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
        elif line.strip() and sections:
            words = line.lower().split()
            if len(words) == 4:
                sections[-1][1].append(tuple(words))
    return sections


@dataclass
class AnalogyReport:
    """How many analogy questions a table answers right, among those it can be asked: the
    ones whose four words it knows (`covered` of `total`). Gensim's evaluation counts the same way."""
    sections: list[dict]  # {"section", "total", "covered", "correct", "accuracy"}
    total: int
    covered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.covered if self.covered else float("nan")

    def to_dict(self) -> dict:
        return {"sections": self.sections, "total": self.total, "covered": self.covered, "correct": self.correct}

    @classmethod
    def from_dict(cls, d: dict) -> "AnalogyReport":
        return cls(list(d["sections"]), int(d["total"]), int(d["covered"]), int(d["correct"]))


def answer_batch(emb: Embeddings, q: np.ndarray) -> np.ndarray:
    """The row answering each question (a, b, c, d) of `q` (rows of ids): nearest to
    b − a + c, a, b and c left out."""
    u = emb.unit
    target = u[q[:, 1]] - u[q[:, 0]] + u[q[:, 2]]
    scores = target @ u.T  # (B, vocabulary): one matrix product for the whole batch
    rows = np.arange(len(q))[:, None]
    scores[rows, q[:, :3]] = -np.inf
    return scores.argmax(1)


def analogy_accuracy(emb: Embeddings, path: str | Path | None = None, batch: int = 512) -> AnalogyReport:
    """Accuracy on gensim's `questions-words.txt` over the questions whose words are all in `emb`."""
    sections, total = [], 0
    for name, questions in read_questions(path):
        total += len(questions)
        ids = [[emb.index.get(w) for w in q] for q in questions]
        known = np.array([r for r in ids if None not in r], np.int64).reshape(-1, 4)
        correct = 0
        for start in range(0, len(known), batch):
            part = known[start:start + batch]
            correct += int((answer_batch(emb, part) == part[:, 3]).sum())
        sections.append({"section": name, "total": len(questions), "covered": len(known), "correct": correct,
                         "accuracy": correct / len(known) if len(known) else float("nan")})
    return AnalogyReport(sections, total, sum(s["covered"] for s in sections), sum(s["correct"] for s in sections))


# --- pictures and polarity ------------------------------------------------------------------------

def project_2d(emb: Embeddings, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates (m, 2), share of variance each axis explains): PCA of the chosen words'
    unit vectors, so the picture shows the directions cosine compares. Unknown words raise."""
    rows = [emb.row(w) for w in words]
    x = emb.unit[rows]
    x = x - x.mean(0)
    if len(rows) < 2 or not np.any(x):
        return np.zeros((len(rows), 2), np.float32), np.zeros(2)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    coords = u[:, :2] * s[:2]
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    var = s ** 2
    share = var[:2] / var.sum()
    return coords.astype(np.float32), np.pad(share, (0, 2 - len(share)))


def direction(emb: Embeddings, positive=POSITIVE, negative=NEGATIVE) -> np.ndarray:
    """mean(positive unit vectors) − mean(negative ones), as a unit vector."""
    d = emb.unit[[emb.row(w) for w in positive]].mean(0) - emb.unit[[emb.row(w) for w in negative]].mean(0)
    return d / max(float(np.linalg.norm(d)), 1e-12)


def polarity(emb: Embeddings, words: list[str], positive=POSITIVE, negative=NEGATIVE) -> np.ndarray:
    """The cosine of each word with the direction positive − negative (default good − bad):
    above 0 leans to "good", below to "bad"."""
    return emb.unit[[emb.row(w) for w in words]] @ direction(emb, positive, negative)


def separation(emb: Embeddings, positive_words, negative_words, positive=POSITIVE, negative=NEGATIVE) -> float:
    """The share of (positive word, negative word) pairs that the polarity puts in the right
    order (1 = every positive word above every negative one, 0.5 = chance). Words the table
    lacks are left out."""
    pos = [w for w in positive_words if w in emb]
    neg = [w for w in negative_words if w in emb]
    if not pos or not neg:
        return float("nan")
    p, n = polarity(emb, pos, positive, negative), polarity(emb, neg, positive, negative)
    return float((p[:, None] > n[None, :]).mean())


# Held-out opinion words (not good/bad themselves) for `separation`.
POSITIVE_WORDS = ("great", "excellent", "wonderful", "best", "perfect", "brilliant", "beautiful", "amazing",
                  "superb", "enjoyed", "loved", "favorite", "fantastic", "highly")
NEGATIVE_WORDS = ("awful", "terrible", "worst", "boring", "waste", "poor", "horrible", "stupid", "worse",
                  "dull", "poorly", "lame", "mess", "annoying")


# --- embeddings learned for sentiment ------------------------------------------------------------

def bag_classifier(dim: int, vocab_size: int, init_std: float = 1.0):
    """Mean of the review's word vectors (padding left out) → one linear layer → 2 classes."""
    import torch
    from torch import nn

    class BagOfEmbeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
            self.out = nn.Linear(dim, 2)
            nn.init.normal_(self.embedding.weight, 0.0, init_std)
            with torch.no_grad():
                self.embedding.weight[0] = 0.0

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.out(self.embedding(ids))

    return BagOfEmbeddings()


def sentiment_embedding(texts: list[str], labels, vocab, dim: int = 32, epochs: int = 3, seed: int = 0,
                        max_len: int = 256, lr: float = 5e-3, batch_size: int = 64, init_std: float = 0.1,
                        report: dict | None = None, check=None) -> np.ndarray:
    """The embedding matrix (vocab.size, dim) of a bag-of-embeddings classifier trained on
    `texts` and their 0/1 labels with Adam: embeddings learned for sentiment alone.
    The vectors start small (`init_std` 0.1, not nn.Embedding's 1.0) so that what a vector
    holds is what training put there: at 1.0 the random start outweighs what 3 epochs on
    2,500 reviews add, and neighbours by cosine are noise (measured: "awful"'s nearest were
    "pursuing", "dir", "grabbing"; from 0.1 they are "stupid", "dull", "annoying").
    `report` (a dict) receives the training accuracy per epoch and the seconds taken;
    `check()` is called between batches (a job's stop check)."""
    import math
    import time

    import torch
    import torch.nn.functional as F

    from ..train import Checked, Loop, Step, TrainConfig
    from .batches import bucketed, take

    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    enc = vocab.encode(texts, labels, max_len=max_len, keep="end",  # a review's verdict often comes last
                       report=None if check is None else lambda done, total: check())
    cfg = TrainConfig(optimizer="adam", lr=lr, batch_size=batch_size, epochs=epochs, schedule="constant", seed=seed)
    loop = Loop(bag_classifier(dim, vocab.size, init_std), cfg, None if check is None else Checked(check),
                steps_per_epoch=math.ceil(len(enc) / batch_size))
    model = loop.model

    def step(batch) -> Step:
        ids, _, y = batch
        ids, y = ids.to(loop.device), y.to(loop.device)
        logits = model(ids)
        return Step(F.cross_entropy(logits, y), len(y), (logits.argmax(1) == y).sum())

    history = loop.run(lambda epoch: (take(enc, idx) for idx in bucketed(enc.lengths, batch_size, gen)), step)
    model.cpu()
    if report is not None:
        report.update(train_acc=[r["train_acc"] for r in history.rows], seconds=time.perf_counter() - t0,
                      model=model, encoded_len=max_len)
    return model.embedding.weight.detach().numpy().copy()


def bag_accuracy(model, vocab, texts: list[str], labels, max_len: int = 256) -> float:
    """Test accuracy of a `bag_classifier` on other reviews."""
    import torch

    enc = vocab.encode(texts, labels, max_len=max_len, keep="end")
    with torch.no_grad():
        pred = torch.cat([model(enc.ids[i:i + 512].long()).argmax(1) for i in range(0, len(enc), 512)])
    return float((pred == enc.labels).float().mean())


__all__ = ["AnalogyReport", "Embeddings", "NEGATIVE_WORDS", "POSITIVE_WORDS", "UnknownWord", "analogy",
           "analogy_accuracy", "bag_accuracy", "direction", "neighbours", "polarity", "project_2d",
           "read_questions", "sentiment_embedding", "separation", "unit"]
