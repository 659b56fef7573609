"""The digit-classifier lesson as a job: train an MLP on an image dataset, then
measure it on the test set (accuracy, confusion matrix, misclassified examples)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torchmetrics.functional.classification import multiclass_confusion_matrix

from . import data
from .jobs import Job
from .models import MLP, count_parameters
from .train import History, TrainConfig, evaluate, fit, predict_proba


@dataclass
class ClassifierSpec:
    dataset: str = "mnist"
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    dropout: float = 0.2
    n_val: int = 5000
    train: TrainConfig = field(default_factory=TrainConfig)

    def build(self, ds: data.ImageData) -> MLP:
        torch.manual_seed(self.train.seed)
        return MLP(int(np.prod(ds.image_shape)), self.hidden, ds.n_classes, self.activation, self.dropout,
                   norm=ds.pixel_stats)


@dataclass
class ClassifierResult:
    model: MLP
    history: History
    test_acc: float
    test_loss: float
    confusion: np.ndarray  # rows: true class, columns: predicted
    wrong: np.ndarray  # test indices of misclassified examples, most confident first
    wrong_pred: np.ndarray
    classes: list[str]
    dataset: str


def prepare(spec: ClassifierSpec) -> data.ImageData:
    """Load the data and make the validation split now (both are kept), so a run
    started later begins training at once."""
    ds = data.load(spec.dataset)
    ds.split_validation(spec.n_val, seed=spec.train.seed)
    return ds


def train_classifier(spec: ClassifierSpec, job: Job | None = None) -> ClassifierResult:
    ds = prepare(spec)
    x_tr, y_tr, x_val, y_val = ds.split_validation(spec.n_val, seed=spec.train.seed)
    model = spec.build(ds)
    if job:
        job.log(f"{ds.summary()}")
        job.log(f"{count_parameters(model):,} trainable parameters; "
                f"{len(x_tr):,} training / {len(x_val):,} validation images")
    history = fit(model, (x_tr, y_tr), (x_val, y_val), spec.train, job=job)
    return assess(model, history, ds)


def assess(model, history: History, ds: data.ImageData) -> ClassifierResult:
    model = model.cpu()
    test = evaluate(model, ds.x_test, ds.y_test)
    probs = predict_proba(model, ds.x_test)
    pred = probs.argmax(1)
    cm = multiclass_confusion_matrix(pred, ds.y_test, num_classes=ds.n_classes).numpy()
    wrong = torch.nonzero(pred != ds.y_test).flatten()
    order = probs[wrong, pred[wrong]].argsort(descending=True)
    wrong = wrong[order]
    return ClassifierResult(model, history, test["acc"], test["loss"], cm, wrong.numpy(),
                            pred[wrong].numpy(), ds.classes, ds.name)


def classify_image(model, image28: np.ndarray) -> np.ndarray:
    """Class probabilities for one 28×28 image in [0, 1]."""
    x = torch.from_numpy(np.asarray(image28, np.float32)).reshape(1, 1, 28, 28)
    return predict_proba(model.cpu(), x)[0].numpy()
