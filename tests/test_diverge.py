"""Exploding or useless training is named on every torch page: `dlplay.train.LossWatch`
stops a loss that explodes (not only NaN), default settings never trip it, and the
classifier, denoising and morphing pages say when a model ended worse than a trivial
baseline."""
import math

import pytest
import torch

from dlplay import data
from dlplay.jobs import TrainingDiverged
from dlplay.train import LossWatch, TrainConfig

from tests.conftest import job_of, need_shared

CLASSIFIER, DENOISE, MORPH = "pages/digit_classifier.py", "pages/generative/denoising.py", "pages/generative/latent_morphing.py"


@pytest.fixture(autouse=True)
def mnist_present():
    need_shared("MNIST", "raw")
    data.clear_cache()


def feed(watch: LossWatch, losses) -> None:
    for loss in losses:
        watch(loss)


# --- the rule -----------------------------------------------------------------------------------

def test_an_immediate_explosion_is_named_with_the_learning_rate_as_set():
    # Adam at lr 10 on the digit classifier: 2.31 → 2.1e4 → 3.1e4 (recorded).
    watch = LossWatch(lr=10.0)
    with pytest.raises(TrainingDiverged) as err:
        feed(watch, [2.313, 21143.1, 30556.2, 31205.5])
    assert str(err.value) == ("the loss exploded from 2.31 to 3.06e+04 at step 3 — lower the learning rate "
                              "(now 10) and train again")


def test_a_loss_stuck_far_above_its_start_is_stopped_after_patience_steps():
    watch = LossWatch(lr=0.3)
    feed(watch, [0.094, 1.5, 2.0, 1.8, 1.2])  # 4 steps above 10×
    with pytest.raises(TrainingDiverged, match="exploded from 0.094 to 1.1 at step 6"):
        watch(1.1)


def test_short_spikes_and_slow_descent_pass():
    # Adam at lr 1 on the digit classifier (recorded): spikes to 100× for three steps, then settles.
    spikes = [2.313, 25.9, 135.5, 128.3, 17.05, 21.5, 13.8, 232.8, 2.7, 91.4, 5.8, 23.9, 2.4, 23.6, 2.4, 27.2]
    watch = LossWatch(lr=1.0)
    feed(watch, spikes)
    assert watch.worst == pytest.approx(232.8 / 2.313)
    # A GAN's see-saw (its own, looser watch) and a VAE's falling ELBO never fire.
    feed(LossWatch(lr=1e-2, factor=100.0, patience=10), [5.55, 21.0, 13.3, 6.6, 15.7, 14.6, 7.9, 15.9] * 20)
    feed(LossWatch(lr=3e-3), [544.3 - i for i in range(400)])


def test_an_exploding_autoencoder_stops_its_run():
    """The linear AE at Adam lr 10: 0.095 → 2.6e8 at step 2 (the sigmoid models stay bounded)."""
    from dlplay.generative.autoencoders import AESpec, train_autoencoders

    spec = AESpec(dataset="mnist5k", n_train=2000, models=("svd", "linear"),
                  train=TrainConfig(lr=10.0, epochs=1, schedule="cosine"))  # the page's schedule
    with pytest.raises(TrainingDiverged, match=r"the loss exploded from 0.09\d+ to .* at step 2 — lower the "
                                               r"learning rate \(now 10\)"):
        train_autoencoders(spec)


def test_nan_is_still_named_as_nan():
    watch = LossWatch(lr=3.0)
    watch(2.3)
    with pytest.raises(TrainingDiverged, match="loss became NaN at step 2"):
        watch(math.nan)


# --- default settings of every torch page never trip it ---------------------------------------

@pytest.fixture
def watches(monkeypatch):
    """Every LossWatch created while the test runs, to read how close each came to firing."""
    made = []
    init = LossWatch.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(LossWatch, "__init__", record)
    return made


def test_default_settings_of_every_torch_page_stay_far_from_the_rule(watches):
    """Each lesson at its page's default settings (smaller data, one epoch: seconds). Recorded
    on full default runs: the worst a loss reached was 1.0× its first value (classifier, VAE,
    autoencoders) and 3.4× (the DCGAN's D + G)."""
    from dlplay import classify
    from dlplay.generative import autoencoders, denoise, gan, morph, vae

    classify.train_classifier(classify.ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=1)))
    ae = autoencoders.AESpec(dataset="mnist5k", n_train=2000)
    ae.train.epochs = 1
    autoencoders.train_autoencoders(ae)
    dn = denoise.DenoiseSpec(dataset="mnist5k", n_train=2000)
    dn.train.epochs = 1
    denoise.train_denoisers(dn)
    morph.train_morph_model(morph.MorphSpec(dataset="mnist5k", n_train=2000, epochs=1))
    vae.train_vae(vae.VAESpec(dataset="mnist5k", n_train=2000, epochs=1))
    gan.train_gan(gan.GANSpec(dataset="mnist5k", n_train=640, epochs=1))
    assert len(watches) >= 9  # classifier, 3 AEs, 2 denoisers, morph AE, VAE, GAN (+ the GAN's judge)
    worst = max(w.worst for w in watches)
    print(f"worst loss / first loss over {len(watches)} trainings: {worst:.2f}")
    assert all(w.step > 0 for w in watches) and worst < 5


