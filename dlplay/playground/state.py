"""Every user setting of the playground in one dataclass, and its URL form.

Like tensorflow/playground's state.ts, the state is written to the URL on every
change, so a link reproduces the whole setup. The keys are the playground's own
(`dataset`, `networkShape`, `learningRate`, `x`, `xTimesY`, …), so the settings part
of a playground.tensorflow.org link pasted as a query string opens the same setup.
Unknown keys and bad values are ignored (the default is kept), never an error.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from typing import ClassVar

from dlplay.playground import datasets
from dlplay.playground.features import FEATURES, ordered
from dlplay.playground.net import ACTIVATIONS, MAX_DROPOUT, REGULARIZATIONS

# The playground's menus.
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LAYERS, MAX_NEURONS = 6, 8
# dlplay's additions.
DROPOUTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
LR_SCHEDULES = ("constant", "step", "cosine")  # step: ×0.5 every schedule_epochs; cosine: to 0 over them
STOP_METRICS = ("none", "test_loss", "test_accuracy", "epochs")
MAX_SCHEDULE_EPOCHS = MAX_STOP_EPOCHS = 100_000
MAX_CUSTOM_CLASSES = 10  # custom data shows up to 10 classes (and trains on up to datasets.MAX_CLASSES)
# Every control a teacher can hide (state.hide), in the page's order: name -> label.
CONTROLS = {
    "dataset": "Dataset", "noise": "Noise", "perc_train": "Ratio of training to test data",
    "batch_size": "Batch size", "regenerate": "Regenerate", "features": "Features",
    "network": "Hidden layers and neurons", "activation": "Activation", "learning_rate": "Learning rate",
    "lr_schedule": "Learning-rate schedule", "regularization": "Regularization", "dropout": "Dropout",
    "stop": "Stop condition", "upload": "Upload a CSV", "draw": "Draw points", "edit_weights": "Edit weights",
    "save_load": "Save and load", "export": "Export to PyTorch", "sweep": "Sweep",
    "show_test_data": "Show test data", "discretize": "Discretize output", "hide_panel": "Teacher's panel",
}


@dataclass(frozen=True)
class PlaygroundState:
    dataset: str = "circle"
    noise: int = 0                 # percent, 0–50 in steps of 5
    perc_train: int = 50           # percent of points used for training, 10–90
    batch_size: int = 10           # 1–30
    # Deeper than the playground's 4-2 default and with sin features, so every dataset,
    # the spiral included, is learned within a few hundred epochs (tests/test_playground.py).
    features: tuple[str, ...] = ("x", "y", "sinX", "sinY")
    network_shape: tuple[int, ...] = (8, 8, 5)
    activation: str = "tanh"
    learning_rate: float = 0.03
    regularization: str = "none"
    regularization_rate: float = 0.0
    seed: int = 1
    show_test_data: bool = False
    discretize: bool = False
    # dlplay's additions
    n_classes: int = 2             # custom data only ("custom" dataset): 0 regression, 2 ±1, k classes 0..k−1
    dropout: float = 0.0           # on hidden outputs while training, 0–0.5
    layer_activations: tuple[str, ...] = ()  # one per hidden layer; () = all use `activation`
    lr_schedule: str = "constant"  # constant | step | cosine
    schedule_epochs: int = 200     # step: halve every this many epochs; cosine: reach 0 after them
    stop_metric: str = "none"      # none | test_loss | test_accuracy | epochs
    stop_value: float = 0.0        # the target: a loss, an accuracy (fraction 0–1), or a number of epochs
    hide: tuple[str, ...] = ()     # controls hidden from the page (a classroom preset); CONTROLS' names

    CONTROLS: ClassVar[dict[str, str]] = CONTROLS

    @property
    def classes(self) -> int:
        """What the labels are, whatever the dataset: 0 regression, 2 binary ±1, k classes."""
        return self.n_classes if self.dataset == datasets.CUSTOM else datasets.n_classes(self.dataset)

    @property
    def problem(self) -> str:
        return "regression" if self.classes == 0 else "classification"

    @property
    def hidden_activations(self) -> tuple[str, ...]:
        """The activation of each hidden layer."""
        return self.layer_activations or (self.activation,) * len(self.network_shape)

    def data_key(self) -> tuple:
        """Settings that make new points."""
        return self.dataset, self.noise, self.perc_train, self.seed, self.classes

    def network_key(self) -> tuple:
        """Settings that need a fresh network (the rest apply while it trains, dropout too)."""
        return self.data_key() + (self.features, self.network_shape, self.hidden_activations)

    def to_query(self) -> dict[str, str]:
        """URL query parameters, in the playground's names and formats."""
        custom = self.dataset == datasets.CUSTOM
        key = "regDataset" if self.problem == "regression" and not custom else "dataset"
        q = {key: self.dataset, "problem": self.problem}
        q.update({
            "learningRate": _num(self.learning_rate), "regularizationRate": _num(self.regularization_rate),
            "noise": str(self.noise), "networkShape": ",".join(map(str, self.network_shape)),
            "seed": str(self.seed), "showTestData": _bool(self.show_test_data),
            "discretize": _bool(self.discretize), "percTrainData": str(self.perc_train),
            "batchSize": str(self.batch_size), "activation": self.activation,
            "regularization": self.regularization,
        })
        q.update({k: _bool(k in self.features) for k in FEATURES})
        # dlplay's additions: only those away from their defaults, so plain links stay short
        if custom:
            q["numClasses"] = str(self.n_classes)
        extra = {"dropout": (self.dropout, 0.0, _num(self.dropout)),
                 "activations": (self.layer_activations, (), ",".join(self.layer_activations)),
                 "lrSchedule": (self.lr_schedule, "constant", self.lr_schedule),
                 "scheduleEpochs": (self.schedule_epochs, 200, str(self.schedule_epochs)),
                 "stopMetric": (self.stop_metric, "none", self.stop_metric),
                 "stopValue": (self.stop_value, 0.0, _exact(self.stop_value)),
                 "hide": (self.hide, (), ",".join(self.hide))}
        q.update({k: text for k, (value, default, text) in extra.items() if value != default})
        return q

    @classmethod
    def from_query(cls, query, allow_custom: bool = False) -> "PlaygroundState":
        """The state a URL describes; anything missing or malformed keeps its default.
        A URL is typed by anyone: inf, nan, 1e308, 10**400 digits, negative numbers,
        lists, 100 kB values — each is ignored or clamped, never an error.
        `dataset=custom` is read only with `allow_custom` (the points never travel in a URL:
        a page that has them in its session may say so); otherwise the default dataset."""
        q = {str(k): _text(v) for k, v in _items(query)}
        q = {k: v for k, v in q.items() if v is not None}
        changes = {}
        for key, parse in _PARSERS.items():
            # An empty networkShape means no hidden layer; other empty values mean "not given".
            if key in q and (q[key] != "" or key == "networkShape"):
                try:
                    changes.update(parse(q[key], q))
                except (ValueError, KeyError, OverflowError, TypeError):
                    pass
        if allow_custom and q.get("dataset") == datasets.CUSTOM:
            changes["dataset"] = datasets.CUSTOM
        else:  # built-in datasets know their classes: numClasses describes custom points only
            changes.pop("n_classes", None)
        if any(k in q for k in FEATURES):
            changes["features"] = tuple(k for k in FEATURES if _parse_bool(q.get(k, "false")))
        try:
            return cls().replace(**changes)
        except (ValueError, OverflowError, TypeError):  # belt and braces: a URL never breaks the page
            return cls()

    def replace(self, **changes) -> "PlaygroundState":
        return _clean(replace(self, **changes))


