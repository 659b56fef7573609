"""The run store: every run's record and metric rows in a database, its weights and
final arrays in safetensors files beside it.

SQLite in WAL mode by default (`DLPLAY_HOME/runs.db`); through SQLAlchemy the same
code runs on PostgreSQL (`DLPLAY_DB_URL`). Each write is one transaction, so killing
the server at any moment keeps everything committed. Files are written to a unique
temporary name, flushed to disk and renamed; the database points at a file only
after the rename, so a half-written model is never loaded.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..places import store_home

QUEUED, RUNNING, DONE, STOPPED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "done", "stopped", "failed", "cancelled", "interrupted")
# Deleted while its job was still unwinding: hidden from everyone, removed by the job's end
# (a job sees Stop only between steps, which may take seconds).
DELETING = "deleting"
ACTIVE = (QUEUED, RUNNING)
HAS_RESULT = (DONE, STOPPED)

_meta = sa.MetaData()


def _baseline_columns() -> list[sa.Column]:
    """The runs table's columns as migrations began (revision 0001)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(64), nullable=False, index=True),
        sa.Column("page", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False, default=""),
        sa.Column("spec", sa.Text, nullable=False),  # JSON: every setting of the run
        sa.Column("settings", sa.Text, nullable=False, default="{}"),  # JSON: the page's widget values
        sa.Column("dataset", sa.String(300), nullable=False, default=""),  # "MNIST (60,000, data directory)"
        sa.Column("data_id", sa.Text, nullable=False, default="{}"),  # JSON: name, source, sizes
        sa.Column("brief", sa.String(300), nullable=False, default=""),  # key settings in a few words
        sa.Column("state", sa.String(16), nullable=False, default=QUEUED),
        sa.Column("status", sa.Text, nullable=False, default=""),
        sa.Column("headline", sa.String(100), nullable=False, default=""),  # "97.9% test accuracy"
        sa.Column("summary", sa.Text, nullable=False, default="{}"),  # JSON: final scalar figures
        sa.Column("has_model", sa.Boolean, nullable=False, default=False),
        sa.Column("owner", sa.String(200), nullable=False, default=""),  # host:pid:boot of the server running it
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("finished", sa.Float),
        sa.Column("heartbeat", sa.Float),
    ]


# Ids are never reused (SQLite's AUTOINCREMENT; PostgreSQL sequences never go back): a
# job still unwinding after its run was deleted can then never write into a newer run.
runs_table = sa.Table(
    "runs", _meta, *_baseline_columns(),
    sa.Column("note", sa.Text, nullable=False, default=""),  # the learner's own words on it (0003)
    sa.Column("tags", sa.Text, nullable=False, default="[]"),  # JSON list of the learner's tags (0003)
    sqlite_autoincrement=True,
)
_baseline_runs = sa.Table("runs", sa.MetaData(), *_baseline_columns(), sqlite_autoincrement=True)
metrics_table = sa.Table(
    "metrics", _meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("row", sa.Text, nullable=False),
)

MIN_FREE_MB = 200  # a model and its figures are a few MB to ~100 MB (the BiLSTM's weights: 33 MB)

OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def home() -> Path:
    return store_home()


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def dumps(value) -> str:
    """JSON that never fails on numpy scalars and writes non-finite floats as null."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), default=_json_default)


NOTE_MAX = 10_000  # characters of a run's note


def clean_tags(tags) -> list[str]:
    """Tags as stored: trimmed, lower-case, at most 40 characters each, ten at most, no repeats."""
    out: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()[:40]
        if tag and tag not in out:
            out.append(tag)
    return out[:10]


def stamped(summary: dict) -> dict:
    """A run's figures with the version of dlplay that made them."""
    from .. import __version__

    return {**summary, "dlplay_version": __version__}


