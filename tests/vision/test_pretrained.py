"""The ImageNet weights' download path, against a local HTTP server serving a real
torchvision checkpoint (never the internet): progress, the sha256 check, the cache."""
import contextlib
import functools
import hashlib
import http.server
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dlplay.vision import pretrained


class Server:
    """http.server in a thread, serving `folder`; counts the requests per path."""

    def __init__(self, folder):
        self.hits: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serve_checkpoint(name: str, tmp_path, monkeypatch):
    """A real torchvision state dict of `name` (random init) saved as torchvision names its files,
    with its own sha256 prefix, served by a local mirror (DLPLAY_WEIGHTS_URL); dlplay's cache and
    torch hub's folder empty, downloads allowed. Yields (server, served file, state dict)."""
    import torchvision.models as tvm

    folder = tmp_path / "served" / "models"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    state = getattr(tvm, name)(weights=None).state_dict()
    raw = folder / "checkpoint.pth"
    torch.save(state, raw)
    filename = f"{name}-{hashlib.sha256(raw.read_bytes()).hexdigest()[:8]}.pth"
    raw.rename(folder / filename)
    monkeypatch.setitem(pretrained.IMAGENET, name, replace(pretrained.IMAGENET[name], filename=filename))
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLPLAY_OFFLINE", raising=False)
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    server = Server(tmp_path / "served")
    monkeypatch.setenv("DLPLAY_WEIGHTS_URL", server.url)
    try:
        yield server, folder / filename, state
    finally:
        server.close()
        torch.hub.set_dir(hub)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    with serve_checkpoint("mobilenet_v2", tmp_path, monkeypatch) as served:
        yield served


def test_download_reports_progress_checks_the_hash_and_caches(mirror):
    server, served, state = mirror
    assert pretrained.cached_weights("mobilenet_v2") is None
    calls = []
    path = pretrained.fetch_weights("mobilenet_v2", progress=lambda f, msg: calls.append((f, msg)))
    assert path == pretrained.weights_dir() / served.name and path.read_bytes() == served.read_bytes()
    assert server.hits == [f"/models/{served.name}"]
    fractions = [f for f, _ in calls]
    assert len(calls) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0  # 14 MB in 64 kB chunks
    assert "MB" in calls[-1][1] and served.name in calls[-1][1]
    # Cached: the second call doesn't ask the server.
    assert pretrained.fetch_weights("mobilenet_v2") == path and len(server.hits) == 1
    # The weights load into the body: the served tensors, a 1280-wide feature vector, a new 5-class head.
    net = pretrained.imagenet_net("mobilenet_v2", 5, 64, path)
    assert torch.equal(net.body[1].features[0][0].weight, state["features.0.0.weight"])
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 5) and net.body(torch.rand(2, 1, 28, 28)).shape == (2, 1280)


def test_a_corrupted_download_is_rejected_and_not_cached(mirror):
    server, served, _ = mirror
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped on the way
    served.write_bytes(bytes(data))
    with pytest.raises(pretrained.WeightsUnavailable, match="arrived corrupted: its sha256 starts"):
        pretrained.fetch_weights("mobilenet_v2")
    assert pretrained.cached_weights("mobilenet_v2") is None
    assert not any(pretrained.weights_dir().iterdir()), "no partial file left behind"


def test_offline_or_unreachable_says_why(mirror, monkeypatch):
    monkeypatch.setenv("DLPLAY_OFFLINE", "1")
    with pytest.raises(pretrained.WeightsUnavailable, match=r"downloads are off \(DLPLAY_OFFLINE\)"):
        pretrained.fetch_weights("mobilenet_v2")
    server, _, _ = mirror
    assert server.hits == []
    monkeypatch.delenv("DLPLAY_OFFLINE")
    monkeypatch.setenv("DLPLAY_WEIGHTS_URL", server.url + "/missing")
    with pytest.raises(pretrained.WeightsUnavailable, match="could not be downloaded from http://127.0.0.1"):
        pretrained.fetch_weights("mobilenet_v2")


def test_weights_already_in_torch_hub_are_used_without_a_download(mirror):
    server, served, _ = mirror
    target = Path(torch.hub.get_dir(), "checkpoints", served.name)
    target.parent.mkdir(parents=True)
    target.write_bytes(served.read_bytes())
    assert pretrained.fetch_weights("mobilenet_v2") == target and server.hits == []


def test_a_failed_download_is_remembered_and_the_transfer_page_offers_the_own_body(tmp_path, monkeypatch):
    """No network (here: a mirror nobody listens on): the download fails once, and for a while
    `download_failure` says why, so the lesson stops promising a download on every Train."""
    import socket

    from dlplay import data
    from dlplay.vision import transfer

    with socket.socket() as s:  # a port nothing listens on: the connection is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("DLPLAY_OFFLINE", raising=False)
    monkeypatch.setenv("DLPLAY_WEIGHTS_URL", f"http://127.0.0.1:{port}/models")
    monkeypatch.setenv("DLPLAY_CACHE_DIR", str(tmp_path / "cache"))
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    pretrained.forget_failures()
    try:
        assert pretrained.download_failure("resnet18") is None
        used, where = transfer.body_status("resnet18", "fashion_mnist")
        assert used == "resnet18" and "when you press Train" in where
        with pytest.raises(pretrained.WeightsUnavailable, match="could not be downloaded"):
            pretrained.fetch_weights("resnet18")
        assert f"127.0.0.1:{port}" in pretrained.download_failure("resnet18")
        used, where = transfer.body_status("resnet18", "fashion_mnist")
        assert used == "own" and "when you press Train" not in where
        assert "ResNet18's ImageNet weights cannot be fetched" in where and "tries the download again in 10 minutes" in where
        assert "dlplay's own body pretrained on Fashion-MNIST classes 0–4" in where
        used, where = transfer.body_status("resnet18", "caltech101")
        assert used == "" and "the download failed" in where
        # Another mirror is another chance; so is a later time.
        monkeypatch.setenv("DLPLAY_WEIGHTS_URL", f"http://127.0.0.1:{port}/other")
        assert pretrained.download_failure("resnet18") is None
        monkeypatch.setenv("DLPLAY_WEIGHTS_URL", f"http://127.0.0.1:{port}/models")
        monkeypatch.setattr(pretrained, "RETRY_AFTER_S", 0.0)
        assert pretrained.download_failure("resnet18") is None
        assert data.downloads_allowed()
    finally:
        pretrained.forget_failures()
        torch.hub.set_dir(hub)
