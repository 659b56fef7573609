"""dlplay.costs: a run is sized on the meta device before it starts — nothing allocated,
estimates at or above what a real step uses — and the limits refuse what doesn't fit,
naming what to lower. Stop acts inside a long training step (dlplay.jobs)."""
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
from dlplay.jobs import Cancelled, Scheduler, stoppable_steps
from dlplay.text.models import NetSpec
from dlplay.text.sentiment import SentimentSpec, cost as sentiment_cost
from dlplay.train import TrainConfig
from tests.conftest import ROOT


def sentiment(kind="bilstm", size=256, layers=4, words=800, batch=256) -> SentimentSpec:
    return SentimentSpec(net=NetSpec(kind=kind, embed_dim=size, hidden=size, layers=layers), max_len=words,
                         train=TrainConfig(optimizer="adamw", batch_size=batch))


def test_sizing_a_40_gb_setting_allocates_nothing_and_takes_seconds():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    huge = costs.torch_cost(lambda n: nn.Sequential(nn.Linear(50_000, 50_000), nn.Linear(50_000, 10)),
                            lambda b, n: (torch.ones(b, 50_000),), batch=64)
    big = sentiment_cost(sentiment())
    assert time.perf_counter() - start < 20
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200, "MB grown while sizing"
    assert huge.weights_mb > 9_000 and huge.training_mb == pytest.approx(3 * huge.weights_mb, rel=0.01)
    assert big.peak_mb > 15_000, "the issue's BiLSTM needed ~20 GB in a real step"


def test_the_issues_bilstm_is_refused_naming_what_to_lower(monkeypatch):
    monkeypatch.setenv("DLPLAY_MAX_RUN_MB", "8000")
    message = limits.too_costly(sentiment_cost(sentiment()), None)
    assert message.startswith("Too big for this machine's memory: this setting needs about ")
    assert "one run may use at most 5.2 GB here. Lower the batch size, the words read per review" in message
    assert limits.too_costly(sentiment_cost(sentiment("lstm", 64, 1, 200, 64)), None) is None


def test_a_slow_step_is_refused_on_a_shared_server_only(monkeypatch):
    monkeypatch.setenv("DLPLAY_MAX_RUN_MB", "100000")
    slow = sentiment_cost(sentiment("rnn", 256, 4, 800, 256))
    assert slow.step_s() > 4
    shared = limits.Limits(10**9, 10**9, 900, 24, max_step_s=4)
    assert "Too slow for this shared server: one training step" in limits.too_costly(slow, shared)
    assert limits.too_costly(slow, None) is None, "a personal machine may take its time"


def test_the_default_memory_cap_shares_the_machine_among_concurrent_runs(monkeypatch):
    monkeypatch.delenv("DLPLAY_MAX_RUN_MB", raising=False)
    monkeypatch.setenv("DLPLAY_MAX_JOBS", "2")
    two = limits.max_run_mb()
    monkeypatch.setenv("DLPLAY_MAX_JOBS", "4")
    assert limits.max_run_mb() == pytest.approx(two / 2)
    assert two == pytest.approx((costs.machine_mb() - limits.SERVER_MB) * 0.7 / 2)


REAL_STEP = textwrap.dedent("""
    import resource, sys, torch
    from dlplay.text import models
    from dlplay.text.sentiment import cost
    from tests.test_costs import sentiment
    kind, size, layers, words, batch = sys.argv[1], *map(int, sys.argv[2:])
    spec = sentiment(kind, size, layers, words, batch)
    estimate = cost(spec).peak_mb
    model = models.build(spec.net, spec.vocab_size + 4, 4, words)
    opt = torch.optim.AdamW(model.parameters())

    def peak_mb():  # VmHWM, reset below: ru_maxrss keeps the parent's peak across fork and exec
        line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
        return int(line.split()[1]) / 1024

    open("/proc/self/clear_refs", "w").write("5")
    before = peak_mb()
    for _ in range(2):
        out = model(torch.randint(1, 10_000, (batch, words)), torch.full((batch,), words))
        torch.nn.functional.cross_entropy(out, torch.zeros(batch, dtype=torch.long)).backward()
        opt.step()
        opt.zero_grad()
    print(estimate, peak_mb() - before)
""")


@pytest.mark.slow
@pytest.mark.parametrize("setting", [("bilstm", 64, 2, 200, 64), ("transformer", 64, 2, 200, 64),
                                     ("gru", 128, 1, 100, 128)])
