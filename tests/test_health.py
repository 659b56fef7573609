"""The health endpoint a Docker HEALTHCHECK or a load balancer reads (`/_dlplay/health`): the run
store readable and writable, the Ray cluster's live nodes when one is configured — no server path."""
from __future__ import annotations

import json
import os
import urllib.request

import pytest

from dlplay import health, runs
from dlplay.runs import store as store_mod
from tests.conftest import streamlit_server


def test_a_writable_store_and_no_cluster_is_ok(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path))
    monkeypatch.delenv("DLPLAY_DB_URL", raising=False)
    monkeypatch.delenv("DLPLAY_RAY_ADDRESS", raising=False)
    monkeypatch.setattr(store_mod, "_store", None)
    runs.get_store().create(workspace="w", page="mlp", title="t", spec={})
    code, body = health.report()
    assert code == 200 and body == {"status": "ok", "store": "ok · 1 runs", "cluster": "not configured"}


def test_a_store_that_cant_be_written_fails_the_check_without_a_path(tmp_path, monkeypatch):
    store_mod.RunStore(tmp_path)
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path))
    monkeypatch.setenv("DLPLAY_DB_URL", f"sqlite:///file:{tmp_path / 'runs.db'}?mode=ro&uri=true")
    monkeypatch.setattr(store_mod, "_store", None)
    code, body = health.report()
    assert code == 503 and body["status"] == "failing" and "read-only" in body["store"]
    assert str(tmp_path) not in json.dumps(body)


@pytest.mark.slow  # a server started: the full suite's
def test_the_server_serves_it_beside_streamlits_own(tmp_path):
    env = {**os.environ, "DLPLAY_HOME": str(tmp_path / "home")}
    env.pop("DLPLAY_RAY_ADDRESS", None)
    env.pop("DLPLAY_DB_URL", None)
    with streamlit_server(["dlplay_app.serve"], "server-health.log", env=env) as url:
        with urllib.request.urlopen(f"{url}/_dlplay/health", timeout=20) as r:
            assert r.status == 200
            assert json.loads(r.read()) == {"status": "ok", "store": "ok · 0 runs", "cluster": "not configured"}
