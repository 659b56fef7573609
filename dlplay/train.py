"""The one training loop every torch lesson trains through (`Loop`), shaped like
pytorch/examples: `train_epoch()` and `evaluate()` with the loop visible, hyperparameters in
one `TrainConfig`; `fit` is the loop over whole-dataset tensors.

`fit` draws batches by shuffled index from whole-dataset tensors (about 3× faster than
Dataset + DataLoader + ToTensor); other lessons hand `Loop.run` batches of their own
(bucketed texts, piano-roll windows, a lazy DataLoader) and a step function (the VAE's two
losses, a GAN's two players). Metric rows stream to a job every few steps and after every
epoch; a loss that becomes NaN or explodes stops training with a hint (`LossWatch`).
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .jobs import Cancelled, Job, TrainingDiverged, stoppable_steps

OPTIMIZERS = ("adam", "adamw", "sgd", "momentum")
SCHEDULES = ("onecycle", "cosine", "constant")


@dataclass
class TrainConfig:
    optimizer: str = "adam"
    lr: float = 3e-3
    momentum: float = 0.9
    batch_size: int = 128
    epochs: int = 3
    l2: float = 0.0  # weight decay (decoupled for AdamW)
    l1: float = 0.0  # added to the loss as l1 * sum|w|
    schedule: str = "onecycle"
    early_stopping: int = 0  # patience in epochs on validation loss; 0 = off
    seed: int = 0
    device: str = "auto"
    log_every: int = 20  # steps between streamed training rows
    max_grad_norm: float = 0.0  # 0 = no clipping
    # Mixed precision: the forward pass in bfloat16 (weights and the optimizer stay float32). On a CPU
    # with AMX or AVX-512 BF16 a CNN trains ~1.5× faster (python -m dlplay.bench); elsewhere it may be slower.
    bf16: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    rows: list[dict] = field(default_factory=list)  # one per epoch
    steps: list[dict] = field(default_factory=list)  # a training row every `log_every` steps (and the first)
    best_epoch: int = 0
    stopped_early: bool = False
    stopped: str = ""  # "stopped at epoch 7 of 15" when Stop was pressed
    samples_per_s: float = 0.0
    train_seconds: float = 0.0

    def in_order(self) -> list[dict]:
        """The step rows and epoch rows in the order they were streamed."""
        return sorted(self.steps + self.rows, key=lambda r: (r["step"], r.get("split") == "epoch"))

    def last(self, key: str):
        for row in reversed(self.rows):
            if key in row:
                return row[key]
        return None


class Callback(Protocol):
    def on_epoch_end(self, model: nn.Module, epoch: int, row: dict) -> None: ...


def pick_device(name: str = "auto") -> torch.device:
    """Where a run trains: `name`, or for "auto" `DLPLAY_DEVICE` when set (cuda, cuda:1, cpu; meta
    for the shapes-only check every lesson's step passes), else CUDA when present, else the CPU."""
    if name == "auto":
        name = os.environ.get("DLPLAY_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def bf16_pays(device: str = "auto") -> bool:
    """Whether bfloat16 autocast speeds training up here: a GPU that supports it, or a CPU with
    AMX / AVX-512 BF16 (oneDNN's check). Elsewhere the conversions cost more than they save."""
    dev = pick_device(device)
    if dev.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def index_batches(n: int, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.l2)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.l2)
    if cfg.optimizer in ("sgd", "momentum"):
        momentum = cfg.momentum if cfg.optimizer == "momentum" else 0.0
        return torch.optim.SGD(params, lr=cfg.lr, momentum=momentum, weight_decay=cfg.l2)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose from {OPTIMIZERS}")


def make_schedule(opt, cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "onecycle":
        # Warm up then anneal: reaches a given accuracy in fewer epochs than a constant lr.
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(1, total_steps))
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps))
    if cfg.schedule == "constant":
        return None
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose from {SCHEDULES}")


def l1_penalty(model: nn.Module) -> torch.Tensor:
    return sum(p.abs().sum() for name, p in model.named_parameters() if p.ndim > 1)


def check_finite(loss: torch.Tensor | float, step: int, lr: float) -> float:
    """The loss as a float; raises TrainingDiverged with a hint if it is NaN or infinite."""
    value = float(loss)
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"loss became {'NaN' if math.isnan(value) else 'infinite'} at step {step} — "
            f"lower the learning rate (now {lr:g}) and train again")
    return value


