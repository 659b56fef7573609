"""Training an LSTM on piano rolls, measured as the literature does: negative log-likelihood
per frame (nats) on the validation pieces, each piece read whole from its first frame.

Training reads windows of `window` frames cut from the training pieces (a fresh offset every
epoch, so window edges move), shuffled, batched; the model predicts every frame from the ones
before it (the first from silence). Published references the page sets beside the curve:
REFERENCES. Generation continues the first frames of a test piece, frame by frame, at a
temperature.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..jobs import Job
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import Loop, Step, TrainConfig, to_device
from . import rolls
from .models import MODELS, build

# Validation/test NLL per frame (nats) reported in the papers.
REFERENCES = {
    "nottingham": [("LSTM (Bai et al. 2018)", 3.29), ("RNN-RBM best (Boulanger-Lewandowski et al. 2012)", 2.31)],
    "jsb": [("TCN (Bai et al. 2018)", 8.10), ("RNN-RBM best (Boulanger-Lewandowski et al. 2012)", 5.19)],
    "piano": [("RNN-RBM best (Boulanger-Lewandowski et al. 2012)", 7.05)],
    "muse": [],
    "bach": [],
}


def nll_range(rows: list[dict], marks: list[float]) -> list[float] | None:
    """The NLL chart's y-range: the published numbers and the baseline (`marks`), every validation
    point, and the training curve's later half (after the first epoch for its means). An untrained
    LSTM starts near 88·ln 2 ≈ 61 nats a frame, six times the baseline: on an axis up to there,
    references a nat apart were 5 pixels apart. The first steps run off the top instead (hover reads them)."""
    steps = [r for r in rows if r.get("split") == "train" and "loss" in r]
    last = max((r["step"] for r in steps), default=0)
    values = [*marks, *(r["loss"] for r in steps if r["step"] > last / 2)]
    for r in rows:
        if r.get("split") == "epoch":
            values += [r.get("val_loss")] + ([r.get("train_loss")] if r.get("epoch", 1) > 1 else [])
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = 0.08 * (hi - lo) or 0.5
    return [max(0.0, lo - pad), hi + pad]


@dataclass
class MusicSpec:
    dataset: str = "nottingham"
    model: str = "roll"  # "roll" | "hands"
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.2
    lr: float = 3e-3
    epochs: int = 10
    window: int = 100  # frames per training window
    batch_size: int = 32
    max_grad_norm: float = 1.0
    seed: int = 0
    time_limit_s: float = 0.0  # stop after the epoch that passes it (0: train every epoch)
    # Generation
    prime: int = 16  # frames of the test piece given
    length: int = 96  # frames generated after them
    temperature: float = 1.0
    piece: int = 0  # which test piece to continue


def brief(spec: MusicSpec) -> str:
    return (f"{spec.dataset} · {MODELS[spec.model].split(':')[0]} · LSTM {spec.hidden}×{spec.layers} · "
            f"{spec.epochs} epochs · windows of {spec.window}")


# --- data as tensors -----------------------------------------------------------------------------

def windows(pieces: list[np.ndarray], window: int, offset: int) -> torch.Tensor:
    """Every piece cut into windows of `window` frames starting at `offset` (the last part of a
    piece shorter than a window is left for another epoch's offset; a piece too short for the
    offset gives its first window): (n, window, 88)."""
    def starts(n: int) -> range | list[int]:
        return range(offset % window, n - window + 1, window) if n >= offset % window + window else \
            ([0] if n >= window else [])
    out = [p[s:s + window] for p in pieces for s in starts(len(p))]
    if not out:  # pieces all shorter than a window: each piece padded is one window
        out = [np.pad(p, ((0, window - len(p)), (0, 0)))[:window] for p in pieces]
    return torch.from_numpy(np.stack(out))


def shifted(x: torch.Tensor) -> torch.Tensor:
    """The model's input for targets x: the previous frame (silence before the first)."""
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], 1)


def padded(pieces: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pieces padded to the longest: (batch, frames, 88) and a (batch, frames) mask of real frames."""
    n = max(len(p) for p in pieces)
    x = torch.zeros(len(pieces), n, rolls.KEYS)
    mask = torch.zeros(len(pieces), n, dtype=torch.bool)
    for i, p in enumerate(pieces):
        x[i, :len(p)] = torch.from_numpy(p)
        mask[i, :len(p)] = True
    return x, mask


@torch.no_grad()
def evaluate(model, pieces: list[np.ndarray], batch: int = 16) -> float:
    """NLL per frame over all the pieces' frames, each piece read whole (nats)."""
    model.eval()
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))  # similar lengths together: little padding
    total, frames = 0.0, 0
    device = next(model.parameters()).device
    for s in range(0, len(order), batch):
        x, mask = to_device(padded([pieces[i] for i in order[s:s + batch]]), device)
        out, _ = model(shifted(x))
        total += model.nll(out, x)[mask].sum().item()
        frames += int(mask.sum())
    return total / max(1, frames)