def test_the_estimate_covers_a_real_steps_memory(setting):
    proc = subprocess.run([sys.executable, "-c", REAL_STEP, *map(str, setting)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    estimate, real = map(float, proc.stdout.split())
    assert real <= estimate <= 4 * real + 100, (estimate, real)


@pytest.mark.slow
def test_stop_acts_inside_a_long_training_step_and_keeps_the_last_finished_step():
    """A step of 200 layers taking seconds: Stop pressed during its forward pass ends the job
    within a layer or two, and the weights are those of the last finished step."""
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(512, 512) for _ in range(200)])
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    x = torch.randn(2048, 512)
    kept = {}

    def train(job):
        try:
            with stoppable_steps(job):  # this loop keeps the last finished step on Cancelled
                for step in range(100):
                    job.check_cancelled()
                    kept["weights"] = model[0].weight.detach().clone()
                    kept["step"] = step
                    job.metric(step=step)
                    model(x).pow(2).mean().backward()
                    opt.step()
                    opt.zero_grad()
        except Cancelled:
            job.stopped_at(f"stopped in step {kept['step']}")
        return model

    sched = Scheduler(max_workers=1)
    try:
        job = sched.submit(train, session_id="s", name="long steps")
        assert job.wait_for_events(1, timeout=120, kind="metric"), "a second step began"
        time.sleep(0.3)  # inside step 1's forward pass
        pressed = time.perf_counter()
        job.cancel()
        assert job.wait(30)
        assert time.perf_counter() - pressed < 2.0, "Stop waited for the whole step"
        assert job.state == "stopped" and job.status == "stopped in step 1"
        assert torch.equal(model[0].weight, kept["weights"]), "no half step was applied"
        with torch.no_grad():  # a stopped run is still measured: evaluation isn't interrupted
            assert model(x[:4]).shape == (4, 512)
    finally:
        sched.shutdown()


def test_a_run_sure_to_overrun_the_time_cap_is_refused_on_a_shared_server(monkeypatch):
    monkeypatch.setenv("DLPLAY_GFLOPS", "10")
    costs.machine_flops.cache_clear()
    monkeypatch.setattr(costs, "machine_flops", lambda: 10e9)
    shared = limits.Limits(10**9, 10**9, 900, 24, max_step_s=4)
    step = costs.Cost(1, 1, 1, step_flops=10e9)  # one second a step at 10 GFLOP/s
    assert limits.too_costly(step.with_steps(2_000), shared) is None, "within the margin: the cap stops it"
    message = limits.too_costly(step.with_steps(50_000), shared)
    assert message == ("Too long for this shared server: this setting would train for about 13.9 h here, and a run "
                       "is stopped after 15 min. Lower the model's size or the batch size, or the epochs.")
    assert limits.too_costly(step.with_steps(50_000), None) is None
    assert step.with_steps(600).line() == "About 43 MB of memory; 1.0 s a step, ≈ 10 min for 600 steps on this machine."


def largest_accepted_sentiment(shared: limits.Limits) -> SentimentSpec:
    """The biggest setting of the page this server accepts: the page's largest network over its
    longest reviews with the largest batch accepted, else smaller networks and shorter reviews."""
    for kind, size, layers, words in (("bilstm", 256, 4, 800), ("bilstm", 256, 2, 800), ("lstm", 256, 2, 800),
                                      ("lstm", 128, 2, 800), ("lstm", 128, 1, 400), ("lstm", 64, 1, 200)):
        for batch in (256, 128, 64, 32, 16):
            spec = sentiment(kind, size, layers, words, batch)
            spec.corpus, spec.n_train, spec.n_test, spec.train.epochs = "imdb", 1000, 200, 1
            if limits.too_costly(sentiment_cost(spec), shared) is None:
                return spec
    raise AssertionError("no sentiment setting is accepted")


@pytest.mark.slow
def test_stop_at_the_largest_accepted_sentiment_setting_acts_within_5_s(monkeypatch):
    from dlplay.runs import record
    from dlplay.text.sentiment import LESSON

    monkeypatch.setenv("DLPLAY_HOME", str(ROOT / "screenshots" / "stop-largest-home"))
    shared = limits.Limits(10**9, 10**9, 900, 24, max_step_s=4)
    spec = largest_accepted_sentiment(shared)
    run, job = record.start(LESSON, spec, workspace="ws", session_id="s-stop")
    assert job.wait_for_events(0, timeout=300, kind="metric"), job.status
    time.sleep(1.0)  # somewhere inside a step
    pressed = time.perf_counter()
    job.cancel()
    while job.is_active and not job.status.startswith("testing") and time.perf_counter() - pressed < 30:
        time.sleep(0.02)  # until training has stopped: then the kept model is measured
    waited = time.perf_counter() - pressed
    assert waited < 5.0, f"Stop took {waited:.1f} s at {spec.net.kind} {spec.net.hidden}×{spec.net.layers}, " \
                         f"{spec.max_len} words, batch {spec.train.batch_size}"
    assert job.wait(120) and job.state in ("stopped", "cancelled")


def test_a_loop_that_checks_stop_only_between_steps_is_never_cut_midway():
    """A loop that doesn't declare `stoppable_steps` (the DCGAN's two players) keeps its own
    rhythm: Stop is seen at its next check, never as an exception inside a forward pass."""
    model = nn.Sequential(*[nn.Linear(64, 64) for _ in range(50)])
    seen = []

    def train(job):
        for step in range(10_000):
            if job.stop_requested:
                seen.append(step)
                break
            job.metric(step=step)
            model(torch.randn(64, 64)).sum().backward()
        return model

    sched = Scheduler(max_workers=1)
    try:
        job = sched.submit(train, session_id="s", name="between steps")
        assert job.wait_for_events(3, timeout=60, kind="metric")
        job.cancel()
        assert job.wait(30) and job.state == "stopped" and seen
    finally:
        sched.shutdown()
