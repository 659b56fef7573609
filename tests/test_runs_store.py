"""dlplay.runs.store and dlplay.runs.record: the run store keeps what was committed,
whatever happens to the process that writes it, and records jobs faithfully.

Crash and concurrency tests run real subprocesses on one SQLite database in tmp_path:
a writer SIGKILLed at random moments, writers in threads and processes at once, and
a server that exits with runs still active.
"""
from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import torch

from dlplay import data, jobs
from dlplay.classify import LESSON, ClassifierSpec
from dlplay.jobs import Scheduler
from dlplay.runs import record
from dlplay.runs.lesson import Lesson, Saved
from dlplay.runs.store import RunStore, get_store, metrics_table
from dlplay.train import TrainConfig, evaluate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch):
    """Every test gets its own store: get_store() opens a new one for a changed DLPLAY_HOME."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLPLAY_DB_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def store(fresh_home) -> RunStore:
    return get_store()


def new_run(store: RunStore, workspace: str = "ws", page: str = "mlp", **kw):
    return store.create(workspace=workspace, page=page, title="Digit classifier", spec={"lr": 0.003, **kw})


def python(script: Path, *args, **popen) -> subprocess.Popen:
    """A helper script in a fresh interpreter that imports dlplay from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def wait_ready(proc: subprocess.Popen, timeout: float = 60) -> str:
    """The helper's first line ("ready …"), printed once its imports are done."""
    line = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line and line[0].startswith("ready"), f"helper did not start: {line} {proc.stderr.read()}"
    return line[0]


# --- create / update / get / list / delete --------------------------------------------------------

def test_create_update_get_list_delete(store):
    first = new_run(store, dataset_name="mnist")
    assert first.state == "queued" and first.spec == {"lr": 0.003, "dataset_name": "mnist"}
    assert not first.has_model and first.owner and first.created <= time.time()
    second = new_run(store, page="vae")
    store.update(first.id, state="done", summary={"test_acc": np.float32(0.5), "classes": ["0", "1"]},
                 headline="50.0% test accuracy", finished=time.time())
    got = store.get(first.id)
    assert got.state == "done" and got.summary == {"test_acc": 0.5, "classes": ["0", "1"]}
    assert got.headline == "50.0% test accuracy" and got.duration() is None  # never started
    assert [r.id for r in store.list("ws")] == [second.id, first.id], "newest first"
    assert [r.id for r in store.list("ws", page="vae")] == [second.id]
    assert [r.id for r in store.list("ws", pages=["mlp", "gan"])] == [first.id]

    store.add_metrics(first.id, [(0, {"loss": 1.0})])
    store.save_model(first.id, {"w": torch.ones(3)}, {"confusion": np.eye(2)})
    assert store.delete(first.id, "ws")
    assert store.get(first.id) is None and store.metrics(first.id) == []
    assert not store.run_dir(first.id).exists(), "the run's files go with it"
    assert not store.delete(first.id, "ws"), "a second delete finds nothing"
    assert [r.id for r in store.list("ws")] == [second.id]


def test_a_workspace_never_sees_another_workspaces_runs(store):
    mine = new_run(store, workspace="A")
    store.add_metrics(mine.id, [(0, {"loss": 1.0})])
    store.save_model(mine.id, {"w": torch.ones(3)})
    assert store.get(mine.id, workspace="B") is None
    assert store.list("B") == []
    assert not store.delete(mine.id, "B")
    # still all there for its own workspace
    assert store.get(mine.id, workspace="A").has_model
    assert store.metrics(mine.id) == [{"loss": 1.0}]
    assert torch.equal(store.load_model(mine.id)["w"], torch.ones(3))
    assert [r.id for r in store.list("A")] == [mine.id]


