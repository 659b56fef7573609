"""The training-diagnosis gallery on real MNIST: every broken setup shows its symptom in the numbers
and every fix trains; snapshots count every value; a run survives the store; Stop keeps it."""
import json
import math
import time

import numpy as np
import pytest
import torch

from dlplay import data
from dlplay.craft.diagnosis import (CASES, KINDS, LESSON, LOG10, DiagnosisSpec, Net, graph_dot, guesses, histogram,
                                    load_result, mystery, save_result, setup_of, snapshot_steps, train_diagnosis)
from dlplay.jobs import STOPPED, get_scheduler
from dlplay.runs import specs
from dlplay.runs.store import dumps

# Each test here trains on real data (a module fixture of several seconds): the full suite only.
pytestmark = pytest.mark.slow

# 5,000 training images, 2 epochs of 78 steps (the partial batch dropped), 784-128-128-10, batch 64, seed 0
SPEC = DiagnosisSpec()


@pytest.fixture(scope="module")
def ds():
    return data.load("mnist")


@pytest.fixture(scope="module")
def broken(ds):
    return {name: train_diagnosis(DiagnosisSpec(case=name), ds=ds) for name in CASES}


@pytest.fixture(scope="module")
def fixed(ds):
    """Each case's fix; cases whose fixes are the same setup share one run (three runs in all)."""
    by_setup, out = {}, {}
    for name in CASES:
        spec = DiagnosisSpec(case=name, fixed=True)
        setup = setup_of(spec)
        if setup not in by_setup:
            by_setup[setup] = train_diagnosis(spec, ds=ds)
        out[name] = by_setup[setup]
    return out


def test_every_broken_setup_shows_its_symptom_in_the_numbers(broken, fixed):
    # Measured numbers in the comments (5,000 images, 2 epochs, seed 0); the fixes' in the next test.
    r = broken["lr_high"]  # the loss exploded from 2.3 to 65,600 at step 5; layer 2's gradient norm up to 90
    assert r.diverged.startswith("the loss exploded from 2.3") and r.diverged.endswith("at step 5")
    assert r.diverged_step == 5 and r.steps == 4, "the steps before divergence are kept"
    assert r.grad_norms.max() > 10 * fixed["lr_high"].grad_norms.max()  # 90.0 against 2.1

    r = broken["zero_init"]  # loss 2.301, 11.4 % test accuracy, every gradient norm exactly 0, all units dead
    assert abs(r.final_loss() - LOG10) < 0.05 and r.test_acc < 0.15
    assert (r.grad_norms == 0).all() and (r.inactive == 1).all()

    r = broken["huge_init"]  # first loss 3.8 million, still 2.3 million after 2 epochs; gradients ~1e5; 14.4 %
    assert r.first_loss > 1e5 and r.final_loss() > 1e4 and r.test_acc < 0.3
    assert r.grad_norms[0].min() > 1e3 * fixed["huge_init"].grad_norms[0].max()

    r = broken["sigmoid_raw"]  # 98.4 % of layer 1's outputs saturated on average (fixed 6.8 %); 45.2 % vs 88.0 %
    f = fixed["sigmoid_raw"]
    assert r.inactive[:, 0].mean() > 0.9 and f.inactive[:, 0].mean() < 0.2
    assert r.test_acc < f.test_acc - 0.3

    r = broken["double_softmax"]  # first gradients 10× smaller (0.070 vs 0.702); loss 1.94 vs 0.37; 64.0 %
    f = fixed["double_softmax"]
    assert (r.grad_norms[0] < 0.2 * f.grad_norms[0]).all()
    assert r.losses.min() > math.log(1 + 9 / math.e) - 1e-4 and r.final_loss() > 1.5
    assert r.test_acc < f.test_acc - 0.2

    r = broken["dead_relu"]  # at the end 87 % of layer 1's units dead, 72 % of layer 2's (fixed 0 %, 5 %); 39.4 %
    f = fixed["dead_relu"]
    assert not r.diverged and (r.inactive[-1] > 0.5).all() and (f.inactive[-1] < 0.2).all()
    assert r.final_loss() > 1.0 and r.test_acc < 0.5

    r = broken["sorted_labels"]  # 13.2 % test accuracy
    assert r.test_acc < 0.3

    r = broken["scaling_bug"]  # training accuracy 92.9 %, test 8.9 %: only train against test shows it
    assert r.train_acc > 0.85 and r.test_acc < 0.2 and r.final_loss() < 0.5


def test_every_fix_trains(fixed):
    # Measured: Adam 0.001 (zero/huge init, sorted, scaling) 90.9 %; SGD 0.1 (lr, double softmax, dead ReLU)
    # 91.1 %; sigmoids on standardised pixels (momentum 0.1) 88.0 %.
    for name, r in fixed.items():
        assert not r.diverged and r.test_acc > 0.85 and r.final_loss() < 0.6, (name, r.test_acc, r.final_loss())
        assert len(r.snapshots) == len(snapshot_steps(156)) and r.steps == 156