class LossWatch:
    """Stops a run whose loss is NaN or infinite, or has exploded: above `factor` times its
    first value for `patience` steps in a row, or above `ceiling` times it even once.

    The first value is the untrained model's loss, the honest yardstick: a median of the
    first few steps is already blown up when a huge learning rate explodes at step 2.
    At each page's default settings no loss went past 1.03× its first value (the DCGAN's
    see-saw, which it watches more loosely, 3.4×); at learning rate 10 the digit classifier
    fires at step 3. Short spikes pass: Adam at lr 1 jumps to 100× for three steps and settles."""

    def __init__(self, lr: float, factor: float | None = 10.0, patience: int = 5, ceiling: float = 1e4):
        self.lr, self.factor, self.patience, self.ceiling = lr, factor, patience, ceiling
        self.first: float | None = None
        self.last = math.nan
        self.step = 0
        self.streak = 0  # steps in a row above factor × first
        self.worst = 1.0  # the largest loss so far as a multiple of the first
        self.warned = False  # the validation loss's warning is given once

    def __call__(self, loss: torch.Tensor | float) -> float:
        """The loss as a float, after checking it; raises TrainingDiverged with a hint."""
        self.step += 1
        self.last = float(loss)  # the value that stopped a run, for a lesson that reports it (diagnosis)
        value = check_finite(self.last, self.step, self.lr)
        if self.first is None:
            self.first = value
            return value
        ratio = value / max(abs(self.first), 1e-6)
        self.worst = max(self.worst, ratio)
        self.streak = self.streak + 1 if self.factor is not None and ratio > self.factor else 0
        if ratio > self.ceiling or (self.factor is not None and self.streak >= self.patience):
            raise TrainingDiverged(f"the loss exploded from {self.first:.3g} to {value:.3g} at step {self.step} — "
                                   f"lower the learning rate (now {self.lr:g}) and train again")
        return value


    def validation(self, value: float, epoch: int) -> str | None:
        """After an epoch: what to tell the learner when the validation loss is not finite or
        above `factor` times the untrained training loss — it has diverged even while the
        training loss looks calm (the CNN builder at learning rate 1: training loss near 2.3,
        validation loss 3,200, and the run "finished" at 12.7 % with no hint). Said once."""
        if self.first is None or self.warned:
            return None
        if math.isfinite(value) and value <= (self.factor or 10.0) * max(abs(self.first), 1e-6):
            return None
        self.warned = True
        shown = "not a number" if math.isnan(value) else f"{value:,.4g}"
        return (f"The validation loss exploded to {shown} after epoch {epoch} (the untrained model's loss was "
                f"{self.first:.3g}), while the training loss looked calm: the learning rate (now {self.lr:g}) is "
                "probably too high for this model — lower it and train again.")


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


STOPPED_SCORING_S = 5.0  # a stopped run's testing goes on this long after Stop, then ends
STOPPED_BATCH = 32  # examples per batch once Stop is pressed, so the budget is kept to a small batch's time


def within_stop_budget(batches: Iterable[torch.Tensor], job: Job | None = None,
                       budget_s: float | None = None) -> Iterator[torch.Tensor]:
    """The index batches to score a split with, cut short by Stop: once the job's Stop has been
    pressed (before or during), scoring goes on for `budget_s` seconds in small batches and then
    ends, after one batch at least. A stopped run is measured on the part it reached within
    seconds, not held up for minutes — the sequence autoencoder at its largest took 70 s after
    Stop to score everything, a wide CNN on 10,000 test images (twice, with the test-time flip)
    about as long. Callers count the examples they scored; an order whose every first part is a
    random sample keeps that part fair."""
    deadline, done = None, 0
    for idx in batches:
        for part in (idx.split(STOPPED_BATCH) if job is not None and job.stop_requested else (idx,)):
            if job is not None and job.stop_requested:
                deadline = deadline or time.perf_counter() + (STOPPED_SCORING_S if budget_s is None else budget_s)
                if done and time.perf_counter() > deadline:
                    return
            done += 1
            yield part


@torch.no_grad()
def outputs(model: nn.Module, x: torch.Tensor, job: Job | None = None, batch_size: int = 2048) -> torch.Tensor:
    """The model's outputs for `x`, in order, on the CPU: for all of it, or after Stop for the
    first part it reaches within seconds (`within_stop_budget`)."""
    model.eval()
    device = next(model.parameters()).device
    parts = [model(x[i].to(device)).cpu()
             for i in within_stop_budget(index_batches(len(x), batch_size, shuffle=False), job)]
    return torch.cat(parts) if parts else torch.empty(0)


