"""Catastrophic forgetting on real MNIST (and Fashion-MNIST): task A falls when B is learned,
the callback measures both after every epoch, and the remedies do what they are for."""
import threading
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlplay import data
from dlplay.jobs import Job, TrainingDiverged, get_scheduler
from dlplay.train import TrainConfig, evaluate, fit
from dlplay.vision.forgetting import (EWC, LESSON, BothTasks, ForgetSpec, build, check, fisher_diagonal, freeze_lower,
                                      frozen, load_result, make_tasks, permutation, permute, remedy_for_b,
                                      remedy_specs, save_result, table, train_forgetting, work)
from tests.conftest import need_shared

# The page's defaults: digits 0–4 → 5–9, an MLP 784-256-256-10, 5,000 images per task, 3 + 3 epochs.
DEFAULT = ForgetSpec()


@pytest.fixture(scope="module")
def mnist():
    need_shared("MNIST", "raw")
    return data.load("mnist")


@pytest.fixture(scope="module")
def split_runs(mnist):
    """No remedy and rehearsal at the defaults (about 2 s each on 2 cores)."""
    return {spec.remedy: train_forgetting(spec) for spec in remedy_specs(DEFAULT, ["none", "rehearsal"])}


def test_without_a_remedy_task_a_falls_by_more_than_30_points(split_runs):
    none = split_runs["none"]
    # Measured: A 96.9 % after A, 0.0 % after B (B 93.8 %): the shared head now answers only 5–9.
    assert none.a_after_a >= 0.9, "task A was learned"
    assert none.fall >= 30, f"A fell by only {none.fall:.1f} points"
    assert none.b_after_b >= 0.85, "task B was learned"
    assert none.b_after_a < 0.05, "before B, the network never answers 5–9"


def test_rehearsal_recovers_at_least_half_of_the_fall(split_runs):
    none, reh = split_runs["none"], split_runs["rehearsal"]
    # Measured: a buffer of 200 images of A keeps A at 85.5 % (B 93.9 %): 85 of the 97 points recovered.
    assert reh.a_after_a == pytest.approx(none.a_after_a), "the same task A model before B"
    recovered = 100 * (reh.a_after_b - none.a_after_b)
    assert recovered >= 0.5 * none.fall, f"recovered {recovered:.1f} of {none.fall:.1f} points"
    assert reh.b_after_b >= none.b_after_b - 0.05, "without giving up B"


def test_the_callback_measures_both_tasks_after_every_epoch(split_runs, mnist):
    spec = ForgetSpec(n_train=1000, n_eval=500, epochs_a=2, epochs_b=1)
    a, b = make_tasks(spec)
    model = build(spec)
    calls = []

    class Spy(BothTasks):
        def on_epoch_end(self, model, epoch, row):
            calls.append((epoch, row["split"]))
            super().on_epoch_end(model, epoch, row)

    cb = Spy(a, b)
    fit(model, (a.x_train, a.y_train), None, TrainConfig(epochs=2, lr=1e-3), callbacks=(cb,))
    assert calls == [(1, "epoch"), (2, "epoch")], "fit called it at the end of every epoch"
    last = cb.points[-1]
    assert last["acc_a"] == evaluate(model, a.x_eval, a.y_eval)["acc"], "on A's fixed test sample"
    assert last["acc_b"] == evaluate(model, b.x_eval, b.y_eval)["acc"] == 0.0, "and on B's (digits 5–9: never)"
    assert len(a.x_eval) == len(b.x_eval) == 500

    # The whole run: epoch 0 (untrained), then every epoch of A and of B, counted on across the phases.
    points = split_runs["none"].points
    assert [p["epoch"] for p in points] == list(range(0, 7))
    assert [p["phase"] for p in points] == ["A"] * 4 + ["B"] * 3
    assert all(0 <= p["acc_a"] <= 1 and 0 <= p["acc_b"] <= 1 for p in points)
    assert points[3]["acc_a"] > 0.9 and points[4]["acc_a"] < 0.1, "A collapses within B's first epoch"


