"""Batches of texts grouped by length, so a batch is padded only to its own longest text.

Reviews run from 10 to 2,500 words; random batches padded to the longest review spend most
of a recurrent network's steps on padding. `bucketed` shuffles, then sorts each pool of
`pool` batches by length and cuts it into batches (the order of batches shuffled again), so
the texts in a batch have nearly equal lengths while every epoch still sees a new order.
Recurrent models then *pack* the batch (`torch.nn.utils.rnn.pack_padded_sequence`) and skip
the little padding that is left. `python -m dlplay.bench --only text` measures the gain.
"""
from __future__ import annotations

from typing import Iterator

import torch

from ..train import within_stop_budget

from .tokens import Encoded


def bucketed(lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
             pool: int = 50, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Index batches of texts of similar length (see the module doc). Without shuffle
    (evaluation) the texts are simply sorted by length."""
    n = len(lengths)
    if not shuffle:
        yield from torch.argsort(lengths, stable=True).split(batch_size)
        return
    order = torch.randperm(n, generator=generator)
    batches = []
    for chunk in order.split(batch_size * pool):
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk.split(batch_size))
    for i in torch.randperm(len(batches), generator=generator).tolist():
        yield batches[i]


def scoring(lengths: torch.Tensor, batch_size: int, job=None, budget_s: float | None = None
            ) -> Iterator[torch.Tensor]:
    """Index batches to score texts with (evaluation): bucketed by length in a fixed random order,
    so that any first part of them is a random sample of the texts, cut short after Stop
    (`dlplay.train.within_stop_budget`: a big sentiment network on 25,000 test reviews took
    minutes). Callers count the texts they scored."""
    return within_stop_budget(bucketed(lengths, batch_size, torch.Generator().manual_seed(0)), job, budget_s)


def random_batches(n: int, batch_size: int, generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Plain shuffled batches (the naive way the benchmark compares against)."""
    yield from torch.randperm(n, generator=generator).split(batch_size)


def take(enc: Encoded, idx: torch.Tensor, trim: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids (B, T) int64, lengths (B,), labels (B,)) for the texts `idx`; with `trim` the
    columns stop at the batch's longest text, otherwise every batch is max_len wide."""
    lengths = enc.lengths[idx]
    width = int(lengths.max()) if trim and len(idx) else enc.ids.shape[1]
    return enc.ids[idx, :width].long(), lengths, enc.labels[idx]


def padding_share(enc: Encoded, batches: list[torch.Tensor], trim: bool = True) -> float:
    """The share of token slots in these batches that are padding (0 = none)."""
    slots = real = 0
    for idx in batches:
        lengths = enc.lengths[idx]
        width = int(lengths.max()) if trim else enc.ids.shape[1]
        slots += width * len(idx)
        real += int(lengths.sum())
    return 1.0 - real / max(1, slots)


__all__ = ["bucketed", "padding_share", "random_batches", "scoring", "take"]