@dataclass
class Tested:
    """A classifier's test split, scored once: its class probabilities, loss and accuracy, and
    how many of the split's examples they cover (fewer after Stop)."""
    probs: torch.Tensor
    loss: float
    acc: float
    n: int
    of: int

    def note(self) -> str:
        """What a stopped run says of a test cut short by Stop ('' when every example was tested)."""
        return "" if self.n == self.of else f"tested on {self.n:,} of {self.of:,} test images, the first seconds after Stop"


def tested(model: nn.Module, x: torch.Tensor, y: torch.Tensor, job: Job | None = None) -> Tested:
    """One pass over a test split gives its loss, accuracy and probabilities (they were two passes)."""
    logits = outputs(model, x, job)
    n = len(logits)
    if not n:
        return Tested(torch.empty(0, 0), float("nan"), float("nan"), 0, len(x))
    y = y[:n]
    correct = (logits.argmax(1) == y).sum().item()  # counted, so it equals a stored run's count exactly
    return Tested(F.softmax(logits, 1), F.cross_entropy(logits, y).item(), correct / n, n, len(x))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=F.cross_entropy,
             batch_size: int = 2048, classify: bool = True) -> dict:
    """Mean loss (and accuracy when classifying) over a whole split."""
    model.eval()
    device = next(model.parameters()).device
    total, correct = 0.0, 0
    for idx in index_batches(len(x), batch_size, shuffle=False):
        xb, yb = x[idx].to(device), y[idx].to(device)
        out = model(xb)
        total += loss_fn(out, yb).item() * len(idx)
        if classify:
            correct += (out.argmax(1) == yb).sum().item()
    result = {"loss": total / max(1, len(x))}
    if classify:
        result["acc"] = correct / max(1, len(x))
    return result


def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    return F.softmax(outputs(model, x, batch_size=batch_size), 1) if len(x) else torch.empty(0)


@dataclass
class Step:
    """What one training step hands the loop."""

    loss: torch.Tensor  # the batch's mean loss; the loop backpropagates it unless `stepped`
    n: int  # examples in the batch
    correct: torch.Tensor | int | None = None  # right answers in the batch, for the training accuracy
    # More values for the streamed rows (floats or 0-d tensors), each also averaged into the epoch's
    # row as train_<name>; a "loss" here is what the curve shows (a loss in the data's own unit).
    row: dict = field(default_factory=dict)
    stepped: bool = False  # the step function stepped its own optimizers (a GAN's two players)
    weight: float | None = None  # what the epoch's means weigh the batch by: `n` unless given (a text's words)
    value: float | None = None  # the loss as the loop read it (None on the meta device)

    @property
    def counted(self) -> float:
        return self.n if self.weight is None else self.weight


class Optimizers:
    """One or more optimizers and their learning-rate schedules, stepped together (a text model's
    sparse embedding table has an optimizer of its own; most runs have one)."""

    def __init__(self, opts: list, schedules: list = ()):
        self.opts, self.schedules = list(opts), [s for s in schedules if s is not None]

    @classmethod
    def of(cls, params, cfg: TrainConfig, total_steps: int) -> "Optimizers":
        opt = make_optimizer(params, cfg)
        return cls([opt], [make_schedule(opt, cfg, total_steps)])

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for o in self.opts for g in o.param_groups for p in g["params"]]

    def lr(self) -> float:
        return self.opts[0].param_groups[0]["lr"]

    def zero_grad(self) -> None:
        for o in self.opts:
            o.zero_grad(set_to_none=True)

    def step(self) -> None:
        for o in self.opts:
            o.step()
        for s in self.schedules:
            s.step()


NO_CONTEXT = contextlib.nullcontext()


def autocast(device: torch.device, bf16: bool):
    """The forward pass in bfloat16 when asked (no context otherwise: autocast refuses the meta device)."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else NO_CONTEXT


def to_device(batch, device: torch.device):
    """A batch's tensors (alone, or in a tuple or list) moved to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


