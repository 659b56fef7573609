"""Input pipelines: the order of shuffle, batch and repeat, and what the model actually sees.

The stages work like tf.data's on a stream of example indices: `shuffle(buffer)` keeps a
buffer of `buffer` examples and hands out a random one of them, refilling from the stream
(a buffer smaller than the data only shuffles locally); `batch(n)` groups n in a row;
`repeat(k)` plays the stream k times. The examples start sorted by label — as many datasets
are stored — so a pipeline that never mixes them feeds the network one class at a time and
it learns to answer whatever class came last.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..jobs import Job
from ..models.mlp import MLP
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import Loop, TrainConfig, classify_step, predict_proba

ORDERS = {
    "shuffle_batch_repeat": "shuffle → batch → repeat",
    "batch_shuffle_repeat": "batch → shuffle → repeat",
    "repeat_shuffle_batch": "repeat → shuffle → batch",
    "small_buffer": "shuffle (buffer of 1,000) → batch → repeat",
    "none": "batch → repeat (never shuffled: sorted by label)",
}


def shuffle(stream: Iterable, buffer: int, rng: np.random.Generator) -> Iterator:
    """tf.data's shuffle: fill a buffer, hand out a random element, put the next one in its place."""
    buf: list = []
    for item in stream:
        if len(buf) < buffer:
            buf.append(item)
            continue
        i = int(rng.integers(len(buf)))
        yield buf[i]
        buf[i] = item
    while buf:
        yield buf.pop(int(rng.integers(len(buf))))


def batch(stream: Iterable, size: int) -> Iterator[list]:
    out: list = []
    for item in stream:
        out.append(item)
        if len(out) == size:
            yield out
            out = []
    if out:
        yield out


def repeat(make: callable, times: int) -> Iterator:
    for _ in range(times):
        yield from make()


def batches_for(order: str, n: int, batch_size: int, epochs: int, seed: int = 0, buffer: int = 0) -> list[np.ndarray]:
    """The index batches `order` hands out over `epochs` passes of examples 0 … n−1 (sorted by label)."""
    rng = np.random.default_rng(seed)
    full = buffer or n
    if order == "shuffle_batch_repeat":
        stream = repeat(lambda: batch(shuffle(range(n), full, rng), batch_size), epochs)
    elif order == "small_buffer":
        stream = repeat(lambda: batch(shuffle(range(n), buffer or 1000, rng), batch_size), epochs)
    elif order == "batch_shuffle_repeat":
        stream = repeat(lambda: shuffle(batch(range(n), batch_size), math.ceil(n / batch_size), rng), epochs)
    elif order == "repeat_shuffle_batch":
        stream = batch(shuffle(repeat(lambda: range(n), epochs), full, rng), batch_size)
    elif order == "none":
        stream = repeat(lambda: batch(range(n), batch_size), epochs)
    else:
        raise ValueError(f"unknown order {order!r}; choose from {', '.join(ORDERS)}")
    return [np.asarray(b, np.int64) for b in stream]


