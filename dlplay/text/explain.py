"""Why a trained model reads your review as it does: the probability of each class, each
word's contribution to it, and, for a Transformer, where each head looks.

Two ways to score words, both toward the class the model picked:
- occlusion: take the word out (its id replaced by padding, which every model skips or reads
  as nothing) and see how far the probability drops — direct, one forward pass per word;
- integrated gradients (captum): move every word vector from zero to its value and add up
  the gradients on the way; the scores add up to the change from the empty review.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .tokens import PAD_ID, Piece

METHODS = {"occlusion": "occlusion (leave each word out)", "ig": "integrated gradients (captum)"}


class NothingToRead(ValueError):
    """The text holds no word at all: the message says so."""


@dataclass
class Reading:
    text: str
    piece: Piece
    probs: np.ndarray  # (n_classes,)
    target: int  # the class the scores are toward (the predicted one)
    scores: np.ndarray  # per word of `piece`: + pushes toward `target`, − away from it
    method: str
    notes: list[str] = field(default_factory=list)  # truncation, unknown words

    def spans(self) -> list[tuple[int, int, float]]:
        """(start, end, score) in the original text, to highlight it."""
        return [(a, b, float(s)) for (a, b), s in zip(self.piece.spans, self.scores)]


def _tensors(piece: Piece) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([piece.ids], dtype=torch.long)
    return ids, torch.tensor([len(piece.ids)])


@torch.no_grad()
def probabilities(model, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(ids, lengths).float().softmax(1)


@torch.no_grad()
def occlusion(model, piece: Piece, target: int, chunk: int = 64) -> np.ndarray:
    ids, lengths = _tensors(piece)
    base = probabilities(model, ids, lengths)[0, target]
    scores = []
    for start in range(0, ids.shape[1], chunk):
        pos = torch.arange(start, min(start + chunk, ids.shape[1]))
        batch = ids.repeat(len(pos), 1)
        batch[torch.arange(len(pos)), pos] = PAD_ID
        scores.append(base - probabilities(model, batch, lengths.repeat(len(pos)))[:, target])
    return torch.cat(scores).numpy()


def integrated_gradients(model, piece: Piece, target: int, steps: int = 32) -> np.ndarray:
    from captum.attr import IntegratedGradients

    ids, lengths = _tensors(piece)
    model.eval()
    with torch.no_grad():
        vectors = model.embed(ids)

    def prob(v):  # captum stacks the path's steps along the batch
        n = v.shape[0]
        return model.from_embedded(v, ids.expand(n, -1), lengths.expand(n)).float().softmax(1)[:, target]

    attr = IntegratedGradients(prob).attribute(vectors, baselines=torch.zeros_like(vectors), n_steps=steps,
                                               internal_batch_size=steps)
    return attr.sum(-1)[0].detach().numpy()


def read(result, text: str, method: str = "occlusion") -> Reading:
    """The trained `result` (a SentimentResult) reading `text`. Raises NothingToRead."""
    max_len, keep = result.spec.max_len, result.spec.keep
    piece = result.vocab.piece(text, max_len, keep)
    if not piece.ids:
        raise NothingToRead("There is no word to read: type a review (a sentence or more).")
    notes = []
    if piece.truncated:
        total = len(result.vocab.piece(text).ids)
        part = "last" if keep == "end" else "first"
        notes.append(f"The review has {total:,} words; the model reads only its {part} {max_len} "
                     f"(it was trained that way), highlighted below.")
    if piece.n_unknown:
        known = len(piece.ids) - piece.n_unknown
        notes.append(f"{piece.n_unknown} of {len(piece.ids)} words are not in the {result.vocab.size:,}-word "
                     "vocabulary and all read as one unknown word [UNK]"
                     + (" — the model has nothing else to go on." if not known else "."))
    ids, lengths = _tensors(piece)
    probs = probabilities(result.model, ids, lengths)[0].numpy()
    target = int(probs.argmax())
    score = integrated_gradients if method == "ig" else occlusion
    return Reading(text, piece, probs, target, score(result.model, piece, target), method, notes)


@dataclass
class Verdict:
    """What run `run_id` says about `text`, its words scored by `method`; `reading` is None until
    `read`. Its `key` names the three together: a page keeps a verdict under it and shows it only
    while the run, the review and the method on screen are those (a page once showed "Run 31 says:
    positive" for a review no longer in the box, scored by a method the radio no longer showed)."""
    run_id: int
    text: str
    method: str
    reading: Reading | None = None

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.run_id}\0{self.method}\0{self.text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def read(self, result) -> "Verdict":
        """The verdict with its reading, by the run's trained `result` (raises NothingToRead)."""
        return replace(self, reading=read(result, self.text, self.method))


def attention(result, piece: Piece) -> list[np.ndarray]:
    """A Transformer's attention over one text: per layer, (heads, words, words), rows summing to 1."""
    model = result.model
    if not hasattr(model, "attention"):
        return []
    ids, lengths = _tensors(piece)
    return [w[0].float().numpy() for w in model.attention(ids, lengths)]


def highlight_html(reading: Reading) -> str:
    """The text with each read word's background tinted by its score (green toward the predicted
    class, red against it), words the model didn't read left plain; HTML-escaped."""
    import html

    text, out, at = reading.text, [], 0
    scale = float(np.abs(reading.scores).max()) or 1.0
    first = reading.piece.spans[0][0] if reading.piece.spans else 0
    if first > 0:  # the part the model didn't read (a long review's start), shortened
        skipped = text[:first] if first <= 600 else f"… [{first - 300:,} characters not read] …" + text[first - 300:first]
        out.append(f'<span style="color:#888">{html.escape(skipped)}</span>')
        at = first
    for a, b, s in reading.spans():
        out.append(html.escape(text[at:a]))
        alpha = min(1.0, abs(s) / scale) * 0.75
        rgb = "46,160,67" if s > 0 else "218,54,51"
        out.append(f'<span class="dlplay-word" title="{s:+.3f}" style="background:rgba({rgb},{alpha:.2f});'
                   f'border-radius:3px">{html.escape(text[a:b])}</span>')
        at = b
    if at < len(text):
        rest = text[at:] if len(text) - at <= 600 else text[at:at + 300] + f"… [{len(text) - at - 300:,} characters not read]"
        out.append(f'<span style="color:#888">{html.escape(rest)}</span>')
    return "".join(out)


__all__ = ["METHODS", "NothingToRead", "Reading", "Verdict", "attention", "highlight_html", "integrated_gradients",
           "occlusion", "read"]
