"""The transfer-learning lesson: how much a pretrained body saves when labels are few.

A *target* task with only k labelled images per class (k from the budgets chosen), three
strategies on the same images and the same architecture:

- **from scratch**: random weights everywhere;
- **frozen body + new head**: the pretrained body only computes features (once: they are
  cached, so the head trains in seconds even on a CPU) and a new linear head learns on them;
- **fine-tune everything**: start from the pretrained body, train all of it — the body with a
  lower learning rate than the new head (two parameter groups), so what it knows is adjusted,
  not overwritten.

Each strategy is one run that trains a fresh model at every budget and reports its test
accuracy per budget: the chart "test accuracy against labels per class" has one line per
run. (One run per strategy × budget would put nine runs on the Runs page for one comparison,
and a line of the chart would be no run's own; a stopped run here keeps the budgets it
finished.) The runs train one after another (`dlplay.runs.sequence.Sequence`). Training is counted in *steps*, not epochs: at 25 labels per class an epoch is two
batches, so equal epochs would give the small budget a hundred times fewer updates.

The body (dlplay.vision.pretrained) is ImageNet's ResNet18/MobileNetV2, or dlplay's own CNN
pretrained on the dataset's *other* five classes (the source task). Caltech 101 (the user's
folder, dlplay.vision.caltech) is a target task of its own 101 classes: there is no source task
for an own body there, so it takes an ImageNet body.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import data
from ..visible import where
from ..jobs import Cancelled, Job, Part
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..train import Loop, Optimizers, TrainConfig, classify_step, evaluate, index_batches
from . import caltech, pretrained
from .pretrained import Net

STRATEGIES = {"scratch": "from scratch", "frozen": "frozen body + new head", "finetune": "fine-tune everything"}
BODIES = {"own": "dlplay's own body (pretrained on the source classes)", "resnet18": "ResNet18 (ImageNet)",
          "mobilenet_v2": "MobileNetV2 (ImageNet)"}
BUDGETS = (10, 25, 50, 100, 250, 500)
CALTECH_BUDGETS = (5, 10, 15, 20, 30)  # its smallest class has 31 images


@dataclass(frozen=True)
class Task:
    dataset: str
    source: tuple[int, ...]  # classes the own body is pretrained on
    target: tuple[int, ...]  # classes of the few-label task


TASKS = {"cifar10": Task("cifar10", (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)),
         "fashion_mnist": Task("fashion_mnist", (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)),
         "caltech101": Task("caltech101", (), ())}  # all its classes; no source task


@dataclass
class TransferSpec:
    task: str = "cifar10"
    body: str = "own"  # "own" | "resnet18" | "mobilenet_v2"
    strategy: str = "finetune"
    budgets: tuple[int, ...] = (25, 100, 500)  # labelled training images per class
    steps: int = 150  # training steps at every budget
    batch_size: int = 64
    lr: float = 2e-3  # the head's (and, from scratch, every layer's)
    body_lr_factor: float = 0.1  # fine-tuning: the body learns at lr × this
    image_size: int = 64  # ImageNet bodies: images resized to this
    n_test: int = 2000  # test images of the target classes (a fixed random subset)
    seed: int = 0


def title(spec: TransferSpec) -> str:
    return STRATEGIES.get(spec.strategy, spec.strategy)


def check(spec: TransferSpec) -> str | None:
    """A clear message for settings that can't train; None if fine."""
    if spec.task not in TASKS:
        return f"Unknown target task {spec.task!r}; choose from {', '.join(TASKS)}."
    if spec.body not in BODIES:
        return f"Unknown body {spec.body!r}; choose from {', '.join(BODIES)}."
    if spec.strategy not in STRATEGIES:
        return f"Unknown strategy {spec.strategy!r}; choose from {', '.join(STRATEGIES)}."
    if spec.task == "caltech101" and caltech.find_folder() is None:
        return caltech.missing_message()
    if spec.task == "caltech101" and spec.body not in pretrained.IMAGENET:
        return (f"{caltech.TITLE} needs an ImageNet body (MobileNetV2 or ResNet18): dlplay's own body is pretrained "
                "on five classes of the same dataset, and Caltech 101 has no such source task.")
    if not spec.budgets:
        return "Choose at least one label budget (labelled images per class)."
    if any(k < 1 for k in spec.budgets):
        return "A label budget must be at least 1 image per class."
    if spec.steps < 1 or spec.batch_size < 1:
        return "Steps and batch size must be at least 1."
    if not (0 < spec.lr <= 1 and 0 <= spec.body_lr_factor <= 10):
        return "The learning rate must be in (0, 1] and the body's factor in [0, 10]."
    return None


