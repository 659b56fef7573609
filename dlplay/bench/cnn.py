"""Benchmark: the CNN builder's fast preset on a CPU.

1. Loops: the same network (the fast preset, 16-32-64 conv + batch norm), optimiser (AdamW) and
   batch size (128) trained three ways on the same MNIST images, interleaved and repeated:
   dlplay's `fit`; the pytorch/examples mnist loop (torchvision MNIST + ToTensor + Normalize +
   DataLoader); a bare in-memory loop.
2. Settings: the bare loop with channels_last or not, bf16 autocast, torch.compile, 1 or 2
   threads — interleaved, so a busy neighbour skews them alike.
3. Time to accuracy: `train_cnn` with the fast preset on MNIST, Fashion-MNIST and CIFAR-10
   (10,000 training images), against the goals.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from dlplay import data
from dlplay.bench.training import interleaved, load_mnist, tutorial_epoch, unpacked_mnist
from dlplay.train import fit, pick_device
from dlplay.vision import cnn

BATCH, WARMUP = 128, 1024
GOALS = {"mnist": (0.99, 30.0), "fashion_mnist": (0.92, 90.0), "cifar10": (0.70, 300.0)}


def make_model(ds, channels_last: bool = True):
    torch.manual_seed(0)
    model = cnn.build(cnn.from_preset("fast"), ds.image_shape, 10, norm=ds.pixel_stats)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def _opt(model):
    return torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=5e-4)


def dlplay_fit(ds, n: int) -> float:
    spec = cnn.from_preset("fast")
    model = make_model(ds)
    t = time.perf_counter()
    # float32 like the other two loops; bf16 is measured on its own below
    fit(model, (ds.x_train[:n], ds.y_train[:n]), None, replace(spec.train, epochs=1, schedule="constant", bf16=False))
    return n / (time.perf_counter() - t)


def tutorial_loop(ds, n: int, root: Path) -> float:
    model = make_model(ds)
    return tutorial_epoch(model, _opt(model), n, root, torch.device("cpu"))


def bare_loop(ds, n: int, channels_last: bool = True, bf16: bool = False, compile: bool = False) -> float:
    x, y = ds.x_train[:n], ds.y_train[:n]
    model = make_model(ds, channels_last)
    optimizer = _opt(model)
    step_model = torch.compile(model) if compile else model
    if compile:  # compiling is paid once per model: leave it out of the rate
        F.cross_entropy(step_model(x[:BATCH]), y[:BATCH]).backward()
    t = time.perf_counter()
    model.train()
    for idx in torch.randperm(n).split(BATCH):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(step_model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
    return n / (time.perf_counter() - t)


def with_threads(k: int, fn: Callable[[], float]) -> float:
    before = torch.get_num_threads()
    torch.set_num_threads(k)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def medians(loops: dict[str, Callable[[int], float]], n: int, repeats: int, log) -> dict[str, float]:
    return {name: statistics.median(v) for name, v in interleaved(loops, n, repeats, log, WARMUP).items()}


def run(quick: bool = False, log: Callable[[str], None] = print, goals: bool = True) -> dict:
    n, repeats = (5_000, 1) if quick else (15_000, 3)
    ds = load_mnist()
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="dlplay-bench-") as tmp:
        root = unpacked_mnist(ds, Path(tmp))
        loops = medians({"dlplay": lambda k: dlplay_fit(ds, k), "tutorial": lambda k: tutorial_loop(ds, k, root),
                         "bare": lambda k: bare_loop(ds, k)}, n, repeats, log)
    settings = medians({
        f"channels_last, {threads} threads": lambda k: bare_loop(ds, k),
        f"contiguous (NCHW), {threads} threads": lambda k: bare_loop(ds, k, channels_last=False),
        f"bf16 autocast, {threads} threads": lambda k: bare_loop(ds, k, bf16=True),
        "channels_last, 1 thread": lambda k: with_threads(1, lambda: bare_loop(ds, k)),
        f"torch.compile, {threads} threads": lambda k: bare_loop(ds, k, compile=True),
    }, n, repeats, log)
    out = {"samples": n, "repeats": repeats, "threads": threads, "device": str(pick_device()),
           "loops": loops, "settings": settings, "goals": {}}
    if goals:
        for name in ("mnist", "fashion_mnist") + (() if quick else ("cifar10",)):
            data.load(name)  # reading files is not training
            result = cnn.train_cnn(cnn.from_preset("fast", name))
            out["goals"][name] = {"test_acc": result.test_acc, "seconds": result.train_seconds,
                                  "epochs": len(result.history.rows)}
            log(f"  fast preset on {name}: {result.test_acc:.2%} test accuracy after {result.train_seconds:.1f} s "
                f"of training ({len(result.history.rows)} epochs)")
    return out


def rows(c: dict, row) -> list[dict]:
    loops, settings = c["loops"], c["settings"]
    out = [row("cnn: bare in-memory loop", loops["bare"], "samples/s", goal_text="reference"),
           row("cnn: tutorial loop (DataLoader)", loops["tutorial"], "samples/s", goal_text="reference"),
           row("cnn: dlplay fit vs bare", loops["dlplay"], "samples/s", 0.95, reference=loops["bare"], of="bare",
               goal_text="≥ 0.95× bare"),
           row("cnn: dlplay fit vs tutorial", loops["dlplay"], "samples/s", 1.0, reference=loops["tutorial"],
               of="tutorial", goal_text="faster")]
    base = next(iter(settings.values()))
    for name, value in settings.items():
        out.append(row(f"cnn bare loop: {name}", value, "samples/s", None, reference=base, goal_text=""))
        if base and value is not None:
            out[-1]["ratio"] = f"{value / base:.2f}× channels_last"
    titles = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10 (10k)"}
    for name, g in c["goals"].items():
        acc, limit = GOALS[name]
        met = g["test_acc"] >= acc and g["seconds"] <= limit
        out.append({"measurement": f"cnn: fast preset, {titles[name]} ({g['epochs']} epochs)",
                    "value": f"{g['test_acc']:.2%} in {g['seconds']:.1f} s",
                    "goal": f"≥ {acc:.0%} in ≤ {limit:g} s", "ratio": "", "met": "yes" if met else "NO"})
    return out