# --- on the pages --------------------------------------------------------------------------------

def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def train_classifier(at, lr: float):
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    at.select_slider(key="mlp-lr").set_value(lr)
    at.number_input(key="mlp-epochs").set_value(1)
    at.button(key="mlp-train").click().run()
    job = job_of(at, "mlp")
    assert job.wait(120), "training did not finish"
    at.run()
    return job


def test_classifier_at_lr_10_fails_with_the_explosion_named(apptest):
    """Adam (the page's default optimizer) at lr 10 used to "finish" at 14.7% with no hint."""
    at = apptest(CLASSIFIER).run()
    job = train_classifier(at, 10.0)
    assert job.state == "failed" and not at.exception
    errors = texts(at.error)
    assert "the loss exploded from 2.31 to" in errors and "lower the learning rate (now 10)" in errors, errors


def test_classifier_no_better_than_the_majority_class_says_so(apptest):
    """Adam at lr 1 stays finite (spikes settle) but ends at 8.4%: below always answering "1" (11.3%)."""
    at = apptest(CLASSIFIER).run()
    job = train_classifier(at, 1.0)
    assert job.state == "done" and not at.exception
    assert job.result.test_acc < 0.16
    warning = texts(at.warning)
    assert "no better than always answering “1”, the most common class (11.3% of the test set)" in warning, warning
    assert "Lower the learning rate (now 1)" in warning


def train_small(at, key: str, lr: float):
    at.select_slider(key=f"{key}-n").set_value(2_000)
    at.number_input(key=f"{key}-epochs").set_value(1)
    at.select_slider(key=f"{key}-lr").set_value(lr)
    at.button(key=f"{key}-train").click().run()
    job = job_of(at, key)
    assert job.wait(180), "training did not finish"
    at.run()
    return job


def test_denoising_at_lr_10_says_both_models_are_worse_than_the_noisy_input(apptest):
    at = apptest(DENOISE).run()
    job = train_small(at, "dn", 10.0)
    assert job.state == "done" and not at.exception
    scores, result = job.result.scores, job.result
    assert scores["plain"] < scores["noisy"] and scores["denoising"] < scores["noisy"]
    assert result.failed() == ["plain", "denoising"]
    warning = texts(at.warning)
    assert "Plain AE, Denoising AE: further from the clean images than the corrupted input itself" in warning
    assert f"({scores['noisy']:.1f} dB)" in warning and "Lower the learning rate (now 10)" in warning


def test_denoising_at_default_lr_has_no_such_warning(apptest):
    at = apptest(DENOISE).run()
    job = train_small(at, "dn", 3e-3)
    assert job.state == "done" and not at.exception
    assert job.result.failed() == []
    assert "further from the clean images" not in texts(at.warning)


def test_morphing_at_lr_10_says_the_autoencoder_is_worse_than_the_average_image(apptest):
    at = apptest(MORPH).run()
    job = train_small(at, "morph", 10.0)
    assert job.state == "done" and not at.exception
    mm = job.result
    assert mm.test_mse > mm.mean_image_mse
    warning = texts(at.warning)
    assert "reconstructs worse than answering the average image every time" in warning, warning
    assert f"test MSE {mm.test_mse:.4f} against {mm.mean_image_mse:.4f}" in warning
    assert "Lower the learning rate (now 10)" in warning


def test_a_validation_loss_that_explodes_while_training_looks_calm_is_named_with_the_result():
    """The CNN builder at learning rate 1 "finished" at 12.7 % with no hint: its training loss
    stayed near 2.3 while the validation loss reached ~3,200. The watch reads validation too."""
    from dlplay.jobs import Scheduler
    from dlplay.train import TrainConfig, fit

    class CalmInTrainingWildInEval(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)

        def forward(self, x):
            out = self.lin(x)
            return out if self.training else out * 1e4  # eval-mode statistics gone wrong

    torch.manual_seed(0)
    x, y = torch.randn(256, 4), torch.randint(0, 3, (256,))
    sched = Scheduler(max_workers=1)
    try:
        job = sched.submit(lambda j: fit(CalmInTrainingWildInEval(), (x, y), (x[:64], y[:64]),
                                         TrainConfig(epochs=3, batch_size=32, lr=1.0, optimizer="sgd"), job=j),
                           session_id="s", name="calm")
        assert job.wait(60) and job.state == "done"
        assert len(job.warnings) == 1, "said once"
        assert job.warnings[0].startswith("The validation loss exploded to ") and "after epoch 1" in job.warnings[0]
        assert "the learning rate (now 1) is probably too high" in job.warnings[0]
        assert [r["epoch"] for r in job.metrics() if r.get("split") == "epoch"] == [1, 2, 3], "all is drawn"
    finally:
        sched.shutdown()