MAX_VALUE_CHARS = 200  # longer values are not settings (a shape is at most "8,8,8,8,8,8")


def _items(query) -> list:
    try:
        return list(dict(query).items())
    except (TypeError, ValueError):  # not a mapping at all
        return []


def _text(v) -> str | None:
    """A query value as stripped text: the last of repeated values; None when too long to
    be a setting (parsing 100 kB of digits costs time and says nothing)."""
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else ""
    text = str(v).strip()
    return text if len(text) <= MAX_VALUE_CHARS else None


def _finite(v: str) -> float:
    """A float that is a real number: inf, nan and overflowing text (1e999) are refused."""
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {v!r}")
    return x


def _int(v: str) -> int:
    """An integer from "12", "12.0" or "1e3"; clamping to the control's range comes later."""
    return int(_finite(v))


def _num(v: float) -> str:
    return f"{v:g}"


def _exact(v: float) -> str:
    """The shortest text that reads back as the same float: 0.95, 300."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _bool(v: bool) -> str:
    return "true" if v else "false"


def _parse_bool(v: str) -> bool:
    return str(v).strip().lower() not in ("false", "0", "no", "off")


def _nearest(value: float, options) -> float:
    # Clamped first: for 1e308 every option is equally far in floats, and the smallest would win.
    value = min(max(value, min(options)), max(options))
    return min(options, key=lambda o: abs(o - value))


def _parse_dataset(v, q):
    """`problem` picks between `dataset` and `regDataset`, as in the playground."""
    problem = q.get("problem") or ("regression" if "regDataset" in q and "dataset" not in q else "classification")
    if problem == "regression":
        return {"dataset": q.get("regDataset") if q.get("regDataset") in datasets.REGRESSION else "reg-plane"}
    classes = (*datasets.CLASSIFICATION, *datasets.MULTICLASS)  # the ±1 sets and the multi-class ones
    return {"dataset": q["dataset"]} if q.get("dataset") in classes else {}


def _parse_seed(v, q):
    try:
        return {"seed": int(v)}
    except ValueError:  # the playground's seeds look like "0.83127"
        return {"seed": zlib.crc32(v.encode()) % 100_000}


def _parse_shape(v, q):
    return {"network_shape": tuple(_int(n) for n in v.split(",") if n.strip())}


def _parse_activations(v, q):
    names = tuple(n.strip() for n in v.split(","))
    return {"layer_activations": names} if all(n in ACTIVATIONS for n in names) else {}


def _parse_hide(v, q):
    return {"hide": tuple(n.strip() for n in v.split(","))}  # unknown names are dropped by _clean


def _choice(field: str, options):
    return lambda v, q: {field: v} if v in options else {}


_PARSERS = {
    "problem": _parse_dataset,
    "dataset": _parse_dataset,
    "regDataset": _parse_dataset,
    "noise": lambda v, q: {"noise": _int(v)},
    "percTrainData": lambda v, q: {"perc_train": _int(v)},
    "batchSize": lambda v, q: {"batch_size": _int(v)},
    "networkShape": _parse_shape,
    "activation": lambda v, q: {"activation": v} if v in ACTIVATIONS else {},
    "learningRate": lambda v, q: {"learning_rate": _finite(v)},
    "regularization": lambda v, q: {"regularization": v} if v in REGULARIZATIONS else {},
    "regularizationRate": lambda v, q: {"regularization_rate": _finite(v)},
    "seed": _parse_seed,
    "showTestData": lambda v, q: {"show_test_data": _parse_bool(v)},
    "discretize": lambda v, q: {"discretize": _parse_bool(v)},
    "numClasses": lambda v, q: {"n_classes": _int(v)},
    "dropout": lambda v, q: {"dropout": _finite(v)},
    "activations": _parse_activations,
    "lrSchedule": _choice("lr_schedule", LR_SCHEDULES),
    "scheduleEpochs": lambda v, q: {"schedule_epochs": _int(v)},
    "stopMetric": _choice("stop_metric", STOP_METRICS),
    "stopValue": lambda v, q: {"stop_value": _finite(v)},
    "hide": _parse_hide,
}


def _clamp(v, lo, hi):
    return min(hi, max(lo, v))


def _layer_activations(acts, activation: str, n_layers: int) -> tuple[str, ...]:
    """One known name per hidden layer (missing ones take `activation`), or () when they
    all are `activation`, so equal networks have equal states."""
    acts = tuple(a if a in ACTIVATIONS else activation for a in tuple(acts)[:n_layers])
    acts += (activation,) * (n_layers - len(acts))
    return () if all(a == activation for a in acts) else acts


def _stop_value(metric: str, v) -> float:
    v = float(v)
    if not math.isfinite(v):
        return 0.0
    if metric == "epochs":
        return float(_clamp(round(v), 1, MAX_STOP_EPOCHS))
    if metric == "test_accuracy":
        return _clamp(v, 0.0, 1.0)
    return _clamp(v, 0.0, 1e6)


def _clean(s: PlaygroundState) -> PlaygroundState:
    """Snap every value onto what the controls offer."""
    shape = tuple(min(MAX_NEURONS, max(1, int(n))) for n in s.network_shape)[:MAX_LAYERS]
    n_classes = _clamp(int(s.n_classes), 0, MAX_CUSTOM_CLASSES)
    hide = set(s.hide) if isinstance(s.hide, (tuple, list, set, frozenset)) else set()
    activation = s.activation if s.activation in ACTIVATIONS else "tanh"
    return replace(
        s,
        dataset=s.dataset if s.dataset in datasets.DATASETS or s.dataset == datasets.CUSTOM else "circle",
        activation=activation,
        n_classes=2 if n_classes == 1 else n_classes,
        dropout=_nearest(_clamp(float(s.dropout), 0.0, MAX_DROPOUT), DROPOUTS),
        layer_activations=_layer_activations(s.layer_activations, activation, len(shape)),
        lr_schedule=s.lr_schedule if s.lr_schedule in LR_SCHEDULES else "constant",
        schedule_epochs=_clamp(int(s.schedule_epochs), 1, MAX_SCHEDULE_EPOCHS),
        stop_metric=s.stop_metric if s.stop_metric in STOP_METRICS else "none",
        stop_value=_stop_value(s.stop_metric, s.stop_value),
        hide=tuple(k for k in CONTROLS if k in hide),
        noise=min(50, max(0, int(round(s.noise / 5)) * 5)),
        perc_train=min(90, max(10, int(round(s.perc_train / 10)) * 10)),
        batch_size=min(30, max(1, int(s.batch_size))),
        features=tuple(ordered(f for f in s.features if f in FEATURES)),
        network_shape=shape,
        learning_rate=_nearest(s.learning_rate, LEARNING_RATES),
        regularization_rate=_nearest(s.regularization_rate, REG_RATES),
        seed=int(s.seed) % 100_000,
    )
