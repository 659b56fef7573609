"""Fair model selection: grid, random and Optuna searches over an MLP's learning rate, width,
depth, dropout, weight decay and batch size, each setting scored on validation data only
(k folds or one hold-out), the best retrained on training + validation and scored once on
the test set, which no trial ever sees.

Grid and random searches are scikit-learn's own GridSearchCV and RandomizedSearchCV over
`MLPNet` (the assignment's way); Optuna's TPE sampler proposes each trial from the scores so
far, and its median pruner stops a trial whose validation accuracy after an epoch (hold-out)
or a fold (k-fold) is below the median of earlier trials at that point. Every trial streams
to the run as it ends (`split="trial"` rows), with its intermediate scores (`split="curve"`).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import data
from ..jobs import Cancelled, Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..runs.lesson import Figure
from . import space as space_
from .estimator import HYPERPARAMETERS, WATCH, MLPNet, TrialJob, Watch

METHODS = {"grid": "Grid search (GridSearchCV)", "random": "Random search (RandomizedSearchCV)",
           "optuna": "Optuna (TPE, median pruning)"}
VALIDATIONS = {"holdout": "Hold-out (one validation split)", "kfold": "k-fold cross-validation"}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


@dataclass
class SearchSpec:
    method: str = "optuna"  # "grid" | "random" | "optuna"
    dataset: str = "mnist"
    n_examples: int = 6000  # training + validation, drawn from the training split; the test split stays whole
    validation: str = "holdout"  # "holdout" | "kfold"
    val_share: float = 0.2  # hold-out: the validation part
    folds: int = 3  # k-fold
    n_trials: int = 16  # random and Optuna (a grid has as many trials as settings)
    grid_points: int = 2  # grid: values per searched hyperparameter
    pruning: bool = True  # Optuna: median pruning
    epochs: int = 3  # per trial
    lr: tuple[float, float] = (1e-4, 3e-1)
    width: tuple[int, int] = (32, 512)
    depth: tuple[int, int] = (1, 3)
    dropout: tuple[float, float] = (0.0, 0.5)
    weight_decay: tuple[float, float] = (0.0, 0.0)  # 0: off
    batch_size: tuple[int, int] = (64, 64)
    seed: int = 0


def budget(spec: SearchSpec) -> int:
    """Trials the search will run (Optuna's pruned ones included)."""
    if spec.method == "grid":
        return space_.grid_size(space_.space(spec), spec.grid_points)
    return int(spec.n_trials)


def n_splits(spec: SearchSpec) -> int:
    return int(spec.folds) if spec.validation == "kfold" else 1


def brief(spec: SearchSpec) -> str:
    val = f"{spec.folds}-fold" if spec.validation == "kfold" else f"hold-out {spec.val_share:.0%}"
    pruned = " + pruning" if spec.method == "optuna" and spec.pruning else ""
    return f"{spec.method}{pruned} · {budget(spec)} trials · {val} · {spec.n_examples:,} {spec.dataset} · {spec.epochs} epochs"


# --- data -------------------------------------------------------------------------------------------

class SealedTest:
    """The test split, out of every trial's reach: the final model is scored on it once, and a
    second look is refused (a search that peeks at its test set reports a biased number)."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self._x, self._y, self.looks = x, y, 0

    def __len__(self) -> int:
        return len(self._y)

    def score(self, est: MLPNet) -> float:
        if self.looks:
            raise RuntimeError("the test set has been used once already")
        self.looks += 1
        return float((est.predict(self._x) == self._y).mean())


@dataclass
class Pool:
    x: np.ndarray  # float32 (n, 784): training + validation
    y: np.ndarray
    test: SealedTest
    splits: list[tuple[np.ndarray, np.ndarray]]  # (train, validation) indices into x
    norm: tuple[float, float]
    classes: list[str]
    summary: str


def pool(spec: SearchSpec) -> Pool:
    """The search's data: `n_examples` from the training split (raises DatasetUnavailable with what
    to put where), its validation splits (stratified, seeded), and the sealed test split."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    ds = data.load(spec.dataset)
    pick = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(spec.seed))[:spec.n_examples]
    x = ds.x_train[pick].reshape(len(pick), -1).numpy().astype(np.float32)
    y = ds.y_train[pick].numpy()
    idx = np.arange(len(y))
    if spec.validation == "kfold":
        splits = list(StratifiedKFold(spec.folds, shuffle=True, random_state=spec.seed).split(x, y))
    else:
        splits = [tuple(train_test_split(idx, test_size=spec.val_share, stratify=y, random_state=spec.seed))]
    test = SealedTest(ds.x_test.reshape(len(ds.x_test), -1).numpy().astype(np.float32), ds.y_test.numpy())
    return Pool(x, y, test, splits, (float(x.mean()), float(x.std())), list(ds.classes), ds.summary())