def test_the_run_streams_the_callbacks_rows_and_phases_to_its_job(mnist):
    spec = ForgetSpec(n_train=1000, epochs_a=1, epochs_b=2)
    job = get_scheduler().submit(lambda j: train_forgetting(spec, j), session_id="test", name="forget")
    assert job.wait(120) and job.state == "done", job.error
    rows = job.metrics()
    points = [r for r in rows if "acc_a" in r]
    assert [(p["epoch"], p["phase"]) for p in points] == [(0, "A"), (1, "A"), (2, "B"), (3, "B")]
    epochs = [r for r in rows if r.get("split") == "epoch" and "train_loss" in r]
    assert [(r["epoch"], r["phase"]) for r in epochs] == [(1, "A"), (2, "B"), (3, "B")], "fit's rows placed after A"
    assert job.progress == 1.0


def test_permuted_mnist_is_the_same_digits_with_one_fixed_shuffle(mnist):
    perm = permutation(1)
    assert torch.equal(perm, permutation(1)) and not torch.equal(perm, permutation(2))
    x = mnist.x_test[:5]
    shuffled = permute(x, perm)
    assert shuffled.shape == x.shape and torch.equal(shuffled.flatten(1), x.flatten(1)[:, perm])
    assert torch.equal(torch.sort(shuffled.flatten(1), 1).values, torch.sort(x.flatten(1), 1).values)
    a, b = make_tasks(ForgetSpec(pair="permuted", n_train=500))
    assert torch.equal(b.x_test, permute(a.x_test, perm)) and torch.equal(b.y_test, a.y_test)


# --- EWC ------------------------------------------------------------------------------------------

def _small_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.ReLU(), nn.Linear(16, 10))


def _fisher_one_by_one(model, x, y):
    """The definition, one image at a time: the mean over images of the squared gradient of log p(y|x)."""
    total = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for i in range(len(x)):
        model.zero_grad()
        (-F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])).backward()
        for n, p in model.named_parameters():
            total[n] += p.grad ** 2
    return {n: t / len(x) for n, t in total.items()}


def test_fisher_is_the_mean_squared_gradient_per_image(mnist):
    model, x, y = _small_model(), mnist.x_train[:40], mnist.y_train[:40]
    fisher = fisher_diagonal(model, x, labels="true", y=y, chunk=16)
    expected = _fisher_one_by_one(model, x, y)
    for n in expected:
        torch.testing.assert_close(fisher[n], expected[n], rtol=1e-4, atol=1e-9)
    # Labels drawn from the model's own prediction (the true Fisher): the same draws, one image at a time.
    sampled = fisher_diagonal(model, x, seed=3, chunk=len(x))
    with torch.no_grad():
        drawn = torch.multinomial(F.softmax(model(x), 1), 1, generator=torch.Generator().manual_seed(3)).squeeze(1)
    for n, value in _fisher_one_by_one(model, x, drawn).items():
        torch.testing.assert_close(sampled[n], value, rtol=1e-4, atol=1e-9)
    # Squaring the batch's mean gradient instead loses most of it (the cross terms cancel).
    model.zero_grad()
    (-F.cross_entropy(model(x), y)).backward()
    batch = sum((p.grad ** 2).sum() for p in model.parameters())
    assert batch < 0.5 * sum(f.sum() for f in fisher.values())