class InvalidSpec(ValueError):
    pass


# --- the target task's images ----------------------------------------------------------------------

@dataclass
class Target:
    x: torch.Tensor  # the labelled pool: every budget takes its first k per class from here
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    title: str
    key: tuple = ()  # what else the images depend on (Caltech 101: the folder's file listing)
    note: str = ""  # image files skipped, by name
    source: data.Source | None = None


def target_data(spec: TransferSpec) -> Target:
    """The target classes' images, relabelled 0–4: a labelled pool ordered so that the first k
    images of each class are the k-per-class budget (budgets are nested: 25 ⊂ 100 ⊂ 500), and a
    fixed random subset of the test images."""
    if spec.task == "caltech101":
        return caltech_target(spec)
    task = TASKS[spec.task]
    ds = data.load(task.dataset)
    x, y = pretrained.subset(ds.x_train, ds.y_train, task.target)
    xt, yt = pretrained.subset(ds.x_test, ds.y_test, task.target)
    gen = torch.Generator().manual_seed(spec.seed)
    most = max(spec.budgets)
    counts = torch.bincount(y, minlength=len(task.target))
    if most > int(counts.min()):
        raise InvalidSpec(f"{ds.title} has only {int(counts.min()):,} training images in its smallest target "
                          f"class: choose budgets of at most {int(counts.min()):,} per class.")
    order = torch.randperm(len(y), generator=gen)
    per_class = [order[y[order] == c][:most] for c in range(len(task.target))]
    # Interleaved by rank: image r of every class before image r + 1 of any.
    pool = torch.stack(per_class, 1).flatten()
    test = torch.randperm(len(yt), generator=gen)[:spec.n_test] if spec.n_test else torch.arange(len(yt))
    return Target(x[pool], y[pool], xt[test], yt[test], [ds.classes[c] for c in task.target], ds.title)


def caltech_target(spec: TransferSpec) -> Target:
    """Caltech 101 has no test split: each class's images in a seeded random order, the first k
    the budget, the test images a fixed random subset of those past the first HELD (30, or the
    largest budget if more) of every class."""
    cal = caltech.load(spec.image_size)
    key = (cal.key, spec.image_size, max(spec.budgets), spec.seed, spec.n_test)
    with _caltech_lock:
        if key not in _caltech_targets:
            _caltech_targets.clear()  # one split kept: the page and its runs share its tensors (read-only)
            _caltech_targets[key] = _split_caltech(cal, spec)
        return _caltech_targets[key]


_caltech_targets: dict[tuple, Target] = {}
_caltech_lock = threading.Lock()


