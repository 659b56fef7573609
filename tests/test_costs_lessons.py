"""Every lesson that sizes its runs (`Lesson.cost`, dlplay.costs): its default setting is sized in
seconds and fits the default memory cap; its largest settings — each page's widgets at their
maximum, in one table below — are sized without allocating them and are either refused (naming
what to lower) or fit; and for three small lessons the estimate covers a real training step."""
from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import pytest
import torch
from torch import nn

from dlplay import costs, limits
from dlplay.runs.lesson import REGISTRY, lesson_for
from dlplay.classify import ClassifierSpec
from dlplay.craft.diagnosis import CASES, DiagnosisSpec
from dlplay.craft.overfit import OverfitSpec
from dlplay.craft.pipeline import PipelineSpec
from dlplay.craft.search import SearchSpec
from dlplay.generative.autoencoders import AESpec
from dlplay.generative.denoise import DenoiseSpec, Noise
from dlplay.generative.gan import GANSpec
from dlplay.generative.morph import MorphSpec
from dlplay.generative.vae import VAESpec
from dlplay.music.training import MusicSpec
from dlplay.text.models import NetSpec
from dlplay.text.sentiment import SentimentSpec
from dlplay.text.seqae import SeqAESpec
from dlplay.train import TrainConfig
from dlplay.vision.cnn import from_preset
from dlplay.vision.forgetting import ForgetSpec
from dlplay.vision.regression import RegressionSpec
from dlplay.vision.transfer import TransferSpec
from tests.conftest import ROOT

SHARED = limits.Limits(10**9, 10**9, 900, 24)  # a shared server: a step of at most 4 s, a run of 15 min
SIZED = [page for page in REGISTRY if lesson_for(page).cost is not None]

