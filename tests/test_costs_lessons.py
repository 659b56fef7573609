"""Every lesson that sizes its runs (`Lesson.cost`, dlplay.costs): its default setting is sized in
seconds and fits the default memory cap; its largest settings — each page's widgets at their
maximum, in one table (dlplay.bench.largest) — are sized without allocating them and are either refused (naming
what to lower) or fit; and for three small lessons the estimate covers a real training step."""
from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from torch import nn

from dlplay import costs, limits
from dlplay.bench import largest
from dlplay import course
from dlplay.runs.lesson import lesson_for
from tests.conftest import ROOT

SHARED = limits.Limits(10**9, 10**9, 900, 24)  # a shared server: a step of at most 4 s, a run of 15 min
SIZED = [page for page in course.lessons() if lesson_for(page).cost is not None]

# The largest settings each page allows (sliders at their maximum, the last or costliest option),
# as (page, what, spec): one table, kept with the benchmark that runs them (dlplay.bench.largest).
LARGEST = largest.table()


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