def baseline_nll(data: rolls.MusicData, split: str = "valid") -> float:
    """Each key on with its training frequency, independently of everything: the number to beat."""
    p = np.clip(data.key_frequency(), 1e-4, 1 - 1e-4)
    x = np.concatenate(getattr(data, split))
    return float(-(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(1).mean())


# --- training ------------------------------------------------------------------------------------------

@dataclass
class MusicResult:
    model: torch.nn.Module
    spec: MusicSpec
    rows: list[dict]
    val_nll: float
    test_nll: float
    baseline: float  # per-key frequency NLL on validation
    seconds: float
    summary: str
    generated: np.ndarray  # (prime + length, 88): the given frames, then the model's
    original: np.ndarray  # the test piece's own frames over the same span
    stopped: str = ""


def train_music(spec: MusicSpec, job: Job | None = None, data: rolls.MusicData | None = None) -> MusicResult:
    data = data or rolls.load(spec.dataset)
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    cfg = TrainConfig(optimizer="adam", lr=spec.lr, batch_size=spec.batch_size, epochs=spec.epochs,
                      schedule="constant", max_grad_norm=spec.max_grad_norm, seed=spec.seed, log_every=10)
    steps_per_epoch = math.ceil(len(windows(data.train, spec.window, 0)) / spec.batch_size)
    loop = Loop(build(spec.model, spec.hidden, spec.layers, spec.dropout), cfg, job, steps_per_epoch=steps_per_epoch)
    model, base, t0 = loop.model, baseline_nll(data), time.perf_counter()
    if job:
        job.log(f"{data.summary()}; per-key frequency baseline: {base:.2f} nats per frame on validation")

    def batches(epoch: int):  # a fresh window offset every epoch, so window edges move
        x = windows(data.train, spec.window, int(torch.randint(spec.window, (1,), generator=gen)))
        return (x[idx] for idx in torch.randperm(len(x), generator=gen).split(spec.batch_size))

    def step(xb: torch.Tensor) -> Step:
        xb = loop.batch(xb)
        out, _ = model(shifted(xb))
        return Step(model.nll(out, xb).mean(), len(xb))

    def on_epoch(epoch: int, row: dict) -> bool:
        row.update(baseline=base, seconds=time.perf_counter() - t0)
        return bool(spec.time_limit_s) and row["seconds"] >= spec.time_limit_s  # the benchmark's "within 5 minutes"

    history = loop.run(batches, step, validate=lambda: {"loss": evaluate(model, data.valid)}, on_epoch=on_epoch)
    rows = history.rows
    val = rows[-1]["val_loss"] if rows and not history.stopped else evaluate(model, data.valid)
    test = evaluate(model, data.test)
    generated, original = continue_piece(model, data.test[spec.piece % len(data.test)], spec)
    return MusicResult(model.eval(), spec, rows, val, test, base, time.perf_counter() - t0, data.summary(),
                       generated, original, history.stopped)


@torch.no_grad()
def continue_piece(model, piece: np.ndarray, spec: MusicSpec, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The piece's first `prime` frames, then `length` frames the model draws one at a time
    (each fed back in); and the piece's own frames over the same span, to compare."""
    model.eval()
    gen = torch.Generator().manual_seed(spec.seed if seed is None else seed)
    prime = torch.from_numpy(piece[:spec.prime]).unsqueeze(0).to(next(model.parameters()).device)
    out, state = model(shifted(prime))
    frames = [prime]
    last = prime[:, -1:]
    for _ in range(spec.length):
        out, state = model(last, state)
        last = model.sample(out, spec.temperature, gen)
        frames.append(last)
    return torch.cat(frames, 1)[0].cpu().numpy(), piece[:spec.prime + spec.length]


# --- as a stored run ------------------------------------------------------------------------------------

CODEC = Codec(MusicResult, models={"model": lambda spec, s: build(spec.model, spec.hidden, spec.layers, spec.dropout)},
              headline=lambda r: f"{r.val_nll:.2f} nats/frame (baseline {r.baseline:.2f})")
save_result, load_result = CODEC.save, CODEC.load


def work(spec: MusicSpec):
    from ..limits import Work

    frames = {"nottingham": 176_561, "jsb": 13_807, "piano": 75_911, "muse": 245_202, "bach": 3_000}
    return Work(spec.epochs, "epoch", frames.get(spec.dataset, 100_000) // spec.window, "training windows")


class _Step(torch.nn.Module):
    """A training step's forward pass and loss as one module, for sizing it: the hands model's
    loss holds a tensor per note drawn, as large as its outputs."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.model(shifted(x))
        return self.model.nll(out, x).mean()


def cost(spec: MusicSpec):
    """Memory and step time of one batch of windows (`dlplay.costs`, probed on short windows and
    extrapolated per frame), and the epoch's windows the run cuts from its pieces."""
    from ..costs import MB, torch_cost

    w = work(spec)
    return torch_cost(lambda n: _Step(build(spec.model, spec.hidden, spec.layers, spec.dropout)),
                      lambda b, n: (torch.zeros(b, n, rolls.KEYS),), batch=spec.batch_size, length=spec.window,
                      per_step=True, optimizer="adam",
                      lower="the LSTM units, the LSTM layers, the frames per training window or the batch size",
                      data_mb=w.size * spec.window * rolls.KEYS * 4 / MB
                      ).with_steps(spec.epochs * -(-w.size // spec.batch_size))


LESSON = Lesson(page="music", figure=Figure("test_nll", "test NLL (nats per frame)", higher=False), spec_type=MusicSpec,
                train=lambda spec, job: train_music(spec, job), save=save_result, load=load_result, brief=brief,
                curves=("loss",), work=work, cost=cost)