def test_snapshots_count_every_value(broken, ds):
    r = broken["double_softmax"]
    batch = SPEC.batch_size  # every step's: the last 8 of 5,000 = 78 × 64 + 8 are dropped
    for s in r.snapshots:
        for i, layer in enumerate(r.model.layers):
            sizes = {"weights": layer.weight.numel(), "grads": layer.weight.numel(), "acts": batch * layer.out_features}
            for kind in KINDS:
                counts = s.counts[kind][i]
                assert len(counts) == len(s.edges[kind][i]) - 1 == 40
                assert counts.sum() + s.nonfinite[kind][i] == sizes[kind], (s.step, kind, i)
    # Softmax outputs are binned over their own range, 0 to 1; ReLU outputs over the batch's.
    for s in r.snapshots:
        assert (s.edges["acts"][2][0], s.edges["acts"][2][-1]) == (0.0, 1.0)
        assert s.edges["acts"][0][0] == 0.0 < s.edges["acts"][0][-1]
    # The weights' range widens as they train (layer 1: ±0.036 at the start).
    assert np.ptp(r.snapshots[-1].edges["weights"][0]) > np.ptp(r.snapshots[0].edges["weights"][0])
    # NaN and infinity are counted apart; values beyond given bounds land in the end bins.
    counts, edges, bad = histogram(torch.tensor([float("nan"), float("inf"), -5.0, 0.5, 99.0]), (0.0, 1.0))
    assert bad == 2 and counts.sum() == 3 and counts[0] == 1 and counts[-1] == 1 and edges[-1] == 1.0
    counts, edges, bad = histogram(torch.tensor([1.0, 3.0, 2.0]), bins=4)
    assert list(counts) == [1, 0, 1, 1] and (edges[0], edges[-1], bad) == (1.0, 3.0, 0)
    zeros, edges, _ = histogram(torch.zeros(7))  # all equal: a small range around them
    assert zeros.sum() == 7 and edges[0] < 0 < edges[-1]


def test_names_guesses_graph_and_setups():
    assert len(CASES) >= 7 and mystery("lr_high") == "Mystery 1"
    assert guesses() != list(CASES) and sorted(guesses()) == sorted(CASES)
    for name in CASES:
        assert setup_of(DiagnosisSpec(case=name)) != setup_of(DiagnosisSpec(case=name, fixed=True))
    dot = graph_dot(DiagnosisSpec(case="double_softmax"))
    assert dot.startswith("digraph") and "Softmax" in dot and "layer 1: Linear 784→128 → ReLU" in dot
    assert dot.count("->") == 6  # 7 boxes in a row: pixels, scaling, 3 layers, softmax, loss
    assert "Softmax" not in graph_dot(DiagnosisSpec(case="double_softmax", fixed=True))
    assert "× 255 (raw pixels)" in graph_dot(DiagnosisSpec(case="sigmoid_raw")) and "Sigmoid" in graph_dot(
        DiagnosisSpec(case="sigmoid_raw"))
    assert "init: all 0" in graph_dot(DiagnosisSpec(case="zero_init"))
    net = Net(setup_of(DiagnosisSpec(case="huge_init")))
    assert 9 < float(net.layers[0].weight.detach().std()) < 11
    with pytest.raises(ValueError, match="unknown case"):
        setup_of(DiagnosisSpec(case="nope"))


def test_a_run_survives_the_store(broken, ds):
    r = broken["lr_high"]  # diverged: its last losses are huge, its weights may hold inf
    saved = save_result(r)
    assert saved.headline == "the loss exploded from 2.3 to 6.56e+04 at step 5"
    assert LESSON.brief(r.spec) == "Mystery 1 (as given) · 5,000 images · 784-128-128-10 · 2 epochs"
    summary = json.loads(dumps(saved.summary))  # as the store keeps it: non-finite floats become null
    back = load_result(r.spec, type(saved)(saved.tensors, saved.arrays, summary, saved.headline))
    assert back.diverged == r.diverged and back.steps == r.steps and len(back.snapshots) == len(r.snapshots)
    for a, b in zip(r.snapshots, back.snapshots):
        assert a.step == b.step and a.grad_norm == b.grad_norm and a.inactive == b.inactive
        assert all((x == y).all() for k in KINDS for x, y in zip(a.counts[k], b.counts[k]))
        assert all((x == y).all() for k in KINDS for x, y in zip(a.edges[k], b.edges[k]))
    ok = broken["scaling_bug"]
    again = load_result(ok.spec, save_result(ok))
    x = ds.x_test[:500] / 255.0
    assert torch.equal(again.model(x).argmax(1), ok.model(x).argmax(1)) and again.test_acc == ok.test_acc
    assert LESSON.spec_from(specs.to_dict(DiagnosisSpec(case="dead_relu", fixed=True))) == DiagnosisSpec(
        case="dead_relu", fixed=True), "the spec round-trips to the run store"


def test_stop_keeps_what_was_learned(ds):
    spec = DiagnosisSpec(case="dead_relu", epochs=5)
    job = get_scheduler().submit(lambda j: train_diagnosis(spec, j, ds=ds), session_id="test-diag", name="stop")
    deadline = time.time() + 60
    while not [m for m in job.metrics() if m.get("split") == "layers"] and time.time() < deadline:
        time.sleep(0.02)
    job.cancel()
    assert job.wait(30)
    r = job.result
    assert job.state == STOPPED and r.stopped.startswith("stopped at epoch"), (job.state, job.error)
    assert r.snapshots and 0 < r.steps < 5 * 78
    artifact = job.latest("snapshots")
    assert 0 < len(artifact) <= len(r.snapshots) and artifact[0] is r.snapshots[0]
    rows = [m for m in job.metrics() if m.get("split") == "layers"]
    assert {"grad_norm_1", "grad_norm_3", "inactive_1", "inactive_2"} <= set(rows[0])
    assert np.isfinite(r.test_acc)
