"""No server path reaches a visitor on a shared server (DLPLAY_SHARED=1): not on any page,
not in a missing dataset's message (which names the file relative to the data directory
instead), not in a failed run's error, not in an exported run's files. On a personal
machine the full path stays: it tells the learner where their files are."""
from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest

from dlplay import course, data

from tests.conftest import ROOT

# Every page of the app, as the course table lists them.
PAGES = [p.path.removeprefix("pages/").removesuffix(".py") for p in course.COURSE]
# An absolute path: a "/" starting a word, two names deep at least ("/srv/data", not "train/test" or "5 /s").
ABSOLUTE = re.compile(r"(?<![\w.:/\]\)>-])/[\w.+@%=~-]+/[\w.+@%=~/-]*")


def server_paths() -> list[str]:
    """The folders whose names must not reach a visitor."""
    folders = [data.data_dir(), data.cache_dir(), os.environ["DLPLAY_HOME"], ROOT, Path.home(), tempfile.gettempdir()]
    return sorted({str(f) for f in folders} | {os.path.realpath(f) for f in folders}, key=len, reverse=True)


def leaks(text: str) -> list[str]:
    """The server paths (or any absolute path) in `text`; a picture's base64 (a data: URL) is no path."""
    text = re.sub(r"data:[\w/+.-]+;base64,[\w+/=]+", "", text)
    text = re.sub(r"^(/mock)?/media/\w+\.\w+$", "", text)  # a download's URL on the Streamlit server
    found = [p for p in server_paths() if p in text]
    return found + ABSOLUTE.findall(text)


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("data", "arrowData"):  # a table's Arrow bytes: read through its DataFrame instead
                _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def page_strings(at) -> list[str]:
    """Every string the page sends to the browser: texts, labels, help, options, chart specs, tables."""
    from google.protobuf.json_format import MessageToDict

    out: list[str] = []

    def walk(node):
        children = getattr(node, "children", None) or {}
        for child in (children.values() if isinstance(children, dict) else children):
            walk(child)
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            _strings(MessageToDict(proto), out)
        if type(node).__name__ in ("Dataframe", "Table"):
            out.append(node.value.to_string())

    walk(at._tree)
    return out


@pytest.fixture
def shared_server(monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))  # a run store of this test's own


def _open(apptest, page: str, query: dict | None = None):
    at = apptest("app.py").run()
    at.switch_page(f"pages/{page}.py")
    at.query_params.update(query or {})
    return at.run()


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_server_path(apptest, shared_server, page):
    at = _open(apptest, page)
    assert not at.exception, [e.value for e in at.exception]
    found = {s[:300]: leaks(s) for s in page_strings(at) if leaks(s)}
    assert not found, found


def test_a_personal_machine_still_shows_the_full_path(apptest, monkeypatch):
    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    ds = data.load("mnist")
    assert ds.source.describe() == f"data directory: {data.data_dir() / 'MNIST' / 'raw'}"
    at = _open(apptest, "digit_classifier")
    assert any(str(data.data_dir() / "MNIST" / "raw") in c.value for c in at.caption)


def test_the_source_says_its_kind_and_name(shared_server):
    ds = data.load("mnist")
    assert ds.source.describe() == "data directory · MNIST/raw"
    assert ds.source.describe(full=True) == f"data directory: {data.data_dir() / 'MNIST' / 'raw'}"  # for the log


def test_a_missing_dataset_names_the_file_in_the_data_directory(apptest, shared_server, monkeypatch, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(empty))
    monkeypatch.setenv("DLPLAY_OFFLINE", "1")
    # CIFAR-10 has no fallback: the page stops with what to put where.
    at = _open(apptest, "vision/cnn")
    at = at.selectbox(key="cnn-dataset").select("cifar10").run()
    errors = [e.value for e in at.error]
    assert any("`cifar-10-batches-py` in the server's data directory" in e and "ask your teacher" in e
               for e in errors), errors
    # MNIST falls back to the bundled sample and says which files would give all of it.
    at = _open(apptest, "digit_classifier")
    assert at.selectbox(key="mlp-dataset").value == "mnist"
    notes = [w.value for w in at.warning]
    assert any("train-images-idx3-ubyte.gz" in n and "`MNIST/raw` in the server's data directory" in n
               for n in notes), notes
    for text in errors + notes + [c.value for c in at.caption]:
        assert str(empty) not in text and not leaks(text), text


