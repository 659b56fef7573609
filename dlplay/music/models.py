"""Two LSTMs over piano-roll frames, each predicting frame t from frames before it.

`RollLSTM`: 88 independent keys — each frame's keys as Bernoulli variables; its negative
log-likelihood per frame is the number the literature reports (nats per frame).

`HandsLSTM`, the assignment's variant: the keyboard split at middle C into a left and a right
hand; for each hand one head says **how many notes** to play (0 … max) and another gives a
**distribution over that hand's keys**, from which that many are drawn without replacement.
Its loss is the count's cross-entropy plus the notes' log-probability in pitch order (a
Plackett–Luce sequence): one of the c! orders the notes could be drawn in, so it bounds the
model's true NLL from above — an honest number to set beside RollLSTM's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .rolls import KEYS, LOW

SPLIT = 60 - LOW  # middle C: keys below it are the left hand's


class RollLSTM(nn.Module):
    def __init__(self, hidden: int = 256, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(KEYS, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, KEYS)

    def forward(self, x: torch.Tensor, state=None):
        """x: (batch, frames, 88) — the frames before each target; → logits (batch, frames, 88), state."""
        h, state = self.lstm(x, state)
        return self.out(self.drop(h)), state

    def nll(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Nats per frame, each frame's keys summed: (batch, frames)."""
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, logits: torch.Tensor, temperature: float, gen: torch.Generator) -> torch.Tensor:
        p = torch.sigmoid(logits / max(temperature, 1e-3))
        return torch.bernoulli(p.cpu(), generator=gen).to(p.device)  # drawn on the CPU: the generator is there


class HandsLSTM(nn.Module):
    def __init__(self, hidden: int = 256, layers: int = 1, dropout: float = 0.0, max_notes: int = 6):
        super().__init__()
        self.max_notes = max_notes
        self.lstm = nn.LSTM(KEYS, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.hands = {"left": slice(0, SPLIT), "right": slice(SPLIT, KEYS)}
        self.notes = nn.ModuleDict({h: nn.Linear(hidden, s.stop - s.start) for h, s in self.hands.items()})
        self.count = nn.ModuleDict({h: nn.Linear(hidden, max_notes + 1) for h in self.hands})

    def forward(self, x: torch.Tensor, state=None):
        """→ ({hand: (note logits, count logits)}, state)."""
        h, state = self.lstm(x, state)
        h = self.drop(h)
        return {hand: (self.notes[hand](h), self.count[hand](h)) for hand in self.hands}, state

    def nll(self, heads: dict, target: torch.Tensor) -> torch.Tensor:
        """Count cross-entropy + the notes drawn in pitch order, both hands: (batch, frames)."""
        total = 0.0
        for hand, (notes, count) in heads.items():
            keys = target[..., self.hands[hand]]
            c = keys.sum(-1).long().clamp(max=self.max_notes)
            total = total + F.cross_entropy(count.transpose(1, 2), c, reduction="none")
            total = total + _ordered_draws(notes, keys, self.max_notes)
        return total

    @torch.no_grad()
    def sample(self, heads: dict, temperature: float, gen: torch.Generator) -> torch.Tensor:
        """How many notes per hand, then which, drawn without replacement: (batch, 1, 88)."""
        t, device = max(temperature, 1e-3), heads["left"][0].device
        frame = torch.zeros(heads["left"][0].shape[0], KEYS)
        for hand, (notes, count) in heads.items():  # drawn on the CPU: the generator is there
            n = torch.multinomial(F.softmax(count[:, -1] / t, -1).cpu(), 1, generator=gen).squeeze(1)
            probs = F.softmax(notes[:, -1] / t, -1).cpu()
            for b in range(len(n)):
                if n[b] > 0:
                    keys = torch.multinomial(probs[b], int(n[b]), replacement=False, generator=gen)
                    frame[b, self.hands[hand].start + keys] = 1.0
        return frame.unsqueeze(1).to(device)


def _ordered_draws(logits: torch.Tensor, keys: torch.Tensor, max_notes: int) -> torch.Tensor:
    """−log P(the frame's notes drawn lowest first, without replacement): (batch, frames)."""
    order = torch.argsort(keys * -1.0, dim=-1, stable=True)  # the pressed keys first, lowest pitch first
    n = keys.sum(-1).long().clamp(max=max_notes)
    taken = torch.zeros_like(logits, dtype=torch.bool)
    out = torch.zeros(logits.shape[:-1], device=logits.device)
    for i in range(max_notes):
        k = order[..., i:i + 1]
        active = n > i
        masked = logits.masked_fill(taken, float("-inf"))
        step = masked.gather(-1, k).squeeze(-1) - torch.logsumexp(masked, -1)
        out = out - torch.where(active, step, torch.zeros_like(step))
        taken = taken | (F.one_hot(k.squeeze(-1), logits.shape[-1]).bool() & active.unsqueeze(-1))
    return out


MODELS = {"roll": "88 keys, each on or off (Bernoulli)", "hands": "two hands: how many notes, then which"}


def build(kind: str, hidden: int, layers: int, dropout: float) -> nn.Module:
    if kind == "roll":
        return RollLSTM(hidden, layers, dropout)
    if kind == "hands":
        return HandsLSTM(hidden, layers, dropout)
    raise ValueError(f"unknown model {kind!r}; choose from {list(MODELS)}")