# --- trials -------------------------------------------------------------------------------------------

@dataclass
class Trial:
    number: int  # 1, 2, … in the order they ran
    params: dict
    state: str = "running"  # "complete" | "pruned" | "diverged"
    scores: list[float] = field(default_factory=list)  # per fold (hold-out: one)
    curve: list[float] = field(default_factory=list)  # what pruning watched: per epoch (hold-out) or per fold
    seconds: float = 0.0

    @property
    def score(self) -> float | None:
        return float(np.mean(self.scores)) if self.scores else None

    def row(self) -> dict:
        return {"split": "trial", "trial": self.number, "state": self.state, "score": self.score,
                "reached": self.curve[-1] if self.curve else self.score,  # a pruned trial's last reported score
                "score_std": float(np.std(self.scores)) if len(self.scores) > 1 else 0.0,
                "folds": len(self.scores), "epochs": len(self.curve), "seconds": self.seconds, **self.params}


class Recorder:
    """Collects trials as they end and streams each to the job; keeps the overall progress."""

    def __init__(self, spec: SearchSpec, job: Job | None):
        self.spec, self.job = spec, job
        self.trials: list[Trial] = []
        self.fits_done = 0
        self.fits_total = budget(spec) * n_splits(spec) + 1  # + the final retraining

    def trial_job(self) -> TrialJob:
        return TrialJob(self.job, self._progress)

    def _progress(self, fraction: float, status: str | None = None) -> None:
        if self.job is None:
            return
        done = min(1.0, (self.fits_done + fraction) / self.fits_total)
        n = len([t for t in self.trials if t.state != "running"])
        where = (f"trial {min(n + 1, budget(self.spec))} of {budget(self.spec)}" if self.fits_done < self.fits_total - 1
                 else "retraining the best on training + validation")
        self.job.set_progress(done, f"{where} · {status or ''}".rstrip(" ·"))

    def start(self, params: dict) -> Trial:
        trial = Trial(len(self.trials) + 1, params)
        self.trials.append(trial)
        return trial

    def fold_done(self, trial: Trial, score: float, est: MLPNet) -> None:
        trial.scores.append(score)
        trial.seconds += getattr(est, "fit_seconds_", 0.0)
        if getattr(est, "diverged_", ""):
            trial.state = "diverged"
        self.fits_done += 1

    def end(self, trial: Trial, state: str | None = None) -> None:
        trial.state = state or (trial.state if trial.state == "diverged" else "complete")
        if self.job is not None:
            self.job.metric(**trial.row())
            for k, value in enumerate(trial.curve, 1):
                self.job.metric(split="curve", trial=trial.number, step=k, value=value)

    @property
    def finished(self) -> list[Trial]:
        return [t for t in self.trials if t.state in ("complete", "diverged") and t.score is not None]


