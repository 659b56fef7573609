"""A playground network as a stored run, like every other page's training.

`save_run(sim, workspace)` keeps the network on screen as a finished run: its weights
(float64 tensors), its data points, its loss history as metric rows and its headline
(test loss, accuracy). `load_run(run_id, workspace)` rebuilds the state and the
`Playground` exactly — the same points, weights, epoch and history, so its outputs are
the stored network's. `train(spec, job)` trains `spec.epochs` epochs as a background job
(the sweep runs one per value), streaming a metric row per epoch.

Metric rows are {epoch, split="epoch", train_loss, val_loss, train_acc, val_acc}: `val_`
is the playground's test points, named so for the Runs page, which overlays `val_*`
solid and `train_*` dotted; accuracy (a fraction) only for classification.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..runs import specs
from ..runs.lesson import Lesson, Saved
from ..runs.lesson import Figure
from ..runs.store import DONE, get_store, stamped
from ..train import stop_pressed
from . import datasets, features
from .custom import CustomData, DataError
from .sim import Playground, loss_text
from .state import PlaygroundState

PAGE = "pg"
MAP_DENSITY = 40  # the decision map kept with a run (small multiples of a sweep)
MAP_EVERY_S = 0.5  # a running job publishes its map this often


@dataclass
class PlaygroundSpec:
    state: PlaygroundState = field(default_factory=PlaygroundState)
    epochs: int = 200
    data: dict | None = None  # CustomData.to_dict() when state.dataset == "custom"

    @property
    def custom(self) -> CustomData | None:
        return CustomData.from_dict(self.data) if self.data else None


def make_sim(spec: PlaygroundSpec) -> Playground:
    """The fresh (untrained) playground a spec describes."""
    data = spec.custom
    if data is None:
        return Playground(spec.state)
    if (why := data.training_refusal()) is not None:
        raise DataError(why)
    return Playground(spec.state, data=data.data)


# --- figures of a run ----------------------------------------------------------------------------

def n_classes(state: PlaygroundState) -> int:
    """0 regression, 2 binary, k multi-class."""
    if state.dataset == "custom":
        return int(getattr(state, "n_classes", 2))
    return datasets.n_classes(state.dataset)


def accuracies(sim: Playground) -> tuple[float | None, float | None]:
    """(train, test) accuracy as fractions; None for regression."""
    if n_classes(sim.state) == 0:
        return None, None
    return sim.accuracy("train"), sim.accuracy("test")


def metric_row(sim: Playground) -> dict:
    epoch, train, test = sim.last[:3]
    row = {"epoch": int(epoch), "split": "epoch", "train_loss": float(train), "val_loss": float(test)}
    train_acc, test_acc = accuracies(sim)
    if test_acc is not None:
        row.update(train_acc=train_acc, val_acc=test_acc)
    return row


def decision_map(sim: Playground, density: int = MAP_DENSITY) -> np.ndarray:
    """The output over the map: (d, d) for one output, (d, d, k) class probabilities."""
    return np.asarray(sim.boundary(density)["output"], float)


def headline(sim: Playground) -> str:
    if sim.error:
        return f"diverged at epoch {sim.last[0]}"
    _, test_acc = accuracies(sim)
    loss = f"test loss {loss_text(sim.test_loss)}"
    return f"{test_acc:.1%} test accuracy · {loss}" if test_acc is not None else loss


def brief(spec: PlaygroundSpec) -> str:
    """"spiral · X₁ X₂ sin(X₁) sin(X₂) · 8-8-5 tanh · lr 0.03 · 200 epochs"."""
    s = spec.state
    name = (spec.data or {}).get("name", "custom data") if s.dataset == "custom" else s.dataset
    acts = tuple(getattr(s, "layer_activations", ()) or ())
    act = "/".join(acts) if acts else s.activation
    shape = "-".join(map(str, s.network_shape)) or "no hidden layer"
    parts = [name, " ".join(features.label(k) for k in features.ordered(s.features)), f"{shape} {act}",
             f"lr {s.learning_rate:g}"]
    if s.regularization != "none" and s.regularization_rate:
        parts.append(f"{s.regularization} {s.regularization_rate:g}")
    if getattr(s, "dropout", 0):
        parts.append(f"dropout {s.dropout:g}")
    if s.noise:
        parts.append(f"noise {s.noise}%")
    return " · ".join(parts + [f"{spec.epochs:,} epochs"])


def dataset_label(spec: PlaygroundSpec) -> str:
    s = spec.state
    if spec.data:
        return f"{spec.data.get('name', 'custom data')} ({len(spec.data['labels']):,} points, yours)"
    entry = datasets.DATASETS[s.dataset]
    title, n = entry[0], entry[2]
    return f"{title} ({n:,} points, seed {s.seed}, noise {s.noise}%)"


# --- training as a job ---------------------------------------------------------------------------

def train(spec: PlaygroundSpec, job=None) -> Playground:
    """`spec.epochs` epochs, one metric row each (epoch 0 too); ends early when the loss
    diverges or the state's stop condition is met. Stop keeps the network trained so far."""
    sim = make_sim(spec)
    if job:
        job.metric(**metric_row(sim))
        job.artifact("map", decision_map(sim))
    published = time.time()
    for k in range(spec.epochs):
        if stop_pressed(job, k):
            job.stopped_at(f"stopped at epoch {sim.epoch} of {spec.epochs}")
            break
        sim.step()
        if job:
            job.metric(**metric_row(sim))
            job.set_progress((k + 1) / spec.epochs, f"epoch {sim.epoch:,} of {spec.epochs:,}")
            if time.time() - published >= MAP_EVERY_S:
                job.artifact("map", decision_map(sim))
                published = time.time()
        if sim.error or getattr(sim, "stopped", None):
            if job:
                job.log(sim.error or sim.stopped)
            break
    if job:
        job.artifact("map", decision_map(sim))
    return sim


