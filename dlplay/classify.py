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
from .runs.codec import Codec, Form
from .runs.lesson import Lesson
from .runs.lesson import Figure
from .train import History, TrainConfig, fit, predict_proba, tested


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
    stopped: str = ""  # "stopped at epoch 7 of 15" when Stop was pressed

    def majority(self) -> tuple[str, float]:
        """The most common test class and its share: the accuracy of always answering it."""
        counts = self.confusion.sum(1)
        top = int(counts.argmax())
        return self.classes[top], float(counts[top] / max(1, counts.sum()))


USELESS_MARGIN = 0.05  # within 5 points of always answering one class, nothing useful was learned


def useless_note(result: ClassifierResult, lr: float) -> str | None:
    """What the page says when the model is no better than a trivial baseline; None if it is."""
    name, share = result.majority()
    if result.test_acc > share + USELESS_MARGIN:
        return None
    advice = (f"It was {result.stopped}: train longer." if result.stopped else
              f"Lower the learning rate (now {lr:g}) and train again.")
    return (f"{result.test_acc:.1%} test accuracy is no better than always answering “{name}”, the most common "
            f"class ({share:.1%} of the test set): the model learned nothing useful. {advice}")


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
    if job:
        job.set_progress(job.progress, f"testing on {len(ds.x_test):,} images…")
    return assess(model, history, ds, job)


@dataclass
class Scored:
    """A classifier on its test split: accuracy and loss, the confusion matrix, the mistakes
    most confident first, and the stopped note (with how much was tested, when Stop cut it short)."""
    acc: float
    loss: float
    confusion: np.ndarray
    wrong: np.ndarray
    wrong_pred: np.ndarray
    stopped: str


def score(model, ds: data.ImageData, history: History, job: Job | None = None) -> Scored:
    """One pass over the test set; after Stop, over the part of it reached within seconds."""
    t = tested(model, ds.x_test, ds.y_test, job)
    y, pred = ds.y_test[:t.n], t.probs.argmax(1)
    cm = multiclass_confusion_matrix(pred, y, num_classes=ds.n_classes).numpy()
    wrong = torch.nonzero(pred != y).flatten()
    wrong = wrong[t.probs[wrong, pred[wrong]].argsort(descending=True)]
    stopped = "; ".join(note for note in (history.stopped, t.note()) if note)
    return Scored(t.acc, t.loss, cm, wrong.numpy(), pred[wrong].numpy(), stopped)


def assess(model, history: History, ds: data.ImageData, job: Job | None = None) -> ClassifierResult:
    s = score(model.cpu(), ds, history, job)
    return ClassifierResult(model, history, s.acc, s.loss, s.confusion, s.wrong, s.wrong_pred, ds.classes, ds.name,
                            s.stopped)


def classify_image(model, image28: np.ndarray) -> np.ndarray:
    """Class probabilities for one 28×28 image in [0, 1]."""
    x = torch.from_numpy(np.asarray(image28, np.float32)).reshape(1, 1, 28, 28)
    return predict_proba(model.cpu(), x)[0].numpy()


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

CODEC = Codec(ClassifierResult, headline=lambda r: f"{r.test_acc:.1%} test accuracy",
              models={"model": lambda spec, s: MLP(s["in_features"], spec.hidden, s["n_classes"], spec.activation,
                                                   spec.dropout)},
              extra=lambda r: {**{k: r.model.config[k] for k in ("in_features", "n_classes")},
                               "n_params": sum(p.numel() for p in r.model.parameters())},
              renamed={"history": "best_epoch"},  # a reopened run knows which epoch early stopping kept
              forms={"history": Form(lambda h: h.best_epoch, lambda best: History(best_epoch=best))})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: ClassifierSpec) -> str:
    epochs = spec.train.epochs
    return f"784→{'→'.join(map(str, spec.hidden))}→10 · {epochs} epoch{'s' if epochs != 1 else ''}"


def work(spec: ClassifierSpec):
    """Training examples seen: epochs × the training split (a shared server caps it)."""
    from .limits import Work, training_images

    return Work(spec.train.epochs, "epoch", training_images(spec.dataset, 0, spec.n_val), "training images")


def _script(spec: ClassifierSpec, run) -> str:
    from .runs.export import classifier_script

    return classifier_script(spec, run)


def cost(spec: ClassifierSpec):
    """Memory and step time of one batch (`dlplay.costs`): the network `spec.build` makes (without its
    seeding), on the meta device; the dataset, which the page has loaded, gives its shapes and counts."""
    from .costs import torch_cost

    ds, batch = data.load(spec.dataset), spec.train.batch_size
    shape = ds.image_shape
    return torch_cost(lambda n: MLP(int(np.prod(shape)), spec.hidden, ds.n_classes, spec.activation, spec.dropout),
                      lambda b, n: (torch.zeros(b, *shape),), batch=batch, optimizer=spec.train.optimizer,
                      lower="the units in each layer, the hidden layers or the batch size"
                      ).with_steps(-(-work(spec).amount // batch))


LESSON = Lesson(page="mlp", figure=Figure("test_acc", "test accuracy", percent=True),
                spec_type=ClassifierSpec, train=lambda spec, job: train_classifier(spec, job),
                save=save_result, load=load_result, brief=brief, script=_script, curves=("loss", "acc"), work=work,
                cost=cost)