class Loop:
    """The training loop every torch lesson runs: batches from any source, a step function,
    and around them what every run needs — the device (`pick_device`), bfloat16 autocast when
    configured, Stop between steps (a run stopped after its first step keeps its model), the
    exploding-loss watch, the optimizer and schedule, gradient clipping, one early-stopping rule
    (patience on the validation loss, the best epoch's weights restored) and metric streaming
    (the first step at once, then every `log_every` steps, a row per epoch).

    A lesson builds the model, makes a Loop (which moves the model to the device), and calls
    `run(batches, step)`: `batches(epoch)` yields that epoch's batches, `step(batch)` returns a
    `Step`. The batch reaches `step` as the source gave it; `loop.device` is where to put it
    (`to_device`), so a lesson that keeps some tensors on the CPU (the lengths packing reads) can."""

    def __init__(self, model: nn.Module, cfg: TrainConfig, job: Job | None = None, *, steps_per_epoch: int,
                 optimizers: Optimizers | None = None, watch: LossWatch | None = None,
                 clip: list[torch.Tensor] | None = None, after_step: Callable | None = None,
                 after_backward: Callable[[int, float | None], None] | None = None,
                 report: Callable[[dict], None] | None = None):
        self.cfg, self.job, self.steps_per_epoch = cfg, job, max(1, steps_per_epoch)
        self.device = pick_device(cfg.device)
        self.model = model.to(self.device)
        self.total = self.steps_per_epoch * cfg.epochs
        self.opt = optimizers or Optimizers.of(model.parameters(), cfg, self.total)
        self.clip = clip or self.opt.params  # what clipping applies to (default: the optimizers' parameters)
        self.after_step = after_step  # (model, lr) after each optimizer step: a proximal L1 step, say
        self.after_backward = after_backward  # (step, loss) with the gradients there, before the optimizer step
        self.report = report  # adds to each streamed step row (a validation accuracy measured as it trains)
        self._last: tuple | None = None  # the last step's (epoch, Step, seen), for the run's last row
        self._step: Step | None = None  # the step being learned (what a diverged step measured)
        self._autocast = functools.partial(autocast, self.device, cfg.bf16)
        self.watch = watch or LossWatch(cfg.lr)  # the learning rate as set, not as scheduled now
        self.step = 0
        self.samples = 0
        self.train_time = 0.0
        self.history = History()

    def lr(self) -> float:
        return self.opt.lr()

    def batch(self, batch):
        return to_device(batch, self.device)

    def run(self, batches: Callable[[int], Iterable], step: Callable[..., Step], *,
            validate: Callable[[], dict] | None = None,
            on_epoch: Callable[[int, dict], bool | None] | None = None) -> History:
        """Train for `cfg.epochs` (fewer when Stop is pressed or early stopping ends it). After
        each epoch `validate()` adds val_* values to the row, and `on_epoch(epoch, row)` may add
        more before it is streamed, or end training by returning True (a time budget, say)."""
        cfg, job, history = self.cfg, self.job, self.history
        best, best_state, waited = math.inf, None, 0
        for epoch in range(cfg.epochs):
            try:
                with stoppable_steps(job):
                    trained = self.train_epoch(epoch, batches(epoch), step)
            except Cancelled:
                history.stopped = keep_on_stop(job, epoch, cfg.epochs, self.step,
                                               history.best_epoch if best_state else 0)
                break
            row = {"epoch": epoch + 1, "step": self.step, "split": "epoch", **trained}
            if validate is not None:
                row.update({f"val_{k}": v for k, v in self._validate(validate, epoch).items()})
            enough = on_epoch is not None and on_epoch(epoch + 1, row)
            history.rows.append(row)
            if job:
                job.metric(**row)  # drawn before a diverged validation ends the run: what was measured shows
            if "val_loss" in row and (warning := self.watch.validation(row["val_loss"], epoch + 1)):
                if hasattr(job, "warn"):  # a job, not a stand-in that only shows progress
                    job.warn(warning)
            if enough:
                break
            if cfg.early_stopping and "val_loss" in row:
                if row["val_loss"] < best - 1e-4:
                    best, history.best_epoch, waited = row["val_loss"], epoch + 1, 0
                    best_state = {k: t.detach().clone() for k, t in self.model.state_dict().items()}
                elif (waited := waited + 1) >= cfg.early_stopping:
                    history.stopped_early = True
                    if job:
                        job.log(f"early stopping after epoch {epoch + 1}: validation loss has not improved "
                                f"for {waited} epochs; restoring epoch {history.best_epoch}")
                    break
        if self._last is not None and history.steps[-1]["step"] != self.step:
            self._report_step(*self._last)  # the curve ends where training ended
        if best_state is not None:
            self.model.load_state_dict(best_state)
        history.samples_per_s = self.samples / max(1e-9, self.train_time)
        history.train_seconds = self.train_time
        return history

    def _validate(self, validate: Callable[[], dict], epoch: int) -> dict:
        if self.job:
            self.job.set_progress(self.step / self.total,
                                  f"epoch {epoch + 1}/{self.cfg.epochs} · measuring the validation examples")
        return validate()

    def train_epoch(self, epoch: int, batches: Iterable, step: Callable[..., Step]) -> dict:
        """One pass over `batches`; raises Cancelled when Stop is pressed."""
        self.model.train()
        tally = {"loss": 0.0, "seen": 0, "weight": 0.0, "correct": None, "sums": {}}
        t0 = time.perf_counter()
        try:
            for batch in batches:
                if self.job:
                    self.job.check_cancelled()
                try:
                    out = self.learn(batch, step)
                except TrainingDiverged as exc:
                    self._report_diverged(epoch, tally["seen"], exc)
                    raise
                self._count(tally, out, epoch)
        finally:  # a generator of batches ends here, however the epoch ends (a lazy loader's readers with it)
            if hasattr(batches, "close"):
                batches.close()
        elapsed, seen, weight = time.perf_counter() - t0, tally["seen"], max(tally["weight"], 1e-12)
        self.train_time += elapsed
        self.samples += seen
        # Throughput per epoch: pages show it and `python -m dlplay.bench` reads it from the page.
        row = {"train_loss": tally["loss"] / weight, "samples_per_s": seen / max(1e-9, elapsed), "seconds": elapsed,
               **{f"train_{k}": float(v) / weight for k, v in tally["sums"].items()}}
        if tally["correct"] is not None:
            row["train_acc"] = float(tally["correct"]) / weight
        return row

    def _count(self, tally: dict, out: Step, epoch: int) -> None:
        """A step's loss, examples and row values added to the epoch's (on the device: no host sync)."""
        self.step += 1
        tally["loss"] += (out.value if out.value is not None else 0.0) * out.counted
        tally["seen"] += out.n
        tally["weight"] += out.counted
        if out.correct is not None:
            tally["correct"] = out.correct + (tally["correct"] if tally["correct"] is not None else 0)
        for k, v in out.row.items():
            tally["sums"][k] = tally["sums"].get(k, 0.0) + (v.detach() if isinstance(v, torch.Tensor) else v) * out.counted
        self._last = (epoch, out, tally["seen"])
        # The first step is reported at once so the curve appears right after "Train".
        if self.step == 1 or self.step % self.cfg.log_every == 0:
            self._report_step(*self._last)

    def learn(self, batch, step: Callable[..., Step]) -> Step:
        """One step: the lesson's forward pass and loss, then (unless the step did it) backward,
        clipping and the optimizer."""
        cfg = self.cfg
        with self._autocast():
            out = self._step = step(batch)
        loss = out.loss
        if not out.stepped:
            if cfg.l1:
                loss = loss + cfg.l1 * l1_penalty(self.model)
            value = self.read(loss)
            self.opt.zero_grad()
            loss.backward()
            if cfg.max_grad_norm:
                nn.utils.clip_grad_norm_(self.clip, cfg.max_grad_norm)
            if self.after_backward is not None:
                self.after_backward(self.step + 1, value)
            self.opt.step()
            if self.after_step is not None:
                self.after_step(self.model, self.lr())
        else:
            value = self.read(loss)
        out.value = value
        return out

    def read(self, loss: torch.Tensor) -> float | None:
        """The loss as a float, checked by the watch — the one host sync per step. On the meta
        device (shapes only) there is no value to read: None."""
        if self.device.type == "meta":
            return None
        return self.watch(loss.detach())

    def _report_diverged(self, epoch: int, seen: int, exc: TrainingDiverged) -> None:
        """The step that diverged is drawn too (a run that dies at step 6 has one more point to show),
        with what was measured and why it ended."""
        if self.job is None:
            return
        last = self.watch.last
        row = {"step": self.step + 1, "epoch": epoch + seen / (self.steps_per_epoch * self.cfg.batch_size),
               "split": "train", "diverged": str(exc), **({"loss": last} if math.isfinite(last) else {}),
               **_accuracy_of(self._step)}
        self.job.metric(**row)

    def _report_step(self, epoch: int, out: Step, seen: int) -> None:
        row = {"step": self.step, "epoch": epoch + seen / (self.steps_per_epoch * self.cfg.batch_size),
               "split": "train", "loss": out.value, "lr": self.lr(),
               **{k: _value(v) for k, v in out.row.items()}, **_accuracy_of(out)}
        if self.report is not None:
            self.report(row)
        self.history.steps.append(row)
        if self.job is None:
            return
        self.job.metric(**row)
        self.job.set_progress(self.step / self.total,
                              f"epoch {epoch + 1}/{self.cfg.epochs} · step {self.step}/{self.total}")


