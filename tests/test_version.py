"""One version (dlplay/__init__.py), shown in the app's sidebar and stored with every run (issue 27, part 4)."""
from __future__ import annotations

import re

from dlplay import __version__
from dlplay.classify import LESSON, ClassifierSpec
from dlplay.runs import record
from dlplay.runs.store import get_store
from dlplay.train import TrainConfig
from tests.conftest import ROOT


def test_the_version_is_one_semantic_version_named_in_the_changelog():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_sidebar_names_the_version(apptest):
    at = apptest("app.py").run()
    assert not at.exception
    assert any(c.value == f"dlplay {__version__} · MIT licence" for c in at.sidebar.caption)


def test_a_run_stores_the_version_that_trained_it():
    spec = ClassifierSpec(dataset="digits8x8", hidden=(8,), train=TrainConfig(epochs=1, batch_size=256))
    run, job = record.start(LESSON, spec, workspace="version-test", session_id="version-test")
    assert get_store().get(run.id).summary["dlplay_version"] == __version__  # from its start
    assert job.wait(60) and job.state == "done", job.error
    record.RECORDER.flush(run.id)
    stored = get_store().get(run.id)
    assert stored.summary["dlplay_version"] == __version__ and "test_acc" in stored.summary