def label_counts(batches: list[np.ndarray], labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(batches, classes): how many of each class every batch holds — what the model sees."""
    return np.stack([np.bincount(labels[b], minlength=n_classes) for b in batches]) if batches else \
        np.zeros((0, n_classes), np.int64)


def classes_per_batch(counts: np.ndarray) -> float:
    return float((counts > 0).sum(1).mean()) if len(counts) else 0.0


# --- the experiment as a run ------------------------------------------------------------------------

@dataclass
class PipelineSpec:
    order: str = "shuffle_batch_repeat"
    dataset: str = "mnist"
    n_train: int = 10_000  # examples, sorted by label before the pipeline
    batch_size: int = 128
    epochs: int = 3
    lr: float = 1e-3
    seed: int = 0


@dataclass
class PipelineResult:
    spec: PipelineSpec
    model: torch.nn.Module
    rows: list[dict]
    counts: np.ndarray  # label counts of the first batches (up to 200) the model saw
    test_acc: float
    test_pred_share: np.ndarray  # share of test images predicted as each class
    classes: list[str]
    mixing: float  # mean number of classes per batch, over all batches
    stopped: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def sorted_subset(ds, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` training images (a random, class-balanced pick), then sorted by label, as a dataset on disk often is."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds.y_train), generator=g)[:n]
    x, y = ds.x_train[idx], ds.y_train[idx]
    order = torch.argsort(y, stable=True)
    return x[order], y[order]


def _accuracy(model, x, y) -> tuple[float, np.ndarray]:
    pred = predict_proba(model, x).argmax(1)
    model.train()  # predict_proba leaves the model in eval mode; training goes on
    return float((pred == y).float().mean()), pred.numpy()


def train_pipeline(spec: PipelineSpec, job: Job | None = None, ds=None) -> PipelineResult:
    from .. import data

    ds = ds or data.load(spec.dataset)
    x, y = sorted_subset(ds, spec.n_train, spec.seed)
    torch.manual_seed(spec.seed)
    model = MLP(x[0].numel(), (128,), ds.n_classes, dropout=0.0, norm=ds.pixel_stats)
    plan = batches_for(spec.order, len(y), spec.batch_size, spec.epochs, spec.seed)
    counts = label_counts(plan, y.numpy(), ds.n_classes)
    per_epoch = math.ceil(len(y) / spec.batch_size)
    x_val, y_val = ds.x_test[:2000], ds.y_test[:2000]
    t0 = time.perf_counter()
    if job:
        job.artifact("counts", counts[:200])

    def measured(row: dict) -> None:  # validation on 2,000 images every 4 steps: a few ms
        acc, _ = _accuracy(model, x_val, y_val)
        row.update(val_acc=acc, batch_classes=int((counts[row["step"] - 1] > 0).sum()))

    def batches(epoch: int):
        """The plan's batches in epochs of `per_epoch` (an order that repeats before it batches
        crosses epochs: its last one is shorter)."""
        part = plan[epoch * per_epoch:(epoch + 1) * per_epoch if epoch < spec.epochs - 1 else None]
        return ((x[idx], y[idx]) for idx in part)

    cfg = TrainConfig(optimizer="adam", lr=spec.lr, batch_size=spec.batch_size, epochs=spec.epochs,
                      schedule="constant", seed=spec.seed, log_every=4)
    loop = Loop(model, cfg, job, steps_per_epoch=per_epoch, report=measured)
    history = loop.run(batches, classify_step(model, F.cross_entropy, loop.device))
    test_acc, pred = _accuracy(model, ds.x_test, ds.y_test)
    share = np.bincount(pred, minlength=ds.n_classes) / max(1, len(pred))
    return PipelineResult(spec, model.eval(), history.steps, counts[:200], test_acc, share, list(ds.classes),
                          classes_per_batch(counts), history.stopped, time.perf_counter() - t0)


CODEC = Codec(PipelineResult, models={"model": lambda spec, s: MLP(s["in_features"], (128,), len(s["classes"]), dropout=0.0)},
              headline=lambda r: f"{r.test_acc:.1%} test accuracy", extra=lambda r: {"in_features": r.model.config["in_features"]},
              renamed={"test_pred_share": "pred_share"})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: PipelineSpec) -> str:
    return f"{ORDERS.get(spec.order, spec.order)} · batch {spec.batch_size} · {spec.epochs} epochs"


def work(spec: PipelineSpec):
    from ..limits import Work

    return Work(spec.epochs, "epoch", spec.n_train, "training images")


def cost(spec: PipelineSpec):
    """Memory and step time of one batch (`dlplay.costs`), and the run's sorted copy of its images."""
    from .. import data
    from ..costs import MB, torch_cost

    ds = data.load(spec.dataset)  # loaded by the page
    shape = ds.image_shape
    return torch_cost(lambda n: MLP(math.prod(shape), (128,), ds.n_classes, dropout=0.0),
                      lambda b, n: (torch.zeros(b, *shape),),
                      batch=spec.batch_size, optimizer="adam", lower="the batch size or the training images",
                      data_mb=spec.n_train * math.prod(shape) * 4 / MB
                      ).with_steps(spec.epochs * -(-spec.n_train // spec.batch_size))


LESSON = Lesson(page="pipe", figure=Figure("test_acc", "test accuracy", percent=True),
                spec_type=PipelineSpec, train=lambda spec, job: train_pipeline(spec, job), save=save_result,
                load=load_result, brief=brief, curves=("loss", "val_acc"), work=work, cost=cost)

__all__ = ["LESSON", "ORDERS", "PipelineSpec", "batch", "batches_for", "label_counts", "repeat", "shuffle",
           "train_pipeline"]