def _estimator(spec: SearchSpec, pool_: Pool, params: dict | None = None) -> MLPNet:
    fixed = {p.name: p.cast(p.low) for p in space_.space(spec) if p.fixed}
    return MLPNet(epochs=spec.epochs, seed=spec.seed, norm=pool_.norm, **{**fixed, **(params or {})})


def run_sklearn(spec: SearchSpec, pool_: Pool, rec: Recorder) -> None:
    """GridSearchCV / RandomizedSearchCV over the pool's own splits. Their fits run one after another
    in this thread, so the Watch sees each score the moment it exists: a trial is complete once all
    its folds are scored (scikit-learn fits candidate by candidate, fold by fold)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    params = space_.space(spec)
    current: list[Trial] = []

    def on_score(hp: dict, score: float, est: MLPNet) -> None:
        if not current or len(current[-1].scores) == n_splits(spec):  # the previous trial has all its folds
            current.append(rec.start({k: hp[k] for k in HYPERPARAMETERS}))
        trial = current[-1]
        rec.fold_done(trial, score, est)
        trial.curve.append(float(np.mean(trial.scores)))
        if len(trial.scores) == n_splits(spec):
            rec.end(trial)

    common = dict(cv=pool_.splits, refit=False, error_score="raise", n_jobs=None)  # our own refit, below
    if spec.method == "grid":
        search = GridSearchCV(_estimator(spec, pool_), space_.grid(params, spec.grid_points), **common)
    else:
        dists = {p.name: p.distribution() for p in params}
        search = RandomizedSearchCV(_estimator(spec, pool_), dists, n_iter=spec.n_trials, random_state=spec.seed,
                                    **common)
    token = WATCH.set(Watch(job=rec.trial_job(), on_score=on_score))
    try:
        search.fit(pool_.x, pool_.y)
    finally:
        WATCH.reset(token)


class _Pruning:
    """fit()'s epoch callback in a hold-out Optuna trial: reports the validation accuracy and
    stops the trial when the pruner says so."""

    def __init__(self, trial, record: Trial):
        self.trial, self.record = trial, record

    def on_epoch_end(self, model, epoch: int, row: dict) -> None:
        import optuna

        self.record.curve.append(float(row["val_acc"]))
        self.trial.report(float(row["val_acc"]), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"validation accuracy {row['val_acc']:.3f} after epoch {epoch}")


def run_optuna(spec: SearchSpec, pool_: Pool, rec: Recorder) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = space_.space(spec)
    # TPE's first trials are random (10 by default, most of a small budget): a quarter of it here.
    sampler = optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=max(3, spec.n_trials // 4))
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0) if spec.pruning
              else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    kfold = spec.validation == "kfold"
    token = WATCH.set(Watch(job=rec.trial_job()))

    def objective(trial) -> float:
        record = rec.start({p.name: p.suggest(trial) for p in params})
        t0 = time.perf_counter()
        try:
            for k, (tr, va) in enumerate(pool_.splits, 1):
                est = _estimator(spec, pool_, record.params)
                callbacks = () if kfold else (_Pruning(trial, record),)
                try:
                    est.fit(pool_.x[tr], pool_.y[tr], eval_set=None if kfold else (pool_.x[va], pool_.y[va]),
                            callbacks=callbacks)
                except optuna.TrialPruned:
                    rec.fits_done += len(pool_.splits) - k + 1
                    raise
                rec.fold_done(record, float(est.score(pool_.x[va], pool_.y[va])), est)
                if kfold:  # pruning watches the running mean over folds
                    record.curve.append(float(np.mean(record.scores)))
                    trial.report(record.curve[-1], k)
                    if k < len(pool_.splits) and trial.should_prune():
                        rec.fits_done += len(pool_.splits) - k
                        raise optuna.TrialPruned()
        except optuna.TrialPruned:
            record.seconds = time.perf_counter() - t0
            rec.end(record, "pruned")
            raise
        record.seconds = time.perf_counter() - t0
        rec.end(record)
        return record.score

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
            study.optimize(objective, n_trials=spec.n_trials, catch=())
    finally:
        WATCH.reset(token)


# --- the search as a run ------------------------------------------------------------------------------

@dataclass
class SearchResult:
    spec: SearchSpec
    trials: list[dict]  # Trial.row() of each, in the order they ran
    best: dict  # the best trial's hyperparameters
    best_score: float  # its mean validation accuracy
    test_acc: float | None  # the retrained best on the test set (None: stopped before)
    test_looks: int  # times the test set was scored: 1 (0 when stopped)
    model: object | None  # the retrained best network (MLP)
    seconds: float
    classes: list[str]
    summary: str  # the data's source
    norm: tuple[float, float] = (0.0, 1.0)
    stopped: str = ""

    @property
    def n_pruned(self) -> int:
        return sum(t["state"] == "pruned" for t in self.trials)

    @property
    def n_diverged(self) -> int:
        return sum(t["state"] == "diverged" for t in self.trials)


def run_search(spec: SearchSpec, job: Job | None = None) -> SearchResult:
    if spec.method not in METHODS:
        raise ValueError(f"unknown method {spec.method!r}; choose from {list(METHODS)}")
    t0 = time.perf_counter()
    p = pool(spec)
    rec = Recorder(spec, job)
    if job:
        job.log(f"{brief(spec)}: {len(p.splits[0][0]):,} training / {len(p.splits[0][1]):,} validation examples "
                f"per split; the {len(p.test):,} test images are sealed until the end")
    stopped = ""
    try:
        (run_optuna if spec.method == "optuna" else run_sklearn)(spec, p, rec)
    except Cancelled:
        if not rec.finished:
            raise  # nothing scored yet: the run is cancelled
        stopped = f"stopped after {len(rec.finished)} of {budget(spec)} trials; the best was not retrained or tested"
    best = max(rec.finished, key=lambda t: t.score)
    model, test_acc = None, None
    if not stopped:
        final = _estimator(spec, p, best.params)
        token = WATCH.set(Watch(job=rec.trial_job()))
        try:
            final.fit(p.x, p.y)  # every split's training and validation examples: nothing more is held back
            model, test_acc = final.model_, p.test.score(final)
        except Cancelled:
            stopped = f"stopped while retraining the best of {len(rec.finished)} trials; it was not tested"
        finally:
            WATCH.reset(token)
    if stopped and job is not None:
        job.stopped_at(stopped)
    return SearchResult(spec, [t.row() for t in rec.trials if t.state != "running"], best.params, best.score,
                        test_acc, p.test.looks, model, time.perf_counter() - t0, p.classes, p.summary, p.norm, stopped)


def _model_of(spec: SearchSpec, saved: Saved):
    """The retrained best network; None for a search stopped before it was retrained."""
    if not saved.tensors:
        return None
    s = saved.summary
    model = MLPNet(norm=tuple(s["norm"]), **s["best"]).build(784, len(s["classes"]))
    model.load_state_dict({k.removeprefix("model."): v for k, v in saved.tensors.items()})
    return model.eval()


CODEC = Codec(SearchResult, models={},
              headline=lambda r: (f"test {r.test_acc:.1%} · best val {r.best_score:.1%}" if r.test_acc is not None
                                  else f"best val {r.best_score:.1%} (stopped)"),
              extra=lambda r: {"n_pruned": r.n_pruned, "n_diverged": r.n_diverged},
              forms={"model": Form(lambda m: {"model": m} if m is not None else {}, _model_of, whole=True)})
save_result, load_result = CODEC.save, CODEC.load


def work(spec: SearchSpec):
    from ..limits import Work

    return Work(spec.epochs, "epoch", spec.n_examples, "training examples", times=budget(spec) * n_splits(spec))


def trials_of(rows: list[dict]) -> list[dict]:
    """The trial rows among a run's metric rows, in the order they ran."""
    return [r for r in rows if r.get("split") == "trial"]