@dataclass
class Run:
    id: int
    workspace: str
    page: str
    title: str
    spec: dict
    settings: dict
    dataset: str
    data_id: dict
    brief: str
    state: str
    status: str
    headline: str
    summary: dict
    has_model: bool
    owner: str
    created: float
    started: float | None = None
    finished: float | None = None
    heartbeat: float | None = None
    extra: dict = field(default_factory=dict)
    note: str = ""  # the learner's own words on the run
    tags: list = field(default_factory=list)  # the learner's tags ("baseline", "lab 3")

    @classmethod
    def from_row(cls, row) -> "Run":
        d = dict(row._mapping)
        for key in ("spec", "settings", "data_id", "summary"):
            d[key] = json.loads(d[key] or "{}")
        d["tags"] = json.loads(d.get("tags") or "[]")
        return cls(**d)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE

    @property
    def has_result(self) -> bool:
        return self.state in HAS_RESULT and self.has_model

    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or self.heartbeat or time.time()) - self.started

    def label(self) -> str:
        """"run 12 · MNIST (60,000, data directory) · 784→256→128→10 · 3 epochs · 97.9%"."""
        parts = [f"run {self.id}", self.dataset, self.brief]
        if self.headline:
            parts.append(self.headline)
        return " · ".join(p for p in parts if p)


