"""Benchmark: what recording a run costs its training (goal: under 2% slower).

The digit page's MLP (784-256-128-10, dropout 0.2, Adam, batch 128, constant lr) on
MNIST, measured two ways, interleaved and repeated (the median is reported):

- writes: one metric row (`RunStore.add_metrics`, one transaction with the heartbeat)
  and one checkpoint (`RunStore.save_model` of the MLP: fsynced temp file, rename) in ms,
  set against the `log_every` = 20 training steps between two metric rows;
- training: the same `fit` in a job nobody records, and in a run started with
  `dlplay.runs.start` on a store in a temporary folder, whose recorder thread writes
  the job's metric rows every second while it trains. Both run in a scheduler worker,
  so both get the same share of the cores.

The recorder batches a second's rows into one transaction, so the per-row cost here is
an upper bound of what a row costs a real run.
"""
from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import torch

from dlplay import data
from dlplay.jobs import get_scheduler
from dlplay.models import MLP
from dlplay.runs import Lesson, RunStore, Saved, home, start
from dlplay.runs.record import forget
from dlplay.train import TrainConfig, fit, pick_device

HIDDEN, DROPOUT, LR, BATCH, LOG_EVERY = (256, 128), 0.2, 3e-3, 128, 20
WARMUP_SAMPLES = 4096
SESSION = "bench-store"


@dataclass
class BenchSpec:
    samples: int = 60_000  # training images used
    epochs: int = 1


def load_mnist() -> data.ImageData:
    """MNIST from the data directory when there is one, else the bundled 4,000-image sample."""
    return data.load("mnist")


def make_model(ds: data.ImageData) -> MLP:
    torch.manual_seed(0)
    return MLP(784, HIDDEN, 10, "relu", DROPOUT, norm=ds.pixel_stats)


def config(epochs: int) -> TrainConfig:
    return TrainConfig(optimizer="adam", lr=LR, batch_size=BATCH, epochs=epochs, schedule="constant",
                       log_every=LOG_EVERY)


# --- the cost of one write ------------------------------------------------------------------------

def metric_row_ms(store: RunStore, run_id: int, first_seq: int, n: int) -> float:
    """Median time of `n` one-row writes shaped like fit's training rows."""
    times = []
    for seq in range(first_seq, first_seq + n):
        row = {"step": seq, "epoch": seq / 400, "split": "train", "loss": 1 / (seq + 1), "lr": LR, "acc": 0.5}
        t = time.perf_counter()
        store.add_metrics(run_id, [(seq, row)])
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def checkpoint_ms(store: RunStore, run_id: int, model: MLP, n: int) -> float:
    times = []
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    for _ in range(n):
        t = time.perf_counter()
        store.save_model(run_id, tensors, metadata={"page": "bench"})
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


# --- the same fit, unrecorded and recorded ------------------------------------------------------

class TimedFit:
    """The lesson both ways share: fit the MLP on the first `spec.samples` images, timed
    (samples/s over the whole fit, so the recorder's writes during it count)."""

    def __init__(self, ds: data.ImageData):
        self.ds = ds

    def train(self, spec: BenchSpec, job) -> tuple[MLP, float]:
        model = make_model(self.ds)
        n = min(spec.samples, len(self.ds.x_train))
        t = time.perf_counter()
        fit(model, (self.ds.x_train[:n], self.ds.y_train[:n]), None, config(spec.epochs), job=job)
        return model, n * spec.epochs / (time.perf_counter() - t)

    def lesson(self) -> Lesson:
        return Lesson(page="bench-store", title="store benchmark", path="", spec_type=BenchSpec,
                      train=self.train, brief=lambda spec: f"{spec.samples:,} samples × {spec.epochs}",
                      save=lambda result: Saved({f"model.{k}": v for k, v in result[0].state_dict().items()}),
                      load=lambda spec, saved: None)

    def unrecorded(self, spec: BenchSpec) -> float:
        job = get_scheduler().submit(lambda j: self.train(spec, j), session_id=SESSION, name="unrecorded")
        return self._rate(job)

    def recorded(self, spec: BenchSpec, store: RunStore) -> float:
        run, job = start(self.lesson(), spec, workspace="bench", session_id=SESSION, store=store)
        rate = self._rate(job)
        forget(run.id)
        return rate

    @staticmethod
    def _rate(job) -> float:
        job.wait()
        if not job.has_result:
            raise RuntimeError(f"benchmark job ended as {job.state}: {job.error}")
        return job.result[1]


