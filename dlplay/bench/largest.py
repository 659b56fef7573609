"""Each page's largest settings — its widgets at their maximum, the last or costliest option — as
specs, and the largest of them a shared server accepts.

`largest(page)` gives `(what, spec)` for each choice that may be the page's largest (where a choice
changes the network, each one); `table()` all of them as `(page, what, spec)`.
`largest_accepted(page, limits)` lowers each choice until the shared server accepts it —
`dlplay.limits.too_costly` (memory on any machine, a step's time and a run far over the time
cap on a shared server) and `over_budget` (training examples per run) — and returns the costliest
result. What it lowers follows the refusal: a run too big or a step too slow lowers its `SIZES`
(the batch size first, then the sequence length, then the network's sizes and its own data),
each halved until accepted or at its minimum, then the next; a run too long, or over the
examples a run may train on, lowers its `COUNTS` (epochs, steps, trials, folds, examples). Once accepted, the sizes lowered are raised back, the last lowered first,
as far as the server still accepts: a head too wide for memory at batch 512 is narrowed while
the batch goes back to 512.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

def shared_default():
    """A shared server's default limits (`dlplay.limits.DEFAULTS`): 2,000,000 training examples per run,
    400 fits per search, 15 minutes of training, 24 runs waiting, a step of at most 4 s."""
    from dlplay import limits

    return limits.Limits(2_000_000, 400, 900, 24)


# --- the pages' largest settings --------------------------------------------------------------

def _mlp():
    from dlplay.classify import ClassifierSpec
    from dlplay.train import TrainConfig

    return [("4 × 512 units, GELU, dropout 0.7, Adam, batch 512, 30 epochs",
             ClassifierSpec(dataset="fashion_mnist", hidden=(512,) * 4, activation="gelu", dropout=0.7,
                            train=TrainConfig(optimizer="adam", batch_size=512, epochs=30)))]


def _ae():
    from dlplay.generative.autoencoders import AESpec
    from dlplay.train import TrainConfig

    return [("k = 64, all images, 50 epochs",
             AESpec(dataset="fashion_mnist", k=64, n_train=0, train=TrainConfig(epochs=50, schedule="cosine"))),
            ("k = 64, 20,000 images (a copy of its own), 50 epochs",
             AESpec(dataset="fashion_mnist", k=64, n_train=20_000, train=TrainConfig(epochs=50, schedule="cosine")))]


def _dn():
    from dlplay.generative.denoise import DenoiseSpec, Noise
    from dlplay.train import TrainConfig

    return [("k = 64, squares 0.8 wide, all images, 50 epochs",
             DenoiseSpec(dataset="fashion_mnist", k=64, noise=Noise("square", 0.8), n_train=0,
                         train=TrainConfig(epochs=50, schedule="cosine")))]


def _morph():
    from dlplay.generative.morph import MorphSpec

    return [("k = 32, all images, 50 epochs", MorphSpec(dataset="fashion_mnist", k=32, n_train=0, epochs=50))]


def _vae():
    from dlplay.generative.vae import VAESpec

    return [("latent 32, 512 → 256, β = 8, all images, batch 256, 50 epochs",
             VAESpec(dataset="fashion_mnist", latent_dim=32, hidden=(512, 256), beta=8.0, n_train=0, epochs=50,
                     lr=1e-2, batch_size=256))]


def _gan():
    from dlplay.generative.gan import GANSpec

    return [("z = 100, width 64, all images, batch 128, 50 epochs",
             GANSpec(dataset="fashion_mnist", n_train=0, nz=100, width=64, epochs=50, batch_size=128, lr=1e-2))]


def _cnn():
    from dlplay.train import TrainConfig
    from dlplay.vision.cnn import from_preset

    return [("'deeper, untuned' on CIFAR-10, dense head 100000, 100000, batch 512, 30 epochs",
             from_preset("deeper, untuned", "cifar10", dense=(100_000, 100_000), dropout=0.7, augment=True,
                         train=TrainConfig(batch_size=512, epochs=30))),
            ("'deeper, untuned' on CIFAR-10, its own head, batch 512, 30 epochs",
             from_preset("deeper, untuned", "cifar10", augment=True, train=TrainConfig(batch_size=512, epochs=30)))]


def _tl():
    from dlplay.vision.transfer import TransferSpec

    return [("Caltech 101, MobileNetV2 at 96 px, fine-tuned, budgets 5-30, 600 steps",
             TransferSpec(task="caltech101", body="mobilenet_v2", strategy="finetune", budgets=(5, 10, 15, 20, 30),
                          steps=600, image_size=96)),
            ("Caltech 101, ResNet18 at 96 px, frozen, budgets 5-30, 600 steps",
             TransferSpec(task="caltech101", body="resnet18", strategy="frozen", budgets=(5, 10, 15, 20, 30),
                          steps=600, image_size=96)),
            ("CIFAR-10, dlplay's body, fine-tuned, budgets 10-500, 600 steps",
             TransferSpec(task="cifar10", body="own", strategy="finetune", budgets=(10, 25, 50, 100, 250, 500),
                          steps=600))]


def _forget():
    from dlplay.vision.forgetting import ForgetSpec

    return [("permuted MNIST, small CNN, rehearsal of 2,000, all images, 20 + 20 epochs",
             ForgetSpec(pair="permuted", model="cnn", remedy="rehearsal", buffer=2000, n_train=0, epochs_a=20,
                        epochs_b=20)),
            ("permuted MNIST, MLP, EWC, all images, 20 + 20 epochs",
             ForgetSpec(pair="permuted", model="mlp", remedy="ewc", n_train=0, epochs_a=20, epochs_b=20))]


def _imgreg():
    from dlplay.vision.regression import RegressionSpec

    return [("UTKFace, every image held in memory, 20 epochs",
             RegressionSpec(source="utkface", n_train=0, in_memory=True,
                            train=replace(RegressionSpec().train, epochs=20, lr=1e-2))),
            ("UTKFace, read by 4 workers 4 batches ahead, 20 epochs",
             RegressionSpec(source="utkface", n_train=0, workers=4, prefetch=4,
                            train=replace(RegressionSpec().train, epochs=20, lr=1e-2)))]


def _sent():
    from dlplay.text.models import NetSpec
    from dlplay.text.sentiment import SentimentSpec

    return [("BiLSTM 4 × 256, 800 words, 30,000 words, batch 256, 30 epochs",
             SentimentSpec(corpus="imdb_csv", n_train=0, vocab_size=30_000, max_len=800,
                           net=NetSpec(kind="bilstm", embed_dim=256, hidden=256, layers=4, dropout=0.7),
                           train=replace(SentimentSpec().train, epochs=30, batch_size=256))),
            ("Transformer 4 layers, 256 wide, 8 heads, feed-forward 512, 800 words, batch 256, 30 epochs",
             SentimentSpec(corpus="imdb_csv", n_train=0, vocab_size=30_000, max_len=800,
                           net=NetSpec(kind="transformer", embed_dim=256, layers=4, heads=8, ff=512,
                                       positional="learned"),
                           train=replace(SentimentSpec().train, epochs=30, batch_size=256)))]


def _seqae():
    from dlplay.text.seqae import SeqAESpec

    return [("IMDB (CSV), 60 words, 10,000 words, LSTM 256, code 128, teacher forcing 0.5, 40 epochs",
             SeqAESpec(corpus="imdb_csv", n_train=0, max_len=60, vocab_size=10_000, embed=128, hidden=256, code=128,
                       teacher_forcing=0.5, word_dropout=0.5, train=replace(SeqAESpec().train, epochs=40)))]


def _overfit():
    from dlplay.craft.overfit import OverfitSpec
    from dlplay.train import TrainConfig

    return [("AG News, 10,000 TF-IDF features, 1024-1024, 5,000 examples, dropout 0.8, 60 epochs",
             OverfitSpec(dataset="ag_news", n_train=5000, max_features=10_000, hidden=(1024, 1024), l1=1e-3, l2=1e-1,
                         dropout=0.8, patience=10,
                         train=TrainConfig(optimizer="adam", batch_size=64, epochs=60, schedule="constant")))]


def _pipe():
    from dlplay.craft.pipeline import PipelineSpec

    return [("20,000 images, batch 256, 10 repeats", PipelineSpec(n_train=20_000, batch_size=256, epochs=10))]


def _search():
    from dlplay.craft.search import SearchSpec

    return [("grid of 4 values, 5 folds, 60,000 examples, up to 4 × 1024 units and batch 512, 10 epochs",
             SearchSpec(method="grid", validation="kfold", folds=5, grid_points=4, n_examples=60_000, epochs=10,
                        width=(16, 1024), depth=(1, 4), dropout=(0.0, 0.5), weight_decay=(0.0, 1e-2),
                        batch_size=(16, 512))),
            ("Optuna, 64 trials, hold-out, 60,000 examples, up to 4 × 1024 units and batch 512, 10 epochs",
             SearchSpec(method="optuna", n_trials=64, n_examples=60_000, epochs=10, width=(16, 1024), depth=(1, 4),
                        batch_size=(16, 512)))]


def _diag():
    from dlplay.craft.diagnosis import CASES, DiagnosisSpec

    return [("10,000 images, 2 × 256 units, batch 128, 5 epochs",
             DiagnosisSpec(case=list(CASES)[-1], n_train=10_000, epochs=5, hidden=256, batch_size=128))]


def _music():
    from dlplay.music.training import MusicSpec

    return [("MuseData, 88 keys, LSTM 3 × 512, windows of 200, batch 64, 100 epochs",
             MusicSpec(dataset="muse", model="roll", hidden=512, layers=3, dropout=0.5, epochs=100, window=200,
                       batch_size=64)),
            ("MuseData, two hands, LSTM 3 × 512, windows of 200, batch 64, 100 epochs",
             MusicSpec(dataset="muse", model="hands", hidden=512, layers=3, dropout=0.5, epochs=100, window=200,
                       batch_size=64))]


# page KEY → its largest settings, [(what, spec)]: every lesson with `Lesson.cost`.
LARGEST: dict[str, Callable[[], list[tuple[str, Any]]]] = {
    "mlp": _mlp, "ae": _ae, "dn": _dn, "morph": _morph, "vae": _vae, "gan": _gan, "cnn": _cnn, "tl": _tl,
    "forget": _forget, "imgreg": _imgreg, "sent": _sent, "seqae": _seqae, "overfit": _overfit, "pipe": _pipe,
    "search": _search, "diag": _diag, "music": _music,
}


def largest(page: str) -> list[tuple[str, Any]]:
    return LARGEST[page]()


def table() -> list[tuple[str, str, Any]]:
    """Every page's largest settings as (page, what, spec)."""
    return [(page, what, spec) for page, make in LARGEST.items() for what, spec in make()]