def test_metric_rows_round_trip_and_nan_stays_nan(store):
    run = new_run(store)
    rows = [(0, {"step": 1, "split": "train", "loss": math.nan, "acc": np.float32(0.25), "lr": 3e-3}),
            (1, {"step": 20, "split": "train", "loss": 0.123456789012345, "acc": 0.5, "lr": 2.9e-3})]
    store.add_metrics(run.id, rows)
    back = store.metrics(run.id)
    assert math.isnan(back[0]["loss"])
    assert {k: v for k, v in back[0].items() if k != "loss"} == {"step": 1, "split": "train", "acc": 0.25,
                                                                  "lr": 3e-3}
    assert back[1] == rows[1][1], "floats come back bit for bit"


def test_add_metrics_is_idempotent_for_a_retried_batch(store):
    run = new_run(store)
    batch = [(s, {"step": s, "loss": 1 / (s + 1)}) for s in range(5)]
    store.add_metrics(run.id, batch)
    beat = store.get(run.id).heartbeat
    time.sleep(0.01)
    store.add_metrics(run.id, batch)  # the same batch again: the commit was not seen, say
    store.add_metrics(run.id, batch[3:] + [(s, {"step": s, "loss": 1 / (s + 1)}) for s in range(5, 8)])
    assert [r["step"] for r in store.metrics(run.id)] == list(range(8))
    assert store.get(run.id).heartbeat > beat, "every write is a heartbeat"


# --- a writer killed at any moment --------------------------------------------------------------------

KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import torch
    import safetensors.torch  # imported before "ready": kills should land in writes, not imports
    from dlplay.runs.store import RunStore

    def tensors(run_id, ckpt):
        base = run_id * 10 + ckpt
        return {"layer.weight": (torch.arange(1024 * 1024) % 9973 + base).float().reshape(1024, 1024),
                "layer.bias": torch.full((1000,), base, dtype=torch.int64)}

    store = RunStore(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()  # "go": the previous writer has been killed
    while True:
        run = store.create(workspace="ws", page="kill", title="killed writer", spec={})
        store.update(run.id, state="running", started=time.time(), status="running")
        seq = 0
        for batch in range(4):
            store.add_metrics(run.id, [(seq + i, {"step": seq + i, "loss": 1 / (seq + i + 1)}) for i in range(25)])
            seq += 25
            if batch == 1:  # a checkpoint halfway, then the final one
                store.save_model(run.id, tensors(run.id, 1), {"ids": np.arange(1000) * run.id}, {"ckpt": 1})
        store.save_model(run.id, tensors(run.id, 2), {"ids": np.arange(1000) * run.id}, {"ckpt": 2})
        store.update(run.id, state="done", status="finished", finished=time.time())
""")
ROWS_PER_RUN = 100


def expected_tensors(run_id: int, ckpt: int) -> dict:
    base = run_id * 10 + ckpt
    return {"layer.weight": (torch.arange(1024 * 1024) % 9973 + base).float().reshape(1024, 1024),
            "layer.bias": torch.full((1000,), base, dtype=torch.int64)}


@pytest.mark.slow
def test_a_writer_killed_at_random_moments_leaves_a_consistent_store(tmp_path):
    from safetensors import safe_open

    script = tmp_path / "killed_writer.py"
    script.write_text(KILLED_WRITER)
    root = tmp_path / "killed"
    rng, kills = random.Random(7), 8
    following = python(script, root, stdin=subprocess.PIPE)
    for k in range(kills):
        proc = following
        wait_ready(proc)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        if k < kills - 1:  # the next one imports torch while this one writes
            following = python(script, root, stdin=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()

    store = RunStore(root)
    with store.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    runs = store.list("ws")
    assert len(runs) >= 8, "each writer got past its first run"
    leftovers = [p for p in store.files.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    for run in runs:
        seqs = [r["step"] for r in store.metrics(run.id)]
        assert seqs == list(range(len(seqs))), f"run {run.id}: metrics are not a prefix: {seqs}"
        if run.state == "done":
            assert run.has_model and len(seqs) == ROWS_PER_RUN
        if not run.has_model:
            continue
        path = store.model_path(run.id)
        assert path.name == "model.safetensors" and path not in leftovers
        with safe_open(str(path), framework="pt") as f:
            ckpt = int(f.metadata()["ckpt"])
        assert ckpt in (1, 2) and len(seqs) >= 50, "the model is marked only after its file is in place"
        loaded = store.load_model(run.id)
        want = expected_tensors(run.id, ckpt)
        assert loaded.keys() == want.keys() and all(torch.equal(loaded[k], want[k]) for k in want), \
            f"run {run.id}: weights of checkpoint {ckpt} differ from what was written"
        assert np.array_equal(store.load_arrays(run.id)["ids"], np.arange(1000) * run.id)
    # An unfinished file never takes the final name; deleting a run takes its leftovers too.
    assert all(p.name.startswith(".") for p in leftovers)
    for run in runs:
        store.delete(run.id, "ws")
    assert not [p for p in store.files.rglob("*") if p.is_file()], "files left after deleting every run"


# --- many writers at once -----------------------------------------------------------------------------

CONCURRENT_WRITER = textwrap.dedent("""
    import sys
    from dlplay.runs.store import RunStore

    root, (writer, own, shared, batches) = sys.argv[1], map(int, sys.argv[2:6])
    store = RunStore(root)
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every writer starts at once
    try:
        for b in range(batches):
            rows = [(b * 5 + i, {"w": writer, "i": b * 5 + i}) for i in range(5)]
            store.add_metrics(own, rows)
            if b % 10 == 3:
                store.add_metrics(own, rows)  # a retried batch
            store.add_metrics(shared, [(writer * 10_000 + b, {"w": writer, "i": b})], heartbeat=b % 2 == 0)
    except Exception as exc:
        print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
        sys.exit(1)
    print("ok", flush=True)
""")


def write_rows(store: RunStore, writer: int, own: int, shared: int, batches: int) -> None:
    """The same writes as CONCURRENT_WRITER, from a thread."""
    for b in range(batches):
        rows = [(b * 5 + i, {"w": writer, "i": b * 5 + i}) for i in range(5)]
        store.add_metrics(own, rows)
        if b % 10 == 3:
            store.add_metrics(own, rows)
        store.add_metrics(shared, [(writer * 10_000 + b, {"w": writer, "i": b})], heartbeat=b % 2 == 0)


def test_threads_and_processes_write_at_once_and_every_row_lands_once(store, tmp_path):
    batches, n_threads, n_procs = 60, 4, 2
    writers = n_threads + n_procs
    own = [new_run(store).id for _ in range(writers)]
    shared = new_run(store).id
    script = tmp_path / "concurrent_writer.py"
    script.write_text(CONCURRENT_WRITER)
    procs = [python(script, store.root, w, own[w], shared, batches, stdin=subprocess.PIPE)
             for w in range(n_threads, writers)]
    for proc in procs:
        wait_ready(proc)

    errors, go = [], threading.Barrier(n_threads + 1)

    def thread_writer(w):
        go.wait()
        try:
            write_rows(store, w, own[w], shared, batches)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(f"thread {w}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(n_threads)]
    for t in threads:
        t.start()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    go.wait()
    for t in threads:
        t.join(120)
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            errors.append(f"process: {out} {err[-2000:]}")
    assert not errors, errors

    for w in range(writers):
        assert store.metrics(own[w]) == [{"w": w, "i": i} for i in range(batches * 5)], f"writer {w}"
    rows = store.metrics(shared)
    assert sorted((r["w"], r["i"]) for r in rows) == [(w, b) for w in range(writers) for b in range(batches)]
    with store.engine.connect() as con:
        n = con.execute(sa.select(sa.func.count()).select_from(metrics_table)).scalar()
    assert n == writers * batches * 6, "no row stored twice, none lost"


# --- restart: runs of a server that is gone ---------------------------------------------------------

EXITING_SERVER = textwrap.dedent("""
    import sys, time
    from dlplay.runs.store import RunStore

    store = RunStore(sys.argv[1])
    queued = store.create(workspace="ws", page="mlp", title="queued", spec={})
    running = store.create(workspace="ws", page="mlp", title="running", spec={})
    store.update(running.id, state="running", started=time.time())
    store.add_metrics(running.id, [(i, {"step": i}) for i in range(7)])
    done = store.create(workspace="ws", page="mlp", title="done", spec={})
    store.update(done.id, state="done", finished=time.time())
    print("ready", queued.id, running.id, done.id, flush=True)
    if sys.argv[2] == "stay":
        sys.stdin.readline()
""")


def test_runs_left_active_by_an_exited_process_are_marked_interrupted(tmp_path):
    script = tmp_path / "exiting_server.py"
    script.write_text(EXITING_SERVER)
    root = tmp_path / "restart"
    proc = python(script, root, "exit")
    queued, running, done = map(int, wait_ready(proc).split()[1:])
    assert proc.wait(30) == 0

    store = RunStore(root)  # the next server
    assert store.mark_interrupted() == 2
    for run_id in (queued, running):
        run = store.get(run_id)
        assert run.state == "interrupted" and "interrupted" in run.status
        assert run.finished == run.heartbeat, "it ended when it was last heard of"
    assert store.get(done).state == "done"
    assert [r["step"] for r in store.metrics(running)] == list(range(7)), "metric rows are kept"
    assert store.mark_interrupted() == 0


def test_runs_of_a_live_other_process_are_not_touched(tmp_path):
    script = tmp_path / "exiting_server.py"
    script.write_text(EXITING_SERVER)
    root = tmp_path / "restart"
    proc = python(script, root, "stay", stdin=subprocess.PIPE)
    try:
        queued, running, _ = map(int, wait_ready(proc).split()[1:])
        store = RunStore(root)
        assert store.mark_interrupted() == 0
        assert store.get(queued).state == "queued" and store.get(running).state == "running"
    finally:
        proc.kill()
        proc.wait(10)
    assert RunStore(root).mark_interrupted() == 2, "once it is gone, its runs are"


# --- record.start with a real lesson --------------------------------------------------------------------

SPEC = ClassifierSpec(dataset="mnist5k", train=TrainConfig(epochs=1))


def test_a_recorded_run_stores_the_jobs_metrics_and_rebuilds_its_result():
    ds = data.load("mnist5k")
    run, job = record.start(LESSON, SPEC, workspace="ws", session_id="s-store", ds=ds)
    assert job.wait(240), "training did not finish"
    assert job.state == "done", job.error_detail
    store = get_store()
    run = store.get(run.id)
    assert run.state == "done" and run.status == "finished" and run.has_model
    assert run.started and run.finished >= run.started
    assert run.dataset.startswith("MNIST") and run.data_id["n_train"] == len(ds.x_train)
    assert LESSON.spec_from(run.spec) == SPEC
    metrics = job.metrics()
    assert metrics and store.metrics(run.id) == metrics
    assert run.headline == f"{job.result.test_acc:.1%} test accuracy"

    jobs.get_scheduler().release_session("s-store")  # the live job is gone: rebuilt from the store
    record._results.drop(run.id)
    rebuilt = record.result_of(store.get(run.id))
    assert rebuilt is not job.result
    assert rebuilt.test_acc == job.result.test_acc
    assert evaluate(rebuilt.model, ds.x_test, ds.y_test)["acc"] == job.result.test_acc, "the very weights"
    assert np.array_equal(rebuilt.confusion, job.result.confusion)


def test_a_run_cancelled_while_queued_says_it_never_started():
    if jobs._scheduler is not None:
        jobs._scheduler.shutdown()
    jobs._scheduler = Scheduler(max_workers=1)  # shut down after the test by conftest
    release = threading.Event()

    def blocker(job):
        while not release.is_set():
            job.check_cancelled()
            time.sleep(0.01)

    busy = jobs._scheduler.submit(blocker, session_id="s-store", name="blocker")
    try:
        run, job = record.start(LESSON, SPEC, workspace="ws", session_id="s-store", ds=data.load("mnist5k"))
        assert get_store().get(run.id).state == "queued"
        job.cancel()
        assert job.wait(10)
    finally:
        release.set()
    assert busy.wait(10)
    run = get_store().get(run.id)
    assert run.state == "cancelled" and "before it started" in run.status, run.status
    assert run.started is None and not run.has_model and get_store().metrics(run.id) == []


def test_abandoned_temp_files_are_removed_when_the_store_opens(tmp_path, monkeypatch):
    import os
    import time

    from dlplay.runs import store as store_mod

    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path))
    s = store_mod.RunStore(tmp_path)
    old = s.files / "1" / ".model.safetensors.dead.tmp"
    new = s.files / "1" / ".model.safetensors.live.tmp"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x"), new.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert s.remove_stale_temp_files() == 1
    assert not old.exists() and new.exists(), "a writer's fresh temp file is left alone"


# --- deleting a run that is still training; ids never reused; a store that can't be written ------------

@dataclass
class SlowSpec:
    n: int = 1


def slow_lesson(gate: threading.Event, inside: threading.Event) -> Lesson:
    """A lesson whose step waits for `gate` and sees Stop only between steps, as real
    steps do; stopped, it keeps its "model" (and so writes it to its run at the end)."""

    def train(spec, job):
        for step in range(1000):
            job.metric(step=step, loss=1.0 / (step + 1))
            inside.set()
            gate.wait()  # one long step
            try:
                job.check_cancelled()
            except jobs.Cancelled:
                job.stopped_at(f"stopped at step {step}")
                break
        return {"w": torch.full((1000,), float(spec.n))}

    return Lesson(page="slow", title="Slow", path="", spec_type=SlowSpec, train=train,
                  save=lambda r: Saved({"w": r["w"]}, summary={"n": 1}, headline="slow headline"),
                  load=lambda spec, saved: {"w": saved.tensors["w"]})


def test_deleting_a_training_run_never_writes_into_another_workspaces_run(store):
    gate, inside = threading.Event(), threading.Event()
    mine, job = record.start(slow_lesson(gate, inside), SlowSpec(7), workspace="ws-a", session_id="s-a", store=store)
    assert inside.wait(10)
    assert record.delete(mine.id, "ws-a", store) == "stopping", "its step hasn't ended: it is only hidden"
    assert store.get(mine.id) is None and store.list("ws-a") == []
    theirs = store.create(workspace="ws-b", page="mlp", title="theirs", spec={"lr": 0.1})
    assert theirs.id > mine.id, "an id is never handed out twice"
    gate.set()  # the step ends; the job sees Stop and keeps its model as Stop does
    assert job.wait(10) and job.state == "stopped"
    theirs_now = store.get(theirs.id, "ws-b")
    assert theirs_now is not None and theirs_now.state == "queued" and theirs_now.title == "theirs"
    assert not theirs_now.has_model and theirs_now.headline == "" and store.metrics(theirs.id) == []
    assert not store.run_dir(theirs.id).exists()
    assert store.get(mine.id) is None and not store.run_dir(mine.id).exists(), "removed once it stopped"
    with store.engine.connect() as con:
        assert con.execute(sa.select(sa.func.count()).select_from(metrics_table)).scalar() == 0

    store.update(theirs.id, state="done")
    assert store.delete(theirs.id, "ws-b") == "deleted"  # the newest run gone: still no reuse
    assert new_run(store).id > theirs.id


def test_a_run_deleted_by_another_workspace_is_refused(store):
    run = new_run(store, workspace="owner")
    assert record.delete(run.id, "stranger", store) is None and store.get(run.id) is not None
    assert store.delete(run.id, "stranger") is None


def test_a_store_made_before_ids_were_autoincrement_is_migrated_with_its_runs(tmp_path):
    import sqlite3

    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateTable

    from dlplay.runs.store import _baseline_runs

    old_ddl = str(CreateTable(_baseline_runs).compile(dialect=sqlite_dialect.dialect())).replace(" AUTOINCREMENT", "")
    (tmp_path / "runs").mkdir()
    con = sqlite3.connect(tmp_path / "runs.db")
    con.execute(old_ddl)
    con.execute(str(CreateTable(metrics_table).compile(dialect=sqlite_dialect.dialect())))
    for i in (1, 2):
        con.execute("INSERT INTO runs (id, workspace, page, title, spec, settings, dataset, data_id, brief, state, "
                    "status, headline, summary, has_model, owner, created) VALUES "
                    f"({i}, 'ws', 'mlp', 'old {i}', '{{}}', '{{}}', '', '{{}}', '', 'done', '', '', '{{}}', 0, "
                    "'gone:1:x', 0)")
    con.execute("INSERT INTO metrics VALUES (2, 0, '{\"loss\": 0.5}')")
    con.commit()
    con.close()

    store = RunStore(tmp_path)
    with store.engine.connect() as c:
        assert "AUTOINCREMENT" in c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='runs'").scalar()
    assert [r.title for r in store.list("ws")] == ["old 2", "old 1"]
    assert store.metrics(2) == [{"loss": 0.5}], "metrics survive the rebuild"
    newest = new_run(store)
    assert newest.id == 3
    store.delete(newest.id, "ws")
    assert new_run(store).id == 4


def test_a_read_only_store_is_named_before_training_without_a_path(tmp_path):
    RunStore(tmp_path)  # made writable, then opened read-only as a server on a read-only volume would
    ro = RunStore(tmp_path, url=f"sqlite:///file:{tmp_path / 'runs.db'}?mode=ro&uri=true")
    problem = ro.writable()
    assert problem is not None and "read-only" in problem and str(tmp_path) not in problem
    assert RunStore(tmp_path).writable() is None


def test_visitors_pressing_train_at_once_all_find_the_store_writable(store):
    """Each check writes a probe of its own (one shared name: a second check's unlink found the
    first's gone, and a visitor of the load test was told the store can't be written)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: store.writable(), range(200)))
    assert found == [None] * 200
    assert not list(store.files.glob(".probe*"))