def save(sim: Playground) -> Saved:
    import torch

    net = sim.net
    tensors = {}
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        tensors[f"w{i}"] = torch.from_numpy(np.array(w, np.float64))
        tensors[f"b{i}"] = torch.from_numpy(np.array(b, np.float64))
    history = np.array([h[:3] for h in sim.history], float).reshape(-1, 3)
    arrays = {"train_pts": sim.train_pts, "train_y": sim.train_y, "test_pts": sim.test_pts, "test_y": sim.test_y,
              "history": history, "map": decision_map(sim)}
    train_acc, test_acc = accuracies(sim)
    summary = {"epoch": int(sim.epoch), "train_loss": sim.train_loss, "test_loss": sim.test_loss,
               "train_acc": train_acc, "test_acc": test_acc, "error": sim.error, "blowup": getattr(sim, "blowup", None),
               "stopped": getattr(sim, "stopped", None), "n_params": net.n_params(), "shape": net.shape,
               "n_classes": n_classes(sim.state), "map_density": MAP_DENSITY}
    return Saved(tensors=tensors, arrays=arrays, summary=summary, headline=headline(sim))


def load(spec: PlaygroundSpec, saved: Saved) -> Playground:
    """The stored network on its data, exactly: weights, epoch, history."""
    sim = make_sim(spec)
    net = sim.net
    n = len(net.weights)
    if any(f"w{i}" not in saved.tensors for i in range(n)) or f"w{n}" in saved.tensors:
        raise ValueError("the stored weights do not fit the spec's network")
    net.weights = [saved.tensors[f"w{i}"].double().numpy().copy() for i in range(n)]
    net.biases = [saved.tensors[f"b{i}"].double().numpy().copy() for i in range(n)]
    s, a = saved.summary, saved.arrays
    sim.epoch = int(s.get("epoch", 0))
    if "history" in a:
        sim.history = [(int(e), float(tr), float(te)) for e, tr, te in a["history"]]
    if s.get("error"):
        sim.error = s["error"]
        sim.blowup = tuple(s["blowup"]) if s.get("blowup") else None
    return sim


def work(spec: PlaygroundSpec):
    from ..limits import Work

    if spec.data:
        n = len(spec.data["labels"])
    else:
        n = datasets.DATASETS[spec.state.dataset][2]
    return Work(spec.epochs, "epoch", max(1, n * spec.state.perc_train // 100), "training points")


def script(spec: PlaygroundSpec, run) -> str:
    from ..runs.record import result_of
    from .export import torch_source

    return torch_source(result_of(run))


LESSON = Lesson(page=PAGE, figure=Figure("test_acc", "test accuracy", percent=True),
                spec_type=PlaygroundSpec, train=train, save=save, load=load, brief=brief, script=script,
                curves=("loss", "acc"), work=work, data=lambda spec: (dataset_label(spec), _data_id(spec)))


# --- the page's Save / Open ----------------------------------------------------------------------

def save_run(sim: Playground, workspace: str, data: CustomData | None = None) -> int:
    """Store the network on screen as a finished run; returns its id. `data`: the
    custom points it trained on (needed when `sim.state.dataset == "custom"`)."""
    if sim.state.dataset == "custom" and data is None:
        raise ValueError("a network trained on custom data is saved with that data (data=CustomData)")
    spec = PlaygroundSpec(sim.state, int(sim.epoch), data.to_dict() if data is not None else None)
    store = get_store()
    now = time.time()
    run = store.create(workspace=workspace, page=PAGE, title=LESSON.title, spec=specs.to_dict(spec),
                       settings={"saved_from": "playground", "query": sim.state.to_query()},
                       dataset=dataset_label(spec), data_id=_data_id(spec), brief=brief(spec))
    rows = []
    for epoch, train_loss, test_loss in (h[:3] for h in sim.history):
        rows.append({"epoch": int(epoch), "split": "epoch", "train_loss": train_loss, "val_loss": test_loss})
    if rows and (acc := accuracies(sim))[1] is not None:
        rows[-1].update(train_acc=acc[0], val_acc=acc[1])
    store.add_metrics(run.id, list(enumerate(rows)), heartbeat=False)
    saved = save(sim)
    store.save_model(run.id, saved.tensors, saved.arrays, {"page": PAGE, "run": run.id})
    store.update(run.id, state=DONE, status="saved from the playground", started=now, finished=now,
                 summary=stamped(saved.summary), headline=saved.headline)
    return run.id


def load_run(run_id: int, workspace: str) -> tuple[PlaygroundState, Playground]:
    """The state and the playground of a stored run, as they were saved (or trained)."""
    store = get_store()
    run = store.get(int(run_id), workspace)
    if run is None or run.page != PAGE:
        raise KeyError(f"no playground run {run_id} in this workspace")
    if not run.has_model:
        raise ValueError(f"run {run_id} has no stored network ({run.state}: {run.status})")
    spec = specs.from_dict(PlaygroundSpec, run.spec)
    saved = Saved(store.load_model(run.id), store.load_arrays(run.id), run.summary, run.headline)
    sim = load(spec, saved)
    return sim.state, sim


def spec_for(state: PlaygroundState, epochs: int, data: CustomData | None = None) -> PlaygroundSpec:
    return PlaygroundSpec(replace(state), int(epochs), data.to_dict() if data is not None else None)


def _data_id(spec: PlaygroundSpec) -> dict:
    s = spec.state
    if spec.data:
        return {"name": spec.data.get("name", "custom data"), "kind": "custom", "n": len(spec.data["labels"])}
    return {"name": s.dataset, "kind": "generated", "seed": s.seed, "noise": s.noise}
