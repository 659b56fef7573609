"""Every torch lesson trains through the one loop (`dlplay.train.Loop`, issue 26) and puts its
model and batches where `DLPLAY_DEVICE` says: one training step of each lesson, at its page's
default setting (smaller where the default prepares for long), runs on PyTorch's meta device —
shapes only, no arithmetic — which fails wherever a lesson creates or moves a tensor to a
device of its own choosing (the CPU where the run was told CUDA). The step is the loop's: a
lesson that trained in a loop of its own would never reach it."""
from __future__ import annotations

import pytest
import torch

from dlplay import course, train
from dlplay.runs.lesson import lesson_for
from tests.test_work import _setting

# NumPy, tabular RL, the exercises (NumPy in the sandbox), and word2vec (gensim; its sentiment-trained bag goes through the loop after gensim has
# trained on every review: tests/text/test_embeddings.py trains it)
NOT_TORCH = {"pg", "gates", "npdigits", "regsel", "rl", "emb", "ex"}
TORCH = [page for page in course.lessons() if page not in NOT_TORCH]


class OneStep(Exception):
    pass


@pytest.mark.slow  # each lesson's data prepared as its page does (a few seconds each)
@pytest.mark.parametrize("page", TORCH)
def test_one_step_of_every_torch_lesson_runs_on_the_meta_device(page, monkeypatch):
    lesson = lesson_for(page)
    spec = _setting(page, lesson)  # its page's default, smaller where that prepares for long
    monkeypatch.setenv("DLPLAY_DEVICE", "meta")
    learned = []
    real_learn = train.Loop.learn

    def learn_once(loop, batch, step):
        real_learn(loop, batch, step)
        learned.append(loop)
        raise OneStep

    monkeypatch.setattr(train.Loop, "learn", learn_once)
    if page == "gan":  # the judge scores samples before the first step: on meta there are none to score
        from dlplay.generative import gan
        monkeypatch.setattr(gan, "generate", lambda g, z: torch.zeros(len(z), 1, 28, 28))
    if page == "diag":  # the first step's histograms: on meta there are no values to count
        from dlplay.craft import diagnosis
        monkeypatch.setattr(diagnosis, "take_snapshot", lambda net, probe, step, epoch, loss: None)
    with pytest.raises(OneStep):
        lesson.train(spec, None)
    (loop,) = learned
    assert {p.device.type for p in loop.model.parameters()} == {"meta"}
    assert loop.step == 0  # stopped inside its first step, after the optimizer stepped


def test_dlplay_device_picks_where_runs_train(monkeypatch):
    monkeypatch.setenv("DLPLAY_DEVICE", "meta")
    assert train.pick_device() == torch.device("meta")
    assert train.pick_device("cpu") == torch.device("cpu")  # a setting that names its device keeps it
    monkeypatch.delenv("DLPLAY_DEVICE")
    assert train.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