def run(quick: bool = False, log: Callable[[str], None] = print) -> dict:
    """Medians over interleaved rounds. Each round measures the writes, then one unrecorded
    and one recorded fit back to back (the order alternates); ratios are taken within a
    round, so a neighbour's load that comes and goes skews both sides alike. Each fit
    lasts a few of the recorder's one-second flushes (about one with --quick)."""
    total, rounds, rows_per_round, ckpts_per_round = (60_000, 3, 30, 3) if quick else (180_000, 5, 100, 10)
    ds = load_mnist()
    n = len(ds.x_train)
    spec = BenchSpec(n, max(1, round(total / n)))
    trainer = TimedFit(ds)
    got: dict[str, list[float]] = {k: [] for k in ("row_ms", "checkpoint_ms", "unrecorded", "recorded")}
    beside_real = home().parent if home().parent.is_dir() else None  # the disk the real store is on
    with tempfile.TemporaryDirectory(prefix="dlplay-bench-store-", dir=beside_real) as root:
        store = RunStore(root)
        target = store.create(workspace="bench", page="bench-store", title="write costs", spec={})
        model = make_model(ds)
        fits = {"unrecorded": lambda: trainer.unrecorded(spec), "recorded": lambda: trainer.recorded(spec, store)}
        warmup = BenchSpec(min(n, WARMUP_SAMPLES))
        trainer.unrecorded(warmup)
        trainer.recorded(warmup, store)
        for r in range(rounds):
            got["row_ms"].append(metric_row_ms(store, target.id, r * rows_per_round, rows_per_round))
            got["checkpoint_ms"].append(checkpoint_ms(store, target.id, model, ckpts_per_round))
            for name in (list(fits) if r % 2 == 0 else list(fits)[::-1]):
                got[name].append(fits[name]())
            log(f"  store round {r + 1}/{rounds}: metric row {got['row_ms'][-1]:.2f} ms, checkpoint "
                f"{got['checkpoint_ms'][-1]:.1f} ms, fit {got['unrecorded'][-1]:,.0f} samples/s unrecorded, "
                f"{got['recorded'][-1]:,.0f} recorded")
        get_scheduler().release_session(SESSION)
    return summarize(got, spec, ds, rounds)


def summarize(got: dict[str, list[float]], spec: BenchSpec, ds: data.ImageData, rounds: int) -> dict:
    med = {k: statistics.median(v) for k, v in got.items()}
    # ms of the log_every steps between two metric rows, in each round's unrecorded fit
    between = [1000 * LOG_EVERY * BATCH / rate for rate in got["unrecorded"]]

    def paired(values: list[float], per: list[float]) -> float:
        return statistics.median(v / p for v, p in zip(values, per))

    return {"samples": spec.samples * spec.epochs, "steps": math.ceil(spec.samples / BATCH) * spec.epochs,
            "repeats": rounds, "source": ds.summary(), "device": str(pick_device()),
            "threads": get_scheduler().threads_per_job(),
            "row_ms": med["row_ms"], "checkpoint_ms": med["checkpoint_ms"],
            "between_rows_ms": statistics.median(between),
            "row_vs_between_rows": paired(got["row_ms"], between),
            "checkpoint_vs_between_rows": paired(got["checkpoint_ms"], between),
            "samples_per_s": {"unrecorded": med["unrecorded"], "recorded": med["recorded"]},
            "recorded_vs_unrecorded": paired(got["recorded"], got["unrecorded"]), "runs": got}
