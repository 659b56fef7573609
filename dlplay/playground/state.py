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

from dlplay.playground import datasets
from dlplay.playground.features import FEATURES, ordered
from dlplay.playground.net import ACTIVATIONS, REGULARIZATIONS

# The playground's menus.
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LAYERS, MAX_NEURONS = 6, 8


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

    @property
    def problem(self) -> str:
        return "regression" if datasets.is_regression(self.dataset) else "classification"

    def data_key(self) -> tuple:
        """Settings that make new points."""
        return self.dataset, self.noise, self.perc_train, self.seed

    def network_key(self) -> tuple:
        """Settings that need a fresh network (the rest apply while it trains)."""
        return self.data_key() + (self.features, self.network_shape, self.activation)

    def to_query(self) -> dict[str, str]:
        """URL query parameters, in the playground's names and formats."""
        q = {"regDataset" if self.problem == "regression" else "dataset": self.dataset, "problem": self.problem}
        q.update({
            "learningRate": _num(self.learning_rate), "regularizationRate": _num(self.regularization_rate),
            "noise": str(self.noise), "networkShape": ",".join(map(str, self.network_shape)),
            "seed": str(self.seed), "showTestData": _bool(self.show_test_data),
            "discretize": _bool(self.discretize), "percTrainData": str(self.perc_train),
            "batchSize": str(self.batch_size), "activation": self.activation,
            "regularization": self.regularization,
        })
        q.update({k: _bool(k in self.features) for k in FEATURES})
        return q

    @classmethod
    def from_query(cls, query) -> "PlaygroundState":
        """The state a URL describes; anything missing or malformed keeps its default.
        A URL is typed by anyone: inf, nan, 1e308, 10**400 digits, negative numbers,
        lists, 100 kB values — each is ignored or clamped, never an error."""
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
    return {"dataset": q["dataset"]} if q.get("dataset") in datasets.CLASSIFICATION else {}


def _parse_seed(v, q):
    try:
        return {"seed": int(v)}
    except ValueError:  # the playground's seeds look like "0.83127"
        return {"seed": zlib.crc32(v.encode()) % 100_000}


def _parse_shape(v, q):
    return {"network_shape": tuple(_int(n) for n in v.split(",") if n.strip())}


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
}


def _clean(s: PlaygroundState) -> PlaygroundState:
    """Snap every value onto what the controls offer."""
    shape = tuple(min(MAX_NEURONS, max(1, int(n))) for n in s.network_shape)[:MAX_LAYERS]
    return replace(
        s,
        noise=min(50, max(0, int(round(s.noise / 5)) * 5)),
        perc_train=min(90, max(10, int(round(s.perc_train / 10)) * 10)),
        batch_size=min(30, max(1, int(s.batch_size))),
        features=tuple(ordered(f for f in s.features if f in FEATURES)),
        network_shape=shape,
        learning_rate=_nearest(s.learning_rate, LEARNING_RATES),
        regularization_rate=_nearest(s.regularization_rate, REG_RATES),
        seed=int(s.seed) % 100_000,
    )