def test_a_store_that_fails_at_the_end_keeps_the_trained_model_in_memory(store, monkeypatch):
    import errno

    from dlplay.runs import export
    from dlplay.runs import store as store_mod

    def full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store_mod, "_atomic_write", full)
    gate, inside = threading.Event(), threading.Event()
    gate.set()
    lesson = slow_lesson(gate, inside)
    monkeypatch.setattr(lesson, "train", lambda spec, job: {"w": torch.full((1000,), 3.0)})
    run, job = record.start(lesson, SlowSpec(3), workspace="ws", session_id="s-full", store=store)
    assert job.wait(10)
    assert job.state == "done" and torch.equal(job.result["w"], torch.full((1000,), 3.0)), "the model is kept"
    assert "could not store it (the disk is full)" in job.save_error and str(store.root) not in job.save_error
    monkeypatch.setattr(record, "lesson_for", lambda page: lesson)
    monkeypatch.setattr(export, "lesson_for", lambda page: lesson)
    stored = store.get(run.id)
    files = export.files(stored, store)
    from safetensors.torch import load

    assert torch.equal(load(files[f"{export.file_stem(stored)}.safetensors"])["w"], job.result["w"]), \
        "downloadable from memory"


def test_a_read_only_store_with_runs_left_active_still_opens_and_lists(tmp_path, monkeypatch):
    from dlplay.runs import store as store_mod

    writable = RunStore(tmp_path)
    run = new_run(writable)
    writable.update(run.id, owner="gone-host:1:dead", heartbeat=0.0, state="running")  # a server that died
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path))
    monkeypatch.setenv("DLPLAY_DB_URL", f"sqlite:///file:{tmp_path / 'runs.db'}?mode=ro&uri=true")
    monkeypatch.setattr(store_mod, "_store", None)
    store = get_store()  # marking it interrupted would write: the store opens anyway
    assert [r.id for r in store.list("ws")] == [run.id] and store.writable() is not None
