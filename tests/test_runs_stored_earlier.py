"""Runs stored by an earlier version still open (issue 26 part 3): tests/stores/2026-12-07 is a run
store of one run per page, stored by the code of 7 December 2026 — before the one result codec
(`dlplay.runs.codec`) replaced each lesson's hand-written save and load — harvested from a suite
run's own stores (tests/stores/harvest.py). Each run is reopened as the Runs page reopens it, and
stored again: the same weights, arrays, figures and headline come out (new figures may be added)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dlplay import course
from dlplay.runs.lesson import Saved, lesson_for
from dlplay.runs.store import RunStore, dumps, stamped

STORED = Path(__file__).parent / "stores" / "2026-12-07"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> RunStore:
    root = tmp_path_factory.mktemp("earlier") / "home"
    shutil.copytree(STORED, root)  # opened where it may be written (a store migrates its schema in place)
    return RunStore(root)


def _runs(store: RunStore) -> dict:
    from tests.stores.harvest import _runs as every_run

    return {run.page: run for run in every_run(store)}


def test_the_earlier_store_holds_a_run_of_every_page_that_stores_runs(store):
    assert sorted(_runs(store)) == sorted(course.lessons())


@pytest.mark.parametrize("page", sorted(course.lessons()))
def test_a_run_stored_earlier_reopens_and_stores_the_same(store, page):
    run = _runs(store)[page]
    lesson = lesson_for(page)
    saved = Saved(store.load_model(run.id), store.load_arrays(run.id), run.summary, run.headline)
    result = lesson.load(lesson.spec_from(run.spec), saved)
    again = lesson.save(result)
    assert again.headline == run.headline
    for name, tensor in saved.tensors.items():  # a tensor may now be kept with the arrays
        kept = again.tensors[name] if name in again.tensors else torch.from_numpy(np.asarray(again.arrays[name]))
        assert torch.equal(kept, tensor), name
    for name, array in saved.arrays.items():
        kept = again.arrays[name] if name in again.arrays else again.tensors[name].numpy()
        assert np.array_equal(np.asarray(kept), array), name
    summary = json.loads(dumps(stamped(again.summary)))  # stored, the figures carry the version that made them
    for key, value in run.summary.items():  # figures recomputed from the weights (the DCGAN's sample mean) may
        # differ in the last bits with the number of threads that sums them
        assert summary.get(key) == (pytest.approx(value, rel=1e-6) if isinstance(value, float) else value), key