def best_so_far(scores: list[float | None]) -> list[float]:
    best, out = -math.inf, []
    for s in scores:
        best = max(best, s if s is not None else -math.inf)
        out.append(best if best > -math.inf else float("nan"))
    return out


def varied(trials: list[dict], spec: SearchSpec) -> tuple[list[space_.Param], list[str]]:
    """(the settings that took more than one value among the scored trials, the others in words:
    "hidden layers 1"). A fixed setting drawn as an axis of the parallel coordinates has one value
    and a range Plotly makes up around it: meaningless ticks, and a line through one point."""
    scored = [t for t in trials if t["reached"] is not None]
    moved, fixed = [], []
    for p in space_.space(spec):
        values = {t[p.name] for t in scored}
        if len(values) > 1:
            moved.append(p)
        elif values:
            fixed.append(f"{p.label} {next(iter(values)):g}")
    return moved, fixed


def parallel_figure(run_id: int, trials: list[dict], spec: SearchSpec):
    """Every scored trial as a line through its settings and its score (pruned ones: the score they
    reached), one axis per setting that varied; log-scaled settings on log₁₀ axes. The axes' names
    sit above the plot, below the title: the top margin holds both."""
    import plotly.graph_objects as go

    scored = [t for t in trials if t["reached"] is not None]
    dims = []
    for p in varied(trials, spec)[0]:
        values = [t[p.name] for t in scored]
        ticks = sorted(set(values))
        if p.scale in ("int_log", "pow2"):  # whole numbers on a log axis: ticked at the values tried
            dims.append(dict(label=f"{p.label} (log scale)", values=np.log10(values), tickvals=np.log10(ticks),
                             ticktext=[f"{v:g}" for v in ticks]))
        elif p.scale == "log" and min(values) > 0:
            dims.append(dict(label=f"log₁₀ {p.label}", values=np.log10(values)))
        elif p.scale == "int":
            dims.append(dict(label=p.label, values=values, tickvals=ticks))
        else:
            dims.append(dict(label=p.label, values=values))
    dims.append(dict(label="val accuracy", values=[t["reached"] for t in scored], range=[0, 1]))
    fig = go.Figure(go.Parcoords(line=dict(color=[t["reached"] for t in scored], colorscale="Viridis",
                                           showscale=True, cmin=0, cmax=1), dimensions=dims,
                                 labelside="top", labelfont=dict(size=12)))
    fig.update_layout(title=f"Run {run_id} · every trial's settings and score (pruned: the score it reached)",
                      height=420, margin=dict(l=60, r=60, t=110, b=30))
    return fig


TEST_IMAGES = 10_000  # MNIST's and Fashion-MNIST's test split, sealed in the pool


def cost(spec: SearchSpec):
    """Memory and step time of one batch of the biggest trial the space allows (`dlplay.costs`): the
    widest, deepest network at the largest batch; and the pool, one fold's copy of it and the test set."""
    from ..costs import MB, torch_cost

    biggest = MLPNet(width=spec.width[1], depth=spec.depth[1], dropout=spec.dropout[1], norm=(0.0, 1.0))
    batch = int(spec.batch_size[1])
    return torch_cost(lambda n: biggest.build(784, 10), lambda b, n: (torch.zeros(b, 784),), batch=batch,
                      optimizer="adam",
                      lower="the upper end of the units per hidden layer, hidden layers or batch size searched",
                      data_mb=(2 * spec.n_examples + TEST_IMAGES) * 784 * 4 / MB
                      ).with_steps(work(spec).amount // batch)


LESSON = Lesson(page="search", figure=Figure("best_score", "best validation accuracy", percent=True), spec_type=SearchSpec,
                train=lambda spec, job: run_search(spec, job), save=save_result, load=load_result, brief=brief,
                curves=(), work=work, cost=cost)
