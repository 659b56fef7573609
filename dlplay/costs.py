"""What a run will cost before it starts: its peak memory and the time of one training
step, estimated from the model itself built on PyTorch's meta device — shapes only, no
memory and no arithmetic, so even a setting that would need 40 GB is sized in
milliseconds without allocating it.

One forward and backward pass on meta tensors gives what autograd saves for the
backward pass (`saved_tensors_hooks`, each storage counted once, parameters aside) and
the step's floating-point operations (`FlopCounterMode`). Measured on this project's
2-core machine against real steps (peak RSS and seconds, one thread):

| model | saved (meta) | peak RSS growth | GFLOP | GFLOP/s |
|---|---|---|---|---|
| BiLSTM 2×128, 16 × 200 words | 48 MB | 95 MB | 11.7 | 27.0 |
| GRU 64, 32 × 200 | 12 MB | 32 MB | 0.8 | 8.7 |
| Transformer 2 layers, 32 × 200 | 267 MB | 446 MB | 18.4 | 14.8 |
| CNN 2 conv + dense, 128 images | 56 MB | 155 MB | 12.5 | 27.1 |
| MLP 1024-1024, 256 images | 3 MB | 28 MB | 2.5 | 31.5 |

and the sentiment lesson's own networks, a real AdamW step against the estimate below:

| network, batch × words | estimated peak / real growth | estimated step / real |
|---|---|---|
| BiLSTM 2×128, 64 × 400 | 1,291 / 805 MB (×2.5 factor) | 10.8 / 4.8 s (at 0.22) |
| LSTM 64, 64 × 200 | 121 / 88 MB | 0.31 / 0.20 s |
| Transformer 2 layers, 64 × 400 | 1,847 / 764 MB | 6.2 / 3.4 s |
| GRU 2×256, 128 × 200 | 1,217 / 763 MB | 11.1 / 4.1 s |

So a step's peak is taken as `ACTIVATION_FACTOR` × what is saved (the backward pass
holds the gradients of activations beside them: real peaks were 1.1-2.0× the saved
bytes, and a CNN's 2.8× includes its weights) plus weights, gradients and optimizer
state plus `BASE_MB`; and a step's time as its FLOP at `EFFICIENCY` × the machine's
matrix-multiply rate (measured once per process): recurrent and attention steps ran at
0.24-0.75 of the matrix-multiply rate, so the estimate errs long for most models.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

ACTIVATION_FACTOR = 2.0
BASE_MB = 40.0  # a step's allocator slack and small buffers
EFFICIENCY = 0.33
OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "rmsprop": 1, "sgd": 1, "momentum": 1, "none": 0}
MB = 2**20


@dataclass(frozen=True)
class Cost:
    """A run's estimated memory (MB) and step time; `lower` names the settings that drive them."""

    weights_mb: float  # parameters
    training_mb: float  # gradients and optimizer state
    activations_mb: float  # held through one step (the batch's activations, with their gradients)
    data_mb: float = 0.0  # data the run holds of its own (not shared datasets)
    step_flops: float = 0.0
    lower: str = "the model's size or the batch size"
    steps: int = 0  # training steps in the whole run (0: unknown)

    @property
    def peak_mb(self) -> float:
        return BASE_MB + self.weights_mb + self.training_mb + self.activations_mb + self.data_mb

    def step_s(self) -> float:
        return self.step_flops / machine_flops()

    def __add__(self, other: "Cost") -> "Cost":
        """Two models held at once (a GAN's players, an encoder and a classifier)."""
        return Cost(self.weights_mb + other.weights_mb, self.training_mb + other.training_mb,
                    max(self.activations_mb, other.activations_mb), self.data_mb + other.data_mb,
                    self.step_flops + other.step_flops, self.lower)

    def with_steps(self, steps: int) -> "Cost":
        return replace(self, steps=int(steps))

    def line(self) -> str:
        """What the learner reads before Train: "About 1.0 GB of memory; 4.9 s a step, ≈ 12 min for 150 steps"."""
        step = self.step_s()
        per = f"{step:.1f} s a step" if step >= 0.1 else "well under a second a step"
        total = f", ≈ {duration(step * self.steps)} for {self.steps:,} steps" if self.steps and step >= 0.01 else ""
        return f"About {gb(self.peak_mb)} of memory; {per}{total} on this machine."

    def describe(self) -> str:
        return (f"about {gb(self.peak_mb)} (weights {gb(self.weights_mb)}, gradients and optimizer "
                f"{gb(self.training_mb)}, one step's activations {gb(self.activations_mb)})")


def duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def gb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


PROBE_BATCH = 4  # activations and FLOP grow in proportion to the batch: sized on a few, then scaled
PROBE_STEPS = (4, 8)  # a recurrent model on meta tensors runs every time step in Python: sized on two short
# sequences, then extrapolated per step (a 4-layer BiLSTM over 800 words took 172 s to size whole)


def torch_cost(build: Callable[[int | None], "object"], inputs: Callable[[int, int | None], Sequence], *,
               batch: int, length: int | None = None, per_step: bool = False, optimizer: str = "adam",
               loss: Callable | None = None, lower: str = "the model's size or the batch size",
               data_mb: float = 0.0) -> Cost:
    """The cost of one training step: `build(length)` makes the model and `inputs(batch, length)`
    its input (both called under the meta device: tensors made there have shapes only).
    `per_step`: a recurrent model, whose cost grows by the same amount with every time step.
    `loss(output)` gives the scalar to differentiate (default: the sum of the first output)."""
    import torch

    with torch.device("meta"):
        model = build(length)
    params = list(model.parameters())
    weights = sum(p.numel() * p.element_size() for p in params) / MB
    trainable = sum(p.numel() * p.element_size() for p in params if p.requires_grad) / MB
    probe = min(batch, PROBE_BATCH)
    if per_step and length and length > PROBE_STEPS[1]:
        (a1, f1), (a2, f2) = (_probe(build, inputs, probe, n, loss) for n in PROBE_STEPS)
        per = ((a2 - a1) / (PROBE_STEPS[1] - PROBE_STEPS[0]), (f2 - f1) / (PROBE_STEPS[1] - PROBE_STEPS[0]))
        saved, flops = a1 + per[0] * (length - PROBE_STEPS[0]), f1 + per[1] * (length - PROBE_STEPS[0])
    else:
        saved, flops = _probe(build, inputs, probe, length, loss)
    slots = OPTIMIZER_SLOTS.get(optimizer.lower(), 2) + 1  # the gradients, then the optimizer's state
    return Cost(weights, trainable * slots, ACTIVATION_FACTOR * saved * batch / probe / MB, data_mb,
                flops * batch / probe, lower)


def _probe(build, inputs, batch: int, length: int | None, loss) -> tuple[float, float]:
    """(bytes saved for the backward pass, FLOP of forward and backward) of one step on meta tensors."""
    import torch
    from torch.autograd.graph import saved_tensors_hooks
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build(length)
        args = inputs(batch, length)
    own = {p.untyped_storage()._cdata for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage._cdata not in own:
            saved[storage._cdata] = storage.nbytes()
        return t

    with FlopCounterMode(display=False) as counter:
        with saved_tensors_hooks(pack, lambda t: t):
            out = model(*args)
            value = loss(out) if loss is not None else _first(out).float().sum()
        forward = counter.get_total_flops()
        try:
            value.backward()
            flops = counter.get_total_flops()
        except (NotImplementedError, RuntimeError):  # no meta kernel for some backward (embedding bags)
            flops = 3 * forward  # a backward pass costs about twice the forward
    return float(sum(saved.values())), float(flops)


def _first(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    if isinstance(out, dict):
        out = next(iter(out.values()))
    return out


@functools.lru_cache(maxsize=1)
def machine_flops() -> float:
    """FLOP/s one job can count on: a 512×512 matrix product's rate on one thread (the
    share a job gets on 2 cores), times `EFFICIENCY`. `DLPLAY_GFLOPS` overrides."""
    if given := os.environ.get("DLPLAY_GFLOPS"):
        try:
            return float(given) * 1e9
        except ValueError:
            pass
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = torch.randn(512, 512)
        a @ a
        start, n = time.perf_counter(), 20
        for _ in range(n):
            a @ a
        rate = n * 2 * 512**3 / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return rate * EFFICIENCY


def machine_mb() -> float:
    """This machine's memory (MB)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / MB
    except (ValueError, OSError, AttributeError):
        return 8 * 1024.0