def test_scrub_replaces_paths_with_neutral_words(shared_server, tmp_path):
    from dlplay import visible

    where = data.data_dir() / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    message = f"[Errno 13] Permission denied: '{where}'. Also {data.cache_dir()}/models and /usr/lib/x.so."
    shown = visible.text(message)
    assert shown == ("[Errno 13] Permission denied: '[data directory]/MNIST/raw/train-images-idx3-ubyte.gz'. "
                     "Also [cache directory]/models and [server path]/x.so."), shown
    for ordinary in ("train/test split 80/20", "https://data.caltech.edu/records/mzrjq-6wc02", "5.0 /s", "½ / 2"):
        assert visible.text(ordinary) == ordinary


def test_a_failed_run_shows_its_error_without_paths(apptest, shared_server):
    """A job's exception (an OSError names its file) reaches the page scrubbed."""
    from dlplay.jobs import get_scheduler

    from dlplay_app.ui.live import job_status

    def fail(job):
        raise OSError(f"[Errno 28] No space left on device: '{data.cache_dir() / 'models' / 'x.safetensors'}'")

    job = get_scheduler().submit(fail, session_id="test", name="fails")
    job.wait(10)
    assert job.state == "failed"

    def page():
        import streamlit as st

        from dlplay.jobs import get_scheduler
        from dlplay_app.ui.live import job_status

        job_status(get_scheduler().get(st.session_state["job-id"]))

    at = apptest_from_function(page)
    at.session_state["job-id"] = job.id
    at.run()
    shown = [e.value for e in at.error] + [c.value for c in at.caption]
    assert any("No space left on device: '[cache directory]/models/x.safetensors'" in s for s in shown), shown
    assert not any(leaks(s) for s in shown), shown
    assert job_status  # imported as the page uses it


def apptest_from_function(fn):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_resource.clear()
    return AppTest.from_function(fn, default_timeout=30)


@pytest.mark.slow
def test_an_exported_run_holds_no_server_path(shared_server, tmp_path):
    """The zip a visitor downloads: spec JSON, metrics, weights, the standalone script — and
    the script still finds the test set when its folder sits beside it as the run named it."""
    import subprocess
    import sys

    from dlplay import runs
    from dlplay.classify import LESSON, ClassifierSpec
    from dlplay.runs import export
    from dlplay.train import TrainConfig

    spec = ClassifierSpec(dataset="mnist", hidden=(16,), n_val=1000, train=TrainConfig(epochs=1, batch_size=512))
    run, job = runs.start(LESSON, spec, workspace="test", session_id="test", ds=data.load("mnist"))
    assert job.wait(120) and job.state == "done", job.error
    run = runs.get_store().get(run.id)
    assert run.data_id["source"] == "data directory · MNIST/raw"
    archive = zipfile.ZipFile(io.BytesIO(export.zip_bytes(run)))
    files = {name: archive.read(name) for name in archive.namelist()}
    for name, content in files.items():
        if not name.endswith(".safetensors"):
            text = content.decode()
            assert not leaks(text), (name, leaks(text))
    record = json.loads(files[f"{export.file_stem(run)}.json"])
    assert record["data"]["source"] == "data directory · MNIST/raw"

    # A run stored before (its source with the full path) exports without it too.
    store = runs.get_store()
    store.update(run.id, data_id={**run.data_id, "source": f"data directory: {data.data_dir() / 'MNIST' / 'raw'}"})
    old = store.get(run.id)
    for name, content in export.files(old).items():
        if not name.endswith(".safetensors"):
            assert not leaks(content.decode()), (name, leaks(content.decode()))

    # The script reads the test files from MNIST/raw beside it, as a learner's copy would hold them.
    out = tmp_path / "export"
    (out / "MNIST").mkdir(parents=True)
    (out / "MNIST" / "raw").symlink_to(data.data_dir() / "MNIST" / "raw")
    for name, content in files.items():
        (out / name).write_bytes(content)
    done = subprocess.run([sys.executable, f"{export.file_stem(run)}.py"], cwd=out, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"test accuracy: {run.summary['test_acc']:.4f}" in done.stdout
