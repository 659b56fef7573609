"""The one result codec (`dlplay.runs.codec`, issue 26 part 3): a result is saved from its fields'
types — weights and tensors to safetensors, arrays to the arrays file, the rest to JSON — and
rebuilt from them through the real run store, so a reopened run equals the live one; a field added
later takes its default in runs stored before it; renamed fields and other forms read back."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from dlplay.runs.codec import Codec, Form
from dlplay.runs.lesson import Saved
from dlplay.runs.store import RunStore


@dataclass
class Spec:
    width: int = 3


@dataclass
class Result:
    model: nn.Module
    spec: Spec
    noise: torch.Tensor
    confusion: np.ndarray
    rows: list[dict]
    accuracy: float
    shape: tuple
    classes: list[str]
    picked: np.ndarray | None = None
    note: str = ""
    added_later: list[int] = field(default_factory=lambda: [7])


CODEC = Codec(Result, models={"model": lambda spec, s: nn.Linear(s["inputs"], spec.width)},
              headline=lambda r: f"{r.accuracy:.0%}", extra=lambda r: {"inputs": r.model.in_features},
              renamed={"confusion": "matrix"},
              forms={"classes": Form(lambda c: "|".join(c), lambda text: text.split("|"))})


def a_result() -> Result:
    torch.manual_seed(0)
    return Result(nn.Linear(4, 3), Spec(), torch.randn(2, 5), np.arange(9).reshape(3, 3), [{"step": 1, "loss": 0.5}],
                  0.75, (1, 28, 28), ["cat", "dog"], np.array([2, 0]), "stopped at epoch 1")


def through_the_store(saved: Saved, tmp_path) -> Saved:
    store = RunStore(tmp_path / "home")
    run = store.create(workspace="w", page="mlp", title="t", spec={})
    store.save_model(run.id, saved.tensors, saved.arrays)
    store.finish(run.id, state="done", summary=saved.summary, headline=saved.headline, has_model=True)
    again = store.get(run.id)
    return Saved(store.load_model(run.id), store.load_arrays(run.id), again.summary, again.headline)


def test_a_result_comes_back_from_the_store_field_by_field(tmp_path):
    live = a_result()
    saved = CODEC.save(live)
    assert set(saved.tensors) == {"model.weight", "model.bias", "noise"}
    assert set(saved.arrays) == {"matrix", "picked"}
    assert saved.summary["classes"] == "cat|dog" and saved.summary["inputs"] == 4 and saved.headline == "75%"
    back = CODEC.load(Spec(), through_the_store(saved, tmp_path))
    assert torch.equal(back.model.weight, live.model.weight) and not back.model.training
    assert torch.equal(back.noise, live.noise)
    assert np.array_equal(back.confusion, live.confusion) and np.array_equal(back.picked, live.picked)
    assert (back.rows, back.accuracy, back.shape, back.classes, back.note) == \
        (live.rows, live.accuracy, live.shape, live.classes, live.note)
    assert isinstance(back.shape, tuple)  # JSON gave a list: the field's type says tuple


def test_a_field_added_later_takes_its_default_in_older_runs():
    saved = CODEC.save(a_result())
    del saved.summary["added_later"], saved.summary["note"]
    back = CODEC.load(Spec(), saved)
    assert back.added_later == [7] and back.note == ""


def test_a_tensor_stored_as_an_array_by_an_older_version_reads_back_as_a_tensor():
    saved = CODEC.save(a_result())
    saved.arrays["noise"] = saved.tensors.pop("noise").numpy()
    back = CODEC.load(Spec(), saved)
    assert isinstance(back.noise, torch.Tensor) and back.noise.shape == (2, 5)


def test_a_missing_required_field_is_said_plainly():
    saved = CODEC.save(a_result())
    del saved.summary["accuracy"]
    with pytest.raises(TypeError, match="accuracy"):
        CODEC.load(Spec(), saved)
