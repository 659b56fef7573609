"""One setting, several values, one run each: what changes when only that changes.

`values(setting, lo, hi, n)` picks `n` values of a setting between `lo` and `hi` from
the values its control offers (the state snaps anything else onto them, so a run would
not have trained with the value it is labelled with): the learning-rate and
regularisation-rate menus, 1–8 neurons, noise 0–50 % in steps of 5. `start(...)` trains
each as its own run, one after another, as one unit of work started through `dlplay.work`
(so the shared server's limits count the whole sweep; its runs show on the Runs page, can
be stopped and reopened), and `results(sweep)` collects, per value, its run, state, test
loss, accuracy and final decision map — the small multiples of a sweep.

Width sets every hidden layer to that many neurons (one layer if there was none). A
regularisation-rate sweep with regularisation "none" uses L2, or every value would
train the same network.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np

from ..runs import record
from ..runs.sequence import Sequence
from ..runs.store import get_store
from ..work import Visitor, start_runs
from . import lesson
from .custom import CustomData
from .state import LEARNING_RATES, MAX_NEURONS, REG_RATES, PlaygroundState

# setting -> (label, the values its control offers)
SETTINGS: dict[str, tuple[str, tuple]] = {
    "learning_rate": ("Learning rate", LEARNING_RATES),
    "width": ("Neurons per hidden layer", tuple(range(1, MAX_NEURONS + 1))),
    "regularization_rate": ("Regularization rate", REG_RATES),
    "noise": ("Noise (%)", tuple(range(0, 55, 5))),
}


def label(setting: str) -> str:
    return SETTINGS[setting][0]


def options(setting: str) -> tuple:
    return SETTINGS[setting][1]


def values(setting: str, lo: float, hi: float, n: int) -> list:
    """`n` of the setting's values from `lo` to `hi` (both ends included), evenly spread over
    the menu (so a learning rate goes up by about the same factor each time); fewer when the
    range holds fewer."""
    if setting not in SETTINGS:
        raise KeyError(f"unknown sweep setting {setting!r}; one of {', '.join(SETTINGS)}")
    lo, hi = min(lo, hi), max(lo, hi)
    inside = [v for v in options(setting) if lo - 1e-12 <= v <= hi + 1e-12]
    if not inside:  # a range between two menu values: the nearest one
        mid = (lo + hi) / 2
        inside = [min(options(setting), key=lambda v: abs(v - mid))]
    n = max(1, int(n))
    if n >= len(inside):
        return list(inside)
    picks = np.unique(np.round(np.linspace(0, len(inside) - 1, n)).astype(int))
    return [inside[i] for i in picks]


def apply(state: PlaygroundState, setting: str, value) -> PlaygroundState:
    """`state` with the setting at `value`."""
    if setting == "learning_rate":
        return state.replace(learning_rate=float(value))
    if setting == "regularization_rate":
        reg = state.regularization if state.regularization != "none" else "L2"
        return state.replace(regularization=reg, regularization_rate=float(value))
    if setting == "noise":
        return state.replace(noise=int(value))
    if setting == "width":
        layers = max(1, len(state.network_shape))
        return state.replace(network_shape=(int(value),) * layers)
    raise KeyError(f"unknown sweep setting {setting!r}")


@dataclass
class Sweep:
    """A started sweep: the setting, its values in order, and the runs training them."""

    setting: str
    values: list
    epochs: int
    seq: Sequence

    @property
    def run_ids(self) -> list[int]:
        return list(self.seq.run_ids)


def start(visitor: Visitor, state: PlaygroundState, setting: str, vals, epochs: int,
          data: CustomData | None = None, replacing=None) -> Sweep:
    """Train one run per value, one after another, as one unit of work (`dlplay.work`: the
    limits count the whole sweep, and its runs share the time cap). Raises `work.Refused`."""
    sweep_id, vals = uuid.uuid4().hex[:8], list(vals)
    specs = [lesson.spec_for(apply(state, setting, v), epochs, data) for v in vals]
    seq = start_runs(visitor, lesson.LESSON, specs, replacing=replacing, settings=lambda i, todo: {
        "sweep": sweep_id, "setting": setting, "value": vals[i], "index": i, "of": len(vals)})
    return Sweep(setting, vals, int(epochs), seq)


def stop(sweep: Sweep) -> None:
    sweep.seq.stop()


def finished(sweep: Sweep) -> bool:
    """Whether the sweep has ended, and the store has heard of each of its runs' ends."""
    store = get_store()
    return not sweep.seq.is_active and all((r := store.get(i)) is not None and not r.is_active
                                           for i in sweep.run_ids)


def wait(sweep: Sweep, timeout: float = 600) -> bool:
    """Block until every run has ended (and its end is recorded); False on timeout."""
    deadline = time.time() + timeout
    sweep.seq.wait(timeout)
    while not finished(sweep):  # the store hears of the end just after the job's own flag
        if time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


def results(sweep: Sweep) -> list[dict]:
    """Per value, in the sweep's order: {run, setting, value, state, status, epoch, test_loss,
    train_loss, accuracy (test, None for regression), map ((d, d) or (d, d, k); None until
    the first one), headline, error (why it diverged, None if it did not; test_loss is then the
    huge loss it reached, None if not finite)}. A running job's figures are its latest; a
    value whose run has not started yet is "queued", without figures."""
    store = get_store()
    out = []
    ids = sweep.run_ids
    for i, value in enumerate(sweep.values):
        run = store.get(ids[i]) if i < len(ids) else None
        if run is None:
            if i >= len(ids) and sweep.seq.is_active:  # its turn comes when the runs before it have ended
                out.append({"run": None, "setting": sweep.setting, "value": value, "state": "queued",
                            "status": "waiting", "headline": "", "epoch": None, "test_loss": None,
                            "train_loss": None, "accuracy": None, "map": None, "error": None})
            continue
        row = {"run": run.id, "setting": run.settings.get("setting"), "value": run.settings.get("value"),
               "state": run.state, "status": run.status, "headline": run.headline, "epoch": None,
               "test_loss": None, "train_loss": None, "accuracy": None, "map": None, "error": None}
        if run.has_model and run.summary:  # (the summary is written just after the model)
            s = run.summary
            row.update(epoch=s.get("epoch"), test_loss=s.get("test_loss"), train_loss=s.get("train_loss"),
                       accuracy=s.get("test_acc"), map=store.load_arrays(run.id).get("map"), error=s.get("error"))
        else:
            job = record.RECORDER.job(run.id)
            if job is not None:
                metrics = job.metrics()
                last = metrics[-1] if metrics else {}
                row.update(epoch=last.get("epoch"), test_loss=last.get("val_loss"), train_loss=last.get("train_loss"),
                           accuracy=last.get("val_acc"), map=job.latest("map"))
        out.append(row)
    return out