def _split_caltech(cal: caltech.Caltech, spec: TransferSpec) -> Target:
    counts = torch.bincount(cal.y, minlength=len(cal.classes))
    smallest = int(counts.min())
    most = max(spec.budgets)
    if most > smallest - 1:  # at least one image of every class left to test on
        raise InvalidSpec(f"{caltech.TITLE}'s smallest class ({cal.classes[int(counts.argmin())]}) has only "
                          f"{smallest} images: choose budgets of at most {smallest - 1} per class (one at least is "
                          "kept for testing).")
    held = max(most, min(caltech.HELD, smallest - 1))
    gen = torch.Generator().manual_seed(spec.seed)
    order = torch.randperm(len(cal.y), generator=gen)
    per_class = [order[cal.y[order] == c] for c in range(len(cal.classes))]
    pool = torch.stack([p[:most] for p in per_class], 1).flatten()  # interleaved by rank, as above
    rest = torch.cat([p[held:] for p in per_class])
    test = rest[torch.randperm(len(rest), generator=gen)[:spec.n_test]] if spec.n_test else rest
    source = data.Source("data_dir", str(cal.folder), f"photos of 101 object categories collected at Caltech "
                                                      f"(Fei-Fei, Fergus & Perona, 2004), from {caltech.URL}")
    return Target(cal.x[pool].float() / 255, cal.y[pool], cal.x[test].float() / 255, cal.y[test], cal.classes,
                  caltech.TITLE, cal.key, cal.note(), source)


def target_dataset(spec: TransferSpec) -> data.ImageData:
    """Caltech 101 as the page and the run store describe a dataset: the labelled pool as the
    training images, the test subset as the test images."""
    t = caltech_target(spec)
    return data.ImageData("caltech101", t.title, t.x, t.y, t.x_test, t.y_test, t.classes, t.source,
                          {"problems": [t.note] if t.note else []})