def _accuracy_of(out: Step | None) -> dict:
    """{"acc": the batch's share right} for a step that counts right answers, else {}."""
    right = None if out is None or out.correct is None or not out.counted else _value(out.correct)
    return {} if right is None else {"acc": right / out.counted}  # none on the meta device


def _value(v) -> float | None:
    if isinstance(v, torch.Tensor):
        return None if v.device.type == "meta" else v.item()
    return v


class Checked:
    """A stand-in job that only checks for Stop: `check()` raises to end the loop (a loop inside
    another lesson's run, which shows its own progress and keeps nothing half-trained)."""

    def __init__(self, check: Callable[[], None]):
        self.check_cancelled = check

    def metric(self, **row) -> None:
        pass

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        pass

    def stopped_at(self, note: str) -> None:
        raise Cancelled()


def classify_step(model: nn.Module, loss_fn: Callable, device: torch.device, classify: bool = True,
                  transform: Callable | None = None) -> Callable[[tuple], Step]:
    """The usual step: (x, y) to the device, augmented by `transform`, through the model, scored by `loss_fn`."""
    def step(batch) -> Step:
        xb, yb = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        return Step(loss_fn(out, yb), len(yb), (out.argmax(1) == yb).sum() if classify else None)
    return step


def fit(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor] | None = None, cfg: TrainConfig | None = None, *,
        job: Job | None = None, loss_fn: Callable = F.cross_entropy, classify: bool = True,
        callbacks: tuple[Callback, ...] = (), transform: Callable | None = None,
        after_step: Callable[[nn.Module, float], None] | None = None) -> History:
    """Train `model` in place on whole-dataset tensors; returns the history. With early stopping
    the best validation weights are restored at the end. `transform` maps each training batch
    (augmentation) before the model sees it; `after_step(model, lr)` runs after every
    optimizer step (the overfitting lab's proximal L1 step)."""
    cfg = cfg or TrainConfig()
    gen = seed_everything(cfg.seed)
    x, y = train
    loop = Loop(model, cfg, job, steps_per_epoch=math.ceil(len(x) / cfg.batch_size), after_step=after_step)
    validate = None if val is None else (lambda: evaluate(loop.model, *val, loss_fn=loss_fn, classify=classify))

    def on_epoch(epoch: int, row: dict) -> None:
        for cb in callbacks:
            cb.on_epoch_end(loop.model, epoch, row)

    return loop.run(lambda epoch: ((x[i], y[i]) for i in index_batches(len(x), cfg.batch_size, gen)),
                    classify_step(loop.model, loss_fn, loop.device, classify, transform),
                    validate=validate, on_epoch=on_epoch)