class RunStore:
    """One per process (see `get_store`); safe to use from many threads, and from many
    processes on one database."""

    def __init__(self, root: Path | str | None = None, url: str | None = None):
        self.root = Path(root) if root else home()
        self.root.mkdir(parents=True, exist_ok=True)
        self.files = self.root / "runs"
        self.files.mkdir(exist_ok=True)
        url = url or os.environ.get("DLPLAY_DB_URL") or f"sqlite:///{self.root / 'runs.db'}"
        self.url = url
        self.engine = _make_engine(url)
        try:
            _migrate(self.engine, self.root / "runs.db")
        except sa.exc.OperationalError:
            pass  # a read-only store: nothing new is stored in it (Train says so: `writable`)
        self._lock = threading.Lock()

    # --- runs -------------------------------------------------------------------------------
    def create(self, *, workspace: str, page: str, title: str, spec: dict, settings: dict | None = None,
               dataset: str = "", data_id: dict | None = None, brief: str = "", summary: dict | None = None) -> Run:
        now = time.time()
        values = dict(workspace=workspace, page=page, title=title, spec=dumps(spec),
                      settings=dumps(settings or {}), dataset=dataset, data_id=dumps(data_id or {}),
                      brief=brief, state=QUEUED, status="waiting for a free worker", headline="",
                      summary=dumps(summary or {}), has_model=False, owner=OWNER, created=now, heartbeat=now)
        with self.engine.begin() as con:
            run_id = con.execute(runs_table.insert().values(**values)).inserted_primary_key[0]
        return self.get(run_id)

    def update(self, run_id: int, **fields) -> bool:
        """Write `fields` to the run; False if it is gone or being deleted (nothing written)."""
        for key in ("summary", "spec", "settings", "data_id"):
            if key in fields:
                fields[key] = dumps(fields[key])
        with self.engine.begin() as con:
            return bool(con.execute(runs_table.update().where(
                (runs_table.c.id == run_id) & (runs_table.c.state != DELETING)).values(**fields)).rowcount)

    def finish(self, run_id: int, **fields) -> None:
        """A job's last write: its final state, or, for a run deleted while it unwound,
        the removal that had waited for it."""
        if not self.update(run_id, **fields):
            self._purge(run_id)

    def writable(self) -> str | None:
        """Why runs can't be stored here now (read-only or full), in words without a path;
        None if they can. Checked before training starts, so no finished model is lost."""
        try:
            with self.engine.begin() as con:  # a real write, rolled back: read-only databases refuse it
                con.execute(runs_table.update().where(runs_table.c.id == -1).values(heartbeat=0.0))
                con.rollback()
        except sa.exc.SQLAlchemyError as exc:
            return f"the run database can't be written ({store_problem(exc)})"
        probe = self.files / f".probe-{uuid.uuid4().hex}"  # its own: visitors pressing Train at once
        try:
            _atomic_write(probe, b"x")
            probe.unlink()
        except OSError as exc:
            return f"the run files can't be written ({store_problem(exc)})"
        free_mb = shutil.disk_usage(self.files).free / 2**20
        if free_mb < MIN_FREE_MB:
            return f"the server's disk is almost full ({free_mb:.0f} MB free)"
        return None

    def get(self, run_id: int, workspace: str | None = None) -> Run | None:
        query = runs_table.select().where((runs_table.c.id == int(run_id)) & (runs_table.c.state != DELETING))
        if workspace is not None:
            query = query.where(runs_table.c.workspace == workspace)
        with self.engine.connect() as con:
            row = con.execute(query).first()
        return Run.from_row(row) if row else None

    def annotate(self, run_id: int, workspace: str, note: str | None = None, tags: list[str] | None = None) -> bool:
        """The learner's note and tags on one of `workspace`'s runs (another workspace's run is not
        touched: False). Tags are trimmed, lower-cased, without repeats."""
        fields: dict = {}
        if note is not None:
            fields["note"] = note[:NOTE_MAX]
        if tags is not None:
            fields["tags"] = dumps(clean_tags(tags))
        with self.engine.begin() as con:
            return bool(fields) and bool(con.execute(runs_table.update().where(
                (runs_table.c.id == run_id) & (runs_table.c.workspace == workspace)
                & (runs_table.c.state != DELETING)).values(**fields)).rowcount)

    def list(self, workspace: str, page: str | None = None, pages: list[str] | None = None) -> list[Run]:
        """The workspace's runs, newest first."""
        query = runs_table.select().where((runs_table.c.workspace == workspace) & (runs_table.c.state != DELETING))
        if page is not None:
            query = query.where(runs_table.c.page == page)
        if pages:
            query = query.where(runs_table.c.page.in_(pages))
        with self.engine.connect() as con:
            rows = con.execute(query.order_by(runs_table.c.id.desc())).all()
        return [Run.from_row(r) for r in rows]

    def delete(self, run_id: int, workspace: str) -> str | None:
        """Delete one of `workspace`'s runs: "deleted"; "stopping" for an active run, which
        is hidden at once and removed when its job has ended (`finish`); None if there is
        no such run. Whoever deletes an active run stops its job too."""
        run = self.get(run_id, workspace)
        if run is None:
            return None
        # Active in the database but its server has gone (killed): nothing is unwinding.
        still_running = run.owner == OWNER or not _owner_gone(run.owner, run.heartbeat, OWNER.split(":")[0])
        if run.is_active and still_running:
            with self.engine.begin() as con:
                hidden = con.execute(runs_table.update().where(
                    (runs_table.c.id == run_id) & runs_table.c.state.in_(ACTIVE))
                    .values(state=DELETING, status="deleted while active")).rowcount
            if hidden:
                return "stopping"
        if self._purge(run_id, workspace):
            return "deleted"
        return None

    def _purge(self, run_id: int, workspace: str | None = None) -> bool:
        where = runs_table.c.id == run_id
        if workspace is not None:
            where &= runs_table.c.workspace == workspace
        with self.engine.begin() as con:
            gone = con.execute(runs_table.delete().where(where)).rowcount
            if gone:
                con.execute(metrics_table.delete().where(metrics_table.c.run_id == run_id))
        if gone:
            shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
        return bool(gone)

    def mark_interrupted(self) -> int:
        """Runs left active by a server that is gone: its process ended on this host, or
        (another host) no heartbeat for a minute. Returns how many were marked."""
        host, pid, _ = OWNER.split(":")
        with self.engine.connect() as con:
            rows = con.execute(sa.select(runs_table.c.id, runs_table.c.owner, runs_table.c.heartbeat)
                               .where(runs_table.c.state.in_(ACTIVE))).all()
        dead = [r.id for r in rows if r.owner != OWNER and _owner_gone(r.owner, r.heartbeat, host)]
        for run_id in self._orphans_being_deleted(host):
            self._purge(run_id)
        if dead:
            with self.engine.begin() as con:
                con.execute(runs_table.update().where(runs_table.c.id.in_(dead)).values(
                    state=INTERRUPTED, status="interrupted: the server stopped while this run was active",
                    finished=runs_table.c.heartbeat))
        return len(dead)

    def _orphans_being_deleted(self, host: str) -> list[int]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(runs_table.c.id, runs_table.c.owner, runs_table.c.heartbeat)
                               .where(runs_table.c.state == DELETING)).all()
        return [r.id for r in rows if r.owner != OWNER and _owner_gone(r.owner, r.heartbeat, host)]

    def remove_stale_temp_files(self, older_than_s: float = 3600) -> int:
        """Temporary files of writers killed mid-write: never loaded, removed once surely
        abandoned (another process may be writing a fresh one right now)."""
        gone = 0
        for path in self.files.glob("*/.*.tmp"):
            try:
                if time.time() - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    gone += 1
            except OSError:
                pass
        return gone

    # --- metrics ----------------------------------------------------------------------------
    def add_metrics(self, run_id: int, rows: list[tuple[int, dict]], heartbeat: bool = True) -> None:
        """(seq, row) pairs; a row already stored is skipped (writes may be retried)."""
        if not rows and not heartbeat:
            return
        with self.engine.begin() as con:
            if rows:
                known = set(con.execute(sa.select(metrics_table.c.seq).where(
                    (metrics_table.c.run_id == run_id) & (metrics_table.c.seq >= rows[0][0]))).scalars())
                new = [{"run_id": run_id, "seq": s, "row": dumps(r)} for s, r in rows if s not in known]
                if new:
                    con.execute(metrics_table.insert(), new)
            if heartbeat:
                con.execute(runs_table.update().where(runs_table.c.id == run_id).values(heartbeat=time.time()))

    def metrics(self, run_id: int) -> list[dict]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(metrics_table.c.row).where(metrics_table.c.run_id == run_id)
                               .order_by(metrics_table.c.seq)).scalars().all()
        return [_nan_back(json.loads(r)) for r in rows]

    # --- files: weights and final arrays ---------------------------------------------------------
    def run_dir(self, run_id: int) -> Path:
        return self.files / str(int(run_id))

    def model_path(self, run_id: int) -> Path:
        return self.run_dir(run_id) / "model.safetensors"

    def arrays_path(self, run_id: int) -> Path:
        return self.run_dir(run_id) / "arrays.safetensors"

    def save_model(self, run_id: int, tensors: dict[str, Any], arrays: dict[str, np.ndarray] | None = None,
                   metadata: dict | None = None) -> None:
        """Weights (name → tensor) and, optionally, final arrays (figures the page shows),
        written atomically; the run is marked as having a model only afterwards."""
        from safetensors.numpy import save as save_np
        from safetensors.torch import save as save_pt

        if self.get(run_id) is None:
            return  # deleted while training: its job writes nothing more
        meta = {k: str(v) for k, v in (metadata or {}).items()}
        weights = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        _atomic_write(self.model_path(run_id), save_pt(weights, metadata=meta))
        if arrays:
            _atomic_write(self.arrays_path(run_id),
                          save_np({k: np.ascontiguousarray(v) for k, v in arrays.items()}))
        if not self.update(run_id, has_model=True):  # deleted meanwhile
            shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def load_model(self, run_id: int) -> dict[str, Any]:
        from safetensors.torch import load_file

        return load_file(str(self.model_path(run_id)))

    def load_arrays(self, run_id: int) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        path = self.arrays_path(run_id)
        return load_file(str(path)) if path.is_file() else {}


