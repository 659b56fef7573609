"""The transfer-learning lesson on real CIFAR-10: the own body pretrained on classes 0–4,
the target task classes 5–9 with few labels."""
from dataclasses import replace

import pytest
import torch

from dlplay import data
from dlplay.vision import pretrained, transfer
from dlplay.vision.transfer import TransferSpec, train_transfer
from tests.conftest import need_shared


@pytest.fixture(scope="session")
def own_cifar_body(_private_cache):
    """dlplay's own body, pretrained once per test session into the session's cache folder
    (8 epochs on CIFAR-10's 5,026 images of classes 0–4: about 25 s on two cores)."""
    need_shared("cifar-10-batches-py", "data_batch_1")
    task = transfer.TASKS["cifar10"]
    return pretrained.own_body(task.dataset, task.source)


@pytest.mark.slow
def test_the_own_body_is_pretrained_once_then_read_from_the_cache(own_cifar_body):
    body = own_cifar_body
    assert body.path.is_file() and body.path.parent == data.cache_dir() / "models"
    assert body.source_acc > 0.6, "it learned the source task (5 classes: chance is 20 %)"
    again = pretrained.own_body("cifar10", (0, 1, 2, 3, 4))
    assert not again.made_now and again.source_acc == pytest.approx(body.source_acc, abs=1e-4)
    for k, v in body.net.state_dict().items():
        assert torch.equal(again.net.state_dict()[k], v), k


def test_budgets_are_nested_per_class_subsets_of_the_target_classes():
    spec = TransferSpec(budgets=(25, 100), n_test=500)
    target = transfer.target_data(spec)
    assert target.classes == ["dog", "frog", "horse", "ship", "truck"]
    x25, y25 = transfer.budget_slice(target, 25)
    x100, y100 = transfer.budget_slice(target, 100)
    assert torch.bincount(y25).tolist() == [25] * 5 and torch.bincount(y100).tolist() == [100] * 5
    assert torch.equal(x100[:125], x25), "the 25 per class are among the 100"
    assert len(target.x_test) == 500 and set(target.y_test.tolist()) == set(range(5))
    with pytest.raises(transfer.InvalidSpec, match="smallest target class"):
        transfer.target_data(replace(spec, budgets=(5000,)))


@pytest.mark.slow
def test_fine_tuning_beats_training_from_scratch_with_25_labels_per_class(own_cifar_body):
    # Measured (seeds 0 and 1, 150 steps, 2,000 test images): from scratch 63.2 % and 63.3 %,
    # fine-tuned 67.6 % and 69.9 % — +4.4 and +6.6 points. One seed's standard error is about
    # 1 point on 2,000 images; 2 points is safely below what was measured and well above noise.
    spec = TransferSpec(budgets=(25,), seed=0)
    scratch = train_transfer(replace(spec, strategy="scratch"))
    tuned = train_transfer(replace(spec, strategy="finetune"))
    a, b = scratch.accuracy_at(25), tuned.accuracy_at(25)
    assert a > 0.4, f"from scratch still learns something ({a:.1%}; chance is 20 %)"
    assert b - a >= 0.02, f"fine-tuned {b:.1%} vs from scratch {a:.1%}"
    assert "pretrained on CIFAR-10 classes 0–4" in tuned.body_note and "random" in scratch.body_note
    assert tuned.rows[0]["steps"] == 150 and tuned.rows[0]["epochs"] == pytest.approx(150 * 64 / 125)


@pytest.mark.slow
def test_frozen_features_are_computed_once_and_the_head_trains_in_seconds(own_cifar_body):
    transfer.clear_features()
    spec = TransferSpec(strategy="frozen", budgets=(25, 100), steps=100)
    before = transfer.FEATURE_PASSES[0]
    first = train_transfer(spec)
    assert transfer.FEATURE_PASSES[0] == before + 1 and first.feature_seconds > 0
    second = train_transfer(replace(spec, lr=1e-3))  # another head on the same body and images
    assert transfer.FEATURE_PASSES[0] == before + 1, "the second frozen run reused the features"
    assert second.feature_seconds == 0
    assert all(r["seconds"] < 5 for r in first.rows + second.rows), first.rows
    assert first.accuracy_at(100) > 0.5
    # The frozen body really stayed as pretrained.
    for k, v in own_cifar_body.net.body.state_dict().items():
        assert torch.equal(first.model.body.state_dict()[k], v), k


@pytest.mark.slow
def test_a_stopped_run_keeps_the_budgets_it_finished(own_cifar_body):
    from dlplay.jobs import Job

    job = Job(name="tl", session_id="s", fn=lambda j: None)
    spec = TransferSpec(strategy="finetune", budgets=(10, 25), steps=30)

    seen = []

    def metric(**row):
        seen.append(row)
        if row.get("split") == "budget":
            job.cancel()  # Stop pressed as the first budget ends

    job.metric = metric
    result = train_transfer(spec, job)
    assert [r["budget"] for r in result.rows] == [10]
    assert "stopped before the 25-per-class budget" in result.stopped
    saved = transfer.save_result(result)
    back = transfer.load_result(spec, saved)
    assert back.rows == result.rows and back.model(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_bad_settings_are_refused_with_a_message():
    assert "at least one label budget" in transfer.check(TransferSpec(budgets=()))
    assert "Unknown strategy" in transfer.check(TransferSpec(strategy="magic"))
    with pytest.raises(transfer.InvalidSpec, match="Unknown body"):
        train_transfer(TransferSpec(body="vgg"))


def test_the_finding_measures_each_budget_s_gap_against_scratch_at_that_budget():
    """Issue 25: "At 500 per class the gap is 17.2 points" where the table showed 3.0 — the best at
    500 minus scratch at 25. Constructed rows, so the numbers are known."""
    def rows(*accs):
        return [{"budget": k, "test_acc": a} for k, a in zip((25, 100, 500), accs)]

    text = transfer.finding({"scratch": rows(0.40, 0.50, 0.542), "frozen": rows(0.55, 0.56, 0.560),
                             "finetune": rows(0.57, 0.55, 0.572)})
    assert "With 25 labelled images per class, training from scratch reached 40.0%." in text
    assert "“frozen body + new head” reached 55.0% (+15.0 points)" in text
    assert "“fine-tune everything” reached 57.0% (+17.0 points)" in text
    assert "At 500 per class the gap is 3.0 points (best: “fine-tune everything”)" in text
    # Scratch best at the largest budget: no gap claimed, and no "less pretraining matters" to contradict.
    text = transfer.finding({"scratch": rows(0.40, 0.50, 0.60), "finetune": rows(0.57, 0.55, 0.58)})
    assert "At 500 per class" in text and "from scratch is ahead by 2.0 points" in text
    assert "−" not in text and "-2.0" not in text
    # A budget a strategy stopped in is left out.
    partial = rows(0.57, 0.55, 0.58)
    partial[2]["partial"] = True
    text = transfer.finding({"scratch": rows(0.40, 0.50, 0.60), "finetune": partial})
    assert "At 100 per class the gap is 5.0 points" in text
