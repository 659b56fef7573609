"""Benchmark: training throughput of `dlplay.train.fit` against two baselines.

The same model (the digit page's MLP 784-256-128-10, dropout 0.2), optimiser (Adam,
lr 3e-3) and batch size (128) on the same MNIST training images, three ways:

- dlplay: `fit()` as the digit page runs it (whole-dataset tensors, constant lr like the others,
  per-step cancellation check and loss bookkeeping);
- tutorial: the pytorch/examples loop (torchvision.datasets.MNIST + ToTensor + Normalize +
  DataLoader(batch_size=128, shuffle=True)), which decodes every image on every epoch;
- bare: the least a loop can do (shuffled index batches over whole tensors, forward,
  backward, step) — the ceiling for the other two.

Each runs the same number of samples after a short warm-up; the runs are interleaved
and repeated, and the median is reported, so a busy neighbour skews all three alike.
"""
from __future__ import annotations

import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from dlplay import data
from dlplay.models import MLP
from dlplay.train import TrainConfig, fit, pick_device

HIDDEN, DROPOUT, LR, BATCH = (256, 128), 0.2, 3e-3, 128
WARMUP_SAMPLES = 4096


def load_mnist() -> data.ImageData:
    ds = data.load("mnist")
    if len(ds.x_train) != 60_000:
        raise SystemExit(f"the benchmark needs the full MNIST (60,000 training images); found {ds.summary()}. "
                         "Set DLPLAY_DATA_DIR to a folder holding MNIST/raw/.")
    return ds


def make_model(ds: data.ImageData) -> MLP:
    torch.manual_seed(0)
    return MLP(784, HIDDEN, 10, "relu", DROPOUT, norm=ds.pixel_stats)


def unpacked_mnist(ds: data.ImageData, into: Path) -> Path:
    """torchvision's MNIST reads un-gzipped raw files from <root>/MNIST/raw."""
    raw = into / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stem in data.MNIST_FILES.values():
        src = data.find_file(Path(ds.source.location), stem)
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as f, open(raw / stem, "wb") as out:
            shutil.copyfileobj(f, out)
    return into


# --- the three loops: each trains one epoch over n samples and returns samples/s ------------

def dlplay_fit(ds: data.ImageData, n: int) -> float:
    model = make_model(ds)
    # Constant lr like the two baselines: this compares the loops, not learning-rate schedules.
    cfg = TrainConfig(optimizer="adam", lr=LR, batch_size=BATCH, epochs=1, schedule="constant")
    t = time.perf_counter()
    fit(model, (ds.x_train[:n], ds.y_train[:n]), None, cfg)
    return n / (time.perf_counter() - t)


def tutorial_loop(ds: data.ImageData, n: int, root: Path) -> float:
    device = pick_device()
    model = make_model(ds).to(device)
    return tutorial_epoch(model, torch.optim.Adam(model.parameters(), lr=LR), n, root, device)


def tutorial_epoch(model: torch.nn.Module, optimizer, n: int, root: Path, device: torch.device) -> float:
    """pytorch/examples mnist/main.py's loop over the first `n` images of the MNIST under `root`:
    the CNN benchmark runs it too, with its own model and optimiser."""
    from torchvision import datasets, transforms

    # pytorch/examples mnist/main.py's transform: decode, ToTensor, Normalize on every access.
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    if n < len(train_set):
        train_set = torch.utils.data.Subset(train_set, range(n))
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH, shuffle=True)
    t = time.perf_counter()
    model.train()
    for batch_idx, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        if batch_idx % 10 == 0:  # pytorch/examples logs the loss every log_interval batches
            loss.item()
    return n / (time.perf_counter() - t)


def bare_loop(ds: data.ImageData, n: int) -> float:
    device = pick_device()
    x, y = ds.x_train[:n].to(device), ds.y_train[:n].to(device)
    model = make_model(ds).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    t = time.perf_counter()
    model.train()
    for idx in torch.randperm(n, device=device).split(BATCH):
        optimizer.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t)


def interleaved(loops: dict[str, Callable[[int], float]], n: int, repeats: int, log: Callable[[str], None],
                warmup: int, label: str = "{:28s}") -> dict[str, list[float]]:
    """Each loop's samples/s over `repeats` rounds of `n` samples, after one warm-up run of each.
    Every round runs them all in a rotated order, so a busy neighbour skews them alike."""
    for loop in loops.values():
        loop(warmup)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(repeats):
        names = list(loops)[r % len(loops):] + list(loops)[:r % len(loops)]  # rotate the order
        for name in names:
            rates[name].append(loops[name](n))
            log(f"  {label.format(name)} run {r + 1}/{repeats}: {rates[name][-1]:,.0f} samples/s")
    return rates


def run(quick: bool = False, log: Callable[[str], None] = print) -> dict:
    """Median samples/s of each loop over `repeats` interleaved runs of `n` samples."""
    n, repeats = (15_000, 1) if quick else (60_000, 3)
    ds = load_mnist()
    with tempfile.TemporaryDirectory(prefix="dlplay-bench-") as tmp:
        root = unpacked_mnist(ds, Path(tmp))
        loops = {"dlplay": lambda k: dlplay_fit(ds, k), "tutorial": lambda k: tutorial_loop(ds, k, root),
                 "bare": lambda k: bare_loop(ds, k)}
        rates = interleaved(loops, n, repeats, log, WARMUP_SAMPLES, label="training {:8s}")
    med = {name: statistics.median(v) for name, v in rates.items()}
    return {"samples": n, "repeats": repeats, "device": str(pick_device()), "threads": torch.get_num_threads(),
            "samples_per_s": med, "runs": rates,
            "dlplay_vs_bare": med["dlplay"] / med["bare"], "dlplay_vs_tutorial": med["dlplay"] / med["tutorial"]}
