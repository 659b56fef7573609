"""Runs: the app's central object. A run is an id, its page, its full spec (every
setting, the dataset and where it came from, the seed), its state, its metric rows,
its final figures and its trained model. Pages create and read runs through this
package; `dlplay.jobs` stays the executor.

- `store`: the database (SQLite/PostgreSQL via SQLAlchemy) and the weights files.
- `lesson`: what a page provides so its runs can be saved, reopened and exported.
- `record`: starting a run as a job that records itself; rebuilding a stored result.
- `specs`: spec dataclasses to JSON and back.
- `export`: a run as files: weights, spec, metrics, and a standalone PyTorch script.
"""
from . import repeats
from .lesson import Figure, Lesson, Saved, lesson_for
from .record import RECORDER, data_matches, delete, describe_data, result_of, start
from .store import (ACTIVE, CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, RUNNING, STOPPED, Run, RunStore,
                    get_store, home)

__all__ = ["ACTIVE", "CANCELLED", "DONE", "FAILED", "INTERRUPTED", "QUEUED", "RECORDER", "RUNNING", "STOPPED",
           "Figure", "Lesson", "Run", "RunStore", "Saved", "data_matches", "delete", "describe_data", "get_store", "home",
           "lesson_for", "repeats", "result_of", "start"]
