"""Runs trained one after another: the next starts when the previous one ends. Pages that
compare settings side by side use it (Compare CNNs, forgetting remedies, exact vs rounded
labels, transfer strategies), each setting its own run."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ..jobs import DONE, FAILED, Job


class Sequence:
    """Trains specs one after another: the next run starts when the previous one ends
    (finished, or failed — a diverged setup is a result too). Stop, or a run stopped by
    its session ending, ends the sequence. `start_one(spec)` starts a run and returns
    (run id, job)."""

    def __init__(self, specs: list, start_one: Callable[[Any], tuple[int, Job]]):
        self.specs = list(specs)
        self.start_one = start_one
        self.run_ids: list[int] = []
        self.jobs: list[Job] = []
        self.stopped = False
        self.error: str | None = None
        self.restored_from_store = False
        self._lock = threading.RLock()

    @classmethod
    def restored(cls, specs: list, run_ids: list[int]) -> "Sequence":
        """A stored sequence read back: its runs are in the store, none is trained from here."""
        seq = cls(specs, start_one=_trained_elsewhere)
        seq.run_ids, seq.stopped = list(run_ids), len(run_ids) < len(specs)
        seq.restored_from_store = True
        return seq

    def start(self) -> "Sequence":
        self._next()
        return self

    def _next(self, ended: Job | None = None) -> None:
        with self._lock:
            if ended is not None and ended.state not in (DONE, FAILED):
                self.stopped = True  # Stop, or the session went away: nothing more starts
            if self.stopped or len(self.run_ids) >= len(self.specs):
                return
            try:
                run_id, job = self.start_one(self.specs[len(self.run_ids)])
            except Exception as exc:  # noqa: BLE001 - the page shows it; the sequence ends
                self.error, self.stopped = f"{type(exc).__name__}: {exc}", True
                return
            self.run_ids.append(run_id)
            self.jobs.append(job)
        job.on_finish(self._next)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            jobs = list(self.jobs)
        for job in jobs:
            if job.is_active:
                job.cancel()

    @property
    def is_active(self) -> bool:
        if self.restored_from_store:
            return False
        with self._lock:
            if self.jobs and self.jobs[-1].is_active:
                return True
            return not self.stopped and 0 < len(self.run_ids) < len(self.specs)

    def wait(self, timeout: float = 600) -> bool:
        """Until every run has ended (tests); True if it did in time."""
        deadline = time.time() + timeout
        while self.is_active and time.time() < deadline:
            with self._lock:
                job = self.jobs[-1] if self.jobs else None
            if job is not None:
                job.wait(max(0.0, min(1.0, deadline - time.time())))
            time.sleep(0.05)
        return not self.is_active


def _trained_elsewhere(spec):
    raise RuntimeError("a stored sequence trains nothing more")
