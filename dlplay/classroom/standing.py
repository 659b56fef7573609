"""A learner's standing on an assignment, worked out from their own runs and exercises whenever it is asked
for: each goal met (by which run) or the best so far, each exercise passed, when they last made progress."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .assignments import Assignment, Goal, Member

STUCK_S = 20 * 60  # no progress for this long, and not done: the class view points it out


@dataclass
class GoalState:
    goal: Goal
    run: int | None = None  # the run that meets it
    best: float | None = None  # the best value of its first figure among the learner's runs of its page
    tried: int = 0  # runs of its page since joining


@dataclass
class Standing:
    member: Member
    goals: list[GoalState] = field(default_factory=list)
    exercises: dict[str, bool] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # exercise → what its last failed check said
    last_progress: float = 0.0

    @property
    def done(self) -> int:
        return sum(g.run is not None for g in self.goals) + sum(self.exercises.values())

    @property
    def total(self) -> int:
        return len(self.goals) + len(self.exercises)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def stuck(self, now: float | None = None) -> bool:
        return not self.complete and (now or time.time()) - self.last_progress > STUCK_S


def of(a: Assignment, member: Member, runs: list | None = None, failures: dict | None = None,
       active: dict | None = None) -> Standing:
    """`member`'s standing: their runs (newest first; read from the store unless given) and exercises.
    `failures`, `active`: `progress.failures` and `progress.last_active` of a class, read once for all."""
    from ..exercises import progress
    from ..runs import get_store

    runs = get_store().list(member.workspace) if runs is None else runs
    since = [r for r in runs if r.created >= member.joined]
    s = Standing(member, last_progress=member.joined)
    for goal in a.goals:
        mine = [r for r in since if r.page == goal.page]
        state = GoalState(goal, tried=len(mine))
        met = [r for r in mine if goal.met_by(r)]
        state.run = met[-1].id if met else None  # the first run that met it
        values = [v for v in (goal.measure(r) for r in mine if r.state == "done") if v is not None]
        state.best = (max(values) if goal.higher else min(values)) if values else None
        s.goals.append(state)
    pages = {g.page for g in a.goals} | set(a.pages)
    s.last_progress = max([member.joined] + [r.created for r in since if r.page in pages])
    done = progress.of(member.workspace)
    for e in a.exercises:
        s.exercises[e] = e in done and done[e].passed
    failures = progress.failures([member.workspace]) if failures is None else failures
    s.failures = {e: f for e, f in failures.get(member.workspace, {}).items() if e in a.exercises}
    last = (progress.last_active([member.workspace]) if active is None else active).get(member.workspace)
    if last is not None and any(e in done for e in a.exercises):
        s.last_progress = max(s.last_progress, last)
    return s


__all__ = ["GoalState", "STUCK_S", "Standing", "of"]
