"""A run as TensorBoard event files (`torch.utils.tensorboard`), so a learner can open any
run in TensorBoard: `tensorboard --logdir <unzipped folder>`.

What goes in: every numeric metric of every stored row as a scalar (tag "<split>/<metric>",
e.g. "train/loss" per logged step and "epoch/val_acc" per epoch, at the row's step), the
trained model's weights as histograms, the spec's settings and the run's final figures as
HParams (so several runs' logdirs compare side by side there), and the spec as text.
"""
from __future__ import annotations

import io
import json
import math
import tempfile
import zipfile
from pathlib import Path

from .specs import flatten
from .store import Run, RunStore, get_store

SKIP = {"step", "epoch", "split"}


def _flat(d: dict) -> dict:
    """A nested spec as "train.lr"-style keys, keeping what HParams can show (numbers, text, booleans)."""
    return {k: json.dumps(v) if isinstance(v, (list, tuple)) else v  # widths (256, 128) as one value
            for k, v in flatten(d).items() if isinstance(v, (bool, int, float, str, list, tuple))}


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def write(run: Run, folder: Path, store: RunStore | None = None) -> Path:
    """The run's event files in `folder/<run stem>/`; returns that directory."""
    from torch.utils.tensorboard import SummaryWriter

    from .export import file_stem

    store = store or get_store()
    logdir = Path(folder) / file_stem(run)
    writer = SummaryWriter(log_dir=str(logdir), flush_secs=3600)
    rows = store.metrics(run.id)
    last = 0
    for i, row in enumerate(rows):
        step = int(row["step"]) if _number(row.get("step")) is not None else i
        last = max(last, step)
        for key, value in row.items():
            if key not in SKIP and (v := _number(value)) is not None:
                writer.add_scalar(f"{row.get('split', 'train')}/{key}", v, step)
    if run.has_model:
        for name, t in store.load_model(run.id).items():
            if t.is_floating_point() and t.numel() > 1:
                writer.add_histogram(f"weights/{name}", t.detach().float(), last)
    writer.add_text("spec", "```\n" + json.dumps(run.spec, indent=2) + "\n```")
    finals = {f"final/{k}": v for k, v in (run.summary or {}).items() if _number(v) is not None}
    writer.add_hparams(_flat(run.spec or {}), finals or {"final/none": 0.0}, run_name="hparams")
    writer.close()
    return logdir


def zip_bytes(run: Run, store: RunStore | None = None) -> bytes:
    """The event files as a zip: unzip and run `tensorboard --logdir .` in that folder."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        logdir = write(run, Path(tmp), store)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(logdir.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(tmp).as_posix())
    return buffer.getvalue()


__all__ = ["write", "zip_bytes"]