# --- lowering until accepted ------------------------------------------------------------------

def _get(spec, path: str):
    for name in path.split("."):
        spec = getattr(spec, name)
    return spec


def _set(spec, path: str, value):
    head, _, rest = path.partition(".")
    return replace(spec, **{head: _set(getattr(spec, head), rest, value) if rest else value})


def half(low: int, zero: int = 0) -> Callable[[Any], Any]:
    """An int, or each int of a tuple, halved (not below `low`); None when nothing changes. `zero`:
    what a 0 stands for (a training subset of 0 is the whole split)."""
    def lower(value):
        if isinstance(value, tuple):
            new = tuple(max(low, v // 2) for v in value)
        else:
            new = max(low, (value or zero) // 2)
        return None if new == value or not value and new >= zero else new
    return lower


def upper_half(low: int) -> Callable[[Any], Any]:
    """A searched range's upper end halved (not below its lower end or `low`)."""
    def lower(value):
        lo, hi = value
        new = (lo, max(lo, low, type(hi)(hi // 2)))
        return None if new == value else new
    return lower


def filters_half(low: int) -> Callable[[Any], Any]:
    """Every convolution's filters halved (a CNN's blocks)."""
    def lower(blocks):
        new = tuple(replace(b, filters=max(low, b.filters // 2)) if b.kind == "conv" else b for b in blocks)
        return None if new == blocks else new
    return lower


# page KEY → [(spec field, how to lower it)]: what a run too big for memory or with too slow a step
# lowers, in order — the batch size first, then the sequence length, then the sizes and its own data.
SIZES: dict[str, list[tuple[str, Callable]]] = {
    "mlp": [("train.batch_size", half(16)), ("hidden", half(16))],
    "ae": [("train.batch_size", half(16)), ("k", half(2)), ("n_train", half(1000))],
    "dn": [("train.batch_size", half(16)), ("k", half(2)), ("n_train", half(1000))],
    "morph": [("k", half(2)), ("n_train", half(1000))],
    "vae": [("batch_size", half(16)), ("hidden", half(16)), ("latent_dim", half(2))],
    "gan": [("batch_size", half(16)), ("width", half(8)), ("n_train", half(1000))],
    "cnn": [("train.batch_size", half(16)), ("dense", half(16)), ("blocks", filters_half(4))],
    "tl": [("batch_size", half(8)), ("image_size", half(32)), ("budgets", half(1))],
    "forget": [("train.batch_size", half(16)), ("buffer", half(100)), ("hidden", half(16)), ("n_train", half(1000))],
    "imgreg": [("train.batch_size", half(16)), ("n_train", half(1000)), ("prefetch", half(1)), ("workers", half(1))],
    "sent": [("train.batch_size", half(16)), ("max_len", half(50)), ("net.hidden", half(16)),
             ("net.embed_dim", half(32)), ("net.ff", half(32)), ("net.layers", half(1))],
    "seqae": [("train.batch_size", half(8)), ("max_len", half(10)), ("hidden", half(16)), ("embed", half(16)),
              ("vocab_size", half(1000))],
    "overfit": [("train.batch_size", half(16)), ("hidden", half(16)), ("max_features", half(1000)),
                ("n_train", half(500))],
    "pipe": [("batch_size", half(16)), ("n_train", half(1000))],
    "search": [("batch_size", upper_half(16)), ("width", upper_half(16)), ("depth", upper_half(1)),
               ("n_examples", half(1000))],
    "diag": [("batch_size", half(16)), ("hidden", half(16)), ("n_train", half(1000))],
    "music": [("batch_size", half(4)), ("window", half(25)), ("hidden", half(32)), ("layers", half(1))],
}

# page KEY → what a run too long for the time cap (or over the training examples a run may have)
# lowers: how many times it goes over its data (a third element: only for specs it is true of).
FASHION, CIFAR, IMDB = 58_000, 45_000, 25_000  # training images or texts a subset of 0 stands for, about
COUNTS: dict[str, list[tuple[str, Callable]]] = {
    "mlp": [("train.epochs", half(1))],
    "ae": [("train.epochs", half(1)), ("n_train", half(1000, FASHION))],
    "dn": [("train.epochs", half(1)), ("n_train", half(1000, FASHION))],
    "morph": [("epochs", half(1)), ("n_train", half(1000, FASHION))],
    "vae": [("epochs", half(1)), ("n_train", half(1000, FASHION))],
    "gan": [("epochs", half(1)), ("n_train", half(1000, FASHION))],
    "cnn": [("train.epochs", half(1)), ("n_train", half(1000, CIFAR))], "tl": [("steps", half(50))],
    "forget": [("epochs_b", half(1)), ("epochs_a", half(1)), ("n_train", half(1000, 60_000))],
    "imgreg": [("train.epochs", half(1)), ("n_train", half(1000, 20_000))],
    "sent": [("train.epochs", half(1)), ("n_train", half(1000, IMDB))],
    "seqae": [("train.epochs", half(1)), ("n_train", half(1000, IMDB))],
    "overfit": [("train.epochs", half(1)), ("n_train", half(500))],
    "pipe": [("epochs", half(1))],
    "search": [("epochs", half(1)), ("n_trials", half(4), lambda s: s.method != "grid"),
               ("grid_points", half(2), lambda s: s.method == "grid"),
               ("folds", half(2), lambda s: s.validation == "kfold"), ("n_examples", half(1000))],
    "diag": [("epochs", half(1))], "music": [("epochs", half(1))],
}


@dataclass
class Accepted:
    page: str
    what: str  # the page's largest setting this was lowered from
    spec: Any  # what the server accepts
    cost: Any  # its `dlplay.costs.Cost`
    lowered: dict[str, tuple[Any, Any]]  # field → (largest, accepted)

    def describe(self) -> str:
        if not self.lowered:
            return self.what
        changes = ", ".join(f"{name} {a} → {b}" for name, (a, b) in self.lowered.items())
        return f"{self.what}; lowered: {changes}"


def refusal(page: str, spec, limits) -> tuple[str | None, Any]:
    """(why the shared server refuses this spec or None, its cost)."""
    from dlplay import limits as rules
    from dlplay.runs.lesson import lesson_for

    lesson = lesson_for(page)
    work = lesson.work(spec) if lesson.work is not None else None  # loads the data it counts, as the page has
    cost = lesson.cost(spec)
    return rules.too_costly(cost, limits) or rules.over_budget(work, limits), cost


def accept(page: str, what: str, spec, limits=None) -> Accepted | None:
    """`spec` lowered until accepted (module docstring); None if lowering everything isn't enough."""
    limits = limits or shared_default()
    largest, trail = spec, []  # trail: (field, the values it took) of the sizes lowered
    why, cost = refusal(page, spec, limits)
    while why is not None:
        # Too long, or over the examples a run may train on: fewer passes over the data (a smaller
        # batch would only take more steps); too big or too slow a step: smaller sizes.
        long = why.startswith(("Too long", "Too big for this shared server"))
        for name, lower, *when in COUNTS[page] if long else SIZES[page]:
            if (not when or when[0](spec)) and (value := lower(_get(spec, name))) is not None:
                break
        else:
            return None
        if not long:
            if not trail or trail[-1][0] != name:
                trail.append((name, [_get(spec, name)]))
            trail[-1][1].append(value)
        spec = _set(spec, name, value)
        why, cost = refusal(page, spec, limits)
    for name, values in reversed(trail):  # raise the sizes back, the last lowered first
        for value in reversed(values[:-1]):
            if (up := refusal(page, _set(spec, name, value), limits))[0] is not None:
                break
            spec, cost = _set(spec, name, value), up[1]
    lowered = {name: (_get(largest, name), _get(spec, name)) for name, *_ in COUNTS[page] + SIZES[page]
               if _get(largest, name) != _get(spec, name)}
    return Accepted(page, what, spec, cost, lowered)


def accepted(page: str, limits=None) -> list[Accepted]:
    """Each of the page's largest settings lowered until accepted, the costliest (peak memory) first."""
    found = [a for what, spec in largest(page) if (a := accept(page, what, spec, limits)) is not None]
    return sorted(found, key=lambda a: -a.cost.peak_mb)


def largest_accepted(page: str, limits=None) -> Accepted | None:
    """The page's costliest setting a shared server with `limits` (default: `shared_default()`) accepts."""
    found = accepted(page, limits)
    return found[0] if found else None
