"""Text classifiers that read word ids: a bag of embeddings (fastText, with hashed bigrams),
a simple RNN, an LSTM, a GRU, a bidirectional LSTM and a Transformer encoder.

Every model starts with `self.embedding`, whose first V rows are one trainable vector per
word (id 0 = padding), and is called as `model(ids, lengths)` → logits. `model.embed(ids)`
gives the words' vectors and `model.from_embedded(vectors, ids, lengths)` runs the rest of
the network on them, which is what integrated gradients needs (it moves the vectors, not
the ids). The recurrent models read each text's state at its own last word, so the little padding a
bucketed batch holds never reaches what they read out (see `RecurrentNet`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .tokens import PAD_ID

KINDS = {"bag": "Bag of embeddings (fastText)", "rnn": "Simple RNN", "lstm": "LSTM", "gru": "GRU",
         "bilstm": "Bidirectional LSTM", "transformer": "Transformer encoder"}
RECURRENT = ("rnn", "lstm", "gru", "bilstm")
POSITIONAL = {"sinusoidal": "sinusoidal (fixed)", "learned": "learned", "none": "none (a bag of words)"}
BIGRAM_BUCKETS = 2 ** 18  # hashed bigrams: 262,144 rows, collisions rare enough not to matter (fastText uses 2M)


@dataclass
class NetSpec:
    kind: str = "lstm"
    embed_dim: int = 64
    hidden: int = 64  # recurrent models' state size
    layers: int = 1
    dropout: float = 0.2
    pool: str = "last"  # recurrent: "last" hidden state or "max" over every step
    packed: bool = False  # recurrent: pack_padded_sequence instead of the exact read-out (slower on CPU)
    bigrams: bool = True  # bag: add hashed word pairs ("not good") to the bag
    heads: int = 4  # transformer
    ff: int = 128  # transformer: feed-forward width
    positional: str = "sinusoidal"  # transformer

    def problem(self) -> str | None:
        """Why these settings cannot build a network, in words (None if they can)."""
        if self.kind not in KINDS:
            return f"unknown model {self.kind!r}; choose from {', '.join(KINDS)}"
        if self.kind == "transformer" and self.embed_dim % self.heads:
            return (f"the embedding size ({self.embed_dim}) must split evenly into {self.heads} heads — "
                    f"pick a size that is a multiple of {self.heads}")
        return None


def pad_mask(ids: torch.Tensor) -> torch.Tensor:
    return ids != PAD_ID


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class BagNet(nn.Module):
    """fastText: the mean of the words' (and word pairs') vectors, then one linear layer.
    Order is lost except inside a pair — "not good" becomes a word of its own.

    One `nn.EmbeddingBag` table holds the words (rows 0 … V−1) and, after them, the hashed
    pairs; it averages without materialising a vector per word (5× faster than an embedding
    followed by a mean) and its gradients are sparse: a step updates only the rows of the
    words in its batch (fastText's trick), not all 17 million numbers."""

    def __init__(self, vocab_size: int, n_classes: int, spec: NetSpec):
        super().__init__()
        self.vocab_size, self.use_bigrams = vocab_size, spec.bigrams
        rows = vocab_size + (BIGRAM_BUCKETS if spec.bigrams else 0)
        self.embedding = nn.EmbeddingBag(rows, spec.embed_dim, mode="mean", padding_idx=PAD_ID, sparse=True)
        self.drop = nn.Dropout(spec.dropout)
        self.head = nn.Linear(spec.embed_dim, n_classes)

    def bigram_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Each adjacent pair's row in the table (PAD where either word is padding)."""
        a, b = ids[:, :-1], ids[:, 1:]
        h = (a * 1_000_003 + b) % BIGRAM_BUCKETS + self.vocab_size
        return torch.where((a != PAD_ID) & (b != PAD_ID), h, torch.full_like(h, PAD_ID))

    def bag(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([ids, self.bigram_ids(ids)], 1) if self.use_bigrams and ids.shape[1] > 1 else ids

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embedding(self.bag(ids))))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.embedding.weight, padding_idx=PAD_ID)

    def from_embedded(self, vectors, ids, lengths):
        """The same output from given word vectors (the pairs' vectors looked up as usual)."""
        mask = pad_mask(ids)
        if self.use_bigrams and ids.shape[1] > 1:
            pairs = self.bigram_ids(ids)
            vectors = torch.cat([vectors, F.embedding(pairs, self.embedding.weight)], 1)
            mask = torch.cat([mask, pairs != PAD_ID], 1)
        return self.head(self.drop(masked_mean(vectors, mask)))


