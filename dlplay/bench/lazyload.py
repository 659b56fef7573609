"""Benchmark: reading an image folder lazily against holding it all in memory.

Each way runs in a fresh Python process (`python -m dlplay.bench.lazyload --child …`), so
neither inherits the other's memory, and the two alternate in one run so a busy neighbour
slows both alike. A child lists the folder, builds its dataset and reads every training
file once without workers — peak memory is the process's peak resident size (VmHWM, reset
just before the dataset is built; `getrusage` ru_maxrss where it can't be reset) minus its
size at that moment — then reads the files again through a DataLoader with workers, and
trains the lesson's CNN on them, for the throughput (the in-memory way needs no workers).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rss_mb() -> float:
    """This process's resident size now (MB), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def reset_peak() -> bool:
    """Start the peak over from now (Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM), so what
    importing torch or listing the folder took before the dataset is built doesn't count."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb(since_reset: bool) -> float:
    """The peak resident size (MB): VmHWM since the reset, else getrusage's lifetime ru_maxrss."""
    if since_reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def child(spec_json: str, mode: str, workers: int, train_images: int = 2560) -> dict:
    """One way of reading, measured in this (fresh) process."""
    import torch  # noqa: F401 - loaded before the baseline is taken, so its own memory is not counted

    from dlplay.runs import specs
    from dlplay.vision import lazyfiles
    from dlplay.vision.regression import RegressionSpec, source, splits

    spec = specs.from_dict(RegressionSpec, json.loads(spec_json))
    train, _, _ = splits(spec, source(spec))
    before = rss_mb()
    reset = reset_peak()
    t0 = time.perf_counter()
    ds = lazyfiles.InMemory(train) if mode == "memory" else train
    build_s = time.perf_counter() - t0
    once = lazyfiles.measure(lazyfiles.loader(ds, 128, shuffle=True))  # every file (or image) once, no workers
    peak = peak_mb(reset)
    w = 0 if mode == "memory" else workers
    fast = lazyfiles.measure(lazyfiles.loader(ds, 128, shuffle=True, workers=w, prefetch=spec.prefetch))
    return {"mode": mode, "images": len(train), "build_s": build_s, "first_batch_s": build_s + fast["first_batch_s"],
            "images_per_s": fast["images_per_s"], "images_per_s_no_workers": once["images_per_s"],
            "training_images_per_s": training_speed(ds, w, spec, train_images), "peak_mb": max(0.0, peak - before),
            "peak_rss_mb": peak, "held_mb": ds.held_bytes() / 1e6, "workers": w}


def training_speed(ds, workers: int, spec, images: int = 2560) -> float:
    """Images per second of the lesson's CNN training on `ds` (data loading included)."""
    import torch
    import torch.nn.functional as F

    from dlplay.vision import lazyfiles
    from dlplay.vision.regression import Regressor

    model = Regressor((ds[0][0].shape[0], *ds[0][0].shape[1:]), 0.0, 10.0)
    opt = torch.optim.AdamW(model.parameters(), 3e-3)

    def step(b):
        loss = F.l1_loss(model(b.x), b.y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    dl = lazyfiles.loader(ds, 128, shuffle=True, workers=workers, prefetch=spec.prefetch)
    return lazyfiles.measure(dl, limit=images, on_batch=step)["images_per_s"]


def measure_once(spec, mode: str, workers: int, train_images: int = 2560) -> dict:
    from dlplay.runs import specs

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "dlplay.bench.lazyload", "--child", mode, "--workers", str(workers),
                          "--train-images", str(train_images), "--spec", json.dumps(specs.to_dict(spec))], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"measuring {mode} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def side_by_side(spec, workers: int = 2, repeats: int = 1, train_images: int = 2560) -> dict:
    """Lazy and in-memory, alternating, `repeats` times each; medians, their ratios, and a note."""
    from dlplay.vision.regression import source

    spec = replace(spec, in_memory=False)
    source(spec)  # the digit folder is written here, once, not inside a measured process
    got: dict[str, list[dict]] = {"lazy": [], "memory": []}
    for _ in range(repeats):
        for mode in ("lazy", "memory"):
            got[mode].append(measure_once(spec, mode, workers, train_images))
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("images_per_s", "images_per_s_no_workers",
                                                                  "training_images_per_s", "first_batch_s",
                                                                  "peak_mb", "peak_rss_mb", "held_mb")}
           for m, rs in got.items()}
    lazy, mem = med["lazy"], med["memory"]
    rows = [{"way": way, "training images/s": round(m["training_images_per_s"]),
             "reading images/s": round(m["images_per_s"]), "seconds to first batch": round(m["first_batch_s"], 2),
             "peak memory growth (MB)": round(m["peak_mb"], 1), "dataset holds (MB)": round(m["held_mb"], 2)}
            for way, m in ((f"lazy ({workers} workers)", lazy), ("in memory", mem))]
    n = got["lazy"][0]["images"]
    note = (f"{n:,} training images, each way in a fresh process ({repeats} time{'s' if repeats > 1 else ''}, "
            f"median). Training: lazy {ratio(lazy, mem, 'training_images_per_s')}× the in-memory images/s; "
            f"reading alone: {ratio(lazy, mem, 'images_per_s')}×; peak memory: lazy "
            f"{ratio(lazy, mem, 'peak_mb')}× in-memory (the process's peak resident size while building and "
            "reading the dataset, above its size just before; each of the lazy workers adds only the file list and its read-ahead batches).")
    return {"rows": rows, "note": note, "median": med, "images": n, "workers": workers, "repeats": repeats}


def ratio(a: dict, b: dict, key: str) -> str:
    return f"{a[key] / max(b[key], 1e-9):.3g}"


def run(quick: bool = False) -> dict:
    from dlplay.vision.regression import RegressionSpec

    spec = RegressionSpec(n_train=4000 if quick else 0)
    return side_by_side(spec, workers=2, repeats=1 if quick else 3)


def rows(r: dict, row) -> list[dict]:
    lazy, mem = r["median"]["lazy"], r["median"]["memory"]
    return [
        row(f"lazyload: training, lazy, {r['workers']} workers ({r['images']:,} files)", lazy["training_images_per_s"],
            "samples/s", goal_text="reference"),
        row("lazyload: training, in memory", mem["training_images_per_s"], "samples/s", goal_text="reference"),
        row("lazyload: lazy ÷ in-memory training throughput",
            lazy["training_images_per_s"] / max(mem["training_images_per_s"], 1e-9), "×", goal_text="(side by side)"),
        row("lazyload: reading only, lazy", lazy["images_per_s"], "samples/s", goal_text="reference"),
        row("lazyload: reading only, in memory", mem["images_per_s"], "samples/s", goal_text="reference"),
        row("lazyload: seconds to first batch, lazy", lazy["first_batch_s"], "s", goal_text="reference"),
        row("lazyload: seconds to first batch, in memory", mem["first_batch_s"], "s", goal_text="reference"),
        row("lazyload: peak memory, lazy", lazy["peak_mb"], "MB", goal_text="(fresh process)"),
        row("lazyload: peak memory, in memory", mem["peak_mb"], "MB", goal_text="(fresh process)"),
        row("lazyload: lazy ÷ in-memory peak memory", lazy["peak_mb"] / max(mem["peak_mb"], 1e-9), "×",
            goal_text="(side by side)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("lazy", "memory"), required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=2560)
    parser.add_argument("--spec", required=True)
    args = parser.parse_args()
    print(json.dumps(child(args.spec, args.child, args.workers, args.train_images)))


if __name__ == "__main__":
    main()