def _make_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    # timeout: a writer waits up to 30 s for another's transaction instead of failing.
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_con, _record):
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses no committed write
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def _atomic_write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique: writers never share it
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def store_problem(exc: BaseException) -> str:
    """An error's gist without the paths and SQL a visitor must not see."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "read-only"
    if "full" in text or "no space" in text or "quota" in text:
        return "the disk is full"
    return type(getattr(exc, "orig", None) or exc).__name__


MIGRATIONS = Path(__file__).with_name("migrations")


def _migrate(engine: sa.Engine, lock: Path) -> None:
    """The store's tables brought to this version's schema by Alembic's migrations (`migrations/`),
    so a store an earlier dlplay made — last term's runs — opens with everything in it. A store from
    before migrations has the baseline's tables: its ids made never reused if they weren't, then
    stamped at the baseline. Servers starting together on one new store take turns (SQLite: a lock
    file beside `lock`, the store's database; PostgreSQL: an advisory lock)."""
    from alembic import command
    from alembic.config import Config

    from ..places import making

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with making(lock) if sqlite else contextlib.nullcontext():
        tables = sa.inspect(engine).get_table_names()
        if sqlite and "runs" in tables and "alembic_version" not in tables:
            _ids_never_reused(engine)
        with engine.begin() as con:
            if not sqlite:
                con.exec_driver_sql("SELECT pg_advisory_xact_lock(73657)")  # one migrator at a time
            cfg.attributes["connection"] = con
            if "runs" in tables and "alembic_version" not in tables:
                command.stamp(cfg, "0001")
            command.upgrade(cfg, "head")


def _ids_never_reused(engine: sa.Engine) -> None:
    """Stores made before ids were AUTOINCREMENT get the table rebuilt with it (the rows,
    their ids and the metrics kept), so an id is never handed out twice."""
    with engine.connect() as con:
        ddl = con.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name='runs'").scalar() or ""
    if "AUTOINCREMENT" in ddl.upper():
        return
    columns = ", ".join(c.name for c in _baseline_runs.columns)  # a store from before migrations: 0001's columns
    new_ddl = str(sa.schema.CreateTable(_baseline_runs).compile(engine)).replace("CREATE TABLE runs", "CREATE TABLE runs_new", 1)
    with engine.connect() as con:
        con.exec_driver_sql("PRAGMA foreign_keys=OFF")  # else dropping the old table empties metrics
        con.commit()
        try:
            con.exec_driver_sql("DROP TABLE IF EXISTS runs_new")  # left by a rebuild killed half-way
            con.exec_driver_sql(new_ddl)
            con.exec_driver_sql(f"INSERT INTO runs_new ({columns}) SELECT {columns} FROM runs")
            con.exec_driver_sql("DROP TABLE runs")
            con.exec_driver_sql("ALTER TABLE runs_new RENAME TO runs")
            con.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_runs_workspace ON runs (workspace)")
            con.commit()
        finally:
            con.rollback()
            con.exec_driver_sql("PRAGMA foreign_keys=ON")
            con.commit()


def _owner_gone(owner: str, heartbeat: float | None, my_host: str) -> bool:
    try:
        host, pid, _ = owner.split(":")
    except ValueError:
        return True
    if host == my_host:
        try:
            os.kill(int(pid), 0)
        except (OSError, ValueError):
            return True
        return int(pid) == os.getpid()  # this process, an earlier store (tests): not running here
    return heartbeat is None or time.time() - heartbeat > 60


def _nan_back(row: dict) -> dict:
    return {k: (math.nan if v is None else v) for k, v in row.items()}


_store: RunStore | None = None
_store_lock = threading.Lock()


def get_store() -> RunStore:
    """The process-wide store, opened on first use (runs left active by an earlier server
    are marked interrupted then). A changed DLPLAY_HOME or DLPLAY_DB_URL opens a new one."""
    global _store
    with _store_lock:
        want = (str(home()), os.environ.get("DLPLAY_DB_URL"))
        if _store is None or (str(_store.root), os.environ.get("DLPLAY_DB_URL")) != want \
                or _store.url != (want[1] or f"sqlite:///{home() / 'runs.db'}"):
            _store = RunStore()
            try:
                _store.mark_interrupted()
                _store.remove_stale_temp_files()
            except (sa.exc.OperationalError, OSError):
                pass  # a read-only store still lists its runs; Train says it can't keep new ones
        return _store
