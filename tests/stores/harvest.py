"""Makes a run store of one run per page from the run stores a suite run left behind, so that
later versions can be tested against runs stored by this one (tests/test_runs_stored_earlier.py).

    python -m tests.stores.harvest /tmp/pytest-of-root/pytest-<n> tests/stores/<date>

Each test file trained into a store of its own (tests/conftest.py: `_store_per_file`); of the
finished or stopped runs with a model, each page keeps its smallest under `MAX_BYTES`."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dlplay.runs.store import Run, RunStore, runs_table

MAX_BYTES = 150_000
FIELDS = ("workspace", "page", "title", "spec", "settings", "dataset", "data_id", "brief")


def _runs(store: RunStore) -> list[Run]:
    with store.engine.connect() as con:
        return [Run.from_row(r) for r in con.execute(runs_table.select().order_by(runs_table.c.id)).all()]


def _size(store: RunStore, run_id: int) -> int:
    return sum(f.stat().st_size for f in store.run_dir(run_id).glob("*") if f.is_file())


def harvest(suite: Path, into: Path) -> dict[str, int]:
    best: dict[str, tuple[int, RunStore, object]] = {}
    for db in sorted(suite.rglob("runs.db")):
        store = RunStore(db.parent)
        for run in _runs(store):
            if run.state not in ("done", "stopped") or not run.has_model or not store.model_path(run.id).is_file():
                continue
            size = _size(store, run.id)
            if size <= MAX_BYTES and (run.page not in best or size < best[run.page][0]):
                best[run.page] = (size, store, run)
    out, kept = RunStore(into), {}
    for page, (size, store, run) in sorted(best.items()):
        new = out.create(**{k: getattr(run, k) for k in FIELDS})
        out.update(new.id, state=run.state, status=run.status, headline=run.headline, summary=run.summary,
                   has_model=True, started=run.started, finished=run.finished)
        shutil.copytree(store.run_dir(run.id), out.run_dir(new.id))
        kept[page] = size
    return kept


if __name__ == "__main__":
    for page, size in harvest(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(f"{page:10s} {size:>9,} bytes")