# The largest settings each page allows (sliders at their maximum, the last or costliest option),
# as (page, what, spec). Where a choice changes the network, each choice that may be the largest.
LARGEST = [
    ("mlp", "4 × 512 units, GELU, dropout 0.7, Adam, batch 512, 30 epochs",
     ClassifierSpec(dataset="fashion_mnist", hidden=(512,) * 4, activation="gelu", dropout=0.7,
                    train=TrainConfig(optimizer="adam", batch_size=512, epochs=30))),
    ("ae", "k = 64, all images, 50 epochs",
     AESpec(dataset="fashion_mnist", k=64, n_train=0, train=TrainConfig(epochs=50, schedule="cosine"))),
    ("ae", "k = 64, 20,000 images (a copy of its own), 50 epochs",
     AESpec(dataset="fashion_mnist", k=64, n_train=20_000, train=TrainConfig(epochs=50, schedule="cosine"))),
    ("dn", "k = 64, squares 0.8 wide, all images, 50 epochs",
     DenoiseSpec(dataset="fashion_mnist", k=64, noise=Noise("square", 0.8), n_train=0,
                 train=TrainConfig(epochs=50, schedule="cosine"))),
    ("morph", "k = 32, all images, 50 epochs", MorphSpec(dataset="fashion_mnist", k=32, n_train=0, epochs=50)),
    ("vae", "latent 32, 512 → 256, β = 8, all images, batch 256, 50 epochs",
     VAESpec(dataset="fashion_mnist", latent_dim=32, hidden=(512, 256), beta=8.0, n_train=0, epochs=50, lr=1e-2,
             batch_size=256)),
    ("gan", "z = 100, width 64, all images, batch 128, 50 epochs",
     GANSpec(dataset="fashion_mnist", n_train=0, nz=100, width=64, epochs=50, batch_size=128, lr=1e-2)),
    ("cnn", "'deeper, untuned' on CIFAR-10, dense head 100000, 100000, batch 512, 30 epochs",
     from_preset("deeper, untuned", "cifar10", dense=(100_000, 100_000), dropout=0.7, augment=True,
                 train=TrainConfig(batch_size=512, epochs=30))),
    ("cnn", "'deeper, untuned' on CIFAR-10, its own head, batch 512, 30 epochs",
     from_preset("deeper, untuned", "cifar10", augment=True, train=TrainConfig(batch_size=512, epochs=30))),
    ("tl", "Caltech 101, MobileNetV2 at 96 px, fine-tuned, budgets 5-30, 600 steps",
     TransferSpec(task="caltech101", body="mobilenet_v2", strategy="finetune", budgets=(5, 10, 15, 20, 30),
                  steps=600, image_size=96)),
    ("tl", "Caltech 101, ResNet18 at 96 px, frozen, budgets 5-30, 600 steps",
     TransferSpec(task="caltech101", body="resnet18", strategy="frozen", budgets=(5, 10, 15, 20, 30), steps=600,
                  image_size=96)),
    ("tl", "CIFAR-10, dlplay's body, fine-tuned, budgets 10-500, 600 steps",
     TransferSpec(task="cifar10", body="own", strategy="finetune", budgets=(10, 25, 50, 100, 250, 500), steps=600)),
    ("forget", "permuted MNIST, small CNN, rehearsal of 2,000, all images, 20 + 20 epochs",
     ForgetSpec(pair="permuted", model="cnn", remedy="rehearsal", buffer=2000, n_train=0, epochs_a=20, epochs_b=20)),
    ("forget", "permuted MNIST, MLP, EWC, all images, 20 + 20 epochs",
     ForgetSpec(pair="permuted", model="mlp", remedy="ewc", n_train=0, epochs_a=20, epochs_b=20)),
    ("imgreg", "UTKFace, every image held in memory, 20 epochs",
     RegressionSpec(source="utkface", n_train=0, in_memory=True,
                    train=replace(RegressionSpec().train, epochs=20, lr=1e-2))),
    ("imgreg", "UTKFace, read by 4 workers 4 batches ahead, 20 epochs",
     RegressionSpec(source="utkface", n_train=0, workers=4, prefetch=4,
                    train=replace(RegressionSpec().train, epochs=20, lr=1e-2))),
    ("sent", "BiLSTM 4 × 256, 800 words, 30,000 words, batch 256, 30 epochs",
     SentimentSpec(corpus="imdb_csv", n_train=0, vocab_size=30_000, max_len=800,
                   net=NetSpec(kind="bilstm", embed_dim=256, hidden=256, layers=4, dropout=0.7),
                   train=replace(SentimentSpec().train, epochs=30, batch_size=256))),
    ("sent", "Transformer 4 layers, 256 wide, 8 heads, feed-forward 512, 800 words, batch 256, 30 epochs",
     SentimentSpec(corpus="imdb_csv", n_train=0, vocab_size=30_000, max_len=800,
                   net=NetSpec(kind="transformer", embed_dim=256, layers=4, heads=8, ff=512, positional="learned"),
                   train=replace(SentimentSpec().train, epochs=30, batch_size=256))),
    ("seqae", "IMDB (CSV), 60 words, 10,000 words, LSTM 256, code 128, teacher forcing 0.5, 40 epochs",
     SeqAESpec(corpus="imdb_csv", n_train=0, max_len=60, vocab_size=10_000, embed=128, hidden=256, code=128,
               teacher_forcing=0.5, word_dropout=0.5, train=replace(SeqAESpec().train, epochs=40))),
    ("overfit", "AG News, 10,000 TF-IDF features, 1024-1024, 5,000 examples, dropout 0.8, 60 epochs",
     OverfitSpec(dataset="ag_news", n_train=5000, max_features=10_000, hidden=(1024, 1024), l1=1e-3, l2=1e-1,
                 dropout=0.8, patience=10, train=TrainConfig(optimizer="adam", batch_size=64, epochs=60,
                                                             schedule="constant"))),
    ("pipe", "20,000 images, batch 256, 10 repeats", PipelineSpec(n_train=20_000, batch_size=256, epochs=10)),
    ("search", "grid of 4 values, 5 folds, 60,000 examples, up to 4 × 1024 units and batch 512, 10 epochs",
     SearchSpec(method="grid", validation="kfold", folds=5, grid_points=4, n_examples=60_000, epochs=10,
                width=(16, 1024), depth=(1, 4), dropout=(0.0, 0.5), weight_decay=(0.0, 1e-2), batch_size=(16, 512))),
    ("search", "Optuna, 64 trials, hold-out, 60,000 examples, up to 4 × 1024 units and batch 512, 10 epochs",
     SearchSpec(method="optuna", n_trials=64, n_examples=60_000, epochs=10, width=(16, 1024), depth=(1, 4),
                batch_size=(16, 512))),
    ("diag", "10,000 images, 2 × 256 units, batch 128, 5 epochs",
     DiagnosisSpec(case=list(CASES)[-1], n_train=10_000, epochs=5, hidden=256, batch_size=128)),
    ("music", "MuseData, 88 keys, LSTM 3 × 512, windows of 200, batch 64, 100 epochs",
     MusicSpec(dataset="muse", model="roll", hidden=512, layers=3, dropout=0.5, epochs=100, window=200,
               batch_size=64)),
    ("music", "MuseData, two hands, LSTM 3 × 512, windows of 200, batch 64, 100 epochs",
     MusicSpec(dataset="muse", model="hands", hidden=512, layers=3, dropout=0.5, epochs=100, window=200,
               batch_size=64)),
]