def budget_slice(target: Target, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = k * len(target.classes)
    return target.x[:n], target.y[:n]


# --- the network each strategy starts from --------------------------------------------------------------

@dataclass
class Body:
    """The pretrained network a run starts from, and where it came from (in words)."""

    net: Net
    key: str  # identifies its weights (frozen features are cached per key)
    note: str  # "ImageNet weights (ResNet18), from …" / "dlplay's own body, pretrained on …"
    pretrain_seconds: float = 0.0


def body_for(spec: TransferSpec, job: Job | None = None, n_classes: int = 5) -> Body:
    """The pretrained body the spec names: ImageNet weights must already be in the cache
    (the page downloads them before the run starts); the own body is pretrained now if it
    isn't cached yet."""
    if spec.body in pretrained.IMAGENET:
        info = pretrained.IMAGENET[spec.body]
        path = pretrained.cached_weights(spec.body)
        if path is None:
            raise pretrained.WeightsUnavailable(f"{info.title}'s ImageNet weights are not in the cache "
                                                f"({where(pretrained.weights_dir())}).")
        net = pretrained.imagenet_net(spec.body, n_classes, spec.image_size, path)
        return Body(net, f"{info.filename}@{spec.image_size}",
                    f"ImageNet weights ({info.title}, torchvision's {info.filename}), cached at {where(path)}; images "
                    f"resized to {spec.image_size}×{spec.image_size} and normalised with ImageNet's mean and std")
    task = TASKS[spec.task]
    own = pretrained.own_body(task.dataset, task.source, job)
    ds = data.load(task.dataset)
    names = ", ".join(ds.classes[c] for c in task.source)
    made = "pretrained in this run" if own.made_now else "read from the cache"
    note = (f"dlplay's own body, pretrained on {ds.title} classes {task.source[0]}–{task.source[-1]} ({names}; "
            f"{own.source_acc:.1%} test accuracy there) in {own.seconds:.0f} s, {made}: {where(own.path)}")
    net = Net(own.net.body, nn.Linear(own.net.head.in_features, n_classes))
    return Body(net, f"{own.path}@{own.path.stat().st_mtime_ns}", note, own.seconds if own.made_now else 0.0)


def fresh_like(spec: TransferSpec, target_shape, n_classes: int) -> Net:
    """The same architecture with random weights (from scratch)."""
    if spec.body in pretrained.IMAGENET:
        return pretrained.imagenet_net(spec.body, n_classes, spec.image_size)
    ds = data.load(TASKS[spec.task].dataset)
    return pretrained.own_net(tuple(target_shape), n_classes, ds.pixel_stats)


def body_status(body: str, task: str) -> tuple[str, str]:
    """Before a run: (the body a run would use now, where it comes from in words). An ImageNet
    body that is neither cached nor downloadable — downloads off (DLPLAY_OFFLINE), or a download
    that failed a moment ago (`pretrained.download_failure`) — falls back to dlplay's own, and
    says why, once: a run then trains the own body, and the page compares it with that."""
    t = TASKS[task]
    fallback = ""
    if task == "caltech101" and body not in pretrained.IMAGENET:
        return "", check(TransferSpec(task=task, body=body))
    if body in pretrained.IMAGENET:
        info = pretrained.IMAGENET[body]
        if (path := pretrained.cached_weights(body)) is not None:
            return body, f"ImageNet weights ({info.title}, torchvision's {info.filename}), cached at {where(path)}."
        failed = pretrained.download_failure(body) if data.downloads_allowed() else None
        if data.downloads_allowed() and failed is None:
            return body, (f"ImageNet weights ({info.title}): downloaded from {info.url()} to "
                          f"{where(pretrained.weights_dir() / info.filename)} ({info.megabytes:.0f} MB) when you press "
                          "Train, then cached.")
        put = (f"{info.filename} is neither in dlplay's cache ({where(pretrained.weights_dir())}) nor in torch hub's "
               f"checkpoints folder ({where(pretrained.hub_dir())})")
        if failed:
            why = (f"{info.title}'s ImageNet weights cannot be fetched: {failed} dlplay tries the download again in "
                   f"{pretrained.RETRY_AFTER_S / 60:.0f} minutes; until then, or with {info.filename} put into "
                   f"{where(pretrained.weights_dir())}")
        else:
            why = (f"Offline: downloads are off (DLPLAY_OFFLINE), so {info.title}'s ImageNet weights cannot be "
                   f"fetched (put {info.filename} into {where(pretrained.weights_dir())} to use them)")
        if task == "caltech101":  # no own body to fall back on: nothing can train
            return "", (f"{caltech.TITLE} needs {info.title}'s ImageNet weights, and they are not here: "
                        + (f"the download failed ({failed}) " if failed else "downloads are off (DLPLAY_OFFLINE) ")
                        + f"and {put}. Put the file in one of them (from {info.url()}), or point "
                        "DLPLAY_WEIGHTS_URL at a mirror that has it and allow downloads.")
        fallback = f"{why} — Train uses "
    ds = data.load(t.dataset)
    names = ", ".join(ds.classes[c] for c in t.source)
    what = f"dlplay's own body pretrained on {ds.title} classes {t.source[0]}–{t.source[-1]} ({names})"
    path = pretrained.own_path(t.dataset, t.source)
    if (meta := pretrained.own_cached(t.dataset, t.source)) is not None:
        cached = (f"cached at {where(path)}, trained in {float(meta.get('seconds', 0)):.0f} s "
                  f"({float(meta.get('source_acc', 0)):.1%} test accuracy on those classes).")
    else:
        cached = (f"not made yet: the first run that needs it pretrains it ({pretrained.PRETRAIN_EPOCHS} epochs, "
                  f"about half a minute on two cores) and caches it at {where(path)}.")
    return "own", f"{fallback}{what}, {cached}"


# --- frozen features, computed once -------------------------------------------------------------------

_features: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
_features_lock = threading.Lock()
FEATURE_PASSES = [0]  # how many times features were computed (tests count them)


@torch.no_grad()
def embed(body: nn.Module, x: torch.Tensor, job: Job | None = None, what: str = "", batch: int = 256) -> torch.Tensor:
    body.eval()
    parts = []
    for i, idx in enumerate(index_batches(len(x), batch, shuffle=False)):
        if job is not None:
            job.check_cancelled()
            job.set_progress(0.0, f"{what}: {min(len(x), (i + 1) * batch):,} of {len(x):,} images")
        parts.append(body(x[idx]).flatten(1))
    return torch.cat(parts)


def frozen_features(body: Body, spec: TransferSpec, target: Target, job: Job | None = None):
    """(pool features, test features) through the frozen body, cached in memory per process
    for this body and these images: a second frozen run on them starts training at once."""
    key = (body.key, spec.task, target.key, spec.seed, max(spec.budgets), spec.n_test)
    with _features_lock:
        if key in _features:
            return _features[key]
        FEATURE_PASSES[0] += 1
        pool = embed(body.net.body, target.x, job, "frozen body: features of the labelled images")
        test = embed(body.net.body, target.x_test, job, "frozen body: features of the test images")
        _features[key] = (pool, test)
        while len(_features) > 8:  # a few bodies × data sets; oldest out
            _features.pop(next(iter(_features)))
        return pool, test


def clear_features() -> None:
    with _features_lock:
        _features.clear()


# --- training at one budget -----------------------------------------------------------------------------

class Counter:
    """Counts the run's steps over all budgets (Stop after the first keeps what was learned)."""

    def __init__(self, total: int):
        self.n, self.total = 0, total


def train_steps(model: nn.Module, groups: list[dict], x: torch.Tensor, y: torch.Tensor, spec: TransferSpec,
                job: Job | None, counter: Counter, label: str) -> tuple[int, bool]:
    """`spec.steps` steps of AdamW on (x, y), cosine-annealed, in the one loop (`dlplay.train.Loop`);
    returns (steps done, stopped). Stop before a later budget's first step keeps the earlier budgets."""
    opt = torch.optim.AdamW(groups, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec.steps)
    batch = min(spec.batch_size, len(x))
    cfg = TrainConfig(lr=spec.lr, batch_size=batch, epochs=1, seed=spec.seed, log_every=10)
    # The run's job as this budget sees it: rows numbered after the earlier budgets' steps and tagged with the
    # budget, progress its share of the run; the stop note is the run's to write (it names the budget).
    part = Part(job, label, start=counter.n / counter.total, share=spec.steps / counter.total, tag={"budget": label},
                shift={"step": counter.n}, stop=lambda note: None) if job else None
    loop = Loop(model, cfg, part,
                steps_per_epoch=spec.steps, optimizers=Optimizers([opt], [sched]))
    gen = torch.Generator().manual_seed(spec.seed)

    def batches(epoch: int):  # `spec.steps` batches, as many passes over the labelled images as that takes
        while True:
            for idx in index_batches(len(x), batch, gen):
                if loop.step >= spec.steps:
                    return
                yield x[idx], y[idx]

    try:
        stopped = bool(loop.run(batches, classify_step(loop.model, F.cross_entropy, loop.device)).stopped)
    except Cancelled:
        if counter.n == 0:
            raise  # nothing learned in the whole run: it is cancelled
        stopped = True
    counter.n += loop.step
    model.cpu()  # the budget's model is kept, measured and stored on the CPU (a pretrained body stays there)
    return loop.step, stopped


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return evaluate(model, x, y, batch_size=512)["acc"]


def train_budget(spec: TransferSpec, body: Body | None, target: Target, k: int, job: Job | None,
                 counter: Counter, features=None) -> tuple[dict, nn.Module]:
    """One fresh model trained on k labels per class; its row (test accuracy, time) and the model."""
    x, y = budget_slice(target, k)
    label = f"{k} per class"
    torch.manual_seed(spec.seed)
    t0 = time.perf_counter()
    if spec.strategy == "frozen":
        pool, test = features
        head = nn.Linear(pool.shape[1], len(target.classes))
        steps, stopped = train_steps(head, [{"params": head.parameters(), "lr": spec.lr}], pool[:len(y)], y, spec,
                                     job, counter, label)
        seconds = time.perf_counter() - t0
        acc = accuracy(head, test, target.y_test)
        model = Net(body.net.body, head)
    else:
        if spec.strategy == "scratch":
            model = fresh_like(spec, target.x.shape[1:], len(target.classes))
            groups = [{"params": model.parameters(), "lr": spec.lr}]
        else:  # fine-tune: a copy of the pretrained body, learning slower than the new head
            model = Net(copy.deepcopy(body.net.body), nn.Linear(body.net.head.in_features, len(target.classes)))
            groups = [{"params": model.body.parameters(), "lr": spec.lr * spec.body_lr_factor},
                      {"params": model.head.parameters(), "lr": spec.lr}]
        steps, stopped = train_steps(model, groups, x, y, spec, job, counter, label)
        seconds = time.perf_counter() - t0
        acc = accuracy(model, target.x_test, target.y_test)
    epochs = steps * min(spec.batch_size, len(y)) / len(y)
    row = {"budget": k, "labels": len(y), "test_acc": acc, "steps": steps, "epochs": epochs, "seconds": seconds,
           "epoch_seconds": seconds / epochs if epochs else 0.0, "partial": stopped}
    return row, model


# --- the run ---------------------------------------------------------------------------------------------

@dataclass
class TransferResult:
    spec: TransferSpec
    rows: list[dict]  # one per budget trained: budget, test_acc, steps, epochs, seconds, epoch_seconds, partial
    model: nn.Module  # the model of the last budget trained
    classes: list[str]
    body_note: str
    stopped: str = ""
    feature_seconds: float = 0.0  # frozen: computing the features (0 when they came from the cache)
    pretrain_seconds: float = 0.0  # the own body, when this run pretrained it

    def accuracy_at(self, k: int) -> float | None:
        return next((r["test_acc"] for r in self.rows if r["budget"] == k), None)


def train_transfer(spec: TransferSpec, job: Job | None = None) -> TransferResult:
    if (problem := check(spec)) is not None:
        raise InvalidSpec(problem)
    budgets = sorted(set(spec.budgets))
    target = target_data(spec)
    if job and target.note:
        job.log(target.note)
    if job:
        job.log(f"{title(spec)} on {target.title} classes {', '.join(target.classes[:10])}"
                f"{f' and {len(target.classes) - 10} more' if len(target.classes) > 10 else ''}: budgets "
                f"{', '.join(map(str, budgets))} labels per class, {spec.steps} steps each; "
                f"{len(target.x_test):,} test images")
    body = body_for(spec, job, len(target.classes)) if spec.strategy != "scratch" else None
    note = body.note if body is not None else ""
    if spec.strategy == "scratch":
        note = "no pretrained weights: the same architecture, initialised at random"
        if spec.body in pretrained.IMAGENET:
            note += f" ({pretrained.IMAGENET[spec.body].title}, images resized to {spec.image_size}×{spec.image_size})"
    if job:
        job.log(note)
        job.artifact("body_note", note)  # the page says where the body came from while the run trains
    features, feature_seconds = None, 0.0
    if spec.strategy == "frozen":
        t0, passes = time.perf_counter(), FEATURE_PASSES[0]
        features = frozen_features(body, spec, target, job)
        feature_seconds = time.perf_counter() - t0 if FEATURE_PASSES[0] > passes else 0.0
        if job:
            job.log(f"frozen features: {features[0].shape[1]:,} per image, "
                    + (f"computed in {feature_seconds:.1f} s" if feature_seconds else "from the cache"))
    counter = Counter(spec.steps * len(budgets))
    rows, model, stopped = [], None, ""
    for k in budgets:
        row, model = train_budget(spec, body, target, k, job, counter, features)
        if row["steps"] == 0:
            stopped = f"stopped before the {k}-per-class budget started"
            break
        rows.append(row)
        if job:
            job.metric(split="budget", **row)
            job.log(f"{k} per class: {row['test_acc']:.1%} test accuracy ({row['seconds']:.1f} s)")
        if row["partial"]:
            stopped = f"stopped at step {row['steps']} of {spec.steps} of the {k}-per-class budget"
            break
    if stopped and job:
        job.stopped_at(stopped)
    return TransferResult(spec, rows, model, target.classes, note, stopped, feature_seconds,
                          body.pretrain_seconds if body is not None else 0.0)


# --- as a stored run (dlplay.runs) ---------------------------------------------------------------------

IMAGE_SHAPES = {"cifar10": (3, 32, 32), "fashion_mnist": (1, 28, 28)}


def image_shape(spec: TransferSpec) -> tuple[int, int, int]:
    if spec.task == "caltech101":
        return (3, spec.image_size, spec.image_size)
    return IMAGE_SHAPES[TASKS[spec.task].dataset]


def headline(rows: list[dict]) -> str:
    return " · ".join(f"{r['budget']}/class {r['test_acc']:.1%}" for r in rows) or "nothing trained"


def _model_of(spec: TransferSpec, saved: Saved) -> nn.Module | None:
    """The last budget's model; None for a run stopped before any budget trained."""
    if not saved.tensors:
        return None
    n = len(saved.summary["classes"])
    model = (pretrained.imagenet_net(spec.body, n, spec.image_size) if spec.body in pretrained.IMAGENET
             else pretrained.own_net(tuple(saved.summary["image_shape"]), n))
    model.load_state_dict({k.removeprefix("model."): v for k, v in saved.tensors.items()})
    return model.eval()


CODEC = Codec(TransferResult, models={}, headline=lambda r: headline(r.rows),
              extra=lambda r: {"image_shape": list(image_shape(r.spec))},
              forms={"model": Form(lambda m: {"model": m} if m is not None else {}, _model_of, whole=True)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: TransferSpec) -> str:
    body = "random init" if spec.strategy == "scratch" else BODIES.get(spec.body, spec.body).split(" (")[0]
    return (f"{title(spec)} · {body} · {'/'.join(map(str, sorted(spec.budgets)))} labels per class · "
            f"{spec.steps} steps")


def work(spec: TransferSpec):
    from ..limits import Work

    return Work(spec.steps * len(set(spec.budgets)), "step", spec.batch_size, "images per step")


def finding(results: dict[str, list[dict]]) -> str | None:
    """The lesson's point in this comparison's numbers: at the smallest budget every strategy
    finished, how far pretraining is ahead of starting from scratch; at the largest, how far it
    is ahead there — each gap against scratch at the same budget."""
    if "scratch" not in results or not any(s in results for s in ("frozen", "finetune")):
        return None
    done = {s: {r["budget"]: r["test_acc"] for r in rows if not r.get("partial")} for s, rows in results.items()}
    shared = set.intersection(*(set(v) for v in done.values())) if done else set()
    if not shared:
        return None
    k = min(shared)
    scratch = done["scratch"][k]
    parts = [f"With {k} labelled images per class, training from scratch reached {scratch:.1%}."]
    for s in ("frozen", "finetune"):
        if s in done:
            gain = (done[s][k] - scratch) * 100
            parts.append(f"“{STRATEGIES[s]}” reached {done[s][k]:.1%} ({gain:+.1f} points).")
    big = max(shared)
    if big != k:
        pre = [s for s in ("frozen", "finetune") if s in done]
        best = max(pre, key=lambda s: done[s][big])
        gap = (done[best][big] - done["scratch"][big]) * 100
        small_gap = (max(done[s][k] for s in pre) - scratch) * 100
        if gap < 0:
            parts.append(f"At {big} per class from scratch is ahead by {-gap:.1f} points: with that many labels "
                         "pretraining no longer helps here.")
        else:
            trend = ("the more labels, the less pretraining matters" if gap < small_gap else
                     "here pretraining still matters as much with more labels")
            parts.append(f"At {big} per class the gap is {gap:.1f} points (best: “{STRATEGIES[best]}”): {trend}.")
    return " ".join(parts)


LESSON = Lesson(page="tl", spec_type=TransferSpec,
                train=lambda spec, job: train_transfer(spec, job), save=save_result, load=load_result, brief=brief,
                curves=("loss", "acc"), work=work)


FEATURE_BATCH = 256  # `embed`'s batch: the frozen body's features are computed this many images at a time


def cost(spec: TransferSpec):
    """Memory and step time of one step (`dlplay.costs`) of the spec's strategy, every model built on
    the meta device (ImageNet bodies without their weights): from scratch and fine-tuning train the
    whole network — fine-tuning a copy of the body, the pretrained one held beside it — frozen trains
    the head on features computed once, `FEATURE_BATCH` images at a time; dlplay's own body not
    cached yet is pretrained first (batches of 128: its memory may be the run's peak, its steps are
    not counted). Data: the labelled pool and the test images."""
    import math
    from dataclasses import replace

    from ..costs import MB, torch_cost

    shape = image_shape(spec)
    n_classes = 101 if spec.task == "caltech101" else len(TASKS[spec.task].target)

    def net(classes: int = n_classes) -> Net:
        if spec.body in pretrained.IMAGENET:
            return pretrained.imagenet_net(spec.body, classes, spec.image_size)
        return pretrained.own_net(shape, classes)

    images = (max(spec.budgets, default=0) * n_classes + spec.n_test) * math.prod(shape) * 4 / MB
    lower = "the labelled images per class"
    if spec.body in pretrained.IMAGENET:
        lower = "the image size for the ImageNet body" + ("" if spec.strategy == "frozen" else
                                                          ", or train the frozen strategy alone")
    inputs = lambda b, n: (torch.zeros(b, *shape),)  # noqa: E731
    if spec.strategy == "frozen":
        with torch.device("meta"):
            body = net()
        width = body.head.in_features
        step = torch_cost(lambda n: nn.Linear(width, n_classes), lambda b, n: (torch.zeros(b, width),),
                          batch=spec.batch_size, optimizer="adamw", lower=lower,
                          data_mb=images + (max(spec.budgets, default=0) * n_classes + spec.n_test) * width * 4 / MB)
        body_mb = sum(p.numel() * p.element_size() for p in body.parameters()) / MB
        step = replace(step, weights_mb=step.weights_mb + body_mb,
                       activations_mb=max(step.activations_mb, _forward_mb(body.body, shape, FEATURE_BATCH)))
    else:
        step = torch_cost(lambda n: net(), inputs, batch=spec.batch_size, optimizer="adamw", lower=lower,
                          data_mb=images)
        if spec.strategy == "finetune":
            step = replace(step, weights_mb=2 * step.weights_mb)
    steps = spec.steps * len(set(spec.budgets))
    task = TASKS[spec.task]
    if spec.strategy != "scratch" and spec.body == "own" and pretrained.own_cached(task.dataset, task.source) is None:
        pretraining = torch_cost(lambda n: net(len(task.source)), inputs, batch=128, optimizer="adamw", lower=lower,
                                 data_mb=images + pretrained.PRETRAIN_IMAGES * math.prod(shape) * 4 / MB)
        if pretraining.peak_mb > step.peak_mb:  # its memory, and the time of the steps the learner set
            step = replace(pretraining, step_flops=step.step_flops)
    return step.with_steps(steps)


def _forward_mb(body: nn.Module, shape: tuple[int, int, int], batch: int) -> float:
    """The activations a forward pass without gradients holds at once, in MB: each layer's input and
    output, and a residual branch's input beside them — taken as 3 × the largest layer output."""
    from ..costs import MB

    largest = [0]

    def hook(module, inputs, output):
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output.numel() * output.element_size())

    handles = [m.register_forward_hook(hook) for m in body.modules() if not list(m.children())]
    try:
        with torch.device("meta"), torch.no_grad():
            body(torch.zeros(batch, *shape))
    finally:
        for h in handles:
            h.remove()
    return 3 * largest[0] / MB


LESSON.cost = cost
