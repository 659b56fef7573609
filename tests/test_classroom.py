"""The classroom deployment of compose.yaml, without Docker (no daemon on these machines): the same
topology on loopback — PostgreSQL for the run store, a Ray head and a second Ray worker node, and
two app servers sharing that store, that cluster and one DLPLAY_HOME. A browser on each trains a
run; each sees its own run only, and both runs trained on the cluster, not in a server."""
from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import ROOT, need_shared, screenshot, server_log, streamlit_server
from tests.test_e2e_runs import (LOAD_MS, _context_page, grid_row, no_traceback, open_runs_page, pick_dataset,
                                 read_accuracy, set_epochs, wait_until_idle)
from tests.test_runs_postgres import pg_server  # noqa: F401 - the fixture: a PostgreSQL server of the test's own

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements.txt)")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray head and a second node (a worker), one CPU each, their processes on loopback; the
    workers import dlplay from this checkout, as a node of the image would."""
    from ray.cluster_utils import Cluster

    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), path]))  # inherited by the raylets
    node = {"num_cpus": 1, "include_dashboard": False, "object_store_memory": 100 * 2**20}
    try:
        cluster = Cluster(initialize_head=True, connect=False, head_node_args=node)
        cluster.add_node(**node)
    finally:
        if path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = path
    yield cluster
    cluster.shutdown()


@pytest.fixture
def class_db(pg_server):  # noqa: F811 - pytest's fixture, by name
    name = f"class_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f"CREATE DATABASE {name}")
    yield f"{pg_server}/{name}"
    with admin.connect() as con:
        con.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


def test_two_app_servers_share_one_store_and_one_cluster_and_each_visitor_sees_their_own(
        class_db, ray_cluster, browser, tmp_path):
    need_shared("MNIST", "raw")
    env = {**os.environ, "DLPLAY_SHARED": "1", "DLPLAY_DB_URL": class_db, "DLPLAY_RAY_ADDRESS": ray_cluster.address,
           "DLPLAY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    with streamlit_server(["dlplay_app.serve"], "classroom-a.log", env=env) as url_a, \
            streamlit_server(["dlplay_app.serve"], "classroom-b.log", env=env) as url_b:
        import json
        import urllib.request

        for url in (url_a, url_b):  # each server reaches the store and both nodes of the cluster
            with urllib.request.urlopen(f"{url}/_dlplay/health", timeout=60) as r:
                assert json.loads(r.read()) == {"status": "ok", "store": "ok · 0 runs",
                                                "cluster": "ok · 2 nodes, 2 CPUs"}
        visitors = [(url, *_context_page(browser)) for url in (url_a, url_b)]
        try:
            for url, _, page in visitors:
                open_runs_page(page, f"{url}/runs")
                page.goto(f"{url}/digit_classifier")
                expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)
                pick_dataset(page, "MNIST 5k sample (bundled)")
                set_epochs(page, 1)
                wait_until_idle(page)
                page.get_by_role("button", name="Train").click()
            for i, (url, _, page) in enumerate(visitors):
                assert read_accuracy(page) > 0.8
                screenshot(page, f"classroom_{i}_trained")
                page.goto(f"{url}/runs")
                expect(page.get_by_text("1 run.")).to_be_visible(timeout=LOAD_MS)
                assert grid_row(page, 0)[1:4:2] == ["Digit classifier (MLP)", "done"], grid_row(page, 0)
                no_traceback(page)
        finally:
            for _, context, _ in visitors:
                context.close()

    engine = sa.create_engine(class_db)
    with engine.connect() as con:
        rows = con.exec_driver_sql("SELECT id, workspace, state FROM runs ORDER BY id").all()
    engine.dispose()
    assert len(rows) == 2 and rows[0].workspace != rows[1].workspace and {r.state for r in rows} == {"done"}
    for name in ("classroom-a.log", "classroom-b.log"):  # each run trained on a Ray worker, not in its server
        log = server_log(name).read_text()
        ended = re.findall(r"job ended .*state=done .*where=\S+:(\d+)", log)
        server_pid = re.search(r"server starting pid=(\d+)", log).group(1)
        assert len(ended) == 1 and ended[0] != server_pid, log[-3000:]
