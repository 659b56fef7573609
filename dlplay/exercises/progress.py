"""Each workspace's exercises, kept in the run store's database (table `exercise_progress`, made by
its migrations): the code last written, whether it passed, how many checks it took and the time spent
(from first opening it to passing it), so they survive navigation, reloads and restarts."""
from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

table = sa.Table(
    "exercise_progress", sa.MetaData(),
    sa.Column("workspace", sa.String(64), primary_key=True),
    sa.Column("exercise", sa.String(64), primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("last_failure", sa.Text, nullable=False, default=""),  # what the last failed check said (0004)
)


@dataclass
class Progress:
    exercise: str
    code: str
    passed: bool = False
    attempts: int = 0
    seconds: float = 0.0
    started: float = 0.0

    def status(self) -> str:
        if self.passed:
            return f"passed in {self.attempts} check{'s' if self.attempts != 1 else ''}"
        return f"{self.attempts} check{'s' if self.attempts != 1 else ''}, not passed yet" if self.attempts else \
            "started"


def _engine():
    from ..runs import get_store

    return get_store().engine


def get(workspace: str, exercise: str) -> Progress | None:
    with _engine().connect() as con:
        row = con.execute(table.select().where((table.c.workspace == workspace) & (table.c.exercise == exercise))
                          ).first()
    return None if row is None else Progress(row.exercise, row.code, row.passed, row.attempts, row.seconds,
                                             row.started)


def of(workspace: str) -> dict[str, Progress]:
    """Every exercise this workspace has opened."""
    with _engine().connect() as con:
        rows = con.execute(table.select().where(table.c.workspace == workspace)).all()
    return {r.exercise: Progress(r.exercise, r.code, r.passed, r.attempts, r.seconds, r.started) for r in rows}


def save_code(workspace: str, exercise: str, code: str) -> None:
    """Keep what the learner wrote (the first save starts the clock)."""
    _upsert(workspace, exercise, code=code)


def checked(workspace: str, exercise: str, code: str, passed: bool, failure: str = "") -> Progress:
    """One check of `code`: counted, the time spent fixed when it first passes, what went wrong kept."""
    return _upsert(workspace, exercise, code=code, check=passed, failure=failure)


def failures(workspaces: list[str]) -> dict[str, dict[str, str]]:
    """workspace → exercise → what its last failed check said, for exercises not passed yet."""
    with _engine().connect() as con:
        rows = con.execute(table.select().where(table.c.workspace.in_(workspaces) & ~table.c.passed
                                                & (table.c.last_failure != ""))).all()
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        out.setdefault(r.workspace, {})[r.exercise] = r.last_failure
    return out


def last_active(workspaces: list[str]) -> dict[str, float]:
    """workspace → when it last wrote or checked an exercise."""
    with _engine().connect() as con:
        rows = con.execute(sa.select(table.c.workspace, sa.func.max(table.c.updated))
                           .where(table.c.workspace.in_(workspaces)).group_by(table.c.workspace)).all()
    return {w: t for w, t in rows}


def _upsert(workspace: str, exercise: str, code: str, check: bool | None = None, failure: str = "") -> Progress:
    now = time.time()
    with _engine().begin() as con:
        where = (table.c.workspace == workspace) & (table.c.exercise == exercise)
        row = con.execute(table.select().where(where)).first()
        p = Progress(exercise, code, started=now) if row is None else \
            Progress(exercise, code, row.passed, row.attempts, row.seconds, row.started)
        if check is not None:
            p.attempts += 1
            if check and not p.passed:
                p.passed, p.seconds = True, now - p.started
        values = dict(code=code, passed=p.passed, attempts=p.attempts, seconds=p.seconds, started=p.started,
                      updated=now, **({"last_failure": failure[:500]} if check is not None else {}))
        if row is None:
            con.execute(table.insert().values(workspace=workspace, exercise=exercise, **values))
        else:
            con.execute(table.update().where(where).values(**values))
    return p


__all__ = ["Progress", "checked", "failures", "get", "last_active", "of", "save_code"]
