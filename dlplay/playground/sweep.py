"""One setting, several values, one run each: what changes when only that changes.

`values(setting, lo, hi, n)` picks `n` values of a setting between `lo` and `hi` from
the values its control offers (the state snaps anything else onto them, so a run would
not have trained with the value it is labelled with): the learning-rate and
regularisation-rate menus, 1–8 neurons, noise 0–50 % in steps of 5. `start(...)` trains
each as its own job through the run store (so they queue, show on the Runs page, can be
stopped and reopened), and `results(run_ids)` collects, per run, its value, state, test
loss, accuracy and final decision map — the small multiples of a sweep.

Width sets every hidden layer to that many neurons (one layer if there was none). A
regularisation-rate sweep with regularisation "none" uses L2, or every value would
train the same network.
"""
from __future__ import annotations

import uuid

import numpy as np

from ..runs import record
from ..runs.store import get_store
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


def work(state: PlaygroundState, vals, epochs: int, data: CustomData | None = None):
    """How much the whole sweep trains (one Work for the shared server's check)."""
    one = lesson.work(lesson.spec_for(state, epochs, data))
    return type(one)(one.count, one.noun, one.size, one.size_noun, times=len(list(vals)))


def start(state: PlaygroundState, setting: str, vals, epochs: int, workspace: str, session_id: str,
          data: CustomData | None = None) -> list[int]:
    """Start one run per value (they queue for free workers); returns the run ids in value order."""
    sweep_id = uuid.uuid4().hex[:8]
    vals = list(vals)
    ids = []
    for i, v in enumerate(vals):
        spec = lesson.spec_for(apply(state, setting, v), epochs, data)
        settings = {"sweep": sweep_id, "setting": setting, "value": v, "index": i, "of": len(vals)}
        run, _ = record.start(lesson.LESSON, spec, workspace=workspace, session_id=session_id, settings=settings)
        get_store().update(run.id, dataset=lesson.dataset_label(spec), data_id=lesson._data_id(spec))
        ids.append(run.id)
    return ids


def jobs(run_ids) -> list:
    """The live jobs of the runs (None for those this process no longer has)."""
    return [record.RECORDER.job(i) for i in run_ids]


def stop(run_ids) -> None:
    for job in jobs(run_ids):
        if job is not None and job.is_active:
            job.cancel()


def finished(run_ids) -> bool:
    """Whether every run has ended (done, stopped, failed or cancelled)."""
    store = get_store()
    return all((r := store.get(i)) is not None and not r.is_active for i in run_ids)


def wait(run_ids, timeout: float | None = None) -> bool:
    """Block until every run's job has ended (and its end is recorded); False on timeout."""
    import time

    deadline = None if timeout is None else time.time() + timeout
    for job in jobs(run_ids):
        if job is not None and not job.wait(None if deadline is None else max(0.0, deadline - time.time())):
            return False
    while not finished(run_ids):  # the store hears of the end just after the job's own flag
        if deadline is not None and time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


def results(run_ids) -> list[dict]:
    """Per run, in the order given: {run, setting, value, state, status, epoch, test_loss,
    train_loss, accuracy (test, None for regression), map ((d, d) or (d, d, k); None until
    the first one), headline, error (why it diverged, None if it did not; test_loss is then the
    huge loss it reached, None if not finite)}. A running
    job's figures are its latest."""
    store = get_store()
    out = []
    for run_id in run_ids:
        run = store.get(run_id)
        if run is None:
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
