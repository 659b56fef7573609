"""The teacher's view of a class on one assignment: each learner's progress on every goal and exercise, the
spread of the class's results per goal, the most common failure messages, who has made no progress for 20
minutes, and a CSV for a gradebook. Only behind the teacher key (`teacher_ok`)."""
from __future__ import annotations

import datetime as dt
import hmac
import os
import time
from collections import Counter

import pandas as pd

from . import assignments, standing
from .assignments import Assignment


def teacher_key_set() -> bool:
    return bool(os.environ.get("DLPLAY_TEACHER_KEY"))


def teacher_ok(key: str | None) -> bool:
    """Whether `key` opens the teacher's pages: on a shared server only the operator's DLPLAY_TEACHER_KEY
    does (none set: nobody); on a personal machine, whoever sits at it."""
    from ..limits import shared

    if not shared():
        return True
    expected = os.environ.get("DLPLAY_TEACHER_KEY", "")
    return bool(expected) and bool(key) and hmac.compare_digest(key.encode(), expected.encode())


def standings(a: Assignment) -> list[standing.Standing]:
    from ..exercises import progress

    members = assignments.members(a.code)
    workspaces = [m.workspace for m in members]
    failures, active = progress.failures(workspaces), progress.last_active(workspaces)  # once for the class
    return [standing.of(a, m, failures=failures, active=active) for m in members]


def table(a: Assignment, rows: list[standing.Standing], now: float | None = None) -> pd.DataFrame:
    now = now or time.time()
    out = []
    for s in rows:
        row = {"name": s.member.name, "done": f"{s.done}/{s.total}"}
        for g in s.goals:
            row[g.goal.label] = f"✓ run {g.run}" if g.run is not None else \
                (f"best {g.best:.4g}" if g.best is not None else ("tried" if g.tried else "—"))
        for e, passed in s.exercises.items():
            row[f"exercise: {e}"] = "✓" if passed else ("✗ " + s.failures[e] if e in s.failures else "—")
        row["last progress"] = f"{(now - s.last_progress) / 60:.0f} min ago"
        row["stuck"] = "⚠ no progress for 20 min" if s.stuck(now) else ""
        row["handed in"] = dt.datetime.fromtimestamp(s.member.handed_in).strftime("%m-%d %H:%M") \
            if s.member.handed_in else ""
        out.append(row)
    return pd.DataFrame(out)


def spreads(rows: list[standing.Standing]) -> dict[str, list[float]]:
    """Per goal, each learner's best value of its figure (a histogram's worth)."""
    out: dict[str, list[float]] = {}
    for s in rows:
        for g in s.goals:
            if g.best is not None:
                out.setdefault(g.goal.label, []).append(g.best)
    return out


def common_failures(rows: list[standing.Standing], most: int = 5) -> list[tuple[str, str, int]]:
    """(exercise, what its last failed check said, how many learners) — the most common first."""
    counts = Counter((e, f) for s in rows for e, f in s.failures.items())
    return [(e, f, n) for (e, f), n in counts.most_common(most)]


def csv(a: Assignment, rows: list[standing.Standing]) -> bytes:
    """For a gradebook: one row per learner, a column per goal and exercise (1 met, 0 not), the count."""
    out = []
    for s in rows:
        row = {"name": s.member.name}
        row.update({g.goal.label: int(g.run is not None) for g in s.goals})
        row.update({f"exercise {e}": int(p) for e, p in s.exercises.items()})
        row.update({"done": s.done, "of": s.total,
                    "handed_in": dt.datetime.fromtimestamp(s.member.handed_in).isoformat(timespec="seconds")
                    if s.member.handed_in else ""})
        out.append(row)
    return pd.DataFrame(out).to_csv(index=False).encode()


__all__ = ["common_failures", "csv", "spreads", "standings", "table", "teacher_key_set", "teacher_ok"]