def reverse_each(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each sequence's real steps in reverse order, its padding left at the end."""
    t = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    last = (lengths.to(x.device) - 1).unsqueeze(1)
    idx = torch.where(t <= last, last - t, t)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class RecurrentNet(nn.Module):
    """Embedding → RNN/LSTM/GRU layers → the state after each text's last word (both
    directions' for a bidirectional one) or the max over every step → a linear layer.

    Batches come bucketed by length, so they hold little padding (~1.5 %), and the read-out
    takes each text's state at its own last word: what follows it never reaches that state.
    The backward direction reads each text reversed in place (padding kept at the end), so it
    too starts at the text's real last word. That is exact, like packing with
    `pack_padded_sequence`, and on a CPU 4-7× faster per batch (packed sequences step through
    shrinking batches of small matrix products); `packed=True` packs instead, for comparison
    (`python -m dlplay.bench --only text`)."""

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU, "bilstm": nn.LSTM}

    def __init__(self, vocab_size: int, n_classes: int, spec: NetSpec):
        super().__init__()
        self.kind, self.pool, self.packed = spec.kind, spec.pool, spec.packed
        self.dirs = 2 if spec.kind == "bilstm" else 1
        cell, h = self.CELLS[spec.kind], spec.hidden
        self.embedding = nn.Embedding(vocab_size, spec.embed_dim, padding_idx=PAD_ID)
        self.drop = nn.Dropout(spec.dropout)
        # One single-direction cell per layer and direction: the same weights nn.LSTM(bidirectional=True)
        # holds, arranged so each direction can be fed its own order of the words.
        self.cells = nn.ModuleList(
            nn.ModuleList(cell(spec.embed_dim if i == 0 else h * self.dirs, h, batch_first=True)
                          for _ in range(self.dirs)) for i in range(spec.layers))
        self.head = nn.Linear(h * self.dirs, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.from_embedded(self.embedding(ids), ids, lengths)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def _run(self, cell, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.packed:
            return cell(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(cell(packed)[0], batch_first=True, total_length=x.shape[1])[0]

    def from_embedded(self, vectors, ids, lengths):
        x = self.drop(vectors)
        for i, layer in enumerate(self.cells):
            outs = [self._run(layer[0], x, lengths)]
            if self.dirs == 2:
                outs.append(reverse_each(self._run(layer[1], reverse_each(x, lengths), lengths), lengths))
            x = torch.cat(outs, -1)
            if i < len(self.cells) - 1:
                x = self.drop(x)  # between layers, as nn.LSTM(dropout=…) does
        if self.pool == "max":
            features = x.masked_fill(~pad_mask(ids)[..., None], -1e4).max(1).values
        else:
            last = (lengths.to(x.device) - 1).clamp(min=0)
            rows = torch.arange(len(x), device=x.device)
            forward_last = x[rows, last, : x.shape[-1] // self.dirs]
            # the backward direction has read the whole text once it reaches the first word
            features = forward_last if self.dirs == 1 else torch.cat([forward_last, x[rows, 0, x.shape[-1] // 2:]], 1)
        return self.head(self.drop(features))


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """Vaswani et al.'s fixed positions: sines and cosines of geometrically spaced frequencies."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class EncoderLayer(nn.Module):
    """One pre-norm Transformer encoder layer (attention, then a feed-forward net, each added
    back to its input). Written out, not nn.TransformerEncoderLayer, so it can hand back each
    head's attention weights for the heatmap."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        # No dropout on the attention weights themselves: drawing a mask for every (head, word,
        # word) took 30 % of a CPU training step; dropout stays on the residual branches.
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, padding, weights: list | None = None):
        h = self.norm1(x)
        a, w = self.attn(h, h, h, key_padding_mask=padding, need_weights=weights is not None,
                         average_attn_weights=False)
        if weights is not None:
            weights.append(w)  # (batch, heads, query, key); each row sums to 1
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.norm2(x)))


class TransformerNet(nn.Module):
    """Embedding + positions → encoder layers → the mean over the words → a linear layer."""

    def __init__(self, vocab_size: int, n_classes: int, spec: NetSpec, max_len: int):
        super().__init__()
        d = spec.embed_dim
        self.embedding = nn.Embedding(vocab_size, d, padding_idx=PAD_ID)
        self.positional = spec.positional
        if spec.positional == "learned":
            self.positions = nn.Embedding(max_len, d)
        else:
            self.register_buffer("table", sinusoids(max_len, d), persistent=False)
        self.layers = nn.ModuleList(EncoderLayer(d, spec.heads, spec.ff, spec.dropout) for _ in range(spec.layers))
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(spec.dropout)
        self.head = nn.Linear(d, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.from_embedded(self.embedding(ids), ids, lengths)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def from_embedded(self, vectors, ids, lengths, weights: list | None = None):
        t = ids.shape[1]
        if self.positional == "learned":
            vectors = vectors + self.positions(torch.arange(t, device=ids.device))
        elif self.positional == "sinusoidal":
            vectors = vectors + self.table[:t]
        x = self.drop(vectors)
        mask = pad_mask(ids)
        for layer in self.layers:
            x = layer(x, ~mask, weights)
        return self.head(self.drop(masked_mean(self.norm(x), mask)))

    @torch.no_grad()
    def attention(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's attention weights, (batch, heads, words, words), in eval mode."""
        weights: list = []
        was = self.training
        self.eval()
        self.from_embedded(self.embedding(ids), ids, lengths, weights)
        self.train(was)
        return weights


def build(spec: NetSpec, vocab_size: int, n_classes: int, max_len: int) -> nn.Module:
    if (why := spec.problem()) is not None:
        raise ValueError(why)
    if spec.kind == "bag":
        return BagNet(vocab_size, n_classes, spec)
    if spec.kind == "transformer":
        return TransformerNet(vocab_size, n_classes, spec, max_len)
    return RecurrentNet(vocab_size, n_classes, spec)


GATES = {"rnn": 1, "gru": 3, "lstm": 4, "bilstm": 4}


def recurrent_formula(spec: NetSpec, vocab_size: int, n_classes: int) -> list[tuple[str, str, int]]:
    """The parameter count by hand, layer by layer: (part, formula, count). A cell with g gates
    (RNN 1, GRU 3, LSTM 4) has, per direction, g·h·(h + input) weights and g·h biases —
    twice, because torch keeps two bias vectors (b_ih and b_hh) where the textbook has one."""
    e, h, g = spec.embed_dim, spec.hidden, GATES[spec.kind]
    dirs = 2 if spec.kind == "bilstm" else 1
    rows = [("embedding", f"V·e = {vocab_size:,}·{e}", vocab_size * e)]
    for layer in range(spec.layers):
        x = e if layer == 0 else h * dirs
        count = dirs * (g * (h * (h + x) + h) + g * h)
        per = f"{g}·({h}·({h}+{x})+{h}) + {g}·{h}"
        rows.append((f"{spec.kind.upper()} layer {layer + 1}", per if dirs == 1 else f"2·[{per}]", count))
    rows.append(("output", f"({h * dirs}+1)·{n_classes}", (h * dirs + 1) * n_classes))
    return rows


__all__ = ["BagNet", "KINDS", "NetSpec", "POSITIONAL", "RECURRENT", "RecurrentNet", "TransformerNet", "build",
           "recurrent_formula", "sinusoids"]
