"""The run store on a real PostgreSQL server (DLPLAY_DB_URL), as a shared classroom
server uses it: the main checks of tests/test_runs_store.py run again here, each on a
fresh database of a server this module starts (initdb + pg_ctl in a temp folder, on a
free localhost port), plus replicas that share runs through it.

Skipped with a message when PostgreSQL (Debian's `postgresql`) or psycopg is missing.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")

from dlplay.runs import store as store_mod  # noqa: E402
from dlplay.runs.store import RunStore, get_store  # noqa: E402
# The SQLite suite's checks, collected here a second time with this module's fixtures.
from tests.test_runs_store import (  # noqa: E402,F401
    new_run, store, test_a_recorded_run_stores_the_jobs_metrics_and_rebuilds_its_result,
    test_a_run_cancelled_while_queued_says_it_never_started, test_a_workspace_never_sees_another_workspaces_runs,
    test_add_metrics_is_idempotent_for_a_retried_batch, test_create_update_get_list_delete,
    test_metric_rows_round_trip_and_nan_stays_nan, test_runs_left_active_by_an_exited_process_are_marked_interrupted,
    test_runs_of_a_live_other_process_are_not_touched, test_threads_and_processes_write_at_once_and_every_row_lands_once)


def _postgres_bin() -> Path | None:
    """Debian's newest PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(root: Path) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or nobody)."""
    if os.geteuid() != 0:
        return []
    try:
        user = pwd.getpwnam("postgres").pw_name
    except KeyError:
        user = "nobody"
    shutil.chown(root, user)
    return ["runuser", "-u", user, "--"]


@pytest.fixture(scope="module")
def pg_server():
    """A PostgreSQL server of our own in a temp folder on a free localhost port; its URL."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian package `postgresql`; `scripts/setup.sh test` "
                    "installs it): the run store's PostgreSQL checks are skipped")
    root = Path(tempfile.mkdtemp(prefix="dlplay-pg-"))
    user = _as_server_user(root)
    data, port = root / "data", _free_port()
    subprocess.run([*user, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync"], check=True, capture_output=True)
    # fsync off: these checks are about SQL and concurrency, not the disk (quicker on CI).
    options = f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c max_connections=100"
    started = subprocess.run([*user, bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60",
                              "-o", options, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        pytest.fail(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A fresh database for each test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f"CREATE DATABASE {name}")
    yield f"{pg_server}/{name}"
    if store_mod._store is not None and store_mod._store.url.endswith(f"/{name}"):
        store_mod._store.engine.dispose()
    with admin.connect() as con:
        con.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch, pg_url):
    """As in test_runs_store, with the database on PostgreSQL (subprocesses inherit it)."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLPLAY_DB_URL", pg_url)
    return tmp_path / "home"


def test_the_store_is_on_postgresql_and_replicas_share_its_runs(store, tmp_path, pg_url):
    assert store.engine.dialect.name == "postgresql" and store.url == pg_url
    run = new_run(store, workspace="class")
    store.add_metrics(run.id, [(0, {"loss": 2.5}), (1, {"loss": 1.25})])
    store.update(run.id, state="done", headline="50.0% test accuracy", summary={"acc": 0.5})
    assert not (store.root / "runs.db").exists(), "nothing went to SQLite"

    # A second Streamlit replica: another home folder, the same database.
    replica = RunStore(tmp_path / "replica")
    seen = replica.get(run.id, workspace="class")
    assert seen is not None and seen.state == "done" and seen.summary == {"acc": 0.5}
    assert replica.metrics(run.id) == [{"loss": 2.5}, {"loss": 1.25}]
    second = new_run(replica, workspace="class")
    assert [r.id for r in get_store().list("class")] == [second.id, run.id], "ids come from one sequence"
    with store.engine.connect() as con:
        assert con.exec_driver_sql("SELECT count(*) FROM runs WHERE workspace = 'class'").scalar() == 2
    replica.engine.dispose()