@pytest.fixture(scope="module", autouse=True)
def _sizing_warmed_up():
    """The first sizing in a process sets up the meta device and the FLOP counter (~1.5 s)."""
    costs.torch_cost(lambda n: nn.Linear(4, 4), lambda b, n: (torch.zeros(b, 4),), batch=4)


@pytest.fixture
def default_cap(monkeypatch):
    monkeypatch.delenv("DLPLAY_MAX_RUN_MB", raising=False)
    monkeypatch.delenv("DLPLAY_MAX_JOBS", raising=False)
    return limits.max_run_mb()


@pytest.mark.parametrize("page", SIZED)
def test_a_default_setting_is_sized_in_seconds_and_fits_the_default_cap(page, default_cap):
    lesson = lesson_for(page)
    spec = lesson.spec_type()
    if lesson.work is not None:
        lesson.work(spec)  # the data it counts, loaded as its page has loaded it before Train
    start = time.perf_counter()
    cost = lesson.cost(spec)
    took = time.perf_counter() - start
    assert took < 5, f"{page}: sized in {took:.1f} s"
    assert cost.peak_mb <= default_cap, f"{page}: {cost.describe()}"
    assert cost.steps > 0 and cost.step_s() > 0 and cost.weights_mb > 0


def test_every_sized_lesson_has_its_largest_settings_in_the_table():
    assert sorted(SIZED) == sorted({page for page, _, _ in LARGEST})


@pytest.mark.slow
@pytest.mark.parametrize("page, what, spec", LARGEST, ids=[f"{page}: {what}" for page, what, _ in LARGEST])
def test_the_largest_settings_are_refused_naming_what_to_lower_or_fit(page, what, spec, default_cap):
    lesson = lesson_for(page)
    if lesson.work is not None:
        lesson.work(spec)  # the data it counts, loaded as its page has loaded it before Train
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    cost = lesson.cost(spec)
    assert time.perf_counter() - start < 20
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 300, "MB grown while sizing"
    refused = limits.too_costly(cost, SHARED)
    if refused is not None:
        assert f"Lower {cost.lower}" in refused
    else:
        assert cost.peak_mb <= default_cap and cost.step_s() <= SHARED.max_step_s


# A real training step of a lesson's network, built by the lesson's own code, in a fresh process:
# (its estimated peak, the growth of its peak RSS over two steps). The peak is the kernel's high-water
# mark, reset before the steps: getrusage's maximum starts at the parent's size (Linux keeps it across
# fork and exec), and a pytest process that imported every lesson is larger than a step. The estimate
# is taken after the steps, as it may load the dataset it counts.
REAL_STEP = textwrap.dedent("""
    import re, sys, types, torch
    import torch.nn.functional as F
    page = sys.argv[1]
    mnist = types.SimpleNamespace(image_shape=(1, 28, 28), n_classes=10, pixel_stats=(0.13, 0.31))
    if page == "mlp":
        from dlplay.classify import ClassifierSpec, cost
        from dlplay.train import TrainConfig, make_optimizer
        spec = ClassifierSpec(hidden=(512, 512, 512), train=TrainConfig(batch_size=512))
        model = spec.build(mnist)
        opt = make_optimizer(model.parameters(), spec.train)
        x, y = torch.rand(512, 1, 28, 28), torch.randint(10, (512,))
        loss = lambda: F.cross_entropy(model(x), y)
    elif page == "vae":
        from dlplay.generative.vae import VAESpec, cost, vae_loss
        spec = VAESpec(hidden=(512, 256), latent_dim=32, batch_size=256)
        model = spec.build(mnist)
        opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
        x = torch.rand(256, 1, 28, 28)
        loss = lambda: sum(vae_loss(x, *model(x)))
    else:
        from dlplay.music.models import build
        from dlplay.music.training import MusicSpec, cost, shifted
        spec = MusicSpec(hidden=256, layers=1, window=100, batch_size=32)
        model = build(spec.model, spec.hidden, spec.layers, spec.dropout)
        opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
        x = (torch.rand(32, 100, 88) < 0.05).float()
        loss = lambda: model.nll(model(shifted(x))[0], x).mean()
    def peak_mb():
        return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark back to the size now
    before = peak_mb()
    for _ in range(2):
        value = loss()
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    grown = peak_mb() - before
    print(cost(spec).peak_mb, grown)
""")


@pytest.mark.slow
@pytest.mark.parametrize("page", ["mlp", "vae", "music"])
def test_the_estimate_covers_a_real_steps_memory_within_four_times(page):
    proc = subprocess.run([sys.executable, "-c", REAL_STEP, page], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    estimate, real = map(float, proc.stdout.split())
    assert real <= estimate <= 4 * real + 100, (estimate, real)
