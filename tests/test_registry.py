"""The test data from a mirror: `dlplay.registry` fetches each dataset the tests read from a
loopback server over ../shared/data (standing in for a teacher's mirror, DLPLAY_DATA_URL),
checks every file's sha256 (a damaged byte is refused and named), unpacks a publisher's archive,
keeps what it fetched, and with nothing to fetch from stops with one message."""
from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import http.server
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from dlplay import registry
from tests.conftest import ROOT, SHARED_DATA


class _Counting(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        type(self).requests += 1
        type(self).paths.append(self.path)
        super().do_GET()


@pytest.fixture
def serve():
    """serve(folder) → the base URL of a loopback HTTP server over `folder` (and its request count)."""
    servers = []

    def start(folder: Path):
        handler = type("Handler", (_Counting,), {"requests": 0, "paths": []})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", handler

    yield start
    for httpd in servers:
        httpd.shutdown()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow  # every test file over loopback, 116 MB: the full suite's
def test_every_test_dataset_comes_from_a_mirror_checked_and_is_kept(serve, tmp_path, monkeypatch):
    base, handler = serve(SHARED_DATA)
    monkeypatch.setenv("DLPLAY_DATA_URL", base)
    dest = tmp_path / "test-data"
    assert len(registry.missing(dest)) == sum(len(d.files) for d in registry.DATASETS.values())
    seen = []
    registry.ensure(dest, progress=lambda frac, msg: seen.append((frac, msg)))
    assert registry.missing(dest) == []
    for ds in registry.DATASETS.values():
        for f in ds.files:
            assert (dest / f.path).stat().st_size == f.size and _sha(dest / f.path) == f.sha256, f.path
    reviews = list((dest / "aclImdb").rglob("*.txt"))
    assert len(reviews) == 5000 and all(_sha(p) == _sha(SHARED_DATA / p.relative_to(dest)) for p in reviews[::250])
    assert any("downloading data_batch_1" in msg for _, msg in seen) and all(0 <= f <= 1 for f, _ in seen)
    fetched = handler.requests
    assert fetched == 5000 + sum(len(d.files) for d in registry.DATASETS.values())
    registry.ensure(dest)  # all there: nothing fetched again
    assert handler.requests == fetched


def test_a_damaged_byte_is_refused_and_named(serve, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    shutil.copytree(SHARED_DATA / "ag_news_csv", mirror / "ag_news_csv")
    damaged = mirror / "ag_news_csv" / "test.csv"
    data = bytearray(damaged.read_bytes())
    data[1000] ^= 0x01
    damaged.write_bytes(bytes(data))
    base, _ = serve(mirror)
    monkeypatch.setenv("DLPLAY_DATA_URL", base)
    dest = tmp_path / "test-data"
    with pytest.raises(registry.FetchFailed) as exc:
        registry.ensure(dest, names=("ag_news",))
    message = str(exc.value)
    assert "test.csv" in message and "arrived damaged" in message and "refused" in message
    assert not (dest / "ag_news_csv" / "test.csv").exists(), "a damaged file never counts as fetched"
    assert (dest / "ag_news_csv" / "classes.txt").is_file()  # the sound ones are kept


def test_a_publishers_archive_is_checked_then_unpacked(serve, tmp_path, monkeypatch):
    """The original route of CIFAR-10's batches: the publisher's tar.gz, checked against its md5,
    then each batch unpacked into its place (served here from loopback, built from the test data)."""
    site = tmp_path / "site"
    site.mkdir()
    archive = site / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for f in registry.DATASETS["cifar10"].files:
            tar.add(SHARED_DATA / f.path, arcname=f.member)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    base, handler = serve(site)
    files = tuple(replace(f, origin=f"{base}/cifar-10-python.tar.gz", origin_hash=f"md5:{md5}")
                  for f in registry.DATASETS["cifar10"].files)
    monkeypatch.setitem(registry.DATASETS, "cifar10", replace(registry.DATASETS["cifar10"], files=files))
    monkeypatch.delenv("DLPLAY_DATA_URL", raising=False)
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path / "cache"))
    dest = tmp_path / "test-data"
    registry.ensure(dest, names=("cifar10",))
    for f in files:
        assert _sha(dest / f.path) == f.sha256, f.path
    assert handler.requests == 1, "the archive is fetched once for its three members"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_nothing_to_fetch_from_the_test_command_stops_at_once_with_one_message(tmp_path):
    """No data anywhere and the mirror unreachable: the suite stops before its first test and says
    which files are missing and the two ways to provide them."""
    env = {**os.environ, "DLPLAY_TEST_DATA": str(tmp_path / "none"),
           "DLPLAY_DATA_URL": f"http://127.0.0.1:{_closed_port()}", "DLPLAY_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PYTEST_XDIST_WORKER", None)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_version.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == 4, text
    assert "Test data missing in" in text and "MNIST/raw/train-images-idx3-ubyte.gz" in text
    assert "DLPLAY_TEST_DATA" in text and "DLPLAY_DATA_URL" in text and "../shared/data" in text
    assert "passed" not in text and "failed" not in text and text.count("Traceback") == 0