def test_ewc_penalty_and_its_gradient_match_the_formula_and_finite_differences(mnist):
    model = _small_model().double()
    fisher = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    ewc = EWC(model, fisher, lam=50.0)
    assert ewc.penalty(model).item() == 0.0, "no penalty at θ*"
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    expected = 0.5 * 50.0 * sum((fisher[n] * (p - ewc.anchor[n]) ** 2).sum() for n, p in model.named_parameters())
    penalty = ewc.penalty(model)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-12)
    penalty.backward()
    w = model[1].weight
    torch.testing.assert_close(w.grad, 50.0 * fisher["1.weight"] * (w - ewc.anchor["1.weight"]).detach())
    eps = 1e-6
    for idx in [(0, 0), (3, 400), (15, 783)]:
        with torch.no_grad():
            w[idx] += eps
            up = ewc.penalty(model).item()
            w[idx] -= 2 * eps
            down = ewc.penalty(model).item()
            w[idx] += eps
        assert (up - down) / (2 * eps) == pytest.approx(w.grad[idx].item(), rel=1e-6, abs=1e-9)


@pytest.mark.slow
def test_ewc_keeps_more_of_a_than_no_remedy_on_permuted_and_fashion(mnist):
    need_shared("MNIST", "raw")
    # Permuted MNIST forgets little with a wide MLP; B trained longer and faster makes the fall show.
    permuted = ForgetSpec(pair="permuted", n_train=3000, epochs_a=3, epochs_b=6,
                          train=TrainConfig(lr=3e-3, schedule="constant", batch_size=128))
    none, ewc = (train_forgetting(s) for s in remedy_specs(permuted, ["none", "ewc"]))
    # Measured: none 91.5 % → 77.9 % (B 93.2 %); EWC λ = 1000 → 91.3 % (B 91.7 %).
    assert none.fall >= 5, f"permuted: A fell {none.fall:.1f} points without a remedy"
    assert ewc.a_after_b >= none.a_after_b + 0.05, (ewc.a_after_b, none.a_after_b)
    assert ewc.b_after_b >= 0.8, "B is still learned"
    fashion = ForgetSpec(pair="fashion", n_train=3000)
    none, ewc = (train_forgetting(s) for s in remedy_specs(fashion, ["none", "ewc"]))
    # Measured: none 89.2 % → 36.1 % (Fashion-MNIST 80.1 %); EWC → 83.4 % (Fashion-MNIST 76.2 %).
    assert none.fall >= 30 and ewc.a_after_b >= none.a_after_b + 0.25, (none.a_after_b, ewc.a_after_b)


def test_freezing_keeps_the_lower_layers_exactly_and_a_lower_rate_keeps_more_of_a(split_runs):
    spec = ForgetSpec(remedy="freeze", frozen=1, n_train=1000, epochs_a=1, epochs_b=1)
    a, b = make_tasks(spec)
    model = build(spec)
    fit(model, (a.x_train, a.y_train), None, spec.train)
    loss_fn, cfg = remedy_for_b(spec, model, a)
    assert frozen(model) == ["fc1"], "the lowest layer; the head always learns"
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, (b.x_train, b.y_train), None, cfg, loss_fn=loss_fn)
    after = model.state_dict()
    assert torch.equal(after["fc1.weight"], before["fc1.weight"]), "the frozen layer did not move during B"
    assert not torch.equal(after["fc2.weight"], before["fc2.weight"])
    assert not torch.equal(after["head.weight"], before["head.weight"])
    assert frozen(build(ForgetSpec(model="cnn"))) == [] and \
        freeze_lower(build(ForgetSpec(model="cnn")), 9) == ["conv1", "conv2", "fc1"], "never the head"

    run = train_forgetting(replace(DEFAULT, remedy="freeze"))
    assert run.frozen_layers == ("fc1",) and all(p.requires_grad for p in run.model.parameters()), "unfrozen after B"
    # Measured: freezing fc1 keeps nothing of 0–4 (0.0 %, B 86.3 %): the head, which B must change, is where
    # A is lost.
    assert run.b_after_b >= 0.8 and run.a_after_b <= split_runs["none"].a_after_b + 0.1
    slow = train_forgetting(replace(DEFAULT, remedy="lower_lr", lr_factor=0.1))
    # Measured: B at a tenth of A's learning rate keeps A at 45.5 % (B 69.8 %): A for B.
    assert slow.a_after_b >= split_runs["none"].a_after_b + 0.2
    assert slow.b_after_b < split_runs["none"].b_after_b, "and learns B less"