def stop_pressed(job: Job | None, step: int) -> bool:
    """True once Stop was pressed and at least one step was learned: the loop ends and
    the model is kept (for loops of their own; `fit` does this itself). Stop before the first step cancels the run (raises `Cancelled`)."""
    if job is None:
        return False
    try:
        job.check_cancelled()
    except Cancelled:
        if step == 0:
            raise
        return True
    return False


def keep_on_stop(job: Job | None, epoch: int, epochs: int, step: int, best_epoch: int = 0) -> str:
    """Call in a training loop's `except Cancelled`: Stop before the first step cancels the run
    (raises `Cancelled` again); after it the job ends as stopped with its model, and this is
    the note the page shows."""
    if step == 0:
        raise Cancelled()  # nothing learned yet: the run is cancelled, not stopped
    note = stop_note(epoch, epochs, step, best_epoch)
    if job:
        job.stopped_at(note)
    return note


def stop_note(epoch: int, epochs: int, step: int, best_epoch: int = 0) -> str:
    """What a page says about a run stopped during `epoch` (0-based)."""
    note = f"stopped at epoch {epoch + 1} of {epochs} (step {step:,})"
    return note + (f"; keeping the best epoch, {best_epoch}" if best_epoch else "")


# --- checkpoints ------------------------------------------------------------------------------

def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict | None = None) -> Path:
    """Weights as safetensors; metadata (strings) travels in the file's header."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # Written whole, then renamed: a cache file another process reads meanwhile is never half there.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    save_file(tensors, str(tmp), metadata={k: str(v) for k, v in (metadata or {}).items()})
    os.replace(tmp, path)
    return path


def load_checkpoint(model: nn.Module, path: str | Path) -> dict:
    """Loads weights into `model`; returns the metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)))
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})