def test_the_table_matches_the_test_data_it_describes():
    """Every file the registry names is in ../shared/data at its size and sha256 (the manifest too)."""
    for ds in registry.DATASETS.values():
        for f in ds.files:
            assert (SHARED_DATA / f.path).stat().st_size == f.size and _sha(SHARED_DATA / f.path) == f.sha256, f.path
    assert registry.missing(SHARED_DATA) == []
    listed = registry._listed(SHARED_DATA, registry.DATASETS["imdb"].manifest)
    assert len(listed) == 5000
    assert sum((SHARED_DATA / p).stat().st_size for p, _ in listed) == registry.MANIFEST_BYTES["aclImdb_subset.sha256"]


def test_the_app_fetches_a_missing_dataset_from_the_mirror(serve, tmp_path, monkeypatch):
    """The pages read the same registry: with DLPLAY_DATA_URL set, MNIST and AG News missing from
    the data directory come from the mirror, checked, and are read from there afterwards."""
    from dlplay import data
    from dlplay.text import corpus

    base, handler = serve(SHARED_DATA)
    monkeypatch.setenv("DLPLAY_DATA_URL", base)
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DLPLAY_OFFLINE", "0")
    data.clear_cache()
    try:
        mnist = data.load("mnist")
        assert mnist.source.kind == "download" and len(mnist.x_train) == 60_000 and len(mnist.x_test) == 10_000
        news = corpus.load("ag_news")
        assert len(news.train_texts) + len(news.test_texts) == 7_600
        assert handler.requests == 4 + 3
        assert (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    finally:
        data.clear_cache()


def _as_originals(monkeypatch, base: str, name: str) -> None:
    """The dataset's verbatim originals served from `base` by their data-directory paths."""
    files = tuple(replace(f, origin=f"{base}/{f.path}") if f.origin and not f.member else f
                  for f in registry.DATASETS[name].files)
    monkeypatch.setitem(registry.DATASETS, name, replace(registry.DATASETS[name], files=files))


@pytest.mark.slow
def test_without_a_mirror_the_rebuilt_files_are_made_again_from_their_originals(serve, tmp_path, monkeypatch):
    """No mirror: the two music pickles are made from the TCN .mat originals, and the IMDB subset, its
    listing and both CSVs from Stanford's archive (here one built from the test data's own reviews and
    served on loopback, its md5 taken as published) — each byte for byte the registry's file."""
    from dlplay import rebuilt

    site = tmp_path / "site"
    site.mkdir()
    archive = site / "aclImdb_v1.tar.gz"
    csv.field_size_limit(10**9)
    with tarfile.open(archive, "w") as tar:  # every labelled review at its place, as in the original
        tar.add(SHARED_DATA / "aclImdb" / "README", arcname="aclImdb/README")
        for split in ("train", "test"):
            with gzip.open(SHARED_DATA / "imdb_csv" / f"imdb_{split}.csv.gz", "rt", encoding="utf-8", newline="") as f:
                for review, _, _, source in list(csv.reader(f))[1:]:
                    data = review.encode("utf-8")
                    info = tarfile.TarInfo(f"aclImdb/{source}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    base, handler = serve(SHARED_DATA)
    archive_base, _ = serve(site)
    monkeypatch.setattr(rebuilt, "IMDB_URL", f"{archive_base}/aclImdb_v1.tar.gz")
    monkeypatch.setattr(rebuilt, "IMDB_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    _as_originals(monkeypatch, base, "music")
    monkeypatch.delenv("DLPLAY_DATA_URL", raising=False)
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path / "cache"))
    dest = tmp_path / "test-data"
    registry.ensure(dest, names=("music", "imdb", "imdb_csv"))
    assert registry.missing(dest, ("music", "imdb", "imdb_csv")) == []
    for name in ("music", "imdb", "imdb_csv"):
        for f in registry.DATASETS[name].files:
            assert _sha(dest / f.path) == f.sha256, f.path
    assert len(list((dest / "aclImdb").rglob("*.txt"))) == 5000
    made = ("Nottingham.pickle", "Piano-midi.de.pickle", "imdb_csv", "aclImdb")
    assert not any(m in p for p in handler.paths for m in made), "made here from the originals, not fetched"