# --- runs: stop, failure, store -------------------------------------------------------------------

def test_stop_during_b_keeps_the_curves_and_the_model(mnist):
    spec = ForgetSpec(n_train=2000, epochs_a=1, epochs_b=30)
    in_b = threading.Event()

    def body(job: Job):
        return train_forgetting(spec, job)

    job = get_scheduler().submit(body, session_id="test", name="forget")
    job.on_finish(lambda j: in_b.set())
    seq = 0
    while not in_b.is_set():
        job.wait_for_events(seq, timeout=1.0, kind="metric")
        rows = job.metrics()
        seq = job.n_events
        if any(r.get("phase") == "B" and "acc_a" in r for r in rows):
            job.cancel()
            break
    assert job.wait(60) and job.state == "stopped", job.state
    result = job.result
    assert result.stopped.startswith("stopped in task B at epoch") and job.status == result.stopped
    assert result.a_after_a > 0.9 and result.a_after_b is not None and result.a_after_b < 0.5
    assert any(p["phase"] == "B" for p in result.points) and len(result.points) < 1 + 1 + 30
    saved = save_result(result)
    again = load_result(spec, saved)
    assert again.points == result.points and again.fall == pytest.approx(result.fall)
    assert evaluate(again.model, mnist.x_test[:500], mnist.y_test[:500]) == \
        evaluate(result.model, mnist.x_test[:500], mnist.y_test[:500])
    df = table([type("R", (), {"id": 7, "state": "stopped", "status": result.stopped, "summary": saved.summary})()],
               [spec])
    row = df.iloc[0]
    assert row["run"] == 7 and row["state"] == result.stopped and row["fall (points)"] == round(result.fall, 1)


def test_bad_settings_and_a_diverging_learning_rate_say_what_to_do(mnist):
    assert "at least one epoch" in check(ForgetSpec(epochs_b=0))
    assert "buffer" in check(ForgetSpec(remedy="rehearsal", buffer=0))
    assert "(0, 1]" in check(ForgetSpec(remedy="lower_lr", lr_factor=2.0))
    assert check(DEFAULT) is None
    with pytest.raises(TrainingDiverged, match=r"lower the learning rate \(now 10\)"):
        train_forgetting(ForgetSpec(n_train=1000, train=TrainConfig(lr=10.0, schedule="constant")))


def test_work_counts_both_tasks_epochs(mnist):
    assert work(DEFAULT).amount == 6 * 5000
    assert work(ForgetSpec(remedy="rehearsal")).amount == 9 * 5000, "rehearsal doubles B's images per step"
    assert work(ForgetSpec(n_train=0)).size == int((mnist.y_train < 5).sum()) == 30_596
    assert LESSON.page == "forget" and LESSON.path == "pages/vision/forgetting.py"


def test_stop_between_the_tasks_keeps_task_a_and_says_b_never_began(mnist):
    spec = ForgetSpec(n_train=500, epochs_a=2, epochs_b=2)

    class StopAfterA(Job):
        def metric(self, **row):
            if row.get("phase") == "A" and row.get("epoch") == spec.epochs_a and "acc_a" in row:
                self.cancel()  # Stop pressed just as task A's last epoch was measured
            return super().metric(**row)

    job = StopAfterA("forget", "test", lambda j: train_forgetting(spec, j))
    job._run()
    assert job.state == "stopped", (job.state, job.error)
    result = job.result
    assert job.status == result.stopped == "stopped before task B began (after 2 epochs of task A)"
    assert result.a_after_a > 0.8 and result.a_after_b is None and result.fall is None
    assert [p["phase"] for p in result.points] == ["A"] * 3
    assert save_result(result).headline.startswith("task A ") and "(B not trained)" in save_result(result).headline
